// Small shared pieces of the probes: the clock, outcome builders and the errno → stable code table.
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

/** `[192.0.2.1]:80` / `[2001:db8::1]:80`, as keepalived prints a checker's address. */
export function where(t: ProbeTarget): string {
  return `[${t.address}]:${t.port}`;
}

/** Milliseconds for setTimeout from µs, never below 1. */
export function ms(us: number): number {
  return Math.max(1, Math.ceil(us / 1000));
}
