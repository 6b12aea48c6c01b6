// VRRP timer arithmetic in integer microseconds (keepalived's TIMER_HZ unit), and the named timers an
// instance keeps. Never truncated to centiseconds or seconds: a priority-254 v2 skew is 7812 µs, which a
// centisecond or second unit would lose (holo-vrrp's `as u32` bug).
import { US_PER_CS, US_PER_S } from '../common/units.js';
import type { VrrpVersion } from './advert.js';

/** The timers one instance can have armed. Each is an absolute deadline in µs or unset. */
export type VrrpTimerName = 'masterDown' | 'advert' | 'garpDelay' | 'garpRefresh' | 'garpLowerPrio';
export const VRRP_TIMER_NAMES: readonly VrrpTimerName[] = [
  'masterDown',
  'advert',
  'garpDelay',
  'garpRefresh',
  'garpLowerPrio',
];

export function csToUs(cs: number): number {
  return cs * US_PER_CS;
}

/**
 * Skew_Time in µs.
 * v2 (RFC 3768 §6.1): (256 − Priority) / 256 seconds, independent of the advert interval.
 * v3 (RFC 9568 §6.1): ((256 − Priority) × Master_Adver_Interval) / 256.
 * Rounding: the exact value is a multiple of 1/256 µs; we floor it (integer division, as keepalived's
 * VRRP_TIMER_SKEW does in unsigned arithmetic). So v2 priority 100 → floor(156 × 1e6 / 256) = 609375 µs exactly,
 * v3 priority 100 at 100 cs → floor(156 × 1e6 / 256) = 609375 µs, v3 priority 254 at 1 cs → floor(2 × 1e4 / 256) = 78 µs.
 * `priority` is the effective priority (keepalived uses 255 for an owner).
 */
export function skewTimeUs(version: VrrpVersion, priority: number, masterAdverIntervalCs: number): number {
  const weight = 256 - priority;
  if (version === 2) return Math.floor((weight * US_PER_S) / 256);
  return Math.floor((weight * masterAdverIntervalCs * US_PER_CS) / 256);
}

/**
 * Master_Down_Interval in µs: down_timer_adverts × Master_Adver_Interval + Skew_Time (RFC 3768 §6.1 and
 * RFC 9568 §6.1 with 3; keepalived's `down_timer_adverts` makes the 3 configurable).
 */
export function masterDownIntervalUs(
  version: VrrpVersion,
  priority: number,
  masterAdverIntervalCs: number,
  downTimerAdverts: number,
): number {
  return (
    downTimerAdverts * masterAdverIntervalCs * US_PER_CS +
    skewTimeUs(version, priority, masterAdverIntervalCs)
  );
}

/** An instance's armed timers: absolute deadlines in µs, null when unset. */
export type TimerTable = Record<VrrpTimerName, number | null>;

export function emptyTimerTable(): TimerTable {
  return { masterDown: null, advert: null, garpDelay: null, garpRefresh: null, garpLowerPrio: null };
}

/** The earliest armed deadline (ties: the order of VRRP_TIMER_NAMES, so the result is deterministic). */
export function earliestTimer(table: TimerTable): { timer: VrrpTimerName; atUs: number } | null {
  let best: { timer: VrrpTimerName; atUs: number } | null = null;
  for (const timer of VRRP_TIMER_NAMES) {
    const atUs = table[timer];
    if (atUs !== null && (best === null || atUs < best.atUs)) best = { timer, atUs };
  }
  return best;
}
