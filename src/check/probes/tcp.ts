// TCP_CHECK (keepalived check_tcp.c semantics): the server is up when a TCP connection to it (connect_ip /
// connect_port, else the real server) completes within connect_timeout; the connection is then closed at
// once. bindto / bind_port / bind_if / fwmark apply to the socket before connect. This is the hot path of a
// large checker (10,000 checks a second), so an attempt is: socket, options, connect, one poll for
// writability, getsockopt(SO_ERROR), close — no stream object, no timer of its own: the deadline sits on the
// probes' shared timing wheel (docs/probes.md, "TCP_CHECK").
import type { Probe, ProbeOutcome, ProbeTarget } from '../probe.js';
import { type Deadline, probeDeadlines } from './http-deadline.js';
import {
  closeFd,
  connectFd,
  EINPROGRESS,
  openSocket,
  SOCK_STREAM,
  sockaddrOf,
  socketErrorOf,
  type Watch,
  watchFd,
} from './native-socket.js';
import { connectCode, down, ms, nowUs, up, where } from './outcome.js';

/** A connected socket handed to the caller (SMTP keeps talking on it), or why there is none. */
export type ConnectResult =
  | { ok: true; fd: number }
  | { ok: false; code: string; reason: string; timedOut?: boolean };

interface Pending {
  fd: number;
  watch: Watch | undefined;
  deadline: Deadline | undefined;
  done: (r: ConnectResult) => void;
}

/**
 * One non-blocking connect towards `target` settling within `timeoutUs`. On success the caller owns the fd;
 * on failure it is closed. The returned cancel() closes everything and settles with code 'closed'.
 */
export function connectTcp(
  target: ProbeTarget,
  sa: Uint8Array,
  timeoutUs: number,
  done: (r: ConnectResult) => void,
): () => void {
  const opened = openSocket(target, { type: SOCK_STREAM });
  if (!('fd' in opened)) {
    done({ ok: false, code: 'local-error', reason: `${opened.op} failed: ${opened.errno}` });
    return () => {};
  }
  const p: Pending = { fd: opened.fd, watch: undefined, deadline: undefined, done };
  const c = connectFd(p.fd, sa);
  if (c === 0) {
    done({ ok: true, fd: p.fd });
    return () => {};
  }
  if (c !== EINPROGRESS) {
    closeFd(p.fd);
    done({ ok: false, code: connectCode(c), reason: `connect to ${where(target)} failed: ${c}` });
    return () => {};
  }
  // A nearby server (loopback, the same host) has usually answered by the time connect() returns: asking
  // again says so (EISCONN: connected; an errno: the pending connect failed) without a poll handle and an
  // event-loop turn per attempt. EALREADY: still under way, so wait for writability below.
  const again = connectFd(p.fd, sa);
  if (again === 'EISCONN' || again === 0) {
    done({ ok: true, fd: p.fd });
    return () => {};
  }
  if (again !== 'EALREADY' && again !== EINPROGRESS) {
    closeFd(p.fd);
    done({
      ok: false,
      code: connectCode(again, true),
      reason: `connect to ${where(target)} failed: ${again}`,
    });
    return () => {};
  }
  const finish = (r: ConnectResult) => {
    if (p.fd < 0) return;
    p.watch?.close();
    p.deadline?.cancel();
    const fd = p.fd;
    p.fd = -1;
    if (r?.ok) {
      p.done(r);
      return;
    }
    closeFd(fd);
    p.done(r);
  };
  p.watch = watchFd(p.fd, true, () => {
    const e = socketErrorOf(p.fd);
    if (e === 0) finish({ ok: true, fd: p.fd });
    else if (e !== 'EINPROGRESS')
      finish({ ok: false, code: connectCode(e, true), reason: `connect to ${where(target)} failed: ${e}` });
  });
  // The probes' shared timing wheel, not a libuv timer per attempt (10,000 attempts a second).
  p.deadline = probeDeadlines.after(ms(timeoutUs), () =>
    finish({
      ok: false,
      code: 'timeout',
      reason: `connection to ${where(target)} timed out`,
      timedOut: true,
    }),
  );
  return () => finish({ ok: false, code: 'closed', reason: 'probe closed' });
}

export class TcpProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array | undefined;
  #cancel: (() => void) | undefined;
  #closed = false;

  constructor(target: ProbeTarget) {
    this.#target = target;
    this.#sa = sockaddrOf(target.address, target.port, target.family);
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    return new Promise((resolve) => {
      if (this.#closed) return resolve(down(start, 'closed', 'probe closed'));
      if (!this.#sa) return resolve(down(start, 'local-error', `bad address ${this.#target.address}`));
      this.#cancel = connectTcp(this.#target, this.#sa, timeoutUs, (r) => {
        this.#cancel = undefined;
        if (r.ok) {
          closeFd(r.fd);
          resolve(up(start));
        } else resolve(down(start, r.code, r.reason));
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
