// All VRRP instances of one daemon (one router) with their sync groups: the object the Linux daemon and the
// simulator drive. Pure like the instances: `handle(event, nowUs) -> actions`, `nextDeadline()`, and
// `handleTimers(nowUs)` to fire every due timer. An optional recorder sees each input and its outputs, in
// the replay format of fsm-replay.ts.
import { DeadlineHeap, type HeapItem } from '../common/deadline-heap.js';
import type { VrrpAction } from './actions.js';
import type { VrrpEvent } from './events.js';
import { VrrpInstance } from './fsm.js';
import type { VrrpInstanceParams } from './instance-params.js';
import type { TrackerKind } from './priority.js';
import { type SyncGroupParams, VrrpSyncGroup } from './sync-group.js';
import type { VrrpTimerName } from './timers.js';

/** Inputs at daemon level: one instance's event, or something that fans out to several instances. */
export type EngineEvent =
  | { type: 'instance'; instance: string; event: VrrpEvent }
  /** A link changed: instances on that interface see interfaceUp/Down, instances tracking it a tracker event. */
  | { type: 'link'; ifname: string; up: boolean }
  /**
   * A tracker (vrrp_script, track_process, bfd…) changed, for every instance that tracks that kind and name
   * (names are per kind: a vrrp_script and a bfd_instance may share one).
   */
  | { type: 'tracker'; kind: Exclude<TrackerKind, 'file'>; name: string; up: boolean }
  /** A track_file's new value (kind 'file'). */
  | { type: 'trackerValue'; name: string; value: number }
  | { type: 'startAll' }
  | { type: 'shutdownAll' }
  /**
   * Reload (docs/keepalived-semantics.md, 'Reload (SIGHUP)'): a new instance joins, in INIT (the driver
   * reports down links, then sends it `start`). Ignored if an instance of that name exists. Existing groups
   * take no new members; a new group of new instances comes with `addSyncGroup`.
   */
  | { type: 'addInstance'; params: VrrpInstanceParams }
  /**
   * Reload: an instance gone from the configuration stops (`deleted` event: priority 0 if master, VIPs removed,
   * DELETED or FAULT notify), leaves its sync group, and is forgotten.
   */
  | { type: 'removeInstance'; instance: string; notifyDeleted: boolean }
  /**
   * Reload: a new sync group made of added instances only. Ignored unless every member exists, is still in
   * INIT (not started) and is in no group, and no group has that name.
   */
  | { type: 'addSyncGroup'; group: SyncGroupParams };

export interface EngineConfig {
  instances: VrrpInstanceParams[];
  syncGroups: SyncGroupParams[];
}

export type EngineRecord =
  | { kind: 'in'; nowUs: number; event: EngineEvent }
  | { kind: 'out'; actions: VrrpAction[] };

export class VrrpEngine {
  /** The instances and groups as they are now (addInstance/removeInstance change it; a copy of the input). */
  readonly config: EngineConfig;
  /** Receives each input and its outputs (fsm-replay.ts writes them as JSON lines). */
  recorder: ((rec: EngineRecord) => void) | null = null;
  #instances = new Map<string, VrrpInstance>();
  #groups: VrrpSyncGroup[] = [];
  #groupOf = new Map<string, VrrpSyncGroup>();
  /**
   * Each instance's current deadline, earliest first (ties to the earlier instance in instance order): kept
   * in step by #touch after every change to an instance (#toInstance, #add, #remove, sync-group members), so
   * the earliest costs O(1) and a change O(log n) — with 1,000 instances a scan of every instance, run after
   * every input and once per due timer, was most of the engine's time.
   */
  readonly #deadlines = new DeadlineHeap<DeadlineItem>();
  readonly #items = new Map<string, DeadlineItem>();
  #nextRank = 0;

  constructor(config: EngineConfig) {
    this.config = {
      instances: [...config.instances],
      syncGroups: config.syncGroups.map((g) => ({ ...g, members: [...g.members] })),
    };
    for (const p of config.instances) {
      if (this.#instances.has(p.name)) throw new RangeError(`duplicate instance name ${p.name}`);
      this.#instances.set(p.name, new VrrpInstance(p));
      this.#track(p.name);
    }
    for (const g of config.syncGroups) {
      const members = g.members.map((n) => {
        const inst = this.#instances.get(n);
        if (!inst) throw new RangeError(`sync group ${g.name}: unknown instance ${n}`);
        if (this.#groupOf.has(n)) throw new RangeError(`instance ${n} is in two sync groups`);
        return inst;
      });
      const group = new VrrpSyncGroup(g, members);
      this.#groups.push(group);
      for (const n of g.members) this.#groupOf.set(n, group);
    }
  }

  instance(name: string): VrrpInstance | undefined {
    return this.#instances.get(name);
  }

  instances(): VrrpInstance[] {
    return [...this.#instances.values()];
  }

  groups(): VrrpSyncGroup[] {
    return [...this.#groups];
  }

  /** The earliest armed timer of any instance (ties: instance order, then timer order). */
  nextDeadline(): { instance: string; timer: VrrpTimerName; atUs: number } | null {
    const top = this.#deadlines.peek();
    return top ? { instance: top.instance, timer: top.timer, atUs: top.atUs } : null;
  }

  /** A new instance's heap item, ranked after every instance so far. */
  #track(name: string): void {
    const item: DeadlineItem = {
      atUs: 0,
      seq: 0,
      heapIndex: -1,
      rank: this.#nextRank++,
      instance: name,
      timer: 'advert',
    };
    this.#items.set(name, item);
    this.#touch(name);
  }

  /** Puts `name`'s current deadline in the heap (after anything that may have changed it). */
  #touch(name: string): void {
    const item = this.#items.get(name);
    if (!item) return;
    const d = this.#instances.get(name)?.nextDeadline();
    if (!d) return this.#deadlines.remove(item);
    item.timer = d.timer;
    this.#deadlines.schedule(item, d.atUs);
  }

  /** Fires every timer due at `nowUs`, earliest first, each as its own recorded input. */
  handleTimers(nowUs: number): VrrpAction[] {
    const out: VrrpAction[] = [];
    for (;;) {
      const d = this.nextDeadline();
      if (d === null || d.atUs > nowUs) return out;
      out.push(
        ...this.handle(
          { type: 'instance', instance: d.instance, event: { type: 'timer', timer: d.timer } },
          nowUs,
        ),
      );
    }
  }

  handle(event: EngineEvent, nowUs: number): VrrpAction[] {
    this.recorder?.({ kind: 'in', nowUs, event });
    const out: VrrpAction[] = [];
    switch (event.type) {
      case 'instance':
        this.#toInstance(event.instance, event.event, nowUs, out);
        break;
      case 'link':
        for (const inst of this.#instances.values()) {
          if (inst.params.interface === event.ifname) {
            this.#toInstance(inst.name, { type: event.up ? 'interfaceUp' : 'interfaceDown' }, nowUs, out);
          }
          if (inst.params.trackers.some((t) => t.kind === 'interface' && t.name === event.ifname)) {
            const ev = { type: 'tracker', kind: 'interface', name: event.ifname, up: event.up } as const;
            this.#toInstance(inst.name, ev, nowUs, out);
          }
        }
        break;
      case 'tracker':
      case 'trackerValue': {
        const kind = event.type === 'tracker' ? event.kind : 'file';
        for (const inst of this.#instances.values()) {
          if (inst.params.trackers.some((t) => t.kind === kind && t.name === event.name))
            this.#toInstance(inst.name, event, nowUs, out);
        }
        break;
      }
      case 'startAll': {
        const from = out.length;
        for (const inst of this.#instances.values())
          this.#toInstance(inst.name, { type: 'start' }, nowUs, out);
        orderStartNotifies(out, from);
        break;
      }
      case 'shutdownAll': {
        for (const inst of this.#instances.values())
          this.#toInstance(inst.name, { type: 'shutdown' }, nowUs, out);
        // 2.2.7 stops every instance (STOP notifies) before it reports the groups' STOP.
        const last = out.filter(isGroupNotify);
        if (last.length > 0) out.splice(0, out.length, ...out.filter((a) => !isGroupNotify(a)), ...last);
        break;
      }
      case 'addInstance':
        this.#add(event.params);
        break;
      case 'removeInstance':
        this.#remove(event.instance, event.notifyDeleted, nowUs, out);
        break;
      case 'addSyncGroup':
        this.#addGroup(event.group);
        break;
    }
    this.recorder?.({ kind: 'out', actions: out });
    return out;
  }

  #add(params: VrrpInstanceParams): void {
    if (this.#instances.has(params.name)) return;
    this.#instances.set(params.name, new VrrpInstance(params));
    this.#track(params.name);
    this.config.instances.push(params);
  }

  #addGroup(g: SyncGroupParams): void {
    if (g.members.length === 0 || this.#groups.some((x) => x.name === g.name)) return;
    const members: VrrpInstance[] = [];
    for (const n of new Set(g.members)) {
      const inst = this.#instances.get(n);
      if (inst?.state !== 'INIT' || this.#groupOf.has(n)) return;
      members.push(inst);
    }
    const group = new VrrpSyncGroup(g, members);
    this.#groups.push(group);
    for (const m of members) this.#groupOf.set(m.name, group);
    this.config.syncGroups.push({ ...g, members: members.map((m) => m.name) });
  }

  #remove(name: string, notifyDeleted: boolean, nowUs: number, out: VrrpAction[]): void {
    const inst = this.#instances.get(name);
    if (!inst) return;
    out.push(...inst.handle({ type: 'deleted', notifyDeleted }, nowUs));
    this.#instances.delete(name);
    const item = this.#items.get(name);
    if (item) this.#deadlines.remove(item);
    this.#items.delete(name);
    this.config.instances = this.config.instances.filter((p) => p.name !== name);
    const group = this.#groupOf.get(name);
    if (!group) return;
    this.#groupOf.delete(name);
    group.removeMember(inst, nowUs, out);
    for (const m of group.members) this.#touch(m.name);
    for (const g of this.config.syncGroups) g.members = g.members.filter((m) => m !== name);
    if (group.members.length === 0) {
      this.#groups = this.#groups.filter((g) => g !== group);
      this.config.syncGroups = this.config.syncGroups.filter((g) => g.name !== group.name);
    }
  }

  #toInstance(name: string, event: VrrpEvent, nowUs: number, out: VrrpAction[]): void {
    const inst = this.#instances.get(name);
    if (!inst) return;
    const before = inst.state;
    out.push(...inst.handle(event, nowUs));
    // A reload's new parameters are the configuration now, as addInstance/removeInstance keep it.
    if (event.type === 'reload')
      this.config.instances = this.config.instances.map((p) => (p.name === name ? inst.params : p));
    const group = this.#groupOf.get(name);
    if (group) {
      group.afterMemberEvent(inst, before, nowUs, out, event.type);
      for (const m of group.members) this.#touch(m.name);
    } else this.#touch(name);
  }
}

interface DeadlineItem extends HeapItem {
  instance: string;
  timer: VrrpTimerName;
}

/** A sync group's notify action (the start and stop orders place them among the instances'). */
/**
 * keepalived 2.2.7's order of the notifies of instances starting (scripts, FIFO; docs/keepalived-semantics.md),
 * at start and for those a reload adds: the instances found faulty while it sets up first, then the sync
 * groups, then the others. Among out[from..] the notifies change places among themselves; every other action
 * keeps its own.
 */
export function orderStartNotifies(out: VrrpAction[], from = 0): void {
  const rank = (a: VrrpAction) =>
    a.type !== 'notify' ? -1 : isGroupNotify(a) ? 1 : a.state === 'FAULT' ? 0 : 2;
  const notifies = out
    .slice(from)
    .filter((a) => rank(a) >= 0)
    .sort((a, b) => rank(a) - rank(b));
  for (let k = from, n = 0; k < out.length; k++) if (rank(out[k]!) >= 0) out[k] = notifies[n++]!;
}

function isGroupNotify(a: VrrpAction): boolean {
  return a.type === 'notify' && a.scope === 'GROUP';
}
