// Non-blocking IP sockets for the probes, through koffi (the libc binding src/net/libc.ts loads). Node's own
// net/dgram sockets cannot take SO_BINDTODEVICE (bind_if) or SO_MARK (fwmark), and cost a stream object per
// attempt; a probe here is a few libc calls, readiness from the probes' shared epoll reactor (reactor.ts)
// and a deadline on their shared timing wheel (docs/probes.md, "Sockets").
import koffi from 'koffi';
import { parseIpv4, parseIpv6 } from '../../net/inet.js';
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINPROGRESS,
  EINTR,
  libcLibrary,
  SO_BINDTODEVICE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOL_SOCKET,
} from '../../net/libc.js';
import { errnoName } from '../../net/net-error.js';
import { sockaddrIn, sockaddrIn6 } from '../../net/sockaddr.js';
import type { ProbeOutcome, ProbeTarget } from '../probe.js';
import { type Deadline, type DeadlineTarget, probeDeadlines } from './http-deadline.js';
import { EPOLLIN, type FdReady, probeReactor } from './reactor.js';

const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const SO_MARK = 36;
const IP_RECVERR = 11;
const IPV6_RECVERR = 25;

interface Bound {
  socket: (d: number, t: number, p: number) => number;
  connect: (fd: number, sa: Uint8Array, len: number) => number;
  bind: (fd: number, sa: Uint8Array, len: number) => number;
  setsockopt: (fd: number, level: number, name: number, v: Uint8Array, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, v: Int32Array, len: Uint32Array) => number;
  send: (fd: number, buf: Uint8Array, len: number, flags: number) => number;
  recv: (fd: number, buf: Uint8Array, len: number, flags: number) => number;
  close: (fd: number) => number;
}

let bound: Bound | undefined;

function lib(): Bound {
  if (bound) return bound;
  const l = libcLibrary();
  const socket = l.func('int socket(int, int, int)');
  const connect = l.func('int connect(int, const void *, uint32_t)');
  const bind = l.func('int bind(int, const void *, uint32_t)');
  const setsockopt = l.func('int setsockopt(int, int, int, const void *, uint32_t)');
  const getsockopt = l.func('int getsockopt(int, int, int, void *, void *)');
  const send = l.func('intptr_t send(int, const void *, size_t, int)');
  const recv = l.func('intptr_t recv(int, void *, size_t, int)');
  const close = l.func('int close(int)');
  bound = {
    socket: (d, t, p) => socket(d, t, p) as number,
    connect: (fd, sa, len) => connect(fd, sa, len) as number,
    bind: (fd, sa, len) => bind(fd, sa, len) as number,
    setsockopt: (fd, level, name, v, len) => setsockopt(fd, level, name, v, len) as number,
    getsockopt: (fd, level, name, v, len) => getsockopt(fd, level, name, v, len) as number,
    send: (fd, buf, len, flags) => Number(send(fd, buf, len, flags)),
    recv: (fd, buf, len, flags) => Number(recv(fd, buf, len, flags)),
    close: (fd) => close(fd) as number,
  };
  return bound;
}

/** sockaddr_in / sockaddr_in6 for a literal address, or undefined when it does not parse. */
export function sockaddrOf(address: string, port: number, family: 4 | 6): Uint8Array | undefined {
  if (family === 4) {
    const a = parseIpv4(address);
    return a && sockaddrIn(a, port);
  }
  const a = parseIpv6(address);
  return a && sockaddrIn6(a, 0, port);
}

/** A failed libc call: which one and the errno name ('ECONNREFUSED'). */
export interface SysError {
  op: string;
  errno: string;
}

function sysError(op: string): SysError {
  return { op, errno: errnoName(koffi.errno()) };
}

/** The errno of the failed `op`, after closing `fd`. */
function closeWith(fd: number, op: string): SysError {
  const e = sysError(op);
  lib().close(fd);
  return e;
}

const intBuf = new Int32Array(1);
const lenBuf = new Uint32Array(1);

function setInt(fd: number, level: number, name: number, value: number): boolean {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  return lib().setsockopt(fd, level, name, b, 4) === 0;
}

export interface OpenOptions {
  type: number;
  protocol?: number;
  /** IP(V6)_RECVERR: ICMP errors reach recv() as errors (keepalived sets it on UDP checks). */
  recvErr?: boolean;
  /** Skip bindto/bind_port/bind_if (keepalived's PING_CHECK ignores them). */
  noBind?: boolean;
}

/**
 * A non-blocking socket towards `target`'s family with the target's local settings applied, in keepalived's
 * order: SO_MARK (fwmark), SO_BINDTODEVICE (bind_if), bind (bindto/bind_port; SO_REUSEADDR with a fixed
 * port, so that the previous attempt's TIME_WAIT does not make every other bind fail).
 */
export function openSocket(target: ProbeTarget, o: OpenOptions): { fd: number } | SysError {
  const l = lib();
  const domain = target.family === 4 ? AF_INET : AF_INET6;
  const fd = l.socket(domain, o.type | SOCK_NONBLOCK | SOCK_CLOEXEC, o.protocol ?? 0);
  if (fd < 0) return sysError('socket');
  if (
    o.recvErr &&
    !setInt(fd, target.family === 4 ? 0 : 41, target.family === 4 ? IP_RECVERR : IPV6_RECVERR, 1)
  )
    return closeWith(fd, 'setsockopt(RECVERR)');
  if (target.fwmark && !setInt(fd, SOL_SOCKET, SO_MARK, target.fwmark))
    return closeWith(fd, 'setsockopt(SO_MARK)');
  if (o.noBind) return { fd };
  if (target.bindIf) {
    const name = new TextEncoder().encode(`${target.bindIf}\0`);
    if (l.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) !== 0)
      return closeWith(fd, `setsockopt(SO_BINDTODEVICE ${target.bindIf})`);
  }
  if (target.bindTo !== undefined || target.bindPort !== undefined) {
    const any = target.family === 4 ? '0.0.0.0' : '::';
    const sa = sockaddrOf(target.bindTo ?? any, target.bindPort ?? 0, target.family);
    if (!sa) {
      l.close(fd);
      return { op: `bind ${target.bindTo}`, errno: 'EINVAL' };
    }
    if (target.bindPort && !setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1))
      return closeWith(fd, 'setsockopt(SO_REUSEADDR)');
    if (l.bind(fd, sa, sa.length) !== 0)
      return closeWith(fd, `bind ${target.bindTo ?? any}:${target.bindPort ?? 0}`);
  }
  return { fd };
}

/** connect(): 0 connected, EINPROGRESS pending, else the errno name. */
export function connectFd(fd: number, sa: Uint8Array): 0 | typeof EINPROGRESS | string {
  if (lib().connect(fd, sa, sa.length) === 0) return 0;
  const e = koffi.errno();
  return e === EINPROGRESS ? EINPROGRESS : errnoName(e);
}

/** SO_ERROR: 0 or the pending error's name. */
export function socketErrorOf(fd: number): 0 | string {
  lenBuf[0] = 4;
  intBuf[0] = 0;
  if (lib().getsockopt(fd, SOL_SOCKET, SO_ERROR, intBuf, lenBuf) !== 0) return errnoName(koffi.errno());
  return intBuf[0] === 0 ? 0 : errnoName(intBuf[0]!);
}

const MSG_NOSIGNAL = 0x4000;

/** send() (never raising SIGPIPE): bytes sent, 'EAGAIN' when the socket buffer is full, or the errno name. */
export function sendFd(fd: number, data: Uint8Array): number | string {
  const n = lib().send(fd, data, data.length, MSG_NOSIGNAL);
  if (n >= 0) return n;
  const e = koffi.errno();
  return e === EAGAIN || e === EINTR ? 'EAGAIN' : errnoName(e);
}

/** recv() into `buf`: bytes read, 'EAGAIN' when nothing is queued, or the errno name. */
export function recvFd(fd: number, buf: Uint8Array): number | string {
  const n = lib().recv(fd, buf, buf.length, 0);
  if (n >= 0) return n;
  const e = koffi.errno();
  return e === EAGAIN || e === EINTR ? 'EAGAIN' : errnoName(e);
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

/** How a datagram exchange reads what comes back: an outcome settles it, undefined keeps waiting. */
export interface ReplyReader {
  /** A datagram of `n` bytes is at the start of the buffer. */
  datagram(n: number): ProbeOutcome | undefined;
  /** Reading failed with `errno` (an ICMP error the kernel queued on the connected socket). */
  error(errno: string): ProbeOutcome;
  timeout(): ProbeOutcome;
}

/** Why a datagram request was not sent: the step that failed and the errno name (or the short count). */
export type NotSent =
  | { step: 'open'; op: string; errno: string }
  | { step: 'connect' | 'send'; error: string | number };

/**
 * The prelude of the datagram checks (DNS, UDP, PING): a socket opened with `o`, connected to `sa`, `payload`
 * sent. The fd, or the failed step (nothing left open); each probe words its own failure as keepalived does.
 */
export function sendDatagram(
  target: ProbeTarget,
  o: OpenOptions,
  sa: Uint8Array,
  payload: Uint8Array,
): number | NotSent {
  const opened = openSocket(target, o);
  if (!('fd' in opened)) return { step: 'open', op: opened.op, errno: opened.errno };
  const fd = opened.fd;
  const c = connectFd(fd, sa);
  if (c !== 0) {
    closeFd(fd);
    return { step: 'connect', error: c };
  }
  const sent = sendFd(fd, payload);
  if (sent !== payload.length) {
    closeFd(fd);
    return { step: 'send', error: sent };
  }
  return fd;
}

/** Waits for the reply on a connected datagram socket: the probes' reactor and timing wheel, no closure. */
class ReplyWait implements FdReady, DeadlineTarget {
  readonly settled: Promise<ProbeOutcome>;
  #resolve!: (o: ProbeOutcome) => void;
  #fd: number;
  readonly #buf: Uint8Array;
  readonly #reader: ReplyReader;
  readonly #deadline: Deadline;

  constructor(fd: number, buf: Uint8Array, timeoutMs: number, reader: ReplyReader) {
    this.settled = new Promise<ProbeOutcome>((resolve) => {
      this.#resolve = resolve;
    });
    this.#fd = fd;
    this.#buf = buf;
    this.#reader = reader;
    this.#deadline = probeDeadlines.after(timeoutMs, this);
    const w = probeReactor().watch(fd, EPOLLIN, this);
    if (w !== 0) this.finish(reader.error(w));
  }

  onFdReady(): void {
    while (this.#fd >= 0) {
      const n = recvFd(this.#fd, this.#buf);
      if (n === 'EAGAIN') return;
      const o = typeof n === 'string' ? this.#reader.error(n) : this.#reader.datagram(n);
      if (o) this.finish(o);
    }
  }

  onDeadline(): void {
    if (this.#fd >= 0) this.finish(this.#reader.timeout());
  }

  /** Settles once: the socket is closed, its registration and deadline released. */
  finish(o: ProbeOutcome): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    this.#deadline.cancel();
    probeReactor().forget(fd);
    closeFd(fd);
    this.#resolve(o);
  }
}

/**
 * Waits on a connected datagram socket for the answer to what was just sent (DNS, UDP and PING checks):
 * datagrams are read as they arrive until the reader settles; the timeout or `abort` settle it too. The
 * socket is closed and its registration and deadline released exactly once.
 */
export function awaitReply(
  fd: number,
  buf: Uint8Array,
  timeoutMs: number,
  reader: ReplyReader,
): { settled: Promise<ProbeOutcome>; abort: (o: ProbeOutcome) => void } {
  const w = new ReplyWait(fd, buf, timeoutMs, reader);
  return { settled: w.settled, abort: (o) => w.finish(o) };
}

/**
 * A datagram probe's reply wait in flight and its close() (DNS, UDP and PING checks): close() marks the
 * probe closed and settles a wait in flight with `onClose`'s outcome.
 */
export class PendingReply {
  #abort: (() => void) | undefined;
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** awaitReply, with `resolve` called once with the reply's, the timeout's or the close's outcome. */
  wait(
    fd: number,
    buf: Uint8Array,
    timeoutMs: number,
    reader: ReplyReader,
    onClose: () => ProbeOutcome,
    resolve: (o: ProbeOutcome) => void,
  ): void {
    const { settled, abort } = awaitReply(fd, buf, timeoutMs, reader);
    this.#abort = () => abort(onClose());
    void settled.then((o) => {
      this.#abort = undefined;
      resolve(o);
    });
  }

  close(): void {
    this.#closed = true;
    this.#abort?.();
  }
}
