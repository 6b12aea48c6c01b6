// HTTP_GET and SSL_GET probes (adapters over net/tls sockets) implementing src/check/probe.ts. One run()
// checks every url block of the checker, each on its own connection, all in parallel and each within the
// attempt's timeout; the attempt passes only if every url passes. Requests are built once per probe;
// deadlines go to one shared timing wheel; responses are judged as keepalived 2.2.7 judges them.
// Behaviour, error codes and the differences from keepalived: docs/probes-http.md.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Checker, SslConfig } from '../../config/model.js';
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

/** A flag keyword the parser carries untyped on a url block (`tls_compliant`). */
function carriedFlag(u: object, key: string): boolean {
  return (u as { other?: Record<string, string[]> }).other?.[key] !== undefined;
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
  if (target.bindIf !== undefined)
    return { ok: false, message: 'bind_if is not supported by the HTTP_GET/SSL_GET probe yet' };
  if (target.fwmark !== undefined)
    return { ok: false, message: 'fwmark is not supported by the HTTP_GET/SSL_GET probe yet' };
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
  const compliant = checker.other.tls_compliant !== undefined;
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
      tlsCompliant: compliant || carriedFlag(u, 'tls_compliant'),
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

/**
 * A plain-HTTP socket kept by a probe across attempts: node can connect a net.Socket again once it has
 * emitted 'close', which saves building a socket and its stream state per check (about a third of the
 * CPU per check in bench/probe-http.ts). Its listeners are attached once and route to the current attempt.
 */
export class PlainConn {
  readonly sock: net.Socket;
  attempt: UrlAttempt | null = null;
  /** True while no connection is open on the socket (never used, or 'close' seen). */
  idle = true;
  /** Connections made on this socket. */
  uses = 0;

  constructor() {
    // `onread` is honoured by the constructor (net.connect passes its options there); the types omit it.
    this.sock = new net.Socket({
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          const a = this.attempt;
          if (a === null) return false;
          a.chunk((buf as Buffer).subarray(0, n));
          return this.attempt !== null;
        },
      },
    } as net.SocketConstructorOpts);
    this.sock.on('end', () => this.attempt?.end());
    this.sock.on('error', (e: NodeJS.ErrnoException) => this.attempt?.error(e));
    this.sock.on('close', () => {
      this.attempt = null;
      this.idle = true;
    });
  }
}

/** Hears how each attempt ended: `tag` is what the attempt was created with. */
export interface AttemptSink {
  attemptDone(tag: number, f: AttemptFailure | null): void;
}

/** One url's request in flight on its own connection; the sink hears of it exactly once. */
export class UrlAttempt {
  readonly #sock: net.Socket;
  readonly #reader: HttpResponseReader;
  readonly #tls: TlsPlan | undefined;
  #settled = false;
  #secure = false;
  readonly #sink: AttemptSink;
  readonly #tag: number;
  readonly #onFeed: ((headerDone: boolean) => void) | undefined;
  #conn: PlainConn | null = null;
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
    /** A reusable plain socket, used when idle (plain HTTP only). */
    conn?: PlainConn,
  ) {
    this.#sink = sink;
    this.#tag = tag;
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
      s.once('secureConnect', () => {
        this.#secure = true;
      });
      s.on('data', (chunk: Buffer) => this.chunk(chunk));
      s.on('end', () => this.end());
      s.on('error', (e: NodeJS.ErrnoException) => this.error(e));
      this.#sock = s;
    } else if (conn?.idle) {
      conn.idle = false;
      conn.uses++;
      conn.attempt = this;
      this.#conn = conn;
      const opts: net.TcpSocketConnectOpts = { host: target.address, port: target.port };
      if (target.bindTo !== undefined) opts.localAddress = target.bindTo;
      if (target.bindPort !== undefined) opts.localPort = target.bindPort;
      this.#sock = conn.sock.connect(opts);
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
    this.#finish(
      classifyError(e, this.#sock.connecting, this.#tls !== undefined && !this.#secure, this.#reader),
    );
  }

  #finish(f: ResponseFailure | null, atEof = false): void {
    const phase = this.#phase();
    this.#settled = true;
    // Later events of this connection no longer reach this attempt; the socket is reusable after 'close'.
    if (this.#conn) this.#conn.attempt = null;
    const s = this.#sock;
    // tls_compliant: close with a close_notify alert (end); otherwise drop the connection quietly.
    if (atEof && this.#tls && this.#compliant) s.end();
    else s.destroy();
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
  readonly attempts: UrlAttempt[] = [];
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
      this.resolve({
        ok: false,
        latencyUs,
        code: f.code,
        reason: this.plans.length > 1 ? `url ${this.plans[k]!.path}: ${f.reason}` : f.reason,
      });
  }
}

export class HttpProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #plans: UrlPlan[];
  readonly #tls: TlsPlan | undefined;
  readonly #wheel: DeadlineWheel;
  readonly #live = new Set<RunState>();
  /** One reusable socket per url (plain HTTP only). */
  readonly #conns: (PlainConn | undefined)[];
  #closed = false;

  constructor(target: ProbeTarget, plans: UrlPlan[], tlsPlan: TlsPlan | undefined, wheel: DeadlineWheel) {
    this.#target = target;
    this.#plans = plans;
    this.#tls = tlsPlan;
    this.#wheel = wheel;
    this.#conns = plans.map(() => (tlsPlan ? undefined : new PlainConn()));
  }

  /** Connections made on the probe's kept sockets (the rest were fresh sockets: overlapping attempts). */
  get keptSocketUses(): number {
    let n = 0;
    for (const c of this.#conns) n += c?.uses ?? 0;
    return n;
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
          st.attempts.push(
            new UrlAttempt(this.#target, plan, this.#tls, reader, st, k, undefined, this.#conns[k]),
          );
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
