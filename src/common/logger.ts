// Log output of the daemon. keepalived's -l sends messages to the console (stderr here); otherwise they go
// to syslog: one datagram per line to /dev/log (src/net/syslog-socket.ts) with ident Keepalived_vrrp, facility
// daemon (or local0–7 with -S), and each line's own severity — errors LOG_ERR, warnings LOG_WARNING, the rest
// LOG_INFO, as keepalived. A line the syslog socket cannot take (no syslog daemon) goes to stderr.
//
// stderr is a bounded buffer (boundedWriter): when nobody reads it (a pipe whose reader stalled) Node would
// queue every line in memory; keepalived blocks instead. We do neither: beyond LOG_BUFFER_BYTES unwritten,
// lines are dropped and counted, and the count is written once the output drains (docs/hostile-network.md).
import { LOG_DAEMON, LOG_LOCAL0, type Severity, SyslogSocket, syslogLine } from '../net/syslog-socket.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Only with -D (keepalived's log_detail). */
  detail(msg: string): void;
  /**
   * Runs `fn` with the lines it logs held back, then writes them in order. A write to the console is a pipe
   * write that can wake the reader and cost this process its CPU for a millisecond on a busy host; the VRRP
   * runtime holds its lines while it sends adverts and installs VIPs, so a takeover is never late for its
   * own log line.
   */
  held<T>(fn: () => T): T;
  close(): void;
}

export interface LoggerOptions {
  console: boolean;
  detail: boolean;
  /** syslog ident; keepalived's VRRP process logs as Keepalived_vrrp. */
  ident?: string;
  /** keepalived -S N: facility local N (0–7); default daemon. */
  facility?: number;
  /** The syslog socket (default /dev/log). */
  syslogPath?: string;
}

/** `2026-11-23T12:00:00.123Z` — ms resolution, so tests can time transitions from the log. */
function stamp(atMs: number): string {
  return new Date(atMs).toISOString();
}

/** Writes one line logged at `atMs` with its severity (a held line keeps the time it was logged at). */
export type LineSink = (line: string, atMs: number, severity: Severity) => void;

/** Unwritten bytes stderr may hold before log lines are dropped (some 2,500 lines). */
export const LOG_BUFFER_BYTES = 256 * 1024;

/** What boundedWriter needs of a stream (process.stderr, or any Writable). */
export interface DrainableStream {
  readonly writableLength: number;
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface BoundedWriter {
  write(text: string): void;
  /** Lines dropped since the start (reported ones included). */
  readonly droppedTotal: number;
}

/**
 * Writes to `stream` while it holds at most `maxBytes` unwritten; beyond that a line is dropped and counted.
 * When the stream drains, one line (made by `report`) says how many were dropped. A synchronous stream (a
 * file, a terminal) never holds anything, so nothing is dropped there.
 */
export function boundedWriter(
  stream: DrainableStream,
  maxBytes: number,
  report: (dropped: number) => string,
): BoundedWriter {
  let dropped = 0;
  let total = 0;
  let waiting = false;
  const onDrain = () => {
    waiting = false;
    if (dropped === 0) return;
    const n = dropped;
    dropped = 0;
    stream.write(report(n));
  };
  return {
    write(text) {
      if (stream.writableLength > maxBytes) {
        dropped++;
        total++;
        if (!waiting) {
          waiting = true;
          stream.once('drain', onDrain);
        }
        return;
      }
      stream.write(text);
    },
    get droppedTotal() {
      return total;
    },
  };
}

const droppedLine = (n: number) =>
  `${stamp(Date.now())} WARNING - ${n} log line(s) dropped: the log output was not being read\n`;

export function createLogger(o: LoggerOptions): Logger {
  const ident = o.ident ?? 'Keepalived_vrrp';
  const stderr = boundedWriter(process.stderr, LOG_BUFFER_BYTES, droppedLine);
  if (o.console) {
    return withHolding(
      (line, atMs) => stderr.write(`${stamp(atMs)} ${line}\n`),
      o.detail,
      () => {},
    );
  }
  const facility = o.facility === undefined ? LOG_DAEMON : LOG_LOCAL0 + o.facility;
  const syslog = SyslogSocket.open(o.syslogPath);
  const sink: LineSink = (line, atMs, severity) => {
    const sent = syslog?.send(syslogLine(facility, severity, ident, process.pid, line, new Date(atMs)));
    if (!sent) stderr.write(`${stamp(atMs)} ${ident}: ${line}\n`);
  };
  return withHolding(sink, o.detail, () => syslog?.close());
}

/** The Logger over a line sink, with `held` batching; exported for tests. */
export function withHolding(sink: LineSink, detail: boolean, close: () => void): Logger {
  let depth = 0;
  let pending: [string, number, Severity][] = [];
  const emit = (line: string, severity: Severity) => {
    if (depth > 0) pending.push([line, Date.now(), severity]);
    else sink(line, Date.now(), severity);
  };
  return {
    info: (m) => emit(m, 'info'),
    warn: (m) => emit(`WARNING - ${m}`, 'warning'),
    error: (m) => emit(`ERROR - ${m}`, 'error'),
    detail: (m) => {
      if (detail) emit(m, 'info');
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
          for (const [line, atMs, severity] of lines) sink(line, atMs, severity);
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
