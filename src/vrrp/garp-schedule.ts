// When a master sends gratuitous ARPs / unsolicited NAs (keepalived's schedule, docs/keepalived-semantics.md
// 'GARP and unsolicited NA'). Pure: returns the GARP action and the timer deadline to arm, if any.
//   becoming master: garp_master_repeat copies at once; a second block after garp_master_delay (0 = none);
//                    if garp_master_refresh > 0, garp_master_refresh_repeat copies every refresh interval.
//   lower-priority advert while master: garp_lower_prio_repeat copies at once, a second block after
//                    garp_lower_prio_delay (defaults: the garp_master_* values).
//   garp_extra_if:   while master, one copy for the first address on each extra interface at the first
//                    advert sent after the interval has run since becoming master (or since the last one).
// RFC 3768 §6.4.2 only asks for one gratuitous ARP per VIP on becoming master; the rest is keepalived's.
import type { VrrpAction } from './actions.js';
import type { VrrpInstanceParams } from './instance-params.js';

/** Addresses GARPed: advertised VIPs then excluded VIPs (keepalived sends for both). */
export function garpAddresses(p: VrrpInstanceParams): string[] {
  return [...p.vips, ...p.excludedVips].map((v) => v.address);
}

function garp(p: VrrpInstanceParams, repeat: number, addresses = garpAddresses(p)): VrrpAction[] {
  if (repeat <= 0 || addresses.length === 0) return [];
  return [{ type: 'sendGarp', instance: p.name, family: p.family, addresses, repeat }];
}

export interface GarpStep {
  actions: VrrpAction[];
  /** Absolute deadline for the follow-up timer, or null for none. */
  nextAtUs: number | null;
}

/** On entering MASTER: first block now, the garpDelay timer for the second block. */
export function garpOnBecomeMaster(p: VrrpInstanceParams, nowUs: number): GarpStep {
  return {
    actions: garp(p, p.garpMasterRepeat),
    nextAtUs: p.garpMasterDelayUs > 0 && p.garpMasterRepeat > 0 ? nowUs + p.garpMasterDelayUs : null,
  };
}

/** The garpDelay timer: the second block; nothing more. */
export function garpOnDelayTimer(p: VrrpInstanceParams): GarpStep {
  return { actions: garp(p, p.garpMasterRepeat), nextAtUs: null };
}

/** The first refresh deadline after becoming master (null when refresh is off). */
export function garpRefreshStart(p: VrrpInstanceParams, nowUs: number): number | null {
  return p.garpMasterRefreshUs > 0 ? nowUs + p.garpMasterRefreshUs : null;
}

/** The garpRefresh timer: garp_master_refresh_repeat copies, then re-arm. */
export function garpOnRefreshTimer(p: VrrpInstanceParams, nowUs: number): GarpStep {
  return { actions: garp(p, p.garpMasterRefreshRepeat), nextAtUs: garpRefreshStart(p, nowUs) };
}

/** A lower-priority advert arrived while master: one block now, a second after garp_lower_prio_delay. */
export function garpOnLowerPrio(p: VrrpInstanceParams, nowUs: number): GarpStep {
  return {
    actions: garp(p, p.garpLowerPrioRepeat),
    nextAtUs: p.garpLowerPrioDelayUs > 0 && p.garpLowerPrioRepeat > 0 ? nowUs + p.garpLowerPrioDelayUs : null,
  };
}

/** The garpLowerPrio timer: the second lower-priority block. */
export function garpOnLowerPrioTimer(p: VrrpInstanceParams): GarpStep {
  return { actions: garp(p, p.garpLowerPrioRepeat), nextAtUs: null };
}

/** On reload while master: GARP only the newly added addresses (as keepalived does). */
export function garpForAdded(p: VrrpInstanceParams, added: string[]): VrrpAction[] {
  return garp(p, p.garpMasterRepeat, added);
}

/**
 * A master's advert tick (keepalived garp_extra_if): once the deadline is reached, one GARP/NA per extra
 * interface and the next deadline. keepalived compares strictly, but its ticks always run a little after
 * their time, so the advert due at the deadline carries the GARP; `>=` gives that on exact (simulated) time
 * too. A null deadline (none since the configuration was loaded) counts as reached. Null when nothing is due.
 */
export function garpExtraOnAdvert(
  p: VrrpInstanceParams,
  dueAtUs: number | null,
  nowUs: number,
): { actions: VrrpAction[]; nextAtUs: number } | null {
  if (p.garpExtraIfUs <= 0 || (dueAtUs !== null && nowUs < dueAtUs)) return null;
  return { actions: garp(p, 1, p.garpExtraAddresses), nextAtUs: nowUs + p.garpExtraIfUs };
}
