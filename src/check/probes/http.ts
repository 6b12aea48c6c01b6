// HTTP_GET and SSL_GET probes (adapters over net/tls sockets) implementing src/check/probe.ts. One run()
// checks every url block of the checker, each on its own connection, all in parallel and each within the
// attempt's timeout; the attempt passes only if every url passes. Requests are built once per probe;
// deadlines go to one shared timing wheel; responses are judged as keepalived 2.2.7 judges them.
// Behaviour, error codes and the differences from keepalived: docs/probes-http.md.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Checker, SslConfig } from '../../config/model.js';
import { EINPROGRESS, SOCK_STREAM } from '../../net/libc.js';
import type { Probe, ProbeFactory, ProbeOutcome, ProbeTarget } from '../probe.js';
import { type Deadline, type DeadlineTarget, type DeadlineWheel, probeDeadlines } from './http-deadline.js';
import {
  buildRequest,
  compileUrlRegex,
  effectiveVirtualhost,
  parseHttpProtocol,
  sniName,
  statusTable,
  type VirtualhostSources,
} from './http-request.js';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  HttpResponseReader,
  type ReaderOptions,
  type ResponseFailure,
} from './http-response.js';
import {
  closeFd,
  connectFd,
  openSocket,
  recvFd,
  sendFd,
  sockaddrOf,
  socketErrorOf,
} from './native-socket.js';
import { connectCode, where, withErrno } from './outcome.js';
import { EPOLLIN, EPOLLOUT, type FdReady, probeReactor } from './reactor.js';

/** What a probe needs beyond the checker block: inherited virtualhosts and the root SSL block. */
export interface HttpProbeContext extends VirtualhostSources {
  ssl?: SslConfig | undefined;
  /**
   * Certificate checking for SSL_GET. 'with-ca' (default): verify chain, dates and name only when the
   * SSL block names a `ca`; 'never': keepalived 2.2.7's behaviour, which loads the CA but never verifies.
   */
  verify?: 'with-ca' | 'never';
  /** Cap on one response (headers + body); default DEFAULT_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** The deadline wheel (tests may pass their own). */
  wheel?: DeadlineWheel;
}

interface UrlPlan extends ConnectPlan {
  path: string;
  /** The response reader's options, built once. */
  reading: ReaderOptions;
}

export interface TlsPlan {
  context: tls.SecureContext;
  verify: boolean;
}

/** One shared read buffer for plain sockets: reads are consumed synchronously, copies kept where needed. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Builds the probe for one HTTP_GET / SSL_GET checker of one real server. */
export function createHttpProbe(
  checker: Checker,
  target: ProbeTarget,
  ctx: HttpProbeContext = {},
): { ok: true; probe: HttpProbe } | { ok: false; message: string } {
  if (checker.kind !== 'HTTP_GET' && checker.kind !== 'SSL_GET')
    return { ok: false, message: `${checker.kind} is not an HTTP_GET/SSL_GET checker` };
  // Plain HTTP runs on the probes' own sockets, which take both; SSL_GET runs on Node's TLS sockets.
  if (checker.kind === 'SSL_GET' && target.bindIf !== undefined)
    return { ok: false, message: 'bind_if is not supported by the SSL_GET probe yet' };
  if (checker.kind === 'SSL_GET' && target.fwmark !== undefined)
    return { ok: false, message: 'fwmark is not supported by the SSL_GET probe yet' };
  const protocol = parseHttpProtocol(checker.httpProtocol);
  if (protocol === null)
    return { ok: false, message: `Invalid http_protocol version ${checker.httpProtocol}` };
  if (checker.urls.length === 0) return { ok: false, message: 'HTTP/SSL_GET checker has no urls specified' };
  const isTls = checker.kind === 'SSL_GET';
  let tlsPlan: TlsPlan | undefined;
  if (isTls) {
    const built = secureContextFor(ctx.ssl);
    if (typeof built === 'string') return { ok: false, message: built };
    tlsPlan = {
      context: built,
      verify: (ctx.verify ?? 'with-ca') === 'with-ca' && ctx.ssl?.ca !== undefined,
    };
  }
  const compliant = checker.tlsCompliant === true;
  const plans: UrlPlan[] = [];
  for (const u of checker.urls) {
    // keepalived drops a url block without a path ("url has no path - ignoring").
    if (u.path === undefined) continue;
    const regex = compileUrlRegex(u);
    if (typeof regex === 'string') return { ok: false, message: regex };
    const vhost = effectiveVirtualhost(u, checker, ctx);
    const sni = isTls ? sniName(u, checker, ctx) : undefined;
    plans.push({
      path: u.path,
      request: buildRequest(u.path, protocol, vhost, target.address, target.port),
      reading: {
        status: statusTable(u),
        digest: u.digest,
        regex,
        maxBytes: ctx.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      },
      servername: sni,
      verifyName: sni ?? vhost,
      tlsCompliant: compliant || u.tlsCompliant === true,
    });
  }
  if (plans.length === 0) return { ok: false, message: 'HTTP/SSL_GET checker has no url with a path' };
  return {
    ok: true,
    probe: new HttpProbe(target, plans, tlsPlan, ctx.wheel ?? probeDeadlines),
  };
}

/** A ProbeFactory over createHttpProbe for callers with one fixed context. */
export function httpProbeFactory(ctx: HttpProbeContext = {}): ProbeFactory {
  return (checker, target) => createHttpProbe(checker, target, ctx);
}

const contexts = new WeakMap<SslConfig, tls.SecureContext>();
let plainContext: tls.SecureContext | undefined;

/** The SSL block's client context, built once per block (keepalived builds one for the process). */
export function secureContextFor(ssl: SslConfig | undefined): tls.SecureContext | string {
  if (!ssl) {
    plainContext ??= tls.createSecureContext({});
    return plainContext;
  }
  const known = contexts.get(ssl);
  if (known) return known;
  const opts: tls.SecureContextOptions = {};
  try {
    if (ssl.certificate !== undefined) opts.cert = readFileSync(ssl.certificate);
  } catch {
    return `SSL error: cannot load certificate file ${ssl.certificate}`;
  }
  try {
    if (ssl.key !== undefined) opts.key = readFileSync(ssl.key);
  } catch {
    return `SSL error: cannot load key file ${ssl.key}`;
  }
  try {
    if (ssl.ca !== undefined) opts.ca = readFileSync(ssl.ca);
  } catch {
    return `SSL error: cannot load CA file ${ssl.ca}`;
  }
  if (ssl.password !== undefined) opts.passphrase = ssl.password;
  try {
    const c = tls.createSecureContext(opts);
    contexts.set(ssl, c);
    return c;
  } catch (e) {
    return `SSL error: ${(e as Error).message}`;
  }
}

/** What one connection sends and how it names the server. */
export interface ConnectPlan {
  request: Buffer;
  servername?: string | undefined;
  verifyName?: string | undefined;
  /** SSL_GET `tls_compliant` (checker or url): end with a close_notify alert. */
  tlsCompliant?: boolean;
}

/** How far an attempt got, for timeouts and for genhash's messages. */
export type AttemptPhase = 'connect' | 'handshake' | 'wait' | 'read';

export interface AttemptFailure extends ResponseFailure {
  phase: AttemptPhase;
}

/** Hears how each attempt ended: `tag` is what the attempt was created with. */
export interface AttemptSink {
  attemptDone(tag: number, f: AttemptFailure | null): void;
}

/** One url's request in flight, as its run sees it. */
interface Attempt {
  timeout(timeoutMs: number): void;
  abort(): void;
}

/**
 * One url's request in flight on its own Node socket (SSL_GET, and genhash); the sink hears of it exactly
 * once. Plain HTTP_GET uses RawHttpAttempt below.
 */
export class UrlAttempt implements Attempt {
  readonly #sock: net.Socket;
  readonly #target: ProbeTarget;
  readonly #reader: HttpResponseReader;
  readonly #tls: TlsPlan | undefined;
  #settled = false;
  #secure = false;
  /** TCP connected ('connect' heard): Node clears `connecting` before it reports a failed connect. */
  #connected = false;
  readonly #sink: AttemptSink;
  readonly #tag: number;
  readonly #onFeed: ((headerDone: boolean) => void) | undefined;
  readonly #compliant: boolean;

  constructor(
    target: ProbeTarget,
    plan: ConnectPlan,
    tlsPlan: TlsPlan | undefined,
    reader: HttpResponseReader,
    sink: AttemptSink,
    tag: number,
    /** Called before each chunk is read (genhash's verbose dumps). */
    onFeed?: (headerDone: boolean) => void,
  ) {
    this.#sink = sink;
    this.#tag = tag;
    this.#target = target;
    this.#compliant = plan.tlsCompliant === true;
    this.#onFeed = onFeed;
    this.#tls = tlsPlan;
    this.#reader = reader;
    if (tlsPlan) {
      const opts: tls.ConnectionOptions & { localAddress?: string; localPort?: number } = {
        host: target.address,
        port: target.port,
        secureContext: tlsPlan.context,
        rejectUnauthorized: tlsPlan.verify,
      };
      if (plan.servername !== undefined) opts.servername = plan.servername;
      if (tlsPlan.verify) {
        const name = plan.verifyName;
        opts.checkServerIdentity = (_host, cert) =>
          name === undefined ? undefined : tls.checkServerIdentity(name, cert);
      }
      if (target.bindTo !== undefined) opts.localAddress = target.bindTo;
      if (target.bindPort !== undefined) opts.localPort = target.bindPort;
      const s = tls.connect(opts);
      s.once('connect', () => {
        this.#connected = true;
      });
      s.once('secureConnect', () => {
        this.#secure = true;
      });
      s.on('data', (chunk: Buffer) => this.chunk(chunk));
      s.on('end', () => this.end());
      s.on('error', (e: NodeJS.ErrnoException) => this.error(e));
      this.#sock = s;
    } else {
      const opts: net.NetConnectOpts = {
        host: target.address,
        port: target.port,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            this.chunk((buf as Buffer).subarray(0, n));
            return !this.#settled;
          },
        },
      };
      if (target.bindTo !== undefined) opts.localAddress = target.bindTo;
      if (target.bindPort !== undefined) opts.localPort = target.bindPort;
      const s = net.connect(opts);
      s.once('connect', () => {
        this.#connected = true;
      });
      s.on('end', () => this.end());
      s.on('error', (e: NodeJS.ErrnoException) => this.error(e));
      this.#sock = s;
    }
    this.#sock.write(plan.request);
  }

  /** The reason given when the deadline passes first, by the phase reached. */
  timeout(timeoutMs: number): void {
    if (this.#settled) return;
    const r = this.#reader;
    const phase = this.#phase();
    const where =
      phase === 'connect'
        ? 'connecting'
        : phase === 'handshake'
          ? 'in the TLS handshake'
          : phase === 'wait'
            ? 'waiting for the response'
            : `reading the response (${r.total} bytes received)`;
    this.#finish({ code: 'timeout', reason: `timeout after ${Math.round(timeoutMs)} ms ${where}` });
  }

  #phase(): AttemptPhase {
    if (this.#sock.connecting) return 'connect';
    if (this.#tls && !this.#secure) return 'handshake';
    return this.#reader.total === 0 ? 'wait' : 'read';
  }

  /** Ends the attempt early (another url already failed, or the probe is closed). */
  abort(): void {
    if (this.#settled) return;
    this.#finish({ code: 'closed', reason: 'probe closed' });
  }

  /** A chunk read from the socket (socket listeners call these three). */
  chunk(chunk: Buffer): void {
    if (this.#settled) return;
    this.#onFeed?.(this.#reader.headerDone);
    const f = this.#reader.feed(chunk);
    if (f) this.#finish(f);
  }

  end(): void {
    if (this.#settled) return;
    this.#finish(this.#reader.finish(), true);
  }

  error(e: NodeJS.ErrnoException): void {
    if (this.#settled) return;
    // keepalived judges what an SSL_GET received when the TLS read fails after the headers arrived.
    if (
      this.#tls &&
      this.#secure &&
      this.#reader.headerDone &&
      (e.code === 'ECONNRESET' || e.code === 'EPIPE')
    ) {
      this.#finish(this.#reader.finish());
      return;
    }
    // Node reports connect()'s own errno with syscall 'connect' while connecting; one outside keepalived's
    // server failures can only come from connect() itself (a pending connect ends with the server's errnos).
    const sys = (e as NodeJS.ErrnoException & { syscall?: string }).syscall;
    if (!this.#connected && (sys === 'connect' || sys === 'bind') && e.code !== undefined) {
      this.#finish(
        sys === 'bind'
          ? { code: 'local-error', reason: `bind failed: ${e.code}` }
          : immediateConnectFailure(e.code, this.#target, this.#reader),
      );
      return;
    }
    this.#finish(
      classifyError(e, this.#sock.connecting, this.#tls !== undefined && !this.#secure, this.#reader),
    );
  }

  #finish(f: ResponseFailure | null, atEof = false): void {
    const phase = this.#phase();
    this.#settled = true;
    const s = this.#sock;
    // tls_compliant: close with a close_notify alert (end); otherwise drop the connection quietly.
    if (atEof && this.#tls && this.#compliant) s.end();
    else s.destroy();
    this.#sink.attemptDone(this.#tag, f === null ? null : { ...f, phase });
  }
}

/**
 * connect() failed at once with `errno`. keepalived's server failures (outcome.ts connectCode) keep
 * classifyError's codes; any other errno is a local error: keepalived keeps it as last_errno (the dump's
 * `Last errno`), logs "WEB socket bind failed. Rescheduling" and tries again after delay_loop without
 * counting the attempt (check/core words.ts rescheduleLine; docs/probes-http.md).
 */
export function immediateConnectFailure(
  errno: string,
  target: ProbeTarget,
  reader: { total: number },
): ResponseFailure {
  if (connectCode(errno) !== 'local-error')
    return classifyError(errnoError('connect', errno, target), true, false, reader);
  return { code: 'local-error', reason: `connect to ${where(target)} failed: ${errno}`, errno };
}

/** An errno as classifyError takes it (the shape of Node's socket errors). */
function errnoError(op: string, errno: string, target: ProbeTarget): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${op} ${errno} ${target.address}:${target.port}`);
  e.code = errno;
  return e;
}

/** RawHttpAttempt's states. */
const CONNECTING = 0;
const SENDING = 1;
const READING = 2;
const DONE = 3;

/**
 * One url's request on a socket of our own (plain HTTP_GET, the checker's hot path): socket, connect, the
 * pre-built request sent with one send(), the reply read with recv() into the shared buffer and judged as
 * it arrives, close. Readiness comes from the probes' shared reactor (one epoll registration per
 * connection, none while a nearby server answers the connect at once); the deadline is the run's. No
 * stream object, no libuv handle, no closure per attempt. Outcomes and their codes are the Node path's
 * (classifyError), so HTTP_GET judges exactly as before (docs/probes-http.md).
 */
export class RawHttpAttempt implements Attempt, FdReady {
  #fd = -1;
  #state = CONNECTING;
  #sent = 0;
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array;
  readonly #request: Buffer;
  readonly #reader: HttpResponseReader;
  readonly #sink: AttemptSink;
  readonly #tag: number;

  constructor(
    target: ProbeTarget,
    sa: Uint8Array,
    request: Buffer,
    reader: HttpResponseReader,
    sink: AttemptSink,
    tag: number,
  ) {
    this.#target = target;
    this.#sa = sa;
    this.#request = request;
    this.#reader = reader;
    this.#sink = sink;
    this.#tag = tag;
  }

  /** Opens and connects; may settle at once (refused, or a local error). */
  start(): void {
    const t = this.#target;
    const opened = openSocket(t, { type: SOCK_STREAM });
    if (!('fd' in opened)) {
      // keepalived: a socket that cannot be made or bound is rescheduled, not counted (as TCP_CHECK, tcp.ts).
      this.#fail({ code: 'local-error', reason: `${opened.op} failed: ${opened.errno}` });
      return;
    }
    const fd = opened.fd;
    this.#fd = fd;
    let c = connectFd(fd, this.#sa);
    if (c !== 0 && c !== EINPROGRESS) {
      this.#fail(immediateConnectFailure(c, t, this.#reader));
      return;
    }
    // Asked again at once: a nearby server has usually answered already (see TCP_CHECK, tcp.ts).
    if (c === EINPROGRESS) c = connectFd(fd, this.#sa);
    if (c === 0 || c === 'EISCONN') {
      this.#state = SENDING;
      if (!this.#send()) return;
      this.#watch(EPOLLIN);
      return;
    }
    if (c !== 'EALREADY' && c !== EINPROGRESS) {
      this.#fail(classifyError(errnoError('connect', c, t), true, false, this.#reader));
      return;
    }
    this.#watch(EPOLLOUT);
  }

  #watch(events: number): void {
    const w = probeReactor().watch(this.#fd, events, this);
    if (w !== 0) this.#fail({ code: 'error', reason: `epoll_ctl: ${w}` });
  }

  /** Sends what is left of the request; false when the attempt settled (error). */
  #send(): boolean {
    const req = this.#request;
    const n = sendFd(this.#fd, this.#sent === 0 ? req : req.subarray(this.#sent));
    if (typeof n === 'string') {
      if (n === 'EAGAIN') return true;
      this.#fail(classifyError(errnoError('write', n, this.#target), false, false, this.#reader));
      return false;
    }
    this.#sent += n;
    if (this.#sent >= req.length) this.#state = READING;
    return true;
  }

  onFdReady(): void {
    switch (this.#state) {
      case CONNECTING: {
        const e = socketErrorOf(this.#fd);
        if (e === 'EINPROGRESS') return;
        if (e !== 0) {
          this.#fail(classifyError(errnoError('connect', e, this.#target), true, false, this.#reader));
          return;
        }
        this.#state = SENDING;
        if (!this.#send()) return;
        if (this.#sent >= this.#request.length) probeReactor().modify(this.#fd, EPOLLIN);
        return;
      }
      case SENDING:
        if (!this.#send()) return;
        if (this.#sent >= this.#request.length) probeReactor().modify(this.#fd, EPOLLIN);
        return;
      case READING:
        this.#read();
        return;
      default:
        return;
    }
  }

  #read(): void {
    const buf = READ_BUFFER;
    for (;;) {
      const n = recvFd(this.#fd, buf);
      if (n === 'EAGAIN') return;
      if (typeof n === 'string') {
        this.#fail(classifyError(errnoError('read', n, this.#target), false, false, this.#reader));
        return;
      }
      if (n === 0) {
        this.#settle(this.#reader.finish());
        return;
      }
      const f = this.#reader.feed(buf.subarray(0, n));
      if (f) {
        this.#settle(f);
        return;
      }
    }
  }

  timeout(timeoutMs: number): void {
    if (this.#state === DONE) return;
    const r = this.#reader;
    const where =
      this.#state === CONNECTING
        ? 'connecting'
        : r.total === 0
          ? 'waiting for the response'
          : `reading the response (${r.total} bytes received)`;
    this.#settle({ code: 'timeout', reason: `timeout after ${Math.round(timeoutMs)} ms ${where}` });
  }

  abort(): void {
    if (this.#state === DONE) return;
    this.#settle({ code: 'closed', reason: 'probe closed' });
  }

  #fail(f: ResponseFailure): void {
    this.#settle(f);
  }

  #settle(f: ResponseFailure | null): void {
    const phase: AttemptPhase =
      this.#state === CONNECTING ? 'connect' : this.#reader.total === 0 ? 'wait' : 'read';
    this.#state = DONE;
    const fd = this.#fd;
    if (fd >= 0) {
      this.#fd = -1;
      probeReactor().forget(fd);
      closeFd(fd);
    }
    this.#sink.attemptDone(this.#tag, f === null ? null : { ...f, phase });
  }
}

const CERT_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** Maps a socket error to one stable code and a one-line reason. */
export function classifyError(
  e: NodeJS.ErrnoException,
  connecting: boolean,
  inHandshake: boolean,
  reader: { total: number },
): ResponseFailure {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return { code: 'refused', reason: 'connection refused' };
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'EADDRNOTAVAIL' || code === 'EINVAL')
    return { code: 'unreachable', reason: `network unreachable (${code})` };
  if (code === 'EACCES' || code === 'EPERM')
    return { code: 'unreachable', reason: `connection not permitted (${code})` };
  if (code === 'ETIMEDOUT') return { code: 'timeout', reason: 'connection timed out (kernel)' };
  if (CERT_CODES.has(code)) return { code: 'tls-cert', reason: `certificate rejected: ${e.message}` };
  if (inHandshake && !connecting) return { code: 'tls', reason: `TLS handshake failed: ${e.message}` };
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return { code: 'reset', reason: `connection reset by the server after ${reader.total} bytes` };
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))
    return { code: 'tls', reason: `TLS error: ${e.message}` };
  return { code: 'error', reason: `${code || 'error'}: ${e.message}` };
}

/** One run(): its url attempts, its deadline, and the promise to settle. */
class RunState implements DeadlineTarget, AttemptSink {
  readonly attempts: Attempt[] = [];
  pending: number;
  settled = false;
  deadline: Deadline | null = null;

  constructor(
    readonly probe: HttpProbe,
    readonly plans: UrlPlan[],
    readonly t0: number,
    readonly timeoutMs: number,
    readonly resolve: (o: ProbeOutcome) => void,
  ) {
    this.pending = plans.length;
  }

  onDeadline(): void {
    for (const a of this.attempts) a.timeout(this.timeoutMs);
  }

  attemptDone(k: number, f: ResponseFailure | null): void {
    if (this.settled) return;
    this.pending--;
    if (f === null && this.pending > 0) return;
    this.settled = true;
    this.deadline?.cancel();
    this.probe.runEnded(this);
    for (const a of this.attempts) a.abort();
    const latencyUs = Math.round((performance.now() - this.t0) * 1000);
    if (f === null) this.resolve({ ok: true, latencyUs });
    else
      this.resolve(
        withErrno(
          {
            ok: false,
            latencyUs,
            code: f.code,
            reason: this.plans.length > 1 ? `url ${this.plans[k]!.path}: ${f.reason}` : f.reason,
            url: this.plans[k]!.path,
          },
          f.errno,
        ),
      );
  }
}

export class HttpProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #plans: UrlPlan[];
  readonly #tls: TlsPlan | undefined;
  readonly #wheel: DeadlineWheel;
  readonly #live = new Set<RunState>();
  /** The target's sockaddr (plain HTTP), built once. */
  readonly #sa: Uint8Array | undefined;
  #closed = false;

  constructor(target: ProbeTarget, plans: UrlPlan[], tlsPlan: TlsPlan | undefined, wheel: DeadlineWheel) {
    this.#target = target;
    this.#plans = plans;
    this.#tls = tlsPlan;
    this.#wheel = wheel;
    this.#sa = tlsPlan ? undefined : sockaddrOf(target.address, target.port, target.family);
  }

  /** The request bytes of each url (for tests and dumps). */
  get requests(): readonly Buffer[] {
    return this.#plans.map((p) => p.request);
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const t0 = performance.now();
    if (this.#closed)
      return Promise.resolve({ ok: false, latencyUs: 0, code: 'closed', reason: 'probe closed' });
    return new Promise<ProbeOutcome>((resolve) => {
      const timeoutMs = timeoutUs > 0 ? timeoutUs / 1000 : 0;
      const plans = this.#plans;
      const st = new RunState(this, plans, t0, timeoutMs, resolve);
      this.#live.add(st);
      st.deadline = this.#wheel.after(timeoutMs, st);
      for (let k = 0; k < plans.length && !st.settled; k++) {
        const plan = plans[k]!;
        try {
          const reader = new HttpResponseReader(plan.reading);
          if (this.#tls) st.attempts.push(new UrlAttempt(this.#target, plan, this.#tls, reader, st, k));
          else if (this.#sa) {
            const a = new RawHttpAttempt(this.#target, this.#sa, plan.request, reader, st, k);
            st.attempts.push(a);
            a.start();
          } else st.attemptDone(k, { code: 'error', reason: `bad address ${this.#target.address}` });
        } catch (e) {
          // Synchronous throws (bad local address, invalid options) are outcomes too.
          st.attemptDone(k, { code: 'error', reason: (e as Error).message });
        }
      }
    });
  }

  /** A run settled: it no longer needs closing. */
  runEnded(st: RunState): void {
    this.#live.delete(st);
  }

  close(): void {
    this.#closed = true;
    for (const st of [...this.#live]) for (const a of st.attempts) a.abort();
    this.#live.clear();
  }
}
