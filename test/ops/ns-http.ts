// HTTP to a listener inside a test's network namespace, from the test process outside it: a small helper
// process inside the namespace relays a Unix socket (file system, not network namespace) to ADDRESS:PORT
// there, and may also run TCP servers (real servers for checks). Requests go through http.request's
// socketPath; raw() writes bytes as they are (oversized headers and the like).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HELPER = `
const net = require('node:net');
const [sock, host, port, ...servers] = process.argv.slice(1);
for (const s of servers) {
  const [h, p] = s.split(',');
  net.createServer((c) => c.end()).listen(Number(p), h);
}
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  c.pipe(u); u.pipe(c);
  u.on('error', () => c.destroy()); c.on('error', () => u.destroy());
}).listen(sock, () => console.log('ready'));
`;

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body as received (still gzip-compressed when Content-Encoding says so). */
  bytes: Buffer;
}

export class NsHttp {
  readonly #dir: string;
  readonly socketPath: string;
  readonly #proc: ChildProcess;
  readonly ready: Promise<void>;

  /** `servers`: extra TCP servers to run in the namespace, as `address,port` (they accept and close). */
  constructor(ns: string, host: string, port: number, servers: string[] = []) {
    this.#dir = mkdtempSync(join(tmpdir(), 'kats-nshttp-'));
    this.socketPath = join(this.#dir, 'relay.sock');
    this.#proc = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', HELPER, this.socketPath, host, String(port), ...servers],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.ready = new Promise((res, rej) => {
      this.#proc.stdout!.once('data', () => res());
      this.#proc.once('exit', (c) => rej(new Error(`relay exited (${c})`)));
    });
  }

  get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
    return new Promise((res, rej) => {
      const req = request(
        { socketPath: this.socketPath, path, method, headers, timeout: 5000, agent: false },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            const bytes = Buffer.concat(chunks);
            res({ status: r.statusCode ?? 0, headers: r.headers, body: bytes.toString('utf8'), bytes });
          });
        },
      );
      req.on('error', rej);
      req.on('timeout', () => req.destroy(new Error(`${path}: timeout`)));
      req.end(body);
    });
  }

  /** Writes `bytes` on a fresh connection; resolves with what came back until the server closed it. */
  raw(bytes: string, timeoutMs = 8000): Promise<string> {
    return new Promise((res) => {
      const c = connect(this.socketPath);
      let got = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => {
        got += d;
      });
      const done = () => res(got);
      c.on('close', done);
      c.on('error', done);
      c.setTimeout(timeoutMs, () => c.destroy());
      c.write(bytes);
    });
  }

  close(): void {
    this.#proc.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Prometheus text → samples (name, labels, value); comments and blank lines skipped. */
export function parseMetrics(
  text: string,
): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}
