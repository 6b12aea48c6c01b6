// The checker core bound to the machine: probes run for the core's runProbe actions and their outcomes fed
// back with the time; one timer armed at the core's next deadline; notify scripts, FIFO lines and log lines
// performed; after every batch that changed a virtual server, the desired state handed to the data plane.
// It runs in the checker process (src/check/child.ts), never beside the VRRP engine.

import { networkInterfaces } from 'node:os';
import { monotonicUs } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { KeepalivedConfig } from '../config/model.js';
import { Mailer } from '../notify/mail/mailer.js';
import { mailSettings, realServerAlert, routerIdOf, virtualServerAlert } from '../notify/mail/message.js';
import { type FifoPlan, fifoPlan, NotifyFifos } from '../notify/notify-fifos.js';
import { ScriptLauncher } from '../notify/script-launcher.js';
import {
  type CheckAction,
  CheckerCore,
  type RealServerStatus,
  type VirtualServerView,
} from './core/index.js';
import type { Probe, ProbeFactory, ProbeOutcome } from './probe.js';
import { loadProbeFactory } from './probes/factory.js';

/** Where the checker's verdicts go: the kernel's load balancer (src/lvs), or nothing. */
export interface DataPlaneSink {
  /** The whole desired state: at start, after a reload, and for sinks without applyChanged. */
  apply(views: VirtualServerView[]): void;
  /** The views of only the virtual servers a batch of verdicts changed (the fast path). */
  applyChanged?(views: VirtualServerView[]): void;
  /** A reloaded configuration (called before the runtime hands over the views of the new one). */
  reload?(cfg: KeepalivedConfig): void;
  close(): Promise<void> | void;
}

export interface CheckerRuntimeOptions {
  log: Logger;
  /** Seeds warmup and jitter (replayable runs); default from the clock. */
  seed?: number;
  dataPlane?: DataPlaneSink;
  /** How long stop() gives the notify scripts it started (keepalived: 1 s). */
  stopScriptsGraceMs?: number;
  /** Sees each action that changes what the data plane should hold, as it is performed (status listener). */
  observe?: (a: CheckAction) => void;
  /**
   * Whether this process starts notify_fifo_script for notify_fifo: when no VRRP process runs (-C, or no
   * vrrp_instance); otherwise the VRRP process has started it (checkerFifoPlan).
   */
  globalFifoScript?: boolean;
}

/**
 * The checker's notify FIFOs: notify_fifo and lvs_notify_fifo, and the scripts reading them —
 * lvs_notify_fifo_script always, notify_fifo_script only when `globalFifoScript`. keepalived 2.2.7 starts
 * notify_fifo_script in each of its processes, so two copies share the FIFO's lines between them when both
 * run; one copy reads them all here (docs/keepalived-semantics.md, "Notify FIFOs").
 */
export function checkerFifoPlan(cfg: KeepalivedConfig, globalFifoScript: boolean): FifoPlan {
  const g = cfg.globalDefs;
  return fifoPlan(g, { fifo: g.lvsNotifyFifo, script: g.lvsNotifyFifoScript }, globalFifoScript);
}

/** Actions after which the data plane must hear the new desired state. */
const DATA_PLANE_ACTIONS = new Set<CheckAction['type']>([
  'realServerUp',
  'realServerDown',
  'realServerWeight',
  'realServerRemoved',
  'virtualServerRemoved',
  'sorryServerIn',
  'sorryServerOut',
  'quorumGained',
  'quorumLost',
]);

/** A probe with its outcome handlers, made once per probe (no closures per attempt). */
interface ProbeSlot {
  probe: Probe;
  done: (o: ProbeOutcome) => void;
  failed: (e: unknown) => void;
}

export class CheckerRuntime {
  readonly #log: Logger;
  readonly #core: CheckerCore;
  readonly #factory: ProbeFactory;
  readonly #scripts: ScriptLauncher;
  readonly #fifos: NotifyFifos;
  readonly #globalFifoScript: boolean;
  readonly #dataPlane: DataPlaneSink | undefined;
  readonly #probes = new Map<number, ProbeSlot>();
  readonly #stopGraceMs: number;
  readonly #observe: ((a: CheckAction) => void) | undefined;
  /** smtp_alert mail, sent from this process (docs/notify-mail.md); idle unless some server mails. */
  readonly #mailer: Mailer;
  #routerId: string;
  #timer: NodeJS.Timeout | null = null;
  /** The deadline (µs) the armed timer was set for. */
  #armedAt = 0;
  /** A data plane update is queued for the end of this event-loop turn (see #perform). */
  #dataPlaneQueued: NodeJS.Immediate | null = null;
  /** Virtual servers (core ids) the queued update concerns; `#dataPlaneFull`: hand over all of them. */
  #dataPlaneChanged = new Set<string>();
  #dataPlaneFull = true;
  #state: 'running' | 'stopping' | 'stopped' = 'running';
  /** The BFD sessions' states last heard (BFD_CHECK). */
  readonly #bfd = new Map<string, boolean>();
  /** Probe attempts finished since start (for status and tests). */
  attempts = 0;

  private constructor(cfg: KeepalivedConfig, factory: ProbeFactory, o: CheckerRuntimeOptions) {
    this.#log = o.log;
    this.#factory = factory;
    this.#core = new CheckerCore(cfg, { seed: o.seed ?? Date.now() >>> 0, hostHasAddress });
    const g = cfg.globalDefs;
    this.#scripts = new ScriptLauncher(o.log, g.scriptUser);
    this.#globalFifoScript = o.globalFifoScript ?? false;
    this.#fifos = new NotifyFifos(o.log);
    this.#fifos.open(checkerFifoPlan(cfg, this.#globalFifoScript));
    this.#dataPlane = o.dataPlane;
    this.#mailer = new Mailer(mailSettings(g), o.log);
    this.#routerId = routerIdOf(g);
    this.#stopGraceMs = o.stopScriptsGraceMs ?? 1000;
    this.#observe = o.observe;
  }

  static async start(cfg: KeepalivedConfig, o: CheckerRuntimeOptions): Promise<CheckerRuntime> {
    const factory = await loadProbeFactory({
      trackFiles: cfg.trackFiles,
      ...(cfg.globalDefs.scriptUser ? { scriptUser: cfg.globalDefs.scriptUser } : {}),
      ...(cfg.ssl ? { ssl: cfg.ssl } : {}),
    });
    const rt = new CheckerRuntime(cfg, factory, o);
    rt.#perform(rt.#core.start(monotonicUs()));
    return rt;
  }

  /**
   * A BFD session's state (the BFD process's, through the main process): every BFD_CHECK naming it takes
   * it as a pushed result (docs/bfd.md). Kept, so that a reload's new BFD_CHECKs hear it at once.
   */
  bfdState(name: string, up: boolean): void {
    this.#bfd.set(name, up);
    if (this.#state === 'running') this.#pushBfd(name);
  }

  #pushBfd(only?: string): void {
    const now = monotonicUs();
    for (const p of this.#core.probes()) {
      const name = p.spec.config.name;
      if (p.spec.kind !== 'BFD_CHECK' || name === undefined || (only !== undefined && name !== only))
        continue;
      const up = this.#bfd.get(name);
      if (up === undefined) continue;
      const outcome: ProbeOutcome = up
        ? { ok: true, latencyUs: 0 }
        : { ok: false, latencyUs: 0, code: 'bfd-down', reason: `BFD ${name} is down` };
      this.#perform(this.#core.pushResult(p.probeId, outcome, now));
    }
  }

  /** A VRRP instance's new state (ha_suspend). */
  vrrpState(instance: string, state: string): void {
    if (this.#state === 'running') this.#perform(this.#core.vrrpState(instance, state));
  }

  reload(cfg: KeepalivedConfig): void {
    if (this.#state !== 'running') return;
    this.#mailer.configure(mailSettings(cfg.globalDefs));
    this.#routerId = routerIdOf(cfg.globalDefs);
    // As 2.2.7's checker: the FIFOs are made again and their scripts restarted, before the reload's lines.
    this.#fifos.open(checkerFifoPlan(cfg, this.#globalFifoScript));
    this.#dataPlane?.reload?.(cfg);
    this.#dataPlaneFull = true;
    this.#perform(this.#core.reload(cfg, monotonicUs()));
    this.#pushBfd();
    // A reload may change services without any verdict (scheduler, new virtual servers): apply anyway.
    if (this.#dataPlane) this.#dataPlaneQueued ??= setImmediate(() => this.#applyDataPlane());
  }

  snapshot(): VirtualServerView[] {
    return this.#core.snapshot();
  }

  status(): RealServerStatus[] {
    return this.#core.status();
  }

  /**
   * After a fatal error in the checker process: probes, scripts and FIFOs end, but the data plane keeps what
   * it programmed, so traffic flows while the main process respawns the checker.
   */
  async abort(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopped';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#dataPlaneQueued) clearImmediate(this.#dataPlaneQueued);
    this.#dataPlaneQueued = null;
    for (const s of this.#probes.values()) s.probe.close();
    this.#probes.clear();
    this.#scripts.close();
    this.#fifos.close();
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#dataPlaneQueued) this.#applyDataPlane();
    // The stop's own alerts (omega's "Shutting down") are not sent: keepalived's checker process exits before
    // their dialogue can run (docs/notify-mail.md). Alerts already in flight get the scripts' grace.
    this.#mailer.configure(null);
    this.#perform(this.#core.stop(monotonicUs()), true);
    for (const s of this.#probes.values()) s.probe.close();
    this.#probes.clear();
    await Promise.all([
      this.#scripts.settle(this.#stopGraceMs),
      this.#fifos.settle(this.#stopGraceMs),
      this.#mailer.idle(this.#stopGraceMs),
    ]);
    this.#scripts.close();
    this.#fifos.close();
    await this.#dataPlane?.close();
    this.#state = 'stopped';
  }

  #perform(actions: CheckAction[], stopping = false): void {
    let changed = false;
    for (const a of actions) {
      if (DATA_PLANE_ACTIONS.has(a.type)) {
        changed = true;
        if ('vs' in a) this.#dataPlaneChanged.add(a.vs);
        this.#observe?.(a);
      }
      switch (a.type) {
        case 'runProbe':
          if (!stopping) this.#run(a);
          break;
        case 'closeProbe':
          this.#probes.get(a.probeId)?.probe.close();
          this.#probes.delete(a.probeId);
          break;
        case 'notify':
          this.#scripts.run(a.script.argv, a.script);
          break;
        case 'fifo':
          this.#fifos.write(a.line);
          break;
        case 'log':
          this.#log.info(a.message);
          break;
        case 'mail':
          this.#mailer.post(
            a.rs === undefined
              ? virtualServerAlert(this.#routerId, a.vs, a.up, a.body)
              : realServerAlert(this.#routerId, a.rs, a.vs, a.up, a.body),
          );
          break;
        default:
          break;
      }
    }
    if (changed && this.#dataPlane) {
      // The verdicts of one event-loop turn — each probe outcome arrives as its own batch — share one
      // apply; only the virtual servers they changed are handed over (docs/decisions/lvs-verdict-latency.md).
      // Not on stop: the core's stop view (every server shut down) is not applied, as the data plane's close()
      // decides what leaves the kernel — all of it, or nothing with -I (keepalived leaves the real servers
      // in IPVS then too; checked against keepalived 2.2.7 on IPVS, test/lvs/ipvs-vm.test.ts).
      if (!stopping) this.#dataPlaneQueued ??= setImmediate(() => this.#applyDataPlane());
    }
    if (!stopping) this.#arm();
  }

  #applyDataPlane(): void {
    if (this.#dataPlaneQueued) clearImmediate(this.#dataPlaneQueued);
    this.#dataPlaneQueued = null;
    if (this.#state === 'stopped' || !this.#dataPlane) return;
    const changed = this.#dataPlaneChanged;
    this.#dataPlaneChanged = new Set();
    try {
      if (this.#dataPlaneFull || !this.#dataPlane.applyChanged) this.#dataPlane.apply(this.#core.snapshot());
      else this.#dataPlane.applyChanged(this.#core.views(changed));
      this.#dataPlaneFull = false;
    } catch (e) {
      this.#log.error(`data plane: ${(e as Error).message}`);
    }
  }

  #run(a: Extract<CheckAction, { type: 'runProbe' }>): void {
    let slot = this.#probes.get(a.probeId);
    if (!slot) {
      const made = this.#factory(a.checker, a.target);
      if (!made.ok) {
        const o: ProbeOutcome = { ok: false, latencyUs: 0, code: 'config', reason: made.message };
        void Promise.resolve(o).then(this.#handlers(a.probeId).done);
        return;
      }
      slot = { probe: made.probe, ...this.#handlers(a.probeId) };
      this.#probes.set(a.probeId, slot);
    }
    slot.probe.run(a.timeoutUs).then(slot.done, slot.failed);
  }

  /** What a probe's outcomes do: made once per probe, not per attempt (10,000 attempts a second). */
  #handlers(probeId: number): Omit<ProbeSlot, 'probe'> {
    return {
      done: (o) => {
        this.attempts++;
        if (this.#state === 'running') this.#perform(this.#core.probeResult(probeId, o, monotonicUs()));
      },
      failed: (e) => this.#log.error(`probe ${probeId} rejected: ${(e as Error).message}`),
    };
  }

  #arm(): void {
    const at = this.#core.nextDeadline();
    if (at === null) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      return;
    }
    // Every probe verdict re-arms; the armed timer stays when it fires no later than the next deadline (an
    // early wake-up finds nothing due and re-arms), so 10,000 verdicts a second cost no timer churn.
    if (this.#timer && this.#armedAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    const delayMs = Math.max(0, Math.ceil((at - monotonicUs()) / 1000));
    this.#armedAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#state === 'running') this.#perform(this.#core.timer(monotonicUs()));
    }, delayMs);
  }
}

/** Is `address` on one of this network namespace's interfaces (ha_suspend without a VRRP instance). */
function hostHasAddress(address: string): boolean {
  const want = address.toLowerCase();
  return Object.values(networkInterfaces()).some((l) => l?.some((a) => a.address.toLowerCase() === want));
}
