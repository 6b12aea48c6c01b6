// VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 9568) over IPv4 and IPv6, from and to bytes,
// with or without the IP header in front (raw IPv4 sockets hand the header over; raw IPv6 sockets do not).
// `decodeAdvert` never throws: every malformed input comes back as a stable error code. It checks structure
// only (lengths, version, protocol); checksums, authentication and policy are rx-validate.ts's job, in
// keepalived's order. `encodeAdvert` takes trusted local data and throws RangeError on impossible fields.
//
// VRRPv2, RFC 3768 §5.1 (with the RFC 2338 authentication data keepalived still sends):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Auth Type   |   Adver Int   |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         IP Address (1)                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                            .                                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         IP Address (n)                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Authentication Data (1)                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Authentication Data (2)                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   Adver Int is in seconds.
//
// VRRPv3, RFC 9568 §5.1:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    IPv4 Fields or IPv6 Fields                 |
//  ...                                                             ...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |(rsvd) |     Max Adver Int     |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               |
//   +                                                               +
//   |                       IPvX Address(es)                        |
//   +                                                               +
//   +                                                               +
//   +                                                               +
//   +                                                               +
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   Max Adver Int is in centiseconds (12 bits); rsvd MUST be ignored on receive (§5.2.5).
import type { IpFamily, VrrpAdvert, VrrpVersion } from './advert.js';
import { AuthType, VRRP_PROTOCOL, VRRP_TTL } from './advert.js';
import { AUTH_DATA_LENGTH, authKeyBytes } from './auth.js';
import { AH_HEADER_LENGTH, type AhFields, parseAhHeader, writeAhHeader, writeAhIcv } from './auth-ah.js';
import { type ChecksumForm, computeVrrpChecksum, VRRP_CHECKSUM_OFFSET } from './checksum.js';
import { addrLengthOf, formatIp, parseIpShared, parseIpv4 } from './packet-addr.js';
import {
  IPPROTO_AH,
  IPV4_MIN_HEADER_LENGTH,
  IPV4_TOS_NETWORK_CONTROL,
  IPV6_HEADER_LENGTH,
  type Ipv4HeaderFields,
  type Ipv6HeaderFields,
  parseIpv4Header,
  parseIpv6Header,
  writeIpv4Header,
} from './packet-ip.js';

export const VRRP_HEADER_LENGTH = 8;
export const VRRP_OFF_VERSION_TYPE = 0;
export const VRRP_OFF_VRID = 1;
export const VRRP_OFF_PRIORITY = 2;
export const VRRP_OFF_COUNT = 3;
/** v2: Auth Type; v3: rsvd (high 4 bits) + high 4 bits of Max Adver Int. */
export const VRRP_OFF_AUTH_TYPE = 4;
/** v2: Adver Int (seconds); v3: low 8 bits of Max Adver Int. */
export const VRRP_OFF_INTERVAL = 5;
export { VRRP_CHECKSUM_OFFSET as VRRP_OFF_CHECKSUM } from './checksum.js';
export const VRRP_OFF_ADDRESSES = 8;
export const VRRP_MAX_ADDRESSES = 255;
export const VRRP_V3_MAX_INTERVAL_CS = 0x0fff;
export const VRRP_V2_MAX_INTERVAL_S = 255;
/**
 * Largest IP-level length that may carry trailing bytes: Ethernet pads frames to a 46-byte payload, and a
 * switch that strips up to two 802.1Q tags after padding leaves up to 8 more (keepalived tolerates padding of
 * short frames, docs/keepalived-semantics.md 'Receive validation order' rule 2). Longer packets must match
 * their length fields exactly.
 */
export const MAX_PADDED_IP_LENGTH = 46 + 2 * 4;

/** Stable decode error codes. */
export type DecodeErrorCode =
  /** The bytes end before the lengths in the headers say they should. */
  | 'truncated'
  /** Length fields disagree with each other, or trailing bytes exceed Ethernet padding. */
  | 'length-mismatch'
  /** Not a well-formed IPv4/IPv6 header (withIpHeader only). */
  | 'ip-header'
  /** IP protocol / next header is neither VRRP (112) nor, for IPv4, AH (51) followed by VRRP. */
  | 'ip-protocol'
  /** AH present but not the 24-byte HMAC-MD5-96 header carrying VRRP. */
  | 'ah-header'
  /** VRRP version nibble is not 2 or 3, or v2 over IPv6 (which does not exist). */
  | 'vrrp-version';

export interface DecodeOptions {
  family: IpFamily;
  /** The bytes start with the IP header (IPv4 raw sockets, captures) rather than the VRRP header. */
  withIpHeader: boolean;
}

/** Everything decoded besides the advert: where things are, and the surrounding headers. */
export interface DecodedPacket {
  family: IpFamily;
  ipv4: Ipv4HeaderFields | null;
  ipv6: Ipv6HeaderFields | null;
  ah: AhFields | null;
  /** Offset of the AH in the input, or -1. */
  ahOffset: number;
  /** Offset and length of the VRRP message (header + addresses [+ 8 auth bytes for v2]) in the input. */
  vrrpOffset: number;
  vrrpLength: number;
  /** Length of the IP packet without padding (IP header + AH + VRRP); the VRRP length if no header was given. */
  packetLength: number;
  /** Trailing bytes tolerated as Ethernet padding. */
  paddingLength: number;
  /** v3: the 4 reserved bits as received (ignored, RFC 9568 §5.2.5); v2: 0. */
  reservedBits: number;
}

export type DecodeResult =
  | { ok: true; advert: VrrpAdvert; packet: DecodedPacket }
  | { ok: false; error: DecodeErrorCode };

/** Length of a VRRP message (no IP header) for a version, family and address count. */
export function vrrpMessageLength(version: VrrpVersion, family: IpFamily, addressCount: number): number {
  return VRRP_HEADER_LENGTH + addressCount * addrLengthOf(family) + (version === 2 ? AUTH_DATA_LENGTH : 0);
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function fail(error: DecodeErrorCode): DecodeResult {
  return { ok: false, error };
}

/** Decodes one advert. Never throws; see DecodeErrorCode for the failure codes. */
export function decodeAdvert(bytes: Uint8Array, opts: DecodeOptions): DecodeResult {
  const family = opts.family;
  let ipv4: Ipv4HeaderFields | null = null;
  let ipv6: Ipv6HeaderFields | null = null;
  let ah: AhFields | null = null;
  let ahOffset = -1;
  let vrrpOffset = 0;
  /** IP-level length claimed by the IP header (-1 when there is none). */
  let claimedIpLength = -1;
  /** IP header length, real or implied (the socket stripped it), for the padding rule. */
  let ipHeaderLength = family === 4 ? IPV4_MIN_HEADER_LENGTH : IPV6_HEADER_LENGTH;

  if (opts.withIpHeader) {
    if (family === 4) {
      ipv4 = parseIpv4Header(bytes);
      if (!ipv4) return fail('ip-header');
      ipHeaderLength = ipv4.headerLength;
      if (ipv4.totalLength < ipv4.headerLength) return fail('length-mismatch');
      if (ipv4.totalLength > bytes.length) return fail('truncated');
      claimedIpLength = ipv4.totalLength;
      vrrpOffset = ipv4.headerLength;
      if (ipv4.protocol === IPPROTO_AH) {
        ah = parseAhHeader(bytes, vrrpOffset);
        if (!ah) return fail(vrrpOffset + AH_HEADER_LENGTH > bytes.length ? 'truncated' : 'ah-header');
        ahOffset = vrrpOffset;
        vrrpOffset += AH_HEADER_LENGTH;
      } else if (ipv4.protocol !== VRRP_PROTOCOL) return fail('ip-protocol');
    } else {
      ipv6 = parseIpv6Header(bytes);
      if (!ipv6) return fail('ip-header');
      if (ipv6.nextHeader !== VRRP_PROTOCOL) return fail('ip-protocol');
      claimedIpLength = IPV6_HEADER_LENGTH + ipv6.payloadLength;
      if (claimedIpLength > bytes.length) return fail('truncated');
      vrrpOffset = IPV6_HEADER_LENGTH;
    }
  }

  if (bytes.length < vrrpOffset + VRRP_HEADER_LENGTH) return fail('truncated');
  const version = bytes[vrrpOffset + VRRP_OFF_VERSION_TYPE]! >> 4;
  if (version !== 2 && version !== 3) return fail('vrrp-version');
  if (version === 2 && family === 6) return fail('vrrp-version');
  const count = bytes[vrrpOffset + VRRP_OFF_COUNT]!;
  const vrrpLength = vrrpMessageLength(version, family, count);
  const messageEnd = vrrpOffset + vrrpLength;
  if (messageEnd > bytes.length) return fail('truncated');
  if (claimedIpLength >= 0 && claimedIpLength !== messageEnd) return fail('length-mismatch');
  const paddingLength = bytes.length - messageEnd;
  const packetLength = opts.withIpHeader ? messageEnd : vrrpLength;
  if (paddingLength > 0) {
    const receivedIpLength = opts.withIpHeader ? bytes.length : ipHeaderLength + bytes.length;
    if (receivedIpLength > MAX_PADDED_IP_LENGTH) return fail('length-mismatch');
  }

  const b4 = bytes[vrrpOffset + VRRP_OFF_AUTH_TYPE]!;
  const b5 = bytes[vrrpOffset + VRRP_OFF_INTERVAL]!;
  const addrLength = addrLengthOf(family);
  const addresses = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    addresses[i] = formatIp(bytes, vrrpOffset + VRRP_OFF_ADDRESSES + i * addrLength, family);
  }
  let authDataHex = '';
  if (version === 2) {
    const authStart = messageEnd - AUTH_DATA_LENGTH;
    let nonZero = false;
    for (let i = authStart; i < messageEnd; i++) if (bytes[i] !== 0) nonZero = true;
    // keepalived zero-fills the field when it does not use PASS; keep it '' then, as the contract says.
    if (b4 === AuthType.pass || nonZero) {
      for (let i = authStart; i < messageEnd; i++) authDataHex += HEX_BYTE[bytes[i]!];
    }
  }
  const advert: VrrpAdvert = {
    version,
    type: bytes[vrrpOffset + VRRP_OFF_VERSION_TYPE]! & 0x0f,
    vrid: bytes[vrrpOffset + VRRP_OFF_VRID]!,
    priority: bytes[vrrpOffset + VRRP_OFF_PRIORITY]!,
    advertIntervalCs: version === 2 ? b5 * 100 : ((b4 & 0x0f) << 8) | b5,
    authType: version === 2 ? b4 : 0,
    authDataHex,
    addresses,
    checksum:
      (bytes[vrrpOffset + VRRP_CHECKSUM_OFFSET]! << 8) | bytes[vrrpOffset + VRRP_CHECKSUM_OFFSET + 1]!,
  };
  return {
    ok: true,
    advert,
    packet: {
      family,
      ipv4,
      ipv6,
      ah,
      ahOffset,
      vrrpOffset,
      vrrpLength,
      packetLength,
      paddingLength,
      reservedBits: version === 3 ? b4 >> 4 : 0,
    },
  };
}

export interface EncodeOptions {
  family: IpFamily;
  /** Source and destination (used in the v3 pseudo-header, the IPv4 header and the AH SPI). */
  srcAddr: string;
  dstAddr: string;
  /** Prepend an IPv4 header, as keepalived does with IP_HDRINCL. IPv4 only; AH requires it. */
  withIpHeader?: boolean;
  /** v3 over IPv4 only: 'pseudo-header' (keepalived/FRR default) or 'vrrp-only' (RFC 9568, v3_checksum_as_v2). */
  checksumForm?: ChecksumForm;
  /** The multicast group the 'pseudo-header-group' form sums (old_unicast_checksum). */
  checksumGroup?: string;
  /** IPv4 header fields; defaults: TOS 0xc0, id 0, no flags, TTL 255 (RFC 9568 §5.1.1.3). */
  ipv4?: { tos?: number; id?: number; fragmentField?: number; ttl?: number };
  /**
   * IPsec AH (v2, IPv4, withIpHeader): key from the password's first 8 bytes; SPI defaults to srcAddr.
   * `zeroTtl`: the TTL is left out of the ICV, as keepalived does for instances with unicast peers.
   */
  ah?: { password: string; seq: number; spi?: number; zeroTtl?: boolean };
}

const HEX16 = /^[0-9a-fA-F]{16}$/;

/** Throws RangeError naming the field; `what` is a thunk so the happy path builds no strings. */
function check(cond: boolean, what: () => string): void {
  if (!cond) throw new RangeError(`encodeAdvert: ${what()}`);
}

/**
 * Encodes an advert. `advert.checksum` is ignored and computed; `advert.authDataHex` ('' = zeros) is the v2
 * auth data (use passAuthDataHex(password) for PASS). Throws RangeError on fields that cannot be encoded.
 */
export function encodeAdvert(advert: VrrpAdvert, opts: EncodeOptions): Buffer {
  const { family } = opts;
  const { version } = advert;
  check(version === 2 || version === 3, () => `version ${version}`);
  check(!(version === 2 && family === 6), () => 'VRRPv2 exists only over IPv4');
  check(advert.type >= 0 && advert.type <= 15, () => `type ${advert.type}`);
  check(advert.vrid >= 0 && advert.vrid <= 255, () => `vrid ${advert.vrid}`);
  check(advert.priority >= 0 && advert.priority <= 255, () => `priority ${advert.priority}`);
  check(advert.addresses.length <= VRRP_MAX_ADDRESSES, () => `${advert.addresses.length} addresses`);
  if (version === 2) {
    const s = advert.advertIntervalCs / 100;
    check(
      Number.isInteger(s) && s >= 0 && s <= VRRP_V2_MAX_INTERVAL_S,
      () => `v2 interval ${advert.advertIntervalCs} cs`,
    );
    check(advert.authType >= 0 && advert.authType <= 255, () => `auth type ${advert.authType}`);
    check(
      advert.authDataHex === '' || HEX16.test(advert.authDataHex),
      () => 'authDataHex must be 16 hex digits or empty',
    );
  } else {
    const cs = advert.advertIntervalCs;
    check(Number.isInteger(cs) && cs >= 0 && cs <= VRRP_V3_MAX_INTERVAL_CS, () => `v3 interval ${cs} cs`);
  }
  const withIpHeader = opts.withIpHeader === true;
  check(!(withIpHeader && family === 6), () => 'IPv6 headers are built by the kernel');
  check(!(opts.ah && (!withIpHeader || version !== 2)), () => 'AH needs VRRPv2 with the IPv4 header');
  const src = parseIpShared(opts.srcAddr, family);
  const dst = parseIpShared(opts.dstAddr, family);
  check(src !== null && dst !== null, () => `bad source/destination ${opts.srcAddr} ${opts.dstAddr}`);

  const vrrpLength = vrrpMessageLength(version, family, advert.addresses.length);
  const ipHeaderLength = withIpHeader ? IPV4_MIN_HEADER_LENGTH : 0;
  const ahLength = opts.ah ? AH_HEADER_LENGTH : 0;
  const vrrpOffset = ipHeaderLength + ahLength;
  // Pooled allocation (cheaper than a fresh zeroed ArrayBuffer for ~50-byte packets), zeroed explicitly.
  const out = Buffer.allocUnsafe(vrrpOffset + vrrpLength).fill(0);

  out[vrrpOffset + VRRP_OFF_VERSION_TYPE] = (version << 4) | advert.type;
  out[vrrpOffset + VRRP_OFF_VRID] = advert.vrid;
  out[vrrpOffset + VRRP_OFF_PRIORITY] = advert.priority;
  out[vrrpOffset + VRRP_OFF_COUNT] = advert.addresses.length;
  if (version === 2) {
    out[vrrpOffset + VRRP_OFF_AUTH_TYPE] = advert.authType;
    out[vrrpOffset + VRRP_OFF_INTERVAL] = advert.advertIntervalCs / 100;
    if (advert.authDataHex !== '')
      writeHex(out, vrrpOffset + vrrpLength - AUTH_DATA_LENGTH, advert.authDataHex);
  } else {
    out[vrrpOffset + VRRP_OFF_AUTH_TYPE] = advert.advertIntervalCs >> 8;
    out[vrrpOffset + VRRP_OFF_INTERVAL] = advert.advertIntervalCs & 0xff;
  }
  const addrLength = addrLengthOf(family);
  for (let i = 0; i < advert.addresses.length; i++) {
    const a = parseIpShared(advert.addresses[i]!, family);
    check(a !== null, () => `bad address ${advert.addresses[i]}`);
    out.set(a!, vrrpOffset + VRRP_OFF_ADDRESSES + i * addrLength);
  }
  const group = opts.checksumGroup === undefined ? undefined : parseIpShared(opts.checksumGroup, family);
  const sum = computeVrrpChecksum(
    out,
    { version, family, src: src!, dst: dst!, ...(group ? { group } : {}) },
    opts.checksumForm,
    vrrpOffset,
    vrrpLength,
  );
  out[vrrpOffset + VRRP_CHECKSUM_OFFSET] = sum >> 8;
  out[vrrpOffset + VRRP_CHECKSUM_OFFSET + 1] = sum & 0xff;

  if (withIpHeader) {
    const h = opts.ipv4 ?? {};
    writeIpv4Header(out, 0, {
      tos: h.tos ?? IPV4_TOS_NETWORK_CONTROL,
      totalLength: out.length,
      id: h.id ?? 0,
      fragmentField: h.fragmentField ?? 0,
      ttl: h.ttl ?? VRRP_TTL,
      protocol: opts.ah ? IPPROTO_AH : VRRP_PROTOCOL,
      src: src!,
      dst: dst!,
    });
  }
  if (opts.ah) {
    const spi = opts.ah.spi ?? spiOfAddress(opts.srcAddr);
    writeAhHeader(out, ipHeaderLength, spi, opts.ah.seq);
    writeAhIcv(out, ipHeaderLength, authKeyBytes(opts.ah.password), out.length, opts.ah.zeroTtl === true);
  }
  return out;
}

/** Writes an even-length string of hex digits (already validated) as bytes at out[offset]. */
function writeHex(out: Uint8Array, offset: number, hex: string): void {
  for (let i = 0; i < hex.length; i += 2) {
    out[offset + i / 2] = (hexDigit(hex.charCodeAt(i)) << 4) | hexDigit(hex.charCodeAt(i + 1));
  }
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** keepalived uses the sender's IPv4 address as the AH SPI. */
export function spiOfAddress(addr: string): number {
  const b = parseIpv4(addr);
  if (!b) return 0;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
