// TCP_CHECK (keepalived check_tcp.c semantics): the server is up when a TCP connection to it (connect_ip /
// connect_port, else the real server) completes within connect_timeout; the connection is then closed at
// once. bindto / bind_port / bind_if / fwmark apply to the socket before connect. This is the hot path of a
// large checker (10,000 checks a second), so an attempt is: socket, options, connect, close — settled without
// waiting when the server answered at once (loopback, the same host), else one epoll registration on the
// probes' shared reactor and a deadline on their shared timing wheel; no stream object, no libuv handle or
// timer of its own, no closure per attempt on the quick path (docs/probes.md, "TCP_CHECK").

import { EINPROGRESS, SOCK_STREAM } from '../../net/libc.js';
import type { Probe, ProbeOutcome, ProbeTarget } from '../probe.js';
import { type Deadline, type DeadlineTarget, probeDeadlines } from './http-deadline.js';
import { closeFd, connectFd, openSocket, sockaddrOf, socketErrorOf } from './native-socket.js';
import { connectCode, down, ms, nowUs, up, where, withErrno } from './outcome.js';
import { EPOLLOUT, type FdReady, probeReactor } from './reactor.js';

/** Why a connect failed. */
export interface ConnectFailure {
  code: string;
  reason: string;
  timedOut?: boolean;
  /** connect() failed at once with an errno that is not the server's: keepalived's last_errno (outcome.ts). */
  errno?: string;
}

/** A connected socket handed to the caller (SMTP keeps talking on it), or why there is none. */
export type ConnectResult = { ok: true; fd: number } | ({ ok: false } & ConnectFailure);

/** Hears how a pending connect ended: a connected fd (the caller owns it) or a failure (fd closed). */
export interface ConnectSink {
  connectDone(fd: number, failure: ConnectFailure | null): void;
}

/** A connect still under way: writability on the reactor, its deadline on the wheel. */
export class PendingConnect implements FdReady, DeadlineTarget {
  fd: number;
  sink: ConnectSink | null = null;
  readonly #target: ProbeTarget;
  #deadline: Deadline | null = null;
  /** Set when the socket could not be watched: the deadline (due at once) reports it. */
  #failWith: ConnectFailure | null = null;

  constructor(fd: number, target: ProbeTarget, timeoutUs: number) {
    this.fd = fd;
    this.#target = target;
    const w = probeReactor().watch(fd, EPOLLOUT, this);
    if (w !== 0) {
      // Cannot wait on it: report it on the next turn, as a failure of our own.
      this.#deadline = probeDeadlines.after(0, this);
      this.#failWith = { code: 'local-error', reason: `epoll_ctl failed: ${w}` };
      return;
    }
    this.#deadline = probeDeadlines.after(ms(timeoutUs), this);
  }

  onFdReady(): void {
    const e = socketErrorOf(this.fd);
    if (e === 0) this.#finish(null);
    else if (e !== 'EINPROGRESS')
      this.#finish({
        code: connectCode(e, true),
        reason: `connect to ${where(this.#target)} failed: ${e}`,
      });
  }

  onDeadline(): void {
    this.#finish(
      this.#failWith ?? {
        code: 'timeout',
        reason: `connection to ${where(this.#target)} timed out`,
        timedOut: true,
      },
    );
  }

  /** Closes everything and settles with code 'closed'. */
  cancel(): void {
    this.#finish({ code: 'closed', reason: 'probe closed' });
  }

  #finish(f: ConnectFailure | null): void {
    const fd = this.fd;
    if (fd < 0) return;
    this.fd = -1;
    this.#deadline?.cancel();
    this.#deadline = null;
    const sink = this.sink;
    this.sink = null;
    if (f === null) {
      // The caller keeps the socket: it leaves the reactor's set (the fd stays open).
      probeReactor().release(fd);
      sink?.connectDone(fd, null);
      return;
    }
    probeReactor().forget(fd);
    closeFd(fd);
    sink?.connectDone(-1, f);
  }
}

/**
 * Starts a non-blocking connect towards `target`: a connected fd at once (the caller owns it), a failure
 * (nothing left open), or a PendingConnect whose `sink` hears the end within `timeoutUs`.
 */
export function startConnect(
  target: ProbeTarget,
  sa: Uint8Array,
  timeoutUs: number,
): number | ConnectFailure | PendingConnect {
  const opened = openSocket(target, { type: SOCK_STREAM });
  if (!('fd' in opened)) return { code: 'local-error', reason: `${opened.op} failed: ${opened.errno}` };
  const fd = opened.fd;
  const c = connectFd(fd, sa);
  if (c === 0) return fd;
  if (c !== EINPROGRESS) {
    closeFd(fd);
    const code = connectCode(c);
    const reason = `connect to ${where(target)} failed: ${c}`;
    return code === 'local-error' ? { code, reason, errno: c } : { code, reason };
  }
  // A nearby server (loopback, the same host) has usually answered by the time connect() returns: asking
  // again says so (EISCONN: connected; an errno: the pending connect failed) without an epoll registration
  // and an event-loop turn per attempt. EALREADY: still under way, so wait for writability.
  const again = connectFd(fd, sa);
  if (again === 'EISCONN' || again === 0) return fd;
  if (again !== 'EALREADY' && again !== EINPROGRESS) {
    closeFd(fd);
    return { code: connectCode(again, true), reason: `connect to ${where(target)} failed: ${again}` };
  }
  return new PendingConnect(fd, target, timeoutUs);
}

const NOOP = () => {};

/**
 * One non-blocking connect towards `target` settling within `timeoutUs`, told to `done` (SMTP). On success
 * the caller owns the fd; on failure it is closed. The returned cancel() closes everything and settles with
 * code 'closed'.
 */
export function connectTcp(
  target: ProbeTarget,
  sa: Uint8Array,
  timeoutUs: number,
  done: (r: ConnectResult) => void,
): () => void {
  const r = startConnect(target, sa, timeoutUs);
  if (typeof r === 'number') {
    done({ ok: true, fd: r });
    return NOOP;
  }
  if (!(r instanceof PendingConnect)) {
    done({ ok: false, ...r });
    return NOOP;
  }
  r.sink = {
    connectDone: (fd, f) => done(f === null ? { ok: true, fd } : { ok: false, ...f }),
  };
  return () => r.cancel();
}

/** One TCP_CHECK attempt that had to wait: resolves its run's promise. */
class TcpWait implements ConnectSink {
  constructor(
    readonly probe: TcpProbe,
    readonly pending: PendingConnect,
    readonly start: number,
    readonly resolve: (o: ProbeOutcome) => void,
  ) {}

  connectDone(fd: number, f: ConnectFailure | null): void {
    this.probe.waitEnded(this);
    if (f !== null) {
      this.resolve(down(this.start, f.code, f.reason));
      return;
    }
    closeFd(fd);
    this.resolve(up(this.start));
  }
}

export class TcpProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array | undefined;
  /** Attempts still waiting for their connect (one, unless runs overlap). */
  readonly #waiting = new Set<TcpWait>();
  #closed = false;

  constructor(target: ProbeTarget) {
    this.#target = target;
    this.#sa = sockaddrOf(target.address, target.port, target.family);
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    if (this.#closed) return Promise.resolve(down(start, 'closed', 'probe closed'));
    if (!this.#sa) return Promise.resolve(down(start, 'local-error', `bad address ${this.#target.address}`));
    const r = startConnect(this.#target, this.#sa, timeoutUs);
    if (typeof r === 'number') {
      closeFd(r);
      return Promise.resolve(up(start));
    }
    if (!(r instanceof PendingConnect))
      return Promise.resolve(withErrno(down(start, r.code, r.reason), r.errno));
    return new Promise((resolve) => {
      const w = new TcpWait(this, r, start, resolve);
      this.#waiting.add(w);
      r.sink = w;
    });
  }

  waitEnded(w: TcpWait): void {
    this.#waiting.delete(w);
  }

  close(): void {
    this.#closed = true;
    for (const w of [...this.#waiting]) w.pending.cancel();
  }
}
