// Starting configured scripts the way keepalived does, for every kind the daemon runs: notify scripts, vrrp_script
// checks and MISC_CHECK. A script runs as its identity (script-identity.ts: its own `user`, else global_defs
// script_user, else keepalived_script, else root), detached in its own process group (so a timeout or the
// daemon's stop ends it and its children alike), with stdio on /dev/null and an environment without IFS,
// LD_PRELOAD and LD_LIBRARY_PATH. Nothing waits for it: callers listen for `exit`.
import { type ChildProcess, spawn } from 'node:child_process';
import type { ScriptSpec } from '../config/model.js';
import {
  type IdentityResolver,
  identityResolver,
  killScriptGroup,
  launchPlan,
  spawnIdentity,
  type UserRef,
} from './script-identity.js';

/** keepalived's escalation: SIGTERM to a script's group, SIGKILL this long after if it is still there. */
export const KILL_AFTER_TERM_MS = 2000;

const SCRUBBED_ENV = ['IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH'];

/** The user a script names for itself: `override` (a block's `user` keyword), else the script line's own. */
export function ownUser(spec: ScriptSpec, override?: UserRef): UserRef | undefined {
  if (override) return override;
  if (spec.user === undefined) return undefined;
  return spec.group === undefined ? { user: spec.user } : { user: spec.user, group: spec.group };
}

/** Signals the process group `pid` leads (a script started here), even after its leader has exited. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/**
 * SIGTERM to a script's group now and SIGKILL after KILL_AFTER_TERM_MS (to the group: children the script
 * left behind die too); returns the pending SIGKILL's timer.
 */
export function terminateScript(child: ChildProcess): NodeJS.Timeout {
  killScriptGroup(child, 'SIGTERM');
  const t = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_AFTER_TERM_MS);
  t.unref();
  return t;
}

export class ScriptRunner {
  readonly #identity: IdentityResolver;
  readonly #env: NodeJS.ProcessEnv;
  /** Scripts still running (ended with the daemon, as keepalived's PR_SET_PDEATHSIG does). */
  readonly #running = new Set<ChildProcess>();

  /** `scriptUser`: global_defs script_user; or a resolver shared with other runners. */
  constructor(scriptUser?: UserRef | IdentityResolver, env: NodeJS.ProcessEnv = process.env) {
    this.#identity = typeof scriptUser === 'function' ? scriptUser : identityResolver(scriptUser);
    this.#env = { ...env };
    for (const k of SCRUBBED_ENV) delete this.#env[k];
  }

  /**
   * Starts `argv` as `own` (ownUser) or the default identity. Returns the child, or why it could not start (an
   * unknown user, spawn failing at once). Never throws; a later spawn failure comes as the child's `error`.
   */
  start(argv: string[], own: UserRef | undefined): ChildProcess | string {
    const id = this.#identity(own);
    if (id !== null && 'error' in id) return id.error;
    try {
      const plan = launchPlan(argv);
      const child = spawn(plan.file, plan.args, {
        detached: true,
        stdio: 'ignore',
        env: this.#env,
        ...spawnIdentity(id),
      });
      this.#running.add(child);
      const forget = () => this.#running.delete(child);
      child.once('exit', forget);
      child.once('error', forget);
      return child;
    } catch (e) {
      return `cannot start: ${(e as Error).message}`;
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
