// The checker's verdicts to the kernel's load balancer: after each batch the checker runtime hands over the
// core's view of every virtual server; this maps it onto the configuration (src/lvs/from-config.ts) and moves
// the data plane there, one transaction at a time, coalescing views that arrive while one is in flight.
// In the checker process only (libnftables can take its process down: docs/decisions/lvs-programming-route.md).
//
// A respawned checker (its predecessor died) leaves the table its predecessor programmed alone until every
// checker has given a verdict, so traffic keeps flowing on the old pool while the new checks re-converge; a
// fatal error leaves the table in place for the same reason. Only a graceful stop removes it (unless -I).

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from '../common/logger.js';
import type { KeepalivedConfig, VirtualServer } from '../config/model.js';
import { lvsTimeoutsNotes } from '../lvs/config-notes.js';
import { readConnCounts } from '../lvs/conntrack.js';
import {
  type CounterKey,
  ipvsServiceTraffic,
  readNftTraffic,
  type ServiceTraffic,
  TrafficLedger,
} from '../lvs/counters.js';
import { netlinkFlusher } from '../lvs/ct-flush.js';
import { type Dataplane, type DataplaneState, planChanges, type ServiceSpec } from '../lvs/dataplane.js';
import { desiredFromConfig, type LiveVs, serviceFromConfig, vsName } from '../lvs/from-config.js';
import { IpvsDataplane } from '../lvs/ipvs-dataplane.js';
import { serviceKeys } from '../lvs/ipvs-msg.js';
import { modprobeIpvs, selectDataplane } from '../lvs/ipvs-select.js';
import { NftDataplane } from '../lvs/nft-dataplane.js';
import { netlinkFlowReader } from '../lvs/nft-flows.js';
import type { DrOptions } from '../lvs/nft-model.js';
import { cliRunner, libnftRunner, type NftRunner } from '../lvs/nft-runner.js';
import { isCountBased } from '../lvs/schedulers.js';
import { type RealServerStatus, type VirtualServerView, vsIds } from './core/index.js';
import type { DataPlaneSink } from './runtime.js';

/** How long a respawned checker waits for every checker's first verdict before programming anyway. */
const RESPAWN_CONVERGE_MS = 30_000;
/** Least time between two writes of the --lvs-list state file. */
const STATE_FILE_MS = 200;
/** How often the connection-count schedulers (lc, wlc, …) are rebalanced from conntrack (docs/lvs.md). */
const REBALANCE_MS = 1000;

/** What `keepalived-ts --lvs-list` reads: the committed state and its conntrack marks. */
export interface LvsStateFile {
  state: DataplaneState;
  marks: [string, number][];
  /** Absent in files written before IPVS was a back end: nftables. */
  dataplane?: 'ipvs' | 'nftables';
  /**
   * IPVS: services that may be in the kernel beyond `state` — an earlier run's not yet reconciled, or
   * those the transaction in flight adds. Written before that transaction is sent, so a run killed during
   * it leaves a file naming all it may have left (docs/lvs.md, "The IPVS back end").
   */
  unsettled?: ServiceSpec[];
}

/** What the sink needs of a back end: NftDataplane and IpvsDataplane both fit. */
type SinkDataplane = Dataplane & {
  marks(): ReadonlyMap<string, number>;
  service(name: string): ServiceSpec | undefined;
  rebalance?: NftDataplane['rebalance'];
  setTimeouts?: NftDataplane['setTimeouts'];
  /** nftables DR: what removing servers' flow entries met (IPVS has no flow map). */
  lastDrCleanup?: NftDataplane['lastDrCleanup'];
};

export interface LvsSinkOptions {
  log: Logger;
  /** The checker process was respawned: keep the kernel's table until the checks have re-converged. */
  respawned: boolean;
  /** -I / no lvs_flush_on_stop: leave the services in the kernel on a graceful stop. */
  keepOnStop: boolean;
  /** The checkers' status, to know when every one has run (respawn). */
  status: () => RealServerStatus[];
  /** Where the committed state is written after each transaction, for --lvs-list. */
  stateFile?: string;
}

/** The nftables programmer: libnftables in process, else the `nft` command; null without either. */
export function nftRunner(log: Logger): NftRunner | null {
  try {
    return libnftRunner();
  } catch (e) {
    log.warn(`libnftables unavailable (${(e as Error).message}); programming through the nft command`);
  }
  try {
    return cliRunner();
  } catch (e) {
    log.error(`no nftables: ${(e as Error).message}`);
    return null;
  }
}

/** The interface the kernel routes `address` out of, or undefined. */
function routeDevice(address: string): string | undefined {
  const r = spawnSync('ip', ['-j', 'route', 'get', address], { encoding: 'utf8' });
  try {
    return (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev;
  } catch {
    return undefined;
  }
}

/**
 * Direct routing forwards frames at ingress of the interfaces the VIPs arrive on, out of the interface the
 * real servers are reached by (docs/lvs.md, "Forwarding"): the latter from the routing table (the first DR
 * real server's route), the former that interface plus those of the VRRP instances carrying a DR VIP.
 */
function drOptions(cfg: KeepalivedConfig): DrOptions | undefined {
  const dr = cfg.virtualServers.filter((vs) =>
    vs.realServers.some((rs) => (rs.lvsMethod ?? vs.lbKind) === 'DR'),
  );
  const first = dr.flatMap((vs) => vs.realServers)[0];
  const egress = first && routeDevice(first.address);
  if (!egress) return undefined;
  const vips = new Set(dr.flatMap((vs) => (vs.key.kind === 'address' ? [vs.key.address] : [])));
  const ingress = new Set([egress]);
  for (const i of cfg.vrrpInstances)
    if (i.interface && i.virtualIpaddresses.some((v) => vips.has(v.address))) ingress.add(i.interface);
  return { ingress: [...ingress], egress };
}

/** The state file an earlier run left (a crash, or the predecessor of a respawned checker), if any. */
function readStateFile(file: string): LvsStateFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LvsStateFile;
  } catch {
    return undefined;
  }
}

/** The IPVS services an earlier run's state file names as possibly in the kernel (none for nftables). */
export function ipvsLeftovers(file: LvsStateFile): ServiceSpec[] {
  return file.dataplane === 'ipvs' ? [...file.state.services, ...(file.unsettled ?? [])] : [];
}

export class LvsSink implements DataPlaneSink {
  #cfg: KeepalivedConfig;
  readonly #dp: SinkDataplane;
  readonly #kind: 'ipvs' | 'nftables';
  readonly #o: LvsSinkOptions;
  /** Core id ("[192.0.2.100]:tcp:80") → the configuration's name for the same virtual server. */
  readonly #names = new Map<string, string>();
  /** Core id → the virtual server's configuration. */
  readonly #vsById = new Map<string, VirtualServer>();
  #started = false;
  #startAfterMs: number;
  /** A whole snapshot waiting (start, reload), and views of single virtual servers newer than it. */
  #latest: VirtualServerView[] | null = null;
  #changed = new Map<string, VirtualServerView>();
  /** The verdicts last handed over, by virtual-server name (what the desired state is built from). */
  #live = new Map<string, LiveVs>();
  #busy = false;
  #idle: (() => void)[] = [];
  #reported = new Set<string>();

  #rebalancer: NodeJS.Timeout | null = null;
  /** IPVS: services that may be in the kernel beyond the committed state (LvsStateFile.unsettled). */
  #unsettled: ServiceSpec[];

  /** `leftovers`: IPVS services an earlier run's state file names, until start() has reconciled them. */
  constructor(cfg: KeepalivedConfig, dp: SinkDataplane, o: LvsSinkOptions, leftovers: ServiceSpec[] = []) {
    this.#cfg = cfg;
    this.#dp = dp;
    this.#kind = dp instanceof IpvsDataplane ? 'ipvs' : 'nftables';
    this.#o = o;
    this.#unsettled = this.#kind === 'ipvs' ? [...leftovers] : [];
    this.#index(cfg);
    this.#startAfterMs = o.respawned ? Date.now() + RESPAWN_CONVERGE_MS : 0;
  }

  /**
   * The sink on the data plane chosen for this kernel (src/lvs/ipvs-select.ts): IPVS where it exists,
   * nftables otherwise, or what `lvs_dataplane` forces; the choice and its reason are logged once.
   */
  static async create(cfg: KeepalivedConfig, o: LvsSinkOptions): Promise<LvsSink | null> {
    const g = cfg.globalDefs;
    if (cfg.virtualServers.length > 0 || g.lvsDataplane !== 'auto') {
      const probe = new IpvsDataplane();
      const sel = await selectDataplane(g.lvsDataplane, {
        ipvs: () => probe.available(),
        loadModule: modprobeIpvs,
      });
      await probe.stop(true);
      if (sel.kind === 'none') {
        o.log.error(`LVS data plane: none: ${sel.reason}`);
        return null;
      }
      o.log.info(`LVS data plane: ${sel.kind === 'ipvs' ? 'IPVS' : 'nftables'}: ${sel.reason}`);
      if (sel.kind === 'ipvs') {
        const file = o.stateFile ? readStateFile(o.stateFile) : undefined;
        const leftovers = file ? ipvsLeftovers(file) : [];
        const dp = new IpvsDataplane({
          log: (m) => o.log.info(m),
          flushOnStart: g.lvsFlush,
          ...(g.lvsFlushOnStop ? { flushOnStop: g.lvsFlushOnStop } : {}),
          ...(g.lvsTimeouts ? { timeouts: g.lvsTimeouts } : {}),
          ...(leftovers.length > 0 ? { leftovers: { services: leftovers } } : {}),
        });
        return new LvsSink(cfg, dp, o, leftovers);
      }
    }
    const runner = nftRunner(o.log);
    if (!runner) return null;
    const dr = drOptions(cfg);
    // lvs_flush: the connections of an earlier run go too, found by the marks its state file names. Not
    // for a respawned checker: its predecessor's table keeps serving until the checks re-converge.
    const flush = g.lvsFlush && !o.respawned;
    const leftovers = flush && o.stateFile ? readStateFile(o.stateFile) : undefined;
    for (const n of lvsTimeoutsNotes(cfg)) o.log.info(n.message);
    // Removed real servers' conntrack entries go (UDP flows would otherwise stay on a failed server).
    const dp = new NftDataplane(runner, {
      log: (m) => o.log.info(m),
      conntrack: netlinkFlusher(),
      flushOnStart: flush,
      ...(leftovers && leftovers.dataplane !== 'ipvs'
        ? { leftoverMarks: leftovers.marks.map(([, m]) => m) }
        : {}),
      ...(g.lvsTimeouts ? { timeouts: g.lvsTimeouts } : {}),
      // A removed DR server's flow entries go with it (docs/lvs.md, "Forwarding").
      ...(dr ? { dr, flows: netlinkFlowReader() } : {}),
    });
    return new LvsSink(cfg, dp, o);
  }

  #index(cfg: KeepalivedConfig): void {
    this.#names.clear();
    this.#vsById.clear();
    const ids = vsIds(cfg);
    cfg.virtualServers.forEach((vs, k) => {
      this.#names.set(ids[k]!, vsName(vs));
      this.#vsById.set(ids[k]!, vs);
    });
  }

  /** A reloaded configuration: the next whole snapshot is mapped onto it (the data plane applies the diff). */
  reload(cfg: KeepalivedConfig): void {
    this.#cfg = cfg;
    this.#index(cfg);
    // nftables: lvs_timeouts as the reloaded configuration has them (keepalived sets them on every reload).
    void this.#dp.setTimeouts?.(cfg.globalDefs.lvsTimeouts).then((r) => {
      if (!r.ok) this.#o.log.error(`data plane: ${r.error.message}`);
    });
  }

  apply(views: VirtualServerView[]): void {
    this.#latest = views;
    this.#changed.clear();
    void this.#drain();
  }

  /**
   * The fast path for verdicts: views of only the virtual servers that changed. Their services alone are
   * rebuilt, planned and sent (docs/decisions/lvs-verdict-latency.md); the others stay as committed.
   */
  applyChanged(views: VirtualServerView[]): void {
    for (const v of views) this.#changed.set(v.vs, v);
    void this.#drain();
  }

  /** Resolves once every view handed over has been programmed (or failed). */
  settled(): Promise<void> {
    if (!this.#busy && !this.#latest && this.#changed.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  #liveOf(v: VirtualServerView): LiveVs {
    return {
      reals: v.destinations
        .filter((d) => !d.sorry)
        .map(({ address, port, weight }) => ({ address, port, weight })),
      sorryActive: v.sorryActive,
    };
  }

  #report(errors: { message: string }[]): void {
    for (const e of errors) {
      if (this.#reported.has(e.message)) continue;
      this.#reported.add(e.message);
      this.#o.log.error(`virtual server not programmed: ${e.message}`);
    }
  }

  /** The desired state for `views` (pure; exported for tests through LvsSink.desired). */
  desired(views: VirtualServerView[]): DataplaneState {
    const live = new Map<string, LiveVs>();
    for (const v of views) {
      const name = this.#names.get(v.vs);
      if (name !== undefined) live.set(name, this.#liveOf(v));
    }
    const { state, errors } = desiredFromConfig(this.#cfg, live);
    this.#report(errors);
    return state;
  }

  #converged(): boolean {
    if (Date.now() >= this.#startAfterMs) return true;
    return this.#o.status().every((rs) => rs.checkers.every((c) => c.hasRun));
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#latest || this.#changed.size > 0) {
        if (!this.#started && !this.#converged()) {
          // Checked again at the next batch (every verdict brings one) or by the timer below.
          setTimeout(() => void this.#drain(), 1000).unref();
          return;
        }
        let r: Awaited<ReturnType<SinkDataplane['update']>>;
        if (this.#latest || !this.#started) {
          if (this.#latest) {
            this.#live.clear();
            for (const v of this.#latest) {
              const name = this.#names.get(v.vs);
              if (name !== undefined) this.#live.set(name, this.#liveOf(v));
            }
          }
          for (const v of this.#changed.values()) {
            const name = this.#names.get(v.vs);
            if (name !== undefined) this.#live.set(name, this.#liveOf(v));
          }
          this.#latest = null;
          this.#changed.clear();
          const { state, errors } = desiredFromConfig(this.#cfg, this.#live);
          this.#report(errors);
          this.#beforeAdding(state.services);
          r = this.#started ? await this.#dp.update(state) : await this.#dp.start(state);
          // a started IPVS back end has deleted the earlier run's services it no longer wants
          if (r.ok && !this.#started) this.#unsettled = [];
        } else {
          // Only the changed virtual servers: their services against what is committed for them.
          const olds: ServiceSpec[] = [];
          const news: ServiceSpec[] = [];
          for (const v of this.#changed.values()) {
            const name = this.#names.get(v.vs);
            const vs = this.#vsById.get(v.vs);
            if (name === undefined || !vs) continue;
            const live = this.#liveOf(v);
            this.#live.set(name, live);
            const old = this.#dp.service(name);
            if (old) olds.push(old);
            const made = serviceFromConfig(this.#cfg, vs, live);
            if (made.ok) news.push(made.spec);
            else this.#report(made.errors);
          }
          this.#changed.clear();
          this.#beforeAdding(news);
          r = await this.#dp.apply(planChanges({ services: olds }, { services: news }));
        }
        if (r.ok) this.#settleAdded();
        if (!r.ok) this.#o.log.error(`data plane: ${r.error.message}`);
        for (const e of this.#dp.lastDrCleanup?.errors ?? [])
          this.#o.log.warn(`data plane (DR flow clean-up): ${e}`);
        if (r.ok) {
          this.#started = true;
          this.#committed();
        }
      }
    } finally {
      this.#busy = false;
      if (!this.#latest && this.#changed.size === 0) for (const w of this.#idle.splice(0)) w();
    }
  }

  /** The virtual and real servers' traffic counters now (status listener); null: none to read. */
  /** Folds the nftables counter readings into monotonic totals (counters.ts). */
  #ledger = new TrafficLedger();

  async traffic(): Promise<ServiceTraffic[] | null> {
    if (!this.#started) return null;
    const services = this.#dp.committed().services;
    if (this.#dp instanceof IpvsDataplane) {
      const dump = await this.#dp.dump();
      return Array.isArray(dump) ? ipvsServiceTraffic(services, dump) : null;
    }
    const dp = this.#dp;
    const del =
      dp instanceof NftDataplane ? (keys: CounterKey[]) => dp.deleteCounterElements(keys) : undefined;
    const r = await readNftTraffic(this.#ledger, services, dp.marks(), del);
    if ('error' in r) {
      this.#o.log.detail(r.error);
      return null;
    }
    for (const p of r.problems) this.#o.log.detail(p);
    return r.traffic;
  }

  /**
   * IPVS, before a transaction towards `services`: those occupying a service key that neither the committed
   * state nor the unsettled list holds are added to the latter and the state file is written at once, so a
   * run killed while programming them leaves them named for the next start to delete (nftables needs no
   * such list: its tables are adopted or replaced whole).
   */
  #beforeAdding(services: readonly ServiceSpec[]): void {
    if (this.#kind !== 'ipvs' || !this.#o.stateFile) return;
    let unsettled: Set<string> | undefined;
    const fresh = services.filter((s) => {
      const old = this.#dp.service(s.name);
      const held = new Set(old ? serviceKeys(old) : []);
      const keys = serviceKeys(s).filter((k) => !held.has(k));
      if (keys.length === 0) return false;
      unsettled ??= new Set(this.#unsettled.flatMap(serviceKeys));
      return keys.some((k) => !unsettled?.has(k));
    });
    if (fresh.length === 0) return;
    this.#unsettled.push(...fresh);
    this.#writeState(true);
  }

  /** After a transaction that succeeded: unsettled services now held by the committed state are settled. */
  #settleAdded(): void {
    if (this.#unsettled.length === 0) return;
    const held = new Set(this.#dp.committed().services.flatMap(serviceKeys));
    // the next write of the state file (after this transaction) leaves them out
    this.#unsettled = this.#unsettled.filter((s) => serviceKeys(s).some((k) => !held.has(k)));
  }

  #stateTimer: NodeJS.Timeout | null = null;
  #stateWrittenAt = 0;

  /** `ahead`: written before the first programming too (the unsettled services alone). */
  #writeState(ahead = false): void {
    if (this.#stateTimer && ahead) clearTimeout(this.#stateTimer);
    this.#stateTimer = null;
    this.#stateWrittenAt = Date.now();
    if (!this.#o.stateFile || (!this.#started && !ahead)) return;
    const file: LvsStateFile = {
      state: this.#dp.committed(),
      marks: [...this.#dp.marks()],
      dataplane: this.#kind,
      ...(this.#unsettled.length > 0 ? { unsettled: this.#unsettled } : {}),
    };
    try {
      writeFileSync(this.#o.stateFile, JSON.stringify(file), { mode: 0o600 });
    } catch (e) {
      this.#o.log.detail(`cannot write ${this.#o.stateFile}: ${(e as Error).message}`);
    }
  }

  /** After each transaction: the state file for --lvs-list, and the rebalancer while it has work. */
  #committed(): void {
    const committed = this.#dp.committed();
    // At 10,000 real servers the file is ~1 MB of JSON (~10 ms): written at most every STATE_FILE_MS, so a
    // burst of verdicts does not pay it each time.
    if (this.#o.stateFile && !this.#stateTimer) {
      const wait = this.#stateWrittenAt + STATE_FILE_MS - Date.now();
      if (wait <= 0) this.#writeState();
      else {
        this.#stateTimer = setTimeout(() => this.#writeState(), wait);
        this.#stateTimer.unref();
      }
    }
    // IPVS runs the connection-count schedulers itself; only nftables approximates them by rebalancing.
    const counted = !!this.#dp.rebalance && committed.services.some((s) => isCountBased(s.scheduler));
    if (counted && !this.#rebalancer) {
      this.#rebalancer = setInterval(() => void this.#rebalance(), REBALANCE_MS);
      this.#rebalancer.unref();
    } else if (!counted && this.#rebalancer) {
      clearInterval(this.#rebalancer);
      this.#rebalancer = null;
    }
  }

  async #rebalance(): Promise<void> {
    if (this.#busy) return;
    const { counts } = await readConnCounts();
    const r = await this.#dp.rebalance?.(counts);
    if (r && !r.ok) this.#o.log.detail(`rebalance: ${r.error.message}`);
  }

  /** Graceful stop: the services leave the kernel unless kept (-I). */
  async close(): Promise<void> {
    if (this.#rebalancer) clearInterval(this.#rebalancer);
    this.#rebalancer = null;
    if (this.#stateTimer) clearTimeout(this.#stateTimer);
    this.#stateTimer = null;
    if (!this.#started) return;
    // With -I the services stay in the kernel, and so does the file naming them as ours: the next start
    // deletes those it no longer configures (IPVS; docs/lvs.md) and --lvs-list still shows what is there.
    if (this.#o.stateFile && !this.#o.keepOnStop) rmSync(this.#o.stateFile, { force: true });
    const r = await this.#dp.stop(this.#o.keepOnStop);
    if (!r.ok) this.#o.log.error(`data plane: ${r.error.message}`);
  }
}
