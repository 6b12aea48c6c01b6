// Installs and removes an instance's virtual addresses through rtnetlink, in the order the engine asked
// (requests are written in call order and the kernel applies them in that order: a quick MASTER → BACKUP →
// MASTER cannot reorder an add and a delete). It remembers
// which addresses each instance has installed, so the runtime can tell our own deletions from an address
// removed behind our back, and re-add addresses after a link comes back (the kernel flushes IPv6 addresses
// on link down unless keep_addr_on_down).

import type { Logger } from '../common/logger.js';
import { IPV6_LIFETIME_FOREVER } from '../config/model.js';
import { addressOn, vipBroadcast } from '../net/inet.js';
import { ok } from '../net/net-error.js';
import type { EncodedRequest, Netlink } from '../net/netlink.js';
import type { AddressSpec } from '../net/netlink-types.js';
import type { DatagramSink, PreparedWrite } from '../net/prepared-write.js';
import type { JsonValue, VirtualAddress } from '../vrrp/instance-params.js';
import type { InterfaceTable } from './interface-table.js';
import { routeRequest, ruleRequest } from './route-spec.js';

/** How long after our own request a deletion notification for the same address is taken to be ours. */
const NOTIFICATION_GRACE_MS = 200;

export interface InstalledVip {
  instance: string;
  vip: VirtualAddress;
  ifname: string;
}

function familyOf(v: VirtualAddress): 4 | 6 {
  const f = v.options?.family;
  return f === 6 || (f === undefined && v.address.includes(':')) ? 6 : 4;
}

export class VipInstaller {
  readonly #nl: Netlink;
  readonly #table: InterfaceTable;
  readonly #log: Logger;
  /** key `address%ifname` → owner. */
  readonly #installed = new Map<string, InstalledVip>();
  #queue: Promise<void> = Promise.resolve();
  /** Keys with a request queued or just answered (see #enqueue). */
  readonly #busy = new Map<string, number>();
  /**
   * Each VIP's add request, encoded once (see EncodedRequest) for the interface index it was encoded
   * for: a VIP is the same object for an instance's whole configuration, and a reload builds new ones.
   */
  readonly #encodedAdds = new WeakMap<
    VirtualAddress,
    { ifname: string; ifindex: number; request: EncodedRequest }
  >();

  constructor(nl: Netlink, table: InterfaceTable, log: Logger) {
    this.#nl = nl;
    this.#table = table;
    this.#log = log;
  }

  #spec(v: VirtualAddress, ifname: string): AddressSpec | string {
    const link = this.#table.link(ifname);
    if (!link) return `no interface ${ifname} for ${v.address}`;
    const o = v.options ?? {};
    const spec: AddressSpec = { ifindex: link.index, address: v.address, prefixLen: v.prefixLen };
    if (typeof o.label === 'string') spec.label = o.label;
    // `brd +` is the subnet's broadcast, `brd -` none (keepalived computes them; the kernel takes an address).
    const brd = typeof o.broadcast === 'string' ? vipBroadcast(o.broadcast, v.address, v.prefixLen) : null;
    if (brd !== null) spec.broadcast = brd;
    if (typeof o.scope === 'string') spec.scope = o.scope as AddressSpec['scope'];
    // keepalived adds IPv6 VIPs without duplicate address detection, so they are usable at once.
    if (familyOf(v) === 6) spec.nodad = true;
    if (Array.isArray(o.flags) && o.flags.includes('noprefixroute')) spec.noprefixroute = true;
    // IPv6: a /128 is deprecated by default (VipConfig.preferredLft), so the host never sends from it.
    if (typeof o.preferredLft === 'number' && o.preferredLft !== IPV6_LIFETIME_FOREVER)
      spec.preferredLft = o.preferredLft;
    return spec;
  }

  /**
   * Sends a request now and tracks its answer. rtnetlink applies a request inside the sendmsg() that carries
   * it, in the order they are sent, so requests are written at once, one after the other, without waiting for
   * each answer (keepalived waits for each; for us every wait is a turn of the event loop, and a takeover's
   * gratuitous ARP would wait behind them). For our own deletions `deleting` names the address: it counts as
   * busy until the request is answered and the kernel's notification of it has had time to arrive (the
   * notification comes on the monitor socket, in no fixed order with our answer), so that after a quick
   * MASTER → BACKUP → MASTER our own deletion is not mistaken for someone else's.
   */
  #enqueue(op: () => Promise<void>, deleting?: string): void {
    if (deleting !== undefined) this.#busy.set(deleting, (this.#busy.get(deleting) ?? 0) + 1);
    const answered = op()
      .catch((e: unknown) => this.#log.error(`netlink request failed: ${(e as Error).message}`))
      .finally(() => {
        if (deleting === undefined) return;
        setTimeout(() => {
          const n = (this.#busy.get(deleting) ?? 1) - 1;
          if (n > 0) this.#busy.set(deleting, n);
          else this.#busy.delete(deleting);
        }, NOTIFICATION_GRACE_MS).unref();
      });
    this.#queue = Promise.all([this.#queue, answered]).then(() => {});
  }

  /** The add request for `v` on `ifname`, encoded now or earlier; a string says why there is none. */
  #encodedAdd(v: VirtualAddress, ifname: string): EncodedRequest | string {
    const ifindex = this.#table.link(ifname)?.index;
    const have = this.#encodedAdds.get(v);
    if (have && have.ifname === ifname && have.ifindex === ifindex) return have.request;
    const spec = this.#spec(v, ifname);
    if (typeof spec === 'string') return spec;
    const r = this.#nl.encodeAddress(true, spec);
    if (!r.ok) return r.error.message;
    this.#encodedAdds.set(v, { ifname, ifindex: spec.ifindex, request: r.value });
    return r.value;
  }

  /**
   * Adds `vips`, recorded as `instance`'s. A VIP whose interface does not exist (a `dev` named under
   * dynamic_interfaces) is not added and not recorded: keepalived 2.2.7 leaves it unset, does not add it when
   * the interface appears, and its data dump does not call it `set` (docs/notify-data-dump.md).
   */
  add(instance: string, vips: VirtualAddress[], defaultIf: string): void {
    for (const v of vips) {
      const ifname = v.dev ?? defaultIf;
      if (this.#table.link(ifname))
        this.#installed.set(addressOn(v.address, ifname), { instance, vip: v, ifname });
    }
    this.prepareAdd(instance, vips, defaultIf).write();
  }

  /**
   * The rtnetlink writes of add(), without its record of what is installed. Written to a sink (ahead of a
   * likely takeover) it runs the same code — each request encoded and kept, the write going nowhere — so the
   * takeover writes requests already built, through code that has already run.
   */
  prepareAdd(instance: string, vips: VirtualAddress[], defaultIf: string): PreparedWrite {
    return {
      write: (sink) => {
        for (const v of vips) this.#writeAdd(instance, v, v.dev ?? defaultIf, sink);
        return ok(undefined);
      },
    };
  }

  #writeAdd(instance: string, v: VirtualAddress, ifname: string, sink: DatagramSink | undefined): void {
    if (!sink && !this.#table.link(ifname)) {
      // keepalived 2.2.7's words, at its level: a missing interface is no error under dynamic_interfaces.
      this.#log.info(`Not adding address ${v.address} to ${ifname} since interface doesn't exist`);
      return;
    }
    const key = addressOn(v.address, ifname);
    // The record add() made for this very request: a failure un-records it, not a later add's record.
    const record = sink ? undefined : this.#installed.get(key);
    const failed = () => {
      if (record !== undefined && this.#installed.get(key) === record) this.#installed.delete(key);
    };
    this.#enqueue(async () => {
      const request = this.#encodedAdd(v, ifname);
      if (typeof request === 'string') {
        // A rehearsal's failure is the real write's to report.
        if (!sink) this.#log.error(`(${instance}) cannot add VIP: ${request}`);
        failed();
        return;
      }
      const r = await this.#nl.prepare(request).write(sink);
      // Already there (we were master before a restart, or an admin added it): it is ours now. Any other
      // refusal leaves it not installed: keepalived 2.2.7 clears the address's `set` (its data dump).
      if (!r.ok && r.error.code !== 'KA_NETLINK_EEXIST') {
        this.#log.error(`(${instance}) ${r.error.message}`);
        failed();
      }
    });
  }

  remove(instance: string, vips: VirtualAddress[], defaultIf: string): void {
    for (const v of vips) {
      const ifname = v.dev ?? defaultIf;
      const key = addressOn(v.address, ifname);
      this.#installed.delete(key);
      this.#enqueue(async () => {
        const spec = this.#spec(v, ifname);
        if (typeof spec === 'string') return;
        const r = await this.#nl.deleteAddress(spec);
        // Gone already (link flushed, removed by hand, or the interface deleted with it): nothing to do.
        const gone = ['KA_NETLINK_EADDRNOTAVAIL', 'KA_NETLINK_ENOENT', 'KA_NETLINK_ENODEV'];
        if (!r.ok && !gone.includes(r.error.code)) {
          this.#log.error(`(${instance}) ${r.error.message}`);
        }
      }, key);
    }
  }

  /** Installs virtual_routes or virtual_rules (as the engine carries them, route-spec.ts); an existing one is fine. */
  addRoutes(instance: string, kind: 'route' | 'rule', items: JsonValue[]): void {
    this.#routes(instance, kind, items, true);
  }

  /** Removes virtual_routes or virtual_rules; a missing one is fine. */
  removeRoutes(instance: string, kind: 'route' | 'rule', items: JsonValue[]): void {
    this.#routes(instance, kind, items, false);
  }

  #routes(instance: string, kind: 'route' | 'rule', items: JsonValue[], add: boolean): void {
    for (const item of items) {
      this.#enqueue(async () => {
        let r: Awaited<ReturnType<Netlink['addRoute']>>;
        let what: string;
        if (kind === 'route') {
          const p = routeRequest(item, (name) => this.#table.link(name)?.index);
          if (!p) return;
          what = `virtual_route '${p.line}'`;
          // Removing a route whose interface is gone: the kernel took the route with it.
          if (typeof p.spec === 'string') {
            if (add) this.#log.error(`(${instance}) ${what}: ${p.spec}`);
            return;
          }
          r = add ? await this.#nl.addRoute(p.spec) : await this.#nl.deleteRoute(p.spec);
        } else {
          const p = ruleRequest(item);
          if (!p) return;
          what = `virtual_rule '${p.line}'`;
          r = add ? await this.#nl.addRule(p.spec) : await this.#nl.deleteRule(p.spec);
        }
        if (r.ok) return;
        const benign = add
          ? r.error.code === 'KA_NETLINK_EEXIST'
          : r.error.code === 'KA_NETLINK_ENOENT' || r.error.code === 'KA_NETLINK_ENODEV';
        if (!benign) this.#log.error(`(${instance}) ${what}: ${r.error.message}`);
      });
    }
  }

  /** The installed VIP at (address, interface), if one of ours. */
  owner(address: string, ifname: string): InstalledVip | undefined {
    return this.#installed.get(addressOn(address, ifname));
  }

  /** True while a deletion of ours for this address is pending or was just answered. */
  busy(address: string, ifname: string): boolean {
    return this.#busy.has(addressOn(address, ifname));
  }

  /** Forget an address the kernel removed (so a later re-add is recorded afresh). */
  forget(address: string, ifname: string): void {
    this.#installed.delete(addressOn(address, ifname));
  }

  /** Installed VIPs of every instance on `ifname` (to re-add after link up). */
  on(ifname: string): InstalledVip[] {
    return [...this.#installed.values()].filter((x) => x.ifname === ifname);
  }

  /** Whether `instance` has (address, interface) installed: keepalived's `set` of a VIP in its data dump. */
  isSet(instance: string, address: string, ifname: string): boolean {
    return this.#installed.get(addressOn(address, ifname))?.instance === instance;
  }

  /** Every installed VIP, by owner (an instance, or the static addresses' owner). */
  installedByOwner(): Map<string, InstalledVip[]> {
    const out = new Map<string, InstalledVip[]>();
    for (const x of this.#installed.values()) {
      const list = out.get(x.instance);
      if (list) list.push(x);
      else out.set(x.instance, [x]);
    }
    return out;
  }

  /** Resolves when every queued request has been answered (or timed out). */
  idle(timeoutMs: number): Promise<void> {
    return Promise.race([this.#queue, new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }
}
