// Gratuitous ARP / unsolicited NA for a master's addresses (RFC 5798 §6.4.2; schedule from the engine's
// sendGarp actions, garp-schedule.ts). One AnnounceSender (AF_PACKET) per interface, opened on first use.
// The sender MAC is the interface's; the NA Router flag follows the interface's IPv6 forwarding sysctl, as
// keepalived does (notes §3.6).
import { readFileSync } from 'node:fs';
import { AnnounceSender } from '../net/garp.js';
import type { VirtualAddress } from '../vrrp/instance-params.js';
import type { InterfaceTable } from './interface-table.js';
import type { Logger } from './logger.js';

function forwardingV6(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export class Announcers {
  readonly #senders = new Map<string, AnnounceSender>();
  readonly #table: InterfaceTable;
  readonly #log: Logger;

  constructor(table: InterfaceTable, log: Logger) {
    this.#table = table;
    this.#log = log;
  }

  #sender(ifname: string): AnnounceSender | null {
    const have = this.#senders.get(ifname);
    if (have && !have.closed) return have;
    const r = AnnounceSender.open(ifname);
    if (!r.ok) {
      this.#log.error(r.error.message);
      return null;
    }
    this.#senders.set(ifname, r.value);
    return r.value;
  }

  /**
   * `repeat` rounds over `addresses` (each looked up among the instance's VIPs for its interface), back to
   * back. Addresses on a link that is down are skipped.
   */
  announce(
    instance: string,
    addresses: string[],
    repeat: number,
    vips: VirtualAddress[],
    defaultIf: string,
  ): void {
    const plan: { ifname: string; address: string }[] = [];
    for (const address of addresses) {
      const ifname = vips.find((v) => v.address === address)?.dev ?? defaultIf;
      if (this.#table.isUp(ifname)) plan.push({ ifname, address });
    }
    for (let round = 0; round < repeat; round++) {
      for (const { ifname, address } of plan) {
        const mac = this.#table.link(ifname)?.mac;
        const s = this.#sender(ifname);
        if (!s || !mac) continue;
        // By the address, not the instance: excluded VIPs may be of the other family.
        const r = address.includes(':')
          ? s.sendUnsolicitedNa(address, mac, forwardingV6(ifname))
          : s.sendGarp(address, mac);
        if (!r.ok) this.#log.detail(`(${instance}) ${r.error.message}`);
      }
    }
  }

  close(): void {
    for (const s of this.#senders.values()) s.close();
    this.#senders.clear();
  }
}
