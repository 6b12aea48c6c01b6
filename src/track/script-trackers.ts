// vrrp_script checks (keepalived's, docs/keepalived-semantics.md 'vrrp_script'; man5): each script runs every
// `interval`; exit status 0 is a success, anything else (or running past `timeout`) a failure. `rise`
// consecutive successes make a failed script OK, `fall` consecutive failures make an OK script KO; a script
// starts OK unless `init_fail`. A run still going at the next interval makes that interval skip. A timed-out
// run gets SIGTERM, then SIGKILL 2 s later. Every OK/KO change is reported by name; the engine applies the
// weights (priority.ts). A reload hands over the new set of scripts (reconfigure).
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../common/logger.js';
import { killScriptGroup, type UserRef } from '../common/script-identity.js';
import { KILL_AFTER_TERM_MS, ownUser, ScriptRunner, terminateScript } from '../common/script-runner.js';
import type { VrrpScript } from '../config/model.js';
import { runnableArgv } from '../config/script-security.js';
import type { ScriptState } from '../daemon/runtime-observer.js';

/** The OK/KO rule of one script, pure: feed results, read the state. */
export class ScriptVerdict {
  readonly rise: number;
  readonly fall: number;
  #up: boolean;
  #streak = 0;

  constructor(rise: number, fall: number, initiallyUp: boolean) {
    this.rise = Math.max(1, rise);
    this.fall = Math.max(1, fall);
    this.#up = initiallyUp;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Records one run; returns true when the state changed. */
  record(success: boolean): boolean {
    if (success === this.#up) {
      this.#streak = 0;
      return false;
    }
    this.#streak++;
    if (this.#streak < (success ? this.rise : this.fall)) return false;
    this.#up = success;
    this.#streak = 0;
    return true;
  }
}

interface Running {
  script: VrrpScript;
  verdict: ScriptVerdict;
  timer: NodeJS.Timeout | null;
  child: ChildProcess | null;
  /** Replaced or dropped by a reload: its run in flight, if any, reports nothing. */
  retired?: boolean;
  /** When the run in flight timed out and was sent SIGTERM (ms; 0: it has not). */
  termAtMs?: number;
}

function runState(r: Running, nowMs: number): ScriptState {
  if (!r.child) return 'idle';
  if (!r.termAtMs) return 'running';
  return nowMs - r.termAtMs < KILL_AFTER_TERM_MS ? 'requested termination' : 'forcing termination';
}

/** A script with a command that parsed: the only kind that runs. */
function runnable(s: VrrpScript): boolean {
  return s.script !== undefined && !s.invalid;
}

function fresh(script: VrrpScript, up: boolean): Running {
  return { script, verdict: new ScriptVerdict(script.rise, script.fall, up), timer: null, child: null };
}

/** What decides how a script runs — not its weight or reverse, which belong to the instances tracking it. */
function runKey(s: VrrpScript): string {
  const spec = s.script && [s.script.argv, s.script.user, s.script.group]; // not where it was written
  return JSON.stringify([spec, s.intervalUs, s.timeoutUs, s.rise, s.fall, s.user, s.initFail]);
}

export class ScriptTrackers {
  readonly #log: Logger;
  readonly #onChange: (name: string, up: boolean) => void;
  readonly #running = new Map<string, Running>();
  readonly #runner: ScriptRunner;
  #stopped = false;
  #started = false;

  constructor(
    scripts: VrrpScript[],
    onChange: (name: string, up: boolean) => void,
    log: Logger,
    scriptUser?: UserRef,
  ) {
    this.#runner = new ScriptRunner(scriptUser);
    this.#log = log;
    this.#onChange = onChange;
    for (const s of scripts.filter(runnable)) this.#running.set(s.name, fresh(s, !s.initFail));
  }

  /** Every script's OK/KO state now, and whether a run is in flight (keepalived's script state). */
  states(): { name: string; up: boolean; state: ScriptState }[] {
    const now = Date.now();
    return [...this.#running.values()].map((r) => ({
      name: r.script.name,
      up: r.verdict.up,
      state: runState(r, now),
    }));
  }

  /**
   * A reload's scripts (keepalived's clear_diff_script): a script gone from the configuration is stopped (its
   * run in flight gets SIGTERM); one whose command, interval, timeout, rise, fall, user or init_fail changed is
   * stopped and started again with the new definition, keeping its OK/KO state; a new one starts, OK unless
   * init_fail; an unchanged one runs on undisturbed. States do not change here (the new runs begin on the next
   * turn of the event loop): the caller gives the engine states() for the instances that start tracking one.
   */
  reconfigure(scripts: VrrpScript[]): void {
    if (this.#stopped) return;
    const next = new Map<string, Running>();
    for (const s of scripts.filter(runnable)) {
      const old = this.#running.get(s.name);
      if (old && runKey(old.script) === runKey(s)) {
        old.script = s;
        next.set(s.name, old);
      } else next.set(s.name, fresh(s, old ? old.verdict.up : !s.initFail));
    }
    for (const [name, r] of this.#running) {
      if (next.get(name) === r) continue;
      r.retired = true;
      if (r.timer) clearTimeout(r.timer);
      r.timer = null;
      if (r.child) killScriptGroup(r.child, 'SIGTERM');
    }
    const kept = new Set(this.#running.values());
    this.#running.clear();
    for (const [name, r] of next) this.#running.set(name, r);
    // After the reload that called this has finished: a run that fails at once (an unknown user) reports
    // synchronously, and the engine must not hear it half-way through applying the new configuration.
    if (this.#started) for (const r of next.values()) if (!kept.has(r)) setImmediate(() => this.#run(r));
  }

  /** The state a tracker starts in (what the engine assumes before any event). */
  initiallyUp(name: string): boolean {
    return !(this.#running.get(name)?.script.initFail ?? false);
  }

  start(): void {
    this.#started = true;
    for (const r of this.#running.values()) this.#run(r);
  }

  #schedule(r: Running): void {
    if (this.#stopped || r.retired) return;
    r.timer = setTimeout(() => this.#run(r), Math.max(1, r.script.intervalUs / 1000));
  }

  #run(r: Running): void {
    r.timer = null;
    if (this.#stopped || r.retired) return;
    this.#schedule(r);
    // Still running from the previous interval: skip this one (keepalived does the same).
    if (r.child) return;
    const spec = r.script.script!;
    if (!spec.argv[0]) return;
    const child = this.#runner.start(runnableArgv(spec.argv), ownUser(spec, r.script.user));
    if (typeof child === 'string') {
      this.#result(r, false, child);
      return;
    }
    r.child = child;
    r.termAtMs = 0;
    let timedOut = false;
    const timeoutMs = Math.max(1, (r.script.timeoutUs ?? r.script.intervalUs) / 1000);
    const killer = setTimeout(() => {
      timedOut = true;
      r.termAtMs = Date.now();
      terminateScript(child);
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(killer);
      r.child = null;
      this.#result(r, false, `cannot start: ${e.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      r.child = null;
      if (timedOut) this.#result(r, false, 'timed out');
      else if (code === 0) this.#result(r, true, 'succeeded');
      else this.#result(r, false, signal ? `killed by ${signal}` : `exited with status ${code}`);
    });
  }

  #result(r: Running, success: boolean, detail: string): void {
    if (this.#stopped || r.retired) return;
    if (!r.verdict.record(success)) return;
    // keepalived's wording: "VRRP_Script(chk) succeeded" / "VRRP_Script(chk) failed (exited with status 1)".
    this.#log.info(
      r.verdict.up
        ? `VRRP_Script(${r.script.name}) succeeded`
        : `VRRP_Script(${r.script.name}) failed (${detail})`,
    );
    this.#onChange(r.script.name, r.verdict.up);
  }

  stop(): void {
    this.#stopped = true;
    for (const r of this.#running.values()) {
      if (r.timer) clearTimeout(r.timer);
      if (r.child) killScriptGroup(r.child, 'SIGTERM');
    }
  }
}
