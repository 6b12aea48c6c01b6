// keepalived's notifications (notes §4): for each notify action, the specific script (notify_master,
// notify_backup, notify_fault, notify_stop, notify_master_rx_lower_pri), then the generic `notify` with 4 more
// args (INSTANCE|GROUP, name, state, priority), then one line on each notify FIFO
// (`INSTANCE "VI_1" MASTER 100`). Scripts are spawned detached in their own process group and never awaited:
// nothing on the advert path waits for them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import type { ScriptSpec } from '../config/model.js';
import type { NotifyScripts } from '../daemon/engine-config.js';
import type { Logger } from '../daemon/logger.js';
import {
  type IdentityResolver,
  identityResolver,
  killScriptGroup,
  launchPlan,
  spawnIdentity,
  type UserRef,
} from '../daemon/script-identity.js';
import type { NotifyState } from '../vrrp/actions.js';

export interface NotifyEvent {
  scope: 'INSTANCE' | 'GROUP';
  name: string;
  state: NotifyState;
  priority: number;
}

/** The FIFO line keepalived writes (vrrp_notify.c format). */
export function fifoLine(e: NotifyEvent): string {
  return `${e.scope} "${e.name}" ${e.state} ${e.priority}\n`;
}

/** The specific script for a state, if configured. */
export function scriptFor(scripts: NotifyScripts, state: NotifyState): ScriptSpec | undefined {
  switch (state) {
    case 'MASTER':
      return scripts.master;
    case 'BACKUP':
      return scripts.backup;
    case 'FAULT':
      return scripts.fault;
    case 'STOP':
      return scripts.stop;
    case 'MASTER_RX_LOWER_PRI':
      return scripts.masterRxLowerPri;
    case 'DELETED':
      return scripts.deleted;
    default:
      return undefined;
  }
}

const GENERIC_STATES = new Set<NotifyState>(['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED']);

/** The generic `notify` script runs for real states only (DELETED included), not for the pseudo-states. */
export function genericArgv(scripts: NotifyScripts, e: NotifyEvent): string[] | undefined {
  if (!scripts.generic) return undefined;
  if (!GENERIC_STATES.has(e.state)) return undefined;
  return [...scripts.generic.argv, e.scope, e.name, e.state, String(e.priority)];
}

const SCRUBBED_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

export class Notifier {
  #instances: Map<string, NotifyScripts>;
  #groups: Map<string, NotifyScripts>;
  readonly #log: Logger;
  readonly #fifoFds: { path: string; fd: number }[] = [];
  readonly #env: NodeJS.ProcessEnv;

  readonly #fifoReaders: ChildProcess[] = [];
  /** Notify scripts still running (stopped with the daemon, as keepalived's PR_SET_PDEATHSIG does). */
  readonly #running = new Set<ChildProcess>();
  readonly #identity: IdentityResolver;

  constructor(
    instances: Map<string, NotifyScripts>,
    groups: Map<string, NotifyScripts>,
    fifos: string[],
    log: Logger,
    fifoScripts: { fifo: string; script: ScriptSpec }[] = [],
    scriptUser?: UserRef,
  ) {
    this.#identity = identityResolver(scriptUser);
    this.#instances = instances;
    this.#groups = groups;
    this.#log = log;
    this.#env = { ...process.env };
    for (const k of SCRUBBED_ENV) delete this.#env[k];
    for (const path of fifos) this.#openFifo(path);
    // keepalived starts each *_fifo_script with the FIFO's path as its last argument and stops it on exit.
    for (const f of fifoScripts) {
      const child = this.#run([...f.script.argv, f.fifo], f.script);
      if (child) this.#fifoReaders.push(child);
    }
  }

  /** keepalived creates a missing FIFO; opened read-write and non-blocking, a write never waits for a reader. */
  #openFifo(path: string): void {
    try {
      let isFile = false;
      try {
        isFile = statSync(path).isFile();
      } catch {
        const r = spawnSync('mkfifo', ['-m', '0600', path]);
        if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr?.toString().trim()}`);
      }
      // A regular file is appended to (handy for tests and for plain logging).
      const flags = isFile
        ? constants.O_WRONLY | constants.O_APPEND
        : constants.O_RDWR | constants.O_NONBLOCK;
      this.#fifoFds.push({ path, fd: openSync(path, flags) });
    } catch (e) {
      this.#log.error(`cannot open notify FIFO ${path}: ${(e as Error).message}`);
    }
  }

  /** Reload: new scripts for the same FIFOs. */
  setScripts(instances: Map<string, NotifyScripts>, groups: Map<string, NotifyScripts>): void {
    this.#instances = instances;
    this.#groups = groups;
  }

  notify(e: NotifyEvent): void {
    const scripts = (e.scope === 'INSTANCE' ? this.#instances : this.#groups).get(e.name) ?? {};
    const specific = scriptFor(scripts, e.state);
    if (specific) this.#run(specific.argv, specific);
    const generic = genericArgv(scripts, e);
    if (generic && scripts.generic) this.#run(generic, scripts.generic);
    const line = fifoLine(e);
    for (const f of this.#fifoFds) {
      try {
        writeSync(f.fd, line);
      } catch (err) {
        this.#log.detail(`notify FIFO ${f.path}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * keepalived executes the path directly when it is an executable file, else hands the whole line to the
   * shell (system()).
   */
  #run(argv: string[], spec: ScriptSpec): ChildProcess | null {
    const [cmd] = argv;
    if (!cmd) return null;
    const id = this.#identity(spec.user === undefined ? undefined : { user: spec.user, group: spec.group });
    if (id !== null && 'error' in id) {
      this.#log.error(`notify script ${cmd}: ${id.error}; not run`);
      return null;
    }
    const as = spawnIdentity(id);
    try {
      const opts = { detached: true, stdio: 'ignore' as const, env: this.#env, ...as };
      const plan = launchPlan(argv);
      const child = spawn(plan.file, plan.args, opts);
      this.#running.add(child);
      child.on('error', (err) => {
        this.#running.delete(child);
        this.#log.error(`notify script ${cmd}: ${err.message}`);
      });
      child.on('exit', () => this.#running.delete(child));
      child.unref();
      return child;
    } catch (err) {
      this.#log.error(`notify script ${cmd}: ${(err as Error).message}`);
      return null;
    }
  }

  /**
   * Resolves when no notify script is running any more, or after `timeoutMs`: a stopping daemon gives the
   * scripts it just started (notify_stop, the generic notify's STOP) that long before close() ends them.
   */
  settle(timeoutMs: number): Promise<void> {
    const running = [...this.#running].filter((c) => c.exitCode === null && c.signalCode === null);
    if (running.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      let left = running.length;
      for (const c of running)
        c.once('exit', () => {
          if (--left > 0) return;
          clearTimeout(timer);
          resolve();
        });
    });
  }

  close(): void {
    for (const c of [...this.#fifoReaders, ...this.#running]) killScriptGroup(c, 'SIGTERM');
    this.#fifoReaders.length = 0;
    this.#running.clear();
    for (const f of this.#fifoFds) {
      try {
        closeSync(f.fd);
      } catch {
        // closed already
      }
    }
    this.#fifoFds.length = 0;
  }
}
