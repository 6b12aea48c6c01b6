// Link and address notifications from rtnetlink (groups LINK, IPV4_IFADDR, IPV6_IFADDR) on a koffi socket
// of our own, parsed by the `netlink` package's pure-JS parsers. The package's native socket is not used: a
// receive-buffer overrun (ENOBUFS, flagged as EPOLLERR) made it throw inside its poll callback and abort
// the process — every daemon that set more than ~256 addresses at once (docs/netlink.md).
import { escalate } from './escalate.js';
import type { NetError, NetResult } from './net-error.js';
import { ok } from './net-error.js';
import { eventOf } from './netlink-messages.js';
import type { NetlinkEvent } from './netlink-types.js';
import { NLMSG_HDRLEN } from './nlmsg.js';
import type { RawSocket } from './raw-socket.js';
import { forEachKernelMessage, openRtnlSocket } from './rtnl-socket.js';

export type NetlinkEventHandler = (e: NetlinkEvent) => void;

const RTMGRP_LINK = 0x1;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV6_IFADDR = 0x100;
/**
 * Room for the notifications of a few thousand address changes made in one turn (each costs about 1 KiB of
 * buffer in the kernel's accounting). An overrun is still survived: it is reported and the owner re-lists.
 */
const RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Subscribes to link and IPv4/IPv6 address notifications. The socket does not keep the process alive.
 * Events come in the kernel's order. A kernel-side overflow (ENOBUFS) is reported through onError: events
 * were lost, and the owner should re-list links and addresses.
 */
export class NetlinkMonitor {
  readonly #sock: RawSocket;
  #closed = false;

  private constructor(sock: RawSocket) {
    this.#sock = sock;
  }

  /** `receiveBufferBytes` is for tests that provoke an overrun. */
  static open(
    handler: NetlinkEventHandler,
    onError?: (e: NetError) => void,
    receiveBufferBytes = RECEIVE_BUFFER_BYTES,
  ): NetResult<NetlinkMonitor> {
    const report = (e: NetError) => {
      if (onError) onError(e);
    };
    let mon: NetlinkMonitor | undefined;
    const r = openRtnlSocket({
      label: 'rtnetlink monitor',
      groups: RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
      receiveBufferBytes,
      onDatagram: (bytes, source) => {
        if (mon) mon.#onDatagram(bytes, source, handler, report);
      },
      onError: (e) => report({ ...e, message: `netlink monitor: ${e.message}` }),
    });
    if (!r.ok) return r;
    mon = new NetlinkMonitor(r.value);
    return ok(mon);
  }

  #onDatagram(
    bytes: Uint8Array,
    source: Uint8Array,
    handler: NetlinkEventHandler,
    report: (e: NetError) => void,
  ): void {
    // Only the kernel (port 0) sends notifications.
    forEachKernelMessage(bytes, source, (type, _seq, off, len) => {
      if (this.#closed) return false;
      let ev: NetlinkEvent | undefined;
      try {
        // A copy: the receive buffer is reused by the next read.
        ev = eventOf(type, Buffer.from(bytes.subarray(off + NLMSG_HDRLEN, off + len)));
      } catch (e) {
        report({
          code: 'KA_NETLINK_OS',
          message: `unparsable netlink message ${type}: ${(e as Error).message}`,
        });
      }
      if (!ev) return true;
      try {
        handler(ev);
      } catch (userError) {
        // A bug in the handler: on a clean stack, where the daemon's fatal handler takes it (escalate.ts).
        escalate('netlink event handler', userError);
        return false;
      }
      return true;
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }
}
