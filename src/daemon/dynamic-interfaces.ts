// dynamic_interfaces: keepalived 2.2.7 runs an instance whose interface does not exist yet, logs
// "Configuration specifies interface IF which doesn't currently exist - will use if created", keeps the
// instance in FAULT and runs it once the interface is there with an address (docs/config-meaning.md,
// "Interfaces that do not exist"). Here such an instance stays out of the engine plan until its interface
// exists with an address to send from; the runtime then adds it as a reload adds a new instance.
import type { KeepalivedConfig, VrrpInstanceConfig } from '../config/model.js';
import type { InterfaceTable } from './interface-table.js';

/** The instances that wait for their interface (none without dynamic_interfaces). */
export function waitingInstances(cfg: KeepalivedConfig, table: InterfaceTable): VrrpInstanceConfig[] {
  if (!cfg.globalDefs.dynamicInterfaces) return [];
  return cfg.vrrpInstances.filter((i) => {
    if (i.interface === undefined || i.useVmac || i.unicastSrcIp !== undefined) return false;
    const family = i.family ?? i.virtualIpaddresses[0]?.family ?? 4;
    return !table.link(i.interface) || table.defaultSource(i.interface, family) === undefined;
  });
}

/** The configuration without the instances that wait (and without them in their sync groups). */
export function withoutWaiting(
  cfg: KeepalivedConfig,
  waiting: readonly VrrpInstanceConfig[],
): KeepalivedConfig {
  if (waiting.length === 0) return cfg;
  const out = new Set(waiting.map((i) => i.name));
  return {
    ...cfg,
    vrrpInstances: cfg.vrrpInstances.filter((i) => !out.has(i.name)),
    syncGroups: cfg.syncGroups
      .map((g) => ({ ...g, members: g.members.filter((m) => !out.has(m.name)) }))
      .filter((g) => g.members.length > 0),
  };
}

/** keepalived's lines for an instance whose interface is missing at start. */
export function waitingLines(i: VrrpInstanceConfig, table: InterfaceTable): string[] {
  const ifname = i.interface ?? '';
  return [
    ...(table.link(ifname)
      ? []
      : [`Configuration specifies interface ${ifname} which doesn't currently exist - will use if created`]),
    `(${i.name}): entering FAULT state (interface ${ifname} down)`,
  ];
}
