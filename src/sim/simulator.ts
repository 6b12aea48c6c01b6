// Deterministic multi-router VRRP simulator (in the manner of quinn's `Pair` and h11's `ConnectionPair`):
// routers run the real pure engine (src/vrrp/engine.ts) on virtual LAN segments, with a virtual clock
// that jumps to the next event. Every random draw comes from one seeded PRNG in a fixed order and ties in
// time are broken by scheduling order, so a seed replays exactly. Adverts go through the real codec and
// receive validation (wire.ts) unless `codec: false`.
import type { AdvertToSend, VrrpAction, VrrpState } from '../vrrp/actions.js';
import { advertToEncode, type IpFamily, type RxMeta, type VrrpAdvert } from '../vrrp/advert.js';
import { type EngineConfig, type EngineEvent, VrrpEngine } from '../vrrp/engine.js';
import type { VrrpInstance } from '../vrrp/fsm.js';
import type { ReplayRecord } from '../vrrp/fsm-replay.js';
import {
  instanceParams,
  type VrrpInstanceParams,
  type VrrpInstanceParamsInput,
} from '../vrrp/instance-params.js';
import type { TrackerKind } from '../vrrp/priority.js';
import { planReload } from '../vrrp/reload-plan.js';
import type { RxPolicy } from '../vrrp/rx-validate.js';
import type { SyncGroupParams } from '../vrrp/sync-group.js';
import type { VrrpTimerName } from '../vrrp/timers.js';
import { EventQueue } from './event-queue.js';
import { MasterLog } from './master-log.js';
import { Prng } from './prng.js';
import { encodeForDestination, multicastGroup, receiveBytes, rxPolicyOf } from './wire.js';

export interface LinkConditions {
  /** Probability that one packet copy is lost. */
  lossProb: number;
  /** Fixed one-way delay, µs. */
  delayUs: number;
  /** Extra uniform delay in [0, jitterUs], µs (reorders packets whose spacing is below it). */
  jitterUs: number;
  /** Probability that a packet is delivered twice. */
  dupProb: number;
  /** Probability that a packet is held back by reorderDelayUs (explicit reordering). */
  reorderProb: number;
  reorderDelayUs: number;
}

export const CLEAN_LINK: LinkConditions = {
  lossProb: 0,
  delayUs: 100,
  jitterUs: 0,
  dupProb: 0,
  reorderProb: 0,
  reorderDelayUs: 0,
};

/** One instance of a simulated router; its interface is the segment it sits on. */
export type SimInstanceSpec = Omit<VrrpInstanceParamsInput, 'interface'> & { segment: string };

export interface SimRouterSpec {
  id: string;
  instances: SimInstanceSpec[];
  syncGroups?: SyncGroupParams[];
}

/** Scenario operations, scheduled with `at()`. JSON-safe. */
export type SimOp =
  | { op: 'start'; router: string }
  | { op: 'crash'; router: string }
  | { op: 'restart'; router: string }
  /** Graceful stop: the engine shuts down (priority 0 sent), then the router is gone. */
  | { op: 'shutdown'; router: string }
  | { op: 'partition'; segment: string; sides: string[][] }
  | { op: 'heal'; segment: string }
  | { op: 'conditions'; segment: string; conditions: Partial<LinkConditions> }
  | { op: 'linkDown'; router: string; segment: string }
  | { op: 'linkUp'; router: string; segment: string }
  | { op: 'priority'; router: string; instance: string; priority: number }
  /** A tracker of that kind and name (names are per kind) changed on every instance of the router tracking it. */
  | { op: 'tracker'; router: string; kind: Exclude<TrackerKind, 'file'>; name: string; up: boolean }
  /**
   * SIGHUP with a new configuration: the pure reload plan (src/vrrp/reload-plan.ts) performed on the running
   * engine (its engine steps; the host steps have nothing to do here). A router that is down takes it at its
   * next start.
   */
  | { op: 'reload'; router: string; spec: SimRouterSpec };

export interface SimOptions {
  seed: number;
  /** Encode/decode/validate every advert with the real codec (default true). */
  codec?: boolean;
  /** Keep a text trace of every input and output (for determinism checks and debugging). */
  trace?: boolean;
}

/** The virtual router an instance belongs to on the LAN: segment, family, VRID. */
export function vrKey(segment: string, family: IpFamily, vrid: number): string {
  return `${segment}|v${family}|${vrid}`;
}

interface Segment {
  name: string;
  conditions: LinkConditions;
  /** router id → side number while partitioned. */
  partition: Map<string, number> | null;
  members: string[];
}

type QueueItem =
  | {
      k: 'deliver';
      router: string;
      segment: string;
      key: string;
      bytes: Uint8Array | null;
      advert: VrrpAdvert | null;
      meta: RxMeta;
    }
  | {
      k: 'timer';
      router: string;
      life: number;
      instance: string;
      timer: VrrpTimerName;
      slot: TimerSlot;
      atUs: number;
    }
  | { k: 'op'; op: SimOp };

/**
 * One armed timer of one instance. Scheduling is lazy: re-arming later than an entry already queued (a backup's
 * down timer reset by every advert) pushes nothing; when the queued entry comes due it re-queues itself at the
 * armed deadline. This halves the queue traffic of large runs without changing when timers fire.
 */
interface TimerSlot {
  armedAtUs: number | null;
  queuedAtUs: number | null;
}

export class SimRouter {
  readonly id: string;
  /** The configuration it (re)starts with; a reload replaces it. */
  config: EngineConfig;
  engine: VrrpEngine;
  alive = false;
  /** Incremented by every crash/restart, so timers of a previous life are dropped. */
  life = 0;
  readonly linkDown = new Set<string>();
  /** Instance name → its virtual-router key; key → instance name. */
  readonly keyOf = new Map<string, string>();
  readonly instanceAt = new Map<string, string>();
  readonly segmentOf = new Map<string, string>();
  /** State as seen through the action stream (checks that addVips comes after the MASTER transition). */
  readonly trackedState = new Map<string, VrrpState>();
  /** Installed VIPs per instance. */
  readonly vips = new Map<string, Set<string>>();
  /** instance → timer → slot (cleared by every crash/restart). */
  timerSlots = new Map<string, Map<VrrpTimerName, TimerSlot>>();
  /** Receive policy per instance (rx-validate.ts), fixed for the router's configuration. */
  readonly rxPolicy = new Map<string, RxPolicy>();
  /** When set, every engine input/output of this router is appended here (fsm-replay.ts format). */
  records: ReplayRecord[] | null = null;

  constructor(spec: SimRouterSpec) {
    this.id = spec.id;
    this.config = this.configure(spec);
    this.engine = new VrrpEngine(this.config);
  }

  /** The engine configuration of `spec`; indexes its instances (keys, segments, receive policies). */
  configure(spec: SimRouterSpec): EngineConfig {
    const instances: VrrpInstanceParams[] = spec.instances.map((s) => {
      const { segment, ...rest } = s;
      const p = instanceParams({ ...rest, interface: segment });
      const key = vrKey(segment, p.family, p.vrid);
      this.keyOf.set(p.name, key);
      this.instanceAt.set(key, p.name);
      this.segmentOf.set(p.name, segment);
      this.rxPolicy.set(p.name, rxPolicyOf(p));
      return p;
    });
    return { instances, syncGroups: spec.syncGroups ?? [] };
  }

  /** Forgets an instance's index entries (a reload removed it). */
  unindex(name: string): void {
    const key = this.keyOf.get(name);
    if (key !== undefined && this.instanceAt.get(key) === name) this.instanceAt.delete(key);
    this.keyOf.delete(name);
    this.segmentOf.delete(name);
    this.rxPolicy.delete(name);
    this.forgetState(name);
  }

  /** Drops an instance's installed VIPs, tracked state and timers (queued firings become void). */
  forgetState(name: string): void {
    this.vips.delete(name);
    this.trackedState.delete(name);
    for (const slot of this.timerSlots.get(name)?.values() ?? []) slot.armedAtUs = null;
    this.timerSlots.delete(name);
  }

  instance(name: string): VrrpInstance {
    const inst = this.engine.instance(name);
    if (!inst) throw new RangeError(`router ${this.id} has no instance ${name}`);
    return inst;
  }
}

export interface SimCounters {
  packetsSent: number;
  packetsDelivered: number;
  packetsLost: number;
  packetsDropped: number;
  eventsProcessed: number;
}

export class Simulator {
  readonly prng: Prng;
  readonly codec: boolean;
  readonly masterLog = new MasterLog();
  readonly counters: SimCounters = {
    packetsSent: 0,
    packetsDelivered: 0,
    packetsLost: 0,
    packetsDropped: 0,
    eventsProcessed: 0,
  };
  /** Invariant violations seen while running (e.g. a VIP added by a non-master). */
  readonly violations: string[] = [];
  readonly trace: string[] | null;
  /** Called with every engine output (tests hook in here). */
  onActions: ((router: string, nowUs: number, actions: VrrpAction[]) => void) | null = null;
  #now = 0;
  #queue = new EventQueue<QueueItem>();
  #segments = new Map<string, Segment>();
  #routers = new Map<string, SimRouter>();

  constructor(opts: SimOptions) {
    this.prng = new Prng(opts.seed);
    this.codec = opts.codec ?? true;
    this.trace = opts.trace ? [] : null;
  }

  get nowUs(): number {
    return this.#now;
  }

  addSegment(name: string, conditions: Partial<LinkConditions> = {}): void {
    this.#segments.set(name, {
      name,
      conditions: { ...CLEAN_LINK, ...conditions },
      partition: null,
      members: [],
    });
  }

  /** Adds a router; it starts at `startAtUs` (null: only when a `start` op is scheduled). */
  addRouter(spec: SimRouterSpec, startAtUs: number | null = 0): SimRouter {
    if (this.#routers.has(spec.id)) throw new RangeError(`duplicate router ${spec.id}`);
    const r = new SimRouter(spec);
    this.#routers.set(r.id, r);
    this.#join(r);
    if (startAtUs !== null) this.at(startAtUs, { op: 'start', router: r.id });
    return r;
  }

  /** Makes the router a member of every segment its instances are on (at its start and after a reload). */
  #join(r: SimRouter): void {
    for (const seg of new Set(r.segmentOf.values())) {
      if (!this.#segments.has(seg)) this.addSegment(seg);
      const members = this.#segments.get(seg)!.members;
      if (!members.includes(r.id)) members.push(r.id);
    }
  }

  router(id: string): SimRouter {
    const r = this.#routers.get(id);
    if (!r) throw new RangeError(`no router ${id}`);
    return r;
  }

  routers(): SimRouter[] {
    return [...this.#routers.values()];
  }

  segment(name: string): Readonly<Segment> {
    const s = this.#segments.get(name);
    if (!s) throw new RangeError(`no segment ${name}`);
    return s;
  }

  at(atUs: number, op: SimOp): void {
    this.#queue.push(Math.max(atUs, this.#now), { k: 'op', op });
  }

  /** Runs every event up to and including `untilUs`, then leaves the clock at `untilUs`. */
  run(untilUs: number): void {
    for (;;) {
      const t = this.#queue.peekTime();
      if (t === null || t > untilUs) break;
      const e = this.#queue.pop()!;
      this.#now = e.atUs;
      this.counters.eventsProcessed++;
      this.#dispatch(e.item);
    }
    this.#now = Math.max(this.#now, untilUs);
  }

  /** Sends one input to a router's engine directly (tests), applying its outputs to the network. */
  inject(routerId: string, event: EngineEvent): VrrpAction[] {
    return this.#feed(this.router(routerId), event);
  }

  // ===== internals =====

  #log(line: string): void {
    this.trace?.push(`${this.#now} ${line}`);
  }

  #dispatch(item: QueueItem): void {
    switch (item.k) {
      case 'op':
        this.#applyOp(item.op);
        return;
      case 'timer': {
        const r = this.#routers.get(item.router)!;
        if (!r.alive || r.life !== item.life) return;
        const slot = item.slot;
        if (slot.queuedAtUs !== item.atUs) return; // superseded by an earlier entry
        slot.queuedAtUs = null;
        if (slot.armedAtUs === null) return; // cancelled
        if (slot.armedAtUs > this.#now) {
          this.#queueTimer(r, item.instance, item.timer, slot);
          return;
        }
        slot.armedAtUs = null;
        this.#feed(r, {
          type: 'instance',
          instance: item.instance,
          event: { type: 'timer', timer: item.timer },
        });
        return;
      }
      case 'deliver': {
        const r = this.#routers.get(item.router)!;
        if (!r.alive || r.linkDown.has(item.segment)) {
          this.counters.packetsLost++;
          return;
        }
        const name = r.instanceAt.get(item.key);
        if (name === undefined) return;
        const advert =
          item.bytes !== null ? receiveBytes(item.bytes, item.meta, r.rxPolicy.get(name)!) : item.advert;
        if (advert === null) {
          this.counters.packetsDropped++;
          this.#log(`${r.id} drop ${item.key} from ${item.meta.srcAddr}`);
          return;
        }
        this.counters.packetsDelivered++;
        this.#feed(r, {
          type: 'instance',
          instance: name,
          event: { type: 'advertRx', advert, meta: item.meta },
        });
        return;
      }
    }
  }

  #applyOp(op: SimOp): void {
    this.#log(`op ${JSON.stringify(op)}`);
    switch (op.op) {
      case 'start':
      case 'restart': {
        const r = this.router(op.router);
        if (r.alive && op.op === 'start') return;
        if (r.alive) this.#crash(r);
        r.engine = new VrrpEngine(r.config);
        if (r.records) {
          const records = r.records;
          records.push({ kind: 'config', config: r.config });
          r.engine.recorder = (rec) => records.push(rec);
        }
        r.life++;
        r.timerSlots = new Map();
        r.alive = true;
        r.trackedState.clear();
        this.#feed(r, { type: 'startAll' });
        // Links that are down stay down across a restart.
        for (const seg of r.linkDown) this.#feed(r, { type: 'link', ifname: seg, up: false });
        return;
      }
      case 'crash': {
        const r = this.router(op.router);
        if (r.alive) this.#crash(r);
        return;
      }
      case 'shutdown': {
        const r = this.router(op.router);
        if (!r.alive) return;
        this.#feed(r, { type: 'shutdownAll' });
        this.#crash(r);
        return;
      }
      case 'partition': {
        const seg = this.#segments.get(op.segment)!;
        seg.partition = new Map();
        op.sides.forEach((side, i) => {
          for (const id of side) seg.partition!.set(id, i);
        });
        return;
      }
      case 'heal':
        this.#segments.get(op.segment)!.partition = null;
        return;
      case 'conditions': {
        const seg = this.#segments.get(op.segment)!;
        seg.conditions = { ...seg.conditions, ...op.conditions };
        return;
      }
      case 'linkDown':
      case 'linkUp': {
        const r = this.router(op.router);
        const up = op.op === 'linkUp';
        if (up) r.linkDown.delete(op.segment);
        else r.linkDown.add(op.segment);
        if (r.alive) this.#feed(r, { type: 'link', ifname: op.segment, up });
        return;
      }
      case 'priority': {
        const r = this.router(op.router);
        if (r.alive) {
          this.#feed(r, {
            type: 'instance',
            instance: op.instance,
            event: { type: 'priority', priority: op.priority },
          });
        }
        return;
      }
      case 'tracker': {
        const r = this.router(op.router);
        if (r.alive) this.#feed(r, { type: 'tracker', kind: op.kind, name: op.name, up: op.up });
        return;
      }
      case 'reload':
        this.#reload(this.router(op.router), op.spec);
        return;
    }
  }

  /** The daemon's reload (src/daemon/vrrp-reload.ts) without the host: the plan's engine steps, in order. */
  #reload(r: SimRouter, spec: SimRouterSpec): void {
    if (!r.alive) {
      for (const name of r.keyOf.keys()) r.unindex(name);
      r.config = r.configure(spec);
      this.#join(r);
      return;
    }
    const socket = (p: VrrpInstanceParams) => ({ unicast: p.unicastPeers.length > 0, group: '' });
    const running = r.engine
      .instances()
      .map((i) => ({ params: i.params, socket: socket(i.params), state: i.state }));
    // Indexes of the running instances stay until their stop has been performed (its actions name them).
    const old = new Map([...r.keyOf].map(([n, k]) => [n, { key: k, segment: r.segmentOf.get(n)! }]));
    const next = r.configure(spec);
    // An instance on a segment the router had none on before hears that segment from now on.
    this.#join(r);
    const steps = planReload({
      running,
      notifyDeleted: new Set(),
      next: {
        instances: next.instances.map((p) => ({ params: p, socket: socket(p) })),
        syncGroups: next.syncGroups,
      },
    });
    const nextNames = new Set(next.instances.map((p) => p.name));
    for (const st of steps) {
      switch (st.step) {
        case 'stop': {
          // Performed under the old index (a re-keyed instance's new entries are not in force yet).
          const o = old.get(st.instance);
          const key = r.keyOf.get(st.instance);
          if (o) r.keyOf.set(st.instance, o.key);
          this.#feed(r, { type: 'removeInstance', instance: st.instance, notifyDeleted: st.notifyDeleted });
          if (!nextNames.has(st.instance)) r.unindex(st.instance);
          else {
            if (key !== undefined) r.keyOf.set(st.instance, key);
            if (o && r.instanceAt.get(o.key) === st.instance && o.key !== key) r.instanceAt.delete(o.key);
            r.forgetState(st.instance);
          }
          break;
        }
        case 'update': {
          const instance = st.instance;
          this.#feed(r, { type: 'instance', instance, event: { type: 'reload', params: st.params } });
          if (st.start) this.#feed(r, { type: 'instance', instance, event: { type: 'start' } });
          break;
        }
        case 'add':
          this.#feed(r, { type: 'addInstance', params: st.params });
          break;
        case 'formSyncGroup':
          this.#feed(r, { type: 'addSyncGroup', group: st.group });
          break;
        case 'followLinks':
          // A new instance on a segment whose link is down starts in FAULT.
          for (const seg of r.linkDown) {
            if (steps.some((x) => x.step === 'add' && x.params.interface === seg))
              this.#feed(r, { type: 'link', ifname: seg, up: false });
          }
          break;
        case 'start':
          this.#feed(r, { type: 'instance', instance: st.instance, event: { type: 'start' } });
          break;
        case 'compareSyncGroups':
        case 'trackers':
          break;
      }
    }
    r.config = next;
  }

  /** The router process dies: no priority 0, its addresses vanish with it, its timers are void. */
  #crash(r: SimRouter): void {
    r.alive = false;
    r.life++;
    r.timerSlots = new Map();
    this.masterLog.endAllOf(r.id, this.#now);
    r.vips.clear();
    r.trackedState.clear();
  }

  #feed(r: SimRouter, event: EngineEvent): VrrpAction[] {
    const actions = r.engine.handle(event, this.#now);
    if (this.trace) this.#log(`${r.id} ${JSON.stringify(event)} => ${JSON.stringify(actions)}`);
    for (const a of actions) this.#applyAction(r, a);
    this.onActions?.(r.id, this.#now, actions);
    return actions;
  }

  #applyAction(r: SimRouter, a: VrrpAction): void {
    switch (a.type) {
      case 'sendAdvert':
        this.#transmit(r, a.instance, a.advert);
        return;
      case 'armTimer': {
        const slot = this.#slot(r, a.instance, a.timer);
        slot.armedAtUs = Math.max(a.atUs, this.#now);
        if (slot.queuedAtUs === null || slot.armedAtUs < slot.queuedAtUs)
          this.#queueTimer(r, a.instance, a.timer, slot);
        return;
      }
      case 'cancelTimer':
        this.#slot(r, a.instance, a.timer).armedAtUs = null;
        return;
      case 'stateChange': {
        r.trackedState.set(a.instance, a.to);
        const key = r.keyOf.get(a.instance)!;
        if (a.to === 'MASTER') this.masterLog.begin(key, r.id, this.#now);
        else if (a.from === 'MASTER') this.masterLog.end(key, r.id, this.#now);
        return;
      }
      case 'addVips': {
        if (r.trackedState.get(a.instance) !== 'MASTER') {
          this.violations.push(
            `${this.#now}: ${r.id}/${a.instance} added VIPs while ${r.trackedState.get(a.instance) ?? 'INIT'}`,
          );
        }
        let set = r.vips.get(a.instance);
        if (!set) {
          set = new Set();
          r.vips.set(a.instance, set);
        }
        for (const v of a.vips) set.add(v.address);
        return;
      }
      case 'removeVips': {
        const set = r.vips.get(a.instance);
        for (const v of a.vips) set?.delete(v.address);
        return;
      }
      default:
        return;
    }
  }

  #slot(r: SimRouter, instance: string, timer: VrrpTimerName): TimerSlot {
    let byTimer = r.timerSlots.get(instance);
    if (!byTimer) {
      byTimer = new Map();
      r.timerSlots.set(instance, byTimer);
    }
    let slot = byTimer.get(timer);
    if (!slot) {
      slot = { armedAtUs: null, queuedAtUs: null };
      byTimer.set(timer, slot);
    }
    return slot;
  }

  #queueTimer(r: SimRouter, instance: string, timer: VrrpTimerName, slot: TimerSlot): void {
    const atUs = slot.armedAtUs!;
    slot.queuedAtUs = atUs;
    this.#queue.push(atUs, { k: 'timer', router: r.id, life: r.life, instance, timer, slot, atUs });
  }

  #transmit(r: SimRouter, instance: string, advert: AdvertToSend): void {
    const segName = r.segmentOf.get(instance)!;
    if (r.linkDown.has(segName)) return;
    const seg = this.#segments.get(segName)!;
    const key = r.keyOf.get(instance)!;
    const group = multicastGroup(advert.family);
    const targets: { router: SimRouter; dst: string }[] = [];
    for (const id of seg.members) {
      if (id === r.id) continue;
      const peer = this.#routers.get(id)!;
      if (advert.unicastPeers.length === 0) {
        targets.push({ router: peer, dst: group });
        continue;
      }
      const name = peer.instanceAt.get(key);
      if (name === undefined) continue;
      const addr = peer.config.instances.find((p) => p.name === name)!.primaryAddress;
      if (advert.unicastPeers.includes(addr)) targets.push({ router: peer, dst: addr });
    }
    const encoded = new Map<string, Uint8Array>();
    const c = seg.conditions;
    for (const t of targets) {
      this.counters.packetsSent++;
      const sameSide =
        seg.partition === null || (seg.partition.get(r.id) ?? -1) === (seg.partition.get(t.router.id) ?? -1);
      // Draw the randomness even for a partitioned target, so a partition does not shift later draws.
      const lost = this.prng.chance(c.lossProb);
      const dup = this.prng.chance(c.dupProb);
      if (!sameSide || lost) {
        this.counters.packetsLost++;
        continue;
      }
      let bytes: Uint8Array | null = null;
      let obj: VrrpAdvert | null = null;
      if (this.codec) {
        bytes = encoded.get(t.dst) ?? encodeForDestination(advert, t.dst);
        encoded.set(t.dst, bytes);
      } else obj = advertToEncode(advert);
      const meta: RxMeta = {
        family: advert.family,
        srcAddr: advert.srcAddr,
        dstAddr: t.dst,
        ttl: 255,
        ifindex: 1,
        ifname: segName,
      };
      for (let copy = 0; copy < (dup ? 2 : 1); copy++) {
        let delay = c.delayUs;
        if (c.jitterUs > 0) delay += this.prng.int(c.jitterUs + 1);
        if (this.prng.chance(c.reorderProb)) delay += c.reorderDelayUs;
        this.#queue.push(this.#now + delay, {
          k: 'deliver',
          router: t.router.id,
          segment: segName,
          key,
          bytes,
          advert: obj,
          meta,
        });
      }
    }
  }
}
