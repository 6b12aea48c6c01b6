// The checker core: keepalived's health-check semantics as a pure state machine (no I/O, no JS timers).
// Inputs carry the time (µs); outputs are CheckAction lists; nextDeadline() says when to call timer().
// One probe (a "unit") serves every checker with the same target and parameters, even behind several
// virtual servers; each of those checkers keeps its own keepalived state (up, has run, retry count).
// The semantics, with keepalived's and ours where they differ, are written down in docs/checkers.md.

import { DeadlineHeap, type HeapItem } from '../../common/deadline-heap.js';
import type { KeepalivedConfig } from '../../config/model.js';
import { Prng } from '../../sim/prng.js';
import type { ProbeOutcome } from '../probe.js';
import type { CheckAction } from './actions.js';
import {
  BOOTSTRAP_DELAY_US,
  type ResolvedChecker,
  type ResolvedConfig,
  type ResolvedRealServer,
  type ResolvedVirtualServer,
  resolveConfig,
  WEIGHT_LIMIT,
} from './resolve.js';
import { checkerMailBody, failLines, quorumBody, reasonLine, rescheduleLine, successLine } from './words.js';

export interface CheckerCoreOptions {
  /** Seeds the warmup draws and the interval spread, so that a run replays exactly. */
  seed: number;
  /** Probe a real server once for every virtual server that checks it the same way (default true). */
  shareProbes?: boolean;
  /**
   * Spread each delay_loop interval by ±this percent at random (0..50; default 0 = keepalived: exactly
   * delay_loop). Retries (delay_before_retry) are never spread.
   */
  intervalSpreadPct?: number;
  /**
   * Slow start: after a real server recovers, its weight climbs from weight/steps to its full weight over
   * this time (default 0 = off, keepalived). Quorum counts the full weight at once.
   */
  slowStartUs?: number;
  /** Number of weight steps of the slow-start ramp (default 10). */
  slowStartSteps?: number;
  /**
   * A probe that has not reported this long after its timeout counts as a failure ('watchdog'); its late
   * report is ignored (default 1 s). The probe contract says this never happens.
   */
  watchdogGraceUs?: number;
  /**
   * Is this address on one of the host's interfaces: for ha_suspend virtual servers no VRRP instance
   * carries, whose checkers keepalived 2.2.7 runs only while their address is there (asked at start and on
   * reload; absent: such checkers always run).
   */
  hostHasAddress?: (address: string) => boolean;
}

/**
 * Per real server: the last check latency, an EWMA (1/8, as TCP's srtt), the maximum, and the count, sum and
 * histogram of all of them (enough for a Prometheus histogram: `_bucket` from `histogram`, `_sum`, `_count`).
 */
export interface LatencyStats {
  count: number;
  failures: number;
  /** Sum of every check's latency (µs), failed checks included, as `count` counts them. */
  sumUs: number;
  lastUs: number;
  ewmaUs: number;
  maxUs: number;
  /** Counts per bucket; bucket i holds latencies ≤ LATENCY_BUCKETS_US[i] (the last one: all above). */
  histogram: number[];
}

/** Upper bounds (µs) of the latency histogram buckets. */
export const LATENCY_BUCKETS_US: readonly number[] = [
  100,
  250,
  500,
  1_000,
  2_500,
  5_000,
  10_000,
  25_000,
  50_000,
  100_000,
  250_000,
  500_000,
  1_000_000,
  2_500_000,
  5_000_000,
  Number.POSITIVE_INFINITY,
];

/** What the data plane should program for one virtual server. */
export interface VirtualServerView {
  vs: string;
  quorumUp: boolean;
  sorryActive: boolean;
  /** Kept by the last reload (keepalived's vs->reloaded). */
  reloaded: boolean;
  /** Σ weights of live real servers (full weights, as quorum counts them). */
  weightSum: number;
  /** Real servers in service (all checkers up) with the weight to use now (slow start applied). */
  live: { rs: string; address: string; port: number; weight: number }[];
  /**
   * The destinations to install: live real servers (none while the sorry server is active), failed ones
   * with inhibit_on_failure at weight 0, and the sorry server (weight 0 when inactive with
   * sorry_server_inhibit).
   */
  destinations: { id: string; address: string; port: number; weight: number; sorry: boolean }[];
}

export interface CheckerStatus {
  probeId: number;
  kind: string;
  up: boolean;
  hasRun: boolean;
  retryIt: number;
  /** misc_dynamic / FILE_CHECK contribution to the weight. */
  weightOffset: number;
  suspended: boolean;
  /** HTTP_GET / SSL_GET: the path of the url that failed, while the checker is failed (keepalived's failed_url). */
  failedUrl?: string;
  /** When the probe last started, on the core's clock (absent before its first start). */
  lastRanUs?: number;
  /**
   * MISC_CHECK: the exit status keepalived keeps (a success's, or the one that failed the checker);
   * FILE_CHECK: the file's last value.
   */
  lastStatus: number;
  /** keepalived's last_errno: the last unusual connect()/send() errno the probe met, 0 if none (ProbeOutcome). */
  lastErrno: number;
}

export interface RealServerStatus {
  vs: string;
  rs: string;
  alive: boolean;
  configuredWeight: number;
  effectiveWeight: number;
  failedCheckers: number;
  /** The effective weight the server had when the last reload kept it (0 before any reload). */
  previousEffectiveWeight: number;
  /** Kept from the configuration before the last reload. */
  reloaded: boolean;
  checkers: CheckerStatus[];
  latency: LatencyStats;
}

interface Unit extends HeapItem {
  kind: 'unit';
  id: number;
  spec: ResolvedChecker;
  subs: Sub[];
  inFlight: boolean;
  startUs: number;
  removed: boolean;
}

interface Ramp extends HeapItem {
  kind: 'ramp';
  rs: RsState;
  step: number;
  startUs: number;
}

interface Sub {
  unit: Unit;
  vs: VsState;
  rs: RsState;
  spec: ResolvedChecker;
  isUp: boolean;
  hasRun: boolean;
  retryIt: number;
  offset: number;
  /** HTTP/SSL: failed for good; the next success only clears this (keepalived's failed_url). */
  failedUrl: boolean;
  /** HTTP/SSL: the failed url's path, when the probe said which. */
  failedPath: string | undefined;
  /** MISC_CHECK: keepalived's last_exit_code. */
  lastStatus: number;
  /** keepalived's last_errno: kept from the first such errno on, never cleared (a reload starts afresh). */
  lastErrno: number;
}

interface RsState {
  spec: ResolvedRealServer;
  vs: VsState;
  subs: Sub[];
  numFailed: number;
  alive: boolean;
  effective: number;
  ramp: Ramp | null;
  /** Weight last announced to the data plane while alive (slow start applied). */
  shownWeight: number;
  latency: LatencyStats;
  /** Kept by the last reload, and the effective weight it had then (keepalived's reloaded, peffective_weight). */
  reloaded: boolean;
  prevEffective: number;
}

interface VsState {
  spec: ResolvedVirtualServer;
  rs: RsState[];
  rsById: Map<string, RsState>;
  quorumUp: boolean;
  sorryActive: boolean;
  suspended: boolean;
  /** Kept by the last reload. */
  reloaded: boolean;
}

/** When a checker wants its next attempt; a shared probe takes the earliest its checkers want. */
enum Next {
  /** delay_loop (spread if configured). */
  Loop = 0,
  /** HTTP/SSL with a failed URL: max(delay_before_retry, delay_loop). */
  LoopMax = 1,
  /** delay_before_retry. */
  Retry = 2,
  /** At once (HTTP/SSL fast_recovery). */
  Now = 3,
}

function realWeight(w: number): number {
  return w < 0 ? 0 : Math.min(w, WEIGHT_LIMIT);
}

function newLatency(): LatencyStats {
  return {
    count: 0,
    failures: 0,
    sumUs: 0,
    lastUs: 0,
    ewmaUs: 0,
    maxUs: 0,
    histogram: LATENCY_BUCKETS_US.map(() => 0),
  };
}

export class CheckerCore {
  readonly #opts: Required<Omit<CheckerCoreOptions, 'hostHasAddress'>> &
    Pick<CheckerCoreOptions, 'hostHasAddress'>;
  readonly #rng: Prng;
  #cfg: ResolvedConfig;
  #vss: VsState[] = [];
  #units = new Map<number, Unit>();
  #unitByKey = new Map<string, Unit>();
  #nextUnitId = 1;
  #heap = new DeadlineHeap<Unit | Ramp>();
  #vrrp = new Map<string, string>();
  #byInstance = new Map<string, VsState[]>();
  #started = false;
  /** The time of the input being handled (slow start measures from it). */
  #lastNow = 0;
  #stopped = false;

  constructor(config: KeepalivedConfig, options: CheckerCoreOptions) {
    this.#opts = {
      seed: options.seed,
      shareProbes: options.shareProbes ?? true,
      intervalSpreadPct: Math.min(50, Math.max(0, options.intervalSpreadPct ?? 0)),
      slowStartUs: Math.max(0, options.slowStartUs ?? 0),
      slowStartSteps: Math.max(1, Math.floor(options.slowStartSteps ?? 10)),
      watchdogGraceUs: options.watchdogGraceUs ?? 1_000_000,
      ...(options.hostHasAddress ? { hostHasAddress: options.hostHasAddress } : {}),
    };
    this.#rng = new Prng(options.seed);
    this.#cfg = resolveConfig(config, { shareProbes: this.#opts.shareProbes });
    this.#vss = this.#build(this.#cfg);
    this.#linkUnits(this.#vss, new Map());
    this.#indexInstances();
  }

  /** When timer() must next be called (µs), or null when nothing is scheduled. */
  nextDeadline(): number | null {
    return this.#heap.peek()?.atUs ?? null;
  }

  /** Puts the real servers in their initial (alpha) state and schedules the first checks. */
  start(nowUs: number): CheckAction[] {
    const out: CheckAction[] = [];
    this.#lastNow = nowUs;
    if (this.#started || this.#stopped) return out;
    this.#started = true;
    for (const vs of this.#vss) this.#initVs(vs, out, 'start');
    this.#activationLogs(this.#vss, out);
    for (const u of this.#units.values()) this.#scheduleFirst(u, nowUs);
    return out;
  }

  /** Fires everything due at `nowUs`, earliest first. */
  timer(nowUs: number): CheckAction[] {
    const out: CheckAction[] = [];
    this.#lastNow = nowUs;
    for (;;) {
      const item = this.#heap.popDue(nowUs);
      if (item === undefined) return out;
      if (item.kind === 'unit') this.#fireUnit(item, nowUs, out);
      else this.#fireRamp(item, out);
    }
  }

  /** The result of the attempt started by runProbe. Results for probes not in flight are ignored. */
  probeResult(probeId: number, outcome: ProbeOutcome, nowUs: number): CheckAction[] {
    const out: CheckAction[] = [];
    this.#lastNow = nowUs;
    const u = this.#units.get(probeId);
    if (u === undefined || !u.inFlight || this.#stopped) return out;
    u.inFlight = false;
    this.#apply(u, outcome, nowUs, out);
    return out;
  }

  /**
   * A result the probe found by itself (a watched FILE_CHECK file changed; a BFD session changed). Applied
   * at once; the schedule is not touched. Ignored for other kinds.
   */
  pushResult(probeId: number, outcome: ProbeOutcome, nowUs: number): CheckAction[] {
    const out: CheckAction[] = [];
    this.#lastNow = nowUs;
    const u = this.#units.get(probeId);
    if (u === undefined || this.#stopped || !this.#started) return out;
    if (u.spec.kind !== 'FILE_CHECK' && u.spec.kind !== 'BFD_CHECK') return out;
    this.#record(u, outcome);
    for (const s of u.subs) this.#step(s, outcome, out);
    return out;
  }

  /** A VRRP instance changed state: ha_suspend virtual servers check only while their instance is MASTER. */
  vrrpState(instance: string, state: string): CheckAction[] {
    const out: CheckAction[] = [];
    this.#vrrp.set(instance, state);
    for (const vs of this.#byInstance.get(instance) ?? []) {
      const suspended = this.#isSuspended(vs.spec);
      if (suspended === vs.suspended) continue;
      vs.suspended = suspended;
      if (!this.#started || this.#stopped) continue;
      for (const rs of vs.rs)
        for (const _ of rs.subs)
          out.push({
            type: 'log',
            message: `${suspended ? 'Suspend' : 'Activat'}ing healthchecker for service ${rs.spec.id} for VS ${vs.spec.id}`,
          });
    }
    return out;
  }

  /**
   * A new configuration (SIGHUP): virtual and real servers are matched by address, checkers by what they
   * check. Kept servers keep their state (a failed one stays failed), new ones start from their alpha
   * state, removed ones are taken out; kept probes keep their schedule.
   */
  reload(config: KeepalivedConfig, nowUs: number): CheckAction[] {
    const out: CheckAction[] = [];
    this.#lastNow = nowUs;
    if (this.#stopped) return out;
    const cfg = resolveConfig(config, { shareProbes: this.#opts.shareProbes });
    const vss = this.#build(cfg);
    const oldUnits = new Map(this.#unitByKey);
    this.#units.clear();
    this.#unitByKey.clear();
    const reused = this.#linkUnits(vss, oldUnits);
    if (!this.#started) {
      for (const u of oldUnits.values()) this.#heap.remove(u);
      this.#cfg = cfg;
      this.#vss = vss;
      this.#indexInstances();
      return out;
    }
    const newById = new Map(vss.map((v) => [v.spec.id, v]));
    const reloaded = new Set<RsState>();
    const pending: { nv: VsState; quorumUp: boolean }[] = [];
    for (const old of this.#vss) {
      const nv = newById.get(old.spec.id);
      if (nv === undefined) {
        const key = old.spec.config.key;
        out.push({
          type: 'log',
          message:
            key.kind === 'group'
              ? `Removing Virtual Server Group [${key.group}]`
              : `Removing Virtual Server ${old.spec.id}`,
        });
        this.#clearVs(old, false, out);
        out.push({ type: 'virtualServerRemoved', vs: old.spec.id, reason: 'reload' });
        continue;
      }
      for (const rs of old.rs) {
        const nrs = nv.rsById.get(rs.spec.id);
        if (nrs === undefined) {
          out.push({ type: 'log', message: `service ${rs.spec.id} no longer exist` });
          // Notifiers run for a real server removed from a virtual server that stays (keepalived: omega).
          this.#clearRs(old, rs, false, true, out);
          out.push({ type: 'realServerRemoved', vs: old.spec.id, rs: rs.spec.id, reason: 'reload' });
          continue;
        }
        reloaded.add(nrs);
        nrs.reloaded = true;
        nrs.prevEffective = rs.effective;
        nrs.alive = rs.alive;
        nrs.shownWeight = rs.shownWeight;
        nrs.latency = rs.latency;
        this.#migrate(rs, nrs);
        // The weight the old server had; the new configured weight is applied after the diff.
        nrs.effective = rs.effective;
      }
      this.#updateVsNotifies(old, false, out);
      nv.reloaded = true;
      pending.push({ nv, quorumUp: old.quorumUp });
      // The sorry server: kept if it is the same, else the old one leaves.
      const os = old.spec.sorry;
      const ns = nv.spec.sorry;
      if (os && ns && os.id === ns.id) nv.sorryActive = old.sorryActive;
      else if (os && old.sorryActive) {
        out.push({ type: 'log', message: `Removing sorry server ${os.id} from VS ${old.spec.id}` });
        out.push({
          type: 'sorryServerOut',
          vs: old.spec.id,
          sorry: os.id,
          address: os.address,
          port: os.port,
        });
        if (!ns) out.push({ type: 'log', message: `Adding alive servers to the pool for VS ${old.spec.id}` });
      }
    }
    for (const { nv, quorumUp } of pending) nv.quorumUp = quorumUp;

    // New probes are linked; kept ones keep their id, schedule and any attempt in flight.
    this.#cfg = cfg;
    this.#vss = vss;
    for (const [key, u] of oldUnits) {
      if (this.#unitByKey.get(key) === u) continue;
      u.removed = true;
      this.#heap.remove(u);
      out.push({ type: 'closeProbe', probeId: u.id });
    }
    this.#indexInstances();
    for (const vs of vss) {
      vs.suspended = this.#isSuspended(vs.spec);
      for (const rs of vs.rs) {
        if (!reloaded.has(rs)) continue;
        this.#settleReloaded(rs, out);
        const cur = rs.spec.weight + rs.subs.reduce((a, s) => a + s.offset, 0);
        if (cur !== rs.effective) this.#setEffective(rs, cur, 'reload', false, out);
      }
      this.#initVs(vs, out, 'reload', reloaded);
    }
    this.#activationLogs(vss, out);
    for (const u of this.#units.values()) if (!reused.has(u)) this.#scheduleFirst(u, nowUs);
    return out;
  }

  /** Shutdown: every real server leaves; with omega the down notifiers run (keepalived's order). */
  stop(_nowUs: number): CheckAction[] {
    const out: CheckAction[] = [];
    if (this.#stopped) return out;
    this.#stopped = true;
    this.#heap.clear();
    if (!this.#started) return out;
    for (const vs of this.#vss) {
      this.#clearVs(vs, true, out);
      out.push({ type: 'virtualServerRemoved', vs: vs.spec.id, reason: 'stop' });
    }
    return out;
  }

  /** The desired data-plane state, virtual server by virtual server. */
  snapshot(): VirtualServerView[] {
    return this.#vss.map((vs) => this.#view(vs));
  }

  /** The views of the virtual servers `ids` names (unknown ids are skipped): what one verdict changed. */
  views(ids: Iterable<string>): VirtualServerView[] {
    const want = new Set(ids);
    return this.#vss.filter((vs) => want.has(vs.spec.id)).map((vs) => this.#view(vs));
  }

  /** Per real server state, verdicts and check latency (for status pages and metrics). */
  status(): RealServerStatus[] {
    const res: RealServerStatus[] = [];
    for (const vs of this.#vss)
      for (const rs of vs.rs)
        res.push({
          vs: vs.spec.id,
          rs: rs.spec.id,
          alive: rs.alive,
          configuredWeight: rs.spec.weight,
          effectiveWeight: rs.effective,
          failedCheckers: rs.numFailed,
          previousEffectiveWeight: rs.prevEffective,
          reloaded: rs.reloaded,
          checkers: rs.subs.map((s) => ({
            probeId: s.unit.id,
            kind: s.spec.kind,
            up: s.isUp,
            hasRun: s.hasRun,
            retryIt: s.retryIt,
            weightOffset: s.offset,
            suspended: vs.suspended,
            ...(s.failedUrl && s.failedPath !== undefined ? { failedUrl: s.failedPath } : {}),
            ...(s.unit.startUs > 0 ? { lastRanUs: s.unit.startUs } : {}),
            lastStatus: s.lastStatus,
            lastErrno: s.lastErrno,
          })),
          latency: { ...rs.latency, histogram: [...rs.latency.histogram] },
        });
    return res;
  }

  /** Probes by id with their parameters (for the process that builds them with a ProbeFactory). */
  probes(): { probeId: number; spec: ResolvedChecker; subscribers: number }[] {
    return [...this.#units.values()].map((u) => ({
      probeId: u.id,
      spec: u.spec,
      subscribers: u.subs.length,
    }));
  }

  // ---- construction ----------------------------------------------------------------------------------

  #build(cfg: ResolvedConfig): VsState[] {
    return cfg.virtualServers.map((spec) => {
      const vs: VsState = {
        spec,
        rs: [],
        rsById: new Map(),
        quorumUp: false,
        sorryActive: false,
        suspended: false,
        reloaded: false,
      };
      vs.suspended = this.#isSuspended(spec);
      for (const rspec of spec.realServers) {
        const rs: RsState = {
          spec: rspec,
          vs,
          subs: [],
          numFailed: 0,
          alive: false,
          effective: rspec.weight,
          ramp: null,
          shownWeight: 0,
          latency: newLatency(),
          reloaded: false,
          prevEffective: 0,
        };
        vs.rs.push(rs);
        vs.rsById.set(rspec.id, rs);
      }
      return vs;
    });
  }

  /** Creates the subscribers and attaches them to shared probes (reusing old ones by key). */
  #linkUnits(vss: VsState[], old: Map<string, Unit>): Set<Unit> {
    const reused = new Set<Unit>();
    for (const vs of vss)
      for (const rs of vs.rs)
        for (const spec of rs.spec.checkers) {
          let u = this.#unitByKey.get(spec.shareKey);
          if (u === undefined) {
            const prev = old.get(spec.shareKey);
            if (prev !== undefined) {
              u = prev;
              u.subs = [];
              u.spec = spec;
              reused.add(u);
            } else {
              u = {
                kind: 'unit',
                id: this.#nextUnitId++,
                spec,
                subs: [],
                inFlight: false,
                startUs: 0,
                removed: false,
                atUs: 0,
                seq: 0,
                heapIndex: -1,
              };
            }
            this.#unitByKey.set(spec.shareKey, u);
            this.#units.set(u.id, u);
          }
          const sub: Sub = {
            unit: u,
            vs,
            rs,
            spec,
            isUp: true,
            hasRun: false,
            retryIt: 0,
            offset: 0,
            failedUrl: false,
            failedPath: undefined,
            lastStatus: 0,
            lastErrno: 0,
          };
          // Mostly one subscriber each: a one-element literal, where push() would reserve 17 slots.
          if (u.subs.length === 0) u.subs = [sub];
          else u.subs.push(sub);
          if (rs.subs.length === 0) rs.subs = [sub];
          else rs.subs.push(sub);
        }
    return reused;
  }

  #indexInstances(): void {
    this.#byInstance.clear();
    for (const vs of this.#vss)
      for (const inst of vs.spec.suspendInstances) {
        const l = this.#byInstance.get(inst) ?? [];
        l.push(vs);
        this.#byInstance.set(inst, l);
      }
  }

  #isSuspended(spec: ResolvedVirtualServer): boolean {
    if (spec.suspendInstances.length === 0) {
      const has = this.#opts.hostHasAddress;
      return spec.suspendAddress !== undefined && has !== undefined && !has(spec.suspendAddress);
    }
    return !spec.suspendInstances.some((i) => this.#vrrp.get(i) === 'MASTER');
  }

  /**
   * Initial checker states of a new real server: alpha checkers start failed. At start one failure is
   * enough (the retry count starts full); a server added by a reload starts with it empty, as in keepalived.
   */
  #initSubs(rs: RsState, reload: boolean): void {
    rs.numFailed = 0;
    for (const s of rs.subs) {
      s.isUp = !s.spec.alpha;
      // FILE_CHECK has no "not yet run" state in keepalived.
      s.hasRun = s.spec.kind === 'FILE_CHECK';
      s.retryIt = reload || s.spec.kind === 'SMTP_CHECK' ? 0 : s.spec.retry;
      s.offset = 0;
      s.failedUrl = false;
      s.lastStatus = 0;
      if (!s.isUp) rs.numFailed++;
    }
  }

  /** keepalived's init_service_vs: adds real servers with no failed checker, then settles quorum. */
  #initVs(vs: VsState, out: CheckAction[], reason: string, reloaded?: Set<RsState>): void {
    for (const rs of vs.rs) {
      if (reloaded?.has(rs)) continue;
      this.#initSubs(rs, reason === 'reload');
      rs.effective = rs.spec.weight;
      if (rs.numFailed === 0 && !rs.alive) {
        rs.alive = true;
        rs.shownWeight = realWeight(rs.effective);
        out.push({ type: 'realServerUp', vs: vs.spec.id, rs: rs.spec.id, weight: rs.shownWeight, reason });
        if (this.#cfg.rsInitNotifies) this.#rsNotifies(rs, false, out);
      }
    }
    this.#updateQuorum(vs, true, out);
  }

  /** keepalived logs this for each checker that is suspended or has not run yet. */
  #activationLogs(vss: VsState[], out: CheckAction[]): void {
    for (const vs of vss)
      for (const rs of vs.rs)
        for (const s of rs.subs) {
          if (s.spec.kind === 'FILE_CHECK' || s.spec.kind === 'BFD_CHECK') continue;
          if (vs.suspended || !s.hasRun)
            out.push({
              type: 'log',
              message: `${vs.suspended ? 'Dea' : 'A'}ctivating healthchecker for service ${rs.spec.id} for VS ${vs.spec.id}`,
            });
        }
  }

  #scheduleFirst(u: Unit, nowUs: number): void {
    if (!u.spec.polled) return;
    // FILE_CHECK: keepalived reads the file at once.
    if (u.spec.kind === 'FILE_CHECK') return this.#heap.schedule(u, nowUs);
    const w = u.spec.warmupUs;
    const warm = w > 0 ? Math.floor(w * this.#rng.float()) : 0;
    this.#heap.schedule(u, nowUs + BOOTSTRAP_DELAY_US + warm);
  }

  // ---- the check cycle ---------------------------------------------------------------------------------

  #fireUnit(u: Unit, nowUs: number, out: CheckAction[]): void {
    if (u.inFlight) {
      // The probe broke its contract: count a failure and forget the attempt.
      u.inFlight = false;
      this.#apply(
        u,
        {
          ok: false,
          latencyUs: nowUs - u.startUs,
          code: 'watchdog',
          reason: `probe ${u.id} gave no result within its timeout`,
        },
        nowUs,
        out,
      );
      return;
    }
    let active = false;
    for (const s of u.subs)
      if (!s.vs.suspended) {
        active = true;
        break;
      }
    if (!active) {
      // keepalived keeps a suspended checker's timer running and skips the check.
      this.#heap.schedule(u, nowUs + u.spec.delayLoopUs);
      return;
    }
    u.inFlight = true;
    u.startUs = nowUs;
    this.#heap.schedule(u, nowUs + u.spec.timeoutUs + this.#opts.watchdogGraceUs);
    out.push({
      type: 'runProbe',
      probeId: u.id,
      kind: u.spec.kind,
      checker: u.spec.config,
      target: u.spec.target,
      timeoutUs: u.spec.timeoutUs,
    });
  }

  #record(u: Unit, o: ProbeOutcome): void {
    const lat = Math.max(o.latencyUs, 0);
    let b = 0;
    while (lat > LATENCY_BUCKETS_US[b]!) b++;
    for (const s of u.subs) {
      const st = s.rs.latency;
      st.count++;
      st.sumUs += lat;
      if (!o.ok) st.failures++;
      st.lastUs = lat;
      st.ewmaUs = st.count === 1 ? lat : st.ewmaUs + (lat - st.ewmaUs) / 8;
      if (lat > st.maxUs) st.maxUs = lat;
      st.histogram[b]!++;
    }
  }

  #apply(u: Unit, o: ProbeOutcome, nowUs: number, out: CheckAction[]): void {
    this.#record(u, o);
    let next = Next.Loop;
    for (const s of u.subs) {
      const n = this.#step(s, o, out);
      if (n > next) next = n;
    }
    if (u.removed) return;
    const spec = u.spec;
    let delay: number;
    if (next === Next.Now) delay = 0;
    else if (next === Next.Retry) delay = spec.delayBeforeRetryUs;
    else if (next === Next.LoopMax) delay = Math.max(spec.delayBeforeRetryUs, spec.delayLoopUs);
    else {
      delay = spec.delayLoopUs;
      const pct = this.#opts.intervalSpreadPct;
      if (pct > 0) delay = Math.round(delay * (1 + (pct / 100) * (2 * this.#rng.float() - 1)));
    }
    // MISC_CHECK counts from the script's start, the others from the verdict (as keepalived does).
    const anchor = spec.kind === 'MISC_CHECK' ? u.startUs : nowUs;
    let at = anchor + delay;
    if (at <= nowUs) at = nowUs + 1;
    this.#heap.schedule(u, at);
  }

  /** One checker's share of an outcome: keepalived's epilog (retries, verdicts, weights, logs). */
  #step(s: Sub, o: ProbeOutcome, out: CheckAction[]): Next {
    const spec = s.spec;
    const http = spec.kind === 'HTTP_GET' || spec.kind === 'SSL_GET';
    if (spec.kind === 'MISC_CHECK') this.#miscStatus(s, o);
    else if (o.fileValue !== undefined) s.lastStatus = o.fileValue;
    if (!o.ok && o.connectErrno !== undefined) s.lastErrno = o.connectErrno;
    // A local failure to connect (not the server's): keepalived logs it and tries again after delay_loop,
    // counting nothing (words.ts rescheduleLine).
    if (!o.ok && o.code === 'local-error') {
      const line = rescheduleLine(spec, s.rs.spec.id);
      if (line !== null) {
        out.push({ type: 'log', message: line });
        return Next.Loop;
      }
    }
    if (o.ok && http && s.failedUrl) {
      // keepalived: the URL that failed works again; all URLs are checked once more before the server is up.
      s.failedUrl = false;
      s.failedPath = undefined;
      s.retryIt = 0;
      s.hasRun = true;
      return spec.config.fastRecovery ? Next.Now : Next.Loop;
    }
    if (o.ok) {
      let offset = s.offset;
      if (spec.kind === 'MISC_CHECK' && spec.config.miscDynamic)
        offset = (o.weight ?? s.rs.spec.weight) - s.rs.spec.weight;
      else if (spec.kind === 'FILE_CHECK') offset = o.weight ?? 0;
      if (offset !== s.offset) this.#setOffset(s, offset, true, out);
      s.retryIt = 0;
      if (!s.isUp || !s.hasRun) {
        const line = successLine(spec, s.rs.spec.id, s.vs.spec.id);
        if (line !== null) out.push({ type: 'log', message: line });
        this.#setCheckerState(s, true, 'check succeeded', out);
      }
      s.hasRun = true;
      return Next.Loop;
    }
    if (spec.kind === 'SMTP_CHECK') return this.#smtpFailure(s, o, out);
    if (!s.isUp && s.hasRun) return http ? (s.failedUrl ? Next.LoopMax : Next.Retry) : Next.Loop;
    const final = s.retryIt >= spec.retry;
    if (!final && s.isUp) s.retryIt++;
    const reason = reasonLine(spec, s, o, final, s.rs.spec.id, s.vs.spec.id);
    if (reason !== null) out.push({ type: 'log', message: reason });
    if (!final) {
      s.hasRun = true;
      return s.isUp ? Next.Retry : Next.Loop;
    }
    // keepalived's HTTP checker leaves its count past `retry` while the URL stays failed (docs/checkers.md).
    s.retryIt = http ? spec.retry + 1 : 0;
    for (const line of failLines(spec, s.hasRun, s.rs.spec.id, s.vs.spec.id))
      out.push({ type: 'log', message: line });
    // A failed checker gives back its dynamic weight, whatever the failure (a timed-out script too).
    if (s.offset !== 0) this.#setOffset(s, 0, false, out);
    this.#setCheckerState(s, false, o.reason, out, o.code === 'timeout');
    s.hasRun = true;
    if (http) {
      s.failedUrl = true;
      s.failedPath = o.url;
      return Next.LoopMax;
    }
    return Next.Loop;
  }

  /**
   * MISC_CHECK's last_exit_code: a success's status (0, or misc_dynamic's 2..255), or the status of the failure
   * that fails the checker; retried failures and kills leave it.
   */
  #miscStatus(s: Sub, o: ProbeOutcome): void {
    if (o.exitStatus === undefined) return;
    if (o.ok) s.lastStatus = o.exitStatus;
    else if ((s.isUp || !s.hasRun) && s.retryIt >= s.spec.retry) s.lastStatus = o.exitStatus;
  }

  /**
   * SMTP_CHECK counts its retries afresh at every cycle, whatever the server's state (keepalived resets the
   * count when a cycle starts): each cycle is up to retry + 1 attempts, and only an up (or unrun) checker
   * changes state on the last one.
   */
  #smtpFailure(s: Sub, o: ProbeOutcome & { ok: false }, out: CheckAction[]): Next {
    const final = s.retryIt >= s.spec.retry;
    const live = s.isUp || !s.hasRun;
    if (live && (final || s.spec.logAllFailures))
      out.push({ type: 'log', message: `SMTP_CHECK ${o.reason}` });
    if (!final) {
      s.retryIt++;
      return Next.Retry;
    }
    s.retryIt = 0;
    if (live) {
      if (s.offset !== 0) this.#setOffset(s, 0, false, out);
      this.#setCheckerState(s, false, o.reason, out);
    }
    s.hasRun = true;
    return Next.Loop;
  }

  /** keepalived's update_svr_checker_state + set_checker_state, then the checker's mail. */
  #setCheckerState(s: Sub, up: boolean, reason: string, out: CheckAction[], timedOut = false): void {
    const wasUp = s.isUp;
    const wasAlive = s.rs.alive;
    this.#updateCheckerState(s, up, reason, out);
    this.#checkerMail(s, wasUp, up, wasAlive, reason, timedOut, out);
  }

  /**
   * keepalived mails from each checker type's verdict code: only when the checker itself changes (MISC_CHECK:
   * at every verdict that reaches here, its first success included), and with no_checker_emails only when
   * the real server's liveness changed too. FILE_CHECK (and a checker that is only a weight) mails nothing.
   */
  #checkerMail(
    s: Sub,
    wasUp: boolean,
    up: boolean,
    wasAlive: boolean,
    reason: string,
    timedOut: boolean,
    out: CheckAction[],
  ): void {
    const rs = s.rs;
    if (!rs.spec.smtpAlert) return;
    if (s.spec.kind !== 'MISC_CHECK' && wasUp === up) return;
    if (wasAlive === rs.alive && this.#cfg.noCheckerEmails) return;
    const body = checkerMailBody(s.spec.kind, up, reason, timedOut);
    if (body !== null) out.push({ type: 'mail', vs: s.vs.spec.id, rs: rs.spec.id, up: rs.alive, body });
  }

  #updateCheckerState(s: Sub, up: boolean, reason: string, out: CheckAction[]): void {
    const rs = s.rs;
    if (s.isUp === up) {
      if (!s.hasRun) {
        if (s.spec.alpha || !up) this.#rsNotifies(rs, false, out);
        s.hasRun = true;
      }
      return;
    }
    s.hasRun = true;
    if (up) {
      if (rs.numFailed <= 1) this.#performSvrState(rs, true, reason, out);
    } else if (rs.numFailed === 0) this.#performSvrState(rs, false, reason, out);
    s.isUp = up;
    if (!up) rs.numFailed++;
    else if (rs.numFailed > 0) rs.numFailed--;
  }

  /** keepalived's perform_svr_state: the real server enters or leaves service. */
  #performSvrState(rs: RsState, alive: boolean, reason: string, out: CheckAction[]): void {
    if (rs.alive === alive) return;
    const vs = rs.vs;
    const inh = rs.spec.inhibit;
    const verb = alive ? (inh ? 'Enabl' : 'Add') : inh ? 'Disabl' : 'Remov';
    const prep = inh ? 'of' : alive ? 'to' : 'from';
    out.push({ type: 'log', message: `${verb}ing service ${rs.spec.id} ${prep} VS ${vs.spec.id}` });
    rs.alive = alive;
    if (alive) {
      const full = realWeight(rs.effective);
      if (this.#opts.slowStartUs > 0) {
        rs.ramp = { kind: 'ramp', rs, step: 1, startUs: 0, atUs: 0, seq: 0, heapIndex: -1 };
        rs.shownWeight = this.#rampWeight(full, 1);
        rs.ramp.startUs = this.#lastNow;
        this.#heap.schedule(
          rs.ramp,
          this.#lastNow + Math.round(this.#opts.slowStartUs / this.#opts.slowStartSteps),
        );
      } else rs.shownWeight = full;
      out.push({ type: 'realServerUp', vs: vs.spec.id, rs: rs.spec.id, weight: rs.shownWeight, reason });
    } else {
      this.#stopRamp(rs);
      rs.shownWeight = 0;
      out.push({ type: 'realServerDown', vs: vs.spec.id, rs: rs.spec.id, weight: 0, inhibit: inh, reason });
    }
    this.#rsNotifies(rs, false, out);
    this.#updateQuorum(vs, false, out);
  }

  #rampWeight(full: number, step: number): number {
    const n = this.#opts.slowStartSteps;
    return step >= n ? full : Math.max(full > 0 ? 1 : 0, Math.ceil((full * step) / n));
  }

  #stopRamp(rs: RsState): void {
    if (rs.ramp) this.#heap.remove(rs.ramp);
    rs.ramp = null;
  }

  #fireRamp(r: Ramp, out: CheckAction[]): void {
    const rs = r.rs;
    if (rs.ramp !== r || !rs.alive) return;
    r.step++;
    const w = this.#rampWeight(realWeight(rs.effective), r.step);
    if (r.step >= this.#opts.slowStartSteps) rs.ramp = null;
    else
      this.#heap.schedule(
        r,
        r.startUs + Math.round((r.step * this.#opts.slowStartUs) / this.#opts.slowStartSteps),
      );
    if (w !== rs.shownWeight) {
      rs.shownWeight = w;
      out.push({
        type: 'realServerWeight',
        vs: rs.vs.spec.id,
        rs: rs.spec.id,
        weight: w,
        reason: 'slow start',
      });
    }
  }

  /** A checker's weight contribution changed (misc_dynamic, FILE_CHECK). */
  #setOffset(s: Sub, offset: number, log: boolean, out: CheckAction[]): void {
    const eff = s.rs.effective + offset - s.offset;
    s.offset = offset;
    if (!log) {
      s.rs.effective = eff;
      return;
    }
    this.#setEffective(s.rs, eff, s.spec.kind === 'FILE_CHECK' ? 'track file' : 'misc_dynamic', true, out);
  }

  /** keepalived's update_svr_wgt. */
  #setEffective(rs: RsState, eff: number, reason: string, quorum: boolean, out: CheckAction[]): void {
    const oldW = realWeight(rs.effective);
    const newW = realWeight(eff);
    rs.effective = eff;
    if (oldW === newW) return;
    out.push({
      type: 'log',
      message: `Changing weight from ${oldW} to ${newW} for ${rs.alive ? '' : 'in'}active service ${rs.spec.id} of VS ${rs.vs.spec.id}`,
    });
    if (rs.alive) {
      const shown = rs.ramp ? this.#rampWeight(newW, rs.ramp.step) : newW;
      if (shown !== rs.shownWeight) {
        rs.shownWeight = shown;
        out.push({ type: 'realServerWeight', vs: rs.vs.spec.id, rs: rs.spec.id, weight: shown, reason });
      }
    }
    if (quorum) this.#updateQuorum(rs.vs, false, out);
  }

  #rsNotifies(rs: RsState, stopping: boolean, out: CheckAction[]): void {
    const script = rs.alive ? rs.spec.notifyUp : rs.spec.notifyDown;
    const vs = rs.vs.spec.id;
    if (script)
      out.push({
        type: 'notify',
        event: rs.alive ? 'notify_up' : 'notify_down',
        script,
        vs,
        rs: rs.spec.id,
        stopping,
      });
    out.push({ type: 'fifo', line: `RS ${rs.spec.id} ${vs} ${rs.alive ? 'UP' : 'DOWN'}\n` });
  }

  #vsNotifies(
    vs: VsState,
    stopping: boolean,
    out: CheckAction[],
    q: { init: boolean; threshold: number; weightSum: number },
  ): void {
    if (stopping && !vs.spec.omega) return;
    const script = vs.quorumUp ? vs.spec.quorumUp : vs.spec.quorumDown;
    if (script)
      out.push({
        type: 'notify',
        event: vs.quorumUp ? 'quorum_up' : 'quorum_down',
        script,
        vs: vs.spec.id,
        stopping,
      });
    out.push({ type: 'fifo', line: `VS ${vs.spec.id} ${vs.quorumUp ? 'UP' : 'DOWN'}\n` });
    if (vs.spec.smtpAlert) {
      const { quorum, hysteresis } = vs.spec;
      const body = stopping
        ? '=> Shutting down <='
        : quorumBody(vs.quorumUp, q.init, quorum, hysteresis, q.threshold, q.weightSum);
      out.push({ type: 'mail', vs: vs.spec.id, up: vs.quorumUp, body });
    }
  }

  #weightSum(vs: VsState): number {
    let sum = 0;
    for (const rs of vs.rs) if (rs.alive) sum += realWeight(rs.effective);
    return sum;
  }

  /** keepalived's update_quorum_state, with the sorry server switch. */
  #updateQuorum(vs: VsState, init: boolean, out: CheckAction[]): void {
    const ws = this.#weightSum(vs);
    const { quorum, hysteresis } = vs.spec;
    const threshold = quorum + (vs.quorumUp ? -1 : 1) * hysteresis;
    const id = vs.spec.id;
    const ss = vs.spec.sorry;
    if (!vs.quorumUp && ws >= threshold) {
      vs.quorumUp = true;
      out.push({
        type: 'log',
        message: `Gained quorum ${quorum}+${hysteresis}=${threshold} <= ${ws} for VS ${id}`,
      });
      if (ss && vs.sorryActive) {
        out.push({
          type: 'log',
          message: `${ss.inhibit ? 'Disabling' : 'Removing'} sorry server ${ss.id} from VS ${id}`,
        });
        vs.sorryActive = false;
        out.push({ type: 'sorryServerOut', vs: id, sorry: ss.id, address: ss.address, port: ss.port });
        out.push({ type: 'log', message: `Adding alive servers to the pool for VS ${id}` });
      }
      out.push({ type: 'quorumGained', vs: id, weightSum: ws, threshold });
      this.#vsNotifies(vs, false, out, { init, threshold, weightSum: ws });
    } else if (
      (vs.quorumUp && (ws === 0 || ws < threshold)) ||
      (init && !vs.quorumUp && ss !== undefined && !vs.sorryActive)
    ) {
      const was = vs.quorumUp;
      vs.quorumUp = false;
      out.push({
        type: 'log',
        message: `${init ? 'Starting with quorum down' : 'Lost quorum'} ${quorum}-${hysteresis}=${threshold} > ${ws} for VS ${id}`,
      });
      if (ss && !vs.sorryActive) {
        out.push({
          type: 'log',
          message: `${ss.inhibit ? 'Enabling' : 'Adding'} sorry server ${ss.id} to VS ${id}`,
        });
        out.push({ type: 'log', message: `Removing alive servers from the pool for VS ${id}` });
        vs.sorryActive = true;
        out.push({ type: 'sorryServerIn', vs: id, sorry: ss.id, address: ss.address, port: ss.port });
      }
      if (was) out.push({ type: 'quorumLost', vs: id, weightSum: ws, threshold });
      this.#vsNotifies(vs, false, out, { init, threshold, weightSum: ws });
    }
  }

  /** keepalived's update_vs_notifies: quorum lost by removal (no sorry server is pushed then). */
  #updateVsNotifies(vs: VsState, stopping: boolean, out: CheckAction[]): void {
    const threshold = vs.spec.quorum - vs.spec.hysteresis;
    const ws = this.#weightSum(vs);
    if (stopping || (vs.quorumUp && (ws === 0 || ws < threshold))) {
      const was = vs.quorumUp;
      vs.quorumUp = false;
      if (was) out.push({ type: 'quorumLost', vs: vs.spec.id, weightSum: ws, threshold });
      this.#vsNotifies(vs, stopping, out, { init: false, threshold, weightSum: ws });
    }
  }

  /** keepalived's clear_service_rs. `notify`: run the down notifiers (omega at stop; always on reload). */
  #clearRs(vs: VsState, rs: RsState, stopping: boolean, notify: boolean, out: CheckAction[]): void {
    const inhibited = rs.spec.inhibit && !rs.alive ? '(inhibited) ' : '';
    const present = rs.alive || rs.spec.inhibit;
    if (present || stopping)
      out.push({
        type: 'log',
        message: `${stopping ? 'Shutting down' : 'Removing'} ${inhibited}service ${rs.spec.id} from VS ${vs.spec.id}`,
      });
    this.#stopRamp(rs);
    if (!rs.alive) return;
    rs.alive = false;
    rs.shownWeight = 0;
    if (!notify) return;
    this.#rsNotifies(rs, stopping, out);
    if (rs.spec.smtpAlert)
      out.push({
        type: 'mail',
        vs: vs.spec.id,
        rs: rs.spec.id,
        up: false,
        body: stopping ? '=> Shutting down <=' : '=> Removing <=',
      });
  }

  /** keepalived's clear_service_vs. */
  #clearVs(vs: VsState, stopping: boolean, out: CheckAction[]): void {
    const ss = vs.spec.sorry;
    if (ss && vs.sorryActive) {
      vs.sorryActive = false;
      out.push({ type: 'sorryServerOut', vs: vs.spec.id, sorry: ss.id, address: ss.address, port: ss.port });
    }
    for (const rs of vs.rs) {
      this.#clearRs(vs, rs, stopping, !stopping || vs.spec.omega, out);
      out.push({
        type: 'realServerRemoved',
        vs: vs.spec.id,
        rs: rs.spec.id,
        reason: stopping ? 'stop' : 'reload',
      });
    }
    this.#updateVsNotifies(vs, stopping, out);
  }

  /** keepalived's migrate_checkers: old checker states carried to the new checkers of a kept real server. */
  #migrate(old: RsState, nrs: RsState): void {
    const used = new Set<Sub>();
    for (const ns of nrs.subs) {
      ns.isUp = true;
      ns.hasRun = false;
      ns.retryIt = 0;
      ns.offset = 0;
      ns.failedUrl = false;
      const os = old.subs.find((s) => !used.has(s) && s.spec.matchKey === ns.spec.matchKey);
      if (os === undefined) continue;
      used.add(os);
      // Kept as it was, even before its first run (keepalived would reset an unrun alpha checker to up).
      ns.isUp = os.isUp;
      ns.hasRun = os.hasRun;
      if (!ns.isUp) ns.retryIt = ns.spec.retry + 1;
      else ns.retryIt = Math.min(os.retryIt, ns.spec.retry);
      ns.offset = os.offset;
      ns.failedUrl = os.failedUrl;
      ns.failedPath = os.failedPath;
      ns.lastStatus = os.lastStatus;
    }
  }

  /** After migration: count failures, fail unrun alpha checkers where keepalived does, fix liveness. */
  #settleReloaded(rs: RsState, out: CheckAction[]): void {
    let failed = 0;
    let anyRun = false;
    for (const s of rs.subs) {
      if (s.hasRun && !s.isUp) failed++;
      if (s.hasRun) anyRun = true;
    }
    if (failed > 0 || (!rs.alive && !anyRun))
      for (const s of rs.subs)
        if (!s.hasRun) {
          if (s.spec.alpha && s.isUp) {
            s.isUp = false;
            failed++;
          }
          s.retryIt = s.spec.retry;
        }
    rs.numFailed = 0;
    for (const s of rs.subs) if (!s.isUp) rs.numFailed++;
    if (rs.numFailed === 0 && !rs.alive) this.#performSvrState(rs, true, 'reload', out);
    else if (rs.numFailed > 0 && rs.alive) {
      rs.alive = false;
      rs.shownWeight = 0;
      this.#stopRamp(rs);
      out.push({
        type: 'realServerDown',
        vs: rs.vs.spec.id,
        rs: rs.spec.id,
        weight: 0,
        inhibit: rs.spec.inhibit,
        reason: 'reload',
      });
    }
  }

  #view(vs: VsState): VirtualServerView {
    const live: VirtualServerView['live'] = [];
    const destinations: VirtualServerView['destinations'] = [];
    let weightSum = 0;
    for (const rs of vs.rs) {
      const { id, address, port, inhibit } = rs.spec;
      if (rs.alive) {
        weightSum += realWeight(rs.effective);
        live.push({ rs: id, address, port, weight: rs.shownWeight });
      }
      if (rs.alive && !vs.sorryActive)
        destinations.push({ id, address, port, weight: rs.shownWeight, sorry: false });
      else if (inhibit) destinations.push({ id, address, port, weight: 0, sorry: false });
    }
    const ss = vs.spec.sorry;
    if (ss && (vs.sorryActive || ss.inhibit))
      destinations.push({
        id: ss.id,
        address: ss.address,
        port: ss.port,
        weight: vs.sorryActive ? 1 : 0,
        sorry: true,
      });
    return {
      vs: vs.spec.id,
      quorumUp: vs.quorumUp,
      sorryActive: vs.sorryActive,
      reloaded: vs.reloaded,
      weightSum,
      live,
      destinations,
    };
  }
}
