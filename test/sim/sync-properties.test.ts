// Randomised sync-group properties: every router runs VI_1 on lanA and VI_2 on lanB in one vrrp_sync_group,
// with the same priority on both (a consistent configuration). After chaos on both segments (loss, partitions,
// link flaps, tracker faults, crashes), a stable network must give each VRID exactly one rightful master, and
// the members of each router's group must agree (both MASTER, both BACKUP or both FAULT). `SIM_SEED=<n>` replays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkElection } from '../../src/sim/invariants.js';
import { Prng } from '../../src/sim/prng.js';
import { type SimOp, Simulator, vrKey } from '../../src/sim/simulator.js';
import { csToUs, masterDownIntervalUs } from '../../src/vrrp/timers.js';

const only = process.env.SIM_SEED === undefined ? null : Number(process.env.SIM_SEED);
const SEGMENTS = ['lanA', 'lanB'] as const;

test('sync groups: one rightful master per VRID and agreeing group members once stable', () => {
  const seeds = only !== null ? [only] : Array.from({ length: 1500 }, (_, i) => 50_000 + i);
  for (const seed of seeds) {
    const r = new Prng(seed);
    const version = r.chance(0.5) ? (2 as const) : (3 as const);
    const advertIntervalCs = version === 2 ? 100 : r.pick([10, 20, 50]);
    const advUs = csToUs(advertIntervalCs);
    const sim = new Simulator({ seed });
    const chaos = {
      lossProb: r.pick([0, 0.1, 0.3]),
      delayUs: r.range(50, 1_000),
      jitterUs: r.int(advUs / 4),
    };
    for (const seg of SEGMENTS) sim.addSegment(seg, chaos);
    const n = r.range(2, 4);
    const ids: string[] = [];
    for (let i = 1; i <= n; i++) {
      const prio = r.pick([80, 120, 120, 160, 200]);
      const tracked = r.chance(0.3);
      const common = {
        version,
        advertIntervalCs,
        basePriority: prio,
        trackers: tracked ? [{ name: 'svc', kind: 'script' as const, weight: 0, reverse: false }] : [],
      };
      ids.push(`r${i}`);
      sim.addRouter({
        id: `r${i}`,
        syncGroups: [{ name: 'G', members: ['VI_1', 'VI_2'] }],
        instances: [
          { name: 'VI_1', vrid: 1, segment: 'lanA', primaryAddress: `192.0.2.${i}`, ...common },
          { name: 'VI_2', vrid: 2, segment: 'lanB', primaryAddress: `198.51.100.${i}`, ...common },
        ],
      });
    }
    const chaosEnd = 30 * advUs;
    for (let k = r.range(2, 8); k > 0; k--) {
      const router = r.pick(ids);
      const segment = r.pick(SEGMENTS);
      const ops: SimOp[] = [
        { op: 'partition', segment, sides: [ids.filter(() => r.chance(0.5)), []] },
        { op: 'heal', segment },
        { op: r.chance(0.5) ? 'linkDown' : 'linkUp', router, segment },
        { op: 'tracker', router, kind: 'script', name: 'svc', up: r.chance(0.5) },
        { op: 'crash', router },
        { op: 'restart', router },
        { op: 'shutdown', router },
      ];
      // The partition's second side is "everyone else".
      const op = r.pick(ops);
      if (op.op === 'partition') op.sides[1] = ids.filter((id) => !op.sides[0]!.includes(id));
      sim.at(r.int(chaosEnd), op);
    }
    for (const segment of SEGMENTS) {
      sim.at(chaosEnd, { op: 'heal', segment });
      sim.at(chaosEnd, { op: 'conditions', segment, conditions: { lossProb: 0 } });
    }
    // A member may have to wait for its partner's down timer too: two Master_Down_Intervals, plus delays.
    const mdi = masterDownIntervalUs(version, 1, advertIntervalCs, 3);
    const maxDelay = chaos.delayUs + chaos.jitterUs;
    const checkAt = chaosEnd + 2 * maxDelay + 2 * mdi + advUs + 1;
    sim.run(checkAt);
    const where = `seed ${seed} (v${version}, ${advertIntervalCs} cs, ${n} routers; SIM_SEED=${seed})`;
    for (const [seg, vrid] of [
      ['lanA', 1],
      ['lanB', 2],
    ] as const) {
      const problems = checkElection(sim, vrKey(seg, 4, vrid));
      assert.deepEqual(problems, [], `${where}: ${problems.join('; ')}`);
    }
    for (const router of sim.routers()) {
      if (!router.alive) continue;
      const a = router.instance('VI_1').state;
      const b = router.instance('VI_2').state;
      assert.equal(a, b, `${where}: ${router.id} group members disagree (${a} / ${b})`);
    }
    assert.deepEqual(sim.violations, [], where);
  }
});
