// The status listener's picture of the daemon, built from the feed's messages (channel.ts), and the views
// served from it: the /status document (schema/status.schema.json), and the page's compact per-instance
// view (what the page shows; sent on /events only when it changed). Pure: no I/O.
import type { TrackerState } from '../daemon/runtime-observer.js';
import type { ServiceTraffic } from '../lvs/counters.js';
import {
  type BucketCounts,
  COUNTERS,
  type CounterName,
  FAILOVER_BOUNDS,
  FAULT_BITS,
  type InstanceInfo,
  LATENESS_BOUNDS,
  type RealServerEvent,
  type RealServerInfo,
  ROW_FIELDS,
  ROW_HEAD,
  STATE_NAME,
  type Tick,
  type ToStatus,
  type Transition,
} from './channel.js';

/** Transitions kept per instance, and across all instances. */
const PER_INSTANCE_TRANSITIONS = 10;
const RECENT_TRANSITIONS = 50;
/** Changes kept per real server. */
const RS_HISTORY = 20;

/** One entry of a real server's history: a change the checker reported, or the state first seen. */
interface RsHistoryEntry {
  atMs: number;
  alive: boolean;
  /** 'up' | 'down' | 'weight' from the checker's events; 'seen': the state in a list (first, or missed events). */
  kind: RealServerEvent['kind'] | 'seen';
  weight: number;
  reason: string | null;
}
/** keepalived_up is 0 when the VRRP process has sent no snapshot for this long (it runs one a second). */
export const STALE_AFTER_MS = 5000;

export const STATUS_SCHEMA_ID = 'keepalived-ts/status/1';

export interface StatusInstance {
  name: string;
  state: string;
  wantState: string;
  interface: string;
  vrid: number;
  family: 4 | 6;
  version: 2 | 3;
  syncGroup: string | null;
  priority: { base: number; effective: number; master: number };
  masterAddress: string | null;
  timers: {
    advertIntervalS: number;
    masterAdvertIntervalS: number;
    masterDownInMs: number | null;
    advertInMs: number | null;
    garpDelayInMs: number | null;
    garpRefreshInMs: number | null;
    garpLowerPrioInMs: number | null;
  };
  vips: { address: string; prefixLen: number; dev: string }[];
  excludedVips: { address: string; prefixLen: number; dev: string }[];
  unicastPeers: string[];
  trackers: {
    name: string;
    kind: string;
    weight: number;
    reverse: boolean;
    up: boolean | null;
    value: number | null;
  }[];
  fault: { interface: boolean; tracker: boolean; group: boolean; address: boolean; config: boolean };
  lastTransition: { at: string; from: string | null; to: string; reason: string | null } | null;
  transitions: { at: string; from: string; to: string; reason: string }[];
  counters: Record<CounterName, number>;
}

export interface StatusRealServer {
  name: string;
  alive: boolean;
  weight: { configured: number; effective: number };
  failedCheckers: number;
  checkers: { kind: string; up: boolean; hasRun: boolean }[];
  latency: { checks: number; failures: number; lastMs: number; ewmaMs: number; maxMs: number };
  history: { at: string; alive: boolean; change: string; weight: number; reason: string | null }[];
}

export interface StatusDocument {
  schema: typeof STATUS_SCHEMA_ID;
  generatedAt: string;
  snapshotAt: string | null;
  up: boolean;
  daemon: { pid: number; version: string; startedAt: string; listenerPid: number };
  instances: StatusInstance[];
  recentTransitions: (Transition & { at: string })[];
  checker: { running: boolean; updatedAt: string | null } | null;
  virtualServers: { name: string; realServers: StatusRealServer[] }[];
  traffic: ServiceTraffic[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (v: number) => (v < 0 ? null : Math.round(v * 1000) / 1000);

/** Row offsets by field name. */
const FIELD_INDEX: Record<string, number> = Object.fromEntries([
  ...ROW_HEAD.map((f, j) => [f, j] as const),
  ...COUNTERS.map((c, j) => [c, ROW_HEAD.length + j] as const),
]);

export class StatusModel {
  daemon = { pid: 0, version: '', startedMs: 0 };
  infos: InstanceInfo[] = [];
  #index = new Map<string, number>();
  rows: Float64Array = new Float64Array(0);
  masters: (string | null)[] = [];
  trackers: TrackerState[] = [];
  tickMs: number | null = null;
  loop = { p50: 0, p99: 0, max: 0 };
  lateness: BucketCounts = { bounds: LATENESS_BOUNDS, counts: [], sum: 0, count: 0 };
  failovers: BucketCounts = {
    bounds: FAILOVER_BOUNDS,
    counts: new Array(FAILOVER_BOUNDS.length + 1).fill(0),
    sum: 0,
    count: 0,
  };
  readonly #transitions = new Map<string, Transition[]>();
  readonly recent: Transition[] = [];
  checkerRunning: boolean | null = null;
  realServers: RealServerInfo[] = [];
  realServersMs: number | null = null;
  /** The data plane's traffic counters, as last read by the checker process. */
  traffic: ServiceTraffic[] = [];
  readonly #rsHistory = new Map<string, RsHistoryEntry[]>();

  /** Bumped by every message: what was rendered from an older version is stale. */
  version = 0;

  /** Applies one message; returns what changed, for the page's events. */
  apply(m: ToStatus): 'instances' | 'tick' | 'transition' | 'realServers' | 'other' {
    this.version++;
    switch (m.type) {
      case 'settings':
        this.daemon = m.daemon;
        return 'other';
      case 'instances':
        this.infos = m.list;
        this.#index = new Map(m.list.map((i, k) => [i.name, k]));
        this.rows = new Float64Array(m.list.length * ROW_FIELDS);
        this.masters = m.list.map(() => null);
        return 'instances';
      case 'tick':
        this.#tick(m);
        return 'tick';
      case 'transition': {
        const t = m.t;
        let list = this.#transitions.get(t.instance);
        if (!list) {
          list = [];
          this.#transitions.set(t.instance, list);
        }
        // A replayed transition (new listener) already seen is not added twice.
        if (list.some((x) => x.atMs === t.atMs && x.to === t.to)) return 'other';
        list.push(t);
        if (list.length > PER_INSTANCE_TRANSITIONS) list.shift();
        this.recent.push(t);
        if (this.recent.length > RECENT_TRANSITIONS) this.recent.shift();
        // The state moves now, not at the next snapshot.
        const k = this.#index.get(t.instance);
        const code = Object.entries(STATE_NAME).find(([, n]) => n === t.to)?.[0];
        if (k !== undefined && code !== undefined) this.rows[k * ROW_FIELDS] = Number(code);
        return 'transition';
      }
      case 'realServers':
        this.#realServers(m.list, m.atMs, m.events ?? []);
        if (m.traffic) this.traffic = m.traffic;
        return 'realServers';
      case 'checker':
        this.checkerRunning = m.running;
        return 'realServers';
    }
  }

  #tick(m: Tick): void {
    if (m.rows.length === this.infos.length * ROW_FIELDS) this.rows = m.rows;
    if (m.masters && m.masters.length === this.infos.length) this.masters = m.masters;
    if (m.trackers) this.trackers = m.trackers;
    this.tickMs = m.atMs;
    this.loop = m.loop;
    this.lateness = m.lateness;
    this.failovers = m.failovers;
  }

  #realServers(list: RealServerInfo[], atMs: number, events: RealServerEvent[]): void {
    const history = (vs: string, rs: string) => {
      const key = `${vs}\n${rs}`;
      let h = this.#rsHistory.get(key);
      if (!h) {
        h = [];
        this.#rsHistory.set(key, h);
      }
      return h;
    };
    const push = (h: RsHistoryEntry[], e: RsHistoryEntry) => {
      h.push(e);
      if (h.length > RS_HISTORY) h.shift();
    };
    // Every change the checker decided, with its time and reason (the checker sends them as they happen).
    for (const e of events) {
      const h = history(e.vs, e.rs);
      const listed = () => list.find((r) => r.vs === e.vs && r.rs === e.rs)?.alive ?? true;
      const alive = e.kind === 'weight' ? (h[h.length - 1]?.alive ?? listed()) : e.kind === 'up';
      push(h, { atMs: e.atMs, alive, kind: e.kind, weight: e.weight, reason: e.reason });
    }
    // A server seen for the first time, or whose state differs from its history (events lost with a
    // respawned checker): its state as listed, without a reason.
    for (const r of list) {
      const h = history(r.vs, r.rs);
      if (h.length === 0 || h[h.length - 1]!.alive !== r.alive)
        push(h, { atMs, alive: r.alive, kind: 'seen', weight: r.effectiveWeight, reason: null });
    }
    this.realServers = list;
    this.realServersMs = atMs;
    this.checkerRunning = true;
  }

  up(nowMs: number): boolean {
    return this.tickMs !== null && nowMs - this.tickMs < STALE_AFTER_MS;
  }

  num(k: number, field: (typeof ROW_HEAD)[number] | CounterName): number {
    return this.rows[k * ROW_FIELDS + FIELD_INDEX[field]!] ?? 0;
  }

  stateOf(k: number): string {
    return STATE_NAME[this.rows[k * ROW_FIELDS] ?? 0] ?? 'INIT';
  }

  #trackerReading(name: string, kind: string): { up: boolean | null; value: number | null } {
    const t = this.trackers.find((x) => x.name === name && x.kind === kind);
    if (!t) return { up: null, value: null };
    return 'up' in t ? { up: t.up, value: null } : { up: null, value: t.value };
  }

  instance(k: number): StatusInstance {
    const i = this.infos[k]!;
    const o = k * ROW_FIELDS;
    const r = this.rows;
    const faults = r[o + 6]!;
    const counters = {} as Record<CounterName, number>;
    for (const [j, c] of COUNTERS.entries()) counters[c] = r[o + ROW_HEAD.length + j]!;
    const list = this.#transitions.get(i.name) ?? [];
    const last = list[list.length - 1];
    const lastS = r[o + 7]!;
    return {
      name: i.name,
      state: this.stateOf(k),
      wantState: STATE_NAME[r[o + 1]!] ?? 'BACKUP',
      interface: i.interface,
      vrid: i.vrid,
      family: i.family,
      version: i.version,
      syncGroup: i.syncGroup,
      priority: { base: r[o + 2]!, effective: r[o + 3]!, master: r[o + 4]! },
      masterAddress: this.masters[k] ?? null,
      timers: {
        advertIntervalS: i.advertIntervalCs / 100,
        masterAdvertIntervalS: r[o + 5]! / 100,
        masterDownInMs: ms(r[o + 8]!),
        advertInMs: ms(r[o + 9]!),
        garpDelayInMs: ms(r[o + 10]!),
        garpRefreshInMs: ms(r[o + 11]!),
        garpLowerPrioInMs: ms(r[o + 12]!),
      },
      vips: i.vips,
      excludedVips: i.excludedVips,
      unicastPeers: i.unicastPeers,
      trackers: i.trackers.map((t) => ({ ...t, ...this.#trackerReading(t.name, t.kind) })),
      fault: {
        interface: (faults & FAULT_BITS.interface) !== 0,
        tracker: (faults & FAULT_BITS.tracker) !== 0,
        group: (faults & FAULT_BITS.group) !== 0,
        address: (faults & FAULT_BITS.address) !== 0,
        config: (faults & FAULT_BITS.config) !== 0,
      },
      lastTransition: last
        ? { at: iso(last.atMs), from: last.from, to: last.to, reason: last.reason }
        : lastS > 0
          ? { at: iso(lastS * 1000), from: null, to: this.stateOf(k), reason: null }
          : null,
      transitions: list.map((t) => ({ at: iso(t.atMs), from: t.from, to: t.to, reason: t.reason })),
      counters,
    };
  }

  virtualServers(): StatusDocument['virtualServers'] {
    const byVs = new Map<string, StatusRealServer[]>();
    for (const r of this.realServers) {
      let list = byVs.get(r.vs);
      if (!list) {
        list = [];
        byVs.set(r.vs, list);
      }
      list.push({
        name: r.rs,
        alive: r.alive,
        weight: { configured: r.configuredWeight, effective: r.effectiveWeight },
        failedCheckers: r.failedCheckers,
        checkers: r.checkers,
        latency: {
          checks: r.latency.count,
          failures: r.latency.failures,
          lastMs: r.latency.lastUs / 1000,
          ewmaMs: r.latency.ewmaUs / 1000,
          maxMs: r.latency.maxUs / 1000,
        },
        history: (this.#rsHistory.get(`${r.vs}\n${r.rs}`) ?? []).map((h) => ({
          at: iso(h.atMs),
          alive: h.alive,
          change: h.kind,
          weight: h.weight,
          reason: h.reason,
        })),
      });
    }
    return [...byVs].map(([name, realServers]) => ({ name, realServers }));
  }

  document(nowMs: number, listenerPid: number): StatusDocument {
    return {
      schema: STATUS_SCHEMA_ID,
      generatedAt: iso(nowMs),
      snapshotAt: this.tickMs === null ? null : iso(this.tickMs),
      up: this.up(nowMs),
      daemon: {
        pid: this.daemon.pid,
        version: this.daemon.version,
        startedAt: iso(this.daemon.startedMs),
        listenerPid,
      },
      instances: this.infos.map((_, k) => this.instance(k)),
      recentTransitions: this.recent.map((t) => ({ ...t, at: iso(t.atMs) })),
      checker:
        this.checkerRunning === null
          ? null
          : {
              running: this.checkerRunning,
              updatedAt: this.realServersMs === null ? null : iso(this.realServersMs),
            },
      virtualServers: this.virtualServers(),
      traffic: this.traffic,
    };
  }

  /** What the page shows of an instance (no counters, no timers: those move every second). */
  pageView(k: number): PageInstance {
    const s = this.instance(k);
    return {
      name: s.name,
      state: s.state,
      interface: s.interface,
      vrid: s.vrid,
      syncGroup: s.syncGroup,
      priority: s.priority.effective,
      basePriority: s.priority.base,
      masterAddress: s.masterAddress,
      vips: s.vips.map((v) => `${v.address}/${v.prefixLen}`),
      trackers: s.trackers.map((t) => ({
        name: t.name,
        kind: t.kind,
        ok: t.up ?? (t.value === null ? null : t.value === 0 ? true : null),
        value: t.value,
      })),
      lastTransition: s.lastTransition,
    };
  }
}

export interface PageInstance {
  name: string;
  state: string;
  interface: string;
  vrid: number;
  syncGroup: string | null;
  priority: number;
  basePriority: number;
  masterAddress: string | null;
  vips: string[];
  trackers: { name: string; kind: string; ok: boolean | null; value: number | null }[];
  lastTransition: StatusInstance['lastTransition'];
}
