// Effective priority from trackers (keepalived's, docs/keepalived-semantics.md 'Priorities and trackers'):
//   total = base + Σ adjustments, effective = clamp(total, 1, 254); an owner (base 255) is never adjusted.
//   weight 0:  tracker KO ⇒ FAULT (no priority change).
//   weight > 0: +weight while OK.      weight < 0: −|weight| while KO.
//   reverse:   weight 0: FAULT while OK instead of while KO. Weighted: the contribution above is negated
//              (keepalived 2.2.7 multiplies it by −1: weight 5 reverse gives −5 while OK, weight −10
//              reverse gives +10 while KO; docs/config-meaning.md).
//   track_file: value × weight is added (negated by reverse); weight 0 ⇒ any non-zero value is a fault;
//               an adjustment below −253 is a fault.
// RFC 3768/9568 have no trackers; this is keepalived's extension.
import { PRIORITY_OWNER } from './advert.js';

export type TrackerKind = 'interface' | 'script' | 'file' | 'process' | 'bfd';

export interface TrackerDef {
  /** Interface name, vrrp_script name, track_file name… (the name tracker events carry). */
  name: string;
  kind: TrackerKind;
  /** −254..254 (keepalived's per-kind ranges are checked by the config layer). */
  weight: number;
  reverse: boolean;
  /** State before the first tracker event: up/OK by default (keepalived `init_fail` starts KO). */
  initialUp?: boolean;
  /** track_file: value before the first reading (keepalived `init_file`, default 0). */
  initialValue?: number;
  /**
   * Tracked because the instance puts an address there (a VIP's `dev`), not because the configuration says
   * track_interface: keepalived follows such an interface with weight 0 but does not list it as tracked.
   */
  implicit?: boolean;
  /**
   * The weight applies even on a sync-group member that ignores tracking weights: keepalived 2.2.7 says it
   * ignores a member's weighted tracked interface, yet applies its weight (docs/config-meaning.md).
   */
  weightInSyncGroup?: boolean;
}

/**
 * Tracker names are per kind (keepalived keeps one list per kind): a vrrp_script `chk` and a bfd_instance
 * `chk` are two trackers. Readings and events are keyed by kind and name together.
 */
export function trackerKey(kind: TrackerKind, name: string): string {
  return `${kind}:${name}`;
}

/** The latest reading of a tracker: up/down for most kinds, a number for track_file. */
export type TrackerReading = { up: boolean } | { value: number };

export const MIN_EFFECTIVE_PRIORITY = 1;
export const MAX_EFFECTIVE_PRIORITY = 254;
/** A track_file adjustment below this puts the instance in FAULT (man5 track_file). */
export const FILE_FAULT_BELOW = -253;

export function initialReading(def: TrackerDef): TrackerReading {
  if (def.kind === 'file') return { value: def.initialValue ?? 0 };
  return { up: def.initialUp ?? true };
}

export interface TrackerEffect {
  fault: boolean;
  delta: number;
}

/** What one tracker contributes, given its current reading. */
export function trackerEffect(def: TrackerDef, reading: TrackerReading): TrackerEffect {
  if ('value' in reading) {
    const sign = def.reverse ? -1 : 1;
    if (def.weight === 0) return { fault: reading.value !== 0, delta: 0 };
    const delta = reading.value * def.weight * sign;
    return delta < FILE_FAULT_BELOW ? { fault: true, delta: 0 } : { fault: false, delta };
  }
  if (def.weight === 0) return { fault: reading.up === def.reverse, delta: 0 };
  const sign = def.reverse ? -1 : 1;
  if (def.weight > 0) return { fault: false, delta: reading.up ? def.weight * sign : 0 };
  return { fault: false, delta: reading.up ? 0 : def.weight * sign };
}

export interface PriorityResult {
  /** Priority to advertise and use for skew/comparisons. */
  effective: number;
  /** Some weight-0 (or file) tracker demands FAULT. */
  trackerFault: boolean;
}

/**
 * Effective priority. `ignoreWeights` drops weighted trackers (keepalived ignores them on sync-group members
 * unless `sync_group_tracking_weight`); weight-0 faults still apply.
 */
export function computePriority(
  basePriority: number,
  defs: readonly TrackerDef[],
  /** By trackerKey(kind, name). */
  readings: ReadonlyMap<string, TrackerReading>,
  ignoreWeights = false,
): PriorityResult {
  let total = basePriority;
  let trackerFault = false;
  for (const def of defs) {
    const reading = readings.get(trackerKey(def.kind, def.name)) ?? initialReading(def);
    const effect = trackerEffect(def, reading);
    if (effect.fault) trackerFault = true;
    if (!ignoreWeights || def.weightInSyncGroup) total += effect.delta;
  }
  // The owner keeps 255 whatever its trackers say (trackers can neither lower nor raise to 255).
  if (basePriority === PRIORITY_OWNER) return { effective: PRIORITY_OWNER, trackerFault };
  const effective = Math.min(MAX_EFFECTIVE_PRIORITY, Math.max(MIN_EFFECTIVE_PRIORITY, total));
  return { effective, trackerFault };
}
