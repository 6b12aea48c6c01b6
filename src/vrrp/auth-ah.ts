// IPsec AH for VRRPv2 (`auth_type AH`), as keepalived implements it (its draft-ietf-vrrp-ipsecah-spec-00):
// an RFC 2402 Authentication Header between the IPv4 header (protocol 51) and the VRRP message, with
// HMAC-MD5-96 (RFC 2403) keyed by the first 8 bytes of `auth_pass`.
//
// RFC 2402 §2:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Header   |  Payload Len  |          RESERVED             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Security Parameters Index (SPI)               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Sequence Number Field                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               |
//   +                Authentication Data (variable)                 |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Facts measured on keepalived 2.2.7 captures (test/data/vrrp-captures/keepalived-v2-ipv4-ah.json):
//  - Next Header 112, Payload Len 4 (24-byte AH: 12 fixed + 12-byte ICV), SPI = the sender's IPv4 source
//    address, Sequence Number starts at 1 and grows by one per advert. The VRRP auth data bytes are zero.
//  - The ICV is HMAC-MD5 truncated to 96 bits over the whole IP packet (IPv4 header + AH + VRRP) with TOS,
//    flags/fragment offset, header checksum and the ICV itself zeroed. TTL is NOT zeroed (RFC 2402
//    §3.3.3.1.1.1 lists it as mutable; keepalived keeps it, and on the link it is always 255 anyway).
//  - A 13-character `auth_pass` gives the same ICV as its first 8 characters (key = 8 bytes, zero-padded).
//  - keepalived 2.2.7's source zeroes the TTL too when the instance has unicast peers (a unicast_ttl may be
//    below 255 and routers on the way decrement it), on sending and on checking: `zeroTtl`.
//  - The receiver also requires SPI = the IPv4 source, and a Sequence Number above the last one it accepted
//    or sent for the instance (one counter for both: a backup that takes over continues its master's
//    sequence, so the other backups accept it) — rx-validate.ts and the daemon's socket pool.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { VRRP_PROTOCOL } from './advert.js';
import { IPV4_OFF_CHECKSUM, IPV4_OFF_FRAGMENT, IPV4_OFF_TOS, IPV4_OFF_TTL } from './packet-ip.js';

export const AH_HEADER_LENGTH = 24;
export const AH_ICV_LENGTH = 12;
/** AH Payload Len is the AH length in 32-bit words minus 2 (RFC 2402 §2.2). */
export const AH_PAYLOAD_LEN_WORDS = AH_HEADER_LENGTH / 4 - 2;
export const AH_OFF_NEXT_HEADER = 0;
export const AH_OFF_PAYLOAD_LEN = 1;
export const AH_OFF_SPI = 4;
export const AH_OFF_SEQ = 8;
export const AH_OFF_ICV = 12;

export interface AhFields {
  nextHeader: number;
  spi: number;
  seq: number;
  icvHex: string;
}

/** Parses the AH at bytes[offset]; null unless it is the 24-byte AH keepalived sends in front of VRRP. */
export function parseAhHeader(bytes: Uint8Array, offset: number): AhFields | null {
  if (offset + AH_HEADER_LENGTH > bytes.length) return null;
  if (bytes[offset + AH_OFF_NEXT_HEADER] !== VRRP_PROTOCOL) return null;
  if (bytes[offset + AH_OFF_PAYLOAD_LEN] !== AH_PAYLOAD_LEN_WORDS) return null;
  return {
    nextHeader: VRRP_PROTOCOL,
    spi: readU32(bytes, offset + AH_OFF_SPI),
    seq: readU32(bytes, offset + AH_OFF_SEQ),
    icvHex: Buffer.from(bytes.buffer, bytes.byteOffset + offset + AH_OFF_ICV, AH_ICV_LENGTH).toString('hex'),
  };
}

/** Writes an AH with a zero ICV at out[offset] (the ICV is filled in by writeAhIcv once the packet is complete). */
export function writeAhHeader(out: Uint8Array, offset: number, spi: number, seq: number): void {
  out[offset + AH_OFF_NEXT_HEADER] = VRRP_PROTOCOL;
  out[offset + AH_OFF_PAYLOAD_LEN] = AH_PAYLOAD_LEN_WORDS;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  writeU32(out, offset + AH_OFF_SPI, spi);
  writeU32(out, offset + AH_OFF_SEQ, seq);
  out.fill(0, offset + AH_OFF_ICV, offset + AH_HEADER_LENGTH);
}

/**
 * HMAC-MD5-96 of an IPv4 packet packet[0, totalLength) whose AH starts at `ahOffset`, computed over a copy
 * with the mutable fields zeroed as keepalived does (see the header comment).
 */
export function computeAhIcv(
  packet: Uint8Array,
  ahOffset: number,
  key: Uint8Array,
  totalLength = packet.length,
  zeroTtl = false,
) {
  const copy = Buffer.from(packet.subarray(0, totalLength));
  copy[IPV4_OFF_TOS] = 0;
  if (zeroTtl) copy[IPV4_OFF_TTL] = 0;
  copy[IPV4_OFF_FRAGMENT] = 0;
  copy[IPV4_OFF_FRAGMENT + 1] = 0;
  copy[IPV4_OFF_CHECKSUM] = 0;
  copy[IPV4_OFF_CHECKSUM + 1] = 0;
  copy.fill(0, ahOffset + AH_OFF_ICV, ahOffset + AH_HEADER_LENGTH);
  return createHmac('md5', key).update(copy).digest().subarray(0, AH_ICV_LENGTH);
}

/** Computes and stores the ICV of a fully built packet. */
export function writeAhIcv(
  packet: Uint8Array,
  ahOffset: number,
  key: Uint8Array,
  totalLength = packet.length,
  zeroTtl = false,
) {
  packet.set(computeAhIcv(packet, ahOffset, key, totalLength, zeroTtl), ahOffset + AH_OFF_ICV);
}

/** Constant-time check of the ICV carried in the packet. */
export function verifyAhIcv(
  packet: Uint8Array,
  ahOffset: number,
  key: Uint8Array,
  totalLength = packet.length,
  zeroTtl = false,
): boolean {
  if (ahOffset + AH_HEADER_LENGTH > totalLength || totalLength > packet.length) return false;
  const expected = computeAhIcv(packet, ahOffset, key, totalLength, zeroTtl);
  const carried = packet.subarray(ahOffset + AH_OFF_ICV, ahOffset + AH_HEADER_LENGTH);
  return timingSafeEqual(expected, carried);
}

/** Big-endian 32-bit unsigned at b[o] (AH fields, the IPv4 source as keepalived's SPI). */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
