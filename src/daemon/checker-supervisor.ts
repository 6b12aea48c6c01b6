// The checker process, seen from the main process: started with the daemon's own command line (plus
// CHECKER_CHILD_ARG), told every VRRP state change (replayed to a new child), restarted with back-off when
// it dies — keepalived's "Healthcheck child process(PID) died: Respawning" — unless -R. Whatever it
// programmed in the kernel stays while it restarts. Nothing here runs on the VRRP engine's path: state
// changes are queued and sent after the batch that made them. It is the checker subsystem behind the
// supervisor's seam (subsystem.ts).
import type { ChildProcess } from 'node:child_process';
import { CHECKER_CHILD_ARG, CHECKER_RESPAWNED_ENV, isFromChecker, type ToChecker } from '../check/channel.js';
import { AfterTurn } from '../common/after-turn.js';
import type { Logger } from '../common/logger.js';
import type { RealServerInfo } from '../status/channel.js';
import { childExecArgv, childExited, forkChild, RespawnBackoff, stopChild } from './child-process.js';
import type { RuntimeError } from './runtime-error.js';
import type { SnapshotKind, Subsystem } from './subsystem.js';

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
  readonly #respawn = new RespawnBackoff();
  #stopping = false;
  readonly #queued = new AfterTurn<ToChecker>((batch) => {
    const c = this.#child;
    if (!c?.connected) return;
    for (const x of batch) c.send(x, (e) => e && this.#o.log.detail(`checker channel: ${e.message}`));
  });
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
    const child = forkChild({
      name: 'Healthcheck',
      script,
      args: [CHECKER_CHILD_ARG, ...this.#o.argv],
      execArgv: childExecArgv(process.execArgv, CHECKER_SEMI_SPACE_MB),
      env: { ...process.env, [CHECKER_RESPAWNED_ENV]: this.starts > 0 ? '1' : '0' },
      pidFile: this.#o.pidFile,
      log: this.#o.log,
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.starts++;
    child.on('message', (m: unknown) => {
      if (isFromChecker(m) && m.type === 'ready') {
        // A new child hears where every VRRP instance stands now.
        for (const [instance, state] of this.#states) this.#send({ type: 'vrrp', instance, state });
        for (const [name, up] of this.#bfd) this.#send({ type: 'bfd', name, up });
        if (this.#o.onRealServers && (this.#o.realServersWanted?.() ?? true)) this.#send({ type: 'watch' });
      } else if (isFromChecker(m) && m.type === 'realServers') this.#o.onRealServers?.(m);
    });
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
    childExited({
      name: 'Healthcheck',
      child,
      code,
      signal,
      pidFile: this.#o.pidFile,
      stopping: this.#stopping,
      dontRespawn: this.#o.dontRespawn,
      log: this.#o.log,
      respawn: this.#respawn,
      startedAt: this.#startedAt,
      restart: () => this.#fork(),
    });
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
    this.#queued.push(m);
  }

  /** Asks the child to stop (its omega actions, scripts), then ends it after a few seconds. */
  async stop(o: { fatal?: boolean } = {}): Promise<void> {
    this.#stopping = true;
    this.#respawn.cancel();
    await stopChild(this.#child, o.fatal ? CHECKER_FATAL_STOP_MS : CHECKER_STOP_MS, (c) => {
      if (c.connected) c.send({ type: 'stop' } satisfies ToChecker);
      else c.kill('SIGTERM');
    });
  }
}
