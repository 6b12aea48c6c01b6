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
  const out = new Uint8Array(4);
  return parseIpv4Into(text, 0, text.length, out, 0) ? out : null;
}

/** Parses text[from,to) as a dotted quad into out[at..at+3]; false when malformed. Hand-rolled: hot path. */
function parseIpv4Into(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let octet = 0;
  let digits = 0;
  let part = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? text.charCodeAt(i) : 46; // a virtual '.' ends the last octet
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return false; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = octet;
      octet = 0;
      digits = 0;
    } else return false;
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** IPv6 text (with '::', embedded IPv4 tail, optional '%zone' which is ignored) to 16 bytes. */
export function parseIpv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  const end = zone >= 0 ? zone : text.length;
  if (end < 2 || end > 45) return null;
  const groups = new Uint16Array(8);
  let n = 0;
  let gap = -1; // group index where '::' stands
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
    if (i === end) return new Uint8Array(16);
  }
  while (i < end) {
    if (n === 8) return null;
    // An embedded IPv4 tail takes the last two groups.
    let j = i;
    let value = 0;
    let isV4 = false;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c === 58) break;
      if (c === 46) {
        isV4 = true;
        break;
      }
      const h = hexValue(c);
      if (h < 0 || j - i >= 4) return null;
      value = (value << 4) | h;
      j++;
    }
    if (isV4) {
      if (n > 6) return null;
      const v4 = new Uint8Array(4);
      if (!parseIpv4Into(text, i, end, v4, 0)) return null;
      groups[n++] = (v4[0]! << 8) | v4[1]!;
      groups[n++] = (v4[2]! << 8) | v4[3]!;
      i = end;
      break;
    }
    if (j === i) return null;
    groups[n++] = value;
    if (j === end) {
      i = end;
      break;
    }
    // j is at ':'
    if (text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return null;
      gap = n;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === end) return null; // trailing single ':'
    }
  }
  const out = new Uint8Array(16);
  if (gap < 0) {
    if (n !== 8) return null;
  } else if (n > 7) return null;
  const tail = gap < 0 ? 0 : n - gap;
  for (let g = 0; g < n; g++) {
    const slot = gap >= 0 && g >= gap ? 8 - tail + (g - gap) : g;
    out[slot * 2] = groups[g]! >> 8;
    out[slot * 2 + 1] = groups[g]! & 0xff;
  }
  return out;
}

export function parseIp(text: string, family: IpFamily): Uint8Array | null {
  return family === 4 ? parseIpv4(text) : parseIpv6(text);
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

const HEX_GROUP_CACHE: string[] = [];

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (≥2) of zero groups as '::', first on a tie. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  // Find the longest run of zero groups (length ≥ 2), first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && bytes[offset + i * 2] === 0 && bytes[offset + i * 2 + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart;
      }
      runStart = -1;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += hexGroup((bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!);
  }
  return s;
}

function hexGroup(v: number): string {
  if (v < 256) {
    let h = HEX_GROUP_CACHE[v];
    if (h === undefined) {
      h = v.toString(16);
      HEX_GROUP_CACHE[v] = h;
    }
    return h;
  }
  return v.toString(16);
}

export function formatIp(bytes: Uint8Array, offset: number, family: IpFamily): string {
  return family === 4 ? formatIpv4(bytes, offset) : formatIpv6(bytes, offset);
}

const parseCache = [new Map<string, Uint8Array | null>(), new Map<string, Uint8Array | null>()];
const PARSE_CACHE_MAX = 4096;

/**
 * parseIp memoised for the hot paths (the same own/peer/group addresses every packet). The returned bytes are
 * shared: callers must not modify them. Bounded, cleared when full.
 */
export function parseIpShared(text: string, family: IpFamily): Uint8Array | null {
  const cache = parseCache[family === 4 ? 0 : 1]!;
  let b = cache.get(text);
  if (b !== undefined) return b;
  b = parseIp(text, family);
  if (cache.size >= PARSE_CACHE_MAX) cache.clear();
  cache.set(text, b);
  return b;
}

const canonicalCache = [new Map<string, string | null>(), new Map<string, string | null>()];
const CANONICAL_CACHE_MAX = 4096;

/**
 * Canonical text of an address (RFC 5952 for IPv6), or null if it does not parse in `family`. Memoised (the
 * same configured VIPs and peers are compared for every packet); the memo is bounded and simply cleared when
 * full, since source addresses come from the network.
 */
export function canonicalIp(text: string, family: IpFamily): string | null {
  const cache = canonicalCache[family === 4 ? 0 : 1]!;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const b = parseIp(text, family);
  const canon = b ? formatIp(b, 0, family) : null;
  if (cache.size >= CANONICAL_CACHE_MAX) cache.clear();
  cache.set(text, canon);
  return canon;
}

/** 224.0.0.0/4 or ff00::/8. */
export function isMulticastAddr(bytes: Uint8Array, family: IpFamily): boolean {
  return family === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff;
}
