// The daemon-facing engine (engine.ts): event fan-out, timer polling, parameter defaults/corrections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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
  e.handle({ type: 'tracker', kind: 'script', name: 'chk', up: false }, 5);
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

// Tracker names are per kind (keepalived keeps one list per kind): a track_interface, vrrp_script,
// track_process, bfd_instance and track_file all called `chk` are five trackers, each moving the priority by
// its own reading only.
test('property: trackers of different kinds with one name move the priority independently', () => {
  const weights = { interface: -3, script: -10, process: -40, bfd: 20, file: 1 } as const;
  const kinds = ['interface', 'script', 'process', 'bfd'] as const;
  const trackers = [
    ...kinds.map((kind) => ({ name: 'chk', kind, weight: weights[kind], reverse: false })),
    { name: 'chk', kind: 'file' as const, weight: weights.file, reverse: false },
  ];
  const step = fc.oneof(
    fc.record({ kind: fc.constantFrom(...kinds), up: fc.boolean() }),
    fc.record({ kind: fc.constant('file' as const), value: fc.integer({ min: -5, max: 5 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 30, size: 'max' }), (steps) => {
      const e = new VrrpEngine({ instances: [p('A', 1, 'eth0', { trackers })], syncGroups: [] });
      e.handle({ type: 'startAll' }, 0);
      // What each tracker reads now: every kind starts up (bfd included here: no initialUp), the file at 0.
      const up = { interface: true, script: true, process: true, bfd: true };
      let value = 0;
      let now = 1;
      for (const s of steps) {
        if ('up' in s) {
          e.handle({ type: 'tracker', kind: s.kind, name: 'chk', up: s.up }, now++);
          up[s.kind] = s.up;
        } else {
          e.handle({ type: 'trackerValue', name: 'chk', value: s.value }, now++);
          value = s.value;
        }
        let want = 100 + value * weights.file;
        for (const k of kinds) {
          const w = weights[k];
          if (w > 0 && up[k]) want += w;
          if (w < 0 && !up[k]) want += w;
        }
        assert.equal(e.instance('A')!.effectivePriority, want);
      }
    }),
    { numRuns: 200 },
  );
});

test('a tracker event reaches only instances tracking that kind under that name', () => {
  const e = new VrrpEngine({
    instances: [
      p('S', 1, 'eth0', { trackers: [{ name: 'chk', kind: 'script', weight: 0, reverse: false }] }),
      p('B', 2, 'eth0', { trackers: [{ name: 'chk', kind: 'bfd', weight: 0, reverse: false }] }),
      p('I', 3, 'eth0', { trackers: [{ name: 'chk', kind: 'interface', weight: 0, reverse: false }] }),
    ],
    syncGroups: [],
  });
  e.handle({ type: 'startAll' }, 0);
  e.handle({ type: 'tracker', kind: 'bfd', name: 'chk', up: false }, 5);
  assert.deepEqual(
    ['S', 'B', 'I'].map((n) => e.instance(n)!.state),
    ['BACKUP', 'FAULT', 'BACKUP'],
  );
  e.handle({ type: 'link', ifname: 'chk', up: false }, 6);
  assert.deepEqual(
    ['S', 'B', 'I'].map((n) => e.instance(n)!.state),
    ['BACKUP', 'FAULT', 'FAULT'],
  );
});
