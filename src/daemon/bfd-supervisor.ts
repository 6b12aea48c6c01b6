// The BFD process, seen from the main process: started with the daemon's own command line (plus
// BFD_CHILD_ARG) when bfd_instance blocks exist and -B is not given, restarted with back-off when it dies
// (unless -R), as keepalived's parent restarts its BFD child. The sessions' states it reports are kept here
// and handed to whoever follows them — the VRRP runtime's track_bfd trackers (vrrp-trackers.ts) — after the
// current turn, never inside it. A new child reports every session Down until it comes Up again, as
// keepalived's BFD process does when it starts.
import { BFD_CHILD_ARG, isFromBfd, type ToBfd } from '../bfd/channel.js';
import type { Logger } from '../common/logger.js';
import { SupervisedChild } from './child-process.js';
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
  readonly #states = new Map<string, boolean>();
  readonly #checkerStates = new Map<string, boolean>();
  readonly #subscribers: ((name: string, up: boolean) => void)[] = [];
  readonly #proc: SupervisedChild;

  constructor(o: BfdSupervisorOptions) {
    this.#proc = new SupervisedChild({
      name: 'BFD',
      log: o.log,
      script: o.script,
      args: [BFD_CHILD_ARG, ...o.argv],
      execArgv: process.execArgv,
      pidFile: o.pidFile,
      dontRespawn: o.dontRespawn,
      onMessage: (m) => {
        if (!isFromBfd(m) || m.type !== 'state') return;
        if (m.checker && this.#checkerStates.get(m.name) !== m.up) {
          this.#checkerStates.set(m.name, m.up);
          o.onChecker?.(m.name, m.up);
        }
        if (!m.vrrp || this.#states.get(m.name) === m.up) return;
        this.#states.set(m.name, m.up);
        // After this turn: the VRRP engine's work never runs inside the channel's callback.
        setImmediate(() => {
          for (const fn of this.#subscribers) fn(m.name, m.up);
        });
      },
    });
  }

  get pid(): number | null {
    return this.#proc.pid;
  }

  /** Children started so far. */
  get starts(): number {
    return this.#proc.starts;
  }

  states(): ReadonlyMap<string, boolean> {
    return this.#states;
  }

  subscribe(fn: (name: string, up: boolean) => void): void {
    this.#subscribers.push(fn);
  }

  async start(): Promise<readonly RuntimeError[]> {
    this.#proc.start();
    return [];
  }

  /** The child re-reads the configuration file itself. */
  async reload(): Promise<void> {
    this.#proc.send({ type: 'reload' } satisfies ToBfd);
  }

  snapshot(kind: SnapshotKind): void {
    if (kind === 'data') this.#proc.send({ type: 'dump', file: BFD_DATA_FILE } satisfies ToBfd);
  }

  async stop(_o: { fatal?: boolean } = {}): Promise<void> {
    await this.#proc.stop(BFD_STOP_MS, { type: 'stop' } satisfies ToBfd);
  }
}
