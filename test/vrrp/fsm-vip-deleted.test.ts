// A VIP deleted behind our back (keepalived 2.2.7, docs/hostile-network.md): a MASTER sends priority 0,
// removes its VIPs and goes BACKUP with its down timer at Skew_Time (not Master_Down_Interval), so that it is
// master again — VIPs back — after Skew_Time alone, and before a lower-priority backup (whose Skew_Time is
// longer) in a pair. `no_track` VIPs, unknown addresses and non-master states are left alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionTypes, findAction, InstanceDriver } from '../../src/sim/instance-driver.js';
import type { VrrpInstanceParamsInput } from '../../src/vrrp/instance-params.js';

const VIPS = [
  { address: '192.0.2.100', prefixLen: 24 },
  { address: '192.0.2.101', prefixLen: 24, options: { noTrack: true } },
];
const EXCLUDED = [{ address: '192.0.2.102', prefixLen: 24 }];

/** Priority 100, advert_int 1 s: Master_Down_Interval = 3 s + Skew_Time (156/256 s = 609375 µs). */
function master(over: Partial<VrrpInstanceParamsInput> = {}): InstanceDriver {
  const d = new InstanceDriver({
    name: 'VI_1',
    vrid: 51,
    primaryAddress: '192.0.2.10',
    vips: VIPS,
    excludedVips: EXCLUDED,
    basePriority: 100,
    ...over,
  });
  d.send({ type: 'start' }, 0);
  d.advanceTo(3_609_375);
  assert.equal(d.instance.state, 'MASTER');
  return d;
}

test('vipDeleted while MASTER: priority-0 advert, VIPs removed, BACKUP with the down timer at Skew_Time', () => {
  const d = master();
  const acts = d.send({ type: 'vipDeleted', address: '192.0.2.100' }, 5_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(d.instance.wantState, 'BACKUP');
  const sent = acts.filter((a) => a.type === 'sendAdvert');
  assert.equal(sent.length, 1);
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 0);
  assert.deepEqual(findAction(acts, 'removeVips')!.vips, [...VIPS, ...EXCLUDED]);
  // keepalived's order: the priority 0 goes out before the addresses are dropped.
  assert.ok(acts.findIndex((a) => a.type === 'sendAdvert') < acts.findIndex((a) => a.type === 'removeVips'));
  assert.ok(acts.some((a) => a.type === 'stat' && a.counter === 'SentPriZeroPackets'));
  assert.ok(acts.some((a) => a.type === 'stat' && a.counter === 'ReleasedMaster'));
  assert.deepEqual(findAction(acts, 'stateChange'), {
    type: 'stateChange',
    instance: 'VI_1',
    from: 'MASTER',
    to: 'BACKUP',
    reason: 'VIP 192.0.2.100 deleted',
  });
  assert.deepEqual(findAction(acts, 'notify'), {
    type: 'notify',
    scope: 'INSTANCE',
    name: 'VI_1',
    state: 'BACKUP',
    priority: 100,
  });
  assert.equal(d.instance.timerDeadline('advert'), null);
  assert.equal(d.instance.timerDeadline('masterDown'), 5_000_000 + 609_375);
});

test('vipDeleted: with nobody else advertising, MASTER again after Skew_Time, the VIPs re-added', () => {
  const d = master();
  d.send({ type: 'vipDeleted', address: '192.0.2.100' }, 5_000_000);
  assert.deepEqual(d.advanceTo(5_000_000 + 609_374), []);
  assert.equal(d.instance.state, 'BACKUP');
  const acts = d.advanceTo(5_000_000 + 609_375);
  assert.equal(d.instance.state, 'MASTER');
  assert.deepEqual(findAction(acts, 'addVips')!.vips, [...VIPS, ...EXCLUDED]);
});

test('vipDeleted of an excluded VIP counts like any tracked VIP', () => {
  const d = master();
  d.send({ type: 'vipDeleted', address: '192.0.2.102' }, 5_000_000);
  assert.equal(d.instance.state, 'BACKUP');
});

test('vipDeleted is ignored for a no_track VIP, an address that is not ours, and outside MASTER', () => {
  const d = master();
  assert.deepEqual(d.send({ type: 'vipDeleted', address: '192.0.2.101' }, 5_000_000), []);
  assert.deepEqual(d.send({ type: 'vipDeleted', address: '192.0.2.7' }, 5_000_000), []);
  assert.equal(d.instance.state, 'MASTER');
  const b = new InstanceDriver({ name: 'VI_1', vrid: 51, primaryAddress: '192.0.2.10', vips: VIPS });
  b.send({ type: 'start' }, 0);
  assert.equal(b.instance.state, 'BACKUP');
  assert.deepEqual(b.send({ type: 'vipDeleted', address: '192.0.2.100' }, 1_000_000), []);
  assert.equal(b.instance.timerDeadline('masterDown'), 3_609_375);
});

test('vipDeleted in a v3 instance with a 100 ms interval: down timer at Skew_Time of that interval', () => {
  const d = new InstanceDriver({
    name: 'VI_1',
    vrid: 51,
    version: 3,
    advertIntervalCs: 10,
    primaryAddress: '192.0.2.10',
    vips: VIPS,
    basePriority: 100,
  });
  d.send({ type: 'start' }, 0);
  // 3 × 100000 + 156 × 100000 / 256 (60937.5, truncated) = 360937
  d.advanceTo(360_937);
  assert.equal(d.instance.state, 'MASTER');
  const acts = d.send({ type: 'vipDeleted', address: '192.0.2.100' }, 1_000_000);
  assert.deepEqual(actionTypes(acts).slice(0, 2), ['sendAdvert', 'stat']);
  // 156 × 100000 / 256 = 60937.5, truncated.
  assert.equal(d.instance.timerDeadline('masterDown'), 1_000_000 + 60_937);
});

test('vipDeleted with a lower-priority backup: we take over again before its Skew_Time runs out', () => {
  const d = master({ basePriority: 200 });
  d.send({ type: 'vipDeleted', address: '192.0.2.100' }, 5_000_000);
  // The backup at priority 100 heard our priority 0 and arms its Skew_Time, 609375 µs; ours (200) is shorter.
  const ours = d.instance.timerDeadline('masterDown')!;
  assert.equal(ours, 5_000_000 + Math.floor((56 * 1_000_000) / 256));
  assert.ok(ours < 5_000_000 + 609_375);
  d.advanceTo(ours);
  assert.equal(d.instance.state, 'MASTER');
});
