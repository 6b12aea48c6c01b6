// The VRRP runtime's view of the host's links and addresses, kept current from rtnetlink: link up/down of
// every interface an instance cares about (its own, tracked ones, VIP devices), VIPs deleted behind our
// back, static addresses to re-add, and the default source address an instance without a fixed one
// follows (docs/keepalived-semantics.md, 'Advert source address'; docs/hostile-network.md).
import type { Netlink, NetlinkEvent } from '../net/netlink.js';
import type { VrrpAction } from '../vrrp/actions.js';
import { PRIORITY_OWNER } from '../vrrp/advert.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import type { InstanceWiring } from './engine-plan/types.js';
import { faultPoint } from './fault-injection.js';
import { InterfaceTable } from './interface-table.js';
import { STATIC_OWNER, type VrrpContext } from './vrrp-context.js';

const RT_SCOPE_LINK = 253;

/**
 * The interface still has an address of its own to send from: an IPv4 address that is not one of our VIPs, or
 * an IPv6 link-local (a tentative one counts: it becomes usable when DAD ends).
 */
function hasOwnAddress(
  table: InterfaceTable,
  ifname: string,
  family: 4 | 6,
  vips: ReadonlySet<string>,
): boolean {
  const list = table.addresses(ifname, family);
  if (family === 4) return list.some((a) => !vips.has(a.address));
  return list.some((a) => a.scope === RT_SCOPE_LINK);
}

/** The interfaces an instance's state depends on: its own, tracked ones, its VIPs' devices. */
function linksOf(p: VrrpInstanceParams): string[] {
  const names = [p.interface];
  for (const t of p.trackers) if (t.kind === 'interface') names.push(t.name);
  for (const v of [...p.vips, ...p.excludedVips]) if (v.dev) names.push(v.dev);
  return names;
}

export class LinkFollower {
  /** IPv4 unicast instances (name/address) whose unicast_src_ip the host has had since they started. */
  readonly #v4SourceSeen = new Set<string>();
  readonly #ctx: VrrpContext;
  readonly #nl: Netlink;
  /** Interfaces the engine cares about → last state. */
  readonly #linkUp = new Map<string, boolean>();

  constructor(ctx: VrrpContext, nl: Netlink) {
    this.#ctx = ctx;
    this.#nl = nl;
  }

  /** The last state of every interface the engine cares about (the status listener's). */
  states(): { name: string; up: boolean }[] {
    return [...this.#linkUp].map(([name, up]) => ({ name, up }));
  }

  /** At start: the links of the planned instances, read from the table; returns the ones that are down. */
  noteAtStart(instances: readonly VrrpInstanceParams[]): string[] {
    for (const p of instances) for (const n of linksOf(p)) this.#linkUp.set(n, this.#ctx.table.isUp(n));
    return [...this.#linkUp].filter(([, up]) => !up).map(([n]) => n);
  }

  /**
   * After a reload: interfaces newly tracked (or of new instances) start being followed; the engine hears of
   * the ones that are down (before new instances start), and of configured sources tracked and missing.
   */
  followNew(nowUs: number, out: VrrpAction[]): void {
    const { engine, table } = this.#ctx;
    for (const inst of engine.instances()) {
      for (const n of linksOf(inst.params)) {
        if (this.#linkUp.has(n)) continue;
        const up = table.isUp(n);
        this.#linkUp.set(n, up);
        if (!up) out.push(...engine.handle({ type: 'link', ifname: n, up: false }, nowUs));
      }
    }
    this.trackSources((instance, address) =>
      out.push(
        ...engine.handle({ type: 'instance', instance, event: { type: 'sourceAddress', address } }, nowUs),
      ),
    );
  }

  onNetlink(ev: NetlinkEvent): void {
    const ctx = this.#ctx;
    ctx.table.apply(ev);
    if (ctx.state !== 'running') return;
    faultPoint('netlink');
    if (ev.kind === 'link') {
      // The runtime has just opened the sockets of a (re)created interface; one may wait for its IPv6 source
      // (vrrp-sockets.ts): FAULT before the link's state reaches the engine.
      if (ev.action === 'new') this.trackSources(this.#toEngine, ev.name);
      const prev = this.#linkUp.get(ev.name);
      if (prev === undefined) return;
      const up = ev.action === 'new' && ev.up && ev.carrier;
      if (up === prev) return;
      this.#linkUp.set(ev.name, up);
      ctx.log.info(`Netlink reports ${ev.name} ${up ? 'up' : 'down'}`);
      ctx.handle({ type: 'link', ifname: ev.name, up });
      if (up) this.#reinstallOn(ev.name);
      return;
    }
    if (ev.action === 'del') this.#addressDeleted(ev.address, ev.index);
    // Our own VIPs coming and going never change a default source (IPv4 sources exclude VIPs, IPv6 sources
    // are link-local): with thousands of VIPs set at once, looking again on each of their notifications cost
    // seconds (instances × addresses per event).
    const ifname = ctx.table.linkByIndex(ev.index)?.name;
    const ours =
      ifname !== undefined &&
      (ctx.vips.owner(ev.address, ifname) !== undefined || ctx.vips.busy(ev.address, ifname)) &&
      !/^fe[89ab]/i.test(ev.address);
    if (!ours) {
      this.#followSource(ev.index);
      if (ifname !== undefined) this.trackSources(this.#toEngine, ifname);
    }
  }

  /**
   * track_src_ip (docs/keepalived-semantics.md, 'Advert source address'): an instance whose configured source
   * address has left its interface is told so (FAULT; a master first sends priority 0 and drops its VIPs), and
   * told again when the address is back (it comes up: BACKUP, then the usual election). Only instances whose
   * view differs are told, through `tell`; `ifname` limits the look to that interface's instances (not for
   * instances waiting for their source's bind). Called on address events, at start, after a reload and after
   * a resync. An instance with a fixed source that no longer tracks it (a reload took track_src_ip away)
   * leaves that fault: nothing else clears it.
   */
  trackSources(tell: (instance: string, address: string | null) => void, ifname?: string): void {
    const { engine, plan, table, log, pool } = this.#ctx;
    for (const inst of engine.instances()) {
      const w = plan.wiring.get(inst.name);
      // An IPv6 instance whose socket waits for its source (docs/hostile-network.md, 'A source address
      // missing at start') is in FAULT until the bind succeeds, with or without track_src_ip. The kernel
      // binds an address found on any interface, so it is tried on every address event, wherever.
      const waited = pool.waitingForSource(inst.name) !== undefined;
      const unbound = waited && this.#retryBind(inst.name);
      if (!w || !(w.fixedSource || unbound)) continue;
      const t = w.trackedSource;
      // IPv4 unicast from an address the host has not had since the instance started: FAULT until it comes.
      const awaited = this.#v4AwaitedKey(inst.name, inst.params, w);
      const absent = awaited !== null && !table.hasAddress(inst.params.primaryAddress);
      if (awaited !== null && !absent) this.#v4SourceSeen.add(awaited);
      if (ifname !== undefined && t?.ifname !== ifname && !waited && awaited === null) continue;
      const missing = unbound || absent || (t !== null && !table.hasAddress(t.address, t.ifname));
      if (missing === inst.status().fault.address) continue;
      // A default (followed) source's FAULT is #followSource's to end.
      if (!missing && !w.fixedSource) continue;
      // 2.2.7's words where it logs one (its start without the address); ours for the return.
      if (missing) log.info(`(${inst.name}): entering FAULT state (src address not configured)`);
      else if (t) log.info(`(${inst.name}) src address ${t.address} is back on ${t.ifname}`);
      else log.info(`(${inst.name}) src address ${inst.params.primaryAddress} is now on this host`);
      tell(inst.name, missing ? null : inst.params.primaryAddress);
    }
  }

  /**
   * An IPv4 unicast instance whose unicast_src_ip no interface of the host has had since the instance started
   * (docs/hostile-network.md, 'A source address missing at start'): its key in #v4SourceSeen, else null. Its
   * peers' adverts, sent to that address, would never reach it, so it would be MASTER beside theirs. Once seen,
   * a later deletion is track_src_ip's business, as in 2.2.7.
   */
  #v4AwaitedKey(name: string, p: VrrpInstanceParams, w: InstanceWiring): string | null {
    if (p.family !== 4 || p.unicastPeers.length === 0 || !w.fixedSource) return null;
    const key = `${name}/${p.primaryAddress}`;
    return this.#v4SourceSeen.has(key) ? null : key;
  }

  /** At start or when a reload adds an instance: says why its socket waits for its source, if it does. */
  noteUnbound(instance: string): void {
    const x = this.#ctx.pool.waitingForSource(instance);
    if (x)
      this.#ctx.log.info(
        `(${instance}) ${x.error.message}: source ${x.address} not usable yet, waiting for it`,
      );
  }

  /**
   * An instance waiting for its IPv6 source: its bind is tried again when the interface table lists the
   * address (a tentative one too: the bind then fails until DAD ends, whose netlink report brings us back
   * here). True while it still waits.
   */
  #retryBind(instance: string): boolean {
    const { pool, table, log } = this.#ctx;
    const address = pool.waitingForSource(instance)?.address;
    if (address === undefined) return false;
    if (!table.hasAddress(address)) return true;
    const r = pool.retry(instance);
    if (!r.ok) {
      log.error(`(${instance}) ${r.error.message}`);
      return true;
    }
    if (r.value) log.info(`(${instance}) socket bound to source ${address}`);
    return !r.value;
  }

  /** A sourceAddress input for the engine, performed at once. */
  readonly #toEngine = (instance: string, address: string | null): void =>
    this.#ctx.handle({ type: 'instance', instance, event: { type: 'sourceAddress', address } });

  #allVips(): Set<string> {
    const out = new Set<string>();
    for (const i of this.#ctx.engine.instances()) {
      for (const v of [...i.params.vips, ...i.params.excludedVips]) out.add(v.address);
    }
    return out;
  }

  /**
   * An instance without unicast_src_ip/mcast_src_ip sends from its interface's primary IPv4 address or its
   * IPv6 link-local, which keepalived follows through netlink (docs/keepalived-semantics.md, 'Advert source
   * address'): when it changes, the instance gets the new source (the engine's reload keeps its state). An
   * IPv6 socket is bound to its source, so it moves only when that address is gone — a link re-created with
   * another MAC, an address replaced by hand — and not while the kernel re-adds the same link-local after a
   * link flap.
   */
  #followSource(ifindex: number): void {
    const ctx = this.#ctx;
    const table = ctx.table;
    const ifname = table.linkByIndex(ifindex)?.name;
    if (ifname === undefined) return;
    // Worked out once per interface and family, not once per instance.
    let source4: string | undefined | null = null;
    let usable6: Set<string> | null = null;
    let source6: string | undefined | null = null;
    let vips: Set<string> | null = null;
    const allVips = () => (vips ??= this.#allVips());
    const hasOwn = new Map<number, boolean>();
    for (const inst of ctx.engine.instances()) {
      const p = inst.params;
      const w = ctx.plan.wiring.get(p.name);
      if (p.interface !== ifname || !w || w.fixedSource !== false) continue;
      // keepalived (docs/hostile-network.md): no address of its own left on the interface (`ip addr flush`)
      // is a FAULT until one returns. Not for use_vmac instances, whose IPv4 source is the parent's, nor with
      // dont_track_primary (the kernel flushes IPv6 addresses with the link, which such an instance ignores).
      let own = hasOwn.get(p.family);
      if (own === undefined) {
        own = hasOwnAddress(table, ifname, p.family, allVips());
        hasOwn.set(p.family, own);
      }
      const lost = !p.dontTrackPrimary && !ctx.dumpFlags(p.name)?.vmacIfname && !own;
      const faulted = inst.status().fault.address;
      if (lost) {
        if (faulted) continue;
        ctx.log.info(
          `(${p.name}) no IPv${p.family} address of its own left on ${ifname}: FAULT until one returns`,
        );
        ctx.handle({ type: 'instance', instance: p.name, event: { type: 'sourceAddress', address: null } });
        continue;
      }
      let src: string | undefined;
      if (p.family === 4) {
        if (source4 === null) source4 = table.defaultSource(ifname, 4, allVips());
        src = source4;
      } else {
        usable6 ??= new Set(
          table
            .addresses(ifname, 6)
            .filter((a) => !a.tentative)
            .map((a) => a.address),
        );
        if (usable6.has(p.primaryAddress)) src = p.primaryAddress;
        else {
          if (source6 === null) source6 = table.defaultSource(ifname, 6);
          src = source6;
        }
      }
      // A tentative link-local after the address came back: up again now, on the same source until DAD ends.
      if (src === undefined && faulted) src = p.primaryAddress;
      if (src === undefined || (src === p.primaryAddress && !faulted)) continue;
      // A socket still waiting for its source (vrrp-sockets.ts) is tried again too; while it waits the
      // instance stays in FAULT (trackSources, which runs after this).
      const unbound = ctx.pool.waitingForSource(p.name) !== undefined;
      if (p.family === 6 && (src !== p.primaryAddress || unbound)) {
        const r = ctx.pool.rebind(w, src);
        if (!r.ok) {
          ctx.log.error(`(${p.name}) cannot send from ${src}: ${r.error.message}`);
          continue;
        }
        if (ctx.pool.waitingForSource(p.name)) continue;
      }
      // (From the any-address: the instance had none yet, engine-plan/instance.ts.)
      if (src !== p.primaryAddress && p.primaryAddress !== '0.0.0.0' && p.primaryAddress !== '::')
        ctx.log.info(`(${p.name}) source address changed from ${p.primaryAddress} to ${src}`);
      ctx.handle({ type: 'instance', instance: p.name, event: { type: 'sourceAddress', address: src } });
    }
  }

  /** After lost netlink events (socket overflow): re-list, and report the link changes we missed. */
  async resync(): Promise<void> {
    const ctx = this.#ctx;
    const t = await InterfaceTable.load(this.#nl);
    if (!t.ok || ctx.state !== 'running') return;
    ctx.table.replaceWith(t.value);
    for (const [ifname, prev] of this.#linkUp) {
      const up = ctx.table.isUp(ifname);
      if (up === prev) continue;
      this.#linkUp.set(ifname, up);
      ctx.log.info(`Netlink reports ${ifname} ${up ? 'up' : 'down'} (resync)`);
      ctx.handle({ type: 'link', ifname, up });
      if (up) this.#reinstallOn(ifname);
    }
    this.trackSources(this.#toEngine);
  }

  /** The kernel flushes IPv6 addresses on link down: a master puts its VIPs on that link back. */
  #reinstallOn(ifname: string): void {
    const { vips, engine } = this.#ctx;
    for (const x of vips.on(ifname)) {
      if (x.instance !== STATIC_OWNER && engine.instance(x.instance)?.state !== 'MASTER') continue;
      vips.add(x.instance, [x.vip], ifname);
    }
  }

  /**
   * A VIP deleted behind our back while MASTER (docs/hostile-network.md): keepalived forces the instance to
   * BACKUP with its down timer at Skew_Time (master again, VIPs re-added, before a lower-priority backup would
   * take over); `no_track` VIPs are left alone. Deletions caused by a link going down are not that: the VIP
   * comes back with the link.
   */
  #addressDeleted(address: string, ifindex: number): void {
    const { table, vips, engine, log } = this.#ctx;
    const ifname = table.linkByIndex(ifindex)?.name;
    if (ifname === undefined) return;
    const owner = vips.owner(address, ifname);
    if (!owner || !table.isUp(ifname) || vips.busy(address, ifname)) return;
    if (owner.instance === STATIC_OWNER) {
      // keepalived re-adds a deleted static address (docs/keepalived-semantics.md).
      log.info(`static address ${address} deleted - re-adding`);
      vips.add(STATIC_OWNER, [owner.vip], ifname);
      return;
    }
    const inst = engine.instance(owner.instance);
    if (inst?.state !== 'MASTER') return;
    if (owner.vip.options?.noTrack === true) {
      vips.forget(address, ifname);
      return;
    }
    if (inst.params.basePriority === PRIORITY_OWNER) {
      // An address owner stays master whatever happens: put the address back.
      log.info(`(${inst.name}) VIP ${address} deleted - re-adding (address owner)`);
      vips.add(inst.name, [owner.vip], ifname);
      return;
    }
    // keepalived 2.2.7 (seen in netns): "Netlink reflector reports IP … removed", BACKUP, "sent 0 priority",
    // VIPs removed; the engine's vipDeleted does all three and arms its down timer at Skew_Time.
    log.info(`Netlink reflector reports IP ${address} removed from ${ifname}`);
    log.info(`(${inst.name}) VIP ${address} deleted - going to BACKUP`);
    this.#ctx.handle({
      type: 'instance',
      instance: inst.name,
      event: { type: 'vipDeleted', address: owner.vip.address },
    });
  }
}
