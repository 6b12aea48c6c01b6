// Link and address notifications from rtnetlink (groups LINK, IPV4_IFADDR, IPV6_IFADDR), read one layer
// below the `netlink` package's RtNetlinkSocket 'message' event, which drops nlmsg_type (so NEWADDR and
// DELADDR would look alike).
import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import type { NetError, NetResult } from './net-error.js';
import { ok } from './net-error.js';
import { eventOf, netlinkError } from './netlink-messages.js';
import type { NetlinkEvent } from './netlink-types.js';

export type NetlinkEventHandler = (e: NetlinkEvent) => void;

/**
 * Subscribes to link and IPv4/IPv6 address notifications. The socket does not keep the process alive. Events come from the kernel's multicast groups
 * in order. A kernel-side overflow (ENOBUFS) is reported through onError: events were lost, and the owner
 * should re-list links and addresses.
 */
export class NetlinkMonitor {
  readonly #sock: RtNetlinkSocket;
  #closed = false;

  private constructor(sock: RtNetlinkSocket) {
    this.#sock = sock;
  }

  static open(handler: NetlinkEventHandler, onError?: (e: NetError) => void): NetResult<NetlinkMonitor> {
    let sock: RtNetlinkSocket;
    try {
      sock = createRtNetlink();
      for (const g of ['LINK', 'IPV4_IFADDR', 'IPV6_IFADDR'] as const) sock.addMembership(g);
    } catch (e) {
      return { ok: false, error: netlinkError('open rtnetlink monitor', e) };
    }
    const mon = new NetlinkMonitor(sock);
    const report = (e: NetError) => {
      if (onError) onError(e);
    };
    sock.socket.on('error', (e) => report(netlinkError('netlink monitor', e)));
    sock.socket.on('message', (msgs) => {
      for (const raw of msgs) {
        if (mon.#closed) return;
        let ev: NetlinkEvent | undefined;
        try {
          ev = eventOf(raw.type, raw.data);
        } catch (e) {
          report({
            code: 'KA_NETLINK_OS',
            message: `unparsable netlink message ${raw.type}: ${(e as Error).message}`,
          });
          continue;
        }
        if (!ev) continue;
        try {
          handler(ev);
        } catch (userError) {
          // A bug in the handler must not stop the remaining messages of this batch; report it like any
          // uncaught callback error, on a clean stack.
          setImmediate(() => {
            throw userError;
          });
        }
      }
    });
    return ok(mon);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.socket.close();
  }
}
