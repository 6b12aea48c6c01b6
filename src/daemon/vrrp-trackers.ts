// The trackers that move VRRP priorities — vrrp_script, track_file, vrrp_track_process, and the BFD
// sessions of track_bfd (their states come from the BFD process: bfd-supervisor.ts) — wired to the
// engine: their results become engine inputs while the runtime runs (ignored while it starts or stops), their
// current readings are given (as kind and name: names are per kind) to the engine before the instances start and after a reload, and a reload
// hands each kind its new set (a changed script keeps its OK/KO state, as keepalived does).
import type { TrackerSnapshot } from '../notify/dumps.js';
import { FileTrackers } from '../track/file-trackers.js';
import { ProcessTrackers } from '../track/process-trackers.js';
import { ScriptTrackers } from '../track/script-trackers.js';
import type { VrrpAction } from '../vrrp/actions.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import type { BfdFeed } from './bfd-supervisor.js';
import type { EnginePlan } from './engine-plan/types.js';
import type { TrackerState } from './runtime-observer.js';
import type { VrrpContext } from './vrrp-context.js';

export class TrackerWiring {
  readonly #ctx: VrrpContext;
  readonly #scripts: ScriptTrackers;
  readonly #files: FileTrackers;
  readonly #processes: ProcessTrackers;
  readonly #bfd: BfdFeed | undefined;

  constructor(ctx: VrrpContext, plan: EnginePlan, bfd?: BfdFeed) {
    this.#ctx = ctx;
    this.#bfd = bfd;
    // A session's change: every instance tracking it hears it (the engine ignores names it does not track).
    bfd?.subscribe((name, up) => {
      if (ctx.state !== 'running') return;
      for (const i of ctx.plan.engine.instances)
        if (i.trackers.some((t) => t.kind === 'bfd' && t.name === name))
          ctx.log.info(`VRRP_Instance(${i.name}) Tracked BFD instance ${name} is ${up ? 'UP' : 'DOWN'}`);
      ctx.handle({ type: 'tracker', kind: 'bfd', name, up });
    });
    const log = ctx.log;
    this.#scripts = new ScriptTrackers(
      plan.scripts,
      (name, up) => {
        if (ctx.state === 'running') ctx.handle({ type: 'tracker', kind: 'script', name, up });
      },
      log,
      plan.scriptUser,
    );
    this.#files = new FileTrackers(
      plan.files,
      (name, value) => {
        if (ctx.state === 'running') ctx.handle({ type: 'trackerValue', name, value });
      },
      log,
    );
    this.#processes = new ProcessTrackers(
      plan.processes,
      (name, up) => {
        if (ctx.state === 'running') ctx.handle({ type: 'tracker', kind: 'process', name, up });
      },
      log,
    );
  }

  /** Before the instances start: the values in tracked files and processes already missing count. */
  feedAtStart(nowUs: number): void {
    const { engine, log } = this.#ctx;
    for (const { name, value } of this.#files.values()) {
      engine.handle({ type: 'trackerValue', name, value }, nowUs);
    }
    for (const { name, up, count } of this.#processes.states()) {
      log.info(`VRRP_Track_Process(${name}) ${up ? 'up' : 'down'} at startup: ${count} matching process(es)`);
      if (!up) engine.handle({ type: 'tracker', kind: 'process', name, up }, nowUs);
    }
    // BFD sessions start Down for track_bfd (keepalived): only those already Up need telling.
    for (const [name, up] of this.#bfd?.states() ?? [])
      if (up) engine.handle({ type: 'tracker', kind: 'bfd', name, up }, nowUs);
  }

  /** The vrrp_scripts' OK/KO states and the tracked files' values, for the data dump (src/notify/dumps.ts). */
  snapshot(): TrackerSnapshot {
    return {
      scripts: this.#scripts.states(),
      files: this.#files.values(),
      processes: this.#processes.states(),
      bfds: [...(this.#bfd?.states() ?? [])].map(([name, up]) => ({ name, up })),
    };
  }

  /** Every script, process and file tracker's latest reading (the status listener's). */
  states(): TrackerState[] {
    return [
      ...this.#scripts.states().map(({ name, up, state }) => ({ name, kind: 'script' as const, up, state })),
      ...this.#processes.states().map(({ name, up }) => ({ name, kind: 'process' as const, up })),
      ...this.#files.values().map(({ name, value }) => ({ name, kind: 'file' as const, value })),
    ];
  }

  start(): void {
    this.#scripts.start();
    this.#files.start();
    this.#processes.start();
  }

  stop(): void {
    this.#scripts.stop();
    this.#files.stop();
    this.#processes.stop();
  }

  /**
   * A reload's new sets: new, changed and dropped trackers are started, restarted and stopped; then every
   * instance hears the current state of each one it tracks — one that starts tracking a script already
   * failing must not wait for that script's next change to learn it (the engine ignores a reading it has).
   */
  reconfigure(
    plan: Pick<EnginePlan, 'scripts' | 'files' | 'processes'>,
    nowUs: number,
    out: VrrpAction[],
  ): void {
    const engine = this.#ctx.engine;
    this.#scripts.reconfigure(plan.scripts);
    this.#files.reconfigure(plan.files);
    this.#processes.reconfigure(plan.processes);
    for (const { name, up } of this.#scripts.states())
      out.push(...engine.handle({ type: 'tracker', kind: 'script', name, up }, nowUs));
    for (const { name, up } of this.#processes.states())
      out.push(...engine.handle({ type: 'tracker', kind: 'process', name, up }, nowUs));
    for (const { name, value } of this.#files.values())
      out.push(...engine.handle({ type: 'trackerValue', name, value }, nowUs));
    for (const [name, up] of this.#bfd?.states() ?? [])
      out.push(...engine.handle({ type: 'tracker', kind: 'bfd', name, up }, nowUs));
  }

  /** An instance added by a reload: the current values of tracked files it shares with running instances. */
  feedNewInstance(p: VrrpInstanceParams, nowUs: number, out: VrrpAction[]): void {
    const engine = this.#ctx.engine;
    for (const [name, up] of this.#bfd?.states() ?? []) {
      if (!p.trackers.some((t) => t.name === name && t.kind === 'bfd')) continue;
      const event = { type: 'tracker' as const, kind: 'bfd' as const, name, up };
      out.push(...engine.handle({ type: 'instance', instance: p.name, event }, nowUs));
    }
    for (const f of this.#files.values()) {
      if (!p.trackers.some((t) => t.kind === 'file' && t.name === f.name)) continue;
      const event = { type: 'trackerValue' as const, name: f.name, value: f.value };
      out.push(...engine.handle({ type: 'instance', instance: p.name, event }, nowUs));
    }
  }
}
