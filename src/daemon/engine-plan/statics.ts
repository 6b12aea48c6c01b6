// The parts of the engine plan that belong to the whole configuration rather than one instance: static
// addresses, routes and rules, announcement pacing, notify FIFOs and their scripts.

import type { GlobalDefs, KeepalivedConfig, VipConfig } from '../../config/model.js';
import { type FifoPlan, fifoPlan } from '../../notify/notify-fifos.js';
import type { JsonValue, VirtualAddress } from '../../vrrp/instance-params.js';
import type { AnnouncePacing } from '../announcers.js';
import { planRoutes, planRules } from '../route-spec.js';
import type { EnginePlan } from './types.js';

/** A config VIP line as the engine's plain data; the netlink layer reads the options. */
export function engineVip(v: VipConfig): VirtualAddress {
  const options: { [key: string]: JsonValue } = { family: v.family, noDad: v.noDad, noTrack: v.noTrack };
  if (v.label !== undefined) options.label = v.label;
  if (v.broadcast !== undefined) options.broadcast = v.broadcast;
  if (v.scope !== undefined) options.scope = v.scope;
  if (v.peer !== undefined) options.peer = v.peer;
  if (v.flags.length > 0) options.flags = [...v.flags];
  if (v.family === 6 && v.preferredLft !== undefined) options.preferredLft = v.preferredLft;
  const out: VirtualAddress = { address: v.address, prefixLen: v.prefixLength, options };
  if (v.dev !== undefined) out.dev = v.dev;
  return out;
}

/** Every virtual address of every instance (never a source address). */
export function configuredVips(cfg: KeepalivedConfig): Set<string> {
  const out = new Set<string>();
  for (const i of cfg.vrrpInstances) {
    for (const v of [...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded]) out.add(v.address);
  }
  return out;
}

/** Announcement pacing: the global intervals, with garp_group blocks overriding them per interface. */
export function announcePacing(cfg: KeepalivedConfig): AnnouncePacing {
  const perInterface = new Map<string, { garpIntervalUs?: number; gnaIntervalUs?: number }>();
  for (const gg of cfg.garpGroups) {
    for (const ifname of gg.interfaces) {
      const o: { garpIntervalUs?: number; gnaIntervalUs?: number } = {};
      if (gg.garpIntervalUs !== undefined) o.garpIntervalUs = gg.garpIntervalUs;
      if (gg.gnaIntervalUs !== undefined) o.gnaIntervalUs = gg.gnaIntervalUs;
      perInterface.set(ifname, o);
    }
  }
  return {
    garpIntervalUs: cfg.globalDefs.vrrpGarpIntervalUs,
    gnaIntervalUs: cfg.globalDefs.vrrpGnaIntervalUs,
    perInterface,
  };
}

/** static_ipaddress / static_routes / static_rules: installed at startup whatever the VRRP state. */
export function planStatics(cfg: KeepalivedConfig, warnings: string[]): EnginePlan['statics'] {
  const addresses: VirtualAddress[] = [];
  for (const a of cfg.staticIpaddresses) {
    if (a.dev === undefined) warnings.push(`static_ipaddress ${a.address} has no dev; ignored`);
    else addresses.push(engineVip(a));
  }
  return { addresses, routes: planRoutes(cfg.staticRoutes, 4), rules: planRules(cfg.staticRules, 4) };
}

/** notify_fifo and vrrp_notify_fifo and their reader scripts (notify-fifos.ts fifoPlan). */
export function planFifos(g: GlobalDefs): FifoPlan {
  return fifoPlan(g, { fifo: g.vrrpNotifyFifo, script: g.vrrpNotifyFifoScript }, true);
}
