// Readers for keyword argument types: integers and decimals with ranges, keepalived timers,
// booleans, IP addresses and prefixes. Each returns a value or an error message; callers attach
// the position.
import { isIP } from 'node:net';
import type { Family } from './model.js';

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const bad = <T>(error: string): Read<T> => ({ ok: false, error });

/** keepalived's read_int: a decimal integer in [min, max] (2.2.7 rejects hex). */
export function readInt(s: string | undefined, min: number, max: number): Read<number> {
  if (s === undefined) return bad('missing parameter');
  if (!/^[-+]?\d+$/.test(s)) return bad(`invalid number '${s}'`);
  const v = Number(s.replace(/^\+/, ''));
  if (!Number.isSafeInteger(v)) return bad(`invalid number '${s}'`);
  if (v < min || v > max) return bad(`number '${s}' outside range [${min}, ${max}]`);
  return ok(v);
}

/**
 * keepalived's read_unsigned: a decimal unsigned integer in [min, max], with its messages ("negative
 * number", "invalid number", "outside unsigned integer range", "outside range [min, max]").
 */
export function readUnsigned(s: string | undefined, min: number, max: number): Read<number> {
  if (s === undefined) return bad('missing parameter');
  const t = s.replace(/^[ \t\f\n\r\v]+/, '');
  if (t.startsWith('-')) return bad(`negative number '${s}'`);
  if (!/^\+?\d+$/.test(t)) return bad(`invalid number '${s}'`);
  const v = Number(t.replace(/^\+/, ''));
  if (v > 0xffffffff) return bad(`number '${s}' outside unsigned integer range`);
  if (v < min || v > max) return bad(`number '${s}' outside range [${min}, ${max}]`);
  return ok(v);
}

/** A decimal number with up to `decimals` fractional digits in [min, max], returned scaled by 10^decimals. */
export function readDecimalScaled(
  s: string | undefined,
  decimals: number,
  min: number,
  max: number,
): Read<number> {
  if (s === undefined) return bad('missing parameter');
  const m = /^([-+]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return bad(`invalid number '${s}'`);
  const frac = m[3] ?? '';
  if (frac.length > decimals && /[1-9]/.test(frac.slice(decimals)))
    return bad(`number '${s}' has more than ${decimals} decimal places`);
  const scale = 10 ** decimals;
  const whole = Number(m[2] || '0');
  const fracNum = Number((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
  let v = whole * scale + fracNum;
  if (m[1] === '-') v = -v;
  if (!Number.isSafeInteger(v)) return bad(`invalid number '${s}'`);
  if (v < min * scale || v > max * scale)
    return bad(
      `number '${s}' outside range [${formatScaled(min * scale, decimals)}, ${formatScaled(max * scale, decimals)}]`,
    );
  return ok(v);
}

function formatScaled(v: number, decimals: number): string {
  if (decimals === 0) return String(v);
  const s = (v / 10 ** decimals).toFixed(decimals);
  return s.replace(/\.?0+$/, '') || '0';
}

/** keepalived TIMER: decimal seconds with microsecond resolution, in [minS, maxS]; result in µs. */
export function readTimerUs(s: string | undefined, minS = 0, maxS = 4294.967295): Read<number> {
  const r = readDecimalScaled(s, 6, minS, maxS);
  return r;
}

export function readBool(s: string | undefined): Read<boolean> {
  if (s === undefined) return ok(true);
  if (s === 'true' || s === 'on' || s === 'yes') return ok(true);
  if (s === 'false' || s === 'off' || s === 'no') return ok(false);
  return bad(`invalid boolean '${s}'`);
}

export interface Prefix {
  address: string;
  family: Family;
  prefixLength: number;
  /** The prefix length was written explicitly. */
  explicit: boolean;
}

/** Canonical text of an IP address (lower-case, RFC 5952-ish compression as Node prints it). */
export function canonicalIp(s: string): string | null {
  const fam = isIP(s);
  if (fam === 4) return s.split('.').every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255) ? s : null;
  if (fam === 6) {
    try {
      return new URL(`http://[${s}]/`).hostname.slice(1, -1);
    } catch {
      return null;
    }
  }
  return null;
}

export function ipFamily(s: string): Family | null {
  const f = isIP(s);
  return f === 4 ? 4 : f === 6 ? 6 : null;
}

export function readIp(s: string | undefined): Read<{ address: string; family: Family }> {
  if (s === undefined) return bad('missing address');
  const c = canonicalIp(s);
  const family = ipFamily(s);
  if (c === null || family === null) return bad(`invalid IP address '${s}'`);
  return ok({ address: c, family });
}

/** `ADDR[/LEN]`; the default length is the full width (/32, /128). */
export function readPrefix(s: string | undefined): Read<Prefix> {
  if (s === undefined) return bad('missing address');
  const [addr, len, ...more] = s.split('/');
  if (more.length > 0 || addr === undefined) return bad(`invalid address '${s}'`);
  const ip = readIp(addr);
  if (!ip.ok) return ip;
  const max = ip.value.family === 4 ? 32 : 128;
  if (len === undefined) return ok({ ...ip.value, prefixLength: max, explicit: false });
  const l = readInt(len, 0, max);
  if (!l.ok) return bad(`invalid prefix length in '${s}'`);
  return ok({ ...ip.value, prefixLength: l.value, explicit: true });
}

export function isLinkLocal6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

export function isMulticast(address: string, family: Family): boolean {
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return /^ff/i.test(address);
}

/** Address as big-endian bytes, for comparisons and ranges. */
export function ipToBytes(address: string): Uint8Array {
  if (address.includes(':')) {
    const out = new Uint8Array(16);
    const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    groups.forEach((g, i) => {
      const v = Number.parseInt(g, 16);
      out[i * 2] = v >> 8;
      out[i * 2 + 1] = v & 0xff;
    });
    return out;
  }
  return Uint8Array.from(address.split('.').map(Number));
}
