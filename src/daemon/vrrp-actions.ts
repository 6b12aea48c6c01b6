// Performs the VRRP engine's actions on the host, in the engine's order: adverts on the wire, VIPs with their
// routes and rules through rtnetlink, GARP/NA, notify scripts and FIFO lines, counters, log lines. Nothing
// here awaits: sends are synchronous, address changes go to a serial netlink queue, scripts are spawned and
// forgotten. Every action, once performed, is shown to the runtime's observer (vrrp-runtime.ts #observe),
// the one place where transitions are watched from outside the engine.
import type { Notifier } from '../notify/notifier.js';
import type { FsmCounterName, VrrpAction } from '../vrrp/actions.js';
import { PRIORITY_OWNER } from '../vrrp/advert.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import type { Announcers } from './announcers.js';
import type { DroppedVip, StrictFirewall } from './strict-firewall.js';
import type { TakeoverBoost } from './takeover-boost.js';
import type { VrrpContext } from './vrrp-context.js';

/** The VIPs of a log line: the first 16 by name, then how many more. */
function vipList(vips: readonly { address: string; prefixLen: number }[]): string {
  const named = vips.slice(0, 16).map((v) => `${v.address}/${v.prefixLen}`);
  return vips.length > 16 ? `${named.join(', ')} and ${vips.length - 16} more` : named.join(', ') || 'none';
}

/** The firewall's view of an instance's VIPs: each on its `dev`, else on the instance's interface. */
function droppedVips(vips: VrrpInstanceParams['vips'], p: VrrpInstanceParams): DroppedVip[] {
  return vips.map((v) => ({ address: v.address, ifname: v.dev ?? p.interface }));
}

export const zeroFsmStats = (): Record<FsmCounterName, number> => ({
  BecomeMaster: 0,
  ReleasedMaster: 0,
  SentAdvertisements: 0,
  SentPriZeroPackets: 0,
});

export interface ActionExecutorParts {
  ctx: VrrpContext;
  firewall: StrictFirewall;
  announcers: Announcers;
  notifier: Notifier;
  /** -V: removeVips while stopping leaves the addresses in place. */
  keepVipsOnStop: boolean;
  /** Real-time priority for a takeover's writes (takeover-boost.ts). */
  boost: () => TakeoverBoost;
  /** Told every action once it has been performed. */
  observe: (a: VrrpAction) => void;
}

export class ActionExecutor {
  readonly #x: ActionExecutorParts;
  /** The engine's own counters per instance (for the stats dumps). */
  readonly fsmStats = new Map<string, Record<FsmCounterName, number>>();
  /** Last send error code per instance, so a persisting failure is logged once. */
  readonly #sendError = new Map<string, string>();
  /** Parameters of an instance being removed, while its last actions are performed (the engine forgot it). */
  readonly #retired = new Map<string, VrrpInstanceParams>();

  constructor(x: ActionExecutorParts) {
    this.#x = x;
  }

  /** An instance joins (its counters start at zero). */
  added(name: string): void {
    this.fsmStats.set(name, zeroFsmStats());
  }

  /** Performs an instance's last actions (`run`) while its parameters stay known, then forgets it. */
  retire(name: string, params: VrrpInstanceParams, run: () => void): void {
    this.#retired.set(name, params);
    try {
      run();
    } finally {
      this.#retired.delete(name);
      this.fsmStats.delete(name);
      this.#sendError.delete(name);
    }
  }

  perform(actions: VrrpAction[]): void {
    // The log lines go out after the adverts, addresses and announcements (Logger.held).
    this.#x.ctx.log.held(() => this.performIo(actions));
  }

  /** Performs actions; the caller holds the log. */
  performIo(actions: VrrpAction[]): void {
    // A takeover writes its adverts, VIPs and GARPs at real-time priority, so that nothing its advert wakes on
    // this host preempts it half-way (takeover-boost.ts): up to the last GARP of the batch (a sync group's
    // instances come one after the other); the rest — notify scripts, logs — at normal priority.
    // Other batches leave the boost as it is (raised only in a keen deadline's phase, which ends it).
    if (!actions.some((a) => a.type === 'addVips')) {
      for (const a of actions) this.#performAction(a);
      return;
    }
    let lastWrite = -1;
    for (const [k, a] of actions.entries()) if (a.type === 'addVips' || a.type === 'sendGarp') lastWrite = k;
    const boost = this.#x.boost();
    boost.enter();
    try {
      for (const [k, a] of actions.entries()) {
        this.#performAction(a);
        if (k === lastWrite) boost.leave();
      }
    } finally {
      boost.leave();
    }
  }

  #performAction(a: VrrpAction): void {
    const { ctx, firewall } = this.#x;
    const log = ctx.log;
    switch (a.type) {
      case 'sendAdvert': {
        const r = ctx.pool.send(a.instance, a.advert);
        if (r.ok) this.#sendError.delete(a.instance);
        else if (this.#sendError.get(a.instance) !== r.error.code) {
          this.#sendError.set(a.instance, r.error.code);
          // The interface was deleted under the instance (expected with dynamic_interfaces): keepalived says
          // so in these words, and so do we, without calling it an error.
          if (r.error.code === 'KA_SOCKET_ENODEV')
            log.info(`(${a.instance}): send advert error 19 (No such device)`);
          else log.error(`(${a.instance}) cannot send advert: ${r.error.message}`);
        }
        break;
      }
      case 'addVips': {
        const p = ctx.engine.instance(a.instance)!.params;
        // keepalived's "setting VIPs." (and "removing VIPs."), with the addresses named (held: written after).
        log.info(`(${a.instance}) setting VIPs: ${vipList(a.vips)}`);
        ctx.vips.add(a.instance, a.vips, p.interface);
        // keepalived's order: addresses, then routes (which may use them as source), then rules.
        ctx.vips.addRoutes(a.instance, 'route', a.routes);
        ctx.vips.addRoutes(a.instance, 'rule', a.rules);
        // keepalived sets no drop rule for an address owner, even with no_accept.
        if (!p.accept && p.basePriority !== PRIORITY_OWNER) firewall.drop(a.instance, droppedVips(a.vips, p));
        break;
      }
      case 'removeVips': {
        if (ctx.state === 'stopping' && this.#x.keepVipsOnStop) break;
        const p = (ctx.engine.instance(a.instance)?.params ?? this.#retired.get(a.instance))!;
        log.info(`(${a.instance}) removing VIPs: ${vipList(a.vips)}`);
        ctx.vips.removeRoutes(a.instance, 'rule', a.rules);
        ctx.vips.removeRoutes(a.instance, 'route', a.routes);
        ctx.vips.remove(a.instance, a.vips, p.interface);
        // Leaving MASTER these are all its VIPs; a reload of a master names only those it removed.
        firewall.undrop(a.instance, droppedVips(a.vips, p));
        break;
      }
      case 'sendGarp': {
        const p = ctx.engine.instance(a.instance)!.params;
        // The kernel holds the addresses already (the engine puts addVips first, and rtnetlink applied each
        // request inside the sendmsg that wrote it — vip-installer.ts), so a client that follows the GARP at
        // once finds the VIP there.
        this.#x.announcers.announce(
          a.instance,
          a.addresses,
          a.repeat,
          [...p.vips, ...p.excludedVips],
          p.interface,
        );
        break;
      }
      case 'notify':
        if (a.scope === 'GROUP') log.info(`VRRP_Group(${a.name}) Syncing instances to ${a.state} state`);
        this.#x.notifier.notify(a);
        break;
      case 'stat': {
        const s = this.fsmStats.get(a.instance);
        if (s) s[a.counter]++;
        break;
      }
      case 'stateChange':
        // keepalived's wording, which operators and our tests grep for; the reasons keepalived itself logs
        // ("Backup received priority 0 advertisement", "Master received advert from …") come first.
        if (/^(Backup|Master) received /.test(a.reason)) log.info(`(${a.instance}) ${a.reason}`);
        log.info(`(${a.instance}) Entering ${a.to} STATE`);
        log.detail(`(${a.instance}) ${a.from} -> ${a.to}: ${a.reason}`);
        break;
      case 'armTimer':
      case 'cancelTimer':
        // The engine keeps the deadlines; the runtime reads the earliest after every input.
        break;
    }
    this.#x.observe(a);
  }
}
