// What the two rtnetlink sockets (rtnl-writer.ts for requests, netlink-monitor.ts for notifications) share:
// opening one on koffi with a large receive buffer, and walking the messages of a datagram from the kernel.
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_ROUTE,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOL_NETLINK,
  SOL_SOCKET,
} from './libc.js';
import { type NetError, type NetResult, ok } from './net-error.js';
import { NLMSG_HDRLEN } from './nlmsg.js';
import { RawSocket } from './raw-socket.js';
import { int32, sockaddrNl } from './sockaddr.js';

export interface RtnlSocketOptions {
  label: string;
  /** Multicast groups to join (RTMGRP_* bits); 0 for a request socket. */
  groups: number;
  receiveBufferBytes: number;
  /** Acknowledgements without a copy of the request (NETLINK_CAP_ACK): a third of the room per answer. */
  capAck?: boolean;
  onDatagram: (bytes: Uint8Array, source: Uint8Array) => void;
  onError: (e: NetError) => void;
}

/** An rtnetlink socket bound (port chosen by the kernel) and receiving; it does not keep the process alive. */
export function openRtnlSocket(o: RtnlSocketOptions): NetResult<RawSocket> {
  const r = RawSocket.open(AF_NETLINK, NETLINK_ROUTE, o.label);
  if (!r.ok) return r;
  const sock = r.value;
  // SO_RCVBUFFORCE passes the rmem_max cap (we run with CAP_NET_ADMIN); SO_RCVBUF is the fallback.
  if (!sock.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, int32(o.receiveBufferBytes)).ok) {
    sock.setsockopt(SOL_SOCKET, SO_RCVBUF, int32(o.receiveBufferBytes));
  }
  if (o.capAck) sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, int32(1));
  const bound = sock.bind(sockaddrNl(0, o.groups));
  const receiving = bound.ok ? sock.onDatagram(o.onDatagram, o.onError) : bound;
  if (!receiving.ok) {
    sock.close();
    return receiving;
  }
  sock.unref();
  return ok(sock);
}

/**
 * Each message of a datagram the kernel (port 0) sent: its type, sequence number and the offset and length
 * of the whole message (header included) in `bytes`. Stops at a malformed length; `visit` returning false
 * stops too. Datagrams from anyone but the kernel are ignored.
 */
export function forEachKernelMessage(
  bytes: Uint8Array,
  source: Uint8Array,
  visit: (type: number, seq: number, off: number, len: number, view: DataView) => boolean | undefined,
): void {
  if (source.length < 12 || new DataView(source.buffer, source.byteOffset, 12).getUint32(4, true) !== 0)
    return;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off + NLMSG_HDRLEN <= bytes.length; ) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > bytes.length) return;
    if (visit(v.getUint16(off + 4, true), v.getUint32(off + 8, true), off, len, v) === false) return;
    off += (len + 3) & ~3;
  }
}
