// The daemon-facing engine (engine.ts): event fan-out, timer polling, parameter defaults/corrections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VrrpEngine } from '../../src/vrrp/engine.js';
import { instanceParams, resolveInstanceParams } from '../../src/vrrp/instance-params.js';

const p = (name: string, vrid: number, ifname: string, extra = {}) =>
  instanceParams({
    name,
    vrid,
    interface: ifname,
    primaryAddress: '192.0.2.10',
    basePriority: 100,
    ...extra,
  });

test('a link event reaches instances on that interface and instances tracking it', () => {
  const e = new VrrpEngine({
    instances: [
      p('A', 1, 'eth0'),
      p('B', 2, 'eth1', { trackers: [{ name: 'eth0', kind: 'interface', weight: -40, reverse: false }] }),
      p('C', 3, 'eth2'),
    ],
    syncGroups: [],
  });
  e.handle({ type: 'startAll' }, 0);
  e.handle({ type: 'link', ifname: 'eth0', up: false }, 10);
  assert.equal(e.instance('A')!.state, 'FAULT');
  assert.equal(e.instance('B')!.state, 'BACKUP');
  assert.equal(e.instance('B')!.effectivePriority, 60);
  assert.equal(e.instance('C')!.effectivePriority, 100);
  e.handle({ type: 'link', ifname: 'eth0', up: true }, 20);
  assert.equal(e.instance('A')!.state, 'BACKUP');
  assert.equal(e.instance('B')!.effectivePriority, 100);
});

test('named tracker events reach every instance that tracks the name, and no other', () => {
  const chk = { trackers: [{ name: 'chk', kind: 'script', weight: 0, reverse: false }] };
  const e = new VrrpEngine({ instances: [p('A', 1, 'eth0', chk), p('B', 2, 'eth0')], syncGroups: [] });
  e.handle({ type: 'startAll' }, 0);
  e.handle({ type: 'tracker', name: 'chk', up: false }, 5);
  assert.equal(e.instance('A')!.state, 'FAULT');
  assert.equal(e.instance('B')!.state, 'BACKUP');
});

test('nextDeadline is the earliest of all instances; handleTimers fires everything due in order', () => {
  const e = new VrrpEngine({
    instances: [p('low', 1, 'eth0', { basePriority: 50 }), p('high', 2, 'eth0', { basePriority: 200 })],
    syncGroups: [],
  });
  e.handle({ type: 'startAll' }, 0);
  // 3 s + skew: 200 → 218750, 50 → 804687.
  assert.deepEqual(e.nextDeadline(), { instance: 'high', timer: 'masterDown', atUs: 3_218_750 });
  assert.deepEqual(e.handleTimers(3_218_749), []);
  const acts = e.handleTimers(3_900_000);
  const masters = acts.flatMap((a) => (a.type === 'stateChange' && a.to === 'MASTER' ? [a.instance] : []));
  assert.deepEqual(masters, ['high', 'low']);
  // Timers fired late run at the caller's `now`: both advert timers are re-armed from 3.9 s (ties: list order).
  assert.deepEqual(e.nextDeadline(), { instance: 'low', timer: 'advert', atUs: 4_900_000 });
});

test('events for unknown instances are ignored; bad configurations throw at construction', () => {
  const e = new VrrpEngine({ instances: [p('A', 1, 'eth0')], syncGroups: [] });
  assert.deepEqual(e.handle({ type: 'instance', instance: 'nope', event: { type: 'start' } }, 0), []);
  assert.throws(
    () => new VrrpEngine({ instances: [p('A', 1, 'e'), p('A', 2, 'e')], syncGroups: [] }),
    RangeError,
  );
  assert.throws(
    () => new VrrpEngine({ instances: [p('A', 1, 'e')], syncGroups: [{ name: 'G', members: ['A', 'B'] }] }),
    RangeError,
  );
});

test('keepalived config corrections: nopreempt dropped for owners and state MASTER, preempt_delay for MASTER', () => {
  const owner = resolveInstanceParams({
    name: 'o',
    vrid: 1,
    primaryAddress: '192.0.2.1',
    basePriority: 255,
    nopreempt: true,
  });
  assert.equal(owner.params.nopreempt, false);
  assert.equal(owner.notes.length, 1);
  const m = resolveInstanceParams({
    name: 'm',
    vrid: 1,
    primaryAddress: '192.0.2.1',
    initialState: 'MASTER',
    nopreempt: true,
    preemptDelayUs: 5,
  });
  assert.equal(m.params.nopreempt, false);
  assert.equal(m.params.preemptDelayUs, 0);
  assert.equal(m.notes.length, 2);
  const v6 = resolveInstanceParams({ name: 'x', vrid: 1, primaryAddress: 'fe80::1', family: 6, version: 2 });
  assert.equal(v6.params.version, 3, 'IPv6 forces VRRPv3');
});

test('stats: becoming master and releasing it are counted', () => {
  const e = new VrrpEngine({ instances: [p('A', 1, 'eth0')], syncGroups: [] });
  e.handle({ type: 'startAll' }, 0);
  const up = e.handleTimers(3_609_375);
  assert.deepEqual(
    up.filter((a) => a.type === 'stat').map((a) => a.type === 'stat' && a.counter),
    ['SentAdvertisements', 'BecomeMaster'],
  );
  const down = e.handle({ type: 'shutdownAll' }, 4_000_000);
  assert.deepEqual(
    down.filter((a) => a.type === 'stat').map((a) => a.type === 'stat' && a.counter),
    ['SentAdvertisements', 'SentPriZeroPackets', 'ReleasedMaster'],
  );
});
