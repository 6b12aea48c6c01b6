// The checker process, seen from the main process: started with the daemon's own command line (plus
// CHECKER_CHILD_ARG), told every VRRP state change (replayed to a new child), restarted with back-off when
// it dies — keepalived's "Healthcheck child process(PID) died: Respawning" — unless -R. Whatever it
// programmed in the kernel stays while it restarts. Nothing here runs on the VRRP engine's path: state
// changes are queued and sent after the batch that made them. It is the checker subsystem behind the
// supervisor's seam (subsystem.ts).
import { CHECKER_CHILD_ARG, CHECKER_RESPAWNED_ENV, isFromChecker, type ToChecker } from '../check/channel.js';
import { AfterTurn } from '../common/after-turn.js';
import type { Logger } from '../common/logger.js';
import type { RealServerInfo } from '../status/channel.js';
import { childExecArgv, SupervisedChild } from './child-process.js';
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
  readonly #proc: SupervisedChild;
  readonly #queued = new AfterTurn<ToChecker>((batch) => {
    for (const x of batch) this.#proc.send(x);
  });

  constructor(o: CheckerSupervisorOptions) {
    this.#o = o;
    this.#proc = new SupervisedChild({
      name: 'Healthcheck',
      log: o.log,
      script: o.script,
      args: [CHECKER_CHILD_ARG, ...o.argv],
      execArgv: childExecArgv(process.execArgv, CHECKER_SEMI_SPACE_MB),
      env: () => ({ ...process.env, [CHECKER_RESPAWNED_ENV]: this.#proc.starts > 0 ? '1' : '0' }),
      pidFile: o.pidFile,
      dontRespawn: o.dontRespawn,
      onMessage: (m) => {
        if (isFromChecker(m) && m.type === 'ready') {
          // A new child hears where every VRRP instance stands now.
          for (const [instance, state] of this.#states) this.#send({ type: 'vrrp', instance, state });
          for (const [name, up] of this.#bfd) this.#send({ type: 'bfd', name, up });
          if (o.onRealServers && (o.realServersWanted?.() ?? true)) this.#send({ type: 'watch' });
        } else if (isFromChecker(m) && m.type === 'realServers') o.onRealServers?.(m);
      },
      onExit: () => o.onRealServers?.(null),
    });
  }

  get pid(): number | null {
    return this.#proc.pid;
  }

  /** Children started so far (for status and tests). */
  get starts(): number {
    return this.#proc.starts;
  }

  /** Forks the child; a child that fails later is restarted with back-off, so starting never fails. */
  async start(): Promise<readonly RuntimeError[]> {
    this.#proc.start();
    return [];
  }

  /** A reload turned the status listener on or off: the child starts or stops reporting its real servers. */
  watchRealServers(on: boolean): void {
    if (this.#o.onRealServers && this.#proc.child) this.#send({ type: on ? 'watch' : 'unwatch' });
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
    await this.#proc.stop(o.fatal ? CHECKER_FATAL_STOP_MS : CHECKER_STOP_MS, {
      type: 'stop',
    } satisfies ToChecker);
  }
}
