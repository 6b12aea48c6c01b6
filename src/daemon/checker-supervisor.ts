// The checker process, seen from the main process: started with the daemon's own command line (plus
// CHECKER_CHILD_ARG), told every VRRP state change (replayed to a new child), restarted with back-off when
// it dies — keepalived's "Healthcheck child process(PID) died: Respawning" — unless -R. Whatever it
// programmed in the kernel stays while it restarts. Nothing here runs on the VRRP engine's path: state
// changes are queued and sent after the batch that made them. It is the checker subsystem behind the
// supervisor's seam (subsystem.ts).
import { type ChildProcess, fork } from 'node:child_process';
import { CHECKER_CHILD_ARG, CHECKER_RESPAWNED_ENV, isFromChecker, type ToChecker } from '../check/channel.js';
import type { Logger } from '../common/logger.js';
import type { RealServerInfo } from '../status/channel.js';
import { removePidFiles, writePidFiles } from './pidfile.js';
import type { RuntimeError } from './runtime-error.js';
import type { SnapshotKind, Subsystem } from './subsystem.js';

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long without dying resets the back-off. */
const STABLE_MS = 60_000;
/** The checker process gets this long to stop (its omega scripts run with a 1 s grace) before SIGKILL. */
const CHECKER_STOP_MS = 3000;
/** After a fatal error in the main process, the checker gets this long. */
const CHECKER_FATAL_STOP_MS = 2000;
/** keepalived's checker data dump (SIGUSR1). */
const CHECKER_DATA_FILE = '/tmp/keepalived_check.data';

/**
 * The checker's node flags: the daemon's, but a larger young generation — the 1 MiB one that keeps the VRRP
 * process small made the checker (thousands of short-lived sockets and buffers a second) collect garbage
 * constantly (docs/decisions/checker-scale.md).
 */
export function checkerExecArgv(daemon: readonly string[]): string[] {
  return [
    ...daemon.filter((f) => !f.startsWith('--max-semi-space-size')),
    `--max-semi-space-size=${CHECKER_SEMI_SPACE_MB}`,
  ];
}
const CHECKER_SEMI_SPACE_MB = 8;

export interface CheckerSupervisorOptions {
  /** The daemon's argv (the child re-reads the same configuration). */
  argv: string[];
  log: Logger;
  /** -c: the checker's pid file. */
  pidFile?: string;
  /** -R: a dead child is not restarted. */
  dontRespawn?: boolean;
  /** The entry script to fork (default: this process's). */
  script?: string;
  /** The status listener wants the real servers: each child is asked to report them (`watch`). */
  onRealServers?: (m: { list: RealServerInfo[]; atMs: number } | null) => void;
  /** Whether a listener runs now (default: yes); watchRealServers() tells of a change. */
  realServersWanted?: () => boolean;
}

export class CheckerSupervisor implements Subsystem {
  readonly name = 'checker';
  readonly #o: CheckerSupervisorOptions;
  readonly #states = new Map<string, string>();
  readonly #bfd = new Map<string, boolean>();
  #child: ChildProcess | null = null;
  #startedAt = 0;
  #backoffMs = FIRST_BACKOFF_MS;
  #respawn: NodeJS.Timeout | null = null;
  #stopping = false;
  #pending: ToChecker[] = [];
  #flush: NodeJS.Immediate | null = null;
  /** Children started so far (for status and tests). */
  starts = 0;

  constructor(o: CheckerSupervisorOptions) {
    this.#o = o;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Forks the child; a child that fails later is restarted with back-off, so starting never fails. */
  async start(): Promise<readonly RuntimeError[]> {
    this.#fork();
    return [];
  }

  #fork(): void {
    if (this.#stopping || this.#child) return;
    const script = this.#o.script ?? process.argv[1];
    if (script === undefined) return;
    const child = fork(script, [CHECKER_CHILD_ARG, ...this.#o.argv], {
      execArgv: checkerExecArgv(process.execArgv),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [CHECKER_RESPAWNED_ENV]: this.starts > 0 ? '1' : '0' },
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.starts++;
    if (this.#o.pidFile && child.pid !== undefined) {
      const r = writePidFiles([this.#o.pidFile], child.pid);
      if (!r.ok) this.#o.log.error(r.error);
    }
    this.#o.log.info(`Starting Healthcheck child process, pid=${child.pid}`);
    child.on('message', (m: unknown) => {
      if (isFromChecker(m) && m.type === 'ready') {
        // A new child hears where every VRRP instance stands now.
        for (const [instance, state] of this.#states) this.#send({ type: 'vrrp', instance, state });
        for (const [name, up] of this.#bfd) this.#send({ type: 'bfd', name, up });
        if (this.#o.onRealServers && (this.#o.realServersWanted?.() ?? true)) this.#send({ type: 'watch' });
      } else if (isFromChecker(m) && m.type === 'realServers') this.#o.onRealServers?.(m);
    });
    child.on('error', (e) => this.#o.log.error(`Healthcheck child process: ${e.message}`));
    child.on('exit', (code, signal) => this.#exited(child, code, signal));
  }

  /** A reload turned the status listener on or off: the child starts or stops reporting its real servers. */
  watchRealServers(on: boolean): void {
    if (this.#o.onRealServers && this.#child) this.#send({ type: on ? 'watch' : 'unwatch' });
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = null;
    this.#o.onRealServers?.(null);
    if (this.#o.pidFile && child.pid !== undefined) removePidFiles([this.#o.pidFile], child.pid);
    if (this.#stopping) return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.#o.dontRespawn) {
      this.#o.log.error(`Healthcheck child process(${child.pid}) died (${how}): not respawning (-R)`);
      return;
    }
    if (Date.now() - this.#startedAt >= STABLE_MS) this.#backoffMs = FIRST_BACKOFF_MS;
    this.#o.log.error(
      `Healthcheck child process(${child.pid}) died (${how}): Respawning in ${this.#backoffMs / 1000} s`,
    );
    this.#respawn = setTimeout(() => {
      this.#respawn = null;
      this.#fork();
    }, this.#backoffMs);
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
  }

  /** A VRRP instance's new state; sent after the current turn (never inside a takeover's writes). */
  vrrpState(instance: string, state: string): void {
    this.#states.set(instance, state);
    this.#send({ type: 'vrrp', instance, state });
  }

  /** A BFD session's new state, for the BFD_CHECKs (replayed to a new child). */
  bfdState(name: string, up: boolean): void {
    this.#bfd.set(name, up);
    this.#send({ type: 'bfd', name, up });
  }

  /** The child re-reads the configuration file itself. */
  async reload(): Promise<void> {
    this.#send({ type: 'reload' });
  }

  /** keepalived's checker process writes only a data dump (USR1). */
  snapshot(kind: SnapshotKind): void {
    if (kind === 'data') this.#send({ type: 'dump', file: CHECKER_DATA_FILE });
  }

  #send(m: ToChecker): void {
    this.#pending.push(m);
    this.#flush ??= setImmediate(() => {
      this.#flush = null;
      const batch = this.#pending;
      this.#pending = [];
      const c = this.#child;
      if (!c?.connected) return;
      for (const x of batch) c.send(x, (e) => e && this.#o.log.detail(`checker channel: ${e.message}`));
    });
  }

  /** Asks the child to stop (its omega actions, scripts), then ends it after a few seconds. */
  async stop(o: { fatal?: boolean } = {}): Promise<void> {
    const timeoutMs = o.fatal ? CHECKER_FATAL_STOP_MS : CHECKER_STOP_MS;
    this.#stopping = true;
    if (this.#respawn) clearTimeout(this.#respawn);
    this.#respawn = null;
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    if (c.connected) c.send({ type: 'stop' } satisfies ToChecker);
    else c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}
