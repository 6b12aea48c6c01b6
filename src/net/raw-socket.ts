// A raw (AF_INET/AF_INET6 SOCK_RAW) or packet (AF_PACKET) socket on the Node event loop, through koffi.
// `RawSocketPort` is the project's own seam: the daemon talks to it only, so this koffi implementation can
// be swapped for a native addon with the same surface (docs/linux-sockets.md, 'Why koffi').
//
// Receive path: koffi.node.poll (uv_poll on this thread's loop) wakes us; we drain with non-blocking
// recvmsg until EAGAIN (at most MAX_PER_WAKE = 64 datagrams, about 0.6 ms, so a flood cannot starve timers; the poll is
// level-triggered and fires again). koffi calls the poll callback with napi Call, not MakeCallback: an
// exception escaping it would be re-thrown later by an unrelated koffi call. So the whole callback is
// inside try/catch, and an exception from the user's handler is re-thrown on a clean stack via
// setImmediate, where Node reports it like any other uncaught callback error.
import type { IpFamily, RxMeta } from '../vrrp/advert.js';
import { escalate } from './escalate.js';
import { formatIpv4, formatIpv6 } from './inet.js';
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  EAGAIN,
  EINTR,
  IP_PKTINFO,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  type Libc,
  libc,
  type PollHandle,
  SO_TIMESTAMPNS,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
} from './libc.js';
import { closePolled, findCmsg, MAX_PER_WAKE, type ReceivedDatagram, RecvBuffer } from './msghdr.js';
import { fail, type NetError, type NetResult, ok, socketError } from './net-error.js';
import type { DatagramSink } from './prepared-write.js';
import { int32 } from './sockaddr.js';

/** Received on an AF_PACKET socket: the whole link-layer frame plus sockaddr_ll facts. */
export interface FrameMeta {
  ifindex: number;
  /** Ethertype (host order). */
  protocol: number;
  /** PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4. */
  pktType: number;
}

export type MessageHandler = (bytes: Uint8Array, meta: RxMeta) => void;
export type FrameHandler = (frame: Uint8Array, meta: FrameMeta) => void;
export type ErrorHandler = (error: NetError) => void;

/** The socket surface the daemon uses; implemented here with koffi. A socket is a DatagramSink. */
export interface RawSocketPort extends DatagramSink {
  readonly fd: number;
  readonly domain: number;
  readonly closed: boolean;
  setsockopt(level: number, name: number, value: number | Uint8Array): NetResult<void>;
  bind(sockaddr: Uint8Array): NetResult<void>;
  sendTo(data: Uint8Array, sockaddr: Uint8Array): NetResult<number>;
  /** IP sockets: (bytes, RxMeta). For AF_INET the bytes start at the IPv4 header, as the kernel gives them. */
  onMessage(handler: MessageHandler, onError?: ErrorHandler): NetResult<void>;
  /** AF_PACKET sockets: whole frames. */
  onFrame(handler: FrameHandler, onError?: ErrorHandler): NetResult<void>;
  /** Let the process exit while this socket is open (default: the socket keeps the loop alive). */
  unref(): void;
  close(): void;
}

export class RawSocket implements RawSocketPort {
  readonly fd: number;
  readonly domain: number;
  readonly #libc: Libc;
  readonly #label: string;
  #closed = false;
  #poll: PollHandle | undefined;
  #recv: RecvBuffer | undefined;
  #unref = false;

  private constructor(lib: Libc, fd: number, domain: number, label: string) {
    this.#libc = lib;
    this.fd = fd;
    this.domain = domain;
    this.#label = label;
  }

  /**
   * socket(domain, SOCK_RAW | NONBLOCK | CLOEXEC, protocol). CLOEXEC so notify scripts never inherit raw
   * sockets. IP sockets get IP_PKTINFO / IPV6_RECVPKTINFO + IPV6_RECVHOPLIMIT turned on, because RxMeta
   * (destination, ifindex, hop limit) depends on them. For AF_PACKET use openPacket().
   */
  static open(domain: number, protocol: number, label = ''): NetResult<RawSocket> {
    let lib: Libc;
    try {
      lib = libc();
    } catch (e) {
      return fail('KA_SOCKET_OS', `koffi call failed: ${(e as Error).message}`);
    }
    const fd = lib.socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) return { ok: false, error: socketError('socket', lib.errno(), label) };
    const s = new RawSocket(lib, fd, domain, label);
    const recvOpts: [number, number][] =
      domain === AF_INET
        ? [
            [IPPROTO_IP, IP_PKTINFO],
            [SOL_SOCKET, SO_TIMESTAMPNS],
          ]
        : domain === AF_INET6
          ? [
              [IPPROTO_IPV6, IPV6_RECVPKTINFO],
              [IPPROTO_IPV6, IPV6_RECVHOPLIMIT],
              [SOL_SOCKET, SO_TIMESTAMPNS],
            ]
          : [];
    for (const [level, name] of recvOpts) {
      const r = s.setsockopt(level, name, 1);
      if (!r.ok) {
        s.close();
        return r;
      }
    }
    return ok(s);
  }

  /**
   * AF_PACKET socket receiving frames of `ethertype` (host order; ETH_P_ALL for everything, 0 for a
   * send-only socket). Bind it to an interface with sockaddrLl() before receiving.
   */
  static openPacket(ethertype: number, label = ''): NetResult<RawSocket> {
    const networkOrder = ((ethertype & 0xff) << 8) | ((ethertype >> 8) & 0xff);
    return RawSocket.open(AF_PACKET, networkOrder, label);
  }

  get closed(): boolean {
    return this.#closed;
  }

  setsockopt(level: number, name: number, value: number | Uint8Array): NetResult<void> {
    if (this.#closed) return fail('KA_SOCKET_CLOSED', `setsockopt(${level},${name}) on closed socket`);
    const buf = typeof value === 'number' ? int32(value) : value;
    if (this.#libc.setsockopt(this.fd, level, name, buf, buf.length) < 0) {
      return {
        ok: false,
        error: socketError(`setsockopt(${level},${name})`, this.#libc.errno(), this.#label),
      };
    }
    return ok(undefined);
  }

  bind(sockaddr: Uint8Array): NetResult<void> {
    if (this.#closed) return fail('KA_SOCKET_CLOSED', 'bind on closed socket');
    if (this.#libc.bind(this.fd, sockaddr, sockaddr.length) < 0) {
      return { ok: false, error: socketError('bind', this.#libc.errno(), this.#label) };
    }
    return ok(undefined);
  }

  sendTo(data: Uint8Array, sockaddr: Uint8Array): NetResult<number> {
    if (this.#closed) return fail('KA_SOCKET_CLOSED', 'sendto on closed socket');
    const n = this.#libc.sendto(this.fd, data, data.length, 0, sockaddr, sockaddr.length);
    if (n < 0) return { ok: false, error: socketError('sendto', this.#libc.errno(), this.#label) };
    return ok(n);
  }

  onMessage(handler: MessageHandler, onError?: ErrorHandler): NetResult<void> {
    if (this.domain !== AF_INET && this.domain !== AF_INET6) {
      return fail('KA_SOCKET_EINVAL', 'onMessage needs an AF_INET or AF_INET6 socket; use onFrame');
    }
    const family: IpFamily = this.domain === AF_INET ? 4 : 6;
    return this.#startReceive((d, clock) => {
      const meta = family === 4 ? ipv4Meta(d) : ipv6Meta(d);
      if (!meta) return;
      const arrivalUs = arrivalOf(d, clock);
      if (arrivalUs !== undefined) meta.arrivalUs = arrivalUs;
      handler(d.data, meta);
    }, onError);
  }

  onFrame(handler: FrameHandler, onError?: ErrorHandler): NetResult<void> {
    if (this.domain !== AF_PACKET) return fail('KA_SOCKET_EINVAL', 'onFrame needs an AF_PACKET socket');
    return this.#startReceive((d) => {
      const v = new DataView(d.name.buffer, d.name.byteOffset, d.name.byteLength);
      if (d.name.length < 12) return;
      handler(d.data, {
        protocol: v.getUint16(2, false),
        ifindex: v.getInt32(4, true),
        pktType: d.name[10] ?? 0,
      });
    }, onError);
  }

  /** Every datagram with its source address as it came (AF_NETLINK: a sockaddr_nl). */
  onDatagram(
    handler: (bytes: Uint8Array, source: Uint8Array) => void,
    onError?: ErrorHandler,
  ): NetResult<void> {
    if (this.domain !== AF_NETLINK) return fail('KA_SOCKET_EINVAL', 'onDatagram needs an AF_NETLINK socket');
    return this.#startReceive((d) => handler(d.data, d.name), onError);
  }

  #startReceive(
    deliver: (d: ReceivedDatagram, clock: ClockPair) => void,
    onError?: ErrorHandler,
  ): NetResult<void> {
    if (this.#closed) return fail('KA_SOCKET_CLOSED', 'receive on closed socket');
    if (this.#poll) return fail('KA_SOCKET_EINVAL', 'a receive handler is already installed');
    const report = (e: NetError) => {
      if (onError) onError(e);
    };
    this.#recv = new RecvBuffer(this.#libc);
    const onReadable = () => {
      try {
        // One reading of both clocks per wake: kernel timestamps are CLOCK_REALTIME, the daemon runs on
        // CLOCK_MONOTONIC (arrivalOf converts).
        let clock: ClockPair | null = null;
        for (let i = 0; i < MAX_PER_WAKE && !this.#closed && this.#recv; i++) {
          const r = this.#recv.receive(this.fd);
          if ('errno' in r) {
            if (r.errno === EAGAIN || r.errno === EINTR) break;
            report(socketError('recvmsg', r.errno, this.#label));
            break;
          }
          if (r.datagram.truncated) continue;
          clock ??= { realtimeUs: this.#libc.realtimeUs(), monotonicUs: monotonicNowUs() };
          try {
            deliver(r.datagram, clock);
          } catch (userError) {
            // Programmer error in the handler: surface it on a clean stack, never inside koffi.
            escalate(`${this.#label || 'socket'} receive handler`, userError);
          }
        }
      } catch (e) {
        try {
          report({ code: 'KA_SOCKET_OS', message: `receive loop failed: ${(e as Error).message}` });
        } catch {
          // onError itself threw: nothing may escape into koffi.
        }
      }
    };
    try {
      this.#poll = this.#libc.poll(this.fd, onReadable);
    } catch (e) {
      return fail('KA_SOCKET_OS', `cannot poll socket: ${(e as Error).message}`);
    }
    if (this.#unref) this.#poll.unref();
    return ok(undefined);
  }

  unref(): void {
    this.#unref = true;
    this.#poll?.unref();
  }

  /** Undoes unref(): the socket keeps the process alive again. */
  ref(): void {
    this.#unref = false;
    this.#poll?.ref();
  }

  /** Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closePolled(this.#libc, this.fd, this.#poll, this.#recv);
    this.#poll = undefined;
    this.#recv = undefined;
  }
}

/** The two clocks read at the same moment. */
interface ClockPair {
  realtimeUs: number;
  monotonicUs: number;
}

function monotonicNowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A packet older than this by its timestamp means the wall clock was stepped: ignore the timestamp. */
const MAX_PLAUSIBLE_AGE_US = 1_000_000;

/**
 * The kernel's receive time (SCM_TIMESTAMPNS, CLOCK_REALTIME) moved onto the monotonic clock: the packet's
 * age at `clock` taken from the monotonic reading. Undefined without a timestamp or when the age is not
 * plausible (a wall-clock step between arrival and now).
 */
export function arrivalOf(d: ReceivedDatagram, clock: ClockPair): number | undefined {
  const ts = findCmsg(d.control, SOL_SOCKET, SO_TIMESTAMPNS);
  if (!ts || ts.length < 16) return undefined;
  const v = new DataView(ts.buffer, ts.byteOffset, 16);
  const atUs = Number(v.getBigInt64(0, true)) * 1_000_000 + Math.floor(Number(v.getBigInt64(8, true)) / 1000);
  const ageUs = clock.realtimeUs - atUs;
  if (ageUs < 0 || ageUs > MAX_PLAUSIBLE_AGE_US) return undefined;
  return clock.monotonicUs - ageUs;
}

/** IPv4 raw sockets deliver the IP header; IP_PKTINFO adds { int ifindex; in_addr spec_dst; in_addr addr }. */
function ipv4Meta(d: ReceivedDatagram): RxMeta | undefined {
  const h = d.data;
  if (h.length < 20 || h[0] === undefined || h[0] >> 4 !== 4) return undefined;
  const info = findCmsg(d.control, IPPROTO_IP, IP_PKTINFO);
  const ifindex =
    info && info.length >= 12 ? new DataView(info.buffer, info.byteOffset).getInt32(0, true) : 0;
  return {
    family: 4,
    srcAddr: formatIpv4(h, 12),
    dstAddr: info && info.length >= 12 ? formatIpv4(info, 8) : formatIpv4(h, 16),
    ttl: h[8] ?? 0,
    ifindex,
  };
}

/** IPv6 raw sockets never show the header: source from msg_name, the rest from cmsgs. */
function ipv6Meta(d: ReceivedDatagram): RxMeta | undefined {
  if (d.name.length < 24) return undefined;
  const info = findCmsg(d.control, IPPROTO_IPV6, IPV6_PKTINFO); // struct in6_pktinfo { in6_addr; int ifindex }
  const hops = findCmsg(d.control, IPPROTO_IPV6, IPV6_HOPLIMIT);
  return {
    family: 6,
    srcAddr: formatIpv6(d.name, 8),
    dstAddr: info && info.length >= 20 ? formatIpv6(info, 0) : '::',
    // -1 when the kernel did not report it: a validator comparing with 255 then rejects the packet.
    ttl: hops && hops.length >= 4 ? new DataView(hops.buffer, hops.byteOffset).getInt32(0, true) : -1,
    ifindex: info && info.length >= 20 ? new DataView(info.buffer, info.byteOffset).getInt32(16, true) : 0,
  };
}
