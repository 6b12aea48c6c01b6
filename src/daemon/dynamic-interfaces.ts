// Instances that start without an interface or without an address to send from. keepalived 2.2.7 runs them
// in FAULT (docs/config-meaning.md, 'Interfaces that do not exist' and 'An interface without an address'):
// with dynamic_interfaces, an instance whose interface does not exist yet ("Configuration specifies interface
// IF which doesn't currently exist - will use if created"); with or without it, an instance whose interface
// has no address of the family ("entering FAULT state (no IPv4 address for interface)"). Such an instance is
// in the engine plan like any other, with the family's any-address as its source (engine-plan/instance.ts);
// the runtime opens its socket when the interface appears (vrrp-sockets.ts) and brings it up when an address
// comes (vrrp-links.ts).
import type { KeepalivedConfig } from '../config/model.js';
import { routeDevices } from './engine-plan/trackers.js';
import type { EnginePlan } from './engine-plan/types.js';
import type { InterfaceTable } from './interface-table.js';

/**
 * keepalived's start-up lines for the instances that start in FAULT for want of an interface or an address:
 * each missing interface the instances name (their own, tracked ones, their VIPs' devices, their tracked
 * routes' and rules' interfaces) once, then each
 * instance's missing interfaces, then the instances without an address (the order 2.2.7 logs them in).
 */
export function startFaultLines(cfg: KeepalivedConfig, plan: EnginePlan, table: InterfaceTable): string[] {
  const named = (i: KeepalivedConfig['vrrpInstances'][number]) => [
    ...new Set(
      [
        i.interface,
        ...i.trackInterfaces.map((t) => t.name),
        ...[...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded].map((v) =>
          v.noTrack ? undefined : v.dev,
        ),
        ...routeDevices(i),
      ].filter((n): n is string => n !== undefined && !table.link(n)),
    ),
  ];
  const planned = cfg.vrrpInstances.filter((i) => plan.wiring.has(i.name));
  const missing = [...new Set(planned.flatMap(named))];
  return [
    ...missing.map(
      (n) => `Configuration specifies interface ${n} which doesn't currently exist - will use if created`,
    ),
    ...planned.flatMap((i) => named(i).map((n) => `(${i.name}): entering FAULT state (interface ${n} down)`)),
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
