// The SIGUSR1 data dump against keepalived 2.2.7's, line for line, every section (issue 13): the same
// configuration, each daemon alone in a namespace of its own (lo, eth0 and eth1 with the same MACs on both
// sides, so link-local addresses agree too); SIGUSR1 to both until their dumps agree or the time is up, and
// then the whole files compared. Over a configuration of our own that touches every section, keepalived's
// samples (addresses moved into the documentation ranges), the meaning cases of test/data/config-cases/ and
// generated blog-style variants (meaning-generator.ts). Masked: times, socket numbers. Taken out: the lines
// that are keepalived's or ours alone (src/notify/dumps.ts header, docs/notify-data-dump.md). Documented
// departures are applied to keepalived's text first, each asserting that it is still seen. A case with `steps`
// (dynamic_interfaces, an interface without an address) then changes both labs and compares again, with the
// notify script's and the FIFO's lines; one with `setup` changes both labs before the daemons start (links
// set down).
// KATS_DUMP_ALL=1 runs every sample; KATS_DUMP_SEEDS=1-1000 (or 1,5,9, or a mix) sets the generated seeds
// (default 1); KATS_DUMP_ONLY=TEXT runs the cases whose name holds TEXT (KATS_DUMP_ONLY='generated seed 42'
// with KATS_DUMP_SEEDS=42 replays one); KATS_DUMP_CONCURRENCY=N runs N cases (pairs of namespaces) at once
// (default 2); KATS_DUMP_OUT=DIR keeps both texts there. docs/decisions/meaning-variants.md has the command.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { SIGNAL_JSON } from '../../src/daemon/run.js';
import { generatedConfig, seedList } from '../config/meaning-generator.js';
import { noDumpFacts, pidIn, takeDump } from '../helpers/dump.js';
import {
  CASES_DIR,
  CORPUS_DIR,
  OURS_BIN,
  REFERENCE_KEEPALIVED,
  REPO_ROOT,
  referenceAvailable,
} from '../helpers/keepalived-ref.js';
import { createNetns, deleteNetns, ip, isRoot } from '../helpers/netns.js';

const skip = !isRoot() ? 'needs root' : !referenceAvailable() ? 'keepalived not installed' : false;

const dir = mkdtempSync(join(tmpdir(), 'kats-datadump-'));
const cleanups: (() => void)[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
  rmSync(dir, { recursive: true, force: true });
});

/** Every section: global settings, scripts with rise/fall and reverse, a track file, a sync group, IPv6, strict. */
const RICH = `global_defs {
  router_id dumps
  notification_email {
    ops@example.com
  }
  smtp_server 192.0.2.250
  vrrp_garp_master_delay 3
  umask 022
}
vrrp_script chk {
  script "/usr/bin/true arg1"
  weight 5
  rise 2
  fall 3
}
vrrp_script rev {
  script "/usr/bin/false"
  interval 2
  weight -7 reverse
}
vrrp_script unused {
  script "/usr/bin/true"
}
vrrp_track_file tf {
  file /tmp/tf
  weight 3
}
vrrp_sync_group G1 {
  group {
    VI_3
  }
  notify_master "/usr/bin/true group"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass dumpme
  }
  track_interface {
    lo weight 2
  }
  unicast_peer {
    192.0.2.2 min_ttl 3
  }
  virtual_ipaddress {
    192.0.2.100/24 brd + label eth0:1
    192.0.2.101 no_track
  }
  virtual_ipaddress_excluded {
    192.0.2.102/24
  }
  track_script {
    chk
    rev weight 4
  }
  track_file {
    tf
  }
  notify_master "/usr/bin/true master"
  notify "/usr/bin/true"
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 62
  priority 100
  nopreempt
  promote_secondaries
  advert_int 2
  virtual_ipaddress {
    192.0.2.110
  }
}
vrrp_instance VI_3 {
  interface eth1
  virtual_router_id 63
  priority 120
  version 3
  virtual_ipaddress {
    192.0.2.120
  }
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 64
  priority 100
  virtual_ipaddress {
    2001:db8::1/64
  }
}
`;

const STRICT = `global_defs {
  vrrp_strict
  nftables kats
  nftables_priority -5
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 150
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`;

/**
 * Global flags the dump shows (each once read from the wrong place), the notify_priority_changes defaults (a
 * sync group's before the global one), and a static address without `dev` (on the default interface, eth0).
 */
const GLOBAL_FLAGS = `global_defs {
  router_id flags
  no_email_faults
  no_checker_emails
  checker_log_all_failures
  rs_init_notifies
  vrrp_notify_priority_changes
  lvs_flush_on_stop VS
  dynamic_interfaces allow_if_changes
}
static_ipaddress {
  198.51.100.70/24
}
vrrp_sync_group G {
  group {
    VI_1
    VI_3
  }
  notify_priority_changes false
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 64
  priority 150
  virtual_ipaddress {
    192.0.2.103/24
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 62
  priority 150
  virtual_ipaddress {
    192.0.2.101/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 63
  priority 150
  notify_priority_changes false
  virtual_ipaddress {
    192.0.2.102/24
  }
}
`;

/**
 * Unicast keywords without a peer (multicast, or FAULT with unicast_fault_no_peer) and the VRRPv3 unicast
 * checksum compatibility settings (config, never; a peer that never answers, so no "auto").
 */
const UNICAST_KEYWORDS = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 71
  priority 150
  unicast_src_ip 192.0.2.1
  virtual_ipaddress {
    192.0.2.111/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 72
  priority 150
  unicast_fault_no_peer
  virtual_ipaddress {
    192.0.2.112/24
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 73
  priority 150
  version 3
  old_unicast_checksum
  unicast_peer {
    192.0.2.250
  }
  virtual_ipaddress {
    192.0.2.113/24
  }
}
vrrp_instance VI_4 {
  interface eth0
  virtual_router_id 74
  priority 150
  version 3
  old_unicast_checksum never
  unicast_peer {
    192.0.2.250
  }
  virtual_ipaddress {
    192.0.2.114/24
  }
}
vrrp_instance VI_5 {
  interface eth0
  virtual_router_id 75
  priority 150
  version 3
  unicast_peer {
    192.0.2.250
  }
  virtual_ipaddress {
    192.0.2.115/24
  }
}
`;

/** vmac_prefix longer than a name can hold: default VMAC names keep the VRID and lose the prefix's end. */
const VMAC_PREFIX = `global_defs {
  vmac_prefix kats-long-prefix
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 81
  priority 150
  use_vmac
  virtual_ipaddress {
    192.0.2.121/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 81
  priority 150
  use_vmac
  virtual_ipaddress {
    fe80::81
    2001:db8::81/64
  }
}
vrrp_instance VI_3 {
  interface eth1
  virtual_router_id 81
  priority 150
  use_vmac
  virtual_ipaddress {
    198.51.100.121/24
  }
}
`;

/**
 * VMACs (one with vmac_xmit_base), virtual and static routes and rules, static addresses, a tracked process
 * that never runs (2.2.7 in a network namespace gets no process events, so it counts none: a process that
 * exists would differ).
 */
const VMAC_ROUTES = `global_defs {
  router_id x
}
vrrp_track_process tp_none {
  process kats-no-such-process
  param_match partial
  weight -10
  quorum 2
  quorum_max 4
  delay 2
}
static_ipaddress {
  192.0.2.50/24 dev eth0
  198.51.100.60 dev eth1 scope link
}
static_routes {
  192.0.2.128/25 via 192.0.2.254 dev eth0
  198.51.100.128/26 dev eth1 table 100
}
static_rules {
  from 192.0.2.50 table 100
  to 198.51.100.0/24 table 101 priority 50
}
vrrp_instance V1 {
  interface eth0
  use_vmac
  virtual_router_id 51
  priority 150
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_routes {
    198.51.100.0/25 via 192.0.2.254
    192.0.2.200/32 dev eth1 table 200
  }
  virtual_rules {
    from 192.0.2.100 table 200
  }
}
vrrp_instance V2 {
  interface eth1
  use_vmac vrrp2
  vmac_xmit_base
  track_process {
    tp_none weight -3 reverse
  }
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    198.51.100.100/24
  }
}
`;

/** garp_group blocks (one with two interfaces), and the global GARP interval's default group. */
const GARP_GROUPS = `global_defs {
  vrrp_garp_interval 0.1
}
garp_group {
  garp_interval 0.5
  gna_interval 1
  interface eth1
}
garp_group {
  interfaces {
    eth2
    eth3
  }
  garp_interval 2
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 81
  priority 100
  virtual_ipaddress {
    192.0.2.100
  }
}
`;

/**
 * garp_extra_if: the global default (with `all`) and instances over it — one with a VIP on eth1 (the lines),
 * one with its own interval but no `all`, one with no other interface (both cleared: no lines), one with 0.
 */
const GARP_EXTRA_IF = `global_defs {
  vrrp_garp_extra_if 30 all
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 91
  priority 100
  virtual_ipaddress {
    192.0.2.100
    198.51.100.100 dev eth1
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 92
  priority 100
  garp_extra_if 5
  virtual_ipaddress {
    192.0.2.101
    198.51.100.101 dev eth1
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 93
  priority 100
  vmac_garp_intvl 7 all
  virtual_ipaddress {
    192.0.2.102
  }
}
vrrp_instance VI_4 {
  interface eth0
  virtual_router_id 94
  priority 100
  garp_extra_if 0
  virtual_ipaddress {
    192.0.2.103
    198.51.100.103 dev eth1
  }
}
vrrp_instance VI_5 {
  interface eth0
  virtual_router_id 95
  priority 100
  garp_extra_if 12 all
  virtual_ipaddress_excluded {
    198.51.100.105 dev eth1
  }
  virtual_ipaddress {
    192.0.2.105
  }
}
`;

/** IPv4 literals outside the documentation ranges moved into 198.51.100.0/24 (and IPv6 into 2001:db8::/32). */
function documentationAddresses(text: string): string {
  const v4 = new Map<string, string>();
  return text
    .replace(/\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/g, (m) => {
      if (/^(192\.0\.2|198\.51\.100|127)\./.test(m) || /^(224|239|255|0)\./.test(m)) return m;
      if (!v4.has(m)) v4.set(m, `198.51.100.${(v4.size % 240) + 10}`);
      return v4.get(m)!;
    })
    .replace(/\b(fe80|2001|fc00|fd00)(:[0-9a-f]*)+(\/\d+)?/gi, (m) =>
      /^(fe80|2001:db8)/i.test(m) ? m : m.replace(/^[0-9a-f]+:[0-9a-f]*/i, '2001:db8'),
    );
}

/** Instance variants per generated configuration (with 1–3 virtual servers): seeds stay light to run by the 1,000. */
const GENERATED_INSTANCES = 6;

/** Done to both labs (`ns`: the daemon's namespace, `peer`: the hidden one holding the veth peers). */
type LabAction = (ns: string, peer: string) => void;

interface Case {
  name: string;
  text: string;
  /**
   * After the first comparison: changes made to both labs, each followed by another (interfaces created,
   * addresses added). The notify script lines (/tmp/notify.sh writes /tmp/notify.log) and the FIFO lines
   * (/tmp/fifo.sh, /tmp/fifo.log) are compared too, at each step.
   */
  steps?: { name: string; act: LabAction }[];
  /** With steps: no instance starts without its interface or an address (keepalived says nothing of it). */
  quietStart?: boolean;
  /** Done to both labs before the daemons start (then a second for the links to settle). */
  setup?: LabAction;
  /** Compared only once keepalived's dump matches this (the state the case is about), at every stage. */
  settled?: RegExp;
  /** Devices whose IPv4 addresses (from the kernel) are compared too, at every stage, when present. */
  addressesOn?: string[];
  /** The JSON dumps' VIP fields (vipset, vips, evips) are compared too, at every stage. */
  json?: boolean;
}

/**
 * `settled` for a case whose instances are meant to become MASTER (each is alone on its link): keepalived's
 * dump has a MASTER and no instance still in BACKUP or INIT, so the VIPs' `set` and `nftable_set` are compared
 * as a master holds them, not the first seconds when every instance is still BACKUP.
 */
const ALL_MASTER = /(?<![\s\S])(?![\s\S]*^ {3}State = (?:BACKUP|INIT)$)[\s\S]*^ {3}State = MASTER$/m;

/** A veth `name` (MAC `mac`) in `ns` to a peer in `peer`, both up. */
function veth(ns: string, peer: string, name: string, mac: string): void {
  ip(
    '-n',
    ns,
    'link',
    'add',
    name,
    'address',
    mac,
    'type',
    'veth',
    'peer',
    'name',
    `${name}p`,
    'netns',
    peer,
  );
  ip('-n', ns, 'link', 'set', name, 'up');
  ip('-n', peer, 'link', 'set', `${name}p`, 'up');
}

/** A notify script and a FIFO reader that log what they are given, one line each (without times). */
const NOTIFY_SH = '#!/bin/sh\necho "$*" >> /tmp/notify.log\n';
const FIFO_SH = '#!/bin/sh\nwhile read l; do echo "$l" >> /tmp/fifo.log; done < "$1"\n';

/**
 * dynamic_interfaces (docs/config-meaning.md, 'Interfaces that do not exist'): an instance whose interface
 * (eth9) does not exist yet, in a sync group with one that runs; another on a missing interface with a fixed
 * unicast source; a missing tracked interface and VIP device. Then eth9 appears without an address, then with
 * one: keepalived keeps the group in FAULT until then, and the group takes the instance in.
 */
const DYNAMIC = `global_defs {
  dynamic_interfaces
  notify_fifo /tmp/fifo
  notify_fifo_script /tmp/fifo.sh
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_1 {
  interface eth9
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    192.0.2.101
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_3 {
  interface eth1
  virtual_router_id 53
  priority 100
  track_interface {
    eth7
  }
  virtual_ipaddress {
    198.51.100.100
    198.51.100.101 dev eth8
  }
}
vrrp_instance VI_4 {
  interface eth6
  virtual_router_id 54
  priority 100
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.9
  }
  virtual_ipaddress {
    192.0.2.102
  }
  notify /tmp/notify.sh
}
`;

/**
 * dynamic_interfaces with a virtual route's output interface (eth3) and a virtual rule's input interface
 * (eth2): 2.2.7 follows them as it follows a VIP's device (docs/config-meaning.md, 'Interfaces that do not
 * exist'): down or deleted, they fault the instance; a deleted interface stays in the dump's Interfaces section
 * with its last facts; a link that went down keeps `Seen up = 1`, its IPv4 address and shows rp_filter.
 */
const ROUTE_DEVICES = `global_defs {
  dynamic_interfaces
  notify_fifo /tmp/fifo
  notify_fifo_script /tmp/fifo.sh
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100
  }
  virtual_routes {
    198.51.100.128/27 dev eth3
    198.51.100.160/27 dev eth1 no_track
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    198.51.100.101
  }
  virtual_rules {
    from 198.51.100.101 iif eth2 table 200 priority 100
  }
  notify /tmp/notify.sh
}
`;

/**
 * Without dynamic_interfaces, an interface with no IPv4 address (eth2): keepalived runs the instance in FAULT
 * "(no IPv4 address for interface)", with no source, until one is added (docs/config-meaning.md, 'An
 * interface without an address').
 */
const NO_ADDRESS = `vrrp_instance VI_1 {
  interface eth2
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    192.0.2.101
  }
}
`;

/**
 * Interfaces that come after start, go and come again (docs/notify-data-dump.md, Interfaces): 2.2.7 appends
 * an interface new to it to its list and keeps it there, deleted (its last facts) or created again (VRID
 * checked once more); so does an interface it had at start.
 */
const PLAIN = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100
  }
}
`;

/**
 * dynamic_interfaces with interfaces named but not followed (no_track): a VIP's device, a route's `dev`, the
 * next hops of a route without a `dev` (2.2.7 cannot track it), a rule's `oif`; and a tracked rule's `oif`,
 * which 2.2.7 follows as it does `iif`. All missing at start: each is named in the start-up lines and listed
 * as a placeholder in the Interfaces section; only the tracked one faults the instance.
 */
const NO_TRACK_DEVICES = `global_defs {
  dynamic_interfaces
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100
    198.51.100.77 dev eth6 no_track
  }
  virtual_routes {
    198.51.100.160/27 nexthop via 192.0.2.254 dev eth7 nexthop via 192.0.2.253 dev eth9
    198.51.100.192/27 via 192.0.2.254 dev eth5 no_track
  }
  virtual_rules {
    from 192.0.2.100 oif eth8 table 200 no_track
    from 192.0.2.101 oif eth4 table 201
  }
}
`;

/**
 * A MASTER with a no_track VIP on a device that does not exist (dynamic_interfaces): 2.2.7 does not add it
 * and its dump does not mark it `set`, neither before the device appears nor after (it is not added then).
 */
const MASTER_MISSING_VIP_DEVICE = `global_defs {
  dynamic_interfaces
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100
    198.51.100.77 dev eth6 no_track
  }
}
`;

/**
 * VIPs the kernel refuses (IPv6 is disabled on eth2), and `no_accept` without vrrp_strict or an `nftables`
 * table: 2.2.7 clears a refused address's `set` (and keeps its `nftable_set`: the firewall takes every VIP of
 * a non-accepting master); its no_accept names the default table; an address owner gets no drop rule even with
 * no_accept (docs/notify-data-dump.md, 'set and nftable_set').
 */
const REFUSED_VIPS = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  no_accept
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    2001:db8::5/64 dev eth2
  }
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 52
  priority 255
  no_accept
  virtual_ipaddress {
    198.51.100.100
  }
  virtual_ipaddress_excluded {
    2001:db8::6/64 dev eth2
  }
}
`;

/**
 * Sync-group members tracking an interface with a weight (eth3, without carrier at start): 2.2.7 says it
 * ignores the weight "due to SYNC group", lists weight 0 under the instance, yet applies the weight (the
 * interface's own record keeps it) and never faults the instances on it — no start-up FAULT line, effective
 * priority 95 for weight -5 while eth3 is down (docs/config-meaning.md).
 */
const SYNC_WEIGHTED_DOWN = `vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_interface {
    eth3 weight 5
  }
  virtual_ipaddress {
    192.0.2.100
  }
  notify /tmp/notify.sh
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  track_interface {
    eth3 weight -5
  }
  virtual_ipaddress {
    192.0.2.101
  }
  notify /tmp/notify.sh
}
`;

/** eth3's peer down (eth3 up, no carrier) or up again. */
const eth3Carrier =
  (up: boolean): LabAction =>
  (_ns, peer) =>
    ip('-n', peer, 'link', 'set', 'eth3p', up ? 'up' : 'down');

/**
 * Links that are down when the daemon starts (eth1 under an instance and eth2 set down, eth3 tracked and up
 * without carrier): `Seen up = 0` until they come up, then 1 for good; rp_filter shown once the kernel has
 * reported on the link; the IPv6 link-local of a link up without carrier kept.
 */
const DOWN_AT_START = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_interface {
    eth3
  }
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    198.51.100.100
  }
}
`;

/** eth1 and eth2 set down, eth3's peer down (eth3 up, no carrier): done or undone. */
const downLinks =
  (down: boolean): LabAction =>
  (ns, peer) => {
    const how = down ? 'down' : 'up';
    ip('-n', ns, 'link', 'set', 'eth1', how);
    ip('-n', ns, 'link', 'set', 'eth2', how);
    ip('-n', peer, 'link', 'set', 'eth3p', how);
  };

/**
 * Samples and meaning cases where some instance is not meant to become MASTER (FAULT, or a sync group held
 * back), and those keepalived refuses to run: compared as they settle, without ALL_MASTER.
 */
const NOT_ALL_MASTER = new Set<string>([
  // advert_int 12: its master down timer (42 s) is longer than a comparison waits.
  'sample keepalived.conf.conditional_conf',
]);

function cases(): Case[] {
  const out: Case[] = [
    // addressesOn: the `brd +` VIP must be in the kernel (keepalived-ts failed to add it before).
    { name: 'every section', text: RICH, settled: ALL_MASTER, addressesOn: ['eth0'] },
    { name: 'strict with nftables NAME and priority', text: STRICT, settled: ALL_MASTER },
    { name: 'global flags and the notify_priority_changes default', text: GLOBAL_FLAGS, settled: ALL_MASTER },
    { name: 'vmac, routes, rules, static addresses, track_process', text: VMAC_ROUTES, settled: ALL_MASTER },
    { name: 'garp groups', text: GARP_GROUPS, settled: ALL_MASTER },
    { name: 'garp_extra_if', text: GARP_EXTRA_IF, settled: ALL_MASTER },
    { name: 'vmac_prefix, cut to fit', text: VMAC_PREFIX, settled: ALL_MASTER },
    {
      name: 'unicast keywords without peers; unicast checksum compatibility',
      text: UNICAST_KEYWORDS,
      settled: ALL_MASTER,
    },
    {
      name: 'VIPs the kernel refuses; no_accept without a table; an address owner with no_accept',
      text: REFUSED_VIPS,
      setup: (ns) =>
        spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.eth2.disable_ipv6=1']),
      settled: ALL_MASTER,
      addressesOn: ['eth0'],
      json: true,
    },
    {
      name: 'sync-group members tracking a weighted interface down at start, then up, then down',
      text: SYNC_WEIGHTED_DOWN,
      setup: eth3Carrier(false),
      quietStart: true,
      settled: ALL_MASTER,
      steps: [
        { name: 'eth3 up', act: eth3Carrier(true) },
        { name: 'eth3 down', act: eth3Carrier(false) },
      ],
    },
    {
      name: 'dynamic_interfaces: a missing interface, then created, then addressed',
      text: DYNAMIC,
      steps: [
        {
          name: 'eth9 created, no address',
          act: (ns, peer) => {
            ip(
              '-n',
              ns,
              'link',
              'add',
              'eth9',
              'address',
              '02:00:00:00:00:09',
              'type',
              'veth',
              'peer',
              'name',
              'eth9p',
              'netns',
              peer,
            );
            ip('-n', ns, 'link', 'set', 'eth9', 'up');
            ip('-n', peer, 'link', 'set', 'eth9p', 'up');
          },
        },
        {
          name: 'eth9 addressed',
          act: (ns) => ip('-n', ns, 'addr', 'add', '198.51.100.9/24', 'dev', 'eth9'),
        },
        { name: 'eth9 deleted', act: (ns) => ip('-n', ns, 'link', 'del', 'eth9') },
      ],
    },
    {
      name: "dynamic_interfaces: a route's and a rule's interface down, up, deleted",
      text: ROUTE_DEVICES,
      quietStart: true,
      steps: [
        { name: 'eth3 down', act: (ns) => ip('-n', ns, 'link', 'set', 'eth3', 'down') },
        { name: 'eth3 up', act: (ns) => ip('-n', ns, 'link', 'set', 'eth3', 'up') },
        { name: 'eth2 deleted', act: (ns) => ip('-n', ns, 'link', 'del', 'eth2') },
        { name: 'eth3 deleted', act: (ns) => ip('-n', ns, 'link', 'del', 'eth3') },
      ],
    },
    {
      name: 'interfaces created after start, deleted, created again',
      text: PLAIN,
      quietStart: true,
      steps: [
        {
          name: 'eth5 and eth6 created',
          act: (ns, peer) => {
            veth(ns, peer, 'eth5', '02:00:00:00:00:05');
            veth(ns, peer, 'eth6', '02:00:00:00:00:06');
          },
        },
        {
          name: 'eth5 and eth2 deleted',
          act: (ns) => {
            ip('-n', ns, 'link', 'del', 'eth5');
            ip('-n', ns, 'link', 'del', 'eth2');
          },
        },
        {
          name: 'eth5 and eth2 created again',
          act: (ns, peer) => {
            veth(ns, peer, 'eth5', '02:00:00:00:00:05');
            veth(ns, peer, 'eth2', '02:00:00:00:00:03');
          },
        },
      ],
    },
    {
      name: 'dynamic_interfaces: devices of no_track VIPs, routes and rules, a tracked oif',
      text: NO_TRACK_DEVICES,
      steps: [
        {
          name: 'eth6, eth7 and eth8 created',
          act: (ns, peer) => {
            for (const k of [6, 7, 8]) veth(ns, peer, `eth${k}`, `02:00:00:00:00:0${k}`);
          },
        },
      ],
    },
    {
      name: 'dynamic_interfaces: a MASTER whose no_track VIP has no device, then the device created',
      text: MASTER_MISSING_VIP_DEVICE,
      quietStart: true,
      settled: /^ {3}State = MASTER$/m,
      addressesOn: ['eth6'],
      steps: [
        {
          name: 'eth6 created',
          act: (ns, peer) => veth(ns, peer, 'eth6', '02:00:00:00:00:06'),
        },
      ],
    },
    {
      name: 'links down at start, then up, then down',
      text: DOWN_AT_START,
      setup: (ns, peer) => {
        ip('-n', ns, 'addr', 'add', '198.51.100.2/24', 'dev', 'eth2');
        downLinks(true)(ns, peer);
      },
      steps: [
        { name: 'links up', act: downLinks(false) },
        { name: 'links down', act: downLinks(true) },
      ],
    },
    {
      name: 'an interface without an IPv4 address, then addressed',
      text: NO_ADDRESS,
      steps: [
        {
          name: 'eth2 addressed',
          act: (ns) => ip('-n', ns, 'addr', 'add', '198.51.100.2/24', 'dev', 'eth2'),
        },
      ],
    },
  ];
  const all = process.env.KATS_DUMP_ALL === '1';
  const lean = [
    'keepalived.conf.vrrp',
    'keepalived.conf.vrrp.sync',
    'keepalived.conf.vrrp.scripts',
    'keepalived.conf.vrrp.localcheck',
    'keepalived.conf.track_interface',
    'keepalived.conf.SSL_GET',
    'keepalived.conf.conditional_conf',
    'keepalived.conf.vrrp.routes',
    'keepalived.conf.vrrp.rules',
  ];
  if (existsSync(CORPUS_DIR))
    for (const f of readdirSync(CORPUS_DIR).sort()) {
      const text = readFileSync(join(CORPUS_DIR, f), 'utf8');
      if (!/^\s*vrrp_instance/m.test(text) || (!all && !lean.includes(f))) continue;
      // The lab's kernel has no IPVS, without which 2.2.7's VRRP process stops when asked to run the LVS sync
      // daemon ("IPVS: Can't initialize ipvs"); both run the sample without that line here.
      const lab = text.replace(/^\s*lvs_sync_daemon(_interface)?\s.*$/gm, '');
      out.push({
        name: `sample ${f}`,
        text: documentationAddresses(lab),
        ...(NOT_ALL_MASTER.has(`sample ${f}`) ? {} : { settled: ALL_MASTER }),
      });
    }
  // (Without a vrrp_instance neither writes a VRRP dump.)
  for (const f of readdirSync(CASES_DIR)
    .filter((x) => x.startsWith('meaning-'))
    .sort()) {
    const text = readFileSync(join(CASES_DIR, f), 'utf8');
    if (/^\s*vrrp_instance/m.test(text))
      out.push({
        name: `case ${f}`,
        text,
        ...(NOT_ALL_MASTER.has(`case ${f}`) ? {} : { settled: ALL_MASTER }),
      });
  }
  for (const seed of seedList(process.env.KATS_DUMP_SEEDS ?? '1'))
    out.push({
      name: `generated seed ${seed}`,
      text: generatedConfig(seed, GENERATED_INSTANCES, { lvs: true }),
    });
  const only = process.env.KATS_DUMP_ONLY;
  return only ? out.filter((c) => c.name.includes(only)) : out;
}

/**
 * `ip -n NS -batch -` with `lines`, without blocking this process: every case's labs are built here while the
 * other cases wait for their dumps, and a few dozen synchronous `ip` runs on a loaded machine stalled their
 * timers for seconds (docs/decisions/meaning-variants.md).
 */
function ipBatch(ns: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ip -n ${ns} -batch: exit ${code}: ${err}`)),
    );
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}

/** A namespace with lo, eth0 (192.0.2.1/24), eth1 (198.51.100.1/24), eth2 and eth3, each a veth to a hidden peer. */
async function lab(label: string, drop: (() => void)[]): Promise<{ ns: string; peer: string }> {
  const ns = createNetns(label);
  const peer = createNetns(`${label}p`);
  // Removed by the case itself once its daemons are gone (a long seed run must not pile them up).
  drop.push(() => {
    deleteNetns(ns);
    deleteNetns(peer);
  });
  // eth2 and eth3 without addresses: keepalived refuses a configuration naming an interface that does not exist.
  const devs = [
    ['eth0', '192.0.2.1/24'],
    ['eth1', '198.51.100.1/24'],
    ['eth2', ''],
    ['eth3', ''],
  ] as const;
  await ipBatch(
    ns,
    devs.flatMap(([dev, addr], k) => [
      `link add ${dev} address 02:00:00:00:00:0${k + 1} type veth peer name ${dev}p netns ${peer}`,
      ...(addr ? [`addr add ${addr} dev ${dev}`] : []),
      `link set ${dev} up`,
    ]),
  );
  await ipBatch(
    peer,
    devs.map(([dev]) => `link set ${dev}p up`),
  );
  return { ns, peer };
}

/** The IPv4 addresses the kernel holds on `dev` in `ns` (none when there is no such device). */
function ipv4On(ns: string, dev: string): string[] {
  const r = spawnSync('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/ inet (\S+)/g)].map((m) => m[1]!).sort();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON signal to the daemon in `pidFile`; each instance's VIP fields from its JSON dump ([] if none came). */
async function takeJsonVips(pidFile: string, file: string): Promise<unknown[]> {
  rmSync(file, { force: true });
  const pid = pidIn(pidFile);
  if (pid === null) return [];
  spawnSync('kill', [`-${SIGNAL_JSON}`, String(pid)]);
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    await sleep(200);
    try {
      const list = JSON.parse(readFileSync(file, 'utf8')) as { data: Record<string, unknown> }[];
      return list.map(({ data: d }) => ({ iname: d.iname, vipset: d.vipset, vips: d.vips, evips: d.evips }));
    } catch {
      // not there yet, or still being written
    }
  }
  return [];
}

/** One daemon in `ns` with /tmp bound to `tmp` (both write their dump there). */
function startIn(ns: string, tmp: string, argv: string[]): { child: ChildProcess; log: () => string } {
  // A checkout under /tmp (CI clones there) would vanish under the bound directory: bind it back in first.
  const rel = relative('/tmp', REPO_ROOT);
  const keep = rel.startsWith('..')
    ? ''
    : `mkdir -p '${tmp}/${rel}' && mount --bind '${REPO_ROOT}' '${tmp}/${rel}' && `;
  const bind = keep ? `mount --rbind ${tmp} /tmp` : `mount --bind ${tmp} /tmp`;
  const inner = `${keep}${bind} && exec ${argv.map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', inner], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return { child, log: () => out };
}

/** Lines keepalived writes that ours does not (dumps.ts header): none left in the sections we run. */
const THEIRS_ONLY: RegExp[] = [];

/** Both texts: times and socket numbers masked; the lines one side alone writes taken out. */
function normalise(text: string, ours: boolean): string[] {
  const out: string[] = [];
  let prev = '';
  for (const l of text.split('\n')) {
    const line = l
      .replace(/^( {3}Last transition = ).*$/, '$1<time>')
      .replace(/^( {3}Read timeout = )\d.*$/, '$1<time>')
      .replace(/^( G(ARP|NA) next time )[1-9].*$/, '$1<time>')
      .replace(/^( {3}Next gratuitous ARP for such secondary = )[1-9].*$/, '$1<time>')
      // A vrrp_script's run state at the instant of the dump (keepalived: `running` while a run is in flight).
      .replace(/^( {3}State = )(running|idle)$/, '$1<run state>')
      .replace(/(IPv6 forwarding\. Last checked ).*$/, '$1<time>')
      .replace(/^ {3}fd_in -?\d+, fd_out -?\d+$/, '   fd_in <fd>, fd_out <fd>')
      .replace(/^ fd_in -?\d+ fd_out = -?\d+$/, ' fd_in <fd> fd_out = <fd>');
    const drop =
      l === '' ||
      (!ours && THEIRS_ONLY.some((re) => re.test(l))) ||
      // Ours alone: the master's address while MASTER, after the instance's last keepalived line.
      (ours && /^ {3}Master router = /.test(l) && /^ {3}Notify priority changes = /.test(prev));
    prev = l;
    if (!drop) out.push(line);
  }
  return out;
}

/**
 * Documented departures (docs/config-meaning.md), applied to keepalived's lines before comparing; each asserts
 * that it is still seen, so that an entry goes when 2.2.7 stops doing it.
 */
const DEPARTURES: Record<string, { why: string; apply: (lines: string[]) => string[] | null }[]> = {
  'case meaning-track-bfd.conf': [
    {
      // Not asserted as seen: which one 2.2.7 prints depends on the race, so this may change nothing.
      why: "2.2.7's Wantstate for an instance held in FAULT by a BFD session is a race between its BFD and VRRP processes: BACKUP when the session was known Down as the instance started, FAULT when the Down report came after (both seen at load 10–12); ours is FAULT",
      apply: (lines) => {
        let state = '';
        return lines.map((l) => {
          if (l.startsWith('   State = ')) state = l;
          return l === '   Wantstate = BACKUP' && state === '   State = FAULT' ? '   Wantstate = FAULT' : l;
        });
      },
    },
  ],
  'case meaning-priority-prefix.conf': [
    {
      why: 'VIP prefix /abc is /0 in a running 2.2.7; its -t and we use the full length',
      apply: (lines) => {
        const k = lines.findIndex((l) => /^ {5}192\.0\.2\.12\/0 /.test(l));
        if (k < 0) return null;
        return lines.map((l, i) => (i === k ? l.replace('192.0.2.12/0 ', '192.0.2.12 ') : l));
      },
    },
  ],
};

/**
 * Departures applied to every case (docs/config-meaning.md 'Found by the whole-dump differential'), each
 * narrow enough that it cannot hide a difference of meaning.
 */
const EVERYWHERE: { why: string; apply: (lines: string[]) => string[] }[] = [
  {
    why: "a BACKUP that has heard no master (master priority 0): 2.2.7 prints as its master's address whatever address it formatted last (ff02::12, the IPv6 group); we print the family's any-address",
    apply: (lines) => {
      let v6 = false;
      return lines.map((l, i) => {
        if (l.startsWith(' VRRP Instance = ')) v6 = false;
        if (l === '   Using Native IPv6') v6 = true;
        return /^ {3}Master router = /.test(l) && lines[i + 1] === '   Master priority = 0'
          ? `   Master router = ${v6 ? '::' : '0.0.0.0'}`
          : l;
      });
    },
  },
];

/** The first differences, by line, for the failure message. */
function firstDiffs(a: string[], b: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < 12; i++)
    if (a[i] !== b[i])
      out.push(`line ${i + 1}:\n  keepalived: ${a[i] ?? '<none>'}\n  ours:       ${b[i] ?? '<none>'}`);
  return out.join('\n');
}

const CONCURRENCY = Number(process.env.KATS_DUMP_CONCURRENCY ?? 2);

describe("the SIGUSR1 data dump is keepalived 2.2.7's, line for line", {
  skip,
  concurrency: CONCURRENCY,
}, () => {
  for (const c of skip ? [] : cases())
    test(c.name, async () => {
      const refTmp = mkdtempSync(join(dir, 'ref-'));
      const oursTmp = mkdtempSync(join(dir, 'ours-'));
      for (const t of [refTmp, oursTmp]) {
        writeFileSync(join(t, 'keepalived.conf'), c.text);
        writeFileSync(join(t, 'notify.sh'), NOTIFY_SH, { mode: 0o755 });
        writeFileSync(join(t, 'fifo.sh'), FIFO_SH, { mode: 0o755 });
      }
      const conf = '/tmp/keepalived.conf';
      const labs: (() => void)[] = [];
      const [refLab, oursLab] = await Promise.all([lab('ddr', labs), lab('ddo', labs)]);
      if (c.setup) {
        c.setup(refLab.ns, refLab.peer);
        c.setup(oursLab.ns, oursLab.peer);
        // A carrier change reaches the link's flags up to a second later (the kernel's link watch).
        await sleep(1500);
      }
      const ref = startIn(refLab.ns, refTmp, [
        REFERENCE_KEEPALIVED,
        ...['-n', '-l', '-P', '-f', conf, '-p', '/tmp/k.pid', '-r', '/tmp/v.pid'],
      ]);
      const ours = startIn(oursLab.ns, oursTmp, [
        process.execPath,
        OURS_BIN,
        ...['-n', '-l', '-P', '-f', conf, '-p', '/tmp/k.pid', '-r', '/tmp/v.pid'],
      ]);
      /** Both dumps until they agree (or the time is up), then compared; false when keepalived refused to run. */
      const compare = async (stage: string): Promise<boolean> => {
        // Until both settle on the same states (and script results): at most 24 s once both have written (the
        // generated configurations start 20 instances; a loaded machine slows our start more than keepalived's).
        let theirs: string[] = [];
        let mine: string[] = [];
        let missing: string[] = [];
        const end = Date.now() + 24_000;
        await sleep(3000);
        for (;;) {
          const [t, o] = await Promise.all([
            takeDump(join(refTmp, 'v.pid'), join(refTmp, 'keepalived.data')),
            takeDump(join(oursTmp, 'k.pid'), join(oursTmp, 'keepalived.data')),
          ]);
          theirs = t === null ? [] : normalise(t, false);
          mine = o === null ? [] : normalise(o, true);
          missing = [];
          for (const d of EVERYWHERE) theirs = d.apply(theirs);
          for (const d of DEPARTURES[c.name] ?? []) {
            const applied = d.apply(theirs);
            if (applied) theirs = applied;
            else missing.push(d.why);
          }
          const settled = c.settled === undefined || c.settled.test(theirs.join('\n'));
          if (theirs.join('\n') === mine.join('\n') && theirs.length > 0 && settled) break;
          // A side that has written nothing yet is still starting (a loaded machine): up to 34 s for that.
          if (Date.now() > (theirs.length > 0 && mine.length > 0 ? end : end + 10_000)) break;
          // Both gone (a configuration neither runs: a non-existent interface): nothing more will come.
          if (ref.child.exitCode !== null && ours.child.exitCode !== null) break;
          await sleep(1000);
        }
        assert.deepEqual(missing, [], 'departures no longer seen in keepalived: remove them');
        if (process.env.KATS_DUMP_OUT) {
          mkdirSync(process.env.KATS_DUMP_OUT, { recursive: true });
          const base = join(process.env.KATS_DUMP_OUT, `${c.name}${stage}`.replace(/\W+/g, '_'));
          writeFileSync(`${base}.ref`, `${theirs.join('\n')}\n`);
          writeFileSync(`${base}.ours`, `${mine.join('\n')}\n`);
        }
        if (theirs.length === 0 && ref.child.exitCode !== null) {
          // keepalived refused to run it: so must we, with its exit status and its reason.
          assert.equal(
            ours.child.exitCode,
            ref.child.exitCode,
            `keepalived refused, we did not:\n${ours.log()}\nkeepalived's log:\n${ref.log()}`,
          );
          const why = /Non-existent interface specified in configuration/;
          assert.equal(why.test(ours.log()), why.test(ref.log()), ours.log());
          return false;
        }
        assert.ok(theirs.length > 0, `keepalived wrote no dump${stage}:\n${ref.log()}`);
        assert.ok(
          mine.length > 0,
          `keepalived-ts wrote no dump${stage}:\n${ours.log()}\n${noDumpFacts(join(oursTmp, 'k.pid'), join(oursTmp, 'keepalived.data'))}`,
        );
        if (c.settled) assert.match(theirs.join('\n'), c.settled, `keepalived's dump${stage}`);
        for (const dev of c.addressesOn ?? [])
          assert.deepEqual(
            ipv4On(oursLab.ns, dev),
            ipv4On(refLab.ns, dev),
            `IPv4 addresses on ${dev}${stage} (keepalived's second)`,
          );
        assert.ok(
          mine.join('\n') === theirs.join('\n'),
          `${stage}\n${firstDiffs(theirs, mine)}\nkeepalived-ts's log, last lines:\n${ours.log().split('\n').slice(-25).join('\n')}`,
        );
        if (c.json) {
          const [t, o] = await Promise.all([
            takeJsonVips(join(refTmp, 'k.pid'), join(refTmp, 'keepalived.json')),
            takeJsonVips(join(oursTmp, 'k.pid'), join(oursTmp, 'keepalived.json')),
          ]);
          assert.ok(t.length > 0, `keepalived wrote no JSON dump${stage}`);
          assert.deepEqual(o, t, `JSON dump's VIPs${stage}`);
        }
        return true;
      };
      /**
       * The notify script's lines so far in any order (the scripts run side by side), and the FIFO's in
       * keepalived's order (one writer, one reader), within a few seconds.
       */
      const compareNotifies = async (stage: string) => {
        const lines = (tmp: string, f: string) => {
          const all = existsSync(join(tmp, f))
            ? readFileSync(join(tmp, f), 'utf8').split('\n').filter(Boolean)
            : [];
          return f === 'fifo.log' ? all : all.sort();
        };
        for (const f of ['notify.log', 'fifo.log']) {
          const end = Date.now() + 5000;
          while (Date.now() < end && lines(refTmp, f).join() !== lines(oursTmp, f).join()) await sleep(250);
          assert.deepEqual(lines(oursTmp, f), lines(refTmp, f), `${f}${stage}`);
        }
      };
      try {
        if (!(await compare(''))) return;
        if (c.steps) {
          await compareNotifies('');
          // keepalived's start-up lines for instances without an interface or an address, in its order.
          const said = (log: string) =>
            log
              .split('\n')
              .map(
                (l) =>
                  /(Configuration specifies interface .*|\(\w+\):? entering FAULT state \(.*)$/.exec(l)?.[1],
              )
              .filter((l) => l !== undefined);
          if (!c.quietStart) assert.ok(said(ref.log()).length > 0, ref.log());
          assert.deepEqual(said(ours.log()), said(ref.log()));
        }
        for (const step of c.steps ?? []) {
          step.act(refLab.ns, refLab.peer);
          step.act(oursLab.ns, oursLab.peer);
          await compare(` after ${step.name}`);
          await compareNotifies(` after ${step.name}`);
        }
        // An interface deleted under an instance is expected here: nothing of it is an error.
        if (c.steps) assert.doesNotMatch(ours.log(), /ERROR.*ENODEV|ENODEV.*ERROR/, ours.log());
      } finally {
        for (const [d, tmp, pid] of [
          [ref, refTmp, 'k.pid'],
          [ours, oursTmp, 'k.pid'],
        ] as const) {
          const p = pidIn(join(tmp, pid));
          try {
            if (p !== null) process.kill(p, 'SIGTERM');
            else d.child.kill('SIGTERM');
          } catch {
            d.child.kill('SIGTERM'); // already gone
          }
        }
        await Promise.all(
          [ref, ours].map((d) =>
            d.child.exitCode === null && d.child.signalCode === null
              ? new Promise((r) => {
                  const t = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
                  d.child.once('exit', () => {
                    clearTimeout(t);
                    r(null);
                  });
                })
              : null,
          ),
        );
        for (const drop of labs) drop();
        for (const t of [refTmp, oursTmp]) rmSync(t, { recursive: true, force: true });
      }
    });
});
