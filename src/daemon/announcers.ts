// Gratuitous ARP / unsolicited NA for a master's addresses (RFC 5798 §6.4.2; schedule from the engine's
// sendGarp actions, garp-schedule.ts). One AnnounceSender (AF_PACKET) per interface, opened on first use.
// The sender MAC is the interface's; the NA Router flag follows the interface's IPv6 forwarding sysctl, as
// keepalived does (docs/keepalived-semantics.md, 'GARP and unsolicited NA').
import { readFileSync } from 'node:fs';
import { monotonicUs } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { AnnounceSender } from '../net/garp.js';
import { type NetResult, ok } from '../net/net-error.js';
import type { DatagramSink, PreparedWrite } from '../net/prepared-write.js';
import type { VirtualAddress } from '../vrrp/instance-params.js';
import type { InterfaceTable } from './interface-table.js';

/** How long a reading of the forwarding sysctl serves: thousands of NAs in one takeover read it once. */
const FORWARDING_TTL_US = 1_000_000;
const forwarding = new Map<string, { value: boolean; atUs: number }>();

function forwardingV6(ifname: string): boolean {
  const now = monotonicUs();
  const had = forwarding.get(ifname);
  if (had && now - had.atUs < FORWARDING_TTL_US) return had.value;
  let value = false;
  try {
    value = readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    /* no such interface any more: not a router */
  }
  forwarding.set(ifname, { value, atUs: now });
  return value;
}

export interface AnnouncePacing {
  garpIntervalUs: number;
  gnaIntervalUs: number;
  /** garp_group { interfaces … } overrides. */
  perInterface?: Map<string, { garpIntervalUs?: number; gnaIntervalUs?: number }>;
}

export class Announcers {
  readonly #senders = new Map<string, AnnounceSender>();
  readonly #table: InterfaceTable;
  readonly #log: Logger;

  readonly #pacing: AnnouncePacing;
  /** Per interface and kind (ARP / NA): frames waiting for their turn, and when the last one left. */
  readonly #queues = new Map<
    string,
    { pending: (() => void)[]; timer: NodeJS.Timeout | null; lastUs: number }
  >();

  constructor(
    table: InterfaceTable,
    log: Logger,
    pacing: AnnouncePacing = { garpIntervalUs: 0, gnaIntervalUs: 0 },
  ) {
    this.#table = table;
    this.#log = log;
    this.#pacing = pacing;
  }

  /** keepalived's garp_interval / gna_interval: the minimum gap between two announcements on an interface. */
  #intervalUs(ifname: string, na: boolean): number {
    const own = this.#pacing.perInterface?.get(ifname);
    return (
      (na ? own?.gnaIntervalUs : own?.garpIntervalUs) ??
      (na ? this.#pacing.gnaIntervalUs : this.#pacing.garpIntervalUs)
    );
  }

  /**
   * Sends at once or queues behind the interface's last announcement. Pacing is for the wire: a write to a
   * sink (a rehearsal) goes at once, past the queue, never delaying a real one.
   */
  #emit(ifname: string, na: boolean, send: () => void, sink: DatagramSink | undefined): void {
    const intervalUs = this.#intervalUs(ifname, na);
    if (intervalUs <= 0 || sink) return send();
    const key = `${ifname}/${na ? 'na' : 'arp'}`;
    let q = this.#queues.get(key);
    if (!q) {
      q = { pending: [], timer: null, lastUs: Number.NEGATIVE_INFINITY };
      this.#queues.set(key, q);
    }
    q.pending.push(send);
    if (q.timer === null) this.#drain(q, intervalUs);
  }

  #drain(
    q: { pending: (() => void)[]; timer: NodeJS.Timeout | null; lastUs: number },
    intervalUs: number,
  ): void {
    q.timer = null;
    const waitUs = q.lastUs + intervalUs - monotonicUs();
    if (waitUs > 0) {
      q.timer = setTimeout(() => this.#drain(q, intervalUs), Math.ceil(waitUs / 1000));
      return;
    }
    const send = q.pending.shift();
    if (!send) return;
    send();
    q.lastUs = monotonicUs();
    if (q.pending.length > 0)
      q.timer = setTimeout(() => this.#drain(q, intervalUs), Math.ceil(intervalUs / 1000));
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
    const round = this.prepare(instance, addresses, vips, defaultIf);
    for (let k = 0; k < repeat; k++) round.write();
  }

  /**
   * One round of announce() as a prepared write. Written to a sink (ahead of a likely takeover) it opens the
   * senders, builds and keeps the frames and goes once through the very functions a real announcement runs:
   * a first announcement otherwise opens its AF_PACKET socket and runs code that has not run in this process
   * (docs/decisions/takeover-warm-up.md).
   */
  prepare(instance: string, addresses: string[], vips: VirtualAddress[], defaultIf: string): PreparedWrite {
    const plan: { ifname: string; address: string }[] = [];
    for (const address of addresses) {
      const ifname = vips.find((v) => v.address === address)?.dev ?? defaultIf;
      if (this.#table.isUp(ifname)) plan.push({ ifname, address });
    }
    return {
      write: (sink) => {
        for (const { ifname, address } of plan) {
          // By the address, not the instance: excluded VIPs may be of the other family.
          const na = address.includes(':');
          this.#emit(ifname, na, () => this.#send(instance, ifname, address, na, sink), sink);
        }
        return ok(undefined);
      },
    };
  }

  /** One announcement, with the interface's MAC and sender as they are when it leaves (it may be paced). */
  #send(
    instance: string,
    ifname: string,
    address: string,
    na: boolean,
    sink: DatagramSink | undefined,
  ): void {
    const mac = this.#table.link(ifname)?.mac;
    const s = this.#sender(ifname);
    if (!s || !mac) return;
    const frame = s.prepare(address, mac, na && forwardingV6(ifname));
    const r: NetResult<void> = frame.ok ? frame.value.write(sink) : frame;
    // A rehearsal's failure is the real write's to report.
    if (!r.ok && !sink) this.#log.detail(`(${instance}) ${r.error.message}`);
  }

  /** The interface was deleted: its sender (bound to the old link) goes; one opens on the new link when needed. */
  forget(ifname: string): void {
    this.#senders.get(ifname)?.close();
    this.#senders.delete(ifname);
  }

  close(): void {
    for (const q of this.#queues.values()) if (q.timer) clearTimeout(q.timer);
    this.#queues.clear();
    for (const s of this.#senders.values()) s.close();
    this.#senders.clear();
  }
}
