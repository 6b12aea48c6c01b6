// Log output of the daemon. keepalived's -l sends messages to the console (stderr here); otherwise they go
// to syslog. For syslog we keep one `logger(1)` child and write lines to its stdin (ident Keepalived_vrrp,
// facility daemon, all at priority info) — Node has no AF_UNIX datagram socket for /dev/log. If logger cannot
// be started the lines go to stderr.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Only with -D (keepalived's log_detail). */
  detail(msg: string): void;
  /**
   * Runs `fn` with the lines it logs held back, then writes them in order. A write to the console or to
   * logger(1) is a pipe write that can wake the reader and cost this process its CPU for a millisecond on a
   * busy host; the VRRP runtime holds its lines while it sends adverts and installs VIPs, so a takeover
   * is never late for its own log line.
   */
  held<T>(fn: () => T): T;
  close(): void;
}

export interface LoggerOptions {
  console: boolean;
  detail: boolean;
  /** syslog ident; keepalived's VRRP process logs as Keepalived_vrrp. */
  ident?: string;
}

/** `2026-11-23T12:00:00.123Z` — ms resolution, so tests can time transitions from the log. */
function stamp(atMs: number): string {
  return new Date(atMs).toISOString();
}

export function createLogger(o: LoggerOptions): Logger {
  const ident = o.ident ?? 'Keepalived_vrrp';
  /** Writes one line logged at `atMs` (a held line keeps the time it was logged at). */
  let sink: (line: string, atMs: number) => void;
  let child: ChildProcess | null = null;
  if (o.console) {
    sink = (line, atMs) => process.stderr.write(`${stamp(atMs)} ${line}\n`);
  } else {
    const toStderr = (line: string, atMs: number) =>
      process.stderr.write(`${stamp(atMs)} ${ident}: ${line}\n`);
    try {
      child = spawn('logger', ['-t', ident, `--id=${process.pid}`, '-p', 'daemon.info'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.on('error', () => {
        child = null;
      });
      child.stdin?.on('error', () => {});
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    } catch {
      child = null;
    }
    sink = (line, atMs) => {
      if (child?.stdin?.writable) child.stdin.write(`${line}\n`);
      else toStderr(line, atMs);
    };
  }
  return withHolding(sink, o.detail, () => {
    child?.stdin?.end();
  });
}

/** The Logger over a line sink, with `held` batching; exported for tests. */
export function withHolding(
  sink: (line: string, atMs: number) => void,
  detail: boolean,
  close: () => void,
): Logger {
  let depth = 0;
  let pending: [string, number][] = [];
  const emit = (line: string) => {
    if (depth > 0) pending.push([line, Date.now()]);
    else sink(line, Date.now());
  };
  return {
    info: (m) => emit(m),
    warn: (m) => emit(`WARNING - ${m}`),
    error: (m) => emit(`ERROR - ${m}`),
    detail: (m) => {
      if (detail) emit(m);
    },
    held: (fn) => {
      depth++;
      try {
        return fn();
      } finally {
        depth--;
        if (depth === 0 && pending.length > 0) {
          const lines = pending;
          pending = [];
          for (const [line, atMs] of lines) sink(line, atMs);
        }
      }
    },
    close,
  };
}

/**
 * A log function that prints each key at most once per `intervalMs` (keepalived rate-limits its per-packet
 * error messages the same way), counting what it held back.
 */
export function rateLimited(
  emit: (msg: string) => void,
  intervalMs = 1000,
  now: () => number = Date.now,
): (key: string, msg: string) => void {
  const last = new Map<string, { atMs: number; held: number }>();
  return (key, msg) => {
    const t = now();
    const seen = last.get(key);
    if (seen && t - seen.atMs < intervalMs) {
      seen.held++;
      return;
    }
    const held = seen?.held ?? 0;
    last.set(key, { atMs: t, held: 0 });
    emit(held > 0 ? `${msg} (${held} more since last report)` : msg);
  };
}
