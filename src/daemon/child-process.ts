// What the main process's helper processes (the checker, checker-supervisor.ts; BFD, bfd-supervisor.ts; the
// status listener, status-supervisor.ts) share: their node flags, the back-off of a restart after one dies,
// their start and death in keepalived's log words, and the bounded wait for one to stop.
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../common/logger.js';
import { removePidFiles, writePidFiles } from './pidfile.js';

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long without dying resets the back-off. */
const STABLE_MS = 60_000;

/** The daemon's node flags with the child's own young generation size (the VRRP process keeps 1 MiB). */
export function childExecArgv(daemon: readonly string[], semiSpaceMb: number): string[] {
  return [
    ...daemon.filter((f) => !f.startsWith('--max-semi-space-size')),
    `--max-semi-space-size=${semiSpaceMb}`,
  ];
}

/** How a child ended, in keepalived's words. */
export const exitHow = (code: number | null, signal: NodeJS.Signals | null): string =>
  signal ? `signal ${signal}` : `exit code ${code}`;

/** Restarts after a death: 1 s, doubling to 30 s, back to 1 s once a child has run a minute. */
export class RespawnBackoff {
  #ms = FIRST_BACKOFF_MS;
  #timer: NodeJS.Timeout | null = null;

  /** Runs `start` after the back-off for a child started at `startedAt` (ms) died; the delay in seconds. */
  schedule(startedAt: number, start: () => void, o: { unref?: boolean } = {}): number {
    if (Date.now() - startedAt >= STABLE_MS) this.#ms = FIRST_BACKOFF_MS;
    const delayMs = this.#ms;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      start();
    }, delayMs);
    if (o.unref) this.#timer.unref();
    this.#ms = Math.min(MAX_BACKOFF_MS, this.#ms * 2);
    return delayMs / 1000;
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Asks a running child to stop (`ask`), SIGKILLs it after `timeoutMs`, and resolves once it has exited. */
export async function stopChild(c: ChildProcess | null, timeoutMs: number, ask: (c: ChildProcess) => void) {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  ask(c);
  const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

export interface SupervisedChildOptions {
  /** keepalived's name of the child in log lines ('Healthcheck', 'BFD'). */
  name: string;
  log: Logger;
  /** The entry script to fork (default: this process's). */
  script?: string | undefined;
  args: string[];
  execArgv: string[];
  /** The environment of the next child (asked at each fork). */
  env?: (() => NodeJS.ProcessEnv) | undefined;
  pidFile?: string | undefined;
  dontRespawn?: boolean | undefined;
  onMessage: (m: unknown) => void;
  /** After a child's exit, before its restart is scheduled. */
  onExit?: (() => void) | undefined;
}

/**
 * One helper process kept running by the main process (the checker's and BFD's supervisors hold one):
 * forked from the daemon's entry script, restarted with back-off when it dies (not while stopping, not
 * with -R), stopped by a message and then SIGKILL. What the supervisors differ in is passed in.
 */
export class SupervisedChild {
  readonly #o: SupervisedChildOptions;
  #child: ChildProcess | null = null;
  #startedAt = 0;
  readonly #respawn = new RespawnBackoff();
  #stopping = false;
  /** Children started so far. */
  starts = 0;

  constructor(o: SupervisedChildOptions) {
    this.#o = o;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** The running child, if any. */
  get child(): ChildProcess | null {
    return this.#child;
  }

  /**
   * Forks the child unless one runs or the daemon is stopping, as the child keepalived calls `<name> child
   * process`: writes its pid file, logs its start and its errors; after its exit removes the pid file and,
   * unless stopping, logs the death and (unless -R) starts another after the back-off.
   */
  start(): void {
    if (this.#stopping || this.#child) return;
    const o = this.#o;
    const script = o.script ?? process.argv[1];
    if (script === undefined) return;
    const child = fork(script, o.args, {
      execArgv: o.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(o.env ? { env: o.env() } : {}),
    });
    if (o.pidFile && child.pid !== undefined) {
      const r = writePidFiles([o.pidFile], child.pid);
      if (!r.ok) o.log.error(r.error);
    }
    o.log.info(`Starting ${o.name} child process, pid=${child.pid}`);
    child.on('error', (e) => o.log.error(`${o.name} child process: ${e.message}`));
    this.#child = child;
    this.#startedAt = Date.now();
    this.starts++;
    child.on('message', (m: unknown) => o.onMessage(m));
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = null;
      o.onExit?.();
      if (o.pidFile && child.pid !== undefined) removePidFiles([o.pidFile], child.pid);
      if (this.#stopping) return;
      const died = `${o.name} child process(${child.pid}) died (${exitHow(code, signal)})`;
      if (o.dontRespawn) {
        o.log.error(`${died}: not respawning (-R)`);
        return;
      }
      const delayS = this.#respawn.schedule(this.#startedAt, () => this.start());
      o.log.error(`${died}: Respawning in ${delayS} s`);
    });
  }

  /** Sends `m` if the child is connected; a failed send is a detail line (the child may be dying). */
  send(m: unknown): void {
    const c = this.#child;
    if (c?.connected)
      c.send(m as object, (e) => e && this.#o.log.detail(`${this.#o.name} channel: ${e.message}`));
  }

  /** No more restarts; sends `stopMessage` (SIGTERM if the channel is gone), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs: number, stopMessage: object): Promise<void> {
    this.#stopping = true;
    this.#respawn.cancel();
    await stopChild(this.#child, timeoutMs, (c) => {
      if (c.connected) c.send(stopMessage);
      else c.kill('SIGTERM');
    });
  }
}
