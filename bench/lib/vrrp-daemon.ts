// A VRRP daemon — keepalived-ts or the reference keepalived — running in the foreground inside a network
// namespace, logging to the console. Its log lines are collected with their arrival time (Date.now()), the
// one clock both implementations share, so transition times are comparable between them.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/v8-tuning.js';
import { trackChild, trackDir } from './cleanup.js';

export type Implementation = 'keepalived-ts' | 'keepalived';

export const KATS_BIN = resolve(import.meta.dirname, '../../bin/keepalived-ts');
export const KEEPALIVED_BIN = '/usr/sbin/keepalived';

/**
 * keepalived-ts's command line as every bench starts it: node with the daemon's own node flags
 * (DAEMON_NODE_FLAGS, as bin/keepalived-ts's `#!` line gives them) plus KATS_BENCH_NODE_FLAGS (trials, e.g.
 * `--cpu-prof --cpu-prof-dir=DIR`; the checker process inherits them), the binary, `-n -l -f CONF`, then
 * `args` (pid files and the like).
 */
export function katsArgv(conf: string, args: readonly string[]): string[] {
  return [
    process.execPath,
    ...DAEMON_NODE_FLAGS,
    ...(process.env.KATS_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''),
    KATS_BIN,
    '-n',
    '-l',
    '-f',
    conf,
    ...args,
  ];
}

export function referenceAvailable(): boolean {
  return existsSync(KEEPALIVED_BIN);
}

export interface LogLine {
  text: string;
  /** Date.now() when the line reached us. */
  atMs: number;
}

const STATE_LINE = /\((\w+)\) Entering (\w+) STATE/;

export class VrrpDaemon {
  readonly name: string;
  readonly impl: Implementation;
  readonly ns: string;
  readonly dir: string;
  readonly conf: string;
  readonly lines: LogLine[] = [];
  #proc: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #waiters: (() => void)[] = [];

  constructor(name: string, impl: Implementation, ns: string, confText: string) {
    this.name = name;
    this.impl = impl;
    this.ns = ns;
    this.dir = mkdtempSync(join(tmpdir(), `kats-${name}-`));
    trackDir(this.dir);
    this.conf = join(this.dir, 'keepalived.conf');
    writeFileSync(this.conf, confText);
  }

  #argv(): string[] {
    const p = (f: string) => join(this.dir, f);
    if (this.impl === 'keepalived-ts')
      return katsArgv(this.conf, [
        '-p',
        p('main.pid'),
        '-r',
        p('vrrp.pid'),
        // -D adds the daemon's detail lines (such as each Master_Down deadline's timeline) to its log.
        ...(process.env.KATS_BENCH_DETAIL === '1' ? ['-D'] : []),
      ]);
    return [
      KEEPALIVED_BIN,
      '-n',
      '-l',
      '--vrrp',
      '-f',
      this.conf,
      '-p',
      p('k.pid'),
      '-r',
      p('k_vrrp.pid'),
      '-c',
      p('k_check.pid'),
    ];
  }

  /** Starts (or restarts) the daemon. */
  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const proc = spawn('ip', ['netns', 'exec', this.ns, ...this.#argv()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    trackChild(proc);
    let partial = '';
    const onData = (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      const atMs = Date.now();
      for (const text of parts) this.lines.push({ text, atMs });
      if (process.env.KATS_BENCH_LOG)
        appendFileSync(process.env.KATS_BENCH_LOG, `${this.name} ${parts.join(`\n${this.name} `)}\n`);
      this.#wake();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.#exited = new Promise((res) => proc.once('exit', () => res()));
    void this.#exited.then(() => this.#wake());
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  get running(): boolean {
    const p = this.#proc;
    return p !== null && p.exitCode === null && p.signalCode === null;
  }

  /** The daemon's pid (`ip netns exec` execs, so it is the daemon itself), or null. */
  get pid(): number | null {
    return this.running ? (this.#proc?.pid ?? null) : null;
  }

  /** Index to pass as `from` so a wait only sees lines logged after now. */
  mark(): number {
    return this.lines.length;
  }

  /** The first line at or after `from` matching `re`; rejects after `timeoutMs` or if the daemon exits. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (let k = from; ; ) {
      for (; k < this.lines.length; k++) if (re.test(this.lines[k]!.text)) return this.lines[k]!;
      if (!this.running) throw new Error(`${this.name} (${this.impl}) exited before ${re}\n${this.log()}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.name} (${this.impl}): no ${re} within ${timeoutMs} ms\n${this.log()}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** `(INSTANCE) Entering X STATE` lines at or after `from`. */
  transitions(from = 0): { instance: string; state: string; atMs: number }[] {
    const out: { instance: string; state: string; atMs: number }[] = [];
    for (const l of this.lines.slice(from)) {
      const m = STATE_LINE.exec(l.text);
      if (m?.[1] && m[2]) out.push({ instance: m[1], state: m[2], atMs: l.atMs });
    }
    return out;
  }

  /** State of the last transition of `instance`, or null before any. */
  state(instance = 'VI_1'): string | null {
    const t = this.transitions().filter((x) => x.instance === instance);
    return t.at(-1)?.state ?? null;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    if (!this.running) return;
    this.#proc?.kill(signal);
    const t = setTimeout(() => this.#proc?.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(t);
  }

  /** The daemon and its descendants (keepalived forks a VRRP child), read from /proc. */
  processTree(): number[] {
    const root = this.pid;
    if (root === null) return [];
    const out: number[] = [];
    const queue = [root];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      out.push(pid);
      try {
        const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
        if (kids) queue.push(...kids.split(/\s+/).map(Number));
      } catch {
        // The process went away between reads.
      }
    }
    return out;
  }

  log(): string {
    return this.lines.map((l) => `  [${this.name}] ${l.text}`).join('\n');
  }

  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface InstanceSpec {
  name: string;
  vrid: number;
  priority: number;
  version: 2 | 3;
  advertIntervalS: number;
  /** `address/prefix` */
  vips: string[];
}

/** A keepalived.conf both implementations read the same way: plain instances on eth0, all `state BACKUP`. */
export function vrrpConf(instances: InstanceSpec[]): string {
  return instances
    .map(
      (i) => `vrrp_instance ${i.name} {
  state BACKUP
  interface eth0
  virtual_router_id ${i.vrid}
  version ${i.version}
  priority ${i.priority}
  advert_int ${i.advertIntervalS}
  virtual_ipaddress {
${i.vips.map((v) => `    ${v}`).join('\n')}
  }
}
`,
    )
    .join('');
}
