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
  close(): void;
}

export interface LoggerOptions {
  console: boolean;
  detail: boolean;
  /** syslog ident; keepalived's VRRP process logs as Keepalived_vrrp. */
  ident?: string;
}

/** `2026-11-23T12:00:00.123Z` — ms resolution, so tests can time transitions from the log. */
function stamp(): string {
  return new Date().toISOString();
}

export function createLogger(o: LoggerOptions): Logger {
  const ident = o.ident ?? 'Keepalived_vrrp';
  let sink: (line: string) => void;
  let child: ChildProcess | null = null;
  if (o.console) {
    sink = (line) => process.stderr.write(`${stamp()} ${line}\n`);
  } else {
    const toStderr = (line: string) => process.stderr.write(`${stamp()} ${ident}: ${line}\n`);
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
    sink = (line) => {
      if (child?.stdin?.writable) child.stdin.write(`${line}\n`);
      else toStderr(line);
    };
  }
  return {
    info: (m) => sink(m),
    warn: (m) => sink(`WARNING - ${m}`),
    error: (m) => sink(`ERROR - ${m}`),
    detail: (m) => {
      if (o.detail) sink(m);
    },
    close: () => {
      child?.stdin?.end();
    },
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
