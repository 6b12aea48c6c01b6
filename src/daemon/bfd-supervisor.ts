// The BFD process, seen from the main process: started with the daemon's own command line (plus
// BFD_CHILD_ARG) when bfd_instance blocks exist and -B is not given, restarted with back-off when it dies
// (unless -R), as keepalived's parent restarts its BFD child. The sessions' states it reports are kept here
// and handed to whoever follows them — the VRRP runtime's track_bfd trackers (vrrp-trackers.ts) — after the
// current turn, never inside it. A new child reports every session Down until it comes Up again, as
// keepalived's BFD process does when it starts.
import type { ChildProcess } from 'node:child_process';
import { BFD_CHILD_ARG, isFromBfd, type ToBfd } from '../bfd/channel.js';
import type { Logger } from '../common/logger.js';
import { childExited, forkChild, RespawnBackoff, stopChild } from './child-process.js';
import type { RuntimeError } from './runtime-error.js';
import type { SnapshotKind, Subsystem } from './subsystem.js';

const BFD_STOP_MS = 2000;
/** keepalived's BFD data dump (SIGUSR1). */
const BFD_DATA_FILE = '/tmp/keepalived_bfd.data';

/** What the VRRP runtime reads: the latest state of each session that reports to VRRP, and its changes. */
export interface BfdFeed {
  states(): ReadonlyMap<string, boolean>;
  subscribe(fn: (name: string, up: boolean) => void): void;
}

export interface BfdSupervisorOptions {
  argv: string[];
  log: Logger;
  /** -b: the BFD process's pid file. */
  pidFile?: string;
  dontRespawn?: boolean;
  script?: string;
  /** Told each change of a session that reports to the checker process (BFD_CHECK). */
  onChecker?: (name: string, up: boolean) => void;
}

export class BfdSupervisor implements Subsystem, BfdFeed {
  readonly name = 'BFD';
  readonly #o: BfdSupervisorOptions;
  readonly #states = new Map<string, boolean>();
  readonly #checkerStates = new Map<string, boolean>();
  readonly #subscribers: ((name: string, up: boolean) => void)[] = [];
  #child: ChildProcess | null = null;
  #startedAt = 0;
  readonly #respawn = new RespawnBackoff();
  #stopping = false;
  starts = 0;

  constructor(o: BfdSupervisorOptions) {
    this.#o = o;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  states(): ReadonlyMap<string, boolean> {
    return this.#states;
  }

  subscribe(fn: (name: string, up: boolean) => void): void {
    this.#subscribers.push(fn);
  }

  async start(): Promise<readonly RuntimeError[]> {
    this.#fork();
    return [];
  }

  #fork(): void {
    if (this.#stopping || this.#child) return;
    const script = this.#o.script ?? process.argv[1];
    if (script === undefined) return;
    const child = forkChild({
      name: 'BFD',
      script,
      args: [BFD_CHILD_ARG, ...this.#o.argv],
      execArgv: process.execArgv,
      pidFile: this.#o.pidFile,
      log: this.#o.log,
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.starts++;
    child.on('message', (m: unknown) => {
      if (!isFromBfd(m) || m.type !== 'state') return;
      if (m.checker && this.#checkerStates.get(m.name) !== m.up) {
        this.#checkerStates.set(m.name, m.up);
        this.#o.onChecker?.(m.name, m.up);
      }
      if (!m.vrrp || this.#states.get(m.name) === m.up) return;
      this.#states.set(m.name, m.up);
      // After this turn: the VRRP engine's work never runs inside the channel's callback.
      setImmediate(() => {
        for (const fn of this.#subscribers) fn(m.name, m.up);
      });
    });
    child.on('exit', (code, signal) => this.#exited(child, code, signal));
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = null;
    childExited({
      name: 'BFD',
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

  /** The child re-reads the configuration file itself. */
  async reload(): Promise<void> {
    this.#send({ type: 'reload' });
  }

  snapshot(kind: SnapshotKind): void {
    if (kind === 'data') this.#send({ type: 'dump', file: BFD_DATA_FILE });
  }

  #send(m: ToBfd): void {
    const c = this.#child;
    if (c?.connected) c.send(m, (e) => e && this.#o.log.detail(`BFD channel: ${e.message}`));
  }

  async stop(o: { fatal?: boolean } = {}): Promise<void> {
    void o;
    this.#stopping = true;
    this.#respawn.cancel();
    await stopChild(this.#child, BFD_STOP_MS, (c) => {
      if (c.connected) c.send({ type: 'stop' } satisfies ToBfd);
      else c.kill('SIGTERM');
    });
  }
}
