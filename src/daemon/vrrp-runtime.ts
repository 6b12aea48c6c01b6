// The VRRP engine bound to Linux. Inputs: validated adverts from the sockets, link changes and address
// deletions from rtnetlink, and ONE timer armed at the engine's next deadline — each fed to the engine with
// the current monotonic time in µs. Outputs: the engine's actions, performed in order (vrrp-actions.ts).
// This file wires the parts and owns the life cycle (start, stop, abort); each job lives in its own module:
//   vrrp-host.ts      start-up on the host: rtnetlink, use_vmac links, interface table, engine plan
//   vrrp-actions.ts   performing the engine's actions (adverts, VIPs, GARP/NA, notifies, counters, logs)
//   vrrp-takeover.ts  takeover readiness: what a takeover writes, built ahead of its deadline
//   vrrp-links.ts     link and address events, source-address following, resync after lost events
//   vrrp-trackers.ts  vrrp_script / track_file / vrrp_track_process wired to the engine
//   vrrp-reload.ts    SIGHUP: the pure reload plan (src/vrrp/reload-plan.ts) performed
// Engine actions and transitions are observed in one place: #observe below.
//
// Nothing on the advert path awaits: sends are synchronous, address changes go to a serial netlink queue,
// scripts are spawned and forgotten.

import { monotonicUs } from '../common/clock.js';
import { type Logger, rateLimited } from '../common/logger.js';
import type { KeepalivedConfig } from '../config/model.js';
import { InputWaiting } from '../net/input-waiting.js';
import type { LinkInfo, Netlink } from '../net/netlink.js';
import {
  type DumpedInstance,
  type DumpFlags,
  dumpFlagsOf,
  installedVipKey,
  type TrackerSnapshot,
} from '../notify/dumps.js';
import { Notifier } from '../notify/notifier.js';
import type { VrrpAction } from '../vrrp/actions.js';
import type { RxMeta, VrrpAdvert } from '../vrrp/advert.js';
import { AuthType } from '../vrrp/advert.js';
import { type EngineEvent, VrrpEngine } from '../vrrp/engine.js';
import { newRxStats } from '../vrrp/stats.js';
import type { VrrpTimerName } from '../vrrp/timers.js';
import { Announcers } from './announcers.js';
import type { BfdFeed } from './bfd-supervisor.js';
import { type DeadlineKind, DeadlineTimer, type KeenTimeline } from './deadline-timer.js';
import type { EnginePlan } from './engine-plan/types.js';
import { faultPoint } from './fault-injection.js';
import type { InterfaceTable } from './interface-table.js';
import { vrrpRealtimePriority } from './process-tuning.js';
import { PromoteSecondaries, promoteInterfaces } from './promote-secondaries.js';
import { type RuntimeError, runtimeError } from './runtime-error.js';
import type { RuntimeObserver, TrackerState } from './runtime-observer.js';
import { yieldCpuWhileStopping } from './stopping-priority.js';
import { StrictFirewall } from './strict-firewall.js';
import { normalPriorityNow, TakeoverBoost } from './takeover-boost.js';
import { VipInstaller } from './vip-installer.js';
import { type Vmacs, vmacSpecs } from './vmac.js';
import { ActionExecutor, zeroFsmStats } from './vrrp-actions.js';
import { type RuntimeState, STATIC_OWNER, type VrrpContext } from './vrrp-context.js';
import { openVrrpHost, type VrrpHost } from './vrrp-host.js';
import { LinkFollower } from './vrrp-links.js';
import { ReloadApplier } from './vrrp-reload.js';
import { VrrpSocketPool } from './vrrp-sockets.js';
import { TakeoverReadiness } from './vrrp-takeover.js';
import { TrackerWiring } from './vrrp-trackers.js';
import { warmUpTakeover } from './warm-up.js';

export interface RuntimeOptions {
  log: Logger;
  /** -V (--dont-release-vrrp): leave the VIPs in place on stop. */
  keepVipsOnStop?: boolean;
  /** How long startup waits for IPv6 link-local sources to finish DAD (default 5 s). */
  sourceWaitMs?: number;
  /** Told each instance's new state (the checker process follows them for ha_suspend). */
  onStateChange?: (instance: string, state: string) => void;
  /** Given the engine before its first input (--record-events: src/sim/event-recorder.ts). */
  onEngine?: (engine: VrrpEngine) => void;
  /** The status listener's feed (runtime-observer.ts). */
  observer?: RuntimeObserver;
  /** The BFD sessions' states, for track_bfd (bfd-supervisor.ts; absent: no BFD process). */
  bfd?: BfdFeed;
}

export type RuntimeStart = { ok: true; runtime: VrrpRuntime } | { ok: false; errors: RuntimeError[] };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const NO_DUMP_FLAGS: DumpFlags = {
  strictMode: false,
  skipCheckAdvAddr: false,
  promoteSecondaries: false,
  smtpAlert: false,
  vmacIfname: '',
};

/** An advert timer firing this late (µs) is logged under -D (see #onTimer). */
const LATE_ADVERT_US = 50_000;

/** How each engine timer is met (deadline-timer.ts). */
const DEADLINE_KIND: Record<VrrpTimerName, DeadlineKind> = {
  masterDown: 'keen',
  advert: 'punctual',
  garpDelay: 'plain',
  garpRefresh: 'plain',
  garpLowerPrio: 'plain',
};

/** The socket of an instance in the dump: fd and socket key, both absent without one. */
const optionalFd = (fd: number | undefined, socket: string | undefined) => ({
  ...(fd === undefined ? {} : { fd }),
  ...(socket === undefined ? {} : { socket }),
});

const withNotifyDeleted = (cfg: KeepalivedConfig): Set<string> =>
  new Set(cfg.vrrpInstances.filter((i) => i.notify.deleted !== undefined).map((i) => i.name));

/**
 * How long a stopping daemon waits for its notify scripts (notify_stop above all) before it ends them with
 * SIGTERM, as keepalived gives its STOP scripts a second.
 */
const STOP_SCRIPTS_GRACE_MS = 1000;

export class VrrpRuntime {
  readonly #log: Logger;
  readonly #nl: Netlink;
  readonly #table: InterfaceTable;
  /** The links there were at start (the data dump lists them first: dump-sections.ts). */
  readonly #linksAtStart: string[];
  /** Links deleted while running and not created again, as last heard of (the data dump keeps listing them). */
  readonly #deletedLinks = new Map<string, LinkInfo>();
  /**
   * Per link since start (or since it was last created): seen usable (up with carrier), reported on by the
   * kernel since. keepalived's dump says `Seen up = 1` of a link that went down, and has read its rp_filter
   * once any report of the link came after its start.
   */
  readonly #linkSeen = new Map<string, { up: boolean; changed: boolean }>();
  /** Links created while running (new, or again after being deleted), in the order they first came. */
  readonly #linksCreated: string[] = [];
  /** Keeps the process alive while every instance waits for its interface (no socket or timer would). */
  readonly #keepAlive = setInterval(() => {}, 2 ** 30);
  #plan: EnginePlan;
  /** The keen deadline timeline last logged (-D). */
  #keenLogged: KeenTimeline | null = null;
  readonly #engine: VrrpEngine;
  readonly #pool: VrrpSocketPool;
  readonly #vips: VipInstaller;
  /** no_accept / vrrp_strict: drops traffic to a non-accepting master's VIPs (strict-firewall.ts). */
  readonly #firewall: StrictFirewall;
  /** promote_secondaries: set on the instances' interfaces while running (promote-secondaries.ts). */
  readonly #promote: PromoteSecondaries;
  readonly #announcers: Announcers;
  readonly #notifier: Notifier;
  readonly #timer: DeadlineTimer;
  readonly #ctx: VrrpContext;
  readonly #actions: ActionExecutor;
  readonly #takeover: TakeoverReadiness;
  readonly #links: LinkFollower;
  readonly #trackers: TrackerWiring;
  readonly #reloader: ReloadApplier;
  readonly #keepVipsOnStop: boolean;
  readonly #onStateChange: ((instance: string, state: string) => void) | undefined;
  readonly #observer: RuntimeObserver | undefined;
  /** Instances with `notify_deleted`: removed by a reload, they notify DELETED instead of FAULT. */
  #notifyDeleted: Set<string>;
  /** For the JSON dump: configuration flags the engine does not carry, and when each instance last moved. */
  #dumpFlags: Map<string, DumpFlags>;
  /** global_defs log_unknown_vrids (follows reloads). */
  #logUnknownVrids: boolean;
  readonly #lastTransitionS = new Map<string, number>();
  /** The time of the engine's latest input (µs): inputs never go back before it. */
  #lastEngineUs = 0;
  /** The reload in progress, if any (reloads are serialised). */
  #reloading: Promise<void> = Promise.resolve();
  readonly #host: VrrpHost;
  /** use_vmac links this run set up (deleted on stop). */
  #vmacs: Vmacs | null;
  #delay: NodeJS.Timeout | null = null;
  #state: RuntimeState = 'starting';
  /** Real-time priority for a takeover's writes (takeover-boost.ts). */
  readonly #boost: TakeoverBoost;

  private constructor(cfg: KeepalivedConfig, host: VrrpHost, opts: RuntimeOptions) {
    const log = opts.log;
    const plan = host.plan;
    this.#log = log;
    this.#host = host;
    this.#nl = host.nl;
    this.#table = host.table;
    this.#vmacs = host.vmacs;
    this.#linksAtStart = host.table.names();
    for (const n of this.#linksAtStart) this.#linkSeen.set(n, { up: host.table.isUp(n), changed: false });
    this.#plan = plan;
    this.#keepVipsOnStop = opts.keepVipsOnStop ?? false;
    this.#onStateChange = opts.onStateChange;
    this.#observer = opts.observer;
    // Process settings are applied once, at start (run.ts): a reload does not turn the boost on or off. A
    // real-time VRRP thread (vrrp_rt_priority: process-tuning.ts) needs no boost.
    this.#boost = new TakeoverBoost(vrrpRealtimePriority(cfg.globalDefs.vrrpProcess) !== undefined, (m) =>
      log.info(m),
    );
    this.#notifyDeleted = withNotifyDeleted(cfg);
    this.#logUnknownVrids = cfg.globalDefs.logUnknownVrids;
    this.#dumpFlags = dumpFlagsOf(cfg, new Map(vmacSpecs(cfg).map((v) => [v.instance, v.name])));
    this.#engine = new VrrpEngine(plan.engine);
    const dropped = rateLimited((m) => log.detail(m));
    // An address-list mismatch is logged without -D, in keepalived's words (docs/hostile-network.md).
    const droppedForAddresses = rateLimited((m) => log.info(m));
    const unknownVrid = rateLimited((m) => log.info(m));
    this.#pool = new VrrpSocketPool(
      (instance, advert, meta) => this.#onAdvert(instance, advert, meta),
      (instance, r) =>
        r.counter === 'AddressListErrors'
          ? droppedForAddresses(`${instance}/${r.counter}`, `(${instance}) ${r.reason}`)
          : dropped(`${instance}/${r.counter}`, `(${instance}) dropped advert: ${r.counter}: ${r.reason}`),
      (e) => this.#log.error(e.message),
      (instance) => this.#engine.instance(instance)?.followedMaster ?? null,
      // log_unknown_vrids: keepalived's line for every such advert; here at most one a second per interface
      // and VRID, so that a flood of them cannot flood the log.
      (ifname, vrid) => {
        if (this.#logUnknownVrids)
          unknownVrid(
            `${ifname}/${vrid}`,
            `Unknown VRID(${vrid}) received on interface(${ifname}). ignoring...`,
          );
      },
      (instance) => log.info(`(${instance}) Setting unicast VRRPv3 checksum to old version`),
      // vrrp_rx_bufs_policy MTU counts the instance's interface's MTU (docs/linux-sockets.md, 'Receive buffers').
      (ifname) => this.#table.link(ifname)?.mtu,
    );
    this.#vips = new VipInstaller(this.#nl, this.#table, log);
    this.#firewall = StrictFirewall.of(log, cfg.globalDefs);
    this.#promote = new PromoteSecondaries(log, promoteInterfaces(cfg));
    this.#announcers = new Announcers(this.#table, log, plan.pacing);
    const scripts = new Map([...plan.wiring].map(([name, w]) => [name, w.notify]));
    this.#notifier = new Notifier(
      scripts,
      plan.groupNotify,
      plan.fifos,
      log,
      plan.scriptUser,
      plan.mail ?? null,
    );
    const rt = this;
    this.#ctx = {
      log,
      engine: this.#engine,
      table: this.#table,
      pool: this.#pool,
      vips: this.#vips,
      get plan() {
        return rt.#plan;
      },
      get state() {
        return rt.#state;
      },
      dumpFlags: (instance) => this.#dumpFlags.get(instance),
      handle: (ev, atUs) => this.#handle(ev, atUs),
      perform: (actions) => this.#actions.perform(actions),
      engineTime: (atUs) => this.#engineTime(atUs),
      rearm: () => this.#rearm(),
    };
    this.#actions = new ActionExecutor({
      ctx: this.#ctx,
      firewall: this.#firewall,
      announcers: this.#announcers,
      notifier: this.#notifier,
      keepVipsOnStop: this.#keepVipsOnStop,
      boost: () => this.#boost,
      observe: (a) => this.#observe(a),
    });
    this.#takeover = new TakeoverReadiness(this.#ctx, this.#announcers);
    this.#links = new LinkFollower(this.#ctx, this.#nl);
    const waiting = new InputWaiting(() => this.#pool.fds());
    this.#timer = new DeadlineTimer((nowUs) => this.#onTimer(nowUs), {
      inputWaiting: () => waiting.any(),
      // Ahead of a Master_Down deadline: build what the takeover writes and run the takeover once on a
      // scratch engine (vrrp-takeover.ts; docs/decisions/takeover-warm-up.md).
      onKeenWake: (leftUs) => this.#takeover.onKeenWake(leftUs),
      // From the early wake to the takeover's last GARP at real-time priority (takeover-boost.ts): the wake
      // at the end of the sleep, the wait on the CPU and the takeover's first write are then not queued
      // behind whatever else runs on this host. The takeover's own batch ends it after its last GARP
      // (vrrp-actions.ts), the phase's end otherwise (the deadline moved: the master is alive after all).
      // A master's advert deadline has a phase too (punctual), ended when it fires.
      onKeenPhase: (active) => (active ? this.#boost.enter() : this.#boost.leave()),
    });
    this.#trackers = new TrackerWiring(this.#ctx, plan, opts.bfd);
    this.#reloader = new ReloadApplier({
      ctx: this.#ctx,
      nl: this.#nl,
      actions: this.#actions,
      links: this.#links,
      trackers: this.#trackers,
      notifier: this.#notifier,
      vmacs: () => this.#vmacs,
      setVmacs: (v) => {
        this.#vmacs = v;
      },
      adopt: (next, p) => {
        this.#promote.update(promoteInterfaces(next));
        this.#plan = { ...this.#plan, scripts: p.scripts, files: p.files, processes: p.processes };
        this.#notifyDeleted = withNotifyDeleted(next);
        this.#logUnknownVrids = next.globalDefs.logUnknownVrids;
        this.#dumpFlags = dumpFlagsOf(next, new Map(vmacSpecs(next).map((v) => [v.instance, v.name])));
      },
      notifyDeleted: () => this.#notifyDeleted,
    });
    for (const p of plan.engine.instances) this.#actions.added(p.name);
  }

  /** Opens everything, then starts every instance. Never throws; failures come back as coded values. */
  static async start(cfg: KeepalivedConfig, opts: RuntimeOptions): Promise<RuntimeStart> {
    const log = opts.log;
    const h = await openVrrpHost(cfg, log, opts.sourceWaitMs ?? 5000);
    if (!h.ok) return h;
    const host = h.host;
    for (const w of host.plan.warnings) log.warn(w);
    let rt: VrrpRuntime;
    try {
      faultPoint('start');
      rt = new VrrpRuntime(cfg, host, opts);
    } catch (e) {
      await host.close();
      return { ok: false, errors: [runtimeError('VRRP_START_EXCEPTION', (e as Error).message)] };
    }
    opts.onEngine?.(rt.#engine);
    host.follow(
      (ev) => {
        // An interface that comes or goes takes its instances' sockets with it (dynamic-interfaces.ts); they
        // open before the engine hears the link is up.
        if (ev.kind === 'link') {
          const { kind: _k, action, ...info } = ev;
          if (action === 'del') {
            rt.#deletedLinks.set(ev.name, info);
            rt.#linkSeen.delete(ev.name);
          } else {
            rt.#deletedLinks.delete(ev.name);
            const usable = info.up && info.carrier;
            const seen = rt.#linkSeen.get(ev.name);
            if (!seen && !rt.#linksCreated.includes(ev.name)) rt.#linksCreated.push(ev.name);
            rt.#linkSeen.set(ev.name, { up: (seen?.up ?? false) || usable, changed: true });
          }
        }
        if (ev.kind === 'link' && rt.#state === 'running') {
          if (ev.action === 'del') {
            rt.#pool.closeOn(ev.name);
            rt.#announcers.forget(ev.name);
          } else {
            const opened = rt.#pool.openOn(ev.name);
            for (const e of opened.errors) log.error(e.message);
            // Its IPv6 source not bindable yet: FAULT until it is (vrrp-links.ts trackSources).
            for (const name of opened.waiting) rt.#links.noteUnbound(name);
          }
        }
        rt.#links.onNetlink(ev);
        // An MTU change (or a link's arrival, now in the table) resizes the sockets that count its MTU.
        if (ev.kind === 'link' && ev.action !== 'del' && rt.#state === 'running') rt.#pool.resizeOn(ev.name);
      },
      (e) => {
        log.error(`${e.message} (link events may have been lost; re-reading links and addresses)`);
        void rt.#links.resync();
      },
    );
    const opened = rt.#open();
    if (opened.length > 0) {
      await host.vmacs.tearDown();
      rt.#closeAll();
      return { ok: false, errors: opened };
    }
    const delayUs = host.plan.startupDelayUs;
    if (delayUs > 0) {
      log.info(`Delaying startup for ${delayUs / 1e6} seconds (vrrp_startup_delay)`);
      rt.#delay = setTimeout(() => rt.#begin(), delayUs / 1000);
    } else rt.#begin();
    return { ok: true, runtime: rt };
  }

  #open(): RuntimeError[] {
    const errors: RuntimeError[] = [];
    for (const p of this.#plan.engine.instances) {
      const w = this.#plan.wiring.get(p.name)!;
      const r = this.#pool.add(w, p.primaryAddress);
      if (!r.ok) errors.push(runtimeError(r.error.code, `(${p.name}) ${r.error.message}`, p.name));
      // A source that cannot be bound yet is not a reason to refuse the daemon: that instance starts in FAULT
      // and comes up once the address is usable (vrrp-links.ts trackSources; docs/hostile-network.md).
      else this.#links.noteUnbound(p.name);
    }
    return errors;
  }

  #begin(): void {
    this.#delay = null;
    const now = this.#engineTime();
    // Links already down count before the instances start, so they start in FAULT (keepalived does the same);
    // so do the values in tracked files and processes already missing.
    for (const ifname of this.#links.noteAtStart(this.#plan.engine.instances))
      this.#engine.handle({ type: 'link', ifname, up: false }, now);
    // No address to send from: FAULT until one comes (dynamic-interfaces.ts).
    for (const p of this.#plan.engine.instances)
      if (this.#plan.wiring.get(p.name)?.unsourced)
        this.#engine.handle(
          { type: 'instance', instance: p.name, event: { type: 'sourceAddress', address: null } },
          now,
        );
    // track_src_ip: a configured source missing from its interface is a FAULT until it comes; so is an IPv6
    // source that cannot be bound yet (vrrp-links.ts).
    this.#links.trackSources((instance, address) =>
      this.#engine.handle({ type: 'instance', instance, event: { type: 'sourceAddress', address } }, now),
    );
    this.#trackers.feedAtStart(now);
    // keepalived starts by removing its VIPs (a previous run may have died as master): a backup must not
    // hold them. Only addresses actually present are touched.
    for (const p of this.#plan.engine.instances) {
      const present = [...p.vips, ...p.excludedVips].filter((v) =>
        this.#table.hasAddress(v.address, v.dev ?? p.interface),
      );
      if (present.length > 0) {
        this.#log.info(`(${p.name}) removing VIPs left from an earlier run`);
        this.#vips.remove(p.name, present, p.interface);
      }
    }
    // Static addresses, routes and rules: installed once, whatever the VRRP states (keepalived does so first).
    const st = this.#plan.statics;
    this.#vips.add(STATIC_OWNER, st.addresses, 'lo');
    this.#vips.addRoutes(STATIC_OWNER, 'route', st.routes);
    this.#vips.addRoutes(STATIC_OWNER, 'rule', st.rules);
    // The path from a deadline to the engine, compiled now (deadline-timer.ts warmFirePath): #onTimer ignores
    // this call, as the state is not 'running' yet. Likewise the boost's exit, run right after a takeover's
    // last GARP.
    this.#timer.warmFirePath();
    this.#boost.leave();
    this.#promote.apply();
    this.#state = 'running';
    warmUpTakeover(this.#engine.config);
    this.#handle({ type: 'startAll' });
    // An instance that starts as master has armed its first advert, so the thread may be real-time now (a
    // punctual deadline's phase); the preparation below is long work, done at the normal policy.
    normalPriorityNow();
    this.#takeover.prepareAll();
    this.#trackers.start();
  }

  // ===== observers =====

  /**
   * Every engine action, once performed (vrrp-actions.ts). The one place to watch transitions and actions
   * from outside the engine (the checker's ha_suspend feed, the JSON dump's transition times, …).
   */
  #observe(a: VrrpAction): void {
    if (a.type === 'sendGarp') this.#observer?.announced(a.instance);
    if (a.type !== 'stateChange') return;
    this.#lastTransitionS.set(a.instance, Date.now() / 1000);
    this.#onStateChange?.(a.instance, a.to);
    this.#observer?.transition(a.instance, a.from, a.to, a.reason);
  }

  // ===== engine inputs =====

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
        this.#actions.performIo(actions);
      });
    } else this.#actions.perform(actions);
    this.#rearm();
  }

  #onTimer(nowUs: number): void {
    if (this.#state !== 'running') return;
    faultPoint('timer');
    // A keen deadline this firing met (the timer set its timeline just before calling us): its -D line
    // says when the writes were done, so only then is the clock read after them — not on every advert.
    const k = this.#timer.lastKeen;
    const keen = k !== null && k !== this.#keenLogged ? k : null;
    const due = this.#engine.nextDeadline();
    this.#observer?.timerFired(due, nowUs);
    // A master's advert this late lets a backup's Master_Down run out: under -D, say so, with the lateness —
    // the first thing to read when a peer took over from a master that was alive.
    if (due?.timer === 'advert' && nowUs - due.atUs >= LATE_ADVERT_US)
      this.#log.detail(
        `(${due.instance}) advert timer fired ${((nowUs - due.atUs) / 1000).toFixed(1)} ms late`,
      );
    this.#actions.perform(this.#engine.handleTimers(this.#engineTime(nowUs)));
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
    // A Master_Down deadline is met keenly (deadline-timer.ts): it only runs out when a master has died. A
    // master's advert punctually: its last stretch at real-time priority, so that a busy host does not hold
    // the wake-up back by a scheduler tick (docs/decisions/takeover-boost.md, "Punctual adverts").
    this.#timer.arm(next?.atUs ?? null, next ? DEADLINE_KIND[next.timer] : 'plain');
  }

  #onAdvert(instance: string, advert: VrrpAdvert, meta: RxMeta): void {
    if (this.#state !== 'running') return;
    faultPoint('advert');
    // Timers run from the advert's arrival (RFC 9568 §6.4.2 "when an ADVERTISEMENT is received"): time the
    // packet spent queued behind a busy event loop must not lengthen the Master_Down_Interval.
    this.#handle({ type: 'instance', instance, event: { type: 'advertRx', advert, meta } }, meta.arrivalUs);
  }

  // ===== reload =====

  /**
   * SIGHUP (keepalived's rules: docs/keepalived-semantics.md, 'Reload (SIGHUP)'): matched instances keep
   * their state and take the new parameters, removed or re-keyed ones stop, new ones start (vrrp-reload.ts,
   * src/vrrp/reload-plan.ts). Other sync group changes wait for a restart. Reloads run one after the other.
   */
  reload(cfg: KeepalivedConfig): Promise<void> {
    const run = () => this.#reloader.reload(cfg);
    this.#reloading = this.#reloading.then(run, run);
    return this.#reloading;
  }

  // ===== status and stop =====

  /** What keepalived's signal dumps show of each instance (src/notify/dumps.ts). */
  dumpSnapshot(): DumpedInstance[] {
    return this.#engine.instances().map((i) => {
      const w = this.#plan.wiring.get(i.name);
      return {
        status: i.status(),
        params: i.params,
        stats: { ...this.#pool.stats.get(i.name)!, ...this.#actions.fsmStats.get(i.name)! },
        authType: w?.tx.authType ?? AuthType.none,
        authPassword: w?.tx.authPassword ?? '',
        lastTransitionS: this.#lastTransitionS.get(i.name) ?? 0,
        notifyDeleted: this.#notifyDeleted.has(i.name),
        flags: this.#dumpFlags.get(i.name) ?? NO_DUMP_FLAGS,
        ...optionalFd(this.#pool.fdOf(i.name), this.#pool.socketOf(i.name)),
        rxBufSize: this.#pool.rxBufOf(i.name),
        installedVips: new Set(
          [...i.params.vips, ...i.params.excludedVips]
            .filter((v) => this.#vips.isSet(i.name, v.address, v.dev ?? i.params.interface))
            .map((v) => installedVipKey(v, i.params)),
        ),
        firewallVips: this.#firewall.dropped(i.name),
        oldChecksumAuto: this.#pool.oldChecksumAuto(i.name),
      };
    });
  }

  /** The interfaces there were at start, for the data dump (src/notify/dump-sections.ts). */
  interfacesAtStart(): readonly string[] {
    return this.#linksAtStart;
  }

  /** The interfaces created since start (again, for one deleted), in the order they first came (data dump). */
  interfacesCreated(): readonly string[] {
    return this.#linksCreated;
  }

  /**
   * What the data dump says of links beyond their current facts: seen up, reported on since start; the
   * addresses the kernel keeps on a link that is down (getifaddrs() lists none of those).
   */
  linkHistory(name: string): { seenUp: boolean; changed: boolean; ipv4: string[]; ipv6: string[] } {
    const seen = this.#linkSeen.get(name);
    return {
      seenUp: seen?.up ?? false,
      changed: seen?.changed ?? false,
      ipv4: this.#table.addresses(name, 4).map((a) => a.address),
      ipv6: this.#table.addresses(name, 6).map((a) => a.address),
    };
  }

  /** The links deleted while running (and not created again), as last heard of, for the data dump. */
  deletedInterfaces(): LinkInfo[] {
    return [...this.#deletedLinks.values()];
  }

  /** The vrrp_scripts' OK/KO states and the tracked files' values, for the data dump (src/notify/dumps.ts). */
  trackerSnapshot(): TrackerSnapshot {
    return this.#trackers.snapshot();
  }

  /** Every tracker's latest reading (the status listener's). */
  trackerStates(): TrackerState[] {
    return [
      ...this.#links.states().map(({ name, up }) => ({ name, kind: 'interface' as const, up })),
      ...this.#trackers.states(),
    ];
  }

  /** keepalived's STATS_CLEAR signal: every instance's counters back to zero. */
  clearStats(): void {
    // In place: the socket pool and the engine I/O hold on to these objects.
    for (const s of this.#pool.stats.values()) Object.assign(s, newRxStats());
    for (const s of this.#actions.fsmStats.values()) Object.assign(s, zeroFsmStats());
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
    this.#actions.perform(this.#engine.handle({ type: 'shutdownAll' }, this.#engineTime()));
    this.#timer.cancel();
    this.#trackers.stop();
    // The priority-0 adverts are out: a backup is taking over now. What is left (removing addresses, closing,
    // Node's exit) must not compete for the CPU with whatever runs on this host — the services being
    // failed over, or, in a lab, the backup itself.
    yieldCpuWhileStopping();
    if (!this.#keepVipsOnStop) {
      const st = this.#plan.statics;
      this.#vips.removeRoutes(STATIC_OWNER, 'rule', st.rules);
      this.#vips.removeRoutes(STATIC_OWNER, 'route', st.routes);
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
          this.#vips.removeRoutes(instance, 'rule', p.virtualRules);
          this.#vips.removeRoutes(instance, 'route', p.virtualRoutes);
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
    clearInterval(this.#keepAlive);
    this.#promote.restore();
    this.#timer.close();
    this.#trackers.stop();
    this.#pool.close();
    this.#announcers.close();
    this.#host.monitor.close();
    this.#notifier.close();
    this.#nl.close();
  }
}
