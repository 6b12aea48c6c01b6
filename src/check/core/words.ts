// keepalived's log wording for check verdicts, per checker kind (docs/checkers.md "Log lines"). `rs` and
// `vs` are the printed names ("[192.0.2.10]:tcp:80"). The probe's `reason` is its own one-line account of
// one failed attempt and is logged as it is, except where keepalived wraps it (DNS, MISC here; SMTP in
// core.ts, whose retry rule differs).
import type { CheckerKind } from '../../config/model.js';
import type { ProbeOutcome } from '../probe.js';
import type { ResolvedChecker } from './resolve.js';

/** The line logged when a checker that was down (or had not run) succeeds; null when keepalived logs none. */
export function successLine(spec: ResolvedChecker, rs: string, vs: string): string | null {
  switch (spec.kind) {
    case 'TCP_CHECK':
      return `TCP connection to ${rs} success.`;
    case 'UDP_CHECK':
      return `UDP connection to ${rs} success.`;
    case 'PING_CHECK':
      return `ICMP connection to ${rs} success.`;
    case 'HTTP_GET':
    case 'SSL_GET':
      return `Remote Web server ${rs} succeed on service.`;
    case 'SMTP_CHECK':
      return `Remote SMTP server ${rs} succeed on service.`;
    case 'MISC_CHECK':
      return `Misc check for [${rs} VS ${vs}] by [${scriptName(spec)}] succeeded.`;
    default:
      return null;
  }
}

/** The lines logged when a checker fails for good (after its retries). `hasRun`: before this attempt. */
export function failLines(spec: ResolvedChecker, hasRun: boolean, rs: string, vs: string): string[] {
  const n = spec.retry;
  const tail = n > 0 && hasRun ? ` failed after ${n} retries.` : ' failed.';
  switch (spec.kind) {
    case 'TCP_CHECK':
      return [`TCP_CHECK on service ${rs}${tail}`];
    case 'UDP_CHECK':
      return [`UDP_CHECK on service ${rs}${tail}`];
    case 'PING_CHECK':
      return [
        n > 0 && hasRun
          ? `ICMP CHECK on service ${rs} of ${vs}${tail}`
          : `ICMP CHECK on service ${rs}${tail}`,
      ];
    case 'HTTP_GET':
      return [`HTTP_CHECK on service ${rs}${tail}`];
    case 'SSL_GET':
      return [`SSL_CHECK on service ${rs}${tail}`];
    default:
      return [];
  }
}

/**
 * The line for one failed attempt of a checker that is up (or has not run), or null. `final`: no retry
 * is left; `st.retryIt` is already counted for this attempt when it is not final.
 */
/**
 * keepalived's line when a checker's connect() failed at once for a local reason (a socket that cannot be made,
 * bound or connected, not the server's answer): the attempt is dropped and tried again after delay_loop.
 * Null for the checkers that count such a failure (UDP_CHECK, and those that do not connect).
 */
export function rescheduleLine(spec: ResolvedChecker, rs: string): string | null {
  switch (spec.kind) {
    case 'TCP_CHECK':
      return 'TCP socket bind failed. Rescheduling.';
    case 'HTTP_GET':
    case 'SSL_GET':
      return 'WEB socket bind failed. Rescheduling';
    case 'SMTP_CHECK':
      return 'SMTP_CHECK socket bind failed. Rescheduling.';
    case 'DNS_CHECK':
      return `DNS_CHECK (${rs}) UDP socket bind failed. Rescheduling.`;
    default:
      return null;
  }
}

export function reasonLine(
  spec: ResolvedChecker,
  st: { hasRun: boolean; retryIt: number },
  o: ProbeOutcome & { ok: false },
  final: boolean,
  rs: string,
  vs: string,
): string | null {
  const all = spec.logAllFailures;
  switch (spec.kind) {
    case 'DNS_CHECK':
      if (!all && !final) return null;
      return `DNS_CHECK (${rs}) ${o.reason}${st.hasRun && final ? ` after ${spec.retry} retries` : ''}`;
    case 'MISC_CHECK': {
      if (!all && !final) return null;
      const n = spec.retry;
      const plural = n === 1 ? 'retry' : 'retries';
      let msg: string;
      if (n === 0) msg = ' with retry disabled';
      else if (final) msg = ` after ${n} ${plural}`;
      else if (st.retryIt === 1) msg = `, will do ${n} ${plural}`;
      else msg = ` on retry ${st.retryIt - 1}/${n}`;
      const timedOut = o.code === 'timeout';
      const why = timedOut ? '' : ` (${o.reason})`;
      return `Misc check for [${rs} VS ${vs}] by [${scriptName(spec)}] ${timedOut ? 'timed out' : 'failed'}${msg}${why}.`;
    }
    case 'FILE_CHECK':
    case 'BFD_CHECK':
      return null;
    default:
      return all ? o.reason : null;
  }
}

function scriptName(spec: ResolvedChecker): string {
  return spec.config.miscPath?.argv[0] ?? '';
}

/**
 * The body of a checker's smtp_alert mail, in keepalived's words per checker type (docs/notify-mail.md);
 * null for the types that mail nothing (FILE_CHECK). `reason`: the failure, for SMTP_CHECK's body.
 */
export function checkerMailBody(
  kind: CheckerKind,
  up: boolean,
  reason: string,
  timedOut: boolean,
): string | null {
  switch (kind) {
    case 'TCP_CHECK':
      return `=> TCP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'UDP_CHECK':
      return `=> UDP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'PING_CHECK':
      return `=> ICMP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'DNS_CHECK':
      return `=> DNS_CHECK: ${up ? 'succeed' : 'failed'} on service <=`;
    case 'HTTP_GET':
    case 'SSL_GET':
      return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP request failed <=';
    case 'SMTP_CHECK':
      return up ? '=> CHECK succeed on service <=' : `=> CHECK failed on service : ${reason} <=`;
    case 'MISC_CHECK':
      return `=> MISC CHECK ${up ? 'succeeded' : timedOut ? 'timed out' : 'failed'} on service <=`;
    default:
      return null;
  }
}

/** The body of a quorum mail: "=> Gained quorum 2+0=2 <= 3 <=" (keepalived prints "+" even when lost). */
export function quorumBody(
  up: boolean,
  init: boolean,
  quorum: number,
  hysteresis: number,
  threshold: number,
  weightSum: number,
): string {
  const what = up
    ? init
      ? 'Starting with quorum up'
      : 'Gained quorum'
    : init
      ? 'Starting with quorum down'
      : 'Lost quorum';
  return `=> ${what} ${quorum}+${hysteresis}=${threshold} <= ${weightSum} <=`;
}
