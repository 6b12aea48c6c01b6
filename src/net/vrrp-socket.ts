// One VRRP socket per (interface, family): IP protocol 112 on a raw socket tied to the interface with
// SO_BINDTODEVICE, multicast group joined there (or none in unicast mode).
//   IPv4: IP_HDRINCL, we write the header (see ipv4-header.ts for why); IP_PKTINFO gives dst/ifindex.
//   IPv6: the kernel builds the header; IPV6_CHECKSUM offset 6 makes it compute and verify the VRRPv3
//         checksum over the pseudo-header (RFC 5798 §5.2.8); hop limit 255 for multicast and unicast
//         (RFC 5798 §5.1.2.3); IPV6_RECVHOPLIMIT/RECVPKTINFO feed RxMeta so the receiver can enforce 255.
// Multicast loopback is off on both: we must not hear our own adverts.
import type { IpFamily, RxMeta } from '../vrrp/advert.js';
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6, VRRP_PROTOCOL, VRRP_TTL } from '../vrrp/advert.js';
import { internetChecksum } from '../vrrp/checksum.js';
import { IPV4_MIN_HEADER_LENGTH } from '../vrrp/packet-ip.js';
import { formatIp, isMulticast, parseIp } from './inet.js';
import { buildIpv4Header } from './ipv4-header.js';
import {
  AF_INET,
  AF_INET6,
  IP_ADD_MEMBERSHIP,
  IP_HDRINCL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_ADD_MEMBERSHIP,
  IPV6_CHECKSUM,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  ifNameToIndex,
  SO_BINDTODEVICE,
  SO_RCVBUF,
  SOL_SOCKET,
} from './libc.js';
import { fail, type NetError, type NetResult, ok } from './net-error.js';
import type { DatagramSink, PreparedWrite } from './prepared-write.js';
import { RawSocket } from './raw-socket.js';
import { ipMreqn, ipv6Mreq, sockaddrIn, sockaddrIn6 } from './sockaddr.js';

/** Offset of the checksum field in the VRRP header, for IPV6_CHECKSUM. */
const VRRP_CHECKSUM_OFFSET = 6;

export interface VrrpSocketOptions {
  ifname: string;
  family: IpFamily;
  /** Multicast destination; default 224.0.0.18 / ff02::12. Not joined in unicast mode. */
  group?: string;
  /** Unicast mode: no group join; send() needs an explicit peer address. */
  unicast?: boolean;
  /**
   * Source address. IPv4: required, written into the header we build. IPv6: optional; when given the
   * socket is bound to it (a link-local source needs the interface as scope, which we supply).
   */
  srcAddr?: string;
  /** TTL / hop limit for unicast sends (keepalived `unicast_ttl`); multicast always uses 255. */
  unicastTtl?: number;
  /** IP protocol received (and written by send()): 112, or 51 for VRRPv2 with IPsec AH (IPv4 only). */
  protocol?: number;
}

/** What an IPv4 sender that builds the whole packet (AH covers the header) must put in the header. */
export interface Ipv4HeaderPlan {
  src: string;
  dst: string;
  /** Identification, one per packet. */
  id: number;
  ttl: number;
}

export type VrrpMessageHandler = (payload: Uint8Array, meta: RxMeta, ipv4Header?: Uint8Array) => void;

/** What the daemon needs from a VRRP socket; VrrpSocket implements it, a simulator can too. */
export interface VrrpTransport {
  readonly ifname: string;
  readonly ifindex: number;
  readonly family: IpFamily;
  readonly closed: boolean;
  send(payload: Uint8Array, dstAddr?: string): NetResult<void>;
  /** The packet send() would write, built now and kept (prepared-write.ts). */
  prepare(payload: Uint8Array, dstAddr?: string): NetResult<PreparedWrite>;
  onMessage(handler: VrrpMessageHandler, onError?: (e: NetError) => void): NetResult<void>;
  close(): void;
}

interface PreparedPacket extends PreparedWrite {
  packet: Uint8Array;
  sockaddr: Uint8Array;
  /** The IPv4 source the header was built with (undefined for IPv6). */
  src: Uint8Array | undefined;
}

export class VrrpSocket implements VrrpTransport {
  readonly ifname: string;
  readonly ifindex: number;
  readonly family: IpFamily;
  readonly group: string;
  readonly unicast: boolean;
  readonly #sock: RawSocket;
  readonly #groupBytes: Uint8Array;
  #src: Uint8Array | undefined;
  #unicastTtl: number;
  #ipId = 0;
  /** Packets built for a payload (by identity), per destination (#preparedFor). */
  readonly #prepared = new WeakMap<Uint8Array, Map<string, PreparedPacket>>();
  readonly #protocol: number;

  private constructor(sock: RawSocket, o: VrrpSocketOptions, ifindex: number, group: Uint8Array) {
    this.#sock = sock;
    this.ifname = o.ifname;
    this.ifindex = ifindex;
    this.family = o.family;
    this.group = o.group ?? (o.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);
    this.unicast = o.unicast ?? false;
    this.#groupBytes = group;
    this.#unicastTtl = o.unicastTtl ?? VRRP_TTL;
    this.#protocol = o.protocol ?? VRRP_PROTOCOL;
  }

  /** The socket's file descriptor, for a poll(2) across sockets (src/net/input-waiting.ts). */
  get fd(): number {
    return this.#sock.fd;
  }

  static open(o: VrrpSocketOptions): NetResult<VrrpSocket> {
    const groupText = o.group ?? (o.family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);
    const group = parseIp(groupText);
    if (!group || group.family !== o.family || !isMulticast(group.bytes)) {
      return fail('KA_SOCKET_BAD_ADDRESS', `${groupText} is not an IPv${o.family} multicast group`);
    }
    const src = o.srcAddr === undefined ? undefined : parseIp(o.srcAddr);
    if (o.srcAddr !== undefined && (!src || src.family !== o.family)) {
      return fail('KA_SOCKET_BAD_ADDRESS', `source ${o.srcAddr} is not an IPv${o.family} address`);
    }
    if (o.protocol !== undefined && o.protocol !== VRRP_PROTOCOL && o.family !== 4) {
      return fail('KA_SOCKET_EINVAL', `IP protocol ${o.protocol} is for IPv4 VRRP (AH) only`);
    }
    if (o.family === 4 && !src) {
      return fail('KA_SOCKET_NO_SOURCE', `IPv4 VRRP socket on ${o.ifname} needs a source address`);
    }
    let ifindex: number;
    try {
      ifindex = ifNameToIndex(o.ifname);
    } catch (e) {
      return fail('KA_SOCKET_OS', `koffi call failed: ${(e as Error).message}`);
    }
    if (ifindex === 0) return fail('KA_SOCKET_ENODEV', `no interface named ${o.ifname}`);
    const opened = RawSocket.open(
      o.family === 4 ? AF_INET : AF_INET6,
      o.protocol ?? VRRP_PROTOCOL,
      `vrrp ${o.ifname}`,
    );
    if (!opened.ok) return opened;
    const sock = opened.value;
    const vs = new VrrpSocket(sock, o, ifindex, group.bytes);
    vs.#src = src?.bytes;
    const steps = o.family === 4 ? vs.#ipv4Options() : vs.#ipv6Options();
    for (const step of steps) {
      const r = step();
      if (!r.ok) {
        sock.close();
        return r;
      }
    }
    return ok(vs);
  }

  #common(): (() => NetResult<void>)[] {
    const name = new TextEncoder().encode(`${this.ifname}\0`);
    return [() => this.#sock.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, name)];
  }

  #ipv4Options(): (() => NetResult<void>)[] {
    const s = this.#sock;
    return [
      ...this.#common(),
      () => s.setsockopt(IPPROTO_IP, IP_HDRINCL, 1),
      () => s.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0),
      () => s.setsockopt(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(new Uint8Array(4), this.ifindex)),
      () =>
        this.unicast
          ? ok(undefined)
          : s.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(this.#groupBytes, this.ifindex)),
    ];
  }

  #ipv6Options(): (() => NetResult<void>)[] {
    const s = this.#sock;
    return [
      ...this.#common(),
      () => s.setsockopt(IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET),
      () => s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0),
      () => s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF, this.ifindex),
      () => s.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL),
      () => s.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, this.#unicastTtl),
      () =>
        this.unicast
          ? ok(undefined)
          : s.setsockopt(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, ipv6Mreq(this.#groupBytes, this.ifindex)),
      () => (this.#src ? s.bind(sockaddrIn6(this.#src, this.ifindex)) : ok(undefined)),
    ];
  }

  get closed(): boolean {
    return this.#sock.closed;
  }

  /** The IPv4 source written into headers, or the IPv6 source the socket is bound to, if any. */
  get srcAddr(): string | undefined {
    return this.#src ? formatIp(this.#src) : undefined;
  }

  /**
   * Asks for a receive buffer of `bytes` (SO_RCVBUF: the kernel caps it at net.core.rmem_max, then doubles it
   * for its bookkeeping). Not SO_RCVBUFFORCE: 2.2.7 stays under the cap too (docs/linux-sockets.md,
   * 'Receive buffers').
   */
  setReceiveBuffer(bytes: number): NetResult<void> {
    return this.#sock.setsockopt(SOL_SOCKET, SO_RCVBUF, Math.min(bytes, 0x7fffffff));
  }

  /** IPv4 only: change the source written into future headers (the interface's primary address moved). */
  setIpv4Source(addr: string): NetResult<void> {
    const p = parseIp(addr);
    if (this.family !== 4 || !p || p.family !== 4) {
      return fail('KA_SOCKET_BAD_ADDRESS', `${addr} is not an IPv4 source for this socket`);
    }
    this.#src = p.bytes;
    return ok(undefined);
  }

  /**
   * Sends one VRRP packet (header + addresses [+ auth], checksum already set for IPv4; for IPv6 the
   * kernel fills it). `dstAddr` defaults to the multicast group; unicast sockets must name the peer.
   * A payload must not change once sent: its built packet is kept and sent again for the same object.
   */
  send(payload: Uint8Array, dstAddr?: string): NetResult<void> {
    const p = this.#preparedFor(payload, dstAddr);
    return p.ok ? p.value.write() : p;
  }

  prepare(payload: Uint8Array, dstAddr?: string): NetResult<PreparedWrite> {
    return this.#preparedFor(payload, dstAddr);
  }

  #write(p: PreparedPacket, sink: DatagramSink | undefined): NetResult<void> {
    const { packet, sockaddr } = p;
    if (this.family === 4) {
      // A new identification per packet, as keepalived; only it and the header checksum change.
      this.#ipId = (this.#ipId + 1) & 0xffff;
      packet[4] = this.#ipId >> 8;
      packet[5] = this.#ipId & 0xff;
      packet[10] = 0;
      packet[11] = 0;
      const sum = internetChecksum(packet.subarray(0, IPV4_MIN_HEADER_LENGTH));
      packet[10] = sum >> 8;
      packet[11] = sum & 0xff;
    }
    const r = (sink ?? this.#sock).sendTo(packet, sockaddr);
    return r.ok ? ok(undefined) : r;
  }

  /**
   * The whole packet (IPv4: header + payload; IPv6: the payload, the kernel adds the header) and the
   * sockaddr for `payload` to `dstAddr`, built on first use and kept while the payload object lives (the
   * socket pool reuses one per unchanged advert) and the IPv4 source is the same.
   */
  #preparedFor(payload: Uint8Array, dstAddr: string | undefined): NetResult<PreparedPacket> {
    const key = dstAddr ?? '';
    let byDst = this.#prepared.get(payload);
    const hit = byDst?.get(key);
    if (hit && hit.src === this.#src) return ok(hit);
    const d = this.#destination(dstAddr);
    if (!d.ok) return d;
    const dst = d.value;
    let built: PreparedPacket;
    if (this.family === 6) {
      built = this.#packet(payload, sockaddrIn6(dst, this.ifindex), this.#src);
    } else {
      const src = this.#src;
      if (!src) return fail('KA_SOCKET_NO_SOURCE', `no IPv4 source on ${this.ifname}`);
      const header = buildIpv4Header({
        src,
        dst,
        protocol: this.#protocol,
        payloadLength: payload.length,
        ttl: isMulticast(dst) ? VRRP_TTL : this.#unicastTtl,
        id: 0,
      });
      const packet = new Uint8Array(header.length + payload.length);
      packet.set(header, 0);
      packet.set(payload, header.length);
      built = this.#packet(packet, sockaddrIn(dst), src);
    }
    if (!byDst) {
      byDst = new Map();
      this.#prepared.set(payload, byDst);
    }
    byDst.set(key, built);
    return ok(built);
  }

  #packet(packet: Uint8Array, sockaddr: Uint8Array, src: Uint8Array | undefined): PreparedPacket {
    const p: PreparedPacket = { packet, sockaddr, src, write: (sink) => this.#write(p, sink) };
    return p;
  }

  /**
   * IPv4: the header the next packet to `dstAddr` must carry, for a sender that builds the whole packet —
   * AH authenticates the IP header, so it is written before the ICV is computed. Takes an identification.
   */
  planIpv4Header(dstAddr?: string): NetResult<Ipv4HeaderPlan> {
    if (this.family !== 4) return fail('KA_SOCKET_EINVAL', 'IPv4 headers are for IPv4 sockets');
    const d = this.#destination(dstAddr);
    if (!d.ok) return d;
    if (!this.#src) return fail('KA_SOCKET_NO_SOURCE', `no IPv4 source on ${this.ifname}`);
    this.#ipId = (this.#ipId + 1) & 0xffff;
    return ok({
      src: formatIp(this.#src),
      dst: formatIp(d.value),
      id: this.#ipId,
      ttl: isMulticast(d.value) ? VRRP_TTL : this.#unicastTtl,
    });
  }

  /** IPv4: sends a whole packet (header included, as planIpv4Header said) to `dstAddr` or the group. */
  sendIpv4Packet(packet: Uint8Array, dstAddr?: string): NetResult<void> {
    if (this.family !== 4) return fail('KA_SOCKET_EINVAL', 'IPv4 packets are for IPv4 sockets');
    const d = this.#destination(dstAddr);
    if (!d.ok) return d;
    const r = this.#sock.sendTo(packet, sockaddrIn(d.value));
    return r.ok ? ok(undefined) : r;
  }

  /** The destination bytes: the peer given, else the group; unicast sockets must name the peer. */
  #destination(dstAddr: string | undefined): NetResult<Uint8Array> {
    if (dstAddr === undefined) {
      if (this.unicast) {
        return fail('KA_SOCKET_BAD_ADDRESS', `unicast VRRP socket on ${this.ifname} needs a peer address`);
      }
      return ok(this.#groupBytes);
    }
    const p = parseIp(dstAddr);
    if (!p || p.family !== this.family) {
      return fail('KA_SOCKET_BAD_ADDRESS', `${dstAddr} is not an IPv${this.family} address`);
    }
    return ok(p.bytes);
  }

  /**
   * Delivers each received packet as its VRRP part (IPv4 header stripped) with RxMeta; IPv4 also passes
   * the header, which AH authentication and the tot_len check need. Packets too short for their IPv4
   * header are dropped here.
   */
  onMessage(handler: VrrpMessageHandler, onError?: (e: NetError) => void): NetResult<void> {
    const withName = (meta: RxMeta): RxMeta => ({ ...meta, ifname: this.ifname });
    if (this.family === 6) return this.#sock.onMessage((b, m) => handler(b, withName(m)), onError);
    return this.#sock.onMessage((b, m) => {
      const ihl = ((b[0] ?? 0) & 0x0f) * 4;
      if (ihl < IPV4_MIN_HEADER_LENGTH || b.length < ihl) return;
      handler(b.subarray(ihl), withName(m), b.subarray(0, ihl));
    }, onError);
  }

  unref(): void {
    this.#sock.unref();
  }

  close(): void {
    this.#sock.close();
  }
}
