// vrrp_sync_group (docs/keepalived-semantics.md, 'Sync groups'): together to MASTER, together to BACKUP, one
// FAULT takes all, group notifies with priority 0. Checked on the engine alone and on two simulated routers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator, vrKey } from '../../src/sim/simulator.js';
import type { VrrpAction } from '../../src/vrrp/actions.js';
import { AuthType } from '../../src/vrrp/advert.js';
import { VrrpEngine } from '../../src/vrrp/engine.js';
import { instanceParams } from '../../src/vrrp/instance-params.js';

const vi = (name: string, vrid: number, prio: number, addr: string, ifname: string) =>
  instanceParams({
    name,
    vrid,
    basePriority: prio,
    primaryAddress: addr,
    interface: ifname,
    vips: [{ address: `198.51.100.${vrid}`, prefixLen: 32 }],
    trackers: [{ name: 'w', kind: 'script', weight: 50, reverse: false }],
  });

function engine(): VrrpEngine {
  return new VrrpEngine({
    instances: [vi('VI_1', 1, 100, '192.0.2.10', 'eth0'), vi('VI_2', 2, 100, '192.0.2.10', 'eth1')],
    syncGroups: [{ name: 'G', members: ['VI_1', 'VI_2'] }],
  });
}
const advert = (vrid: number, priority: number) => ({
  type: 'advertRx' as const,
  advert: {
    version: 2 as const,
    type: 1,
    vrid,
    priority,
    advertIntervalCs: 100,
    authType: AuthType.none,
    authDataHex: '',
    addresses: [],
    checksum: 0,
  },
  meta: { family: 4 as const, srcAddr: '192.0.2.20', dstAddr: '224.0.0.18', ttl: 255, ifindex: 1 },
});
const groupNotifies = (acts: VrrpAction[]) =>
  acts
    .filter((a) => a.type === 'notify' && a.scope === 'GROUP')
    .map((a) => a.type === 'notify' && `${a.state} ${a.priority}`);

test('members ignore weighted trackers unless sync_group_tracking_weight', () => {
  const e = engine();
  e.handle({ type: 'startAll' }, 0);
  assert.equal(e.instance('VI_1')!.effectivePriority, 100);
  const w = new VrrpEngine({
    instances: [vi('VI_1', 1, 100, '192.0.2.10', 'eth0'), vi('VI_2', 2, 100, '192.0.2.10', 'eth1')],
    syncGroups: [{ name: 'G', members: ['VI_1', 'VI_2'], trackingWeight: true }],
  });
  w.handle({ type: 'startAll' }, 0);
  assert.equal(w.instance('VI_1')!.effectivePriority, 150);
});

test('both members go MASTER together; the group notifies MASTER with priority 0', () => {
  const e = engine();
  const start = e.handle({ type: 'startAll' }, 0);
  assert.deepEqual(groupNotifies(start), ['BACKUP 0']);
  const acts = e.handleTimers(3_609_375);
  assert.equal(e.instance('VI_1')!.state, 'MASTER');
  assert.equal(e.instance('VI_2')!.state, 'MASTER');
  assert.deepEqual(groupNotifies(acts), ['MASTER 0']);
});

test('a member whose timer expires stays BACKUP while another member still hears its master', () => {
  const e = engine();
  e.handle({ type: 'startAll' }, 0);
  for (let t = 1_000_000; t <= 10_000_000; t += 1_000_000) {
    e.handleTimers(t);
    e.handle({ type: 'instance', instance: 'VI_1', event: advert(1, 200) }, t);
  }
  assert.equal(e.instance('VI_1')!.state, 'BACKUP');
  assert.equal(e.instance('VI_2')!.state, 'BACKUP', 'VI_2 wants MASTER but VI_1 does not');
  assert.equal(e.instance('VI_2')!.wantState, 'MASTER');
  // VI_1's master stops with priority 0: VI_1 takes over after its skew, and pulls VI_2 along.
  e.handle({ type: 'instance', instance: 'VI_1', event: advert(1, 0) }, 10_500_000);
  e.handleTimers(10_500_000 + 609_375);
  assert.equal(e.instance('VI_1')!.state, 'MASTER');
  assert.equal(e.instance('VI_2')!.state, 'MASTER');
});

test('one member going BACKUP takes the other masters along', () => {
  const e = engine();
  e.handle({ type: 'startAll' }, 0);
  e.handleTimers(3_609_375);
  const acts = e.handle({ type: 'instance', instance: 'VI_2', event: advert(2, 200) }, 4_000_000);
  assert.equal(e.instance('VI_1')!.state, 'BACKUP');
  assert.equal(e.instance('VI_2')!.state, 'BACKUP');
  assert.deepEqual(groupNotifies(acts), ['BACKUP 0']);
});

test('one member in FAULT takes the whole group to FAULT (masters send priority 0), and back', () => {
  const e = engine();
  e.handle({ type: 'startAll' }, 0);
  e.handleTimers(3_609_375);
  const acts = e.handle({ type: 'link', ifname: 'eth1', up: false }, 5_000_000);
  assert.equal(e.instance('VI_1')!.state, 'FAULT');
  assert.equal(e.instance('VI_2')!.state, 'FAULT');
  const prio0 = acts.flatMap((a) => (a.type === 'sendAdvert' && a.advert.priority === 0 ? [a.instance] : []));
  assert.deepEqual(prio0.sort(), ['VI_1', 'VI_2']);
  assert.deepEqual(groupNotifies(acts), ['FAULT 0']);
  const back = e.handle({ type: 'link', ifname: 'eth1', up: true }, 6_000_000);
  assert.equal(e.instance('VI_1')!.state, 'BACKUP');
  assert.equal(e.instance('VI_2')!.state, 'BACKUP');
  assert.deepEqual(groupNotifies(back), ['BACKUP 0']);
});

test('two routers: a link failure on one segment moves both VIPs to the other router', () => {
  const sim = new Simulator({ seed: 7 });
  const group = [{ name: 'G', members: ['VI_1', 'VI_2'] }];
  for (const [id, prio, host] of [
    ['r1', 200, 1],
    ['r2', 100, 2],
  ] as const) {
    sim.addRouter({
      id,
      syncGroups: group,
      instances: [
        { name: 'VI_1', vrid: 1, segment: 'lanA', basePriority: prio, primaryAddress: `192.0.2.${host}` },
        { name: 'VI_2', vrid: 2, segment: 'lanB', basePriority: prio, primaryAddress: `198.51.100.${host}` },
      ],
    });
  }
  sim.run(5_000_000);
  assert.deepEqual(sim.masterLog.currentMasters(vrKey('lanA', 4, 1)), ['r1']);
  assert.deepEqual(sim.masterLog.currentMasters(vrKey('lanB', 4, 2)), ['r1']);
  sim.at(10_000_000, { op: 'linkDown', router: 'r1', segment: 'lanB' });
  sim.run(14_000_000);
  // r1's VI_1 sent priority 0 on lanA, but r2's VI_1 may only go master once its group partner wants MASTER
  // too: r2's VI_2 hears nothing more on lanB after r1's last advert there (r1 became master at 3.21875 s,
  // adverts every second, last at 9.21875 s, received 100 µs later) and its down timer (3.609375 s) expires.
  const handOver = 9_218_750 + 100 + 3_609_375;
  assert.deepEqual(sim.masterLog.intervals(vrKey('lanA', 4, 1)).at(-1), {
    router: 'r2',
    fromUs: handOver,
    toUs: null,
  });
  assert.deepEqual(sim.masterLog.intervals(vrKey('lanB', 4, 2)).at(-1), {
    router: 'r2',
    fromUs: handOver,
    toUs: null,
  });
  sim.at(20_000_000, { op: 'linkUp', router: 'r1', segment: 'lanB' });
  sim.run(30_000_000);
  assert.deepEqual(sim.masterLog.currentMasters(vrKey('lanA', 4, 1)), ['r1']);
  assert.deepEqual(sim.masterLog.currentMasters(vrKey('lanB', 4, 2)), ['r1']);
  assert.deepEqual(sim.violations, []);
});

test("at start the group's notify comes after every member's, as keepalived 2.2.7 writes them", () => {
  const e = engine();
  // eth0 down before start: VI_1 starts in FAULT, and takes the group (and VI_2) with it.
  e.handle({ type: 'link', ifname: 'eth0', up: false }, 0);
  const out = e.handle({ type: 'startAll' }, 0);
  const order = out.flatMap((a) => (a.type === 'notify' ? [`${a.scope} ${a.name} ${a.state}`] : []));
  assert.deepEqual(order, ['INSTANCE VI_1 FAULT', 'INSTANCE VI_2 FAULT', 'GROUP G FAULT']);
});
