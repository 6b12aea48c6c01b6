// Instances that start without an interface or without an address to send from. keepalived 2.2.7 runs them
// in FAULT (docs/config-meaning.md, 'Interfaces that do not exist' and 'An interface without an address'):
// with dynamic_interfaces, an instance whose interface does not exist yet ("Configuration specifies interface
// IF which doesn't currently exist - will use if created"); with or without it, an instance whose interface
// has no address of the family ("entering FAULT state (no IPv4 address for interface)"). Such an instance is
// in the engine plan like any other, with the family's any-address as its source (engine-plan/instance.ts);
// the runtime opens its socket when the interface appears (vrrp-sockets.ts) and brings it up when an address
// comes (vrrp-links.ts).
import type { KeepalivedConfig } from '../config/model.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import { namedDevices } from './engine-plan/trackers.js';
import type { EnginePlan } from './engine-plan/types.js';
import type { InterfaceTable } from './interface-table.js';

/**
 * keepalived's start-up lines for the instances that start in FAULT for want of an interface or an address:
 * each missing interface the instances name (their own, tracked ones, their VIPs' devices, their routes' and
 * rules' interfaces, tracked or not) once; then, interface by interface in keepalived's list (those there are,
 * by index, then the missing ones), each instance following it with weight 0 (its own, a weight-0 tracked one,
 * a VIP's device, a tracked route's or rule's) that is down or missing (up, for `reverse`); then the instances
 * without an address. The order 2.2.7 logs them in.
 */
export function startFaultLines(cfg: KeepalivedConfig, plan: EnginePlan, table: InterfaceTable): string[] {
  const planned = cfg.vrrpInstances.filter((i) => plan.wiring.has(i.name));
  // Named once each: every interface keepalived knows of, followed by an instance or not (no_track).
  const missing = [...new Set(planned.flatMap((i) => namedDevices(i).filter((n) => !table.link(n))))];
  const faulted = (p: VrrpInstanceParams, n: string) => {
    const up = table.isUp(n);
    if (p.interface === n && !p.dontTrackPrimary && !up) return true;
    return p.trackers.some(
      (t) => t.kind === 'interface' && t.name === n && t.weight === 0 && (t.reverse ? up : !up),
    );
  };
  return [
    ...missing.map(
      (n) => `Configuration specifies interface ${n} which doesn't currently exist - will use if created`,
    ),
    ...[...table.names(), ...missing].flatMap((n) =>
      plan.engine.instances
        .filter((p) => plan.wiring.has(p.name) && faulted(p, n))
        .map((p) => `(${p.name}): entering FAULT state (interface ${n} down)`),
    ),
    ...planned.flatMap((i) => {
      const p = plan.engine.instances.find((x) => x.name === i.name);
      return plan.wiring.get(i.name)?.unsourced && p
        ? [`(${i.name}) entering FAULT state (no IPv${p.family} address for interface)`]
        : [];
    }),
  ];
}

/** IPv6 instances without a link-local yet on an interface that exists: start-up waits a while for DAD. */
export function awaitingLinkLocal(plan: EnginePlan, table: InterfaceTable): boolean {
  return plan.engine.instances.some(
    (p) =>
      p.family === 6 && plan.wiring.get(p.name)?.unsourced === true && table.link(p.interface) !== undefined,
  );
}
