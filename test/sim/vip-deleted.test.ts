// A VIP deleted behind the master's back (notes §3.3), on the simulated LAN: the master sends priority 0 and
// goes BACKUP, the backup takes over Skew_Time after receiving it, and the old master (higher priority,
// preempting) takes the role back when its own down timer expires. Link delay 100 µs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator, vrKey } from '../../src/sim/simulator.js';
import { masterDownIntervalUs, skewTimeUs } from '../../src/vrrp/timers.js';

const DELAY = 100;
const KEY = vrKey('lan', 4, 51);

test('VIP deleted on the master: the backup takes over after Skew_Time, the master preempts back', () => {
  const sim = new Simulator({ seed: 1 });
  sim.addSegment('lan', { delayUs: DELAY });
  for (const [id, prio, host] of [
    ['a', 100, 1],
    ['b', 150, 2],
  ] as const) {
    sim.addRouter({
      id,
      instances: [
        {
          name: 'VI_1',
          vrid: 51,
          segment: 'lan',
          basePriority: prio,
          primaryAddress: `192.0.2.${host}`,
          vips: [{ address: '192.0.2.200', prefixLen: 24 }],
        },
      ],
    });
  }
  sim.run(10_000_000);
  const acts = sim.inject('b', {
    type: 'instance',
    instance: 'VI_1',
    event: { type: 'vipDeleted', address: '192.0.2.200' },
  });
  assert.ok(acts.some((x) => x.type === 'sendAdvert' && x.advert.priority === 0));
  assert.equal(sim.router('b').instance('VI_1').state, 'BACKUP');
  sim.run(20_000_000);
  const aMasterUs = 10_000_000 + DELAY + skewTimeUs(2, 100, 100);
  const bBackUs = 10_000_000 + masterDownIntervalUs(2, 150, 100, 3);
  assert.equal(aMasterUs, 10_609_475);
  assert.equal(bBackUs, 13_414_062);
  assert.deepEqual(sim.masterLog.intervals(KEY), [
    { router: 'b', fromUs: masterDownIntervalUs(2, 150, 100, 3), toUs: 10_000_000 },
    { router: 'a', fromUs: aMasterUs, toUs: bBackUs + DELAY },
    { router: 'b', fromUs: bBackUs, toUs: null },
  ]);
  assert.deepEqual([...sim.router('b').vips.get('VI_1')!], ['192.0.2.200']);
  assert.deepEqual([...(sim.router('a').vips.get('VI_1') ?? [])], []);
  assert.deepEqual(sim.violations, []);
});
