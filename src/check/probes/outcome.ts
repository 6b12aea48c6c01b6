// Small shared pieces of the probes: the clock, outcome builders and the errno → stable code table.
import { constants } from 'node:os';
import type { ProbeOutcome, ProbeTarget } from '../probe.js';

/** Monotonic microseconds (performance.now() is monotonic and cheap). */
export function nowUs(): number {
  return performance.now() * 1000;
}

export function up(startUs: number, weight?: number): ProbeOutcome {
  const latencyUs = Math.round(nowUs() - startUs);
  return weight === undefined ? { ok: true, latencyUs } : { ok: true, latencyUs, weight };
}

export function down(startUs: number, code: string, reason: string): ProbeOutcome {
  return { ok: false, latencyUs: Math.round(nowUs() - startUs), code, reason };
}

/**
 * A failed connect (or a socket error after it) as a stable code. keepalived counts these errnos, from
 * connect() itself, as the server failing ("connect_fail"); any other errno from connect() is a local problem
 * ('local-error', which keepalived logs and reschedules without counting against the server). Once connect()
 * is under way (`pending`), every error is the server's: an unlisted errno is 'connect-failed'.
 */
export function connectCode(errno: string, pending = false): string {
  switch (errno) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'unreachable';
    case 'ECONNRESET':
    case 'ECONNABORTED':
      return 'reset';
    default:
      return pending ? 'connect-failed' : 'local-error';
  }
}

/** An errno name ('EACCES', or 'E13' for one without a name) as its number; undefined for anything else. */
export function errnoNumber(name: string): number | undefined {
  const n = (constants.errno as Record<string, number>)[name];
  if (n !== undefined) return n;
  const m = /^E(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * A failed outcome carrying keepalived's last_errno (the checker's data dump writes "Last errno = N"). keepalived
 * keeps the errno of a connect() that fails at once with an errno its connect_fail list does not hold (the
 * 'local-error' of connectCode) — TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK and DNS_CHECK connect that way —
 * and, for UDP_CHECK, the errno of any failed connect() or send() (docs/notify-data-dump.md, checker dump).
 */
export function withErrno(o: ProbeOutcome, errno: string | undefined): ProbeOutcome {
  const n = errno === undefined ? undefined : errnoNumber(errno);
  return o.ok || n === undefined ? o : { ...o, connectErrno: n };
}

/** `[192.0.2.1]:80` / `[2001:db8::1]:80`, as keepalived prints a checker's address. */
export function where(t: ProbeTarget): string {
  return `[${t.address}]:${t.port}`;
}

/** Milliseconds for setTimeout from µs, never below 1. */
export function ms(us: number): number {
  return Math.max(1, Math.ceil(us / 1000));
}
