// Running configured scripts and writing notify FIFOs, shared by the VRRP notifier and the checker
// subsystem. Scripts are spawned detached in their own process group with a scrubbed environment and never
// awaited; keepalived executes the path directly when it is an executable file, else hands the whole line
// to the shell. A FIFO is created when missing and opened non-blocking, so a write never waits for a reader.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import type { Logger } from '../common/logger.js';
import {
  type IdentityResolver,
  identityResolver,
  killScriptGroup,
  launchPlan,
  spawnIdentity,
  type UserRef,
} from '../common/script-identity.js';
import type { ScriptSpec } from '../config/model.js';

const SCRUBBED_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

export class ScriptLauncher {
  readonly #log: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #identity: IdentityResolver;
  /** Scripts still running (stopped with the daemon, as keepalived's PR_SET_PDEATHSIG does). */
  readonly #running = new Set<ChildProcess>();

  constructor(log: Logger, scriptUser?: UserRef) {
    this.#log = log;
    this.#identity = identityResolver(scriptUser);
    this.#env = { ...process.env };
    for (const k of SCRUBBED_ENV) delete this.#env[k];
  }

  /** Starts `argv` as `spec`'s user; `what` names it in errors ("notify script"). Never throws. */
  run(argv: string[], spec: ScriptSpec, what = 'notify script'): ChildProcess | null {
    const [cmd] = argv;
    if (!cmd) return null;
    const id = this.#identity(spec.user === undefined ? undefined : { user: spec.user, group: spec.group });
    if (id !== null && 'error' in id) {
      this.#log.error(`${what} ${cmd}: ${id.error}; not run`);
      return null;
    }
    try {
      const opts = { detached: true, stdio: 'ignore' as const, env: this.#env, ...spawnIdentity(id) };
      const plan = launchPlan(argv);
      const child = spawn(plan.file, plan.args, opts);
      this.#running.add(child);
      child.on('error', (err) => {
        this.#running.delete(child);
        this.#log.error(`${what} ${cmd}: ${err.message}`);
      });
      child.on('exit', () => this.#running.delete(child));
      child.unref();
      return child;
    } catch (err) {
      this.#log.error(`${what} ${cmd}: ${(err as Error).message}`);
      return null;
    }
  }

  /** Resolves when no script started here is running any more, or after `timeoutMs`. */
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

  /** Ends every script still running (SIGTERM to its process group). */
  close(): void {
    for (const c of this.#running) killScriptGroup(c, 'SIGTERM');
    this.#running.clear();
  }
}

export class FifoWriter {
  readonly #log: Logger;
  readonly #fds: { path: string; fd: number }[] = [];

  constructor(paths: string[], log: Logger) {
    this.#log = log;
    for (const p of paths) this.#open(p);
  }

  #open(path: string): void {
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
      this.#fds.push({ path, fd: openSync(path, flags) });
    } catch (e) {
      this.#log.error(`cannot open notify FIFO ${path}: ${(e as Error).message}`);
    }
  }

  write(line: string): void {
    for (const f of this.#fds) {
      try {
        writeSync(f.fd, line);
      } catch (err) {
        this.#log.detail(`notify FIFO ${f.path}: ${(err as Error).message}`);
      }
    }
  }

  close(): void {
    for (const f of this.#fds) {
      try {
        closeSync(f.fd);
      } catch {
        // closed already
      }
    }
    this.#fds.length = 0;
  }
}
