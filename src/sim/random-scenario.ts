// Random VRRP topologies and chaos schedules for property tests, all drawn from one seed. A scenario is a
// chaos phase (loss, delay, jitter, duplication, reordering, partitions, link flaps, priority and tracker
// changes, crashes, restarts, graceful stops) followed by a stable phase (healed, lossless) in which the
// election invariants must hold.
import type { VrrpVersion } from '../vrrp/advert.js';
import { csToUs, masterDownIntervalUs } from '../vrrp/timers.js';
import { Prng } from './prng.js';
import { type LinkConditions, type SimOp, type SimRouterSpec, Simulator } from './simulator.js';

export interface RandomScenario {
  seed: number;
  version: VrrpVersion;
  advertIntervalCs: number;
  vrids: number[];
  routers: SimRouterSpec[];
  /** Conditions during the chaos phase. */
  chaos: LinkConditions;
  /** Conditions from `stableFromUs` on: no loss. */
  stable: LinkConditions;
  ops: Array<{ atUs: number; op: SimOp }>;
  stableFromUs: number;
  /** Largest one-way delay a packet can see in the stable phase. */
  stableMaxDelayUs: number;
  /** Largest Master_Down_Interval of any instance (priority 1 skew). */
  maxMasterDownUs: number;
}

export const SEGMENT = 'lan';
const PRIORITY_CHOICES = [50, 100, 100, 150, 200, 200, 254];

export interface ScenarioOptions {
  /** Generate chaos ops (default true). */
  chaos?: boolean;
  maxRouters?: number;
}

export function randomScenario(seed: number, opts: ScenarioOptions = {}): RandomScenario {
  const r = new Prng(seed);
  const version: VrrpVersion = r.chance(0.5) ? 2 : 3;
  const advertIntervalCs = version === 2 ? 100 : r.pick([5, 10, 20, 50, 100]);
  const advUs = csToUs(advertIntervalCs);
  const nRouters = r.range(2, opts.maxRouters ?? 5);
  const vrids = r.chance(0.6) ? [1] : [1, 2];
  const ownerOf = new Map<number, number>();
  for (const vrid of vrids) if (r.chance(0.2)) ownerOf.set(vrid, r.int(nRouters));
  const routers: SimRouterSpec[] = [];
  for (let i = 0; i < nRouters; i++) {
    routers.push({
      id: `r${i + 1}`,
      instances: vrids.map((vrid) => {
        const owner = ownerOf.get(vrid) === i;
        const tracker = r.chance(0.4);
        return {
          name: `VI_${vrid}`,
          vrid,
          version,
          advertIntervalCs,
          segment: SEGMENT,
          basePriority: owner ? 255 : r.chance(0.2) ? r.range(1, 254) : r.pick(PRIORITY_CHOICES),
          initialState: owner ? ('MASTER' as const) : ('BACKUP' as const),
          nopreempt: !owner && r.chance(0.2),
          lowerPrioNoAdvert: r.chance(0.3),
          higherPrioSendAdvert: r.chance(0.3),
          primaryAddress: `192.0.2.${i + 1}`,
          vips: [{ address: `198.51.100.${vrid}`, prefixLen: 24 }],
          garpMasterRefreshUs: r.chance(0.2) ? 10 * advUs : 0,
          trackers: tracker
            ? [{ name: 'svc', kind: 'script' as const, weight: r.pick([0, -60, 30]), reverse: false }]
            : [],
        };
      }),
    });
  }
  const chaos: LinkConditions = {
    lossProb: r.pick([0, 0.05, 0.2, 0.5]),
    delayUs: r.range(20, 2_000),
    jitterUs: r.chance(0.5) ? r.int(Math.floor(advUs / 2)) : 0,
    dupProb: r.chance(0.3) ? 0.1 : 0,
    reorderProb: r.chance(0.3) ? 0.1 : 0,
    reorderDelayUs: Math.floor(advUs / 3),
  };
  const stable: LinkConditions = { ...chaos, lossProb: 0, reorderProb: 0 };
  const ops: Array<{ atUs: number; op: SimOp }> = [];
  const chaosEndUs = 30 * advUs;
  if (opts.chaos ?? true) {
    const ids = routers.map((x) => x.id);
    const nOps = r.range(2, 10);
    for (let k = 0; k < nOps; k++) {
      const atUs = r.int(chaosEndUs);
      const router = r.pick(ids);
      const kind = r.int(9);
      let op: SimOp;
      if (kind === 0) {
        const sides: string[][] = [[], []];
        for (const id of ids) sides[r.int(2)]!.push(id);
        op = { op: 'partition', segment: SEGMENT, sides };
      } else if (kind === 1) op = { op: 'heal', segment: SEGMENT };
      else if (kind === 2) op = { op: r.chance(0.5) ? 'linkDown' : 'linkUp', router, segment: SEGMENT };
      else if (kind === 3) {
        op = { op: 'priority', router, instance: `VI_${r.pick(vrids)}`, priority: r.pick(PRIORITY_CHOICES) };
      } else if (kind === 4) op = { op: 'tracker', router, kind: 'script', name: 'svc', up: r.chance(0.5) };
      else if (kind === 5) op = { op: 'crash', router };
      else if (kind === 6) op = { op: 'restart', router };
      else if (kind === 7) op = { op: 'shutdown', router };
      else op = { op: 'start', router };
      ops.push({ atUs, op });
    }
  }
  // The stable phase: healed, lossless. Routers stay in whatever state the chaos left them (down, stopped…).
  ops.push({ atUs: chaosEndUs, op: { op: 'heal', segment: SEGMENT } });
  ops.push({ atUs: chaosEndUs, op: { op: 'conditions', segment: SEGMENT, conditions: stable } });
  const stableMaxDelayUs = stable.delayUs + stable.jitterUs;
  return {
    seed,
    version,
    advertIntervalCs,
    vrids,
    routers,
    chaos,
    stable,
    ops,
    stableFromUs: chaosEndUs,
    stableMaxDelayUs,
    maxMasterDownUs: masterDownIntervalUs(version, 1, advertIntervalCs, 3),
  };
}

/** Largest delay any packet of the chaos phase can have. */
export function chaosMaxDelayUs(s: RandomScenario): number {
  return s.chaos.delayUs + s.chaos.jitterUs + (s.chaos.reorderProb > 0 ? s.chaos.reorderDelayUs : 0);
}

/** A simulator loaded with the scenario's segment, routers (all starting at 0) and ops. */
export function buildSimulation(
  s: RandomScenario,
  opts: { trace?: boolean; codec?: boolean } = {},
): Simulator {
  const sim = new Simulator({ seed: s.seed, trace: opts.trace ?? false, codec: opts.codec ?? true });
  sim.addSegment(SEGMENT, s.chaos);
  for (const spec of s.routers) sim.addRouter(spec, 0);
  for (const { atUs, op } of s.ops) sim.at(atUs, op);
  return sim;
}
