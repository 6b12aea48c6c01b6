// The VRRP engine bound to Linux. Inputs: validated adverts from the sockets, link changes and address
// deletions from rtnetlink, and ONE timer armed at the engine's next deadline — each fed to the engine with
// the current monotonic time in µs. Outputs: the engine's actions, performed in order: adverts on the wire,
// VIPs through rtnetlink, GARP/NA, notify scripts and FIFO lines, counters, log lines.
//
// Nothing on the advert path awaits: sends are synchronous, address changes go to a serial netlink queue,
// scripts are spawned and forgotten.
import type { KeepalivedConfig } from '../config/model.js';
import { InputWaiting } from '../net/input-waiting.js';
import type { NetError } from '../net/net-error.js';
import { Netlink, type NetlinkEvent, NetlinkMonitor } from '../net/netlink.js';
import { type DumpedInstance, type DumpFlags, dumpFlagsOf } from '../notify/dumps.js';
import { Notifier } from '../notify/notifier.js';
import { FileTrackers } from '../track/file-trackers.js';
import { ProcessTrackers } from '../track/process-trackers.js';
import { ScriptTrackers } from '../track/script-trackers.js';
import type { FsmCounterName, VrrpAction } from '../vrrp/actions.js';
import type { RxMeta, VrrpAdvert } from '../vrrp/advert.js';
import { AuthType, PRIORITY_OWNER } from '../vrrp/advert.js';
import type { VrrpInstance } from '../vrrp/fsm.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import { type EngineEvent, VrrpEngine } from '../vrrp/instance-set.js';
import { newRxStats } from '../vrrp/stats.js';
import type { SyncGroupParams } from '../vrrp/sync-group.js';
import { Announcers } from './announcers.js';
import { monotonicUs } from './clock.js';
import { DeadlineTimer, type KeenTimeline } from './deadline-timer.js';
import { buildEnginePlan, type EnginePlan } from './engine-config.js';
import { faultPoint } from './fault-injection.js';
import { InterfaceTable } from './interface-table.js';
import { type Logger, rateLimited } from './logger.js';
import { matchReload } from './reload-match.js';
import type { RuntimeObserver, TrackerState } from './runtime-observer.js';
import { yieldCpuWhileStopping } from './stopping-priority.js';
import { StrictFirewall } from './strict-firewall.js';
import { TakeoverBoost } from './takeover-boost.js';
import { VipInstaller } from './vip-installer.js';
import { Vmacs, vmacSpecs } from './vmac.js';
import { VrrpSocketPool } from './vrrp-sockets.js';
import { REHEARSAL_MIN_LEFT_US, rehearseInstanceTakeover, warmUpTakeover } from './warm-up.js';

export interface RuntimeOptions {
  log: Logger;
  /** -V (--dont-release-vrrp): leave the VIPs in place on stop. */
  keepVipsOnStop?: boolean;
  /** How long startup waits for IPv6 link-local sources to finish DAD (default 5 s). */
  sourceWaitMs?: number;
  /** Told each instance's new state (the checker process follows them for ha_suspend). */
  onStateChange?: (instance: string, state: string) => void;
  /** The status listener's feed (runtime-observer.ts). */
  observer?: RuntimeObserver;
}

/**
 * The interface still has an address of its own to send from: an IPv4 address that is not one of our VIPs, or
 * an IPv6 link-local (a tentative one counts: it becomes usable when DAD ends).
 */
function hasOwnAddress(
  table: InterfaceTable,
  ifname: string,
  family: 4 | 6,
  vips: ReadonlySet<string>,
): boolean {
  const list = table.addresses(ifname, family);
  if (family === 4) return list.some((a) => !vips.has(a.address));
  return list.some((a) => a.scope === RT_SCOPE_LINK);
}
const RT_SCOPE_LINK = 253;

export type RuntimeStart = { ok: true; runtime: VrrpRuntime } | { ok: false; errors: string[] };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The VIPs of a log line: the first 16 by name, then how many more. */
function vipList(vips: readonly { address: string; prefixLen: number }[]): string {
  const named = vips.slice(0, 16).map((v) => `${v.address}/${v.prefixLen}`);
  return vips.length > 16 ? `${named.join(', ')} and ${vips.length - 16} more` : named.join(', ') || 'none';
}

const NO_DUMP_FLAGS: DumpFlags = {
  strictMode: false,
  skipCheckAdvAddr: false,
  promoteSecondaries: false,
  smtpAlert: false,
  vmacIfname: '',
};

const withNotifyDeleted = (cfg: KeepalivedConfig): Set<string> =>
  new Set(cfg.vrrpInstances.filter((i) => i.notify.deleted !== undefined).map((i) => i.name));

const zeroFsmStats = (): Record<FsmCounterName, number> => ({
  BecomeMaster: 0,
  ReleasedMaster: 0,
  SentAdvertisements: 0,
  SentPriZeroPackets: 0,
});

/** Owner name of static_ipaddress / static_routes / static_rules in the installer (not an instance name). */
const STATIC_OWNER = '(static)';
/**
 * How long a stopping daemon waits for its notify scripts (notify_stop above all) before it ends them with
 * SIGTERM, as keepalived gives its STOP scripts a second.
 */
const STOP_SCRIPTS_GRACE_MS = 1000;

export class VrrpRuntime {
  readonly #log: Logger;
  readonly #nl: Netlink;
  readonly #table: InterfaceTable;
  #plan: EnginePlan;
  /** The keen deadline timeline last logged (-D). */
  #keenLogged: KeenTimeline | null = null;
  readonly #engine: VrrpEngine;
  readonly #pool: VrrpSocketPool;
  readonly #vips: VipInstaller;
  /** no_accept / vrrp_strict: drops traffic to a non-accepting master's VIPs (strict-firewall.ts). */
  readonly #firewall: StrictFirewall;
  readonly #announcers: Announcers;
  readonly #notifier: Notifier;
  readonly #timer: DeadlineTimer;
  readonly #scripts: ScriptTrackers;
  readonly #processes: ProcessTrackers;
  readonly #files: FileTrackers;
  readonly #keepVipsOnStop: boolean;
  #onStateChange: ((instance: string, state: string) => void) | undefined;
  #observer: RuntimeObserver | undefined;
  readonly #fsmStats = new Map<string, Record<FsmCounterName, number>>();
  /** Interfaces the engine cares about (instance interfaces, tracked interfaces, VIP devices) → last state. */
  readonly #linkUp = new Map<string, boolean>();
  /** Last send error code per instance, so a persisting failure is logged once. */
  readonly #sendError = new Map<string, string>();
  /** Instances with `notify_deleted`: removed by a reload, they notify DELETED instead of FAULT. */
  #notifyDeleted = new Set<string>();
  /** For the JSON dump: configuration flags the engine does not carry, and when each instance last moved. */
  #dumpFlags = new Map<string, DumpFlags>();
  readonly #lastTransitionS = new Map<string, number>();
  /** The time of the engine's latest input (µs): inputs never go back before it. */
  #lastEngineUs = 0;
  /** The reload in progress, if any (reloads are serialised). */
  #reloading: Promise<void> = Promise.resolve();
  /** Parameters of an instance being removed, while its last actions are performed (the engine forgot it). */
  readonly #retired = new Map<string, VrrpInstanceParams>();
  #monitor: NetlinkMonitor | null = null;
  /** use_vmac links this run set up (deleted on stop). */
  #vmacs: Vmacs | null = null;
  #delay: NodeJS.Timeout | null = null;
  #state: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';
  /** Real-time priority for a takeover's writes (takeover-boost.ts); off until start() knows the config. */
  #boost = new TakeoverBoost(true, () => {});

  private constructor(log: Logger, nl: Netlink, table: InterfaceTable, plan: EnginePlan, keepVips: boolean) {
    this.#log = log;
    this.#nl = nl;
    this.#table = table;
    this.#plan = plan;
    this.#keepVipsOnStop = keepVips;
    this.#engine = new VrrpEngine(plan.engine);
    const dropped = rateLimited((m) => log.detail(m));
    // An address-list mismatch is logged without -D, in keepalived's words (docs/hostile-network.md).
    const droppedForAddresses = rateLimited((m) => log.info(m));
    this.#pool = new VrrpSocketPool(
      (instance, advert, meta) => this.#onAdvert(instance, advert, meta),
      (instance, r) =>
        r.counter === 'AddressListErrors'
          ? droppedForAddresses(`${instance}/${r.counter}`, `(${instance}) ${r.reason}`)
          : dropped(`${instance}/${r.counter}`, `(${instance}) dropped advert: ${r.counter}: ${r.reason}`),
      (e) => this.#log.error(e.message),
      (instance) => this.#engine.instance(instance)?.followedMaster ?? null,
    );
    this.#vips = new VipInstaller(nl, table, log);
    this.#firewall = new StrictFirewall(log);
    this.#announcers = new Announcers(table, log, plan.pacing);
    const scripts = new Map([...plan.wiring].map(([name, w]) => [name, w.notify]));
    this.#notifier = new Notifier(
      scripts,
      plan.groupNotify,
      plan.notifyFifos,
      log,
      plan.fifoScripts,
      plan.scriptUser,
    );
    const waiting = new InputWaiting(() => this.#pool.fds());
    this.#timer = new DeadlineTimer((nowUs) => this.#onTimer(nowUs), {
      inputWaiting: () => waiting.any(),
      // Ahead of a Master_Down deadline: build what the takeover writes (#prepareTakeover) and run the
      // takeover once on a scratch engine, so that at the deadline neither encoding nor cold code stands
      // between the timer and the wire (docs/decisions/takeover-warm-up.md).
      onKeenWake: (leftUs) => {
        const deadlineUs = monotonicUs() + leftUs;
        const next = this.#engine.nextDeadline();
        const inst = next && this.#engine.instance(next.instance);
        if (!inst) return;
        this.#prepareTakeover(inst);
        // Judged after the preparation, which itself takes 0.1–1 ms when cold.
        if (deadlineUs - monotonicUs() > REHEARSAL_MIN_LEFT_US) rehearseInstanceTakeover(inst.params);
      },
      // From the early wake to the takeover's last GARP at real-time priority (takeover-boost.ts): the wake
      // at the end of the sleep, the wait on the CPU and the takeover's first write are then not queued
      // behind whatever else runs on this host. The takeover's own batch ends it after its last GARP
      // (#performIo), the phase's end otherwise (the deadline moved: the master is alive after all).
      onKeenPhase: (active) => (active ? this.#boost.enter() : this.#boost.leave()),
    });
    this.#scripts = new ScriptTrackers(
      plan.scripts,
      (name, up) => {
        if (this.#state === 'running') this.#handle({ type: 'tracker', name, up });
      },
      log,
      plan.scriptUser,
    );
    this.#files = new FileTrackers(
      plan.files,
      (name, value) => {
        if (this.#state === 'running') this.#handle({ type: 'trackerValue', name, value });
      },
      log,
    );
    this.#processes = new ProcessTrackers(
      plan.processes,
      (name, up) => {
        if (this.#state === 'running') this.#handle({ type: 'tracker', name, up });
      },
      log,
    );
    for (const p of plan.engine.instances) this.#fsmStats.set(p.name, zeroFsmStats());
  }

  /** Opens everything, then starts every instance. Never throws; failures come back as log-ready lines. */
  static async start(cfg: KeepalivedConfig, opts: RuntimeOptions): Promise<RuntimeStart> {
    const log = opts.log;
    const nlr = Netlink.open();
    if (!nlr.ok) return { ok: false, errors: [nlr.error.message] };
    const nl = nlr.value;
    // The monitor opens before the listing, so no link change falls between the two: events that arrive
    // while the listing runs are replayed onto the table it returns.
    const early: NetlinkEvent[] = [];
    let sink: (ev: NetlinkEvent) => void = (ev) => early.push(ev);
    let monitorError: (e: NetError) => void = (e) =>
      log.error(`${e.message} (link events may have been lost)`);
    const mon = NetlinkMonitor.open(
      (ev) => sink(ev),
      (e) => monitorError(e),
    );
    if (!mon.ok) {
      nl.close();
      return { ok: false, errors: [mon.error.message] };
    }
    let vmacs: Vmacs | null = null;
    const fail = async (errors: string[]): Promise<RuntimeStart> => {
      await vmacs?.tearDown();
      mon.value.close();
      nl.close();
      return { ok: false, errors };
    };
    // use_vmac links first: the listing below must include them (the instances run on them).
    const vm = await Vmacs.setUp(nl, vmacSpecs(cfg), log);
    if (!vm.ok) return fail([vm.message]);
    vmacs = vm.value;
    // An IPv6 link-local source is unusable while DAD runs (just after link up): wait for it, briefly.
    const deadline = Date.now() + (opts.sourceWaitMs ?? 5000);
    let table: InterfaceTable;
    let plan: EnginePlan;
    for (;;) {
      // Events from before this listing are in it; the ones that come while it runs are applied after it.
      early.length = 0;
      const t = await InterfaceTable.load(nl);
      if (!t.ok) return fail([t.error.message]);
      table = t.value;
      for (const ev of early) table.apply(ev);
      plan = buildEnginePlan(cfg, table);
      const waiting = plan.errors.some((e) => e.includes('link-local'));
      if (!waiting || Date.now() >= deadline) break;
      await sleep(100);
    }
    if (plan.errors.length > 0) return fail(plan.errors);
    if (plan.engine.instances.length === 0) return fail(['no VRRP instance to run']);
    for (const w of plan.warnings) log.warn(w);

    let rt: VrrpRuntime;
    try {
      rt = new VrrpRuntime(log, nl, table, plan, opts.keepVipsOnStop ?? false);
    } catch (e) {
      return fail([(e as Error).message]);
    }
    rt.#monitor = mon.value;
    rt.#onStateChange = opts.onStateChange;
    rt.#observer = opts.observer;
    // Process settings are applied once, at start (run.ts): a reload does not turn the boost on or off.
    rt.#boost = new TakeoverBoost(cfg.globalDefs.vrrpProcess.rtPriority !== undefined, (m) => log.info(m));
    rt.#notifyDeleted = withNotifyDeleted(cfg);
    rt.#dumpFlags = dumpFlagsOf(cfg, new Map(vmacSpecs(cfg).map((v) => [v.instance, v.name])));
    rt.#vmacs = vmacs;
    const runtime = rt;
    sink = (ev) => runtime.#onNetlink(ev);
    monitorError = (e) => {
      log.error(`${e.message} (link events may have been lost; re-reading links and addresses)`);
      void runtime.#resync();
    };
    const opened = rt.#open();
    if (opened.length > 0) {
      await vmacs.tearDown();
      rt.#closeAll();
      return { ok: false, errors: opened };
    }
    if (plan.startupDelayUs > 0) {
      log.info(`Delaying startup for ${plan.startupDelayUs / 1e6} seconds (vrrp_startup_delay)`);
      rt.#delay = setTimeout(() => rt.#begin(), plan.startupDelayUs / 1000);
    } else rt.#begin();
    return { ok: true, runtime: rt };
  }

  #open(): string[] {
    const errors: string[] = [];
    for (const p of this.#plan.engine.instances) {
      const w = this.#plan.wiring.get(p.name)!;
      const r = this.#pool.add(w, p.primaryAddress);
      if (!r.ok) errors.push(`(${p.name}) ${r.error.message}`);
    }
    return errors;
  }

  #begin(): void {
    this.#delay = null;
    const now = this.#engineTime();
    for (const p of this.#plan.engine.instances) {
      const names = [p.interface, ...p.trackers.filter((t) => t.kind === 'interface').map((t) => t.name)];
      for (const v of [...p.vips, ...p.excludedVips]) if (v.dev) names.push(v.dev);
      for (const n of names) this.#linkUp.set(n, this.#table.isUp(n));
    }
    // Links already down count before the instances start, so they start in FAULT (keepalived does the same);
    // so do the values in tracked files.
    for (const [ifname, up] of this.#linkUp) {
      if (!up) this.#engine.handle({ type: 'link', ifname, up: false }, now);
    }
    for (const { name, value } of this.#files.values()) {
      this.#engine.handle({ type: 'trackerValue', name, value }, now);
    }
    for (const { name, up, count } of this.#processes.states()) {
      this.#log.info(
        `VRRP_Track_Process(${name}) ${up ? 'up' : 'down'} at startup: ${count} matching process(es)`,
      );
      if (!up) this.#engine.handle({ type: 'tracker', name, up }, now);
    }
    // keepalived starts by removing its VIPs (a previous run may have died as master): a backup must not
    // hold them. Only addresses actually present are touched.
    for (const p of this.#plan.engine.instances) {
      const present = [...p.vips, ...p.excludedVips].filter((v) =>
        this.#table.addresses(v.dev ?? p.interface).some((a) => a.address === v.address),
      );
      if (present.length > 0) {
        this.#log.info(`(${p.name}) removing VIPs left from an earlier run`);
        this.#vips.remove(p.name, present, p.interface);
      }
    }
    // Static addresses, routes and rules: installed once, whatever the VRRP states (keepalived does so first).
    const st = this.#plan.statics;
    this.#vips.add(STATIC_OWNER, st.addresses, 'lo');
    this.#vips.routes(STATIC_OWNER, 'route', st.routes, true);
    this.#vips.routes(STATIC_OWNER, 'rule', st.rules, true);
    // The path from a deadline to the engine, compiled now (deadline-timer.ts warmFirePath): #onTimer ignores
    // this call, as the state is not 'running' yet. Likewise the boost's exit, run right after a takeover's
    // last GARP.
    this.#timer.warmFirePath();
    this.#boost.leave();
    this.#state = 'running';
    warmUpTakeover(this.#engine.config);
    this.#handle({ type: 'startAll' });
    for (const inst of this.#engine.instances()) this.#prepareTakeover(inst);
    this.#scripts.start();
    this.#files.start();
    this.#processes.start();
  }

  // ===== engine I/O =====

  /**
   * Builds what a takeover of `inst` writes — its advert, its VIPs' rtnetlink requests, its GARP/NA frames
   * and their socket — and runs the advert's send, the VIP install and the announcement once without
   * anything leaving, at startup and again ahead of each Master_Down deadline (cache hits unless something
   * changed): the takeover itself only writes, through code that has run
   * (docs/decisions/takeover-warm-up.md).
   */
  #prepareTakeover(inst: VrrpInstance): void {
    const p = inst.params;
    this.#pool.send(inst.name, inst.advertToSend(), true);
    const vips = [...p.vips, ...p.excludedVips];
    this.#vips.add(inst.name, vips, p.interface, true);
    const addresses = vips.map((v) => v.address);
    this.#announcers.announce(inst.name, addresses, 1, vips, p.interface, true);
  }

  /** `atUs`: when the event happened, if earlier than now (a packet's kernel arrival time). */
  #handle(ev: EngineEvent, atUs?: number): void {
    // Tracker and link events are what move effective priorities: keepalived logs each change.
    const before =
      ev.type === 'tracker' || ev.type === 'trackerValue' || ev.type === 'link'
        ? this.#engine.instances().map((i) => i.effectivePriority)
        : null;
    const actions = this.#engine.handle(ev, this.#engineTime(atUs));
    if (before) {
      const after = this.#engine.instances();
      this.#log.held(() => {
        for (const [k, inst] of after.entries()) {
          const was = before[k];
          if (was !== undefined && was !== inst.effectivePriority)
            this.#log.info(
              `(${inst.name}) Changing effective priority from ${was} to ${inst.effectivePriority}`,
            );
        }
        this.#performIo(actions);
      });
    } else this.#perform(actions);
    this.#rearm();
  }

  #onTimer(nowUs: number): void {
    if (this.#state !== 'running') return;
    faultPoint('timer');
    // A keen deadline this firing met (the timer set its timeline just before calling us): its -D line
    // says when the writes were done, so only then is the clock read after them — not on every advert.
    const k = this.#timer.lastKeen;
    const keen = k !== null && k !== this.#keenLogged ? k : null;
    this.#observer?.timerFired(this.#engine.nextDeadline(), nowUs);
    this.#perform(this.#engine.handleTimers(this.#engineTime(nowUs)));
    const writtenUs = keen === null ? 0 : monotonicUs();
    this.#rearm();
    if (keen !== null) {
      this.#keenLogged = keen;
      const ms = (us: number | null) => (us === null ? '-' : `${(us / 1000).toFixed(3)} ms`);
      // "written": the firing's whole batch done — adverts, VIPs, GARPs handed to the kernel, then the
      // bookkeeping and notify spawns (the deadline was nowUs − firedUs).
      this.#log.detail(
        `Master_Down deadline met: early wake ${ms(keen.earlyWakeUs)}, ready ${ms(keen.preparedUs)}, ` +
          `last wake ${ms(keen.lastWakeUs)}, fired ${ms(keen.firedUs)}, ` +
          `written ${ms(writtenUs - (nowUs - keen.firedUs))}`,
      );
    }
  }

  /**
   * The time given to the engine: `atUs` (default now), never before the time of the previous input — the
   * engine's clock must not run backwards, which an arrival stamp older than a timer already fired would do.
   */
  #engineTime(atUs?: number): number {
    const t = Math.max(atUs ?? monotonicUs(), this.#lastEngineUs);
    this.#lastEngineUs = t;
    return t;
  }

  #rearm(): void {
    if (this.#state !== 'running') return this.#timer.cancel();
    const next = this.#engine.nextDeadline();
    // A Master_Down deadline is met keenly (deadline-timer.ts): it only runs out when a master has died.
    this.#timer.arm(next?.atUs ?? null, next?.timer === 'masterDown');
  }

  #onAdvert(instance: string, advert: VrrpAdvert, meta: RxMeta): void {
    if (this.#state !== 'running') return;
    faultPoint('advert');
    // Timers run from the advert's arrival (RFC 9568 §6.4.2 "when an ADVERTISEMENT is received"): time the
    // packet spent queued behind a busy event loop must not lengthen the Master_Down_Interval.
    this.#handle({ type: 'instance', instance, event: { type: 'advertRx', advert, meta } }, meta.arrivalUs);
  }

  #perform(actions: VrrpAction[]): void {
    // The log lines go out after the adverts, addresses and announcements (Logger.held).
    this.#log.held(() => this.#performIo(actions));
  }

  #performIo(actions: VrrpAction[]): void {
    // A takeover writes its adverts, VIPs and GARPs at real-time priority, so that nothing its advert wakes on
    // this host preempts it half-way (takeover-boost.ts): up to the last GARP of the batch (a sync group's
    // instances come one after the other); the rest — notify scripts, logs — at normal priority.
    // Other batches leave the boost as it is (raised only in a keen deadline's phase, which ends it).
    if (!actions.some((a) => a.type === 'addVips')) {
      for (const a of actions) this.#performAction(a);
      return;
    }
    let lastWrite = -1;
    for (const [k, a] of actions.entries()) if (a.type === 'addVips' || a.type === 'sendGarp') lastWrite = k;
    this.#boost.enter();
    try {
      for (const [k, a] of actions.entries()) {
        this.#performAction(a);
        if (k === lastWrite) this.#boost.leave();
      }
    } finally {
      this.#boost.leave();
    }
  }

  #performAction(a: VrrpAction): void {
    switch (a.type) {
      case 'sendAdvert': {
        const r = this.#pool.send(a.instance, a.advert);
        if (r.ok) this.#sendError.delete(a.instance);
        else if (this.#sendError.get(a.instance) !== r.error.code) {
          this.#sendError.set(a.instance, r.error.code);
          this.#log.error(`(${a.instance}) cannot send advert: ${r.error.message}`);
        }
        break;
      }
      case 'addVips': {
        const p = this.#engine.instance(a.instance)!.params;
        // keepalived's "setting VIPs." (and "removing VIPs."), with the addresses named (held: written after).
        this.#log.info(`(${a.instance}) setting VIPs: ${vipList(a.vips)}`);
        this.#vips.add(a.instance, a.vips, p.interface);
        // keepalived's order: addresses, then routes (which may use them as source), then rules.
        this.#vips.routes(a.instance, 'route', a.routes, true);
        this.#vips.routes(a.instance, 'rule', a.rules, true);
        if (!p.accept)
          this.#firewall.drop(
            a.instance,
            a.vips.map((v) => ({ address: v.address, ifname: v.dev ?? p.interface })),
          );
        break;
      }
      case 'removeVips': {
        if (this.#state === 'stopping' && this.#keepVipsOnStop) break;
        const p = (this.#engine.instance(a.instance)?.params ?? this.#retired.get(a.instance))!;
        this.#log.info(`(${a.instance}) removing VIPs: ${vipList(a.vips)}`);
        this.#vips.routes(a.instance, 'rule', a.rules, false);
        this.#vips.routes(a.instance, 'route', a.routes, false);
        this.#vips.remove(a.instance, a.vips, p.interface);
        this.#firewall.undrop(a.instance);
        break;
      }
      case 'sendGarp': {
        const p = this.#engine.instance(a.instance)!.params;
        // The kernel holds the addresses already (the engine puts addVips first, and rtnetlink applied each
        // request inside the sendmsg that wrote it — vip-installer.ts), so a client that follows the GARP at
        // once finds the VIP there.
        this.#announcers.announce(
          a.instance,
          a.addresses,
          a.repeat,
          [...p.vips, ...p.excludedVips],
          p.interface,
        );
        this.#observer?.announced(a.instance);
        break;
      }
      case 'notify':
        if (a.scope === 'GROUP')
          this.#log.info(`VRRP_Group(${a.name}) Syncing instances to ${a.state} state`);
        this.#notifier.notify(a);
        break;
      case 'stat': {
        const s = this.#fsmStats.get(a.instance);
        if (s) s[a.counter]++;
        break;
      }
      case 'stateChange':
        this.#lastTransitionS.set(a.instance, Date.now() / 1000);
        this.#onStateChange?.(a.instance, a.to);
        this.#observer?.transition(a.instance, a.from, a.to, a.reason);
        // keepalived's wording, which operators and our tests grep for; the reasons keepalived itself logs
        // ("Backup received priority 0 advertisement", "Master received advert from …") come first.
        if (/^(Backup|Master) received /.test(a.reason)) this.#log.info(`(${a.instance}) ${a.reason}`);
        this.#log.info(`(${a.instance}) Entering ${a.to} STATE`);
        this.#log.detail(`(${a.instance}) ${a.from} -> ${a.to}: ${a.reason}`);
        break;
      case 'armTimer':
      case 'cancelTimer':
        // The engine keeps the deadlines; #rearm() reads the earliest after every input.
        break;
    }
  }

  // ===== rtnetlink events =====

  #onNetlink(ev: NetlinkEvent): void {
    this.#table.apply(ev);
    if (this.#state !== 'running') return;
    faultPoint('netlink');
    if (ev.kind === 'link') {
      const prev = this.#linkUp.get(ev.name);
      if (prev === undefined) return;
      const up = ev.action === 'new' && ev.up && ev.carrier;
      if (up === prev) return;
      this.#linkUp.set(ev.name, up);
      this.#log.info(`Netlink reports ${ev.name} ${up ? 'up' : 'down'}`);
      this.#handle({ type: 'link', ifname: ev.name, up });
      if (up) this.#reinstallOn(ev.name);
      return;
    }
    if (ev.action === 'del') this.#addressDeleted(ev.address, ev.index);
    // Our own VIPs coming and going never change a default source (IPv4 sources exclude VIPs, IPv6 sources
    // are link-local): with thousands of VIPs set at once, looking again on each of their notifications cost
    // seconds (instances × addresses per event).
    const ifname = this.#table.linkByIndex(ev.index)?.name;
    const ours =
      ifname !== undefined &&
      (this.#vips.owner(ev.address, ifname) !== undefined || this.#vips.busy(ev.address, ifname)) &&
      !/^fe[89ab]/i.test(ev.address);
    if (!ours) this.#followSource(ev.index);
  }

  #allVips(): Set<string> {
    const out = new Set<string>();
    for (const i of this.#engine.instances()) {
      for (const v of [...i.params.vips, ...i.params.excludedVips]) out.add(v.address);
    }
    return out;
  }

  /**
   * An instance without unicast_src_ip/mcast_src_ip sends from its interface's primary IPv4 address or its
   * IPv6 link-local, which keepalived follows through netlink (docs/keepalived-semantics.md, 'Advert source
   * address'): when it changes, the instance gets the new source (the engine's reload keeps its state). An
   * IPv6 socket is bound to its source, so it moves only when that address is gone — a link re-created with
   * another MAC, an address replaced by hand — and not while the kernel re-adds the same link-local after a
   * link flap.
   */
  #followSource(ifindex: number): void {
    const ifname = this.#table.linkByIndex(ifindex)?.name;
    if (ifname === undefined) return;
    // Worked out once per interface and family, not once per instance.
    let source4: string | undefined | null = null;
    let usable6: Set<string> | null = null;
    let source6: string | undefined | null = null;
    let vips: Set<string> | null = null;
    const allVips = () => (vips ??= this.#allVips());
    const hasOwn = new Map<number, boolean>();
    for (const inst of this.#engine.instances()) {
      const p = inst.params;
      const w = this.#plan.wiring.get(p.name);
      if (p.interface !== ifname || !w || w.fixedSource !== false) continue;
      // keepalived (docs/hostile-network.md): no address of its own left on the interface (`ip addr flush`)
      // is a FAULT until one returns. Not for use_vmac instances, whose IPv4 source is the parent's, nor with
      // dont_track_primary (the kernel flushes IPv6 addresses with the link, which such an instance ignores).
      let own = hasOwn.get(p.family);
      if (own === undefined) {
        own = hasOwnAddress(this.#table, ifname, p.family, allVips());
        hasOwn.set(p.family, own);
      }
      const lost = !p.dontTrackPrimary && !this.#dumpFlags.get(p.name)?.vmacIfname && !own;
      const faulted = inst.status().fault.address;
      if (lost) {
        if (faulted) continue;
        this.#log.info(
          `(${p.name}) no IPv${p.family} address of its own left on ${ifname}: FAULT until one returns`,
        );
        this.#handle({ type: 'instance', instance: p.name, event: { type: 'sourceAddress', address: null } });
        continue;
      }
      let src: string | undefined;
      if (p.family === 4) {
        if (source4 === null) source4 = this.#table.defaultSource(ifname, 4, allVips());
        src = source4;
      } else {
        usable6 ??= new Set(
          this.#table
            .addresses(ifname, 6)
            .filter((a) => !a.tentative)
            .map((a) => a.address),
        );
        if (usable6.has(p.primaryAddress)) src = p.primaryAddress;
        else {
          if (source6 === null) source6 = this.#table.defaultSource(ifname, 6);
          src = source6;
        }
      }
      // A tentative link-local after the address came back: up again now, on the same source until DAD ends.
      if (src === undefined && faulted) src = p.primaryAddress;
      if (src === undefined || (src === p.primaryAddress && !faulted)) continue;
      if (p.family === 6 && src !== p.primaryAddress) {
        const r = this.#pool.rebind(w, src);
        if (!r.ok) {
          this.#log.error(`(${p.name}) cannot send from ${src}: ${r.error.message}`);
          continue;
        }
      }
      if (src !== p.primaryAddress)
        this.#log.info(`(${p.name}) source address changed from ${p.primaryAddress} to ${src}`);
      this.#handle({ type: 'instance', instance: p.name, event: { type: 'sourceAddress', address: src } });
    }
  }

  /** After lost netlink events (socket overflow): re-list, and report the link changes we missed. */
  async #resync(): Promise<void> {
    const t = await InterfaceTable.load(this.#nl);
    if (!t.ok || this.#state !== 'running') return;
    this.#table.replaceWith(t.value);
    for (const [ifname, prev] of this.#linkUp) {
      const up = this.#table.isUp(ifname);
      if (up === prev) continue;
      this.#linkUp.set(ifname, up);
      this.#log.info(`Netlink reports ${ifname} ${up ? 'up' : 'down'} (resync)`);
      this.#handle({ type: 'link', ifname, up });
      if (up) this.#reinstallOn(ifname);
    }
  }

  /** The kernel flushes IPv6 addresses on link down: a master puts its VIPs on that link back. */
  #reinstallOn(ifname: string): void {
    for (const x of this.#vips.on(ifname)) {
      if (x.instance !== STATIC_OWNER && this.#engine.instance(x.instance)?.state !== 'MASTER') continue;
      this.#vips.add(x.instance, [x.vip], ifname);
    }
  }

  /**
   * A VIP deleted behind our back while MASTER (docs/hostile-network.md): keepalived forces the instance to
   * BACKUP with its down timer at Skew_Time (master again, VIPs re-added, before a lower-priority backup would
   * take over); `no_track` VIPs are left alone. Deletions caused by a link going down are not that: the VIP
   * comes back with the link.
   */
  #addressDeleted(address: string, ifindex: number): void {
    const ifname = this.#table.linkByIndex(ifindex)?.name;
    if (ifname === undefined) return;
    const owner = this.#vips.owner(address, ifname);
    if (!owner || !this.#table.isUp(ifname) || this.#vips.busy(address, ifname)) return;
    if (owner.instance === STATIC_OWNER) {
      // keepalived re-adds a deleted static address (docs/keepalived-semantics.md).
      this.#log.info(`static address ${address} deleted - re-adding`);
      this.#vips.add(STATIC_OWNER, [owner.vip], ifname);
      return;
    }
    const inst = this.#engine.instance(owner.instance);
    if (inst?.state !== 'MASTER') return;
    if (owner.vip.options?.noTrack === true) {
      this.#vips.forget(address, ifname);
      return;
    }
    if (inst.params.basePriority === PRIORITY_OWNER) {
      // An address owner stays master whatever happens: put the address back.
      this.#log.info(`(${inst.name}) VIP ${address} deleted - re-adding (address owner)`);
      this.#vips.add(inst.name, [owner.vip], ifname);
      return;
    }
    // keepalived 2.2.7 (seen in netns): "Netlink reflector reports IP … removed", BACKUP, "sent 0 priority",
    // VIPs removed; the engine's vipDeleted does all three and arms its down timer at Skew_Time.
    this.#log.info(`Netlink reflector reports IP ${address} removed from ${ifname}`);
    this.#log.info(`(${inst.name}) VIP ${address} deleted - going to BACKUP`);
    this.#handle({
      type: 'instance',
      instance: inst.name,
      event: { type: 'vipDeleted', address: owner.vip.address },
    });
  }

  // ===== reload =====

  /**
   * SIGHUP (keepalived's rules: docs/keepalived-semantics.md, 'Reload (SIGHUP)').
   * Applies a re-read configuration. An instance whose name, VRID, family, interface,
   * unicast mode, multicast group and (IPv6) source are unchanged keeps its state and gets the new parameters
   * (the engine diffs the VIPs of a master: removed ones deleted, added ones installed and GARPed). An instance
   * gone from the configuration, or changed in one of those keys, is stopped (priority 0, VIPs removed, DELETED
   * or FAULT notify) and forgotten, as keepalived does with an unmatched old instance; stops come first, so a
   * VIP moving to another instance is removed before it is added again. New instances (and the new definition
   * of one stopped for a changed key) start like at startup; a new sync group made only of new instances forms
   * with them. Other sync group changes wait for a restart (members removed from the configuration leave).
   * Reloads run one after the other; each first creates the use_vmac interfaces of the instances it adds (and
   * re-reads the links, so the plan sees them), then applies the new configuration in one step.
   */
  reload(cfg: KeepalivedConfig): Promise<void> {
    this.#reloading = this.#reloading.then(
      () => this.#reloadWithVmacs(cfg),
      () => this.#reloadWithVmacs(cfg),
    );
    return this.#reloading;
  }

  async #reloadWithVmacs(cfg: KeepalivedConfig): Promise<void> {
    if (this.#state !== 'running') return;
    const specs = vmacSpecs(cfg).filter((v) => !this.#engine.instance(v.instance));
    if (specs.length > 0) {
      if (!this.#vmacs) {
        const made = await Vmacs.setUp(this.#nl, specs, this.#log);
        if (made.ok) this.#vmacs = made.value;
        else this.#log.error(made.message);
      } else {
        const added = await this.#vmacs.add(specs);
        if (!added.ok) this.#log.error(added.message);
      }
      const t = await InterfaceTable.load(this.#nl);
      if (t.ok) this.#table.replaceWith(t.value);
      if (this.#state !== 'running') return;
    }
    this.#applyReload(cfg);
  }

  #applyReload(cfg: KeepalivedConfig): void {
    if (this.#state !== 'running') return;
    const plan = buildEnginePlan(cfg, this.#table);
    if (plan.errors.length > 0) {
      for (const e of plan.errors) this.#log.error(e);
      this.#log.error('reload aborted; the running configuration is kept');
      return;
    }
    for (const w of plan.warnings) this.#log.warn(w);
    const now = this.#engineTime();
    const out: VrrpAction[] = [];
    const running = this.#engine
      .instances()
      .map((i) => ({ params: i.params, wiring: this.#plan.wiring.get(i.name)! }));
    const m = matchReload(running, plan);
    for (const name of m.stop) this.#removeInstance(name, now);
    for (const k of m.keep) {
      if (!this.#pool.update(k.wiring)) continue;
      this.#plan.wiring.set(k.name, k.wiring);
      out.push(
        ...this.#engine.handle(
          { type: 'instance', instance: k.name, event: { type: 'reload', params: k.params } },
          now,
        ),
      );
      if (this.#engine.instance(k.name)?.state === 'STOP') {
        out.push(
          ...this.#engine.handle({ type: 'instance', instance: k.name, event: { type: 'start' } }, now),
        );
      }
    }
    const started = this.#addInstances(m.added, plan, now, out);
    // A new sync group of new instances forms before they start; other group changes wait for a restart.
    const fresh = new Set(started);
    for (const group of plan.engine.syncGroups) {
      if (group.members.every((n) => fresh.has(n)))
        out.push(...this.#engine.handle({ type: 'addSyncGroup', group }, now));
    }
    const groups = (gs: SyncGroupParams[]) =>
      gs
        .map((g) => JSON.stringify([g.name, g.members, g.trackingWeight ?? false]))
        .sort()
        .join('\n');
    if (groups(plan.engine.syncGroups) !== groups(this.#engine.config.syncGroups))
      this.#log.warn('sync group changes other than new groups of new instances take effect on restart only');
    // Trackers: new, changed and dropped vrrp_scripts, track_files and vrrp_track_processes are started,
    // restarted and stopped (a changed script keeps its OK/KO state, as keepalived does); then every instance
    // hears the current state of each one it tracks — one that starts tracking a script already failing must
    // not wait for that script's next change to learn it (the engine ignores a reading it already has).
    this.#scripts.reconfigure(plan.scripts);
    this.#files.reconfigure(plan.files);
    this.#processes.reconfigure(plan.processes);
    this.#plan = { ...this.#plan, scripts: plan.scripts, files: plan.files, processes: plan.processes };
    for (const { name, up } of this.#scripts.states())
      out.push(...this.#engine.handle({ type: 'tracker', name, up }, now));
    for (const { name, up } of this.#processes.states())
      out.push(...this.#engine.handle({ type: 'tracker', name, up }, now));
    for (const { name, value } of this.#files.values())
      out.push(...this.#engine.handle({ type: 'trackerValue', name, value }, now));
    this.#notifier.setScripts(
      new Map([...this.#plan.wiring].map(([n, w]) => [n, w.notify])),
      plan.groupNotify,
    );
    // Interfaces newly tracked (or of new instances): report the ones that are down, before new instances start.
    for (const inst of this.#engine.instances()) {
      const names = [inst.params.interface];
      for (const t of inst.params.trackers) if (t.kind === 'interface') names.push(t.name);
      for (const v of [...inst.params.vips, ...inst.params.excludedVips]) if (v.dev) names.push(v.dev);
      for (const n of names) {
        if (this.#linkUp.has(n)) continue;
        const up = this.#table.isUp(n);
        this.#linkUp.set(n, up);
        if (!up) out.push(...this.#engine.handle({ type: 'link', ifname: n, up: false }, now));
      }
    }
    for (const name of started) {
      out.push(...this.#engine.handle({ type: 'instance', instance: name, event: { type: 'start' } }, now));
    }
    this.#notifyDeleted = withNotifyDeleted(cfg);
    this.#dumpFlags = dumpFlagsOf(cfg, new Map(vmacSpecs(cfg).map((v) => [v.instance, v.name])));
    this.#perform(out);
    this.#rearm();
    this.#log.info('Reload finished');
  }

  /** Stops an instance for good: its last actions (priority 0, VIPs, notify) run while its socket is open. */
  #removeInstance(name: string, nowUs: number): void {
    const inst = this.#engine.instance(name);
    if (!inst) return;
    this.#log.warn(`(${name}) removed from the configuration or changed VRID/family/interface/mode: stopped`);
    this.#retired.set(name, inst.params);
    const notifyDeleted = this.#notifyDeleted.has(name);
    this.#perform(this.#engine.handle({ type: 'removeInstance', instance: name, notifyDeleted }, nowUs));
    this.#retired.delete(name);
    this.#pool.remove(name);
    this.#plan.wiring.delete(name);
    this.#fsmStats.delete(name);
    this.#sendError.delete(name);
  }

  /** Opens the sockets of new instances and adds them to the engine (in INIT); returns the ones to start. */
  #addInstances(names: string[], plan: EnginePlan, nowUs: number, out: VrrpAction[]): string[] {
    const started: string[] = [];
    for (const name of names) {
      const p = plan.engine.instances.find((x) => x.name === name)!;
      const w = plan.wiring.get(name)!;
      // A use_vmac VMAC was created before the plan was made (#reloadWithVmacs); if that failed, it is missing.
      if (!this.#table.link(p.interface)) {
        this.#log.error(`(${name}) interface ${p.interface} does not exist: not started`);
        continue;
      }
      const r = this.#pool.add(w, p.primaryAddress);
      if (!r.ok) {
        this.#log.error(`(${name}) ${r.error.message}: not started`);
        continue;
      }
      this.#log.info(`(${name}) added by the reload: starting`);
      this.#plan.wiring.set(name, w);
      this.#fsmStats.set(name, zeroFsmStats());
      out.push(...this.#engine.handle({ type: 'addInstance', params: p }, nowUs));
      // Tracked files it shares with running instances: their current values, as at startup.
      for (const f of this.#files.values()) {
        if (!p.trackers.some((t) => t.name === f.name)) continue;
        const event = { type: 'trackerValue' as const, name: f.name, value: f.value };
        out.push(...this.#engine.handle({ type: 'instance', instance: name, event }, nowUs));
      }
      started.push(name);
    }
    return started;
  }

  // ===== status and stop =====

  /** What keepalived's signal dumps show of each instance (src/notify/dumps.ts). */
  dumpSnapshot(): DumpedInstance[] {
    return this.#engine.instances().map((i) => {
      const w = this.#plan.wiring.get(i.name);
      return {
        status: i.status(),
        params: i.params,
        stats: { ...this.#pool.stats.get(i.name)!, ...this.#fsmStats.get(i.name)! },
        authType: w?.tx.authType ?? AuthType.none,
        authPassword: w?.tx.authPassword ?? '',
        lastTransitionS: this.#lastTransitionS.get(i.name) ?? 0,
        notifyDeleted: this.#notifyDeleted.has(i.name),
        flags: this.#dumpFlags.get(i.name) ?? NO_DUMP_FLAGS,
      };
    });
  }

  /** Every tracker's latest reading (the status listener's). */
  trackerStates(): TrackerState[] {
    return [
      ...[...this.#linkUp].map(([name, up]) => ({ name, kind: 'interface' as const, up })),
      ...this.#scripts.states().map(({ name, up }) => ({ name, kind: 'script' as const, up })),
      ...this.#processes.states().map(({ name, up }) => ({ name, kind: 'process' as const, up })),
      ...this.#files.values().map(({ name, value }) => ({ name, kind: 'file' as const, value })),
    ];
  }

  /** keepalived's STATS_CLEAR signal: every instance's counters back to zero. */
  clearStats(): void {
    // In place: the socket pool and the engine I/O hold on to these objects.
    for (const s of this.#pool.stats.values()) Object.assign(s, newRxStats());
    for (const s of this.#fsmStats.values()) Object.assign(s, zeroFsmStats());
  }

  /** Graceful stop: masters send priority 0 and drop their VIPs, STOP notifies run, everything closes. */
  async stop(): Promise<void> {
    if (this.#state === 'starting' && this.#delay !== null) {
      // Still in vrrp_startup_delay: nothing was started, nothing to release.
      clearTimeout(this.#delay);
      this.#delay = null;
      await this.#vmacs?.tearDown();
      this.#closeAll();
      this.#state = 'stopped';
      return;
    }
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    // The priority-0 adverts first (a backup takes over from the moment it reads one), then the rest; the
    // trackers' results are ignored from here on (#state).
    this.#perform(this.#engine.handle({ type: 'shutdownAll' }, this.#engineTime()));
    this.#timer.cancel();
    this.#scripts.stop();
    this.#files.stop();
    this.#processes.stop();
    // The priority-0 adverts are out: a backup is taking over now. What is left (removing addresses, closing,
    // Node's exit) must not compete for the CPU with whatever runs on this host — the services being
    // failed over, or, in a lab, the backup itself.
    yieldCpuWhileStopping();
    if (!this.#keepVipsOnStop) {
      const st = this.#plan.statics;
      this.#vips.routes(STATIC_OWNER, 'rule', st.rules, false);
      this.#vips.routes(STATIC_OWNER, 'route', st.routes, false);
      this.#vips.remove(STATIC_OWNER, st.addresses, 'lo');
    }
    await this.#vips.idle(3000);
    await this.#firewall.close();
    // The STOP notifies just started get a moment to finish; close() then stops whatever still runs.
    await this.#notifier.settle(STOP_SCRIPTS_GRACE_MS);
    // -V keeps the VIPs, so it keeps the VMACs holding them too.
    if (!this.#keepVipsOnStop) await this.#vmacs?.tearDown();
    this.#closeAll();
    this.#state = 'stopped';
  }

  /**
   * After a fatal error (fatal.ts): release what this daemon holds whatever state the engine is in. The
   * graceful stop comes first — its priority-0 adverts let a backup take over at once — within `gracefulMs`;
   * whatever VIPs (with their instances' routes and rules) are still installed after it, or after its
   * failure, are then removed directly. Unless -V. Never throws.
   */
  async abort(gracefulMs: number): Promise<void> {
    try {
      await Promise.race([this.stop(), sleep(gracefulMs)]);
    } catch (e) {
      this.#log.error(`graceful stop failed: ${(e as Error).message}`);
    }
    if (this.#keepVipsOnStop) return this.#closeAll();
    try {
      for (const [instance, vips] of this.#vips.installedByOwner()) {
        const p = this.#plan.engine.instances.find((x) => x.name === instance);
        this.#log.info(`(${instance}) removing VIPs`);
        if (p) {
          this.#vips.routes(instance, 'rule', p.virtualRules, false);
          this.#vips.routes(instance, 'route', p.virtualRoutes, false);
        }
        for (const { vip, ifname } of vips) this.#vips.remove(instance, [vip], ifname);
      }
      await this.#vips.idle(1000);
      await this.#vmacs?.tearDown();
    } catch (e) {
      this.#log.error(`releasing addresses failed: ${(e as Error).message}`);
    }
    this.#closeAll();
  }

  #closeAll(): void {
    this.#timer.close();
    this.#scripts.stop();
    this.#files.stop();
    this.#processes.stop();
    this.#pool.close();
    this.#announcers.close();
    this.#monitor?.close();
    this.#notifier.close();
    this.#nl.close();
  }
}
