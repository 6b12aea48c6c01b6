// The IP headers around a VRRP message: IPv4 (which keepalived builds itself with IP_HDRINCL and which raw
// IPv4 sockets hand over on receive) and IPv6 (never handed over by raw IPv6 sockets; parsed here only for
// captures). Parsers return null instead of throwing.
//
// RFC 791 §3.1:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |Type of Service|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |Flags|      Fragment Offset    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { internetChecksum } from './checksum.js';
import { formatIpv4, formatIpv6 } from './packet-addr.js';

export const IPV4_MIN_HEADER_LENGTH = 20;
export const IPV4_OFF_TOS = 1;
export const IPV4_OFF_TOTAL_LENGTH = 2;
export const IPV4_OFF_ID = 4;
export const IPV4_OFF_FRAGMENT = 6;
export const IPV4_OFF_TTL = 8;
export const IPV4_OFF_PROTOCOL = 9;
export const IPV4_OFF_CHECKSUM = 10;
export const IPV4_OFF_SRC = 12;
export const IPV4_OFF_DST = 16;
/** keepalived sends adverts with TOS 0xc0 (DSCP CS6, "network control"). */
export const IPV4_TOS_NETWORK_CONTROL = 0xc0;
export const IPV4_FLAG_DONT_FRAGMENT = 0x4000;

export const IPV6_HEADER_LENGTH = 40;
export const IPV6_OFF_PAYLOAD_LENGTH = 4;
export const IPV6_OFF_NEXT_HEADER = 6;
export const IPV6_OFF_HOP_LIMIT = 7;
export const IPV6_OFF_SRC = 8;
export const IPV6_OFF_DST = 24;

export const IPPROTO_AH = 51;

/** The IPv4 header fields a sender chooses; version, length and checksum follow from them. */
interface Ipv4HeaderChoices {
  tos: number;
  totalLength: number;
  id: number;
  /** Flags (3 bits) and fragment offset (13 bits) as one 16-bit field. */
  fragmentField: number;
  ttl: number;
  protocol: number;
}

/** IPv4 header fields as received, enough to rebuild the same header byte for byte. */
export interface Ipv4HeaderFields extends Ipv4HeaderChoices {
  headerLength: number;
  headerChecksum: number;
  src: string;
  dst: string;
}

export interface Ipv6HeaderFields {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
}

/** Parses an IPv4 header at the start of `bytes`; null when it is not a well-formed IPv4 header. */
export function parseIpv4Header(bytes: Uint8Array): Ipv4HeaderFields | null {
  if (bytes.length < IPV4_MIN_HEADER_LENGTH) return null;
  if (bytes[0]! >> 4 !== 4) return null;
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH || headerLength > bytes.length) return null;
  return {
    headerLength,
    tos: bytes[IPV4_OFF_TOS]!,
    totalLength: (bytes[IPV4_OFF_TOTAL_LENGTH]! << 8) | bytes[IPV4_OFF_TOTAL_LENGTH + 1]!,
    id: (bytes[IPV4_OFF_ID]! << 8) | bytes[IPV4_OFF_ID + 1]!,
    fragmentField: (bytes[IPV4_OFF_FRAGMENT]! << 8) | bytes[IPV4_OFF_FRAGMENT + 1]!,
    ttl: bytes[IPV4_OFF_TTL]!,
    protocol: bytes[IPV4_OFF_PROTOCOL]!,
    headerChecksum: (bytes[IPV4_OFF_CHECKSUM]! << 8) | bytes[IPV4_OFF_CHECKSUM + 1]!,
    src: formatIpv4(bytes, IPV4_OFF_SRC),
    dst: formatIpv4(bytes, IPV4_OFF_DST),
  };
}

/** What writeIpv4Header() writes: the sender's choices and the addresses as bytes. */
export interface Ipv4HeaderSpec extends Ipv4HeaderChoices {
  src: Uint8Array;
  dst: Uint8Array;
}

/** Writes a 20-byte IPv4 header (no options) with its checksum at out[offset]. */
export function writeIpv4Header(out: Uint8Array, offset: number, h: Ipv4HeaderSpec): void {
  out[offset] = 0x45;
  out[offset + IPV4_OFF_TOS] = h.tos;
  out[offset + IPV4_OFF_TOTAL_LENGTH] = h.totalLength >> 8;
  out[offset + IPV4_OFF_TOTAL_LENGTH + 1] = h.totalLength & 0xff;
  out[offset + IPV4_OFF_ID] = (h.id >> 8) & 0xff;
  out[offset + IPV4_OFF_ID + 1] = h.id & 0xff;
  out[offset + IPV4_OFF_FRAGMENT] = (h.fragmentField >> 8) & 0xff;
  out[offset + IPV4_OFF_FRAGMENT + 1] = h.fragmentField & 0xff;
  out[offset + IPV4_OFF_TTL] = h.ttl;
  out[offset + IPV4_OFF_PROTOCOL] = h.protocol;
  out[offset + IPV4_OFF_CHECKSUM] = 0;
  out[offset + IPV4_OFF_CHECKSUM + 1] = 0;
  out.set(h.src, offset + IPV4_OFF_SRC);
  out.set(h.dst, offset + IPV4_OFF_DST);
  const sum = internetChecksum(out, offset, offset + IPV4_MIN_HEADER_LENGTH);
  out[offset + IPV4_OFF_CHECKSUM] = sum >> 8;
  out[offset + IPV4_OFF_CHECKSUM + 1] = sum & 0xff;
}

/** Parses a fixed IPv6 header (extension headers are not followed: VRRP packets carry none). */
export function parseIpv6Header(bytes: Uint8Array): Ipv6HeaderFields | null {
  if (bytes.length < IPV6_HEADER_LENGTH || bytes[0]! >> 4 !== 6) return null;
  const word0 = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return {
    trafficClass: (word0 >>> 20) & 0xff,
    flowLabel: word0 & 0xfffff,
    payloadLength: (bytes[IPV6_OFF_PAYLOAD_LENGTH]! << 8) | bytes[IPV6_OFF_PAYLOAD_LENGTH + 1]!,
    nextHeader: bytes[IPV6_OFF_NEXT_HEADER]!,
    hopLimit: bytes[IPV6_OFF_HOP_LIMIT]!,
    src: formatIpv6(bytes, IPV6_OFF_SRC),
    dst: formatIpv6(bytes, IPV6_OFF_DST),
  };
}
