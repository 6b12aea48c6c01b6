// The engine keeps its instances' deadlines in a heap (lazy deletion) instead of scanning every instance on
// each call. Property: after any sequence of inputs — adverts of any priority, timers, link and tracker
// changes, instances added and removed, sync groups — nextDeadline() is exactly what a scan of every
// instance in instance order gives (earliest time; ties to the earlier instance, then timer order).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AuthType } from '../../src/vrrp/advert.js';
import { type EngineEvent, VrrpEngine } from '../../src/vrrp/engine.js';
import { instanceParams } from '../../src/vrrp/instance-params.js';

const vi = (k: number, prio: number, group = false) =>
  instanceParams({
    name: `VI_${k}`,
    vrid: k,
    basePriority: prio,
    primaryAddress: '192.0.2.10',
    interface: k % 2 === 0 ? 'eth0' : 'eth1',
    vips: [{ address: `198.51.100.${k}`, prefixLen: 32 }],
    trackers: group ? [] : [{ name: 'w', kind: 'script', weight: 20, reverse: false }],
  });

const advert = (vrid: number, priority: number, intervalCs: number): EngineEvent => ({
  type: 'instance',
  instance: `VI_${vrid}`,
  event: {
    type: 'advertRx',
    advert: {
      version: 2,
      type: 1,
      vrid,
      priority,
      advertIntervalCs: intervalCs,
      authType: AuthType.none,
      authDataHex: '',
      addresses: [],
      checksum: 0,
    },
    meta: { family: 4, srcAddr: '192.0.2.20', dstAddr: '224.0.0.18', ttl: 255, ifindex: 1 },
  },
});

function scan(e: VrrpEngine) {
  let best: { instance: string; timer: string; atUs: number } | null = null;
  for (const inst of e.instances()) {
    const d = inst.nextDeadline();
    if (d && (best === null || d.atUs < best.atUs)) best = { instance: inst.name, ...d };
  }
  return best;
}

const N = 8;
const step = fc.oneof(
  fc.record({
    kind: fc.constant('advert' as const),
    k: fc.integer({ min: 1, max: N }),
    prio: fc.integer({ min: 0, max: 255 }),
    cs: fc.constantFrom(100, 10, 1),
  }),
  fc.record({ kind: fc.constant('time' as const), dtUs: fc.integer({ min: 0, max: 4_000_000 }) }),
  fc.record({ kind: fc.constant('link' as const), dev: fc.constantFrom('eth0', 'eth1'), up: fc.boolean() }),
  fc.record({ kind: fc.constant('tracker' as const), up: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), k: fc.integer({ min: 1, max: N }) }),
  fc.record({
    kind: fc.constant('add' as const),
    k: fc.integer({ min: 1, max: N }),
    prio: fc.integer({ min: 1, max: 254 }),
  }),
);

test('nextDeadline equals a scan of every instance after any inputs', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120, size: 'max' }), fc.boolean(), (steps, grouped) => {
      const instances = Array.from({ length: N }, (_, k) => vi(k + 1, 50 + 20 * k, grouped && k < 2));
      const e = new VrrpEngine({
        instances,
        syncGroups: grouped ? [{ name: 'G', members: ['VI_1', 'VI_2'] }] : [],
      });
      let now = 0;
      e.handle({ type: 'startAll' }, now);
      assert.deepEqual(e.nextDeadline(), scan(e));
      for (const s of steps) {
        if (s.kind === 'advert') e.handle(advert(s.k, s.prio, s.cs), now);
        else if (s.kind === 'time') {
          now += s.dtUs;
          e.handleTimers(now);
        } else if (s.kind === 'link') e.handle({ type: 'link', ifname: s.dev, up: s.up }, now);
        else if (s.kind === 'tracker')
          e.handle({ type: 'tracker', kind: 'script', name: 'w', up: s.up }, now);
        else if (s.kind === 'remove')
          e.handle({ type: 'removeInstance', instance: `VI_${s.k}`, notifyDeleted: false }, now);
        else {
          e.handle({ type: 'addInstance', params: vi(s.k, s.prio) }, now);
          e.handle({ type: 'instance', instance: `VI_${s.k}`, event: { type: 'start' } }, now);
        }
        assert.deepEqual(e.nextDeadline(), scan(e));
        // Nothing due is left behind by handleTimers.
        const d = e.nextDeadline();
        if (s.kind === 'time') assert.ok(d === null || d.atUs > now);
      }
    }),
    { numRuns: 300 },
  );
});
