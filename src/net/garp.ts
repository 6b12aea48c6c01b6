// Gratuitous ARP and unsolicited neighbour advertisements as whole Ethernet frames, sent on an AF_PACKET
// socket — what a new VRRP master emits for each virtual address (RFC 5798 §6.4.2; keepalived vrrp_arp.c
// and vrrp_ndisc.c behaviour, facts only). The builders are pure; the sender is a thin socket wrapper.
//
// Wire facts checked against keepalived 2.2.7 captured on a veth (2026-11-23): the GARP is a 42-byte ARP
// *request*, Ethernet broadcast, sender = target = VIP, target hardware address ff:ff:ff:ff:ff:ff; the NA is
// 86 bytes, IPv6 source = the VIP itself, destination ff02::1 (33:33:00:00:00:01), hop limit 255, flags
// Override (Router only when forwarding), one target link-layer address option.

import { internetChecksum } from '../vrrp/checksum.js';
import { parseIp, parseMac } from './inet.js';
import { ETH_P_ARP, ETH_P_IPV6, IPPROTO_ICMPV6, ifNameToIndex } from './libc.js';
import { fail, type NetResult, ok } from './net-error.js';
import type { DatagramSink, PreparedWrite } from './prepared-write.js';
import { RawSocket } from './raw-socket.js';
import { sockaddrLl } from './sockaddr.js';

/** An unsolicited NA's options: `router` sets the R flag. */
export interface NaOptions {
  router?: boolean;
}

/** An announcement frame built once, with its destination; write() sends it (prepared-write.ts). */
export interface PreparedFrame extends PreparedWrite {
  readonly frame: Uint8Array;
  readonly sockaddr: Uint8Array;
}

export const ETHER_BROADCAST = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** ff02::1 all-nodes and its Ethernet mapping (RFC 2464 §7). */
export const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
export const ALL_NODES_MAC = Uint8Array.from([0x33, 0x33, 0, 0, 0, 1]);
export const GARP_FRAME_LEN = 42;
export const NA_FRAME_LEN = 86;

const ARPHRD_ETHER = 1;
const ARPOP_REQUEST = 1;
const ICMPV6_NEIGHBOR_ADVERT = 136;
const ND_OPT_TARGET_LL_ADDR = 2;
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_OVERRIDE = 0x20;

function ethernetHeader(frame: Uint8Array, dst: Uint8Array, src: Uint8Array, ethertype: number): void {
  frame.set(dst.subarray(0, 6), 0);
  frame.set(src.subarray(0, 6), 6);
  frame[12] = ethertype >> 8;
  frame[13] = ethertype & 0xff;
}

/**
 * Gratuitous ARP (RFC 826 packet, RFC 5227 §3 announcement semantics): request, broadcast, sender and
 * target protocol address both the VIP, sender hardware address = interface MAC or VMAC.
 */
export function buildGarpFrame(senderMac: Uint8Array, vip: Uint8Array): Uint8Array {
  const f = new Uint8Array(GARP_FRAME_LEN);
  ethernetHeader(f, ETHER_BROADCAST, senderMac, ETH_P_ARP);
  const v = new DataView(f.buffer);
  v.setUint16(14, ARPHRD_ETHER, false);
  v.setUint16(16, 0x0800, false);
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, ARPOP_REQUEST, false);
  f.set(senderMac.subarray(0, 6), 22);
  f.set(vip.subarray(0, 4), 28);
  f.set(ETHER_BROADCAST, 32);
  f.set(vip.subarray(0, 4), 38);
  return f;
}

/**
 * Unsolicited neighbour advertisement (RFC 4861 §4.4, §7.2.6): source = the VIP, to all-nodes, hop limit
 * 255, Solicited clear, Override set, Router when the node forwards; option 2 carries the MAC. The ICMPv6
 * checksum covers the RFC 8200 §8.1 pseudo-header.
 */
export function buildUnsolicitedNaFrame(senderMac: Uint8Array, vip: Uint8Array, router = false): Uint8Array {
  const f = new Uint8Array(NA_FRAME_LEN);
  ethernetHeader(f, ALL_NODES_MAC, senderMac, ETH_P_IPV6);
  const icmpLen = 32;
  const v = new DataView(f.buffer);
  // IPv6 header (RFC 8200 §3): version 6, traffic class 0, flow label 0.
  v.setUint32(14, 0x60000000, false);
  v.setUint16(18, icmpLen, false);
  f[20] = IPPROTO_ICMPV6;
  f[21] = 255;
  f.set(vip.subarray(0, 16), 22);
  f.set(ALL_NODES, 38);
  // ICMPv6 NA at 54.
  f[54] = ICMPV6_NEIGHBOR_ADVERT;
  f[55] = 0;
  f[58] = NA_FLAG_OVERRIDE | (router ? NA_FLAG_ROUTER : 0);
  f.set(vip.subarray(0, 16), 62);
  f[78] = ND_OPT_TARGET_LL_ADDR;
  f[79] = 1; // length in units of 8 octets
  f.set(senderMac.subarray(0, 6), 80);
  const pseudo = new Uint8Array(40);
  pseudo.set(f.subarray(22, 54), 0); // source + destination
  new DataView(pseudo.buffer).setUint32(32, icmpLen, false);
  pseudo[39] = IPPROTO_ICMPV6;
  const sum = new Uint8Array(40 + icmpLen);
  sum.set(pseudo, 0);
  sum.set(f.subarray(54), 40);
  v.setUint16(56, internetChecksum(sum), false);
  return f;
}

/** What the daemon needs to announce addresses on one interface; AnnounceSender implements it. */
export interface Announcer {
  readonly ifname: string;
  readonly closed: boolean;
  sendGarp(vip: string, mac: string): NetResult<void>;
  sendUnsolicitedNa(vip: string, mac: string, o?: NaOptions): NetResult<void>;
  /** The frame that announces `vip` (GARP for IPv4, NA for IPv6), built once, not sent. */
  prepare(vip: string, mac: string, router?: boolean): NetResult<PreparedFrame>;
  close(): void;
}

/** An AF_PACKET socket on one interface for GARP and NA frames. Protocol 0: it never receives. */
export class AnnounceSender implements Announcer {
  readonly ifname: string;
  readonly ifindex: number;
  readonly #sock: RawSocket;
  /**
   * Frames with their destination, built once per (kind, address, MAC, router flag): announcements repeat
   * the same few frames, and a backup builds its takeover frames before its deadline (prepare()).
   */
  readonly #frames = new Map<string, PreparedFrame>();

  private constructor(sock: RawSocket, ifname: string, ifindex: number) {
    this.#sock = sock;
    this.ifname = ifname;
    this.ifindex = ifindex;
  }

  static open(ifname: string): NetResult<AnnounceSender> {
    let ifindex: number;
    try {
      ifindex = ifNameToIndex(ifname);
    } catch (e) {
      return fail('KA_SOCKET_OS', `koffi call failed: ${(e as Error).message}`);
    }
    if (ifindex === 0) return fail('KA_SOCKET_ENODEV', `no interface named ${ifname}`);
    const r = RawSocket.openPacket(0, `packet ${ifname}`);
    if (!r.ok) return r;
    return ok(new AnnounceSender(r.value, ifname, ifindex));
  }

  get closed(): boolean {
    return this.#sock.closed;
  }

  /** Sends a prebuilt Ethernet frame out of this interface. */
  sendFrame(frame: Uint8Array): NetResult<void> {
    const ethertype = ((frame[12] ?? 0) << 8) | (frame[13] ?? 0);
    const r = this.#sock.sendTo(frame, sockaddrLl(this.ifindex, ethertype, frame.subarray(0, 6)));
    return r.ok ? ok(undefined) : r;
  }

  /** One gratuitous ARP for `vip` with sender MAC `mac` ("aa:bb:.." text). */
  sendGarp(vip: string, mac: string): NetResult<void> {
    if (parseIp(vip)?.family !== 4)
      return fail('KA_SOCKET_BAD_ADDRESS', `GARP needs an IPv4 address, got ${vip}`);
    const p = this.prepare(vip, mac);
    return p.ok ? p.value.write() : p;
  }

  /** One unsolicited NA for `vip`; `router` sets the R flag (the node forwards IPv6). */
  sendUnsolicitedNa(vip: string, mac: string, o?: NaOptions): NetResult<void> {
    if (parseIp(vip)?.family !== 6)
      return fail('KA_SOCKET_BAD_ADDRESS', `NA needs an IPv6 address, got ${vip}`);
    const p = this.prepare(vip, mac, o?.router === true);
    return p.ok ? p.value.write() : p;
  }

  /**
   * Builds (once) the frame that announces `vip` — a gratuitous ARP for IPv4, an unsolicited NA for IPv6 —
   * without sending it; a backup builds its takeover's frames before its deadline.
   */
  prepare(vip: string, mac: string, router = false): NetResult<PreparedFrame> {
    const key = `${vip}|${mac}|${router}`;
    const have = this.#frames.get(key);
    if (have) return ok(have);
    const ip = parseIp(vip);
    const m = parseMac(mac);
    if (!ip) return fail('KA_SOCKET_BAD_ADDRESS', `cannot announce ${vip}: not an IP address`);
    if (!m) return fail('KA_SOCKET_BAD_ADDRESS', `bad MAC ${mac}`);
    const frame =
      ip.family === 4 ? buildGarpFrame(m, ip.bytes) : buildUnsolicitedNaFrame(m, ip.bytes, router);
    const ethertype = ((frame[12] ?? 0) << 8) | (frame[13] ?? 0);
    const sockaddr = sockaddrLl(this.ifindex, ethertype, frame.subarray(0, 6));
    const built: PreparedFrame = { frame, sockaddr, write: (sink) => this.#write(frame, sockaddr, sink) };
    this.#frames.set(key, built);
    return ok(built);
  }

  #write(frame: Uint8Array, sockaddr: Uint8Array, sink: DatagramSink | undefined): NetResult<void> {
    const r = (sink ?? this.#sock).sendTo(frame, sockaddr);
    return r.ok ? ok(undefined) : r;
  }

  close(): void {
    this.#sock.close();
  }
}
