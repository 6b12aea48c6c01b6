// The config model → engine parameters mapping (src/daemon/engine-plan/build.ts), on real config files run
// through the real loader and validator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEnginePlan } from '../../src/daemon/engine-plan/build.js';
import { type HostAddressing, socketKeyString } from '../../src/daemon/engine-plan/types.js';
import { AuthType } from '../../src/vrrp/advert.js';
import { configLoader } from '../helpers/config-text.js';

const load = configLoader('kats-engcfg-', ['lo', 'eth0', 'eth1']);

const host: HostAddressing = {
  defaultSource: (ifname, family) =>
    ifname === 'eth0'
      ? family === 4
        ? '192.0.2.1'
        : 'fe80::1'
      : ifname === 'eth1'
        ? '198.51.100.1'
        : undefined,
};

function plan(text: string, h: HostAddressing = host) {
  const { config, diag } = load(text);
  return { plan: buildEnginePlan(config, h), diag };
}

test('global_defs defaults flow into instance parameters; instance keywords override them', () => {
  const { plan: p } = plan(`
global_defs {
  vrrp_version 3
  vrrp_garp_master_delay 2
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 10
  vrrp_lower_prio_no_advert
  vrrp_higher_prio_send_advert
  vrrp_mcast_group4 224.0.0.19
  vrrp_startup_delay 1.5
}
vrrp_instance A {
  interface eth0
  virtual_router_id 7
  priority 120
  advert_int 0.25
  virtual_ipaddress { 192.0.2.100/24 dev eth1 label eth1:v }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 8
  state MASTER
  garp_master_repeat 9
  lower_prio_no_advert false
  virtual_ipaddress { 192.0.2.101 }
}
`);
  assert.deepEqual(p.errors, []);
  assert.equal(p.startupDelayUs, 1_500_000);
  const [a, b] = p.engine.instances;
  assert.ok(a && b);
  assert.equal(a.version, 3);
  assert.equal(a.advertIntervalCs, 25);
  assert.equal(a.basePriority, 120);
  assert.equal(a.primaryAddress, '192.0.2.1');
  assert.equal(a.garpMasterDelayUs, 2_000_000);
  assert.equal(a.garpMasterRepeat, 3);
  assert.equal(a.garpMasterRefreshUs, 10_000_000);
  // man5: garp_lower_prio_* default to the garp_master_* values.
  assert.equal(a.garpLowerPrioDelayUs, 2_000_000);
  assert.equal(a.garpLowerPrioRepeat, 3);
  assert.equal(a.lowerPrioNoAdvert, true);
  assert.equal(a.higherPrioSendAdvert, true);
  assert.deepEqual(a.vips, [
    {
      address: '192.0.2.100',
      prefixLen: 24,
      dev: 'eth1',
      options: { family: 4, noDad: false, noTrack: false, label: 'eth1:v' },
    },
  ]);
  assert.equal(p.wiring.get('A')?.socket.group, '224.0.0.19');
  // state MASTER without priority is the address owner (keepalived vrrp_complete_instance).
  assert.equal(b.basePriority, 255);
  assert.equal(b.initialState, 'MASTER');
  assert.equal(b.garpMasterRepeat, 9);
  assert.equal(b.lowerPrioNoAdvert, false);
});

test('unicast peers, PASS auth (v2) and the receive policy', () => {
  const { plan: p } = plan(`
vrrp_instance U {
  interface eth0
  virtual_router_id 9
  unicast_src_ip 192.0.2.5
  unicast_peer {
    192.0.2.6 min_ttl 250
    192.0.2.7
  }
  check_unicast_src
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress { 192.0.2.102 }
}
`);
  assert.deepEqual(p.errors, []);
  const i = p.engine.instances[0]!;
  assert.equal(i.version, 2);
  assert.equal(i.advertIntervalCs, 100);
  assert.equal(i.primaryAddress, '192.0.2.5', 'unicast_src_ip wins over the interface address');
  assert.deepEqual(i.unicastPeers, ['192.0.2.6', '192.0.2.7']);
  const w = p.wiring.get('U')!;
  assert.equal(socketKeyString(w.socket), 'eth0/4/unicast');
  assert.equal(w.rxPolicy.authType, AuthType.pass);
  assert.equal(w.rxPolicy.authPassword, 's3cret');
  assert.equal(w.rxPolicy.unicast, true);
  assert.equal(w.rxPolicy.checkUnicastSrc, true);
  assert.equal(w.rxPolicy.withIpHeader, true);
  assert.deepEqual(w.rxPolicy.unicastPeers, [{ addr: '192.0.2.6', minTtl: 250 }, { addr: '192.0.2.7' }]);
  assert.equal(w.tx.authType, AuthType.pass);
});

test('IPv6 instances use v3, the link-local source, and the IPv6 group; v3 drops authentication', () => {
  const { plan: p } = plan(`
vrrp_instance S {
  interface eth0
  virtual_router_id 10
  authentication {
    auth_type PASS
    auth_pass x
  }
  virtual_ipaddress { 2001:db8::100/64 }
}
`);
  const i = p.engine.instances[0]!;
  assert.equal(i.family, 6);
  assert.equal(i.version, 3);
  assert.equal(i.primaryAddress, 'fe80::1');
  const w = p.wiring.get('S')!;
  assert.equal(socketKeyString(w.socket), 'eth0/6/mcast:ff02::12');
  assert.equal(w.rxPolicy.authType, AuthType.none);
  assert.equal(w.rxPolicy.withIpHeader, false);
});

test('track_interface weights, sync groups with their track_interface, notify scripts and FIFOs', () => {
  const { plan: p } = plan(`
global_defs {
  notify_fifo /tmp/f1
  notify_fifo_script "/bin/reader x"
  vrrp_notify_fifo /tmp/f1
  vrrp_notify_fifo_script /bin/other
}
vrrp_sync_group G {
  group { A B }
  track_interface { eth1 weight -10 }
  notify_master "/bin/true group"
}
vrrp_instance A {
  interface eth0
  virtual_router_id 11
  track_interface {
    eth1
    lo weight 5
  }
  notify_master "/bin/echo a"
  notify /bin/true
  virtual_ipaddress { 192.0.2.103 }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 12
  virtual_ipaddress { 192.0.2.104 }
}
`);
  assert.deepEqual(p.errors, []);
  const [a, b] = p.engine.instances;
  assert.deepEqual(
    a!.trackers.map((t) => [t.name, t.kind, t.weight]),
    [
      ['eth1', 'interface', 0],
      // A sync-group member without sync_group_tracking_weight: keepalived 2.2.7 says "ignoring lo tracked
      // interface weight due to SYNC group" and lists weight 0, yet the weight applies (seen in a namespace:
      // docs/config-meaning.md), so it stays.
      ['lo', 'interface', 5],
    ],
    'instance entries first; the group entry for eth1 does not duplicate it',
  );
  assert.deepEqual(
    b!.trackers.map((t) => [t.name, t.weight]),
    [['eth1', -10]],
  );
  assert.deepEqual(p.engine.syncGroups, [{ name: 'G', members: ['A', 'B'], trackingWeight: false }]);
  assert.deepEqual(p.wiring.get('A')!.notify.master?.argv, ['/bin/echo', 'a']);
  assert.deepEqual(p.wiring.get('A')!.notify.generic?.argv, ['/bin/true']);
  assert.deepEqual(p.groupNotify.get('G')!.master?.argv, ['/bin/true', 'group']);
  assert.deepEqual(p.fifos.fifos, ['/tmp/f1']);
  // The same FIFO named twice is written and read once (the vrrp_ one is ignored, as keepalived does).
  assert.deepEqual(
    p.fifos.scripts.map((f) => [f.fifo, f.script.argv]),
    [['/tmp/f1', ['/bin/reader', 'x']]],
  );
});

test('an IPv6 instance without a link-local yet is planned unsourced, from :: (it starts in FAULT)', () => {
  const { plan: p } = plan(
    `
vrrp_instance V6 {
  interface eth1
  virtual_router_id 16
  virtual_ipaddress { 2001:db8::16/64 }
}
`,
    { defaultSource: () => undefined },
  );
  assert.deepEqual(p.errors, []);
  assert.equal(p.engine.instances[0]!.primaryAddress, '::');
  assert.equal(p.wiring.get('V6')!.unsourced, true);
});

test('an instance without a source address is planned unsourced (keepalived: FAULT); AH gets its own socket; nopreempt rules are applied', () => {
  const { plan: p } = plan(
    `
vrrp_instance NoSrc {
  interface eth1
  virtual_router_id 13
  virtual_ipaddress { 192.0.2.105 }
}
vrrp_instance Ah {
  interface eth0
  virtual_router_id 14
  authentication {
    auth_type AH
    auth_pass k
  }
  virtual_ipaddress { 192.0.2.106 }
}
vrrp_instance Np {
  interface eth0
  virtual_router_id 15
  priority 50
  nopreempt
  virtual_ipaddress { 192.0.2.107 }
}
`,
    { defaultSource: (ifname, family) => (ifname === 'eth0' && family === 4 ? '192.0.2.1' : undefined) },
  );
  assert.deepEqual(p.errors, []);
  assert.deepEqual(
    p.engine.instances.map((i) => [i.name, i.primaryAddress, p.wiring.get(i.name)!.unsourced]),
    [
      ['NoSrc', '0.0.0.0', true],
      ['Ah', '192.0.2.1', false],
      ['Np', '192.0.2.1', false],
    ],
  );
  // AH packets are IP protocol 51: the instance receives on a socket of its own (keepalived's sockpool too).
  assert.equal(p.wiring.get('Ah')!.socket.protocol, 51);
  assert.equal(p.wiring.get('Np')!.socket.protocol, 112);
  assert.equal(p.engine.instances[2]!.nopreempt, true);
});

test('parts keepalived-ts does not run yet are named in the warnings; static addresses are kept; track_bfd is a tracker', () => {
  const { plan: p } = plan(`
static_ipaddress {
  192.0.2.50/24 dev eth0
}
vrrp_script chk {
  script "/bin/true"
}
vrrp_track_process proc {
  process sshd
}
bfd_instance b {
  neighbor_ip 192.0.2.9
}
vrrp_instance V {
  interface eth0
  virtual_router_id 16
  track_script { chk }
  track_process { proc }
  track_bfd { b }
  virtual_ipaddress { 192.0.2.108 }
}
virtual_server 192.0.2.200 80 {
  real_server 192.0.2.201 80 {
  }
}
`);
  assert.deepEqual(p.errors, []);
  const text = p.warnings.join('\n');
  assert.doesNotMatch(text, /track_bfd/, 'track_bfd is run');
  // track_bfd: a tracker of kind bfd, Down until the BFD process reports the session Up (keepalived).
  const v = p.engine.instances.find((i) => i.name === 'V');
  assert.deepEqual(
    v?.trackers.find((t) => t.kind === 'bfd'),
    { name: 'b', kind: 'bfd', weight: 0, reverse: false, initialUp: false },
  );
  assert.doesNotMatch(text, /track_process/, 'track_process is run');
  assert.deepEqual(
    p.processes.map((x) => x.name),
    ['proc'],
  );
  assert.doesNotMatch(text, /virtual_server/, "virtual servers are the checker process's");
  assert.deepEqual(
    p.statics.addresses.map((a) => [a.address, a.prefixLen, a.dev]),
    [['192.0.2.50', 24, 'eth0']],
  );
  assert.doesNotMatch(text, /track_script/, 'track_script is run');
  assert.deepEqual(
    p.scripts.map((s) => s.name),
    ['chk'],
  );
});

test('trackers of different kinds may share a name: each is its own tracker (keepalived keeps one list per kind)', () => {
  const { plan: p } = plan(`
vrrp_script chk {
  script "/bin/true"
  weight -10
}
vrrp_track_process chk {
  process sshd
  weight -20
}
track_file chk {
  file /tmp/kats-never-there
}
bfd_instance chk {
  neighbor_ip 192.0.2.9
}
vrrp_instance V {
  interface eth0
  virtual_router_id 17
  track_interface { eth1 weight -5 }
  track_script { chk }
  track_process { chk }
  track_file { chk weight 3 }
  track_bfd { chk weight 7 }
  track_script { chk weight -99 }
  virtual_ipaddress { 192.0.2.109 }
}
`);
  assert.deepEqual(p.errors, []);
  const v = p.engine.instances.find((i) => i.name === 'V');
  // A repeat of the same kind and name is still dropped (the first wins).
  assert.deepEqual(
    v?.trackers.map((t) => [t.kind, t.name, t.weight]),
    [
      ['interface', 'eth1', -5],
      ['file', 'chk', 3],
      ['script', 'chk', -10],
      ['process', 'chk', -20],
      ['bfd', 'chk', 7],
    ],
  );
});

test('an address owner without `state` starts wanting MASTER (keepalived 2.2.7), others BACKUP', () => {
  const inst = (name: string, vrid: number, body: string) =>
    `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n${body}  virtual_ipaddress { 192.0.2.${vrid} }\n}\n`;
  const { plan: p } = plan(
    inst('O', 1, '  priority 255\n') +
      inst('B', 2, '  priority 100\n') +
      inst('S', 3, '  state BACKUP\n  priority 255\n'),
  );
  assert.deepEqual(
    p.engine.instances.map((i) => [i.name, i.initialState]),
    [
      ['O', 'MASTER'],
      ['B', 'BACKUP'],
      ['S', 'BACKUP'],
    ],
  );
});
