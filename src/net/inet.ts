// Textual IP addresses <-> network-order bytes. Parsing returns undefined on malformed input (the
// input may come from configuration); formatting of IPv6 follows RFC 5952 so that strings compare equal.
import { isIPv4, isIPv6 } from 'node:net';

export type AddressFamily = 4 | 6;

export function parseIpv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.').map((p) => Number(p)));
}

export function parseIpv6(text: string): Uint8Array | undefined {
  const noZone = text.split('%')[0] ?? '';
  if (!isIPv6(noZone)) return undefined;
  let head = noZone;
  const tail: number[] = [];
  // An embedded dotted quad (::ffff:192.0.2.1) is two groups.
  const lastColon = head.lastIndexOf(':');
  const last = head.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (!v4) return undefined;
    head = `${head.slice(0, lastColon + 1)}0:0`;
    tail.push(...v4);
  }
  const [left = '', right] = head.split('::');
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const l = groupsOf(left);
  const r = right === undefined ? [] : groupsOf(right);
  const missing = 8 - l.length - r.length;
  const groups = right === undefined ? l : [...l, ...new Array<number>(missing).fill(0), ...r];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

export function parseIp(text: string): { family: AddressFamily; bytes: Uint8Array } | undefined {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

export function formatIpv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (≥2) of zero groups becomes '::'. */
export function formatIpv6(b: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[offset + i * 2] ?? 0) << 8) | (b[offset + i * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export function formatIp(b: Uint8Array): string {
  return b.length === 4 ? formatIpv4(b) : formatIpv6(b);
}

export function isMulticast(bytes: Uint8Array): boolean {
  return bytes.length === 4 ? ((bytes[0] ?? 0) & 0xf0) === 0xe0 : bytes[0] === 0xff;
}

/** "00:00:5e:00:01:0a" <-> 6 bytes. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * An address on an interface as text, `address%ifname` (the zone notation of a scoped IPv6 address): the key
 * under which the VIP installer and the no_accept firewall hold a VIP, and the data dump finds it there.
 */
export function addressOn(address: string, ifname: string): string {
  return `${address}%${ifname}`;
}

/** A dotted-quad IPv4 address (valid: isIPv4) as an unsigned 32-bit number. */
export function ipv4ToNumber(text: string): number {
  return text.split('.').reduce((n, x) => n * 256 + Number(x), 0);
}

/** An unsigned 32-bit number as a dotted-quad IPv4 address. */
export function ipv4FromNumber(n: number): string {
  return [24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join('.');
}

/** The IPv4 netmask of a prefix length (0–32), as an unsigned 32-bit number. */
export function ipv4Netmask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/**
 * A VIP's `brd` as keepalived applies it: `+` is the subnet's broadcast address (none for /31 and /32), `-`
 * none; otherwise the address given.
 */
export function vipBroadcast(brd: string, address: string, prefixLen: number): string | null {
  if (brd === '-') return null;
  if (brd !== '+') return brd;
  if (prefixLen >= 31) return null;
  return ipv4FromNumber((ipv4ToNumber(address) | ~ipv4Netmask(prefixLen)) >>> 0);
}
