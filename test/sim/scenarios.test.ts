// Multi-router scenarios on the simulator, each rule timed to the microsecond against the RFC formulas.
// Packets cross the LAN through the real codec (encodeAdvert → validateAdvert). Link delay is 100 µs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator, vrKey } from '../../src/sim/simulator.js';
import { masterDownIntervalUs, skewTimeUs } from '../../src/vrrp/timers.js';
import { DELAY, lan } from './lan.js';

const KEY = vrKey('lan', 4, 51);
const mdi2 = (p: number) => masterDownIntervalUs(2, p, 100, 3);
const last = (sim: Simulator, key = KEY) => sim.masterLog.intervals(key).at(-1);

test('startup election: the highest priority becomes master after its own Master_Down_Interval', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 150, 2],
    ['c', 120, 3],
  ]);
  sim.run(20_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [{ router: 'b', fromUs: mdi2(150), toUs: null }]);
  assert.equal(mdi2(150), 3_414_062);
  assert.equal(sim.router('a').instance('VI_1').state, 'BACKUP');
  assert.deepEqual([...sim.router('b').vips.get('VI_1')!], ['192.0.2.200']);
  assert.deepEqual(sim.violations, []);
});

test('equal priorities starting together: both expire at once, the lower address yields one delay later', () => {
  const sim = lan([
    ['low', 100, 5],
    ['high', 100, 9],
  ]);
  sim.run(10_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'low', fromUs: mdi2(100), toUs: mdi2(100) + DELAY },
    { router: 'high', fromUs: mdi2(100), toUs: null },
  ]);
});

test('graceful stop: the best backup takes over Skew_Time after receiving priority 0', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 200, 2],
    ['c', 150, 3],
  ]);
  sim.at(10_000_000, { op: 'shutdown', router: 'b' });
  sim.run(20_000_000);
  assert.deepEqual(last(sim), {
    router: 'c',
    fromUs: 10_000_000 + DELAY + skewTimeUs(2, 150, 100),
    toUs: null,
  });
  assert.equal(skewTimeUs(2, 150, 100), 414_062);
});

test('crash (no priority 0): the backup waits Master_Down_Interval after the last advert', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 200, 2],
  ]);
  sim.at(10_500_000, { op: 'crash', router: 'b' });
  sim.run(20_000_000);
  // b master at mdi(200) = 3218750, adverts each second; the last before 10.5 s at 10218750.
  assert.deepEqual(last(sim), { router: 'a', fromUs: 10_218_750 + DELAY + mdi2(100), toUs: null });
});

test('preemption: a higher priority joining later takes over after its own down timer', () => {
  const sim = lan(
    [
      ['a', 100, 1],
      ['b', 200, 2],
    ],
    { start: null },
  );
  sim.at(0, { op: 'start', router: 'a' });
  sim.at(20_000_000, { op: 'start', router: 'b' });
  sim.run(40_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'a', fromUs: mdi2(100), toUs: 20_000_000 + mdi2(200) + DELAY },
    { router: 'b', fromUs: 20_000_000 + mdi2(200), toUs: null },
  ]);
});

test('nopreempt: a higher priority joining later stays BACKUP', () => {
  const sim = lan(
    [
      ['a', 100, 1],
      ['b', 200, 2, { nopreempt: true }],
    ],
    { start: null },
  );
  sim.at(0, { op: 'start', router: 'a' });
  sim.at(20_000_000, { op: 'start', router: 'b' });
  sim.run(60_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [{ router: 'a', fromUs: mdi2(100), toUs: null }]);
});

test('the address owner joining later goes master at once', () => {
  const sim = lan(
    [
      ['a', 100, 1],
      ['o', 255, 2, { initialState: 'MASTER' }],
    ],
    { start: null },
  );
  sim.at(0, { op: 'start', router: 'a' });
  sim.at(20_000_000, { op: 'start', router: 'o' });
  sim.run(30_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'a', fromUs: mdi2(100), toUs: 20_000_000 + DELAY },
    { router: 'o', fromUs: 20_000_000, toUs: null },
  ]);
});

test('the master lowering its priority below a backup is preempted after the backup down timer', () => {
  const sim = lan([
    ['a', 200, 1],
    ['b', 150, 2],
  ]);
  sim.at(10_500_000, { op: 'priority', router: 'a', instance: 'VI_1', priority: 100 });
  sim.run(20_000_000);
  // a adverts at 3218750 + k s. Last one b accepts: 10218750 (priority 200); 11218750 (100) is discarded.
  const takeOver = 10_218_750 + DELAY + mdi2(150);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'a', fromUs: mdi2(200), toUs: takeOver + DELAY },
    { router: 'b', fromUs: takeOver, toUs: null },
  ]);
});

test('master link down: priority 0 never leaves (link is down), so the backup waits the full down timer', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 200, 2],
  ]);
  sim.at(10_500_000, { op: 'linkDown', router: 'b', segment: 'lan' });
  sim.at(30_000_000, { op: 'linkUp', router: 'b', segment: 'lan' });
  sim.run(40_000_000);
  assert.equal(sim.router('b').instance('VI_1').state, 'MASTER');
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'b', fromUs: mdi2(200), toUs: 10_500_000 },
    { router: 'a', fromUs: 10_218_750 + DELAY + mdi2(100), toUs: 30_000_000 + mdi2(200) + DELAY },
    { router: 'b', fromUs: 30_000_000 + mdi2(200), toUs: null },
  ]);
});

test('weight-0 tracker failure on the master: priority 0 reaches the backup, which takes over after skew', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 200, 2, { trackers: [{ name: 'chk', kind: 'script', weight: 0, reverse: false }] }],
  ]);
  sim.at(10_500_000, { op: 'tracker', router: 'b', kind: 'script', name: 'chk', up: false });
  sim.run(12_000_000);
  assert.deepEqual(last(sim), {
    router: 'a',
    fromUs: 10_500_000 + DELAY + skewTimeUs(2, 100, 100),
    toUs: null,
  });
  assert.equal(sim.router('b').instance('VI_1').state, 'FAULT');
});

test('VRRPv3 at 10 ms adverts: election and graceful hand-over on the centisecond timers', () => {
  const v3 = { version: 3 as const, advertIntervalCs: 1 };
  const sim = lan([
    ['a', 100, 1, v3],
    ['b', 200, 2, v3],
  ]);
  const mdi = masterDownIntervalUs(3, 200, 1, 3);
  assert.equal(mdi, 32_187);
  sim.at(1_000_000, { op: 'shutdown', router: 'b' });
  sim.run(2_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'b', fromUs: mdi, toUs: 1_000_000 },
    { router: 'a', fromUs: 1_000_000 + DELAY + skewTimeUs(3, 100, 1), toUs: null },
  ]);
  assert.equal(skewTimeUs(3, 100, 1), 6_093);
});

test('v3 backups adopt the master interval carried on the wire', () => {
  const sim = lan([
    ['a', 100, 1, { version: 3, advertIntervalCs: 100 }],
    ['b', 200, 2, { version: 3, advertIntervalCs: 25 }],
  ]);
  sim.at(5_000_000, { op: 'crash', router: 'b' });
  sim.run(10_000_000);
  assert.equal(sim.router('a').instance('VI_1').state, 'MASTER');
  // b: master at 3 × 0.25 s + 56 × 250000/256 = 750000 + 54687 = 804687; adverts every 250 ms, last 4804687.
  const lastAdvert = 804_687 + 16 * 250_000;
  assert.deepEqual(last(sim), {
    router: 'a',
    fromUs: lastAdvert + DELAY + masterDownIntervalUs(3, 100, 25, 3),
    toUs: null,
  });
});

test('v2 with mismatched advert intervals: the packet layer drops them, so both become master', () => {
  const sim = lan([
    ['a', 100, 1, { advertIntervalCs: 100 }],
    ['b', 200, 2, { advertIntervalCs: 200 }],
  ]);
  sim.run(20_000_000);
  assert.deepEqual(sim.masterLog.currentMasters(KEY), ['a', 'b']);
  assert.ok(sim.counters.packetsDropped > 0);
});

test('partition: each side elects a master; after healing one master remains within one advert', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 200, 2],
  ]);
  sim.at(10_500_000, { op: 'partition', segment: 'lan', sides: [['a'], ['b']] });
  sim.at(30_000_000, { op: 'heal', segment: 'lan' });
  sim.run(40_000_000);
  const overlaps = sim.masterLog.overlaps(KEY, sim.nowUs);
  assert.equal(overlaps.length, 1);
  const o = overlaps[0]!;
  assert.equal(o.fromUs, 10_218_750 + DELAY + mdi2(100));
  assert.ok(o.toUs > 30_000_000 && o.toUs <= 30_000_000 + 1_000_000 + DELAY, `ended at ${o.toUs}`);
  assert.deepEqual(sim.masterLog.currentMasters(KEY), ['b']);
});

test('unicast peers: adverts go only to the configured peers, through the codec', () => {
  const uni = (peer: string) => ({ unicastPeers: [peer] });
  const sim = lan([
    ['a', 100, 1, uni('192.0.2.2')],
    ['b', 200, 2, uni('192.0.2.1')],
  ]);
  sim.at(10_000_000, { op: 'shutdown', router: 'b' });
  sim.run(12_000_000);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'b', fromUs: mdi2(200), toUs: 10_000_000 },
    { router: 'a', fromUs: 10_000_000 + DELAY + skewTimeUs(2, 100, 100), toUs: null },
  ]);
  assert.equal(sim.counters.packetsDropped, 0);
});

test('IPv6 (VRRPv3) election through the codec', () => {
  const sim = new Simulator({ seed: 3 });
  sim.addSegment('lan6', { delayUs: DELAY });
  for (const [id, prio, host] of [
    ['a', 100, 'a'],
    ['b', 120, 'b'],
  ] as const) {
    sim.addRouter({
      id,
      instances: [
        {
          name: 'VI_6',
          vrid: 9,
          family: 6,
          segment: 'lan6',
          basePriority: prio,
          primaryAddress: `fe80::${host}`,
          vips: [{ address: '2001:db8::1', prefixLen: 64 }],
        },
      ],
    });
  }
  sim.at(10_000_000, { op: 'shutdown', router: 'b' });
  sim.run(12_000_000);
  assert.deepEqual(sim.masterLog.intervals(vrKey('lan6', 6, 9)), [
    { router: 'b', fromUs: masterDownIntervalUs(3, 120, 100, 3), toUs: 10_000_000 },
    { router: 'a', fromUs: 10_000_000 + DELAY + skewTimeUs(3, 100, 100), toUs: null },
  ]);
  assert.equal(sim.counters.packetsDropped, 0);
});
