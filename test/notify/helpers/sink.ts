// The SMTP sink (smtp-sink.ts) run inside a namespace, its messages collected as they arrive.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const SCRIPT = resolve(import.meta.dirname, 'smtp-sink.ts');

export interface SunkMail {
  helo: string;
  from: string;
  to: string[];
  data: string;
  /** Parsed headers (first occurrence) and the body after the blank line. */
  headers: Record<string, string>;
  body: string;
}

export class Sink {
  readonly mails: SunkMail[] = [];
  readonly rejected: string[] = [];
  connections = 0;
  #ready = false;
  readonly #proc: ChildProcess;
  #waiters: (() => void)[] = [];

  constructor(ns: string, address: string, port: number, mode: 'accept' | 'reject' | 'silent' = 'accept') {
    this.#proc = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', SCRIPT, address, String(port), mode],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let partial = '';
    this.#proc.stdout!.on('data', (c: Buffer) => {
      partial += c.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) this.#take(JSON.parse(l));
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  #take(o: Record<string, unknown>): void {
    if (o.ready) this.#ready = true;
    else if (o.connection) this.connections++;
    else if (typeof o.rejected === 'string') this.rejected.push(o.rejected);
    else {
      const data = String(o.data);
      const cut = data.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of data.slice(0, cut).split('\r\n')) {
        const k = line.indexOf(':');
        const name = line.slice(0, k).toLowerCase();
        if (k > 0 && !(name in headers)) headers[name] = line.slice(k + 1).trim();
      }
      this.mails.push({
        helo: String(o.helo),
        from: String(o.from),
        to: o.to as string[],
        data,
        headers,
        body: data.slice(cut + 4),
      });
    }
  }

  /** Resolves once `cond` holds (checked on every event); rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`sink: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.subjects())}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  ready(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.#ready, timeoutMs, 'ready');
  }

  subjects(): string[] {
    return this.mails.map((m) => m.headers.subject ?? '');
  }

  close(): void {
    this.#proc.kill('SIGKILL');
  }
}
