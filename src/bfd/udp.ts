// UDP sockets for BFD through the project's libc layer (src/net/libc.ts): Node's dgram cannot report a
// datagram's TTL / hop limit, which RFC 5881 §5 requires us to check, nor set IPV6_V6ONLY. Receive sockets
// ask for IP_RECVTTL / IPV6_RECVHOPLIMIT and the destination (IP_PKTINFO / IPV6_RECVPKTINFO); send
// sockets set IP_TTL / IPV6_UNICAST_HOPS (docs/bfd.md, 'Sockets').
import { formatIpv4, formatIpv6, parseIp } from '../net/inet.js';
import {
  AF_INET,
  AF_INET6,
  EADDRINUSE,
  EAGAIN,
  EINTR,
  IP_PKTINFO,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_UDP,
  IPV6_HOPLIMIT,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  type Libc,
  libc,
  type PollHandle,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from '../net/libc.js';
import { type ControlMessage, closePolled, findCmsg, MAX_PER_WAKE, RecvBuffer } from '../net/msghdr.js';
import { socketError } from '../net/net-error.js';
import { int32, sockaddrIn, sockaddrIn6 } from '../net/sockaddr.js';

const IP_RECVTTL = 12;
const IPV6_V6ONLY = 26;

export type Family = 4 | 6;

export interface UdpMeta {
  src: string;
  srcPort: number;
  /** Destination address (from pktinfo), '' when the kernel did not say. */
  dst: string;
  /** TTL / hop limit it arrived with, −1 when the kernel did not say. */
  ttl: number;
}

export class UdpSocket {
  readonly family: Family;
  readonly fd: number;
  readonly #libc: Libc;
  #poll: PollHandle | undefined;
  #recv: RecvBuffer | undefined;
  #closed = false;
  /** The local port bound, 0 when not bound. */
  port = 0;

  private constructor(lib: Libc, fd: number, family: Family) {
    this.#libc = lib;
    this.fd = fd;
    this.family = family;
  }

  /** A non-blocking, close-on-exec UDP socket; IPv6 ones are IPv6-only (IPv4 has its own). */
  static open(family: Family): UdpSocket {
    const lib = libc();
    const fd = lib.socket(
      family === 4 ? AF_INET : AF_INET6,
      SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      IPPROTO_UDP,
    );
    if (fd < 0) throw new Error(socketError('socket', lib.errno(), 'bfd').message);
    const s = new UdpSocket(lib, fd, family);
    if (family === 6) s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    return s;
  }

  setsockopt(level: number, name: number, value: number): void {
    const buf = int32(value);
    if (this.#libc.setsockopt(this.fd, level, name, buf, buf.length) < 0)
      throw new Error(socketError(`setsockopt(${level},${name})`, this.#libc.errno(), 'bfd').message);
  }

  /** TTL (IPv4) or unicast hop limit (IPv6) of what this socket sends. */
  setTtl(ttl: number): void {
    if (this.family === 4) this.setsockopt(IPPROTO_IP, IP_TTL, ttl);
    else this.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl);
  }

  /** Binds to `address` ('' = any) and `port`; false when the port is in use. */
  bind(address: string, port: number): boolean {
    const sa = sockaddrFor(this.family, address, port);
    if (this.#libc.bind(this.fd, sa, sa.length) < 0) {
      const e = this.#libc.errno();
      if (e === EADDRINUSE) return false;
      throw new Error(socketError(`bind ${address || '*'}:${port}`, e, 'bfd').message);
    }
    this.port = port;
    return true;
  }

  /**
   * Binds to a port in [lo, hi] (RFC 5881 §4: sources 49152–65535), starting at a random one and trying
   * the next ones in turn.
   */
  bindInRange(address: string, lo: number, hi: number, random: () => number): void {
    const span = hi - lo + 1;
    const first = Math.floor(random() * span);
    for (let i = 0; i < span; i++) if (this.bind(address, lo + ((first + i) % span))) return;
    throw new Error(`bind ${address || '*'}: no free port in ${lo}-${hi}`);
  }

  sendTo(data: Uint8Array, address: string, port: number): number {
    if (this.#closed) return -1;
    const sa = sockaddrFor(this.family, address, port);
    const n = this.#libc.sendto(this.fd, data, data.length, 0, sa, sa.length);
    return n < 0 ? -this.#libc.errno() : n;
  }

  /** Receives with the TTL and destination of each datagram. The handler must not throw (it is caught). */
  onMessage(handler: (data: Uint8Array, meta: UdpMeta) => void, onError: (e: Error) => void): void {
    if (this.family === 4) {
      this.setsockopt(IPPROTO_IP, IP_RECVTTL, 1);
      this.setsockopt(IPPROTO_IP, IP_PKTINFO, 1);
    } else {
      this.setsockopt(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
      this.setsockopt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
    this.#recv = new RecvBuffer(this.#libc, 2048);
    // koffi calls this with napi Call: nothing may escape it (src/net/raw-socket.ts explains).
    const onReadable = () => {
      try {
        for (let i = 0; i < MAX_PER_WAKE && !this.#closed && this.#recv; i++) {
          const r = this.#recv.receive(this.fd);
          if ('errno' in r) {
            if (r.errno !== EAGAIN && r.errno !== EINTR)
              onError(new Error(socketError('recvmsg', r.errno, 'bfd').message));
            break;
          }
          const d = r.datagram;
          if (d.truncated) continue;
          const meta = this.family === 4 ? meta4(d.name, d.control) : meta6(d.name, d.control);
          if (meta) handler(d.data, meta);
        }
      } catch (e) {
        setImmediate(() => onError(e as Error));
      }
    };
    this.#poll = this.#libc.poll(this.fd, onReadable);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closePolled(this.#libc, this.fd, this.#poll, this.#recv);
    this.#poll = undefined;
    this.#recv = undefined;
  }
}

function sockaddrFor(family: Family, address: string, port: number): Uint8Array {
  if (address === '')
    return family === 4 ? sockaddrIn(new Uint8Array(4), port) : sockaddrIn6(new Uint8Array(16), 0, port);
  const p = parseIp(address);
  if (!p || p.family !== family) throw new Error(`not an IPv${family} address: ${address}`);
  return family === 4 ? sockaddrIn(p.bytes, port) : sockaddrIn6(p.bytes, 0, port);
}

const int = (b: Uint8Array | undefined) =>
  b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true) : -1;

function meta4(name: Uint8Array, control: ControlMessage[]): UdpMeta | undefined {
  if (name.length < 8) return undefined;
  const info = findCmsg(control, IPPROTO_IP, IP_PKTINFO); // { int ifindex; in_addr spec_dst; in_addr addr }
  return {
    src: formatIpv4(name, 4),
    srcPort: (name[2]! << 8) | name[3]!,
    dst: info && info.length >= 12 ? formatIpv4(info, 8) : '',
    ttl: int(findCmsg(control, IPPROTO_IP, IP_TTL)),
  };
}

function meta6(name: Uint8Array, control: ControlMessage[]): UdpMeta | undefined {
  if (name.length < 24) return undefined;
  const info = findCmsg(control, IPPROTO_IPV6, IPV6_PKTINFO); // { in6_addr; int ifindex }
  return {
    src: formatIpv6(name, 8),
    srcPort: (name[2]! << 8) | name[3]!,
    dst: info && info.length >= 16 ? formatIpv6(info, 0) : '',
    ttl: int(findCmsg(control, IPPROTO_IPV6, IPV6_HOPLIMIT)),
  };
}
