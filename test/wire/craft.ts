// Hand-built VRRP packets for wire tests, written from RFC 3768 §5 and RFC 5798 §5 directly — deliberately
// not through src/vrrp's encoder, so a bug there cannot cancel out in a test. Each builder makes a correct
// packet, and `Mutation` fields break exactly one thing in it.
import { isIPv4 } from 'node:net';

const VRRP_PROTOCOL = 112;
export const GROUP_V4 = '224.0.0.18';

/** One's-complement sum over 16-bit words (RFC 1071), folded and inverted. */
export function inetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function v4Bytes(a: string): number[] {
  if (!isIPv4(a)) throw new Error(`not IPv4: ${a}`);
  return a.split('.').map(Number);
}

/** 16 bytes of an IPv6 address (accepts `::` shorthand; no embedded IPv4). */
export function v6Bytes(a: string): number[] {
  const [head = '', tail = ''] = a.includes('::') ? a.split('::') : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

export interface Mutation {
  /** Version nibble written (default: the builder's). */
  version?: number;
  /** Type nibble (default 1, ADVERTISEMENT). */
  type?: number;
  /** XORed into the computed checksum (non-zero makes it wrong). */
  checksumXor?: number;
  /** Keep only the first N bytes of the VRRP message (after the checksum is computed). */
  truncateTo?: number;
}

export interface V2Advert {
  vrid: number;
  priority: number;
  advertIntS: number;
  /** 0 none, 1 PASS (simple text), 2 AH; other values are invalid. */
  authType: number;
  /** PASS data (padded with zeros to 8 bytes). */
  password: string;
  addresses: string[];
}

/** RFC 3768 §5.1: VRRPv2 message; checksum over the VRRP message only. */
export function vrrpV2(a: V2Advert, m: Mutation = {}): Uint8Array {
  const addrs = a.addresses.flatMap(v4Bytes);
  const auth = new Array(8).fill(0);
  for (let i = 0; i < Math.min(8, a.password.length); i++) auth[i] = a.password.charCodeAt(i) & 0xff;
  const msg = Uint8Array.from([
    ((m.version ?? 2) << 4) | (m.type ?? 1),
    a.vrid,
    a.priority,
    a.addresses.length,
    a.authType,
    a.advertIntS,
    0,
    0,
    ...addrs,
    ...auth,
  ]);
  return finish(msg, inetChecksum(msg), m);
}

export interface V3Advert {
  vrid: number;
  priority: number;
  advertIntCs: number;
  addresses: string[];
}

/** RFC 5798 §5.1: VRRPv3 message; checksum with the IPv4 pseudo-header (§5.2.8) when `pseudo` is given. */
export function vrrpV3(
  a: V3Advert,
  pseudo: { src: string; dst: string } | null,
  m: Mutation = {},
): Uint8Array {
  const family6 = a.addresses.some((x) => x.includes(':'));
  const addrs = a.addresses.flatMap(family6 ? v6Bytes : v4Bytes);
  const msg = Uint8Array.from([
    ((m.version ?? 3) << 4) | (m.type ?? 1),
    a.vrid,
    a.priority,
    a.addresses.length,
    (a.advertIntCs >> 8) & 0x0f,
    a.advertIntCs & 0xff,
    0,
    0,
    ...addrs,
  ]);
  let sum = 0;
  if (pseudo) {
    const ph = Uint8Array.from([
      ...v4Bytes(pseudo.src),
      ...v4Bytes(pseudo.dst),
      0,
      VRRP_PROTOCOL,
      msg.length >> 8,
      msg.length & 0xff,
      ...msg,
    ]);
    sum = inetChecksum(ph);
  } else {
    sum = inetChecksum(msg);
  }
  return finish(msg, sum, m);
}

/** RFC 2460 §8.1 pseudo-header checksum of a VRRPv3/IPv6 message (for building a deliberately wrong one). */
export function v6Checksum(msg: Uint8Array, src: string, dst: string): number {
  const len = msg.length;
  const body = Uint8Array.from(msg);
  body[6] = 0;
  body[7] = 0;
  return inetChecksum(
    Uint8Array.from([
      ...v6Bytes(src),
      ...v6Bytes(dst),
      0,
      0,
      len >> 8,
      len & 0xff,
      0,
      0,
      0,
      VRRP_PROTOCOL,
      ...body,
    ]),
  );
}

function finish(msg: Uint8Array, checksum: number, m: Mutation): Uint8Array {
  const c = checksum ^ (m.checksumXor ?? 0);
  msg[6] = c >> 8;
  msg[7] = c & 0xff;
  return m.truncateTo === undefined ? msg : msg.slice(0, m.truncateTo);
}

/**
 * RFC 791 header for a raw IP_HDRINCL send. Linux fills in the total length and the header checksum itself
 * (raw(7)), but we write correct ones anyway. `options` (a multiple of 4 bytes) go after the fixed 20 bytes.
 */
export function ipv4Packet(
  src: string,
  dst: string,
  ttl: number,
  payload: Uint8Array,
  options: number[] = [],
  tos = 0xc0,
): Uint8Array {
  if (options.length % 4 !== 0) throw new Error('IPv4 options must fill whole 32-bit words');
  const headerLen = 20 + options.length;
  const total = headerLen + payload.length;
  const h = Uint8Array.from([
    0x40 | (headerLen / 4),
    tos,
    total >> 8,
    total & 0xff,
    0,
    0,
    0,
    0,
    ttl,
    VRRP_PROTOCOL,
    0,
    0,
    ...v4Bytes(src),
    ...v4Bytes(dst),
    ...options,
  ]);
  const c = inetChecksum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  const out = new Uint8Array(total);
  out.set(h, 0);
  out.set(payload, headerLen);
  return out;
}

/** RFC 2113 Router Alert option (value 0), 4 bytes. */
export const ROUTER_ALERT_OPTION = [0x94, 0x04, 0x00, 0x00];
