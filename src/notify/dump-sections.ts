// The sections of the SIGUSR1 data dump (/tmp/keepalived.data) around the VRRP Topology: Global definitions,
// VRRP Sockpool, VRRP Sync groups, VRRP Scripts, VRRP Track files and Interfaces, in keepalived 2.2.7's words
// and order (docs/notify-data-dump.md lists the lines, and those we write differently or not at all). Pure
// but for the umask line (the process's mask): the configuration, the trackers' states and the host's facts
// come in; dumps.ts joins the sections.

import { fileMask } from '../common/file-mask.js';
import {
  DEFAULT_INTERFACE,
  type GlobalDefs,
  type KeepalivedConfig,
  type ScriptSpec,
  type SyncGroup,
  type TrackRef,
  type VrrpInstanceConfig,
} from '../config/model.js';
import { isFileCheck } from '../config/script-security.js';
import { engineVip } from '../daemon/engine-plan/statics.js';
import { namedDevices, routeDevices } from '../daemon/engine-plan/trackers.js';
import { nftSettings } from '../daemon/strict-firewall.js';
import { AuthType } from '../vrrp/advert.js';
import { earliestTimer, type TimerTable } from '../vrrp/timers.js';
import { dumpRoute, dumpRule } from './dump-routes.js';
import { type DumpedInstance, vipDataText } from './dumps.js';

/** The live values of the trackers (from the running daemon). */
export interface TrackerSnapshot {
  scripts: { name: string; up: boolean }[];
  files: { name: string; value: number }[];
  /** vrrp_track_process: quorum held, matching processes counted. */
  processes?: { name: string; up: boolean; count: number }[];
  /** BFD sessions reporting to VRRP, as the BFD process last said (absent: Down). */
  bfds?: { name: string; up: boolean }[];
}

/** One network interface as the kernel shows it (read at dump time: dump-host.ts). */
export interface InterfaceFacts {
  name: string;
  index: number;
  /** IPv4 addresses in the kernel's order. */
  ipv4: string[];
  /** IPv6 addresses in the kernel's order. */
  ipv6: string[];
  /** MAC and broadcast MAC (null for an interface without a link-layer address, such as lo). */
  mac: string | null;
  macBroadcast: string | null;
  /** IFF_* bits (net/if.h) as /sys/class/net/IF/flags gives them. */
  flags: number;
  running: boolean;
  mtu: number;
  /** ARPHRD_* (1 ethernet, 772 loopback). */
  hwType: number;
  ipv6Forwarding: boolean;
  /** net.ipv4.conf.IF.rp_filter and promote_secondaries. */
  rpFilter: number;
  promoteSecondaries: boolean;
  /** net.ipv4.conf.IF.arp_ignore and arp_filter. */
  arpIgnore: number;
  arpFilter: number;
  /**
   * A link of a kind the kernel can create and delete (veth, macvlan, bridge …: a virtual link other than
   * loopback), which keepalived marks as one whose type may change; shown with dynamic_interfaces
   * allow_if_changes.
   */
  changeableType?: boolean;
  /** Seen up (with carrier) since the daemon started or the link was created; by default: up now. */
  seenUp?: boolean;
  /**
   * The kernel reported on the link (up, down, carrier …) after the daemon started: keepalived read its
   * rp_filter, arp_ignore, arp_filter and promote_secondaries from that report.
   */
  changed?: boolean;
}

/** What the dump needs to know of the host. */
export interface HostFacts {
  /** keepalived's local name (uname's node name): the default router_id, HELO name and sender. */
  hostname: string;
  /** In index order. */
  interfaces: InterfaceFacts[];
  /** "uid:gid" a script runs as: its own user [group], else the global script user; null for unknown names. */
  scriptUidGid(own: { user: string; group?: string } | undefined): string | null;
  /** The command as keepalived runs it (a bare name found on the PATH, symbolic links resolved), or null if none. */
  resolveCommand(cmd: string): string | null;
  /** Wall-clock seconds now (the IPv6 forwarding check time). */
  nowS: number;
  /** The daemon's monotonic clock now, µs (common/clock.ts): the instances' timers are on it. */
  monoNowUs: number;
}

export interface DataDumpContext {
  config: KeepalivedConfig;
  trackers: TrackerSnapshot;
  host: HostFacts;
  /**
   * The interfaces the VRRP process found at its start (keepalived lists those first, then the ones the
   * configuration names that did not exist, then those that appeared later). Without it: the host's, by index.
   */
  interfacesAtStart?: readonly string[];
  /**
   * The interfaces created since start (again, for one that was deleted), in the order they first came:
   * keepalived appends an interface new to it to its list and keeps it there, deleted or created again.
   */
  interfacesCreated?: readonly string[];
  /**
   * Interfaces deleted while the daemon ran (not created again), with their last facts (dump-host.ts
   * deletedFacts): keepalived keeps listing them where they were.
   */
  deletedInterfaces?: readonly InterfaceFacts[];
}

const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_LOOPBACK = 0x8;
const IFF_POINTOPOINT = 0x10;
const IFF_NOARP = 0x80;
const IFF_MULTICAST = 0x1000;

/** What keepalived 2.2.7 (Debian bookworm's build) writes as its libnftnl version. */
export const LIBNFTNL_VERSION = '1.2.3';

const onOff = (v: boolean | undefined) => (v === undefined ? 'unset' : v ? 'on' : 'off');
const has = (o: Record<string, string[]>, k: string) => o[k] !== undefined;
const num = (o: Record<string, string[]>, k: string, dflt: number) => {
  const v = Number(o[k]?.[0]);
  return o[k]?.[0] !== undefined && Number.isFinite(v) ? v : dflt;
};

/** keepalived's cmd_str: every word in single quotes (a file check's first word as written). */
export function cmdText(spec: ScriptSpec, host: HostFacts): string {
  const [cmd, ...args] = spec.argv;
  if (isFileCheck(spec.argv)) return [cmd, ...args.map((w) => `'${w}'`)].join(' ');
  return [cmd === undefined ? '' : (host.resolveCommand(cmd) ?? cmd), ...args].map((w) => `'${w}'`).join(' ');
}

/**
 * "------< Global definitions >------" (keepalived's dump_global_data) as the VRRP process or the checker
 * process writes it: the checker has no default interface and leaves the lower-priority GARP settings unset
 * unless global_defs sets them; the BFD process writes the checker's lines and the libnftnl version.
 */
export function globalSection(ctx: DataDumpContext, process: 'vrrp' | 'checker' | 'bfd' = 'vrrp'): string[] {
  const vrrp = process === 'vrrp';
  const UNSET = 4294967295;
  const g: GlobalDefs = ctx.config.globalDefs;
  const o = g.other;
  const host = ctx.host;
  const out = ['------< Global definitions >------'];
  const ns = ctx.config.root.net_namespace?.[0] ?? o.network_namespace?.[0];
  out.push(` Network namespace = ${ns ?? '(default)'}`);
  out.push(' Network namespace ipvs = (main namespace)');
  const instance = ctx.config.root.instance?.[0];
  if (instance !== undefined) out.push(` Instance name = ${instance}`);
  out.push(` Router ID = ${g.routerId ?? host.hostname}`);
  if (g.smtpServer) {
    out.push(` Smtp server = ${g.smtpServer.host}`, ` Smtp server port = ${g.smtpServer.port}`);
  }
  const helo = g.smtpHeloName ?? (g.smtpServer ? host.hostname : undefined);
  if (helo !== undefined) out.push(` Smtp HELO name = ${helo}`);
  if (g.smtpServer) out.push(` Smtp server connection timeout = ${g.smtpConnectTimeoutS}`);
  const from = g.notificationEmailFrom ?? (g.smtpServer ? `root@${host.hostname}` : undefined);
  if (from !== undefined) {
    out.push(` Email notification from = ${from}`, ' Email notification to:');
    for (const e of g.notificationEmails) out.push(`   ${e}`);
  }
  out.push(` Default smtp_alert = ${onOff(g.smtpAlert)}`);
  out.push(` Default smtp_alert_vrrp = ${onOff(g.smtpAlertVrrp)}`);
  out.push(` Default smtp_alert_checker = ${onOff(g.smtpAlertChecker)}`);
  out.push(` Checkers log all failures = ${g.checkerLogAllFailures}`);
  out.push(' No test config before reload');
  out.push(` Dynamic interfaces = ${g.dynamicInterfaces}`);
  if (g.dynamicInterfaces) out.push(` Allow interface changes = ${g.dynamicInterfacesAllowIfChanges}`);
  if (g.noEmailFaults) out.push(' Send emails for fault transitions = off');
  if (vrrp) out.push(` Default interface = ${g.defaultInterface ?? DEFAULT_INTERFACE}`);
  out.push(` Disable local IGMP = ${has(o, 'disable_local_igmp') ? 'yes' : 'no'}`);
  if (g.lvsSyncDaemon) {
    const s = g.lvsSyncDaemon;
    if (s.instance !== undefined) out.push(` LVS syncd vrrp instance = ${s.instance}`);
    out.push(` LVS syncd interface = ${s.interface}`, ` LVS syncd syncid = ${s.syncId ?? 0}`);
  }
  out.push(` LVS flush = ${g.lvsFlush}`);
  const flushOnStop = g.lvsFlushOnStop;
  out.push(
    ` LVS flush on stop = ${flushOnStop === undefined ? 'disabled' : flushOnStop === 'vs' ? 'VS' : 'full'}`,
  );
  // keepalived leaves the default out when global_defs script_user names no user.
  const defaultUidGid = host.scriptUidGid(undefined);
  const uidGid = defaultUidGid ?? '0:0';
  const fifo = (label: string, name: string | undefined, script: ScriptSpec | undefined) => {
    if (name === undefined) return;
    out.push(` ${label} = ${name}, uid:gid ${uidGid}`);
    if (script)
      out.push(
        // keepalived runs the script with the FIFO's name as its last argument, and prints it so.
        ` ${label} script = ${cmdText(script, host)} '${name}', uid:gid ${host.scriptUidGid(userOf(script)) ?? uidGid}`,
      );
  };
  fifo('Global notify fifo', g.notifyFifo, g.notifyFifoScript);
  fifo('VRRP notify fifo', g.vrrpNotifyFifo, g.vrrpNotifyFifoScript);
  fifo('LVS notify fifo', g.lvsNotifyFifo, g.lvsNotifyFifoScript);
  out.push(` FIFO write vrrp states on reload = ${g.fifoWriteVrrpStatesOnReload}`);
  out.push(` VRRP notify priority changes = ${g.vrrpNotifyPriorityChanges}`);
  out.push(` VRRP IPv4 mcast group = ${g.vrrpMcastGroup4}`, ` VRRP IPv6 mcast group = ${g.vrrpMcastGroup6}`);
  const delayS = g.vrrpGarpMasterDelayS;
  out.push(
    ` Gratuitous ARP delay = ${Math.floor(delayS)}`,
    ` Gratuitous ARP repeat = ${g.vrrpGarpMasterRepeat}`,
    ` Gratuitous ARP refresh timer = ${Math.floor(g.vrrpGarpMasterRefreshS)}`,
    ` Gratuitous ARP refresh repeat = ${g.vrrpGarpMasterRefreshRepeat}`,
    ` Gratuitous ARP lower priority delay = ${Math.floor(g.vrrpGarpLowerPrioDelayS ?? (vrrp ? delayS : UNSET))}`,
    ` Gratuitous ARP lower priority repeat = ${g.vrrpGarpLowerPrioRepeat ?? (vrrp ? g.vrrpGarpMasterRepeat : UNSET)}`,
    ` Num adverts before down = ${g.vrrpDownTimerAdverts}`,
  );
  out.push(
    ` Gratuitous ARP for each secondary ${g.vrrpGarpExtraIfAll ? 'i/f' : 'VMAC'} = ${g.vrrpGarpExtraIfS}s`,
  );
  out.push(
    ` Send advert after receive lower priority advert = ${!g.vrrpLowerPrioNoAdvert}`,
    ` Send advert after receive higher priority advert = ${g.vrrpHigherPrioSendAdvert}`,
    ` Gratuitous ARP interval = ${(g.vrrpGarpIntervalUs / 1e6).toFixed(6)}`,
    ` Gratuitous NA interval = ${(g.vrrpGnaIntervalUs / 1e6).toFixed(6)}`,
    ` VRRP default protocol version = ${g.vrrpVersion}`,
  );
  const nft = nftSettings(g);
  // keepalived names its table as soon as some instance needs a firewall: use_vmac, no_accept or strict.
  const needsTable =
    nft.table !== null ||
    (vrrp &&
      ctx.config.vrrpInstances.some(
        (i) => i.useVmac !== undefined || i.accept === false || i.strictMode === true,
      ));
  if (needsTable)
    out.push(
      ` nftables table name = ${nft.table ?? 'keepalived'}`,
      ` nftables base chain priority = ${nft.priority}`,
      ` nftables ${nft.ifindex ? '' : "don't "}force use ifindex for link local IPv6`,
    );
  out.push(` nftables with${nft.counters ? '' : 'out'} counters`);
  // A build constant of keepalived (the libnftnl it was compiled against): the Debian 2.2.7 package's.
  // The BFD process writes it too (its global block is otherwise the checker's: docs/bfd.md, 'Dumps').
  if (vrrp || process === 'bfd') out.push(` libnftnl version ${LIBNFTNL_VERSION}`);
  out.push(
    ` VRRP check unicast_src = ${g.vrrpCheckUnicastSrc}`,
    ` VRRP skip check advert addresses = ${g.vrrpSkipCheckAdvAddr}`,
    ` VRRP strict mode = ${g.vrrpStrict}`,
  );
  out.push(
    ` Max auto priority = ${g.maxAutoPriority === -1 ? 'Disabled' : (g.maxAutoPriority ?? 0)}`,
    ` Min auto priority delay = ${num(o, 'min_auto_priority_delay', 1_000_000)} usecs`,
  );
  for (const [label, p] of [
    ['VRRP', g.vrrpProcess],
    ['Checker', g.checkerProcess],
    ['BFD', g.bfdProcess],
  ] as const) {
    out.push(
      ` ${label} process priority = ${p.nice ?? 0}`,
      ` ${label} don't swap = ${p.noSwap}`,
      ` ${label} realtime priority = ${p.rtPriority ?? 0}`,
    );
    if (p.cpuAffinity?.length) out.push(` ${label} CPU Affinity = ${p.cpuAffinity.join(' ')}`);
    out.push(` ${label} realtime limit = ${p.rlimitRttimeUs ?? 10_000}`);
  }
  const snmpAll = has(o, 'enable_snmp_keepalived');
  const rfc = has(o, 'enable_snmp_rfc');
  out.push(
    ` SNMP vrrp ${has(o, 'enable_snmp_vrrp') || snmpAll ? 'enabled' : 'disabled'}`,
    ` SNMP checker ${has(o, 'enable_snmp_checker') ? 'enabled' : 'disabled'}`,
    ` SNMP RFCv2 ${has(o, 'enable_snmp_rfcv2') || rfc ? 'enabled' : 'disabled'}`,
    ` SNMP RFCv3 ${has(o, 'enable_snmp_rfcv3') || rfc ? 'enabled' : 'disabled'}`,
    ` SNMP traps ${has(o, 'enable_traps') ? 'enabled' : 'disabled'}`,
    ` SNMP socket = ${o.snmp_socket?.[0] ?? 'default (unix:/var/agentx/master)'}`,
    ` DBus ${has(o, 'enable_dbus') ? 'enabled' : 'disabled'}`,
    ` DBus service name = ${o.dbus_service_name?.[0] ?? ''}`,
    ` Script security ${g.enableScriptSecurity ? 'enabled' : 'disabled'}`,
  );
  if (defaultUidGid !== null) out.push(` Default script uid:gid ${defaultUidGid}`);
  for (const k of [
    'vrrp_netlink_cmd',
    'vrrp_netlink_monitor',
    'process_monitor',
    'lvs_netlink_cmd',
    'lvs_netlink_monitor',
  ])
    out.push(
      ` ${k}_rcv_bufs = ${num(o, `${k}_rcv_bufs`, 0)}`,
      ` ${k}_rcv_bufs_force = ${has(o, `${k}_rcv_bufs_force`) ? 1 : 0}`,
    );
  out.push(` rs_init_notifies = ${g.rsInitNotifies ? 1 : 0}`);
  out.push(` no_checker_emails = ${g.noCheckerEmails ? 1 : 0}`);
  const policy = g.vrrpRxBufsPolicy;
  if (policy === 'MTU' || policy === 'ADVERT') out.push(` rx_bufs_policy = ${policy}`);
  else if (policy !== undefined) out.push(` rx_bufs_size = ${policy}`);
  out.push(` rx_bufs_multiples = ${g.vrrpRxBufsMultiplier}`);
  // The mask in force in this process (-u, else the last umask read; src/common/file-mask.ts), as 2.2.7's.
  out.push(` umask = 0${fileMask().toString(8)}`);
  if (g.vrrpStartupDelayS > 0) out.push(` vrrp_startup_delay = ${g.vrrpStartupDelayS}`);
  if (g.logUnknownVrids) out.push(' log_unknown_vrids');
  if (g.vmacPrefix !== undefined) out.push(` VMAC prefix = ${g.vmacPrefix}`);
  if (o.vmac_addr_prefix?.[0] !== undefined) out.push(` VMAC address prefix = ${o.vmac_addr_prefix[0]}`);
  return out;
}

const userOf = (s: ScriptSpec) =>
  s.user === undefined ? undefined : { user: s.user, ...(s.group !== undefined ? { group: s.group } : {}) };

/** keepalived's notify script lines, in its order. */
export function notifyLines(
  n: VrrpInstanceConfig['notify'],
  host: HostFacts,
  withDeleted: boolean,
): string[] {
  const kinds: [keyof VrrpInstanceConfig['notify'], string][] = [
    ['backup', 'Backup'],
    ['master', 'Master'],
    ['fault', 'Fault'],
    ['stop', 'Stop'],
    ...(withDeleted ? ([['deleted', 'Deleted']] as [keyof VrrpInstanceConfig['notify'], string][]) : []),
    ['generic', 'Generic'],
    ...(withDeleted
      ? ([['masterRxLowerPri', 'Master rx lower pri']] as [keyof VrrpInstanceConfig['notify'], string][])
      : []),
  ];
  const out: string[] = [];
  for (const [k, label] of kinds) {
    const s = n[k];
    // keepalived drops a notify script whose command is no executable file.
    if (s && s.argv[0] !== undefined && host.resolveCommand(s.argv[0]) !== null)
      out.push(
        `   ${label} state transition script = ${cmdText(s, host)}, uid:gid ${host.scriptUidGid(userOf(s)) ?? '0:0'}`,
      );
  }
  return out;
}

/** "------< VRRP Sockpool >------": one entry per socket, its instances by VRID. */
export function sockpoolSection(instances: DumpedInstance[], ctx?: DataDumpContext): string[] {
  const socks = new Map<string, DumpedInstance[]>();
  for (const i of instances) {
    const key = i.socket ?? String(i.fd ?? -1);
    const list = socks.get(key) ?? [];
    list.push(i);
    socks.set(key, list);
  }
  if (socks.size === 0) return [];
  const out = ['------< VRRP Sockpool >------'];
  for (const list of socks.values()) {
    const fd = list[0]!.fd ?? -1;
    const p = list[0]!.params;
    const unicast = p.unicastPeers.length > 0;
    // vmac_xmit_base: the socket is on the VMAC's base interface.
    const c = ctx?.config.vrrpInstances.find((i) => i.name === list[0]!.status.name);
    const sockIf =
      c?.vmacXmitBase && list[0]!.flags.vmacIfname !== '' ? (c.interface ?? p.interface) : p.interface;
    out.push(
      ` fd_in ${fd} fd_out = ${fd}`,
      `   Interface = ${sockIf}`,
      `   Family = IPv${p.family}`,
      `   Protocol = ${list[0]!.authType === AuthType.ah ? 'AH' : 'VRRP'}`,
      `   Type = ${unicast ? 'Unicast' : 'Multicast'}`,
      ...(unicast ? [`   Address = ${p.primaryAddress}`] : []),
      `   Rx buf size = ${list[0]!.rxBufSize ?? 0}`,
      '   VRRP instances',
      ...[...list]
        .sort((a, b) => a.params.vrid - b.params.vrid)
        .map((i) => `     ${i.status.name} vrid ${i.params.vrid}`),
    );
  }
  return out;
}

const ownFault = (m: DumpedInstance) =>
  m.status.state === 'FAULT' &&
  (m.status.fault.interface || m.status.fault.tracker || m.status.fault.address || m.status.fault.config);

/** A group's state as keepalived sums it: FAULT if a member is, else BACKUP if one is, else MASTER. */
function groupState(members: DumpedInstance[]): string {
  const states = members.map((m) => m.status.state);
  if (states.includes('FAULT')) return 'FAULT';
  if (states.includes('INIT')) return 'INIT';
  if (states.includes('BACKUP') || states.length === 0) return 'BACKUP';
  return 'MASTER';
}

/** "------< VRRP Sync groups >------". */
export function syncGroupSection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  const groups = ctx.config.syncGroups.filter((sg) =>
    sg.members.some((m) => instances.some((i) => i.status.name === m.name)),
  );
  if (groups.length === 0) return [];
  const g = ctx.config.globalDefs;
  const out = ['------< VRRP Sync groups >------'];
  for (const sg of groups) {
    const members = sg.members.flatMap((m) => instances.filter((i) => i.status.name === m.name));
    out.push(
      ` VRRP Sync Group = ${sg.name}, ${groupState(members)}`,
      // Members at fault for a reason of their own (not the ones the group pulled into FAULT).
      `   Num member fault ${members.filter((m) => ownFault(m)).length}, num member init ${members.filter((m) => m.status.state === 'INIT').length}`,
      '   VRRP member instances :',
      ...members.map((m) => `     ${m.status.name}`),
    );
    if (sg.syncGroupTrackingWeight) out.push('   sync group tracking weight set');
    out.push(
      `   Using smtp notification = ${(sg.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false) ? 'yes' : 'no'}`,
    );
    if (sg.notifyPriorityChanges !== undefined)
      out.push(`   Notify priority changes = ${sg.notifyPriorityChanges ? 'yes' : 'no'}`);
    out.push(...groupTracks(ctx, sg));
    out.push(...notifyLines(sg.notify, ctx.host, false));
  }
  return out;
}

function groupTracks(ctx: DataDumpContext, sg: SyncGroup): string[] {
  const out: string[] = [];
  const line = (r: TrackRef, w: number, rev: boolean, comma = false) =>
    `     ${r.name}${comma ? ',' : ''} weight ${r.weight ?? w}${(r.weight !== undefined ? r.reverse : rev || r.reverse) ? ' reverse' : ''}`;
  if (sg.trackInterfaces.length)
    out.push('   Tracked interfaces :', ...sg.trackInterfaces.map((r) => line(r, 0, false)));
  const scripts = sg.trackScripts.flatMap((r) => {
    const d = ctx.config.vrrpScripts.find((s) => s.name === r.name);
    return d ? [line(r, d.weight, d.reverse)] : [];
  });
  if (scripts.length) out.push('   Tracked scripts :', ...scripts);
  const files = sg.trackFiles.flatMap((r) => {
    const d = ctx.config.trackFiles.find((s) => s.name === r.name);
    return d ? [line(r, d.weight, d.reverse, true)] : [];
  });
  if (files.length) out.push('   Tracked files :', ...files);
  const bfds = sg.trackBfds.flatMap((r) => {
    const d = ctx.config.bfdInstances.find((b) => b.name === r.name);
    if (!d) return [];
    const reverse = r.weight !== undefined ? r.reverse : d.reverse || r.reverse;
    return [`     ${r.name}: weight ${r.weight ?? d.weight}${reverse ? ' reverse' : ''}`];
  });
  if (bfds.length) out.push('   Tracked BFDs :', ...bfds);
  return out;
}

/** The instances tracking `name` (of `kind`), with the weight each uses: "     VI_1, weight 5[ reverse]". */
function trackingLines(instances: DumpedInstance[], name: string, kind: string): string[] {
  const out: string[] = [];
  for (const i of instances)
    for (const t of i.params.trackers)
      if (t.kind === kind && t.name === name)
        out.push(`     ${i.status.name}, weight ${t.weight}${t.reverse ? ' reverse' : ''}`);
  return out;
}

/** "------< VRRP Scripts >------": the scripts some instance tracks, in configuration order. */
export function scriptSection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  const used = ctx.config.vrrpScripts.filter(
    (s) =>
      s.script &&
      !s.invalid &&
      instances.some((i) => i.params.trackers.some((t) => t.kind === 'script' && t.name === s.name)),
  );
  if (used.length === 0) return [];
  const out = ['------< VRRP Scripts >------'];
  for (const s of used) {
    const state = ctx.trackers.scripts.find((x) => x.name === s.name);
    const up = state ? state.up : !s.initFail;
    const rise = Math.max(1, s.rise);
    const fall = Math.max(1, s.fall);
    out.push(
      ` VRRP Script = ${s.name}`,
      `   Command = ${cmdText(s.script!, ctx.host)}`,
      `   Interval = ${Math.floor(s.intervalUs / 1e6)} sec`,
      `   Timeout = ${Math.floor((s.timeoutUs ?? 0) / 1e6)} sec`,
      `   Weight = ${s.weight}${s.reverse ? ' reverse' : ''}`,
      `   Rise = ${s.rise}`,
      `   Fall = ${s.fall}`,
      // keepalived counts from 0 (failed) to rise + fall - 1 (fully OK); a settled state is at an end.
      `   Result = ${up ? rise + fall - 1 : 0}`,
      '   Insecure = no',
      `   Init state = ${state ? 'unknown' : 'INIT'}`,
      `   Status = ${up ? 'GOOD' : 'BAD'}`,
      `   Script uid:gid = ${ctx.host.scriptUidGid(s.user ?? (s.script ? userOf(s.script) : undefined)) ?? '0:0'}`,
      '   VRRP instances :',
    );
    const tracking = trackingLines(instances, s.name, 'script');
    if (tracking.length) out.push('   Tracking instances :', ...tracking);
    out.push('   State = idle');
  }
  return out;
}

/** "------< VRRP Track files >------". */
export function trackFileSection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  const used = ctx.config.trackFiles.filter(
    (f) =>
      f.file !== undefined &&
      instances.some((i) => i.params.trackers.some((t) => t.kind === 'file' && t.name === f.name)),
  );
  if (used.length === 0) return [];
  const out = ['------< VRRP Track files >------'];
  for (const f of used) {
    const v = ctx.trackers.files.find((x) => x.name === f.name)?.value ?? f.initFile?.value ?? 0;
    out.push(
      ` Track file = ${f.name}`,
      `   File = ${f.file}`,
      `   Status = ${v}`,
      `   Weight = ${f.weight}${f.reverse ? ' reverse' : ''}`,
    );
    const tracking = trackingLines(instances, f.name, 'file');
    if (tracking.length) out.push('   Tracking instances :', ...tracking);
  }
  return out;
}

/** "------< VRRP Track processes >------": the vrrp_track_process blocks some instance tracks. */
export function trackProcessSection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  const used = ctx.config.trackProcesses.filter(
    (t) =>
      t.process !== undefined &&
      instances.some((i) => i.params.trackers.some((x) => x.kind === 'process' && x.name === t.name)),
  );
  if (used.length === 0) return [];
  const out = ['------< VRRP Track processes >------'];
  const secs = (us: number | undefined) => `${((us ?? 0) / 1e6).toFixed(6)}s`;
  for (const t of used) {
    const [path, ...params] = t.process!;
    const state = ctx.trackers.processes?.find((x) => x.name === t.name);
    out.push(` VRRP Track process = ${t.name}`, `   Process = ${path}`);
    if (params.length > 0) out.push(`   Parameters = ${params.join(' ')}`);
    if (t.paramMatch !== undefined || params.length > 0)
      out.push(`   Param match${t.paramMatch === undefined ? '' : ` = ${t.paramMatch}`}`);
    out.push(`   Min processes = ${t.quorum}`);
    if (t.quorumMax !== undefined) out.push(`   Max processes = ${t.quorumMax}`);
    out.push(
      `   Current processes = ${state?.count ?? 0}`,
      `   Have quorum = ${state?.up ?? false}`,
      `   Weight = ${t.weight}${t.reverse ? ' reverse' : ''}`,
      `   Terminate delay = ${secs(t.terminateDelayUs ?? t.delayUs)}`,
      `   Fork delay = ${secs(t.forkDelayUs ?? t.delayUs)}`,
      '   Fork delay timer not running',
      '   Terminate delay timer not running',
      // keepalived matches the whole command line once param_match is given.
      `   Full command = ${t.fullCommand || t.paramMatch !== undefined}`,
    );
    const tracking = trackingLines(instances, t.name, 'process');
    if (tracking.length) out.push('   Tracking instances :', ...tracking);
  }
  return out;
}

/** "------< VRRP Track BFDs >------": every bfd_instance that reports to VRRP, tracked or not (keepalived's). */
export function trackBfdSection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  const known = ctx.config.bfdInstances.filter((b) => b.toVrrp);
  if (known.length === 0) return [];
  const out = ['------< VRRP Track BFDs >------'];
  for (const b of known) {
    const up = ctx.trackers.bfds?.find((x) => x.name === b.name)?.up ?? false;
    out.push(
      ` VRRP Track BFD = ${b.name}`,
      `   Weight = ${b.weight}${b.reverse ? ' reverse' : ''}`,
      `   Bfd is ${up ? 'up' : 'down'}`,
      '   Tracking VRRP instances :',
    );
    // keepalived's tracking list writes its own heading when it has entries: the instances' own entries
    // first, then those a sync group gave its members (it reads the groups after the instances).
    const own = (i: DumpedInstance) =>
      ctx.config.vrrpInstances
        .find((c) => c.name === i.status.name)
        ?.trackBfds.some((r) => r.name === b.name);
    const tracking = [
      ...trackingLines(instances.filter(own), b.name, 'bfd'),
      ...trackingLines(
        instances.filter((i) => !own(i)),
        b.name,
        'bfd',
      ),
    ];
    if (tracking.length) out.push('   Tracking instances :', ...tracking);
  }
  return out;
}

/** "------< Interfaces >------": every interface of the namespace, with the instances that follow it. */
export function interfaceSection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  if (ctx.host.interfaces.length === 0) return [];
  // Addresses keepalived adds (VIPs, static addresses) are not the interface's own.
  const vips = new Set([
    ...instances.flatMap((i) => [...i.params.vips, ...i.params.excludedVips].map((v) => v.address)),
    ...ctx.config.staticIpaddresses.map((a) => a.address),
  ]);
  // The VMACs of the instances, with their base interface and family.
  const vmacs = new Map<string, string>();
  const vmacFamily = new Map<string, number>();
  for (const i of instances) {
    const c = ctx.config.vrrpInstances.find((x) => x.name === i.status.name);
    if (i.flags.vmacIfname !== '' && c?.useVmac !== undefined && c.interface !== undefined) {
      vmacs.set(i.flags.vmacIfname, c.interface);
      vmacFamily.set(i.flags.vmacIfname, i.params.family);
    }
  }
  const garps = garpDelays(ctx, instances);
  const out = ['------< Interfaces >------'];
  for (const { f, appeared, placeholder } of listedInterfaces(ctx)) {
    const v4 = f.ipv4.find((a) => !vips.has(a));
    // keepalived keeps an interface's IPv6 link-local address only (its advert source), never a VIP (a
    // VMAC's is the one copied from its base interface, not a link-local VIP on it).
    const v6 = f.ipv6.find((a) => /^fe80:/i.test(a) && !vips.has(a));
    out.push(
      ` Name = ${f.name}`,
      `   index = ${f.index}${f.index ? '' : ' (deleted)'}`,
      `   IPv4 address = ${v4 ?? '(none)'}`,
      `   IPv6 address = ${v6 ?? '(none)'}`,
    );
    if (f.mac !== null) out.push(`   MAC = ${f.mac}`, `   MAC broadcast = ${f.macBroadcast ?? ''}`);
    out.push(
      `   State = ${f.flags & IFF_UP ? '' : 'not '}UP, ${f.running ? '' : 'not '}RUNNING${f.flags & IFF_BROADCAST ? '' : ', no broadcast'}${f.flags & IFF_LOOPBACK ? ', loopback' : ''}${f.flags & IFF_POINTOPOINT ? ', point to point' : ''}${f.flags & IFF_NOARP ? ', no arp' : ''}${f.flags & IFF_MULTICAST ? '' : ', no multicast'}`,
      `   Seen up = ${(f.seenUp ?? (f.flags & IFF_UP && f.running)) ? 1 : 0}`,
      '   Delayed state change running = false',
      '   Up debounce timer = 0us',
      '   Down debounce timer = 0us',
    );
    if (ctx.config.globalDefs.dynamicInterfacesAllowIfChanges && f.changeableType)
      out.push('   Interface type/base can be changed');
    const vmacBase = vmacs.get(f.name);
    if (vmacBase !== undefined) {
      const b = ctx.host.interfaces.find((x) => x.name === vmacBase);
      const up = b ? (b.flags & IFF_UP ? '' : 'not ') : 'not ';
      const running = b?.running ? '' : 'not ';
      out.push(
        `   VMAC type private, underlying interface = ${vmacBase}, state = ${up}UP, ${running}RUNNING`,
        '   I/f created by keepalived',
      );
    }
    // keepalived sets arp_ignore and arp_filter on the base interface of each IPv4 VMAC, counting them.
    const arpResets = [...vmacs.entries()].filter(
      ([name, b]) => b === f.name && vmacFamily.get(name) === 4,
    ).length;
    const arpRead = arpResets > 0 || vmacBase !== undefined;
    // keepalived checks an interface that appears after its start for VRID conflicts, and says so.
    if (appeared) out.push('   Done VRID check');
    // A report of the link since start carried its IPv4 settings (keepalived reads them from it).
    const reported = appeared || f.changed === true;
    out.push(
      `   MTU = ${f.mtu}`,
      `   HW Type = ${f.hwType === 772 ? 'LOOPBACK' : f.hwType === 1 ? 'ETHERNET' : `UNKNOWN (${f.hwType})`}`,
      '   NIC netlink status update',
      ...garpLines(garps.find((d) => d.interfaces.includes(f.name))),
      `   Reset ARP config counter ${arpResets}`,
      `   Original arp_ignore ${arpRead || reported ? f.arpIgnore : 0}`,
      `   Original arp_filter ${arpRead || reported ? f.arpFilter : 0}`,
    );
    // keepalived sets promote_secondaries for the instances that ask for it, counting them; the kernel's
    // notification of that change is what first tells it rp_filter (also read for VMACs and their bases).
    const promoting = instances.filter(
      (i) => i.params.interface === f.name && i.flags.promoteSecondaries,
    ).length;
    // An interface it learnt of after its start (or only from the configuration) has rp_filter read as well;
    // so has one the kernel reported on since (down, up, carrier: docs/notify-data-dump.md, Interfaces).
    if (promoting > 0 || arpRead || reported || placeholder) out.push(`   rp_filter ${f.rpFilter}`);
    out.push(
      `   Original promote_secondaries ${(promoting > 0 || vmacBase !== undefined || reported) && f.promoteSecondaries ? 1 : 0}`,
      `   Reset promote_secondaries counter ${promoting}`,
    );
    // keepalived checks the IPv6 forwarding setting when it sends unsolicited neighbour adverts: a master's
    // IPv6 VIPs (excluded ones too, an IPv4 instance's as well) on this interface, added or not; for VIPs on
    // a VMAC, on its base interface instead (seen with 2.2.7).
    if (
      instances.some(
        (i) =>
          i.status.state === 'MASTER' &&
          [...i.params.vips, ...i.params.excludedVips].some((v) => {
            if (!v.address.includes(':')) return false;
            const on = v.dev ?? i.params.interface;
            return on === i.flags.vmacIfname ? vmacs.get(on) === f.name : on === f.name;
          }),
      )
    )
      out.push(
        `   ${f.ipv6Forwarding ? '' : 'Not '}IPv6 forwarding. Last checked ${forwardingTime(ctx.host.nowS)}`,
      );
    const tracking: string[] = [];
    for (const i of instances) {
      const c = ctx.config.vrrpInstances.find((x) => x.name === i.status.name);
      const mine: string[] = [];
      // The instance's own interface, and for a VMAC instance its base too.
      const own = i.params.interface === f.name || (i.flags.vmacIfname !== '' && c?.interface === f.name);
      if (own && !i.params.dontTrackPrimary) mine.push(`     ${i.status.name}, weight 0`);
      // The weight as configured: keepalived keeps it here even where the instance ignores it (sync groups).
      const refs = c?.trackInterfaces ?? [];
      for (const t of i.params.trackers)
        if (t.kind === 'interface' && t.name === f.name && !t.implicit) {
          const r = refs.find((x) => x.name === t.name);
          const w = r ? (r.weight ?? 0) : t.weight;
          mine.push(`     ${i.status.name}, weight ${w}${(r ? r.reverse : t.reverse) ? ' reverse' : ''}`);
        }
      // The interface of a VIP on another interface (unless no_track), the output interface of a tracked
      // virtual route, the input and output interfaces of a tracked virtual rule.
      const routeIfs: (string | undefined)[] = [
        ...[...(c?.virtualIpaddresses ?? []), ...(c?.virtualIpaddressesExcluded ?? [])].map((v) =>
          v.noTrack ? undefined : v.dev,
        ),
        ...(c ? routeDevices(c) : []),
      ];
      if (mine.length === 0 && routeIfs.includes(f.name)) mine.push(`     ${i.status.name}, weight 0`);
      tracking.push(...mine);
    }
    if (tracking.length) out.push('   Tracking VRRP instances :', ...tracking);
  }
  return out;
}

/** The interfaces a configuration names for its VRRP instances, in about the order keepalived reads them. */
function configuredInterfaces(cfg: KeepalivedConfig): string[] {
  const names: (string | undefined)[] = cfg.vrrpInstances.flatMap(namedDevices);
  for (const g of cfg.syncGroups) names.push(...g.trackInterfaces.map((t) => t.name));
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/**
 * The interfaces in keepalived's order: those it found at its start (by index), then those the configuration
 * names that did not exist then (dynamic_interfaces: a placeholder with index 0 until the interface appears),
 * then the others in the order they were created since. Each keeps its place when deleted (listed with its
 * last facts) and when created again (then, like any interface that appeared, VRID-checked: `appeared`).
 * Without the start list, the host's interfaces by index.
 */
function listedInterfaces(
  ctx: DataDumpContext,
): { f: InterfaceFacts; appeared: boolean; placeholder: boolean }[] {
  const now = ctx.host.interfaces;
  const atStart = ctx.interfacesAtStart;
  if (atStart === undefined) return now.map((f) => ({ f, appeared: false, placeholder: false }));
  // A deleted interface stays where it was, with its last facts (and its rp_filter line, as a placeholder's).
  const gone = new Map((ctx.deletedInterfaces ?? []).map((f) => [f.name, f]));
  const created = new Set(ctx.interfacesCreated ?? []);
  const start = new Set(atStart);
  const named = ctx.config.globalDefs.dynamicInterfaces
    ? configuredInterfaces(ctx.config).filter((n) => !start.has(n))
    : [];
  const out: { f: InterfaceFacts; appeared: boolean; placeholder: boolean }[] = [];
  const listed = new Set<string>();
  const list = (name: string, appeared: boolean, orAbsent: boolean) => {
    if (listed.has(name)) return;
    const f = now.find((x) => x.name === name);
    const g = gone.get(name);
    if (f) out.push({ f, appeared, placeholder: false });
    else if (g) out.push({ f: g, appeared, placeholder: true });
    else if (orAbsent) out.push({ f: absent(name), appeared: false, placeholder: true });
    else return;
    listed.add(name);
  };
  for (const name of atStart) list(name, created.has(name), false);
  for (const name of named) list(name, created.has(name) || now.some((x) => x.name === name), true);
  for (const name of ctx.interfacesCreated ?? []) list(name, true, false);
  // Any the runtime did not report as created (none expected): by index, then the deleted.
  for (const f of now) list(f.name, true, false);
  for (const g of gone.values()) list(g.name, true, false);
  return out;
}

/** An interface keepalived knows from the configuration only: all zero. */
function absent(name: string): InterfaceFacts {
  return {
    name,
    index: 0,
    ipv4: [],
    ipv6: [],
    mac: null,
    macBroadcast: null,
    flags: 0,
    running: false,
    mtu: 0,
    hwType: 0,
    ipv6Forwarding: false,
    rpFilter: 0,
    promoteSecondaries: false,
    arpIgnore: 0,
    arpFilter: 0,
  };
}

/** One GARP delay group: garp_group blocks in order (0, 1, …), then the default one the global intervals make. */
interface GarpDelay {
  group: number;
  garpUs?: number;
  gnaUs?: number;
  interfaces: string[];
}

/**
 * keepalived's garp_delay list: a group per garp_group block (numbered from 0), then, when global_defs sets
 * vrrp_garp_interval or vrrp_gna_interval, a group 0 of its own for the instances' interfaces in no block.
 */
function garpDelays(ctx: DataDumpContext, instances: DumpedInstance[]): GarpDelay[] {
  const out: GarpDelay[] = ctx.config.garpGroups.map((g, k) => ({
    group: k,
    ...(g.garpIntervalUs ? { garpUs: g.garpIntervalUs } : {}),
    ...(g.gnaIntervalUs ? { gnaUs: g.gnaIntervalUs } : {}),
    interfaces: g.interfaces,
  }));
  const g = ctx.config.globalDefs;
  if (g.vrrpGarpIntervalUs > 0 || g.vrrpGnaIntervalUs > 0) {
    const grouped = new Set(out.flatMap((d) => d.interfaces));
    const rest = [...new Set(instances.map((i) => i.params.interface))].filter((n) => !grouped.has(n));
    if (rest.length > 0)
      out.push({
        group: 0,
        ...(g.vrrpGarpIntervalUs > 0 ? { garpUs: g.vrrpGarpIntervalUs } : {}),
        ...(g.vrrpGnaIntervalUs > 0 ? { gnaUs: g.vrrpGnaIntervalUs } : {}),
        interfaces: rest,
      });
  }
  return out;
}

/**
 * "------< Gratuitous ARP delays >------": each group, its intervals (`%g` seconds) and next send time — the
 * epoch until an interface of the group has announced (a MASTER on it), else the next interval from now —
 * and its interfaces in index order.
 */
export function garpDelaySection(ctx: DataDumpContext, instances: DumpedInstance[]): string[] {
  const list = garpDelays(ctx, instances);
  if (list.length === 0) return [];
  const out = ['------< Gratuitous ARP delays >------'];
  const order = (n: string) =>
    ctx.host.interfaces.find((f) => f.name === n)?.index ?? Number.MAX_SAFE_INTEGER;
  for (const d of list) {
    const sent = instances.some(
      (i) => i.status.state === 'MASTER' && d.interfaces.includes(i.params.interface),
    );
    const next = (us: number) =>
      sent ? shortTime(ctx.host.nowS + us / 1e6) : '0.000000 (Thu Jan  1 00:00:00.000000)';
    out.push(`------< GARP delay group ${d.group} >------`);
    if (d.garpUs !== undefined)
      out.push(` GARP interval = ${d.garpUs / 1e6}`, ` GARP next time ${next(d.garpUs)}`);
    if (d.gnaUs !== undefined)
      out.push(` GNA interval = ${d.gnaUs / 1e6}`, ` GNA next time ${next(d.gnaUs)}`);
    else if (d.garpUs === undefined) out.push(' No configuration');
    out.push(' Interfaces', ...[...d.interfaces].sort((a, b) => order(a) - order(b)).map((n) => `  ${n}`));
  }
  return out;
}

/** "SECONDS.MICROS (Www Mmm dd hh:mm:ss.MICROS)" (ctime's first 19 characters). */
function shortTime(s: number): string {
  const whole = Math.floor(s);
  const us = String(Math.round((s - whole) * 1e6) % 1e6).padStart(6, '0');
  return `${whole}.${us} (${ctimeText(whole).slice(0, 19)}.${us})`;
}

/** "------< Static Addresses / Routes / Rules >------", as configured (the addresses are installed: `set`). */
export function staticSections(ctx: DataDumpContext): string[][] {
  const c = ctx.config;
  const out: string[][] = [];
  if (c.staticIpaddresses.length > 0)
    out.push([
      '------< Static Addresses >------',
      ...c.staticIpaddresses.map((v) => `     ${vipDataText(engineVip(v), { interface: '' }, true, false)}`),
    ]);
  const sections = [
    ['Static Routes', c.staticRoutes.map(dumpRoute)],
    ['Static Rules', c.staticRules.flatMap((r) => dumpRule(r) ?? [])],
  ] as const;
  for (const [title, lines] of sections)
    if (lines.length > 0) out.push([`------< ${title} >------`, ...lines.map((r) => `     ${r.text}`)]);
  return out;
}

/** keepalived's read timeout (the instance's next advert or master-down deadline) as wall-clock time. */
export function readTimeoutText(timers: TimerTable, host: HostFacts): string {
  const next = earliestTimer({ ...timers, garpDelay: null, garpRefresh: null, garpLowerPrio: null });
  if (next === null) return 'DISABLED';
  const wallUs = Math.round(host.nowS * 1e6 + (next.atUs - host.monoNowUs));
  const whole = Math.floor(wallUs / 1e6);
  const us = String(wallUs - whole * 1e6).padStart(6, '0');
  const d = ctimeText(whole).split(' ');
  // ctime_us: "Www Mmm dd hh:mm:ss.micros yyyy"
  const year = d.pop();
  return `${whole}.${us} (${d.join(' ')}.${us} ${year})`;
}

/** An interface's GARP delay lines: its group's intervals in ms, and the group when not 0. */
function garpLines(d: GarpDelay | undefined): string[] {
  if (!d) return [];
  return [
    ...(d.garpUs !== undefined ? [`   Gratuitous ARP interval ${Math.floor(d.garpUs / 1000)}ms`] : []),
    ...(d.gnaUs !== undefined ? [`   Gratuitous NA interval ${Math.floor(d.gnaUs / 1000)}ms`] : []),
    ...(d.group !== 0 ? [`   Gratuitous ARP aggregation group ${d.group}`] : []),
  ];
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime's "Www Mmm dd hh:mm:ss yyyy" (local time). */
export function ctimeText(wholeS: number): string {
  const d = new Date(wholeS * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`
  );
}

/** "SECONDS.MICROS (Www Mmm dd hh:mm:ss yyyy.MICROS)", as keepalived writes the forwarding check time. */
function forwardingTime(s: number): string {
  const whole = Math.floor(s);
  const us = String(Math.round((s - whole) * 1e6) % 1e6).padStart(6, '0');
  return `${whole}.${us} (${ctimeText(whole)}.${us})`;
}
