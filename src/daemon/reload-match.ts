// SIGHUP: which running instance keeps running with new parameters. keepalived matches old and new instances
// by (VRID, family, interface, unicast mode, multicast group, …; docs/keepalived-semantics.md, 'Reload
// (SIGHUP)'); keepalived-ts also needs the name (the engine keys instances by name) and, for IPv6, the same
// source (the socket is bound to it). Pure.
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import type { EnginePlan, InstanceWiring } from './engine-plan/types.js';

export interface ReloadMatch {
  /** Running instances that take their new parameters and wiring. */
  keep: { name: string; params: VrrpInstanceParams; wiring: InstanceWiring }[];
  /** Running instances gone from the configuration or changed in a matching key: stopped. */
  stop: string[];
  /**
   * Instances of the new configuration that were not kept, in its order, to start after the stops: new names,
   * and the new definition of an instance stopped for a changed key (keepalived: an unmatched new instance).
   */
  added: string[];
}

export function matchReload(
  running: { params: VrrpInstanceParams; wiring: InstanceWiring }[],
  next: EnginePlan,
): ReloadMatch {
  const fresh = new Map(next.engine.instances.map((p) => [p.name, p]));
  const out: ReloadMatch = { keep: [], stop: [], added: [] };
  for (const { params: old, wiring: oldW } of running) {
    const p = fresh.get(old.name);
    const w = next.wiring.get(old.name);
    const same =
      p !== undefined &&
      w !== undefined &&
      p.vrid === old.vrid &&
      p.family === old.family &&
      p.interface === old.interface &&
      w.socket.unicast === oldW.socket.unicast &&
      w.socket.group === oldW.socket.group &&
      (p.family === 4 || p.primaryAddress === old.primaryAddress);
    if (same) out.keep.push({ name: old.name, params: p, wiring: w });
    else out.stop.push(old.name);
  }
  const kept = new Set(out.keep.map((k) => k.name));
  out.added = next.engine.instances.map((p) => p.name).filter((n) => !kept.has(n));
  return out;
}
