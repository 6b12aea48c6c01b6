// The nftables data plane: keeps the committed state and each service's rendered objects in memory (the
// kernel is never read back), and sends each change set as one atomic transaction through an NftRunner.
// A change touching one service costs in proportion to that service, not to the whole table.

import type { ConntrackFlusher } from './ct-flush.js';
import {
  activePool,
  applyChanges,
  type Change,
  canonical,
  type Dataplane,
  type DataplaneError,
  type DataplaneResult,
  type DataplaneState,
  EMPTY_STATE,
  matchKey,
  planChanges,
  realKey,
  type ServiceSpec,
  touchedServices,
  validateState,
} from './dataplane.js';
import type { ConnCounts } from './list.js';
import {
  type DrOptions,
  diffScript,
  emptyAlloc,
  type Fragment,
  fullScript,
  type IdAlloc,
  markKey,
  partialModel,
  removeScript,
  renderService,
  unsupported,
} from './nft-model.js';
import type { NftRunner } from './nft-runner.js';
import { countWeights, isCountBased } from './schedulers.js';

const fail = (error: DataplaneError): DataplaneResult => ({ ok: false, error });

const indexKey = (s: ServiceSpec, m: ServiceSpec['matches'][number]): string =>
  m.kind === 'fwmark' ? `${s.family}|${matchKey(m)}` : `${s.protocol}|${matchKey(m)}`;

function serversOf(s: ServiceSpec): { address: string; port: number }[] {
  return s.sorry ? [...s.reals, s.sorry] : s.reals;
}

export class NftDataplane implements Dataplane {
  #runner: NftRunner;
  #state: DataplaneState = EMPTY_STATE;
  #byName = new Map<string, ServiceSpec>();
  #alloc: IdAlloc = emptyAlloc();
  #frags = new Map<string, Fragment>();
  /** Rebalancer shares per count-driven service, with the pool they were computed for. */
  #slotWeights = new Map<string, { sig: string; weights: number[] }>();
  /** Match key → owning service, to refuse two services claiming one address:port or fwmark. */
  #matches = new Map<string, string>();
  #started = false;
  /** Serialises transactions: each one is computed against the state the previous one committed. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The last script sent (for logs and tests). */
  lastScript = '';

  #dr: DrOptions | undefined;
  #log: ((message: string) => void) | undefined;
  #warned = new Set<string>();

  #noteApproximated(services: Iterable<ServiceSpec>): void {
    for (const s of services)
      if (isCountBased(s.scheduler) && !this.#warned.has(s.scheduler)) {
        this.#warned.add(s.scheduler);
        this.#log?.(
          `scheduler ${s.scheduler} (service ${s.name}) is approximated on nftables: weighted rotation rebalanced from conntrack connection counts`,
        );
      }
  }
  #conntrack: ConntrackFlusher | undefined;
  #expireNodestConn: boolean;
  /** Errors of the last conntrack flush (the transaction itself had succeeded). */
  lastFlushErrors: string[] = [];

  /**
   * `dr`: the interfaces direct-routing services use (without it, DR services are refused).
   * `conntrack`: deletes the connections of removed real servers — always for UDP/SCTP services (stale
   * flows would otherwise keep going to a failed server), for TCP only with `expireNodestConn` (IPVS's
   * sysctl of that name; otherwise established TCP connections to a removed server continue).
   */
  constructor(
    runner: NftRunner,
    opts: {
      dr?: DrOptions;
      conntrack?: ConntrackFlusher;
      expireNodestConn?: boolean;
      /** Receives one notice per approximated scheduler in use (see docs/lvs.md). */
      log?: (message: string) => void;
    } = {},
  ) {
    this.#runner = runner;
    this.#log = opts.log;
    this.#dr = opts.dr;
    this.#conntrack = opts.conntrack;
    this.#expireNodestConn = opts.expireNodestConn ?? false;
  }

  committed(): DataplaneState {
    return this.#state;
  }

  /** Conntrack mark of each (service, server) pair — what the listing counts connections by. */
  marks(): ReadonlyMap<string, number> {
    return this.#alloc.marks;
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Ids for a service and its servers; marks of servers it no longer has are dropped. */
  #ensureIds(s: ServiceSpec): void {
    const a = this.#alloc;
    if (!a.services.has(s.name)) a.services.set(s.name, a.nextService++);
    for (const r of serversOf(s)) {
      const k = markKey(s.name, r);
      if (!a.marks.has(k)) a.marks.set(k, a.nextMark++);
    }
  }

  /** Drops ids of what left; returns the marks whose connections should be flushed. */
  #dropIds(old: ServiceSpec | undefined, now: ServiceSpec | undefined): number[] {
    if (!old) return [];
    if (!now) this.#alloc.services.delete(old.name);
    const keep = new Set(now ? serversOf(now).map(realKey) : []);
    const flush: number[] = [];
    const wantFlush = old.protocol !== 'tcp' || this.#expireNodestConn;
    for (const r of serversOf(old))
      if (!keep.has(realKey(r))) {
        const m = this.#alloc.marks.get(markKey(old.name, r));
        if (m !== undefined && wantFlush) flush.push(m);
        this.#alloc.marks.delete(markKey(old.name, r));
      }
    return flush;
  }

  start(state: DataplaneState): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const bad = validateState(state)[0] ?? unsupported(state, this.#dr)[0];
      if (bad) return fail(bad);
      const want = canonical(state);
      this.#noteApproximated(want.services);
      const prevAlloc = this.#alloc;
      this.#alloc = emptyAlloc();
      this.#alloc.nextService = prevAlloc.nextService;
      this.#alloc.nextMark = prevAlloc.nextMark;
      for (const s of want.services) {
        // Keep earlier ids where known, so conntrack marks of live connections stay meaningful.
        const id = prevAlloc.services.get(s.name);
        if (id !== undefined) this.#alloc.services.set(s.name, id);
        for (const r of serversOf(s)) {
          const m = prevAlloc.marks.get(markKey(s.name, r));
          if (m !== undefined) this.#alloc.marks.set(markKey(s.name, r), m);
        }
        this.#ensureIds(s);
      }
      const frags = new Map(
        want.services.map((s) => [s.name, renderService(s, this.#alloc, this.#dr, this.#sharesFor(s))]),
      );
      const script = fullScript(partialModel(frags.values(), true, this.#dr));
      this.lastScript = script;
      const r = await this.#runner.run(script);
      if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      this.#commit(want, frags);
      this.#started = true;
      return { ok: true };
    });
  }

  #commit(state: DataplaneState, frags: Map<string, Fragment>): void {
    this.#state = state;
    this.#byName = new Map(state.services.map((s) => [s.name, s]));
    this.#frags = frags;
    this.#matches = new Map();
    for (const s of state.services) for (const m of s.matches) this.#matches.set(indexKey(s, m), s.name);
  }

  update(state: DataplaneState): Promise<DataplaneResult> {
    if (!this.#started) return this.start(state);
    return this.apply(planChanges(this.#state, state));
  }

  apply(plan: readonly Change[]): Promise<DataplaneResult> {
    if (!this.#started) return this.start(applyChanges(this.#state, plan));
    return this.#serial(async () => {
      if (plan.length === 0) return { ok: true };
      const next = applyChanges(this.#state, plan);
      const names = touchedServices(plan);
      const nextByName = new Map<string, ServiceSpec>();
      for (const s of next.services) if (names.has(s.name)) nextByName.set(s.name, s);
      const touched = [...nextByName.values()];
      const bad = validateState({ services: touched })[0] ?? unsupported({ services: touched }, this.#dr)[0];
      if (bad) return fail(bad);
      const idx = new Map(this.#matches);
      for (const n of names) {
        const old = this.#byName.get(n);
        for (const m of old?.matches ?? []) if (old) idx.delete(indexKey(old, m));
      }
      for (const s of touched)
        for (const m of s.matches) {
          const k = indexKey(s, m);
          const owner = idx.get(k);
          if (owner !== undefined && owner !== s.name)
            return fail({ code: 'LVS_DUPLICATE_MATCH', message: `${matchKey(m)} in ${owner} and ${s.name}` });
          idx.set(k, s.name);
        }
      this.#noteApproximated(touched);
      for (const s of touched) this.#ensureIds(s);
      const oldFrags: Fragment[] = [];
      const newFrags = new Map<string, Fragment>();
      for (const n of names) {
        const f = this.#frags.get(n);
        if (f) oldFrags.push(f);
        const s = nextByName.get(n);
        if (s) newFrags.set(n, renderService(s, this.#alloc, this.#dr, this.#sharesFor(s)));
      }
      const script = diffScript(partialModel(oldFrags), partialModel(newFrags.values()));
      this.lastScript = script;
      if (script !== '') {
        const r = await this.#runner.run(script);
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      const flush: number[] = [];
      for (const n of names) {
        flush.push(...this.#dropIds(this.#byName.get(n), nextByName.get(n)));
        const f = newFrags.get(n);
        if (f) this.#frags.set(n, f);
        else this.#frags.delete(n);
        const s = nextByName.get(n);
        if (s) this.#byName.set(n, s);
        else this.#byName.delete(n);
      }
      this.#state = next;
      this.#matches = idx;
      this.lastFlushErrors = flush.length > 0 && this.#conntrack ? await this.#conntrack.flush(flush) : [];
      return { ok: true };
    });
  }

  /**
   * Count-driven schedulers (lc, wlc, sed, nq, lblc, lblcr, ovf, twos): recomputes each such service's
   * slot shares from per-server connection counts (conntrack, by mark) and rewrites the slots that
   * changed, in one transaction. Meant to be called every polling period by the checker process.
   */
  rebalance(counts: ReadonlyMap<number, ConnCounts>): Promise<DataplaneResult> {
    return this.#serial(async () => {
      if (!this.#started) return { ok: true };
      const changed: { s: ServiceSpec; sig: string; weights: number[] }[] = [];
      for (const s of this.#state.services) {
        if (!isCountBased(s.scheduler)) continue;
        const pool = activePool(s);
        if (pool.length < 2 && s.scheduler !== 'ovf') continue;
        const loads = pool.map((r) => {
          const m = this.#alloc.marks.get(markKey(s.name, r));
          const c = (m !== undefined && counts.get(m)) || { active: 0, inactive: 0 };
          return { weight: r.weight, active: c.active, inactive: c.inactive };
        });
        const weights = countWeights(s.scheduler, loads);
        const sig = pool.map(realKey).join(',');
        const cur = this.#slotWeights.get(s.name);
        if (cur && cur.sig === sig && cur.weights.join() === weights.join()) continue;
        changed.push({ s, sig, weights });
      }
      if (changed.length === 0) return { ok: true };
      const oldFrags: Fragment[] = [];
      const newFrags = new Map<string, Fragment>();
      for (const { s, weights } of changed) {
        const f = this.#frags.get(s.name);
        if (f) oldFrags.push(f);
        newFrags.set(s.name, renderService(s, this.#alloc, this.#dr, weights));
      }
      const script = diffScript(partialModel(oldFrags), partialModel(newFrags.values()));
      this.lastScript = script;
      if (script !== '') {
        const r = await this.#runner.run(script);
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      for (const { s, sig, weights } of changed) {
        this.#slotWeights.set(s.name, { sig, weights });
        this.#frags.set(s.name, newFrags.get(s.name) as Fragment);
      }
      return { ok: true };
    });
  }

  /** The rebalancer's shares for a service, if still valid for its current pool. */
  #sharesFor(s: ServiceSpec): number[] | undefined {
    const cur = this.#slotWeights.get(s.name);
    return cur && cur.sig === activePool(s).map(realKey).join(',') ? cur.weights : undefined;
  }

  /** Rebuilds the table from the committed state (restores anything removed behind our back). */
  resync(): Promise<DataplaneResult> {
    return this.start(this.#state);
  }

  stop(keep = false): Promise<DataplaneResult> {
    return this.#serial(async () => {
      if (!keep) {
        const r = await this.#runner.run(removeScript());
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      this.#commit(EMPTY_STATE, new Map());
      this.#started = false;
      return { ok: true };
    });
  }
}
