// A VIP deleted behind the master's back (keepalived 2.2.7, docs/hostile-network.md), on the simulated LAN:
// the master sends priority 0 and goes BACKUP with its down timer at its own Skew_Time; the backup (lower
// priority, so a longer Skew_Time) never takes over: the master is back first and the backup follows it.
// Link delay 100 µs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vrKey } from '../../src/sim/simulator.js';
import { masterDownIntervalUs, skewTimeUs } from '../../src/vrrp/timers.js';
import { DELAY, lan } from './lan.js';

const KEY = vrKey('lan', 4, 51);

test('VIP deleted on the master: back after its Skew_Time, before the backup would take over', () => {
  const sim = lan([
    ['a', 100, 1],
    ['b', 150, 2],
  ]);
  sim.run(10_000_000);
  const acts = sim.inject('b', {
    type: 'instance',
    instance: 'VI_1',
    event: { type: 'vipDeleted', address: '192.0.2.200' },
  });
  assert.ok(acts.some((x) => x.type === 'sendAdvert' && x.advert.priority === 0));
  assert.equal(sim.router('b').instance('VI_1').state, 'BACKUP');
  sim.run(20_000_000);
  const bBackUs = 10_000_000 + skewTimeUs(2, 150, 100);
  assert.equal(bBackUs, 10_414_062);
  // a's Skew_Time after the priority 0 would have ended at 10_609_475.
  assert.ok(bBackUs + DELAY < 10_000_000 + DELAY + skewTimeUs(2, 100, 100));
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'b', fromUs: masterDownIntervalUs(2, 150, 100, 3), toUs: 10_000_000 },
    { router: 'b', fromUs: bBackUs, toUs: null },
  ]);
  assert.deepEqual([...sim.router('b').vips.get('VI_1')!], ['192.0.2.200']);
  assert.deepEqual([...(sim.router('a').vips.get('VI_1') ?? [])], []);
  assert.deepEqual(sim.violations, []);
});
