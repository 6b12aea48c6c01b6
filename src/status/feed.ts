// The VRRP side of the status listener, in the main process: the runtime's observer (runtime-observer.ts)
// and a 1 Hz snapshot. Inside the runtime's batches it only notes numbers; what it sends goes out after the
// batch (setImmediate) or on its own timer: each transition once, the numbers that move once a second as one
// Float64Array, the instances' description only when the engine's parameters changed (start, reload), the
// masters' addresses and tracker readings only when they changed. Cost at 1,000 instances:
// docs/decisions/status-listener.md.
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { AfterTurn } from '../common/after-turn.js';
import { monotonicUs } from '../common/clock.js';
import type { KeepalivedConfig } from '../config/model.js';
import type { RuntimeObserver, TrackerState } from '../daemon/runtime-observer.js';
import type { DumpedInstance } from '../notify/dumps.js';
import type { VrrpTimerName } from '../vrrp/timers.js';
import {
  COUNTERS,
  FAILOVER_BOUNDS,
  FAULT_BITS,
  type InstanceInfo,
  LATENESS_BOUNDS,
  ROW_FIELDS,
  ROW_HEAD,
  STATE_CODE,
  type Tick,
  type ToStatus,
  type Transition,
} from './channel.js';

export interface FeedSource {
  dumpSnapshot(): DumpedInstance[];
  trackerStates(): TrackerState[];
}

const TICK_MS = 1000;
/** Instances per turn of the event loop while a snapshot is built: the VRRP loop is never held long. */
const SLICE = 200;
/** The event-loop delay window: percentiles over the last this many ticks. */
const LOOP_WINDOW_TICKS = 10;
/** Transitions kept for a listener that starts later (respawned). */
const KEEP_TRANSITIONS = 200;
const TIMER_ORDER: VrrpTimerName[] = ['masterDown', 'advert', 'garpDelay', 'garpRefresh', 'garpLowerPrio'];

export class StatusFeed implements RuntimeObserver {
  readonly #send: (m: ToStatus) => void;
  #source: FeedSource | null = null;
  #attached = false;
  #groups = new Map<string, string>();
  #params: unknown[] = [];
  #infos: InstanceInfo[] = [];
  #masters: (string | null)[] = [];
  #trackers = '';
  #lastTrackers: TrackerState[] = [];
  readonly #transitions: Transition[] = [];
  readonly #queued = new AfterTurn<ToStatus>((batch) => {
    for (const x of batch) this.#send(x);
  });
  #timer: NodeJS.Timeout | null = null;
  #loop: IntervalHistogram | null = null;
  #ticks = 0;
  /** The earliest deadline (µs) of the timer batch under way (null: not in a timer batch). */
  #batchDueUs: number | null = null;
  readonly #failoverFrom = new Map<string, number>();
  readonly #lateCounts = new Array<number>(LATENESS_BOUNDS.length + 1).fill(0);
  #lateSum = 0;
  readonly #failCounts = new Array<number>(FAILOVER_BOUNDS.length + 1).fill(0);
  #failSum = 0;
  #failCount = 0;
  #lateCount = 0;

  readonly #slice: number;
  /** Off while no listener runs (metrics_listen not configured): the observer calls return at once. */
  enabled = true;
  /** The snapshot under way (a newer one abandons it). */
  #generation = 0;

  /** `slice`: instances per event-loop turn while a snapshot is built (the benchmark times it whole). */
  constructor(send: (m: ToStatus) => void, slice = SLICE) {
    this.#send = send;
    this.#slice = slice;
  }

  /** Starts the snapshots (and the event-loop delay monitor) once the runtime runs (null: no VRRP, -C). */
  attach(source: FeedSource | null, cfg: KeepalivedConfig): void {
    this.#source = source;
    this.#attached = true;
    this.setConfig(cfg);
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    this.#tick();
  }

  /** After a reload: sync group membership comes from the configuration. */
  setConfig(cfg: KeepalivedConfig): void {
    this.#groups = new Map(cfg.syncGroups.flatMap((g) => g.members.map((m) => [m.name, g.name] as const)));
    this.#params = [];
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#loop?.disable();
  }

  // ===== RuntimeObserver: called inside the runtime's batches; notes only =====

  timerFired(due: { instance: string; timer: VrrpTimerName; atUs: number } | null, nowUs: number): void {
    if (due === null || !this.enabled) return;
    if (due.timer === 'advert') {
      const late = Math.max(0, nowUs - due.atUs) / 1e6;
      let k = 0;
      while (k < LATENESS_BOUNDS.length && late > LATENESS_BOUNDS[k]!) k++;
      this.#lateCounts[k]!++;
      this.#lateSum += late;
      this.#lateCount++;
    }
    // Whatever timer the batch began with, a Master_Down of another instance may be due in it too (the
    // engine fires every due timer in one batch): a takeover in this batch counts from the batch's earliest
    // deadline. Exact when the takeover's own timer came first; otherwise that instance's deadline lies
    // between this one and nowUs, so the figure errs by at most the batch's lateness, never under.
    // The batch is synchronous: the microtask runs when it is over (one function, made once).
    if (this.#batchDueUs === null) queueMicrotask(this.#endBatch);
    this.#batchDueUs = due.atUs;
  }

  readonly #endBatch = () => {
    this.#batchDueUs = null;
  };

  transition(instance: string, from: string, to: string, reason: string): void {
    if (!this.enabled) return;
    if (to === 'MASTER' && this.#batchDueUs !== null) this.#failoverFrom.set(instance, this.#batchDueUs);
    else if (to !== 'MASTER') this.#failoverFrom.delete(instance);
    const t = { instance, from, to, reason, atMs: Date.now() };
    this.#transitions.push(t);
    if (this.#transitions.length > KEEP_TRANSITIONS) this.#transitions.shift();
    this.#queue({ type: 'transition', t });
  }

  announced(instance: string): void {
    if (!this.enabled) return;
    const from = this.#failoverFrom.get(instance);
    if (from === undefined) return;
    this.#failoverFrom.delete(instance);
    const s = (monotonicUs() - from) / 1e6;
    let k = 0;
    while (k < FAILOVER_BOUNDS.length && s > FAILOVER_BOUNDS[k]!) k++;
    this.#failCounts[k]!++;
    this.#failSum += s;
    this.#failCount++;
  }

  #queue(m: ToStatus): void {
    this.#queued.push(m);
  }

  // ===== snapshots =====

  /** What a new listener process is sent first: the description, recent transitions, a full snapshot. */
  replay(): void {
    this.#params = [];
    this.#trackers = '';
    this.#masters = [];
    for (const t of this.#transitions) this.#send({ type: 'transition', t });
    if (this.#attached) this.#tick();
  }

  /** One snapshot (normally from the feed's own 1 s timer; public for the benchmark). */
  tick(): void {
    this.#tick();
  }

  #tick(): void {
    if (!this.#attached) return;
    const src = this.#source;
    const list = src?.dumpSnapshot() ?? [];
    const nowUs = monotonicUs();
    if (list.length !== this.#params.length || list.some((d, k) => d.params !== this.#params[k])) {
      this.#params = list.map((d) => d.params);
      this.#infos = list.map((d) => this.#info(d));
      this.#masters = [];
      this.#send({ type: 'instances', list: this.#infos });
    }
    const rows = new Float64Array(list.length * ROW_FIELDS);
    let mastersChanged = this.#masters.length !== list.length;
    const masters: (string | null)[] = new Array(list.length);
    const generation = ++this.#generation;
    let k = 0;
    // Plain indexed loops, a slice per turn: this runs on the VRRP loop, over every instance, each second.
    const step = () => {
      if (generation !== this.#generation) return;
      const end = Math.min(list.length, k + this.#slice);
      for (; k < end; k++) this.#row(list[k]!, k, rows, masters, nowUs);
      if (k < list.length) {
        setImmediate(step);
        return;
      }
      for (let j = 0; j < list.length; j++) if (this.#masters[j] !== masters[j]) mastersChanged = true;
      this.#finish(rows, masters, mastersChanged, src);
    };
    step();
  }

  #row(d: DumpedInstance, k: number, rows: Float64Array, masters: (string | null)[], nowUs: number): void {
    const st = d.status;
    masters[k] = st.masterAddress;
    const o = k * ROW_FIELDS;
    rows[o] = STATE_CODE[st.state] ?? 0;
    rows[o + 1] = STATE_CODE[st.wantState] ?? 0;
    rows[o + 2] = st.basePriority;
    rows[o + 3] = st.effectivePriority;
    rows[o + 4] = st.masterPriority;
    rows[o + 5] = st.masterAdverIntervalCs;
    rows[o + 6] =
      (st.fault.interface ? FAULT_BITS.interface : 0) |
      (st.fault.tracker ? FAULT_BITS.tracker : 0) |
      (st.fault.group ? FAULT_BITS.group : 0) |
      (st.fault.address ? FAULT_BITS.address : 0) |
      (st.fault.config ? FAULT_BITS.config : 0);
    rows[o + 7] = d.lastTransitionS;
    for (let j = 0; j < TIMER_ORDER.length; j++) {
      const at = st.timers[TIMER_ORDER[j]!];
      rows[o + 8 + j] = at === null ? -1 : Math.max(0, (at - nowUs) / 1000);
    }
    const s = d.stats as unknown as Record<string, number>;
    for (let j = 0; j < COUNTERS.length; j++) rows[o + ROW_HEAD.length + j] = s[COUNTERS[j]!] ?? 0;
  }

  #finish(
    rows: Float64Array,
    masters: (string | null)[],
    mastersChanged: boolean,
    src: FeedSource | null,
  ): void {
    const tick: Tick = {
      type: 'tick',
      atMs: Date.now(),
      rows,
      loop: this.#loopDelay(),
      lateness: {
        bounds: LATENESS_BOUNDS,
        counts: [...this.#lateCounts],
        sum: this.#lateSum,
        count: this.#lateCount,
      },
      failovers: {
        bounds: FAILOVER_BOUNDS,
        counts: [...this.#failCounts],
        sum: this.#failSum,
        count: this.#failCount,
      },
    };
    if (mastersChanged) {
      this.#masters = masters;
      tick.masters = masters;
    }
    const trackers = src?.trackerStates() ?? [];
    if (!sameTrackers(trackers, this.#lastTrackers) || this.#trackers === '') {
      this.#lastTrackers = trackers;
      this.#trackers = 'sent';
      tick.trackers = trackers;
    }
    this.#send(tick);
  }

  #loopDelay(): Tick['loop'] {
    const h = this.#loop;
    if (!h) return { p50: 0, p99: 0, max: 0 };
    const r = { p50: h.percentile(50) / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 };
    if (++this.#ticks % LOOP_WINDOW_TICKS === 0) h.reset();
    return r;
  }

  #info(d: DumpedInstance): InstanceInfo {
    const p = d.params;
    const vip = (v: { address: string; prefixLen: number; dev?: string }) => ({
      address: v.address,
      prefixLen: v.prefixLen,
      dev: v.dev ?? p.interface,
    });
    return {
      name: p.name,
      interface: p.interface,
      vrid: p.vrid,
      family: p.family,
      version: p.version,
      advertIntervalCs: p.advertIntervalCs,
      garpMasterDelayS: p.garpMasterDelayUs / 1e6,
      unicastPeers: [...p.unicastPeers],
      vips: p.vips.map(vip),
      excludedVips: p.excludedVips.map(vip),
      trackers: p.trackers.map((t) => ({ name: t.name, kind: t.kind, weight: t.weight, reverse: t.reverse })),
      syncGroup: this.#groups.get(p.name) ?? null,
    };
  }
}

function sameTrackers(a: TrackerState[], b: TrackerState[]): boolean {
  if (a.length !== b.length) return false;
  for (const [k, x] of a.entries()) {
    const y = b[k]!;
    if (x.name !== y.name || x.kind !== y.kind) return false;
    if ('up' in x ? !('up' in y) || x.up !== y.up : !('value' in y) || x.value !== y.value) return false;
    if ('state' in x && (!('state' in y) || x.state !== y.state)) return false;
  }
  return true;
}
