// Link and address notifications from rtnetlink (groups LINK, IPV4_IFADDR, IPV6_IFADDR) on a koffi socket
// of our own, parsed by the `netlink` package's pure-JS parsers. The package's native socket is not used: a
// receive-buffer overrun (ENOBUFS, flagged as EPOLLERR) made it throw inside its poll callback and abort
// the process — every daemon that set more than ~256 addresses at once (docs/netlink.md).
import { escalate } from './escalate.js';
import { AF_NETLINK, NETLINK_ROUTE, SOL_SOCKET } from './libc.js';
import type { NetError, NetResult } from './net-error.js';
import { ok } from './net-error.js';
import { eventOf } from './netlink-messages.js';
import type { NetlinkEvent } from './netlink-types.js';
import { RawSocket } from './raw-socket.js';
import { int32, sockaddrNl } from './sockaddr.js';

export type NetlinkEventHandler = (e: NetlinkEvent) => void;

const NLMSG_HDRLEN = 16;
const RTMGRP_LINK = 0x1;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV6_IFADDR = 0x100;
const SO_RCVBUFFORCE = 33;
const SO_RCVBUF = 8;
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
    const r = RawSocket.open(AF_NETLINK, NETLINK_ROUTE, 'rtnetlink monitor');
    if (!r.ok) return r;
    const sock = r.value;
    if (!sock.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, int32(receiveBufferBytes)).ok) {
      sock.setsockopt(SOL_SOCKET, SO_RCVBUF, int32(receiveBufferBytes));
    }
    const bound = sock.bind(sockaddrNl(0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR));
    if (!bound.ok) {
      sock.close();
      return bound;
    }
    const mon = new NetlinkMonitor(sock);
    const report = (e: NetError) => {
      if (onError) onError(e);
    };
    const receiving = sock.onDatagram(
      (bytes, source) => mon.#onDatagram(bytes, source, handler, report),
      (e) => report({ ...e, message: `netlink monitor: ${e.message}` }),
    );
    if (!receiving.ok) {
      sock.close();
      return receiving;
    }
    sock.unref();
    return ok(mon);
  }

  #onDatagram(
    bytes: Uint8Array,
    source: Uint8Array,
    handler: NetlinkEventHandler,
    report: (e: NetError) => void,
  ): void {
    // Only the kernel (port 0) sends notifications.
    if (source.length < 12 || new DataView(source.buffer, source.byteOffset, 12).getUint32(4, true) !== 0)
      return;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let off = 0; off + NLMSG_HDRLEN <= bytes.length && !this.#closed; ) {
      const len = v.getUint32(off, true);
      if (len < NLMSG_HDRLEN || off + len > bytes.length) return;
      const type = v.getUint16(off + 4, true);
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
      off += (len + 3) & ~3;
      if (!ev) continue;
      try {
        handler(ev);
      } catch (userError) {
        // A bug in the handler: on a clean stack, where the daemon's fatal handler takes it (escalate.ts).
        escalate('netlink event handler', userError);
        return;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }
}
