// MISC_CHECK (keepalived check_misc.c semantics): run misc_path each attempt, as `user` (else the script's
// own user, else global_defs script_user, else keepalived_script / root — script-identity.ts), in its own
// process group, stdin/stdout/stderr on /dev/null (so megabytes of output cost nothing and never block it).
// Exit 0 is up; with misc_dynamic an exit of 2..255 is up with weight exit-2; anything else is down. Past
// misc_timeout (default: the attempt's timeout, which the core sets to delay_loop as keepalived does) the
// attempt fails at once with code 'timeout' and the whole group gets SIGTERM, then SIGKILL 2 s later, so a
// script that forked a thousand children leaves none behind. A new attempt while the previous group is
// still dying kills that group first. docs/probes.md, "MISC_CHECK".
import type { ChildProcess } from 'node:child_process';
import type { UserRef } from '../../common/script-identity.js';
import { KILL_AFTER_TERM_MS, ownUser, type ScriptRunner, signalGroup } from '../../common/script-runner.js';
import type { Checker, ScriptSpec } from '../../config/model.js';
import type { Probe, ProbeOutcome } from '../probe.js';
import { down, ms, nowUs, up } from './outcome.js';

/** The verdict on a script's end (pure): keepalived's exit-code rules. */
export function miscVerdict(
  code: number | null,
  signal: string | null,
  dynamic: boolean,
): { ok: true; weight?: number } | { ok: false; code: string; reason: string } {
  if (code === 0) return { ok: true };
  if (code !== null && dynamic && code >= 2 && code <= 255) return { ok: true, weight: code - 2 };
  if (code !== null) return { ok: false, code: 'exit-status', reason: `exited with status ${code}` };
  return { ok: false, code: 'signal', reason: `killed by signal ${signal ?? '?'}` };
}

export interface MiscOptions {
  script: ScriptSpec;
  /** misc_timeout in µs, when configured. */
  timeoutUs?: number;
  dynamic: boolean;
  /** The checker's `user` keyword. */
  user?: UserRef;
  /** Starts the script (identity, environment, process group): one runner for every MISC_CHECK. */
  runner: ScriptRunner;
}

export function miscOptionsOf(c: Checker, runner: ScriptRunner): MiscOptions | undefined {
  if (!c.miscPath) return undefined;
  const o: MiscOptions = { script: c.miscPath, dynamic: c.miscDynamic === true, runner };
  if (c.miscTimeoutUs !== undefined) o.timeoutUs = c.miscTimeoutUs;
  if (c.user) o.user = c.user;
  return o;
}

export class MiscProbe implements Probe {
  readonly #o: MiscOptions;
  /** Groups that timed out and are being killed (pid = pgid). */
  readonly #dying = new Map<number, NodeJS.Timeout>();
  #child: ChildProcess | undefined;
  #abort: (() => void) | undefined;
  #closed = false;

  constructor(o: MiscOptions) {
    this.#o = o;
  }

  get name(): string {
    return this.#o.script.argv[0] ?? '';
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    return new Promise((resolve) => {
      if (this.#closed) return resolve(down(start, 'closed', 'probe closed'));
      for (const pid of [...this.#dying.keys()]) this.#reap(pid);
      const spec = this.#o.script;
      const child = this.#o.runner.start(spec.argv, ownUser(spec, this.#o.user));
      if (typeof child === 'string') return resolve(down(start, 'local-error', `${this.name}: ${child}`));
      this.#child = child;
      let settled = false;
      const finish = (o: ProbeOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#abort = undefined;
        resolve(o);
      };
      const timer = setTimeout(
        () => {
          this.#terminate(child);
          finish(down(start, 'timeout', `${this.name} timed out`));
        },
        ms(this.#o.timeoutUs ?? timeoutUs),
      );
      this.#abort = () => {
        this.#terminate(child);
        finish(down(start, 'closed', 'probe closed'));
      };
      child.on('error', (e) => {
        if (this.#child === child) this.#child = undefined;
        finish(down(start, 'local-error', `${this.name}: cannot start: ${e.message}`));
      });
      child.on('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        const v = miscVerdict(code, signal, this.#o.dynamic);
        const o = v.ok ? up(start, v.weight) : down(start, v.code, `${this.name} ${v.reason}`);
        finish(code === null ? o : { ...o, exitStatus: code });
      });
    });
  }

  /** SIGTERM to the group now, SIGKILL in 2 s (keepalived's escalation). */
  #terminate(child: ChildProcess): void {
    if (this.#child === child) this.#child = undefined;
    const pid = child.pid;
    if (pid === undefined || this.#dying.has(pid)) return;
    signalGroup(pid, 'SIGTERM');
    const t = setTimeout(() => this.#reap(pid), KILL_AFTER_TERM_MS);
    t.unref();
    this.#dying.set(pid, t);
  }

  #reap(pid: number): void {
    const t = this.#dying.get(pid);
    if (t) clearTimeout(t);
    this.#dying.delete(pid);
    signalGroup(pid, 'SIGKILL');
  }

  close(): void {
    this.#closed = true;
    this.#abort?.();
    for (const pid of [...this.#dying.keys()]) this.#reap(pid);
  }
}
