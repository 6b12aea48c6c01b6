// What the main process's helper processes (the checker, checker-supervisor.ts; BFD, bfd-supervisor.ts; the
// status listener, status-supervisor.ts) share: their node flags, the back-off of a restart after one dies,
// and the bounded wait for one to stop.
import type { ChildProcess } from 'node:child_process';

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
