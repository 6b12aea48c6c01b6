// Instances that start without an interface or without an address to send from. keepalived 2.2.7 runs them
// in FAULT (docs/config-meaning.md, 'Interfaces that do not exist' and 'An interface without an address'):
// with dynamic_interfaces, an instance whose interface does not exist yet ("Configuration specifies interface
// IF which doesn't currently exist - will use if created"); with or without it, an instance whose interface
// has no address of the family ("entering FAULT state (no IPv4 address for interface)"). Such an instance is
// in the engine plan like any other, with the family's any-address as its source (engine-plan/instance.ts);
// the runtime opens its socket when the interface appears (vrrp-sockets.ts) and brings it up when an address
// comes (vrrp-links.ts).
import type { KeepalivedConfig } from '../config/model.js';
import type { EnginePlan } from './engine-plan/types.js';
import type { InterfaceTable } from './interface-table.js';

/** keepalived's start-up lines for the instances that start in FAULT for want of an interface or an address. */
export function startFaultLines(cfg: KeepalivedConfig, plan: EnginePlan, table: InterfaceTable): string[] {
  const out: string[] = [];
  for (const i of cfg.vrrpInstances) {
    const w = plan.wiring.get(i.name);
    const p = plan.engine.instances.find((x) => x.name === i.name);
    if (!w || !p || i.interface === undefined) continue;
    if (!table.link(i.interface))
      out.push(
        `Configuration specifies interface ${i.interface} which doesn't currently exist - will use if created`,
        `(${i.name}): entering FAULT state (interface ${i.interface} down)`,
      );
    if (w.unsourced) out.push(`(${i.name}) entering FAULT state (no IPv${p.family} address for interface)`);
  }
  return out;
}

/** IPv6 instances without a link-local yet on an interface that exists: start-up waits a while for DAD. */
export function awaitingLinkLocal(plan: EnginePlan, table: InterfaceTable): boolean {
  return plan.engine.instances.some(
    (p) =>
      p.family === 6 && plan.wiring.get(p.name)?.unsourced === true && table.link(p.interface) !== undefined,
  );
}
