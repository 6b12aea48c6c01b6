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

/**
 * Forks `script` with `args` as the child keepalived calls `<name> child process`: writes its pid file,
 * logs its start and its errors.
 */
export function forkChild(o: {
  name: string;
  script: string;
  args: string[];
  execArgv: string[];
  env?: NodeJS.ProcessEnv;
  pidFile?: string | undefined;
  log: Logger;
}): ChildProcess {
  const child = fork(o.script, o.args, {
    execArgv: o.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(o.env ? { env: o.env } : {}),
  });
  if (o.pidFile && child.pid !== undefined) {
    const r = writePidFiles([o.pidFile], child.pid);
    if (!r.ok) o.log.error(r.error);
  }
  o.log.info(`Starting ${o.name} child process, pid=${child.pid}`);
  child.on('error', (e) => o.log.error(`${o.name} child process: ${e.message}`));
  return child;
}

/**
 * After a child's exit: removes its pid file; unless the daemon is stopping, logs the death and, unless
 * -R (`dontRespawn`), schedules `restart` after the back-off.
 */
export function childExited(o: {
  name: string;
  child: ChildProcess;
  code: number | null;
  signal: NodeJS.Signals | null;
  pidFile?: string | undefined;
  stopping: boolean;
  dontRespawn?: boolean | undefined;
  log: Logger;
  respawn: RespawnBackoff;
  startedAt: number;
  restart: () => void;
}): void {
  if (o.pidFile && o.child.pid !== undefined) removePidFiles([o.pidFile], o.child.pid);
  if (o.stopping) return;
  const died = `${o.name} child process(${o.child.pid}) died (${exitHow(o.code, o.signal)})`;
  if (o.dontRespawn) {
    o.log.error(`${died}: not respawning (-R)`);
    return;
  }
  const delayS = o.respawn.schedule(o.startedAt, o.restart);
  o.log.error(`${died}: Respawning in ${delayS} s`);
}
