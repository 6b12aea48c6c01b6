// The status listener process: an HTTP server for Prometheus (/metrics), the JSON status API (/status,
// schema/status.schema.json), the page (/ and its two files from web/) and its live feed (/events,
// server-sent events). Started by the main process (src/daemon/status-supervisor.ts), fed over IPC
// (channel.ts); it never reads the configuration and holds nothing the VRRP engine needs, so it can crash,
// be slow or be flooded without the VRRP process noticing. Security (docs/operating.md): it listens only
// where metrics_listen says, answers GET and HEAD only, changes nothing, wants `Authorization: Bearer` when
// metrics_token is set, and bounds header size and time, connections, and event-stream clients. Run as
// root, it gives up root (to nobody) once its socket is bound.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { tuningCalls } from '../daemon/process-tuning.js';
import { type FromStatus, isToStatus, type ListenerSettings, type ToStatus } from './channel.js';
import { buildMetrics, type MetricsRenderer } from './metrics.js';
import { StatusModel } from './model.js';

const WEB_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export const LIMITS = {
  /** Request line and headers together. */
  maxHeaderBytes: 8192,
  maxHeadersCount: 64,
  /** Time to receive the headers, and the whole request. */
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  /** Open connections, event streams included. */
  maxConnections: 64,
  maxEventStreams: 16,
  /** An event stream whose client reads slower than this much backlog is closed. */
  maxStreamBacklogBytes: 1 << 20,

  /** Niceness of the listener process: below the VRRP process's on a busy CPU. */
  nice: 10,
};

const PRIO_PROCESS = 0;
const SCHED_IDLE = 5;

/**
 * The listener's priority, for each of its threads: Linux applies nice and scheduling policy per thread, and
 * V8's and libuv's threads (gzip runs on libuv's pool) started before this call would otherwise keep the
 * daemon's; threads started later inherit the main thread's. SCHED_IDLE (below every nice level: it runs
 * only on a CPU nothing else wants) unless KEEPALIVED_TS_STATUS_SCHED=other. Measured in
 * docs/decisions/status-listener.md, 2026-12-05 "flood defences".
 */
export function lowerListenerPriority(policy = process.env.KEEPALIVED_TS_STATUS_SCHED ?? 'idle'): string {
  let tids: number[] = [];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [0];
  }
  let calls: ReturnType<typeof tuningCalls> | null = null;
  try {
    calls = tuningCalls();
  } catch {
    /* no libc binding: the main thread's nice only */
  }
  if (!calls) {
    try {
      setPriority(0, LIMITS.nice);
    } catch {
      /* not allowed: run at the daemon's priority */
    }
    return 'nice';
  }
  let idle = policy === 'idle';
  for (const tid of tids) {
    calls.setpriority(PRIO_PROCESS, tid, LIMITS.nice);
    if (idle && calls.schedSetscheduler(tid, SCHED_IDLE, 0) !== 0) idle = false;
  }
  return idle ? 'idle' : 'nice';
}

const HEARTBEAT_MS = 15_000;
/**
 * A rendered /metrics or /status is served again while the model has not changed, for at most this long
 * (keepalived_up and the snapshot's age move with time): a scraper flood costs one rendering a second.
 */
const RENDER_REUSE_MS = 2000;

/**
 * gzip level for /metrics and /status when the client asks (Prometheus does): level 1 makes the 2.7 MB of
 * 1,000 instances 177 kB for ~7 ms of CPU, level 6 158 kB for ~19 ms (docs/decisions/status-listener.md).
 */
const GZIP_LEVEL = 1;
const gzipAsync = promisify(gzip);

/** Whether an Accept-Encoding header accepts gzip (named, or `*`, without q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.toLowerCase().split(',')) {
    const [coding, ...params] = part.trim().split(';');
    const zero = params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p));
    if (coding === 'gzip' || coding === 'x-gzip') return !zero;
    if (coding === '*') star = !zero;
  }
  return star;
}

const send = (m: FromStatus) => {
  if (process.connected) process.send?.(m);
};
const log = (level: 'info' | 'error', text: string) => send({ type: 'log', level, text });

export function runStatusChild(): number {
  lowerListenerPriority();
  const model = new StatusModel();
  const registry = buildMetrics(model);
  let listener: StatusListener | null = null;
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  process.on('SIGHUP', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: unknown) => {
    if (!isToStatus(m)) return;
    if (m.type === 'settings') {
      model.apply(m);
      if (!listener) {
        listener = new StatusListener(m.settings, model, registry);
        listener.listen();
      } else listener.reconfigure(m.settings);
      return;
    }
    const what = model.apply(m);
    listener?.changed(what, m);
  });
  send({ type: 'ready', pid: process.pid });
  return 0;
}

class StatusListener {
  readonly #s: ListenerSettings;
  readonly #model: StatusModel;
  readonly #registry: MetricsRenderer;
  readonly #server: Server;
  #tokenHash: Buffer | null;
  /** metrics_max_requests: /metrics and /status beyond it in a second get 429 at once. */
  #budget: SecondBudget;
  readonly #files = new Map<string, { body: Buffer; type: string }>();
  readonly #streams = new Set<ServerResponse>();
  /** The page view last sent per instance (JSON), to send only what changed. */
  #sentViews: string[] = [];
  #sentRealServers = '';
  #sentTraffic = '';
  readonly #rendered = new Map<
    string,
    { version: number; atMs: number; body: Promise<Buffer>; gz: Promise<Buffer> | null }
  >();

  constructor(s: ListenerSettings, model: StatusModel, registry: MetricsRenderer) {
    this.#s = s;
    this.#model = model;
    this.#registry = registry;
    this.#tokenHash = s.token === undefined ? null : sha256(s.token);
    this.#budget = new SecondBudget(s.maxRequests);
    // Read once, before root is given up.
    for (const [path, f] of Object.entries(WEB_FILES)) {
      try {
        this.#files.set(path, { body: readFileSync(join(s.webDir, f.file)), type: f.type });
      } catch (e) {
        log('error', `page file ${f.file} unreadable: ${(e as Error).message}`);
      }
    }
    this.#server = createServer(
      {
        maxHeaderSize: LIMITS.maxHeaderBytes,
        headersTimeout: LIMITS.headersTimeoutMs,
        requestTimeout: LIMITS.requestTimeoutMs,
        keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
        connectionsCheckingInterval: 1000,
      },
      (req, res) => this.#request(req, res),
    );
    this.#server.maxHeadersCount = LIMITS.maxHeadersCount;
    this.#server.maxConnections = LIMITS.maxConnections;
    this.#server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
      const status =
        e.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      else socket.destroy();
    });
    setInterval(() => {
      for (const r of this.#streams) r.write(': keep-alive\n\n');
    }, HEARTBEAT_MS).unref();
  }

  /** A reload changed metrics_token or metrics_max_requests (moving the listener starts a new process). */
  reconfigure(s: ListenerSettings): void {
    this.#tokenHash = s.token === undefined ? null : sha256(s.token);
    this.#budget = new SecondBudget(s.maxRequests);
  }

  listen(): void {
    this.#server.on('error', (e: NodeJS.ErrnoException) => {
      log('error', `cannot listen on ${where(this.#s)}: ${e.message}`);
      process.exit(1);
    });
    this.#server.listen({ host: this.#s.host, port: this.#s.port, exclusive: true }, () => {
      send({ type: 'listening', address: where(this.#s) });
      dropRoot();
    });
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    if (this.#tokenHash && !this.#authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="keepalived-ts"');
      return end(res, 401, 'unauthorized: this listener wants Authorization: Bearer TOKEN\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return end(res, 405, 'method not allowed: this listener only reads\n');
    }
    // No endpoint takes a body: one announced is refused without being read.
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      res.setHeader('Connection', 'close');
      return end(res, 413, 'request body not accepted\n');
    }
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/metrics' || path === '/status') {
      if (!this.#budget.take()) {
        res.setHeader('Retry-After', '1');
        return end(
          res,
          429,
          'too many requests: /metrics and /status are answered at most a set number of times a second\n',
        );
      }
      const type = path === '/metrics' ? this.#registry.contentType : 'application/json';
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      res.setHeader('Vary', 'Accept-Encoding');
      if (gzip) res.setHeader('Content-Encoding', 'gzip');
      void this.#render(path, gzip).then(
        (body) => end(res, 200, body, type, req.method === 'HEAD'),
        (e: Error) => {
          res.removeHeader('Content-Encoding');
          end(res, 500, `${e.message}\n`);
        },
      );
      return;
    }
    if (path === '/events') return this.#stream(req, res);
    const f = this.#files.get(path);
    if (f) {
      res.setHeader(
        'Content-Security-Policy',
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:",
      );
      res.setHeader('X-Frame-Options', 'DENY');
      return end(res, 200, f.body, f.type, req.method === 'HEAD');
    }
    end(res, 404, 'not found: try /, /status or /metrics\n');
  }

  /**
   * The rendered document as bytes (encoded once per rendering, not once per request), or its gzip
   * (compressed once per rendering, on libuv's thread pool).
   */
  #render(path: '/metrics' | '/status', gzip: boolean): Promise<Buffer> {
    const now = Date.now();
    let c = this.#rendered.get(path);
    if (!c || c.version !== this.#model.version || now - c.atMs >= RENDER_REUSE_MS) {
      const body = (
        path === '/metrics'
          ? this.#registry.render()
          : Promise.resolve(JSON.stringify(this.#model.document(now, process.pid)))
      ).then((text) => Buffer.from(text));
      c = { version: this.#model.version, atMs: now, body, gz: null };
      this.#rendered.set(path, c);
    }
    if (!gzip) return c.body;
    c.gz ??= c.body.then((bytes) => gzipAsync(bytes, { level: GZIP_LEVEL }));
    return c.gz;
  }

  #authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    const m = h === undefined ? null : /^Bearer +(\S+)\s*$/i.exec(h);
    return m !== null && timingSafeEqual(sha256(m[1]!), this.#tokenHash!);
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.#streams.size >= LIMITS.maxEventStreams) {
      res.setHeader('Retry-After', '10');
      return end(res, 503, 'too many event streams\n');
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    if (req.method === 'HEAD') return void res.end();
    // The request is in; the stream lives as long as the client reads.
    req.socket.setTimeout(0);
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
    res.write('retry: 2000\n\n');
    this.#write(res, 'snapshot', this.#snapshot());
  }

  #snapshot() {
    const m = this.#model;
    this.#sentViews = m.infos.map((_, k) => JSON.stringify(m.pageView(k)));
    return {
      up: m.up(Date.now()),
      snapshotAt: m.tickMs,
      instances: m.infos.map((_, k) => m.pageView(k)),
      recent: m.recent.slice(-20),
      virtualServers: m.virtualServers(),
      traffic: m.traffic,
    };
  }

  #write(res: ServerResponse, event: string, data: unknown): void {
    if (res.writableLength > LIMITS.maxStreamBacklogBytes) {
      res.destroy();
      return;
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #broadcast(event: string, data: unknown): void {
    for (const r of this.#streams) this.#write(r, event, data);
  }

  /** The model changed: tell the page what it shows that moved. */
  changed(what: ReturnType<StatusModel['apply']>, m: ToStatus): void {
    if (this.#streams.size === 0) return;
    const model = this.#model;
    if (what === 'instances') return this.#broadcast('snapshot', this.#snapshot());
    if (what === 'transition' && m.type === 'transition') {
      const k = model.infos.findIndex((i) => i.name === m.t.instance);
      if (k < 0) return;
      const view = model.pageView(k);
      this.#sentViews[k] = JSON.stringify(view);
      return this.#broadcast('transition', { t: m.t, instance: view });
    }
    if (what === 'tick') {
      const changed = [];
      for (let k = 0; k < model.infos.length; k++) {
        const view = model.pageView(k);
        const json = JSON.stringify(view);
        if (json !== this.#sentViews[k]) {
          this.#sentViews[k] = json;
          changed.push(view);
        }
      }
      this.#broadcast('tick', { up: model.up(Date.now()), snapshotAt: model.tickMs, instances: changed });
      return;
    }
    if (what === 'realServers') {
      const vs = model.virtualServers();
      const json = JSON.stringify(vs);
      if (json !== this.#sentRealServers) {
        this.#sentRealServers = json;
        this.#broadcast('realServers', vs);
      }
      // The data plane's traffic counters ride on the same message, on their own clock.
      const traffic = JSON.stringify(model.traffic);
      if (traffic !== this.#sentTraffic) {
        this.#sentTraffic = traffic;
        this.#broadcast('traffic', model.traffic);
      }
    }
  }
}

/** At most `perSecond` takes in each wall-clock second (0: no limit). */
export class SecondBudget {
  readonly #perSecond: number;
  #second = 0;
  #used = 0;
  constructor(perSecond: number) {
    this.#perSecond = perSecond;
  }
  take(nowMs = Date.now()): boolean {
    if (this.#perSecond === 0) return true;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#used = 0;
    }
    if (this.#used >= this.#perSecond) return false;
    this.#used++;
    return true;
  }
}

function end(
  res: ServerResponse,
  code: number,
  body: string | Buffer,
  type = 'text/plain; charset=utf-8',
  head = false,
) {
  res.statusCode = code;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const where = (s: ListenerSettings) =>
  s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;

/** Root is needed for nothing once the socket is bound (page files are read at start). */
function dropRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  try {
    process.setgroups?.([]);
    process.setgid?.('nogroup');
    process.setuid?.('nobody');
  } catch (e) {
    log('info', `keeps running as root (${(e as Error).message})`);
  }
}
