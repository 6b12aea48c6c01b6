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
import type { DynMap, FlowReader } from './nft-flows.js';
import {
  type CtTimeouts,
  ctTimeoutChanges,
  ctTimeoutObjects,
  DR_TABLE,
  type DrOptions,
  diffScript,
  drListed,
  emptyAlloc,
  type Fragment,
  fullScript,
  type IdAlloc,
  isDr,
  markKey,
  type NftModel,
  partialModel,
  removeScript,
  renderService,
  unsupported,
} from './nft-model.js';
import { netlinkRawSender, type RawSender, rawOps } from './nft-raw.js';
import type { NftRunner } from './nft-runner.js';
import { countWeights, isCountBased } from './schedulers.js';

const fail = (error: DataplaneError): DataplaneResult => ({ ok: false, error });

/**
 * How long a change waits for the DR flow maps to be read so that their stale entries go in the same
 * transaction (a few thousand flows take ~10–50 ms to read); past it, the change is not held back and the
 * sweep after the commit deletes them.
 */
const DR_INLINE_BUDGET_MS = 50;

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
  /** How the last change went to the kernel: a raw element batch, or libnftables (after a raw failure: why). */
  lastRoute: { route: 'raw' | 'script'; rawError?: string } = { route: 'script' };
  #raw: RawSender | undefined;

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
  #flows: FlowReader | undefined;
  /** A flow-map dump that outlived its budget inside a change (awaited before the next one). */
  #pendingDump: Promise<void> = Promise.resolve();
  #expireNodestConn: boolean;
  /** lvs_timeouts: conntrack timeout policies of NAT services (dropped if the kernel refuses them). */
  #timeouts: CtTimeouts | undefined;
  /** lvs_flush: what an earlier run left is removed before the first programming (once, not on resync). */
  #flushOnStart: boolean;
  #leftoverMarks: readonly number[];
  /** The last change's direct-routing clean-up: stale (map, mark) pairs, entries deleted with the change and after it. */
  lastDrCleanup = { stale: 0, deleted: 0, swept: 0, errors: [] as string[] };
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
      /** Reads the direct-routing flow maps, to delete a removed server's entries (docs/lvs.md). */
      flows?: FlowReader;
      expireNodestConn?: boolean;
      /** Receives one notice per approximated scheduler in use (see docs/lvs.md). */
      log?: (message: string) => void;
      /**
       * Sends element-only changes as raw nf_tables batches (src/lvs/nft-raw.ts). Default: on with the
       * libnftables runner (both program this process's namespace), off otherwise; `false` turns it off.
       */
      raw?: RawSender | false;
      /** lvs_timeouts (docs/lvs.md, "Start, stop and connection timeouts"). */
      timeouts?: CtTimeouts;
      /**
       * lvs_flush: before the first programming, the tables are deleted in a transaction of their own and
       * the conntrack entries carrying `leftoverMarks` (the marks an earlier run's state file names) too.
       */
      flushOnStart?: boolean;
      leftoverMarks?: readonly number[];
    } = {},
  ) {
    this.#runner = runner;
    this.#raw =
      opts.raw === false
        ? undefined
        : (opts.raw ?? (runner.route === 'libnftables' ? netlinkRawSender() : undefined));
    this.#log = opts.log;
    this.#dr = opts.dr;
    this.#conntrack = opts.conntrack;
    this.#flows = opts.flows;
    this.#expireNodestConn = opts.expireNodestConn ?? false;
    this.#timeouts = opts.timeouts;
    this.#flushOnStart = opts.flushOnStart ?? false;
    this.#leftoverMarks = opts.leftoverMarks ?? [];
  }

  /** One service's objects with this data plane's interfaces and timeout policies. */
  #render(s: ServiceSpec, weights = this.#sharesFor(s)): Fragment {
    return renderService(s, this.#alloc, this.#dr, weights, this.#timeouts);
  }

  /** lvs_flush: the earlier run's tables, then its connections (by the marks its state file names). */
  async #flushLeftovers(): Promise<DataplaneResult> {
    this.#flushOnStart = false;
    const r = await this.#runner.run(removeScript());
    if (!r.ok) return fail({ code: 'LVS_KERNEL', message: `lvs_flush: ${r.message}` });
    const marks = this.#leftoverMarks;
    const errors = marks.length > 0 && this.#conntrack ? await this.#conntrack.flush(marks) : [];
    this.#log?.(
      `lvs_flush: removed the tables of an earlier run${marks.length > 0 ? ` and the connections of its ${marks.length} real server marks` : ''}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`,
    );
    return { ok: true };
  }

  committed(): DataplaneState {
    return this.#state;
  }

  /** One committed service by name (the incremental path plans against it alone). */
  service(name: string): ServiceSpec | undefined {
    return this.#byName.get(name);
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
      if (this.#flushOnStart) {
        const f = await this.#flushLeftovers();
        if (!f.ok) return f;
      }
      const build = () => {
        const frags = new Map(want.services.map((s) => [s.name, this.#render(s)]));
        const model = partialModel(frags.values(), true, this.#dr);
        model.timeouts = ctTimeoutObjects(this.#timeouts);
        return { frags, script: fullScript(model) };
      };
      let { frags, script } = build();
      this.lastScript = script;
      let r = await this.#runner.run(script);
      if (!r.ok && ctTimeoutObjects(this.#timeouts).size > 0) {
        // A kernel without conntrack timeout policies refuses the objects: the services matter more.
        const why = r.message;
        this.#timeouts = undefined;
        ({ frags, script } = build());
        this.lastScript = script;
        r = await this.#runner.run(script);
        if (r.ok)
          this.#log?.(
            `lvs_timeouts not applied: this kernel refused conntrack timeout policies (${why}); connections keep the kernel's timeouts`,
          );
      }
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
        if (s) newFrags.set(n, this.#render(s));
      }
      const fromModel = partialModel(oldFrags);
      const toModel = partialModel(newFrags.values());
      const script = diffScript(fromModel, toModel);
      const stale = this.#drStale(names, nextByName);
      let marks = 0;
      for (const m of stale.values()) marks += m.size;
      this.lastDrCleanup = { stale: marks, deleted: 0, swept: 0, errors: [] };
      const cleanup =
        stale.size > 0 ? await this.#drCleanupLines(stale, DR_INLINE_BUDGET_MS) : { lines: [], count: 0 };
      this.lastScript = script + cleanup.lines.join('');
      this.lastRoute = { route: 'script' };
      if (cleanup.lines.length === 0 && script !== '') await this.#tryRaw(fromModel, toModel);
      if (this.lastScript !== '' && this.lastRoute.route === 'script') {
        let r = await this.#runner.run(this.lastScript);
        // A flow entry may have expired and been re-created between the listing and this transaction;
        // the change itself matters more: apply it alone, the sweep below deletes what is left.
        if (!r.ok && cleanup.lines.length > 0 && script !== '') {
          this.lastScript = script;
          r = await this.#runner.run(script);
          cleanup.count = 0;
        }
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      this.lastDrCleanup.deleted = cleanup.count;
      if (stale.size > 0) {
        // Entries created between the listing and the commit (new connections still given the server):
        // after the commit nothing can name it any more, so one more pass finds them all.
        const sweep = await this.#drCleanupLines(stale);
        if (sweep.lines.length > 0) {
          const r = await this.#runner.run(sweep.lines.join(''));
          if (r.ok) this.lastDrCleanup.swept = sweep.count;
          else this.lastDrCleanup.errors.push(r.message);
        }
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
   * Element and pick-rule changes (a verdict's slots and backends, a rebalance) skip libnftables and its
   * cache refresh: sent as one raw batch when rawOps can express them; sets lastRoute. A refused batch
   * was not committed (the kernel aborts it whole), so the caller then sends the script instead.
   */
  async #tryRaw(from: NftModel, to: NftModel): Promise<void> {
    const ops = this.#raw ? rawOps(from, to) : undefined;
    if (!ops || !this.#raw) return;
    const r = await this.#raw.send(ops);
    if (r.ok) this.lastRoute = { route: 'raw' };
    else {
      this.lastRoute = { route: 'script', rawError: r.message };
      if (r.disable) this.#raw = undefined;
      this.#log?.(`raw nf_tables batch not applied (${r.message}); sending the change through libnftables`);
    }
  }

  /**
   * Direct-routing entries a change makes stale, by dynamic map: the packet path cannot change or delete
   * an entry, so a flow naming a server without a backend entry would be re-picked on every packet, and a
   * persistence entry naming a server out of the pool would keep sending its client there. Flows: marks
   * of servers that lose their backend entry (removed, or replaced by the sorry server). Persistence: also
   * marks that leave the pool (inhibited). Called before the ids of removed servers are dropped.
   */
  #drStale(names: Set<string>, next: Map<string, ServiceSpec>): Map<DynMap, Set<number>> {
    const out = new Map<DynMap, Set<number>>();
    if (!this.#flows || !this.#dr) return out;
    const add = (m: DynMap, mark: number | undefined) => {
      if (mark === undefined) return;
      const set = out.get(m) ?? new Set<number>();
      out.set(m, set);
      set.add(mark);
    };
    for (const n of names) {
      const old = this.#byName.get(n);
      if (!old || !isDr(old)) continue;
      const now = next.get(n);
      const keep = now && isDr(now) && now.family === old.family ? now : undefined;
      const markOf = (r: { address: string; port: number }) => this.#alloc.marks.get(markKey(n, r));
      const listed = new Set(keep ? drListed(keep).map(markOf) : []);
      const pool = new Set(keep ? activePool(keep).map(markOf) : []);
      for (const r of drListed(old)) {
        const m = markOf(r);
        if (m !== undefined && !listed.has(m)) {
          add(`flows${old.family}`, m);
          if (old.persistence) add(`pers${old.family}`, m);
        }
      }
      if (old.persistence)
        for (const r of activePool(old)) {
          const m = markOf(r);
          if (m !== undefined && !pool.has(m)) add(`pers${old.family}`, m);
        }
    }
    return out;
  }

  /**
   * Commands deleting the entries of `stale` marks, read from the kernel. An entry about to expire is
   * added (same key and value) before it is deleted, so the batch cannot fail if it expires meanwhile.
   */
  async #drCleanupLines(
    stale: Map<DynMap, Set<number>>,
    budgetMs?: number,
  ): Promise<{ lines: string[]; count: number }> {
    const lines: string[] = [];
    let count = 0;
    // A dump still running from an earlier call must end first (one dump at a time per socket).
    await this.#pendingDump;
    for (const [map, marks] of stale) {
      let entries: Awaited<ReturnType<FlowReader['list']>> | null;
      try {
        const listing = (this.#flows as FlowReader).list(map, marks);
        if (budgetMs === undefined) entries = await listing;
        else {
          // Inside a change, the dump may not hold the change back: past the budget (a big flow table)
          // the change goes alone and the sweep after it deletes the entries.
          let timer: NodeJS.Timeout | undefined;
          entries = await Promise.race([
            listing,
            new Promise<null>((r) => {
              timer = setTimeout(() => r(null), budgetMs);
            }),
          ]);
          clearTimeout(timer);
          if (entries === null) {
            this.#pendingDump = listing.then(
              () => undefined,
              () => undefined,
            );
            continue;
          }
        }
      } catch (e) {
        this.lastDrCleanup.errors.push(`cannot read ${map}: ${(e as Error).message}`);
        continue;
      }
      const q = `netdev ${DR_TABLE} ${map}`;
      const dels: string[] = [];
      const readds: string[] = [];
      for (const e of entries) {
        if (!marks.has(e.mark)) continue;
        dels.push(e.key);
        if (e.expiresMs < 10_000) readds.push(`${e.key} : 0x${e.mark.toString(16)}`);
      }
      count += dels.length;
      for (let i = 0; i < readds.length; i += 512)
        lines.push(`add element ${q} { ${readds.slice(i, i + 512).join(', ')} }\n`);
      for (let i = 0; i < dels.length; i += 512)
        lines.push(`delete element ${q} { ${dels.slice(i, i + 512).join(', ')} }\n`);
    }
    return { lines, count };
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
        newFrags.set(s.name, this.#render(s, weights));
      }
      const fromModel = partialModel(oldFrags);
      const toModel = partialModel(newFrags.values());
      const script = diffScript(fromModel, toModel);
      this.lastScript = script;
      this.lastRoute = { route: 'script' };
      if (script !== '') await this.#tryRaw(fromModel, toModel);
      if (script !== '' && this.lastRoute.route === 'script') {
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

  /**
   * lvs_timeouts after a reload (keepalived sets them at every start and reload): new objects and the
   * service chains' first rules change in one transaction, the old objects go at its end. Connections
   * made before keep the policy they were given until it is deleted, then the kernel's defaults.
   */
  setTimeouts(t: CtTimeouts | undefined): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const { add, del } = ctTimeoutChanges(this.#timeouts, t);
      const old = this.#timeouts;
      this.#timeouts = t;
      if (!this.#started || (add.length === 0 && del.length === 0)) return { ok: true };
      const frags = new Map(this.#state.services.map((s) => [s.name, this.#render(s)]));
      const chains = diffScript(partialModel(this.#frags.values()), partialModel(frags.values()));
      this.lastScript = [...add, chains.trimEnd(), ...del].filter((l) => l !== '').join('\n') + '\n';
      const r = await this.#runner.run(this.lastScript);
      if (!r.ok) {
        this.#timeouts = old;
        return fail({ code: 'LVS_KERNEL', message: `lvs_timeouts: ${r.message}` });
      }
      this.#frags = frags;
      return { ok: true };
    });
  }

  /** Rebuilds the table from the committed state (restores anything removed behind our back). */
  resync(): Promise<DataplaneResult> {
    return this.start(this.#state);
  }

  /**
   * Removes the tables (keepalived's default and both `lvs_flush_on_stop` forms) and, as for a removed
   * real server, the connections of UDP/SCTP services (TCP too with expireNodestConn); `keep` (-I) leaves
   * tables and connections as they are.
   */
  stop(keep = false): Promise<DataplaneResult> {
    return this.#serial(async () => {
      if (!keep) {
        const r = await this.#runner.run(removeScript());
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
        const marks: number[] = [];
        for (const s of this.#state.services)
          if (!isDr(s) && (s.protocol !== 'tcp' || this.#expireNodestConn))
            for (const x of serversOf(s)) {
              const m = this.#alloc.marks.get(markKey(s.name, x));
              if (m !== undefined) marks.push(m);
            }
        this.lastFlushErrors = marks.length > 0 && this.#conntrack ? await this.#conntrack.flush(marks) : [];
      }
      this.#commit(EMPTY_STATE, new Map());
      this.#started = false;
      this.#raw?.close();
      return { ok: true };
    });
  }
}
