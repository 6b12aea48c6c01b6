// The nftables data plane: keeps the committed state and each service's rendered objects in memory (the
// kernel is never read back), and sends each change set as one atomic transaction through an NftRunner.
// A change touching one service costs in proportion to that service, not to the whole table.

import { NFPROTO_INET } from '../net/nlmsg.js';
import type { CounterKey } from './counters.js';
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
  protocolsOf,
  realKey,
  type ServiceSpec,
  touchedServices,
  validateState,
} from './dataplane.js';
import type { ConnCounts } from './list.js';
import {
  type KernelChain,
  type KernelSet,
  type KernelTables,
  type KernelTimeout,
  netlinkTableReader,
  recoverAlloc,
  type TableReader,
} from './nft-adopt.js';
import { type DynMap, dynWhere, type FlowEntry, type FlowReader } from './nft-flows.js';
import {
  addDrTableScript,
  baseModel,
  COUNTER_SET,
  COUNTER_SET_DECL,
  type CtTimeouts,
  ctTimeoutChanges,
  ctTimeoutObjects,
  ctTimeoutPolicies,
  type DrOptions,
  type DrTable,
  diffScript,
  drListed,
  drTableName,
  drTablesFor,
  emptyAlloc,
  type Fragment,
  fullScript,
  type IdAlloc,
  isDr,
  isFwmarkDr,
  LAYOUT_MARKER,
  localFlowsScript,
  markKey,
  type NftChain,
  type NftModel,
  type NftSet,
  onlyTables,
  partialModel,
  removeScript,
  renderService,
  tableOf,
  unsupported,
} from './nft-model.js';
import { netlinkRawSender, type RawOp, type RawSender, rawMap, rawOps } from './nft-raw.js';
import { RETIRE_GRACE_MS, type Retired, retire, retiredCount, splitDue } from './nft-retire.js';
import type { NftRunner } from './nft-runner.js';
import { countWeights, isCountBased } from './schedulers.js';

const ALL_DYN: readonly DynMap[] = [
  'flows4',
  'flows6',
  'pers4',
  'pers6',
  'fm4/flows',
  'fm4/pers',
  'fm6/flows',
  'fm6/pers',
];

const fail = (error: DataplaneError): DataplaneResult => ({ ok: false, error });

/**
 * How long a change waits for the DR flow maps to be read so that their stale entries go in the same
 * transaction (a few thousand flows take ~10–50 ms to read); past it, the change is not held back and the
 * sweep after the commit deletes them.
 */
const DR_INLINE_BUDGET_MS = 50;

/**
 * Commands deleting `entries` of a dynamic map. An entry about to expire is added (same key and value)
 * before it is deleted, so the batch cannot fail if it expires meanwhile.
 */
function cleanupLines(map: DynMap, entries: readonly FlowEntry[]): string[] {
  const w = dynWhere(map);
  const q = `${w.familyName} ${w.table} ${w.name}`;
  const lines: string[] = [];
  const dels = entries.map((e) => e.key);
  const readds = entries
    .filter((e) => e.expiresMs < 10_000)
    .map((e) => `${e.key} : 0x${e.mark.toString(16)}`);
  for (let i = 0; i < readds.length; i += 512)
    lines.push(`add element ${q} { ${readds.slice(i, i + 512).join(', ')} }\n`);
  for (let i = 0; i < dels.length; i += 512)
    lines.push(`delete element ${q} { ${dels.slice(i, i + 512).join(', ')} }\n`);
  return lines;
}

/** The dynamic maps of a direct-routing service: the netdev table's, or the fwmark tables'. */
function dynMapsOf(s: ServiceSpec): { flows: DynMap; pers: DynMap } {
  if (isFwmarkDr(s)) return { flows: `fm${s.family}/flows`, pers: `fm${s.family}/pers` };
  return { flows: `flows${s.family}`, pers: `pers${s.family}` };
}

/**
 * The tables as read back, as a model diffScript can start from: the shared static maps with their
 * elements; sets declared as `to` declares them when their key length and timeout agree (else
 * re-declared); chains with `to`'s hook when the kernel's agrees (a DR ingress chain on another device is
 * re-created); base chains with `to`'s rules (their rules are fixed by the layout marker) and every other
 * chain with unknown rules, so it is rewritten; `ct timeout` objects with `to`'s body when their protocol
 * and the timeouts `want` names agree (else replaced).
 */
function kernelModel(k: KernelTables, to: NftModel, want: CtTimeouts | undefined): NftModel {
  const sets = new Map<string, NftSet>();
  for (const [n, ks] of k.sets) {
    const t = to.sets.get(n);
    const kind = ks.isMap ? 'map' : 'set';
    const ok = t && t.kind === kind && setAgrees(t, ks);
    sets.set(n, {
      kind,
      decl: ok && t ? t.decl : `kernel ${ks.keyLen} ${ks.timeoutMs}`,
      elems: new Map(k.elems.get(n) ?? []),
    });
  }
  const chains = new Map<string, NftChain>();
  for (const [n, kc] of k.chains) {
    const t = to.chains.get(n);
    if (t && hookAgrees(t.decl, kc)) chains.set(n, { decl: t.decl, rules: t.decl ? t.rules : ['(kernel)'] });
    else chains.set(n, { decl: kc.hook ? `(kernel hook ${kc.hook.num})` : '', rules: ['(kernel)'] });
  }
  const policies = ctTimeoutPolicies(want);
  const timeouts = new Map<string, string>();
  for (const [n, kt] of k.timeouts ?? []) {
    const body = to.timeouts?.get(n);
    const p = policies.get(n);
    timeouts.set(n, body && p && timeoutAgrees(p, kt) ? body : '(kernel)');
  }
  return { sets, chains, timeouts };
}

/** The kernel's object is the policy: same protocol, IPv4 and IPv6 (inet), every named state's timeout. */
function timeoutAgrees(p: { l4proto: number; states: [number, number][] }, kt: KernelTimeout): boolean {
  return (
    kt.l3proto === NFPROTO_INET &&
    kt.l4proto === p.l4proto &&
    p.states.every(([st, v]) => kt.states.get(st) === v)
  );
}

/**
 * Key length and timeout of a declaration. `typeof` keys: the IPv6 hashed ones (two 32-bit hashes, 8
 * bytes) and the traffic counter set's (ct state . ct direction . ct mark: 4 + 1 padded to 4 + 4 = 12).
 */
function setAgrees(t: NftSet, ks: KernelSet): boolean {
  const timeout = /timeout (\d+)s/.exec(t.decl);
  if ((timeout ? Number(timeout[1]) * 1000 : 0) !== ks.timeoutMs) return false;
  const key = /type ([a-z0-9_ .]+?)(?: :|;)/.exec(t.decl)?.[1];
  if (!key) return ks.keyLen === (/typeof numgen/.test(t.decl) ? 8 : t.decl === COUNTER_SET_DECL ? 12 : -1);
  const len = key.split(' . ').reduce((a, f) => a + (f === 'ipv6_addr' ? 16 : 4), 0);
  return len === ks.keyLen;
}

function hookAgrees(decl: string, kc: KernelChain): boolean {
  if (!decl || !kc.hook) return !decl && !kc.hook;
  const dev = /device "([^"]+)"/.exec(decl)?.[1];
  return dev === kc.hook.device;
}

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

  #tables: TableReader | undefined;
  /** How the last start() went: adopted the earlier run's tables (and how many stale flows it deleted). */
  lastAdoption = { adopted: false, staleFlows: 0 };
  /** Slot and backend elements out of use but kept for a grace period (src/lvs/nft-retire.ts). */
  #retired: Retired = new Map();
  #retireMs: number;
  #retireTimer: NodeJS.Timeout | undefined;

  #dr: DrOptions | undefined;
  #log: ((message: string) => void) | undefined;
  /** The kernel refused localFlowsScript once: not tried again. */
  #localFlowsRefused = false;
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
  /** lvs_timeouts as configured: the idle timeout of DR flow entries (needs no conntrack support). */
  #flowTimeouts: CtTimeouts | undefined;
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
      /**
       * Reads the tables back at start, to adopt an earlier run's (src/lvs/nft-adopt.ts). Default: on with
       * the libnftables runner (both work in this process's namespace); `false` turns it off.
       */
      tables?: TableReader | false;
      /**
       * How long a slot or backend element taken out of use stays in the kernel before a later
       * transaction deletes it (src/lvs/nft-retire.ts); 0 deletes it in the change itself.
       */
      retireMs?: number;
    } = {},
  ) {
    this.#runner = runner;
    this.#raw =
      opts.raw === false
        ? undefined
        : (opts.raw ?? (runner.route === 'libnftables' ? netlinkRawSender() : undefined));
    this.#tables =
      opts.tables === false
        ? undefined
        : (opts.tables ?? (runner.route === 'libnftables' ? netlinkTableReader() : undefined));
    this.#log = opts.log;
    this.#dr = opts.dr;
    this.#conntrack = opts.conntrack;
    this.#flows = opts.flows;
    this.#expireNodestConn = opts.expireNodestConn ?? false;
    this.#timeouts = opts.timeouts;
    this.#flowTimeouts = opts.timeouts;
    this.#flushOnStart = opts.flushOnStart ?? false;
    this.#leftoverMarks = opts.leftoverMarks ?? [];
    this.#retireMs = opts.retireMs ?? RETIRE_GRACE_MS;
  }

  /** The models a change of some services goes between, with retirement (src/lvs/nft-retire.ts) applied. */
  #models(oldFrags: Fragment[], newFrags: Iterable<Fragment>): ReturnType<typeof retire> {
    return retire(
      partialModel(oldFrags),
      partialModel(newFrags),
      this.#retired,
      performance.now(),
      this.#retireMs,
    );
  }

  /** Retired elements still in the kernel (for tests). */
  retiredElements(): number {
    return retiredCount(this.#retired);
  }

  /**
   * After a commit: the retired set it left, minus the maps of deleted tables. A timer deletes them once
   * due, a quarter grace period late so that one transaction takes many.
   */
  #setRetired(next: Retired, goneTables: Iterable<string> = []): void {
    const gone = new Set(goneTables);
    for (const m of [...next.keys()]) if (gone.has(tableOf(m))) next.delete(m);
    this.#retired = next;
    if (next.size === 0) {
      clearTimeout(this.#retireTimer);
      this.#retireTimer = undefined;
      return;
    }
    if (this.#retireTimer) return;
    let due = Number.POSITIVE_INFINITY;
    for (const els of next.values()) for (const e of els.values()) due = Math.min(due, e.sinceMs);
    const wait = Math.max(0, due + this.#retireMs - performance.now()) + this.#retireMs / 4;
    this.#retireTimer = setTimeout(() => {
      this.#retireTimer = undefined;
      void this.#serial(() => this.#deleteRetired());
    }, wait);
    this.#retireTimer.unref();
  }

  /**
   * Deletes the retired elements whose grace period is over, in one transaction of their own. Each is
   * added (same key and value) before it is deleted, so one already gone (deleted by hand) cannot fail
   * the others.
   */
  async #deleteRetired(): Promise<void> {
    if (!this.#started || this.#retired.size === 0) return;
    const { due, rest } = splitDue(this.#retired, performance.now(), this.#retireMs);
    if (due.size > 0) {
      const ops: RawOp[] = [];
      for (const [set, els] of due) ops.push({ op: 'addelem', set, elems: [...els] });
      for (const [set, els] of due) ops.push({ op: 'delelem', set, keys: [...els.keys()] });
      const some = partialModel([]);
      for (const [set, els] of due) for (const [k, v] of els) some.sets.get(set)?.elems.set(k, v);
      const script = diffScript(partialModel([]), some) + diffScript(some, partialModel([]));
      const raw = [...due.keys()].every(rawMap) ? this.#raw : undefined;
      let r = raw ? await raw.send(ops) : await this.#runner.run(script);
      if (!r.ok && raw) r = await this.#runner.run(script);
      if (!r.ok) this.#log?.(`nftables: retired elements not deleted (${r.message})`);
    }
    this.#setRetired(rest);
  }

  /** One service's objects with this data plane's interfaces and timeout policies. */
  #render(s: ServiceSpec, weights = this.#sharesFor(s)): Fragment {
    return renderService(s, this.#alloc, this.#dr, weights, isDr(s) ? this.#flowTimeouts : this.#timeouts);
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

  /**
   * Deletes elements of the traffic counter sets (each key in nft's syntax with its table, from
   * counters.ts), in one transaction queued behind the others; a key already gone fails the whole
   * deletion, which the next reading retries with fresh keys.
   */
  deleteCounterElements(keys: readonly CounterKey[]): Promise<DataplaneResult> {
    if (keys.length === 0) return Promise.resolve({ ok: true });
    const byTable = new Map<string, string[]>();
    for (const k of keys) byTable.set(k.table, [...(byTable.get(k.table) ?? []), k.key]);
    const script = [...byTable]
      .map(([t, ks]) => `delete element ${t} ${COUNTER_SET} { ${ks.join(', ')} }\n`)
      .join('');
    return this.#serial(async () => {
      if (!this.#started) return { ok: true };
      const r = await this.#runner.run(script);
      return r.ok ? { ok: true } : fail({ code: 'LVS_KERNEL', message: `traffic counters: ${r.message}` });
    });
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
    // Connections of other protocols than TCP (a fwmark service has UDP and SCTP ones too): docs/lvs.md.
    const wantFlush = protocolsOf(old).some((p) => p !== 'tcp') || this.#expireNodestConn;
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
      const r = await this.#start(state);
      if (r.ok) await this.#shortenLocalFlows();
      return r;
    });
  }

  /**
   * The director's own TCP connections (its health checks) leave conntrack soon after they close
   * (localFlowsScript; docs/lvs.md, "The director's own connections"). A kernel without conntrack timeout
   * policies refuses it: said once, the services run all the same.
   */
  async #shortenLocalFlows(): Promise<void> {
    if (this.#localFlowsRefused) return;
    const r = await this.#runner.run(localFlowsScript());
    if (r.ok) return;
    this.#localFlowsRefused = true;
    this.#log?.(
      `nftables: the director's own TCP connections keep conntrack's default TIME_WAIT of 120 s (${r.message}); thousands of checks a second can fill the conntrack table`,
    );
  }

  async #start(state: DataplaneState): Promise<DataplaneResult> {
    const bad = validateState(state)[0] ?? unsupported(state, this.#dr)[0];
    if (bad) return fail(bad);
    const want = canonical(state);
    this.#noteApproximated(want.services);
    // lvs_flush asks for a clean start: it replaces the tables (docs/lvs.md, "Adopting the table at start").
    if (!this.#flushOnStart) {
      const adopted = await this.#adopt(want);
      if (adopted) return adopted;
    }
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
      return { frags, script: fullScript(model, drTablesFor(want.services)) };
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
    // The tables were replaced whole: nothing of theirs is left retired.
    this.#setRetired(new Map());
    return { ok: true };
  }

  /**
   * Start on the tables an earlier run left (docs/lvs.md, "Adopting the table at start"): read them back
   * once, keep that run's ids and marks, and send only the difference in one transaction; the dynamic
   * maps (DR flows, persistence) stay, minus entries naming servers that are gone. Undefined when there
   * is nothing to adopt (no reader, no tables, another layout) or the adoption failed: start() then
   * replaces the tables as before.
   */
  async #adopt(want: DataplaneState): Promise<DataplaneResult | undefined> {
    if (!this.#tables) return undefined;
    let k: KernelTables;
    try {
      k = await this.#tables.read();
    } catch (e) {
      this.#log?.(`cannot read the nftables tables back (${(e as Error).message}); replacing them`);
      return undefined;
    }
    this.lastAdoption = { adopted: false, staleFlows: 0 };
    // The inet table always exists; a direct-routing table only while a DR service needs it.
    if (k.tables.get('inet') !== LAYOUT_MARKER) return undefined;
    for (const t of ['netdev', 'ip', 'ip6'] as const)
      if (k.tables.has(t) && k.tables.get(t) !== LAYOUT_MARKER) return undefined;
    const wantTables = drTablesFor(want.services);
    const present = (t: 'inet' | DrTable) => t === 'inet' || (k.tables.has(t) && wantTables.has(t));
    // Our own numbering while we run (resync); an earlier process's, recovered from its maps, otherwise.
    const alloc = this.#started
      ? {
          services: new Map(this.#alloc.services),
          marks: new Map(this.#alloc.marks),
          nextService: this.#alloc.nextService,
          nextMark: this.#alloc.nextMark,
        }
      : recoverAlloc(want.services, k, isDr);
    // Flow and persistence entries naming a server no longer backed would be re-picked on every packet.
    const dyn = new Map<DynMap, FlowEntry[]>();
    if (this.#flows)
      for (const m of ALL_DYN) {
        const name = m.includes('/') ? m : `dr/${m}`;
        // A table about to be deleted takes its entries along.
        if (!k.sets.has(name) || !present(tableOf(name))) continue;
        try {
          const entries = await this.#flows.list(m);
          dyn.set(m, entries);
          for (const e of entries) alloc.nextMark = Math.max(alloc.nextMark, e.mark + 1);
        } catch (e) {
          this.lastDrCleanup.errors.push(`cannot read ${m}: ${(e as Error).message}`);
        }
      }
    const prev = this.#alloc;
    this.#alloc = alloc;
    for (const s of want.services) this.#ensureIds(s);
    const build = () => {
      const frags = new Map(want.services.map((s) => [s.name, this.#render(s)]));
      const to = onlyTables(partialModel(frags.values(), true, this.#dr), wantTables);
      to.timeouts = ctTimeoutObjects(this.#timeouts);
      const kept = new Set([...wantTables].filter((t) => k.tables.has(t)));
      // Elements the kernel holds beyond the wanted ones may still be reached by the old rules: retired.
      const rt = retire(
        onlyTables(kernelModel(k, to, this.#timeouts), kept),
        to,
        this.#retired,
        performance.now(),
        this.#retireMs,
      );
      return { frags, to: rt.to, from: rt.from, retiredCommit: rt.commit };
    };
    // Direct-routing tables wanted but absent are created (their objects follow in the diff); those
    // present but no longer wanted go whole, last.
    const tablesHead = [...wantTables]
      .filter((t) => !k.tables.has(t))
      .map((t) => `add table ${drTableName(t)} { comment "${LAYOUT_MARKER}"; }\n`)
      .join('');
    const tablesTail = (['netdev', 'ip', 'ip6'] as const)
      .filter((t) => k.tables.has(t) && !wantTables.has(t))
      .map((t) => `delete table ${drTableName(t)}\n`)
      .join('');
    let { frags, to, from, retiredCommit } = build();
    // Flow entries stay while their server keeps a backend entry; persistence entries while it is in the pool.
    const keep = new Map<DynMap, Set<number>>(ALL_DYN.map((m) => [m, new Set<number>()]));
    for (const s of want.services) {
      if (!isDr(s)) continue;
      const { flows, pers } = dynMapsOf(s);
      for (const r of drListed(s)) keep.get(flows)?.add(this.#alloc.marks.get(markKey(s.name, r)) ?? -1);
      for (const r of activePool(s)) keep.get(pers)?.add(this.#alloc.marks.get(markKey(s.name, r)) ?? -1);
    }
    const stale = new Map<DynMap, Set<number>>();
    const lines: string[] = [];
    let count = 0;
    for (const [m, entries] of dyn) {
      const kept = keep.get(m) as Set<number>;
      const gone = entries.filter((e) => !kept.has(e.mark));
      if (gone.length === 0) continue;
      stale.set(m, new Set(gone.map((e) => e.mark)));
      lines.push(...cleanupLines(m, gone));
      count += gone.length;
    }
    // Marks of the earlier run's backends that this run does not keep: the sweep after the commit
    // deletes flows the old rules still gave them meanwhile.
    for (const [bk, flows, pers] of [
      ['dr/bk4', 'flows4', 'pers4'],
      ['dr/bk6', 'flows6', 'pers6'],
      ['fm4/bk', 'fm4/flows', 'fm4/pers'],
      ['fm6/bk', 'fm6/flows', 'fm6/pers'],
    ] as const) {
      if (!present(tableOf(bk))) continue;
      for (const key of k.elems.get(bk)?.keys() ?? []) {
        const mark = Number(key);
        if (keep.get(flows)?.has(mark)) continue;
        for (const m of [flows, pers]) {
          const set = stale.get(m) ?? new Set<number>();
          set.add(mark);
          stale.set(m, set);
        }
      }
    }
    const full = (diff: string) => tablesHead + diff + tablesTail;
    let script = full(diffScript(from, to));
    this.lastScript = script + lines.join('');
    this.lastDrCleanup = { stale: count, deleted: 0, swept: 0, errors: this.lastDrCleanup.errors };
    let r = this.lastScript === '' ? { ok: true as const } : await this.#runner.run(this.lastScript);
    if (!r.ok && lines.length > 0) {
      // An entry may have expired between the read and the transaction: the change alone, then the sweep.
      this.lastScript = script;
      count = 0;
      r = script === '' ? { ok: true as const } : await this.#runner.run(script);
    }
    const timeouts = this.#timeouts;
    if (!r.ok && ctTimeoutObjects(timeouts).size > 0) {
      // A kernel without conntrack timeout policies refuses the objects: the services (and the flows)
      // matter more, as in start().
      const why = r.message;
      this.#timeouts = undefined;
      ({ frags, to, from, retiredCommit } = build());
      script = full(diffScript(from, to));
      this.lastScript = script;
      count = 0;
      r = script === '' ? { ok: true as const } : await this.#runner.run(script);
      if (r.ok)
        this.#log?.(
          `lvs_timeouts not applied: this kernel refused conntrack timeout policies (${why}); connections keep the kernel's timeouts`,
        );
      else this.#timeouts = timeouts;
    }
    if (!r.ok) {
      this.#log?.(`adopting the nftables tables failed (${r.message}); replacing them`);
      this.#alloc = prev;
      return undefined;
    }
    this.lastDrCleanup.deleted = count;
    this.#commit(want, frags);
    this.#started = true;
    retiredCommit(this.#retired);
    this.#setRetired(
      this.#retired,
      (['netdev', 'ip', 'ip6'] as const).filter((t) => k.tables.has(t) && !wantTables.has(t)),
    );
    this.lastAdoption = { adopted: true, staleFlows: count };
    this.#log?.(
      `nftables: adopted the tables an earlier run left (${count} flow entries of departed servers deleted)`,
    );
    if (this.#flows && stale.size > 0) {
      const sweep = await this.#drCleanupLines(stale);
      if (sweep.lines.length > 0) {
        const w = await this.#runner.run(sweep.lines.join(''));
        if (w.ok) this.lastDrCleanup.swept = sweep.count;
        else this.lastDrCleanup.errors.push(w.message);
      }
    }
    return { ok: true };
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
      const rt = this.#models(oldFrags, newFrags.values());
      const fromModel = rt.from;
      const toModel = rt.to;
      // A direct-routing table is created with the first service that needs it and deleted with the last.
      const hadTables = drTablesFor(this.#state.services);
      const wantTables = drTablesFor(next.services);
      const base = baseModel(this.#dr);
      const tablesHead = [...wantTables]
        .filter((t) => !hadTables.has(t))
        .map((t) => addDrTableScript(t, base))
        .join('');
      const gone = [...hadTables].filter((t) => !wantTables.has(t));
      const script =
        tablesHead +
        diffScript(fromModel, toModel) +
        gone.map((t) => `delete table ${drTableName(t)}\n`).join('');
      const stale = this.#drStale(names, nextByName);
      // Entries of a deleted table go with it.
      for (const m of stale.keys())
        if ((gone as string[]).includes(tableOf(m.includes('/') ? m : `dr/${m}`))) stale.delete(m);
      let marks = 0;
      for (const m of stale.values()) marks += m.size;
      this.lastDrCleanup = { stale: marks, deleted: 0, swept: 0, errors: [] };
      const cleanup =
        stale.size > 0 ? await this.#drCleanupLines(stale, DR_INLINE_BUDGET_MS) : { lines: [], count: 0 };
      this.lastScript = script + cleanup.lines.join('');
      this.lastRoute = { route: 'script' };
      if (cleanup.lines.length === 0 && script !== '' && tablesHead === '' && gone.length === 0)
        await this.#tryRaw(fromModel, toModel);
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
      rt.commit(this.#retired);
      this.#setRetired(this.#retired, gone);
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
      const keep =
        now && isDr(now) && now.family === old.family && isFwmarkDr(now) === isFwmarkDr(old)
          ? now
          : undefined;
      const markOf = (r: { address: string; port: number }) => this.#alloc.marks.get(markKey(n, r));
      const listed = new Set(keep ? drListed(keep).map(markOf) : []);
      const pool = new Set(keep ? activePool(keep).map(markOf) : []);
      const { flows, pers } = dynMapsOf(old);
      for (const r of drListed(old)) {
        const m = markOf(r);
        if (m !== undefined && !listed.has(m)) {
          add(flows, m);
          if (old.persistence) add(pers, m);
        }
      }
      if (old.persistence)
        for (const r of activePool(old)) {
          const m = markOf(r);
          if (m !== undefined && !pool.has(m)) add(pers, m);
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
      const mine = entries.filter((e) => marks.has(e.mark));
      count += mine.length;
      lines.push(...cleanupLines(map, mine));
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
      const rt = this.#models(oldFrags, newFrags.values());
      const fromModel = rt.from;
      const toModel = rt.to;
      const script = diffScript(fromModel, toModel);
      this.lastScript = script;
      this.lastRoute = { route: 'script' };
      if (script !== '') await this.#tryRaw(fromModel, toModel);
      if (script !== '' && this.lastRoute.route === 'script') {
        const r = await this.#runner.run(script);
        if (!r.ok) return fail({ code: 'LVS_KERNEL', message: r.message });
      }
      rt.commit(this.#retired);
      this.#setRetired(this.#retired);
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
      const oldFlows = this.#flowTimeouts;
      this.#timeouts = t;
      this.#flowTimeouts = t;
      if (!this.#started) return { ok: true };
      // The NAT chains' first rules name the objects; DR chains carry the flow timeout (drFlowTimeoutS).
      const frags = new Map(this.#state.services.map((s) => [s.name, this.#render(s)]));
      const chains = diffScript(partialModel(this.#frags.values()), partialModel(frags.values()));
      if (add.length === 0 && del.length === 0 && chains === '') return { ok: true };
      this.lastScript = [...add, chains.trimEnd(), ...del].filter((l) => l !== '').join('\n') + '\n';
      const r = await this.#runner.run(this.lastScript);
      if (!r.ok) {
        this.#timeouts = old;
        this.#flowTimeouts = oldFlows;
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
          if (!isDr(s) && (protocolsOf(s).some((p) => p !== 'tcp') || this.#expireNodestConn))
            for (const x of serversOf(s)) {
              const m = this.#alloc.marks.get(markKey(s.name, x));
              if (m !== undefined) marks.push(m);
            }
        this.lastFlushErrors = marks.length > 0 && this.#conntrack ? await this.#conntrack.flush(marks) : [];
      }
      this.#commit(EMPTY_STATE, new Map());
      this.#started = false;
      this.#setRetired(new Map());
      this.#raw?.close();
      this.#tables?.close();
      return { ok: true };
    });
  }
}
