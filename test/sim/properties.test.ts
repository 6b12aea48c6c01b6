// Randomised properties over many seeds. Each seed builds a random topology and chaos schedule
// (src/sim/random-scenario.ts); a failure names its seed, and `SIM_SEED=<n>` runs just that one.
// Bounds used (all derived in the comments of each test):
//   settle = chaos max delay + max Master_Down_Interval + one advert + stable max delay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestContender, checkElection, contenders, transitionsAfter } from '../../src/sim/invariants.js';
import {
  buildSimulation,
  chaosMaxDelayUs,
  type RandomScenario,
  randomScenario,
  SEGMENT,
} from '../../src/sim/random-scenario.js';
import { vrKey } from '../../src/sim/simulator.js';
import { csToUs, skewTimeUs } from '../../src/vrrp/timers.js';

const only = process.env.SIM_SEED === undefined ? null : Number(process.env.SIM_SEED);
const seeds = (n: number, base: number) =>
  only !== null ? [only] : Array.from({ length: n }, (_, i) => base + i);
const keysOf = (s: RandomScenario) => s.vrids.map((v) => vrKey(SEGMENT, 4, v));
const where = (s: RandomScenario) =>
  `seed ${s.seed} (v${s.version}, ${s.advertIntervalCs} cs, ${s.routers.length} routers; replay with SIM_SEED=${s.seed})`;

test('after chaos, a stable network converges to exactly one rightful master and stays there', () => {
  let checked = 0;
  for (const seed of seeds(10_000, 1)) {
    const s = randomScenario(seed);
    const sim = buildSimulation(s);
    const advUs = csToUs(s.advertIntervalCs);
    // In-flight chaos packets land by stableFrom + chaosMaxDelay; a preempting backup's timer, last reset then at
    // the latest, expires within one Master_Down_Interval; its first advert reaches the old master one delay later.
    // "One advert" covers two simultaneous masters seeing each other's next advert.
    const checkAt = s.stableFromUs + chaosMaxDelayUs(s) + s.maxMasterDownUs + advUs + s.stableMaxDelayUs + 1;
    sim.run(checkAt);
    for (const key of keysOf(s)) {
      const problems = checkElection(sim, key);
      assert.deepEqual(problems, [], `${where(s)} at ${checkAt}: ${problems.join('; ')}`);
      if (contenders(sim, key).length > 0) checked++;
    }
    sim.run(checkAt + 3 * s.maxMasterDownUs);
    for (const key of keysOf(s)) {
      assert.equal(
        transitionsAfter(sim, key, checkAt),
        0,
        `${where(s)}: mastership changed while stable (${key})`,
      );
      assert.deepEqual(checkElection(sim, key), [], where(s));
    }
    assert.deepEqual(sim.violations, [], `${where(s)}: VIP added by a non-master`);
  }
  if (only === null) assert.ok(checked > 8000, `only ${checked} virtual routers had contenders`);
});

test('after a partition heals, two masters never coexist longer than one advert plus the link delay', () => {
  let overlapsSeen = 0;
  for (const seed of seeds(1500, 10_000)) {
    const base = randomScenario(seed, { chaos: false });
    // No loss at all: the rule is about the healing itself.
    const s: RandomScenario = { ...base, chaos: { ...base.chaos, lossProb: 0 } };
    const sim = buildSimulation(s);
    const advUs = csToUs(s.advertIntervalCs);
    const r = sim.prng.fork();
    const ids = s.routers.map((x) => x.id);
    const sides: string[][] = [[], []];
    for (const id of ids) sides[r.int(2)]!.push(id);
    const splitAt = s.maxMasterDownUs + r.int(5 * advUs);
    const healAt = splitAt + s.maxMasterDownUs + advUs + r.int(10 * advUs);
    sim.at(splitAt, { op: 'partition', segment: SEGMENT, sides });
    sim.at(healAt, { op: 'heal', segment: SEGMENT });
    const maxDelay = chaosMaxDelayUs(s);
    sim.run(healAt + 10 * advUs + s.maxMasterDownUs);
    for (const key of keysOf(s)) {
      for (const o of sim.masterLog.overlaps(key, sim.nowUs)) {
        if (o.toUs <= healAt) continue;
        overlapsSeen++;
        // The loser hears the winner's next advert at most one interval (+ its delay) after the heal.
        const limit = Math.max(o.fromUs, healAt) + advUs + maxDelay;
        assert.ok(
          o.toUs <= limit,
          `${where(s)}: ${o.routers} masters together until ${o.toUs} (> ${limit}), heal ${healAt}`,
        );
      }
      assert.deepEqual(checkElection(sim, key), [], where(s));
    }
    assert.deepEqual(sim.violations, [], where(s));
  }
  if (only === null)
    assert.ok(overlapsSeen > 300, `only ${overlapsSeen} split-brain episodes were exercised`);
});

test('a graceful stop hands over within Skew_Time of the priority-0 advert arriving', () => {
  let handovers = 0;
  for (const seed of seeds(1500, 20_000)) {
    const base = randomScenario(seed, { chaos: false });
    const s: RandomScenario = { ...base, chaos: { ...base.chaos, lossProb: 0, reorderProb: 0 } };
    const sim = buildSimulation(s);
    const advUs = csToUs(s.advertIntervalCs);
    const settled = s.maxMasterDownUs + 2 * advUs + chaosMaxDelayUs(s);
    sim.run(settled);
    const key = keysOf(s)[0]!;
    const [master] = sim.masterLog.currentMasters(key);
    assert.ok(master, `${where(s)}: no master after ${settled}`);
    const backups = contenders(sim, key).filter((c) => c.router !== master);
    // Stop between two adverts, after the previous advert has surely arrived everywhere: with jitter an older
    // advert could otherwise overtake the priority-0 one and legitimately re-arm a backup's full down timer.
    const maxDelay = chaosMaxDelayUs(s);
    const inst = sim.router(master).instance(`VI_${s.vrids[0]}`);
    sim.run(inst.timerDeadline('advert')!); // the master has just advertised
    const lastAdvertAt = sim.nowUs;
    const nextAdvertAt = inst.timerDeadline('advert')!;
    assert.ok(maxDelay + 2 < advUs, where(s));
    const stopAt = lastAdvertAt + maxDelay + 1 + sim.prng.fork().int(advUs - maxDelay - 2);
    assert.ok(stopAt < nextAdvertAt, where(s));
    sim.at(stopAt, { op: 'shutdown', router: master });
    const best = bestContender(backups);
    if (best === null) continue;
    // Every backup gets the priority-0 advert by stopAt + max delay and arms Skew_Time(own priority); the best
    // backup's skew is the smallest, so someone is master by then.
    const deadline =
      stopAt + chaosMaxDelayUs(s) + skewTimeUs(s.version, best.effectivePriority, s.advertIntervalCs);
    sim.run(deadline);
    const now = sim.masterLog.currentMasters(key);
    assert.ok(now.length >= 1 && !now.includes(master), `${where(s)}: no hand-over by ${deadline} (${now})`);
    handovers++;
    sim.run(deadline + s.maxMasterDownUs + advUs + chaosMaxDelayUs(s));
    assert.deepEqual(checkElection(sim, key), [], where(s));
    assert.deepEqual(sim.violations, [], where(s));
  }
  if (only === null) assert.ok(handovers > 1200, `only ${handovers} hand-overs`);
});
