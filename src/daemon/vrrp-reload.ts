// SIGHUP in the VRRP runtime: the new configuration's engine plan is built against the current interface
// table, turned into steps by the pure planner (src/vrrp/reload-plan.ts), and the steps are performed here —
// sockets opened, updated and closed, engine inputs given, trackers and notify scripts handed their new sets.
// Reloads run one after the other; each first creates the use_vmac interfaces of the instances it adds (and
// re-reads the links, so the plan sees them), then applies the new configuration in one synchronous step.

import type { KeepalivedConfig } from '../config/model.js';
import type { Netlink } from '../net/netlink.js';
import type { Notifier } from '../notify/notifier.js';
import type { VrrpAction } from '../vrrp/actions.js';
import { orderStartNotifies } from '../vrrp/engine.js';
import { planReload, type ReloadInput, type ReloadStep, sameSyncGroups } from '../vrrp/reload-plan.js';
import { buildEnginePlan } from './engine-plan/build.js';
import type { EnginePlan, InstanceWiring } from './engine-plan/types.js';
import { InterfaceTable } from './interface-table.js';
import { Vmacs, vmacSpecs } from './vmac.js';
import type { ActionExecutor } from './vrrp-actions.js';
import type { VrrpContext } from './vrrp-context.js';
import type { LinkFollower } from './vrrp-links.js';
import type { TrackerWiring } from './vrrp-trackers.js';

export interface ReloadParts {
  ctx: VrrpContext;
  nl: Netlink;
  actions: ActionExecutor;
  links: LinkFollower;
  trackers: TrackerWiring;
  notifier: Notifier;
  /** The use_vmac links this run made (null: none yet). */
  vmacs: () => Vmacs | null;
  setVmacs: (v: Vmacs) => void;
  /** The runtime takes the new plan's tracker sets and the configuration's dump flags. */
  adopt: (cfg: KeepalivedConfig, plan: EnginePlan) => void;
  /** Instances whose configuration (the one in force) has notify_deleted. */
  notifyDeleted: () => ReadonlySet<string>;
}

/** The planner's view of an instance's socket. */
const socketOf = (w: InstanceWiring) => ({ unicast: w.socket.unicast, group: w.socket.group });

/** The planner's input: the engine's instances now, and the new plan. */
export function reloadInput(
  ctx: VrrpContext,
  next: EnginePlan,
  notifyDeleted: ReadonlySet<string>,
): ReloadInput {
  return {
    running: ctx.engine.instances().map((i) => ({
      params: i.params,
      socket: socketOf(ctx.plan.wiring.get(i.name)!),
      state: i.state,
    })),
    notifyDeleted,
    next: {
      instances: next.engine.instances.map((p) => ({
        params: p,
        socket: socketOf(next.wiring.get(p.name)!),
      })),
      syncGroups: next.engine.syncGroups,
    },
  };
}

export class ReloadApplier {
  readonly #x: ReloadParts;

  constructor(x: ReloadParts) {
    this.#x = x;
  }

  /** Creates the VMACs of instances the reload adds, re-reads the links, then applies the configuration. */
  async reload(cfg: KeepalivedConfig): Promise<void> {
    const { ctx, nl } = this.#x;
    if (ctx.state !== 'running') return;
    const specs = vmacSpecs(cfg).filter((v) => !ctx.engine.instance(v.instance));
    if (specs.length > 0) {
      const vmacs = this.#x.vmacs();
      if (!vmacs) {
        const made = await Vmacs.setUp(nl, specs, ctx.log);
        if (made.ok) this.#x.setVmacs(made.value);
        else ctx.log.error(made.message);
      } else {
        const added = await vmacs.add(specs);
        if (!added.ok) ctx.log.error(added.message);
      }
      const t = await InterfaceTable.load(nl);
      if (t.ok) ctx.table.replaceWith(t.value);
      if (ctx.state !== 'running') return;
    }
    this.apply(cfg);
  }

  /** Builds the plan and performs it; a configuration that cannot run leaves the running one in place. */
  apply(cfg: KeepalivedConfig): void {
    const { ctx } = this.#x;
    if (ctx.state !== 'running') return;
    const plan = buildEnginePlan(cfg, ctx.table);
    if (plan.errors.length > 0) {
      for (const e of plan.errors) ctx.log.error(e.message);
      ctx.log.error('reload aborted; the running configuration is kept');
      return;
    }
    for (const w of plan.warnings) ctx.log.warn(w);
    // As 2.2.7: the FIFOs are made again and their scripts restarted before any of the reload's notifications
    // (a removed instance's DELETED or FAULT too: 2.2.7 opens them before it compares the configurations).
    this.#x.notifier.reopenFifos(plan.fifos);
    const steps = planReload(reloadInput(ctx, plan, this.#x.notifyDeleted()));
    const now = ctx.engineTime();
    const out: VrrpAction[] = [];
    const added = new Set<string>();
    let startsFrom = -1;
    for (const s of steps) {
      if (s.step === 'start' && startsFrom < 0) startsFrom = out.length;
      this.#step(s, cfg, plan, now, out, added);
    }
    // Instances (and their new sync groups) the reload added announce themselves in the order of a start.
    if (startsFrom >= 0) orderStartNotifies(out, startsFrom);
    ctx.perform(out);
    if (cfg.globalDefs.fifoWriteVrrpStatesOnReload) this.#statesToFifos(added);
    ctx.rearm();
    ctx.log.info('Reload finished');
  }

  #step(
    s: ReloadStep,
    cfg: KeepalivedConfig,
    plan: EnginePlan,
    now: number,
    out: VrrpAction[],
    added: Set<string>,
  ): void {
    const { ctx } = this.#x;
    const engine = ctx.engine;
    switch (s.step) {
      case 'stop':
        return this.#stop(s.instance, s.notifyDeleted, now);
      case 'update': {
        const w = plan.wiring.get(s.instance)!;
        if (!ctx.pool.update(w)) return;
        ctx.plan.wiring.set(s.instance, w);
        const instance = s.instance;
        out.push(
          ...engine.handle({ type: 'instance', instance, event: { type: 'reload', params: s.params } }, now),
        );
        if (s.start)
          out.push(...engine.handle({ type: 'instance', instance, event: { type: 'start' } }, now));
        return;
      }
      case 'add': {
        const p = s.params;
        const w = plan.wiring.get(s.instance)!;
        // A use_vmac VMAC was created before the plan was made (reload()); if that failed, it is missing.
        // Under dynamic_interfaces an instance waits for its interface (dynamic-interfaces.ts).
        if (!ctx.table.link(p.interface) && !cfg.globalDefs.dynamicInterfaces) {
          ctx.log.error(`(${s.instance}) interface ${p.interface} does not exist: not started`);
          return;
        }
        const r = ctx.pool.add(w, p.primaryAddress);
        if (!r.ok) {
          ctx.log.error(`(${s.instance}) ${r.error.message}: not started`);
          return;
        }
        ctx.log.info(`(${s.instance}) added by the reload: starting`);
        // An IPv6 source that cannot be bound yet: the instance starts in FAULT (followLinks) and waits for it.
        this.#x.links.noteUnbound(s.instance);
        ctx.plan.wiring.set(s.instance, w);
        this.#x.actions.added(s.instance);
        out.push(...engine.handle({ type: 'addInstance', params: p }, now));
        if (w.unsourced) {
          const event = { type: 'sourceAddress', address: null } as const;
          out.push(...engine.handle({ type: 'instance', instance: s.instance, event }, now));
        }
        this.#x.trackers.feedNewInstance(p, now, out);
        added.add(s.instance);
        return;
      }
      case 'formSyncGroup':
        if (s.group.members.every((m) => added.has(m)))
          out.push(...engine.handle({ type: 'addSyncGroup', group: s.group }, now));
        return;
      case 'compareSyncGroups':
        if (!sameSyncGroups(s.groups, engine.config.syncGroups))
          ctx.log.warn(
            'sync group changes other than new groups of new instances take effect on restart only',
          );
        return;
      case 'trackers':
        this.#x.trackers.reconfigure(plan, now, out);
        this.#x.adopt(cfg, plan);
        this.#x.notifier.setScripts(
          new Map([...ctx.plan.wiring].map(([n, w]) => [n, w.notify])),
          plan.groupNotify,
          plan.mail ?? null,
        );
        return;
      case 'followLinks':
        return this.#x.links.followNew(now, out);
      case 'start':
        if (added.has(s.instance))
          out.push(
            ...engine.handle({ type: 'instance', instance: s.instance, event: { type: 'start' } }, now),
          );
        return;
    }
  }

  /**
   * fifo_write_vrrp_states_on_reload, as 2.2.7's vrrp_init_state does it at a reload: each sync group's
   * state, then each instance's that is not MASTER (a master that stays one writes nothing there), to the
   * FIFOs only; instances and groups the reload added announce themselves as at a start.
   */
  #statesToFifos(added: Set<string>): void {
    const { ctx, notifier } = this.#x;
    for (const g of ctx.engine.groups()) {
      if (g.state === 'INIT' || g.state === 'STOP' || g.members.every((m) => added.has(m.name))) continue;
      notifier.fifoOnly({ scope: 'GROUP', name: g.name, state: g.state, priority: 0 });
    }
    for (const i of ctx.engine.instances()) {
      if (added.has(i.name) || (i.state !== 'BACKUP' && i.state !== 'FAULT')) continue;
      notifier.fifoOnly({ scope: 'INSTANCE', name: i.name, state: i.state, priority: i.effectivePriority });
    }
  }

  /** Stops an instance for good: its last actions (priority 0, VIPs, notify) run while its socket is open. */
  #stop(name: string, notifyDeleted: boolean, nowUs: number): void {
    const { ctx, actions } = this.#x;
    const inst = ctx.engine.instance(name);
    if (!inst) return;
    ctx.log.warn(`(${name}) removed from the configuration or changed VRID/family/interface/mode: stopped`);
    actions.retire(name, inst.params, () =>
      ctx.perform(ctx.engine.handle({ type: 'removeInstance', instance: name, notifyDeleted }, nowUs)),
    );
    ctx.pool.remove(name);
    ctx.plan.wiring.delete(name);
  }
}
