// What the daemon knows about this host's links and addresses: listed once through rtnetlink, then kept
// current from NetlinkMonitor events. Answers the questions the runtime asks: is a link usable (admin up
// with carrier — keepalived treats carrier loss as down), its index and MAC, and the default VRRP source
// (primary IPv4 / link-local IPv6, docs/keepalived-semantics.md, 'Advert source address').

import type { NetResult } from '../net/net-error.js';
import { ok } from '../net/net-error.js';
import type { AddressInfo, LinkInfo, Netlink, NetlinkEvent } from '../net/netlink.js';
import type { IpFamily } from '../vrrp/advert.js';

function isLinkLocal6(addr: string): boolean {
  return /^fe[89ab][0-9a-f]?:/i.test(addr);
}

export class InterfaceTable {
  readonly #links = new Map<number, LinkInfo>();
  #addrs: AddressInfo[] = [];

  static async load(nl: Netlink): Promise<NetResult<InterfaceTable>> {
    const links = await nl.listLinks();
    if (!links.ok) return links;
    const addrs = await nl.listAddresses();
    if (!addrs.ok) return addrs;
    const t = new InterfaceTable();
    for (const l of links.value) t.#links.set(l.index, l);
    t.#addrs = addrs.value;
    return ok(t);
  }

  link(name: string): LinkInfo | undefined {
    for (const l of this.#links.values()) if (l.name === name) return l;
    return undefined;
  }

  /** Every link's name, by index. */
  names(): string[] {
    return [...this.#links.values()].sort((a, b) => a.index - b.index).map((l) => l.name);
  }

  linkByIndex(index: number): LinkInfo | undefined {
    return this.#links.get(index);
  }

  /** Usable for VRRP: administratively up and with carrier. */
  isUp(name: string): boolean {
    const l = this.link(name);
    return l?.up === true && l.carrier;
  }

  /** Whether `address` is on `ifname`, or with no `ifname` on any interface of the host. */
  hasAddress(address: string, ifname?: string): boolean {
    if (ifname === undefined) return this.#addrs.some((a) => a.address === address);
    return this.addresses(ifname).some((a) => a.address === address);
  }

  addresses(ifname: string, family?: IpFamily): AddressInfo[] {
    const l = this.link(ifname);
    if (!l) return [];
    return this.#addrs.filter((a) => a.index === l.index && (family === undefined || a.family === family));
  }

  /**
   * keepalived's default source: the interface's primary (first non-secondary) IPv4 address, or its IPv6
   * link-local address. A tentative link-local (DAD still running) cannot be bound yet, so it does not count.
   */
  defaultSource(
    ifname: string,
    family: IpFamily,
    exclude: ReadonlySet<string> = new Set(),
  ): string | undefined {
    const list = this.addresses(ifname, family).filter((a) => !exclude.has(a.address));
    if (family === 4) return (list.find((a) => !a.secondary) ?? list[0])?.address;
    return list.find((a) => isLinkLocal6(a.address) && !a.tentative)?.address;
  }

  /** Takes over the contents of a fresh listing (after lost events), keeping this object's identity. */
  replaceWith(other: InterfaceTable): void {
    this.#links.clear();
    for (const [k, v] of other.#links) this.#links.set(k, v);
    this.#addrs = [...other.#addrs];
  }

  /** Applies one monitor event. */
  apply(ev: NetlinkEvent): void {
    if (ev.kind === 'link') {
      const { kind: _k, action, ...info } = ev;
      if (action === 'del') this.#links.delete(info.index);
      else this.#links.set(info.index, info);
      return;
    }
    const { kind: _k, action, ...info } = ev;
    const same = (a: AddressInfo) =>
      a.index === info.index && a.family === info.family && a.address === info.address;
    this.#addrs = this.#addrs.filter((a) => !same(a));
    if (action === 'add') this.#addrs.push(info);
  }
}
