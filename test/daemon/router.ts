// Test harness for daemon tests: a keepalived-ts (or keepalived) process inside a network namespace, with its
// log lines collected (and timestamped on arrival) so tests can wait for "(VI_1) Entering MASTER STATE", and
// helpers to read the addresses a namespace holds. Every Router is recorded; killAllRouters() SIGKILLs any
// still running (tests call it in after hooks and finally blocks; it also runs on process exit).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import { SIGNAL_JSON } from '../../src/daemon/run.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/v8-tuning.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';

export const BIN = resolve(import.meta.dirname, '../../bin/keepalived-ts');

export interface LogLine {
  text: string;
  /** Date.now() when the line reached the test. */
  rxMs: number;
  /** The daemon's own timestamp (ISO prefix of keepalived-ts -l lines), if present. */
  stampMs: number | null;
}

const live = new Set<Router>();
let hooked = false;

/** Daemons that detached themselves (not our children): SIGKILLed with the routers. */
const detachedPids = new Set<number>();

export function trackDetachedPid(pid: number): void {
  hookExit();
  detachedPids.add(pid);
}

/** Why a test that builds network namespaces is skipped here, or false when it can run. */
export function needsRoot(): string | false {
  return isRoot() ? false : 'needs root for network namespaces';
}

/**
 * The cleanup of a daemon test file: after its tests (`hook`: after, or afterEach) the routers are killed,
 * then the returned list's cleanups run, newest first (namespaces, directories).
 */
export function cleanupAfter(hook: (fn: () => void) => void = after): (() => void)[] {
  const cleanups: (() => void)[] = [];
  hook(() => {
    killAllRouters();
    for (const c of cleanups.splice(0).reverse()) c();
  });
  return cleanups;
}

/** Every process below `pid` (children, their children, …), read from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // The parent pid is the 4th field; the 2nd (the command in parentheses) may hold spaces.
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (let todo = [pid]; todo.length > 0; ) {
    const next = todo.flatMap((p) => children.get(p) ?? []);
    out.push(...next);
    todo = next;
  }
  return out;
}

export function killAllRouters(): void {
  for (const r of [...live]) r.kill();
  for (const pid of detachedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  detachedPids.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllRouters);
}

export interface RouterOptions {
  /** Run this argv instead of keepalived-ts (the reference keepalived for interop tests); gets the paths. */
  command?: string[] | ((paths: { conf: string; dir: string }) => string[]);
  /** Runs keepalived-ts through this argv prefix (e.g. setpriv dropping a capability). */
  launcher?: string[];
  /** Node flags besides DAEMON_NODE_FLAGS (e.g. V8 logging into the router's directory). */
  nodeFlags?: (dir: string) => string[];
  extraArgs?: string[];
  /** Environment variables added to the daemon's. */
  env?: Record<string, string>;
}

export class Router {
  readonly name: string;
  readonly ns: string;
  readonly dir: string;
  readonly conf: string;
  readonly pidFile: string;
  readonly vrrpPidFile: string;
  readonly lines: LogLine[] = [];
  readonly proc: ChildProcess;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  #exited: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(
    name: string,
    ns: string,
    confText: string | ((dir: string) => string),
    opts: RouterOptions = {},
  ) {
    hookExit();
    this.name = name;
    this.ns = ns;
    this.dir = mkdtempSync(join(tmpdir(), `kats-${name}-`));
    this.conf = join(this.dir, 'keepalived.conf');
    this.pidFile = join(this.dir, 'main.pid');
    this.vrrpPidFile = join(this.dir, 'vrrp.pid');
    writeFileSync(this.conf, typeof confText === 'string' ? confText : confText(this.dir));
    const custom =
      typeof opts.command === 'function' ? opts.command({ conf: this.conf, dir: this.dir }) : opts.command;
    const argv = custom ?? [
      ...(opts.launcher ?? []),
      process.execPath,
      ...DAEMON_NODE_FLAGS,
      ...(opts.nodeFlags?.(this.dir) ?? []),
      BIN,
      '-n',
      '-l',
      '-D',
      '-f',
      this.conf,
      '-p',
      this.pidFile,
      '-r',
      this.vrrpPidFile,
      // The checker's pid file too: the default (/run) would be shared by daemons of tests running at once.
      ...(opts.extraArgs?.includes('-c') ? [] : ['-c', join(this.dir, 'checkers.pid')]),
    ];
    this.proc = spawn('ip', ['netns', 'exec', ns, ...argv, ...(opts.extraArgs ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    live.add(this);
    let partial = '';
    const onData = (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      const now = Date.now();
      for (const text of parts) {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /.exec(text);
        this.lines.push({ text, rxMs: now, stampMs: m?.[1] ? Date.parse(m[1]) : null });
      }
      for (const w of this.#waiters.splice(0)) w();
    };
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
    this.#exited = new Promise((res) => {
      this.proc.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        for (const w of this.#waiters.splice(0)) w();
        res();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** Index to pass as `from` so a wait only sees lines logged after now. */
  mark(): number {
    return this.lines.length;
  }

  /** The first line at or after `from` matching `re`; rejects after `timeoutMs` or if the process exits. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l.text));
      if (hit) return hit;
      if (!this.running)
        throw new Error(`${this.name} exited (${this.exitCode}) before ${re}\n${this.log()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms\n${this.log()}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Lines at or after `from` matching `re`. */
  grep(re: RegExp, from = 0): LogLine[] {
    return this.lines.slice(from).filter((l) => re.test(l.text));
  }

  /** The state of the last `(INSTANCE) Entering X STATE` line, or null before any. */
  lastState(instance = 'VI_1'): string | null {
    const re = new RegExp(`\\(${instance}\\) Entering (\\w+) STATE`);
    for (let k = this.lines.length - 1; k >= 0; k--) {
      const m = re.exec(this.lines[k]!.text);
      if (m?.[1]) return m[1];
    }
    return null;
  }

  log(): string {
    return this.lines.map((l) => `  [${this.name}] ${l.text}`).join('\n');
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<number | null> {
    if (signal === 'SIGKILL') this.kill();
    else if (this.running) this.proc.kill(signal);
    const t = setTimeout(() => this.kill(), timeoutMs);
    await this.#exited;
    clearTimeout(t);
    return this.exitCode;
  }

  /**
   * SIGKILLs the daemon and every process below it: a killed keepalived's own children (its VRRP, checker
   * or BFD process) do not always die with it, and one left holding this test's output pipe keeps the test
   * process from exiting.
   */
  kill(): void {
    if (!this.running) return;
    // `ip netns exec` execs the command, so the child pid is the daemon itself.
    const below = this.proc.pid === undefined ? [] : descendants(this.proc.pid);
    this.proc.kill('SIGKILL');
    for (const pid of below) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  exited(): Promise<void> {
    return this.#exited;
  }

  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Addresses (without prefix) on `ifname` in `ns`, both families. */
export function addressesOf(ns: string, ifname = 'eth0'): string[] {
  const r = spawnSync('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', ifname], { encoding: 'utf8' });
  const out: string[] = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /\binet6? ([0-9a-f.:]+)\//.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

export function holds(ns: string, address: string, ifname = 'eth0'): boolean {
  return addressesOf(ns, ifname).includes(address);
}

/** Polls `cond` every `stepMs` until true; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  stepMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** keepalived's JSON signal (`keepalived --signum=JSON`, SIGRTMIN+2), as the daemon watches it. */
export { SIGNAL_JSON };

/** `json_dump_file` line for a config's global_defs: the JSON dump goes to the router's own directory. */
export const jsonDumpLine = (dir: string) => `json_dump_file ${join(dir, 'keepalived.json')}`;

/** One instance of keepalived's JSON dump (keepalived's keys, plus keepalived-ts's own camelCase ones). */
export interface DumpedInstance {
  data: { iname: string; state: number; effective_priority: number; masterAddress?: string | null };
  stats: Record<string, number>;
}

/** Sends the JSON signal and returns the fresh dump (the config must carry jsonDumpLine(r.dir)). */
export async function dumpJson(r: Router, timeoutMs = 2000): Promise<DumpedInstance[]> {
  const file = join(r.dir, 'keepalived.json');
  rmSync(file, { force: true });
  // Node's kill() takes named signals only; kill(1) takes the real-time number.
  const k = spawnSync('kill', [`-${SIGNAL_JSON}`, String(r.proc.pid)], { encoding: 'utf8' });
  if (k.status !== 0) throw new Error(`kill -${SIGNAL_JSON} ${r.proc.pid}: ${k.stderr}`);
  let out: DumpedInstance[] | null = null;
  await waitUntil(
    () => {
      try {
        out = JSON.parse(readFileSync(file, 'utf8')) as DumpedInstance[];
        return true;
      } catch {
        return false;
      }
    },
    timeoutMs,
    `${r.name}'s JSON dump`,
  );
  return out!;
}

/** The dumped instance `name` (default VI_1). */
export async function dumpedInstance(r: Router, name = 'VI_1'): Promise<DumpedInstance | undefined> {
  return (await dumpJson(r)).find((x) => x.data.iname === name);
}

/** Dumps VI_1 every 50 ms until `pred` holds for it; throws with `what` after `timeoutMs`. */
export async function untilDumped(
  r: Router,
  pred: (i: DumpedInstance) => boolean,
  timeoutMs: number,
  what: string,
): Promise<DumpedInstance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = await dumpedInstance(r);
    if (i && pred(i)) return i;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(i?.data)}`);
    }
    await sleep(50);
  }
}

/**
 * Waits for a steady state: `cond` holds and none of `routers` logs a state change for `quietMs` (a router that
 * starts a little later than its peers may be master for a moment before it hears a higher priority — real
 * VRRP behaviour, but not the state a test wants to look at).
 */
export async function settle(
  routers: Router[],
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  quietMs = 300,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitUntil(cond, Math.max(1, deadline - Date.now()), what);
    const marks = routers.map((r) => r.mark());
    await sleep(quietMs);
    if (cond() && routers.every((r, k) => r.grep(/Entering \w+ STATE/, marks[k]).length === 0)) return;
    if (Date.now() > deadline) throw new Error(`no steady state within ${timeoutMs} ms: ${what}`);
  }
}

/**
 * settle() until each router's last state is the one paired with it (`[r1, 'MASTER'], [r2, 'BACKUP']`), or
 * that of the instance named (`[r1, 'VI_1', 'MASTER']`).
 */
export function settleStates(timeoutMs: number, ...want: ([Router, string] | [Router, string, string])[]) {
  const states = want.map((w) => ({
    r: w[0],
    instance: w.length === 3 ? w[1] : undefined,
    state: w.at(-1)!,
  }));
  return settle(
    [...new Set(states.map((w) => w.r))],
    () => states.every((w) => w.r.lastState(w.instance) === w.state),
    timeoutMs,
    states.map((w) => [w.r.name, w.instance, w.state].filter(Boolean).join(' ')).join(', '),
  );
}

/**
 * A router alone on a LAN of its own (loneRouterNetns: 192.0.2.1/24 on eth0); `cleanups` (cleanupAfter's
 * list) removes its directory, then the namespace.
 */
export function loneRouter(
  label: string,
  name: string,
  confText: string | ((dir: string) => string),
  cleanups: (() => void)[],
  opts?: RouterOptions,
): { ns: string; r: Router } {
  const { ns } = loneRouterNetns(label, cleanups);
  const r = new Router(name, ns, confText, opts);
  cleanups.push(() => r.removeDir());
  return { ns, r };
}
