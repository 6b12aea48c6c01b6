// IPv4/IPv6 address text <-> bytes for the VRRP codec. Parsing never throws (null on bad input, because
// addresses also arrive from the socket layer); formatting follows RFC 5952 for IPv6 so decoded adverts
// compare equal as strings.
import type { IpFamily } from './advert.js';

export const IPV4_ADDR_LENGTH = 4;
export const IPV6_ADDR_LENGTH = 16;

export function addrLengthOf(family: IpFamily): number {
  return family === 4 ? IPV4_ADDR_LENGTH : IPV6_ADDR_LENGTH;
}

/** Dotted quad to 4 bytes; rejects leading zeros beyond a single '0' (ambiguous octal forms). */
export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** IPv6 text (with '::', embedded IPv4 tail, optional '%zone' which is ignored) to 16 bytes. */
export function parseIpv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  const addr = zone >= 0 ? text.slice(0, zone) : text;
  if (addr.length < 2 || addr.length > 45) return null;
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(Number.parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return null;
  const groups: number[] = [];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups.push(...head, ...new Array<number>(missing).fill(0), ...tail);
  } else {
    if (head.length !== 8) return null;
    groups.push(...head);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

export function parseIp(text: string, family: IpFamily): Uint8Array | null {
  return family === 4 ? parseIpv4(text) : parseIpv6(text);
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (≥2) of zero groups as '::', first on a tie. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => {
    let s = '';
    for (let i = from; i < to; i++) s += (i > from ? ':' : '') + g[i]!.toString(16);
    return s;
  };
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

export function formatIp(bytes: Uint8Array, offset: number, family: IpFamily): string {
  return family === 4 ? formatIpv4(bytes, offset) : formatIpv6(bytes, offset);
}

/** Canonical text of an address (RFC 5952 for IPv6), or null if it does not parse in `family`. */
export function canonicalIp(text: string, family: IpFamily): string | null {
  const b = parseIp(text, family);
  return b ? formatIp(b, 0, family) : null;
}

/** 224.0.0.0/4 or ff00::/8. */
export function isMulticastAddr(bytes: Uint8Array, family: IpFamily): boolean {
  return family === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff;
}
