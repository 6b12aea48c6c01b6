// Fire-and-forget scripts and notify FIFOs, shared by the VRRP notifier and the checker subsystem. Scripts
// start through the one script runner (src/common/script-runner.ts) and are never awaited; a failure to start
// is logged. A FIFO is created when missing and opened non-blocking, so a write never waits for a reader.
// As keepalived's, a FIFO it creates is rw-r--r-- less the umask (0600 by default) and removed when closed;
// one that was there already keeps its mode and stays.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { fifoMode } from '../common/file-mask.js';
import type { Logger } from '../common/logger.js';
import type { UserRef } from '../common/script-identity.js';
import { ownUser, ScriptRunner } from '../common/script-runner.js';
import type { ScriptSpec } from '../config/model.js';

export class ScriptLauncher {
  readonly #log: Logger;
  readonly #runner: ScriptRunner;

  constructor(log: Logger, scriptUser?: UserRef) {
    this.#log = log;
    this.#runner = new ScriptRunner(scriptUser);
  }

  /** Starts `argv` as `spec`'s user; `what` names it in errors ("notify script"). Never throws. */
  run(argv: string[], spec: ScriptSpec, what = 'notify script'): ChildProcess | null {
    const [cmd] = argv;
    if (!cmd) return null;
    const child = this.#runner.start(argv, ownUser(spec));
    if (typeof child === 'string') {
      this.#log.error(`${what} ${cmd}: ${child}; not run`);
      return null;
    }
    child.on('error', (err) => this.#log.error(`${what} ${cmd}: ${err.message}`));
    child.unref();
    return child;
  }

  /** Resolves when no script started here is running any more, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    return this.#runner.settle(timeoutMs);
  }

  /** Ends every script still running (SIGTERM to its process group). */
  close(): void {
    this.#runner.close();
  }
}

export class FifoWriter {
  readonly #log: Logger;
  readonly #fds: { path: string; fd: number; created: boolean }[] = [];

  constructor(paths: string[], log: Logger) {
    this.#log = log;
    for (const p of paths) this.#open(p);
  }

  #open(path: string): void {
    try {
      let isFile = false;
      let created = false;
      try {
        isFile = statSync(path).isFile();
      } catch {
        // mkfifo -m sets the mode itself (not left to the umask).
        const r = spawnSync('mkfifo', ['-m', fifoMode().toString(8), path]);
        if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr?.toString().trim()}`);
        created = true;
      }
      // A regular file is appended to (handy for tests and for plain logging).
      const flags = isFile
        ? constants.O_WRONLY | constants.O_APPEND
        : constants.O_RDWR | constants.O_NONBLOCK;
      try {
        this.#fds.push({ path, fd: openSync(path, flags), created });
      } catch (e) {
        if (created) unlinkSync(path);
        throw e;
      }
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
      if (f.created) {
        try {
          unlinkSync(f.path);
        } catch {
          // removed by someone else
        }
      }
    }
    this.#fds.length = 0;
  }
}
