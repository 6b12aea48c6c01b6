// Election invariants over a simulator's live state. Each check returns problems as strings (empty = holds),
// so a property test can print them with the seed.
import type { IpFamily } from '../vrrp/advert.js';
import { compareAddresses } from '../vrrp/fsm-address.js';
import type { Simulator } from './simulator.js';

export interface Contender {
  router: string;
  instance: string;
  effectivePriority: number;
  address: string;
  nopreempt: boolean;
  family: IpFamily;
}

/** Instances that could be master of the virtual router `key` right now: alive, link up, not in FAULT. */
export function contenders(sim: Simulator, key: string): Contender[] {
  const out: Contender[] = [];
  for (const r of sim.routers()) {
    const name = r.instanceAt.get(key);
    if (name === undefined || !r.alive) continue;
    const seg = r.segmentOf.get(name)!;
    if (r.linkDown.has(seg)) continue;
    const inst = r.instance(name);
    if (inst.state === 'FAULT' || inst.state === 'STOP' || inst.state === 'INIT') continue;
    out.push({
      router: r.id,
      instance: name,
      effectivePriority: inst.effectivePriority,
      address: inst.params.primaryAddress,
      nopreempt: inst.params.nopreempt,
      family: inst.params.family,
    });
  }
  return out;
}

/**
 * In a stable network: exactly one master among the contenders, and no contender outranks it unless that
 * contender is nopreempt. Equal priorities are not ranked by address here: RFC 3768 §6.4.2 lets a backup accept
 * an equal-priority master ("greater than or equal"), so an incumbent keeps the role; the address tie-break only
 * decides between simultaneous masters (scenario test "equal priorities starting together").
 */
export function checkElection(sim: Simulator, key: string): string[] {
  const masters = sim.masterLog.currentMasters(key);
  const cs = contenders(sim, key);
  if (cs.length === 0) return masters.length === 0 ? [] : [`${key}: masters ${masters} but no contenders`];
  if (masters.length !== 1)
    return [`${key}: ${masters.length} masters (${masters.join(',')}) among ${cs.length}`];
  const m = cs.find((c) => c.router === masters[0]);
  if (!m) return [`${key}: master ${masters[0]} is not a contender`];
  const problems: string[] = [];
  for (const c of cs) {
    if (c === m || c.nopreempt) continue;
    if (c.effectivePriority > m.effectivePriority) {
      problems.push(
        `${key}: ${c.router} (${c.effectivePriority}) outranks master ${m.router} (${m.effectivePriority})`,
      );
    }
  }
  return problems;
}

/** The contender expected to win a fresh election: highest priority, then highest address. */
export function bestContender(cs: readonly Contender[]): Contender | null {
  let best: Contender | null = null;
  for (const c of cs) {
    if (
      best === null ||
      c.effectivePriority > best.effectivePriority ||
      (c.effectivePriority === best.effectivePriority &&
        compareAddresses(c.address, best.address, c.family) > 0)
    ) {
      best = c;
    }
  }
  return best;
}

/** Mastership changes (starts or ends) of `key` strictly after `fromUs`. */
export function transitionsAfter(sim: Simulator, key: string, fromUs: number): number {
  let n = 0;
  for (const iv of sim.masterLog.intervals(key)) {
    if (iv.fromUs > fromUs) n++;
    if (iv.toUs !== null && iv.toUs > fromUs) n++;
  }
  return n;
}
