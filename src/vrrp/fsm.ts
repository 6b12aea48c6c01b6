// The VRRP state machine of one instance, sans I/O (as in h11: everything that decides a state transition
// lives here). `handle(event, nowUs)` returns the actions to perform; nothing here reads a clock, opens a
// socket or sets a timer. Timers are deadlines in `#timers`, reported by `armTimer`/`cancelTimer` actions
// and by nextDeadline(); the driver feeds them back as `{ type: 'timer' }` events.
//
// Rules come from RFC 3768 (v2) §6.4 and RFC 9568 (v3) §6.4, with keepalived's behaviour where it differs
// (docs/keepalived-semantics.md, 'State machine differences'): each difference is marked "keepalived ≠ RFC"
// below and has a test in test/vrrp/fsm-*.test.ts.
import type { AdvertToSend, FsmCounterName, NotifyState, VrrpAction, VrrpState } from './actions.js';
import type { RxMeta, VrrpAdvert } from './advert.js';
import { PRIORITY_OWNER, PRIORITY_STOP } from './advert.js';
import type { VrrpEvent } from './events.js';
import { compareAddresses } from './fsm-address.js';
import {
  garpExtraOnAdvert,
  garpForAdded,
  garpOnBecomeMaster,
  garpOnDelayTimer,
  garpOnLowerPrio,
  garpOnLowerPrioTimer,
  garpOnRefreshTimer,
  garpRefreshStart,
} from './garp-schedule.js';
import type { JsonValue, VirtualAddress, VrrpInstanceParams, WantedState } from './instance-params.js';
import { computePriority, type TrackerReading, trackerKey } from './priority.js';
import {
  csToUs,
  earliestTimer,
  emptyTimerTable,
  masterDownIntervalUs,
  skewTimeUs,
  type TimerTable,
  VRRP_TIMER_NAMES,
  type VrrpTimerName,
} from './timers.js';

/** What a sync group tells its members (sync-group.ts implements it). */
export interface SyncGroupLink {
  /** Asked when the member's down timer expires: may it become master now? (docs/keepalived-semantics.md) */
  mayGoMaster(member: VrrpInstance): boolean;
  /** keepalived ignores weighted trackers of sync-group members unless `sync_group_tracking_weight`. */
  readonly ignoreTrackerWeights: boolean;
}

/** A JSON snapshot for status output and tests. */
export interface InstanceStatus {
  name: string;
  state: VrrpState;
  wantState: WantedState;
  basePriority: number;
  effectivePriority: number;
  masterAdverIntervalCs: number;
  masterAddress: string | null;
  /** Priority in the last advert accepted from the master (0 until one is; keepalived's master_priority). */
  masterPriority: number;
  /** `address`: the interface has no address of its own to send from (sourceAddress event with null). */
  fault: { interface: boolean; tracker: boolean; group: boolean; address: boolean; config: boolean };
  timers: TimerTable;
  /**
   * garp_extra_if: when the next extra-interface GARP is due (checked at each advert while MASTER); kept after
   * leaving MASTER, null until first set (keepalived's dump shows both).
   */
  extraGarpAtUs: number | null;
}

/**
 * Owner-vs-owner ("rogue owner", docs/keepalived-semantics.md 'State machine differences'): an owner that
 * keeps seeing a lower-addressed 255 for 2 adverts + 1.2 × the interval after first seeing it (so the other
 * had time to receive ours and back off) yields by advertising 254 until the other disappears. Expressed in
 * tenths of an advert interval.
 */
export const ROGUE_OWNER_WAIT_TENTHS = 32;

export class VrrpInstance {
  readonly name: string;
  /** Set by the sync group holding this instance. */
  group: SyncGroupLink | null = null;

  #p: VrrpInstanceParams;
  #state: VrrpState = 'INIT';
  #wantState: WantedState;
  #basePriority: number;
  #effective: number;
  #readings = new Map<string, TrackerReading>();
  #ifUp = true;
  #trackerFault = false;
  #groupFault = false;
  #masterAdverIntervalCs: number;
  #timers: TimerTable = emptyTimerTable();
  #preemptUntilUs: number | null = null;
  #masterAddress: string | null = null;
  #masterPriority = 0;
  /** Why the running master-down timer will make this instance master, when it is more than the timer. */
  #downReason: string | null = null;
  #rogueSinceUs: number | null = null;
  #rogueLastUs: number | null = null;
  #ownerYielded = false;
  /** No address of its own on the interface (keepalived: the primary address deleted, none left): FAULT. */
  #noSource = false;
  /** Source of the last advert accepted from a master while BACKUP (keepalived's master_saddr). */
  #followed: string | null = null;
  /** A lower-priority advert is answered (advert, GARPs, notify) at most once per advert interval: not before. */
  #lowerAnswerAtUs = 0;
  /** garp_extra_if deadline (garp-schedule.ts garpExtraOnAdvert); not a timer: the advert tick checks it. */
  #extraGarpAtUs: number | null = null;

  constructor(params: VrrpInstanceParams) {
    this.name = params.name;
    this.#p = params;
    this.#wantState = params.initialState;
    this.#basePriority = params.basePriority;
    this.#masterAdverIntervalCs = params.advertIntervalCs;
    this.#effective = this.#computeEffective().effective;
  }

  // ===== getters =====

  get state(): VrrpState {
    return this.#state;
  }
  get wantState(): WantedState {
    return this.#wantState;
  }
  get params(): VrrpInstanceParams {
    return this.#p;
  }
  get effectivePriority(): number {
    return this.#effective;
  }
  get masterAdverIntervalCs(): number {
    return this.#masterAdverIntervalCs;
  }
  /** Faulted for a reason of its own (interface, tracker), ignoring the sync group. */
  get ownFault(): boolean {
    return (
      (!this.#ifUp && !this.#p.dontTrackPrimary) ||
      this.#trackerFault ||
      this.#noSource ||
      this.#p.configFault
    );
  }
  /**
   * The master this BACKUP follows: the source of the last advert it accepted, null in other states. With
   * skip_check_adv_addr, adverts from it skip the address-list check (rx-validate.ts).
   */
  get followedMaster(): string | null {
    return this.#state === 'BACKUP' ? this.#followed : null;
  }
  get faulted(): boolean {
    return this.ownFault || this.#groupFault;
  }

  timerDeadline(timer: VrrpTimerName): number | null {
    return this.#timers[timer];
  }

  /** The earliest armed deadline (quinn's poll_timeout). */
  nextDeadline(): { timer: VrrpTimerName; atUs: number } | null {
    return earliestTimer(this.#timers);
  }

  status(): InstanceStatus {
    return {
      name: this.name,
      state: this.#state,
      wantState: this.#wantState,
      basePriority: this.#basePriority,
      effectivePriority: this.#effective,
      masterAdverIntervalCs: this.#masterAdverIntervalCs,
      masterAddress: this.#masterAddress,
      masterPriority: this.#masterPriority,
      fault: {
        interface: !this.#ifUp && !this.#p.dontTrackPrimary,
        tracker: this.#trackerFault,
        group: this.#groupFault,
        address: this.#noSource,
        config: this.#p.configFault,
      },
      timers: { ...this.#timers },
      extraGarpAtUs: this.#extraGarpAtUs,
    };
  }

  // ===== input =====

  /** Handles one event at monotonic time `nowUs` (integer µs) and returns the actions to perform, in order. */
  handle(event: VrrpEvent, nowUs: number): VrrpAction[] {
    const out: VrrpAction[] = [];
    switch (event.type) {
      case 'start':
        this.#start(nowUs, out);
        break;
      case 'advertRx':
        this.#advertRx(event.advert, event.meta, nowUs, out);
        break;
      case 'timer':
        this.#timerFired(event.timer, nowUs, out);
        break;
      case 'interfaceUp':
        this.#ifUp = true;
        this.#reassess(nowUs, out);
        break;
      case 'interfaceDown':
        this.#ifUp = false;
        this.#reassess(nowUs, out);
        break;
      case 'tracker':
        this.#readings.set(trackerKey(event.kind, event.name), { up: event.up });
        this.#reassess(nowUs, out);
        break;
      case 'trackerValue':
        this.#readings.set(trackerKey('file', event.name), { value: event.value });
        this.#reassess(nowUs, out);
        break;
      case 'priority':
        this.#basePriority = event.priority;
        this.#reassess(nowUs, out);
        break;
      case 'shutdown':
        this.#shutdown(out);
        break;
      case 'vipDeleted':
        this.#vipDeleted(event.address, nowUs, out);
        break;
      case 'sourceAddress':
        this.#sourceAddress(event.address, nowUs, out);
        break;
      case 'deleted':
        this.#deleted(event.notifyDeleted, out);
        break;
      case 'reload':
        this.#reload(event.params, nowUs, out);
        break;
    }
    return out;
  }

  // ===== used by the sync group (sync-group.ts) =====

  /** The group decided to go master: a BACKUP member follows (keepalived vrrp_sync_master). */
  groupForceMaster(nowUs: number, out: VrrpAction[]): void {
    if (this.#state !== 'BACKUP' || this.faulted) return;
    this.#wantState = 'MASTER';
    this.#becomeMaster(nowUs, out, 'sync group member became master');
  }

  /** A member fell back to BACKUP: masters follow (keepalived vrrp_sync_backup). */
  groupForceBackup(nowUs: number, out: VrrpAction[]): void {
    if (this.#state !== 'MASTER') return;
    this.#wantState = 'BACKUP';
    this.#becomeBackup(nowUs, out, 'sync group member became backup');
  }

  /**
   * A member left MASTER because one of its VIPs was deleted: every master member does the same (priority 0,
   * BACKUP, back after Skew_Time), as keepalived does for the whole sync group.
   */
  groupVipDeleted(nowUs: number, out: VrrpAction[]): void {
    if (this.#state !== 'MASTER') return;
    this.#leaveForVipDeleted(nowUs, out, 'sync group member lost a VIP');
  }

  /** Another member is in FAULT (or no longer is): one FAULT takes the whole group to FAULT. */
  groupSetFault(fault: boolean, nowUs: number, out: VrrpAction[]): void {
    if (this.#groupFault === fault) return;
    this.#groupFault = fault;
    this.#reassess(nowUs, out);
  }

  // ===== timers =====

  #arm(timer: VrrpTimerName, atUs: number, out: VrrpAction[]): void {
    this.#timers[timer] = atUs;
    out.push({ type: 'armTimer', instance: this.name, timer, atUs });
  }

  #cancel(timer: VrrpTimerName, out: VrrpAction[]): void {
    if (this.#timers[timer] === null) return;
    this.#timers[timer] = null;
    out.push({ type: 'cancelTimer', instance: this.name, timer });
  }

  #cancelAll(out: VrrpAction[]): void {
    for (const t of VRRP_TIMER_NAMES) this.#cancel(t, out);
  }

  #skewUs(priority = this.#effective): number {
    return skewTimeUs(this.#p.version, priority, this.#masterAdverIntervalCs);
  }

  #masterDownUs(): number {
    return masterDownIntervalUs(
      this.#p.version,
      this.#effective,
      this.#masterAdverIntervalCs,
      this.#p.downTimerAdverts,
    );
  }

  #timerFired(timer: VrrpTimerName, nowUs: number, out: VrrpAction[]): void {
    const atUs = this.#timers[timer];
    // A stale or early firing is ignored: the deadline in the table is the only truth.
    if (atUs === null || nowUs < atUs) return;
    this.#timers[timer] = null;
    const p = this.#p;
    switch (timer) {
      case 'masterDown':
        if (this.#state === 'BACKUP') this.#masterDownExpired(nowUs, out);
        return;
      case 'advert':
        // RFC 3768 §6.4.3 "If the Adver_Timer fires": send an advert, reset the timer.
        if (this.#state !== 'MASTER') return;
        this.#sendAdvert(this.#effective, out);
        this.#garpExtra(nowUs, out);
        this.#arm('advert', nowUs + csToUs(p.advertIntervalCs), out);
        return;
      case 'garpDelay':
        if (this.#state === 'MASTER') out.push(...garpOnDelayTimer(p).actions);
        return;
      case 'garpRefresh': {
        if (this.#state !== 'MASTER') return;
        const step = garpOnRefreshTimer(p, nowUs);
        out.push(...step.actions);
        if (step.nextAtUs !== null) this.#arm('garpRefresh', step.nextAtUs, out);
        return;
      }
      case 'garpLowerPrio':
        if (this.#state === 'MASTER') out.push(...garpOnLowerPrioTimer(p).actions);
        return;
    }
  }

  // ===== transitions =====

  #notify(state: NotifyState, out: VrrpAction[]): void {
    out.push({ type: 'notify', scope: 'INSTANCE', name: this.name, state, priority: this.#effective });
  }

  #stat(counter: FsmCounterName, out: VrrpAction[]): void {
    out.push({ type: 'stat', instance: this.name, counter });
  }

  #setState(to: VrrpState, reason: string, out: VrrpAction[]): void {
    const from = this.#state;
    this.#state = to;
    out.push({ type: 'stateChange', instance: this.name, from, to, reason });
  }

  /**
   * The advert this instance sends at `priority` (default: its effective priority, what a takeover sends
   * first). Pure: the daemon builds a backup's takeover packet ahead of its Master_Down deadline with it.
   */
  advertToSend(priority: number = this.#effective): AdvertToSend {
    const p = this.#p;
    return {
      version: p.version,
      family: p.family,
      vrid: p.vrid,
      priority,
      // A master always advertises its own interval (RFC 9568 §6.4.3).
      advertIntervalCs: p.advertIntervalCs,
      addresses: p.vips.map((v) => v.address),
      srcAddr: p.primaryAddress,
      unicastPeers: [...p.unicastPeers],
    };
  }

  #sendAdvert(priority: number, out: VrrpAction[]): void {
    const advert = this.advertToSend(priority);
    out.push({ type: 'sendAdvert', instance: this.name, advert });
    this.#stat('SentAdvertisements', out);
    if (priority === PRIORITY_STOP) this.#stat('SentPriZeroPackets', out);
  }

  #vipAction(type: 'addVips' | 'removeVips', out: VrrpAction[]): void {
    const p = this.#p;
    const vips = [...p.vips, ...p.excludedVips];
    if (vips.length === 0 && p.virtualRoutes.length === 0 && p.virtualRules.length === 0) return;
    out.push({ type, instance: this.name, vips, routes: [...p.virtualRoutes], rules: [...p.virtualRules] });
  }

  #start(nowUs: number, out: VrrpAction[]): void {
    if (this.#state !== 'INIT' && this.#state !== 'STOP') return;
    this.#masterAdverIntervalCs = this.#p.advertIntervalCs;
    this.#wantState = this.#p.initialState;
    this.#rogueSinceUs = null;
    this.#ownerYielded = false;
    this.#effective = this.#applyPriority().effective;
    if (this.faulted) {
      this.#setState('FAULT', 'fault at startup', out);
      this.#notify('FAULT', out);
      return;
    }
    this.#enterRunning(nowUs, out, 'startup');
  }

  /**
   * From INIT/STOP/FAULT into the running states (keepalived vrrp_init_state / try_up_instance).
   * keepalived ≠ RFC: RFC 3768 §6.4.1 sends any owner (255) straight to MASTER; keepalived does so only when it
   * also wants MASTER (`state MASTER`, the default for priority 255), and a `state MASTER` non-owner starts as
   * BACKUP and waits the full down timer (man5 "state"). keepalived arms a 1 µs down timer for the owner; we
   * enter MASTER in the same step (the 1 µs is its scheduler's artefact).
   */
  #enterRunning(nowUs: number, out: VrrpAction[], why: string): void {
    this.#masterAdverIntervalCs = this.#p.advertIntervalCs;
    // keepalived preempt_delay: "delay until preemption after getting the advertisement timeout at startup".
    this.#preemptUntilUs = this.#p.preemptDelayUs > 0 ? nowUs + this.#p.preemptDelayUs : null;
    if (this.#basePriority === PRIORITY_OWNER && this.#p.initialState === 'MASTER') {
      this.#wantState = 'MASTER';
      this.#becomeMaster(nowUs, out, `${why}: address owner`);
      return;
    }
    this.#becomeBackup(nowUs, out, why);
  }

  #becomeMaster(nowUs: number, out: VrrpAction[], reason: string): void {
    this.#downReason = null;
    const p = this.#p;
    if (this.#ownerYielded) {
      // The rogue owner went quiet: take 255 back.
      this.#ownerYielded = false;
      this.#effective = this.#applyPriority().effective;
    }
    this.#cancel('masterDown', out);
    // RFC 9568 §6.4.1/§6.4.2: a master uses its own interval.
    this.#masterAdverIntervalCs = p.advertIntervalCs;
    this.#masterAddress = p.primaryAddress;
    this.#rogueSinceUs = null;
    this.#setState('MASTER', reason, out);
    // keepalived vrrp_goto_master order: advert first, then addresses, GARPs, timers, notifies.
    this.#sendAdvert(this.#effective, out);
    this.#vipAction('addVips', out);
    const garp = garpOnBecomeMaster(p, nowUs);
    out.push(...garp.actions);
    if (garp.nextAtUs !== null) this.#arm('garpDelay', garp.nextAtUs, out);
    const refreshAt = garpRefreshStart(p, nowUs);
    if (refreshAt !== null) this.#arm('garpRefresh', refreshAt, out);
    // garp_extra_if: the interval runs from becoming master.
    if (p.garpExtraIfUs > 0) this.#extraGarpAtUs = nowUs + p.garpExtraIfUs;
    this.#arm('advert', nowUs + csToUs(p.advertIntervalCs), out);
    this.#notify('MASTER', out);
    this.#stat('BecomeMaster', out);
  }

  /** keepalived garp_extra_if, at a master's advert tick: the extra interfaces' GARPs once the interval ran. */
  #garpExtra(nowUs: number, out: VrrpAction[]): void {
    const step = garpExtraOnAdvert(this.#p, this.#extraGarpAtUs, nowUs);
    if (step === null) return;
    out.push(...step.actions);
    this.#extraGarpAtUs = step.nextAtUs;
  }

  /** Leaving MASTER for anything: stop advertising, drop the addresses. */
  #leaveMaster(out: VrrpAction[]): void {
    this.#cancel('advert', out);
    this.#cancel('garpDelay', out);
    this.#cancel('garpRefresh', out);
    this.#cancel('garpLowerPrio', out);
    this.#vipAction('removeVips', out);
    this.#stat('ReleasedMaster', out);
  }

  /** Enters BACKUP with Master_Down_Timer = Master_Down_Interval (RFC 3768 §6.4.1, §6.4.3). */
  #becomeBackup(nowUs: number, out: VrrpAction[], reason: string): void {
    if (this.#state === 'MASTER') this.#leaveMaster(out);
    this.#setState('BACKUP', reason, out);
    this.#arm('masterDown', nowUs + this.#masterDownUs(), out);
    this.#notify('BACKUP', out);
  }

  #enterFault(out: VrrpAction[], reason: string): void {
    if (this.#state === 'MASTER') {
      // keepalived: MASTER → FAULT sends a priority-0 advert so a backup takes over after Skew_Time.
      this.#sendAdvert(PRIORITY_STOP, out);
      this.#leaveMaster(out);
    }
    this.#cancelAll(out);
    this.#setState('FAULT', reason, out);
    this.#notify('FAULT', out);
  }

  #masterDownExpired(nowUs: number, out: VrrpAction[]): void {
    this.#wantState = 'MASTER';
    if (this.group && !this.group.mayGoMaster(this)) {
      // keepalived vrrp_goto_master: a sync-group member stays BACKUP until every member wants MASTER.
      this.#arm('masterDown', nowUs + this.#masterDownUs(), out);
      return;
    }
    this.#becomeMaster(nowUs, out, this.#downReason ?? 'master down timer expired');
  }

  #shutdown(out: VrrpAction[]): void {
    if (this.#state === 'STOP') return;
    if (this.#state === 'MASTER') {
      // RFC 3768 §6.4.3 "If a Shutdown event is received": send priority 0, then leave.
      this.#sendAdvert(PRIORITY_STOP, out);
      this.#leaveMaster(out);
    }
    this.#cancelAll(out);
    this.#setState('STOP', 'shutdown', out);
    this.#notify('STOP', out);
  }

  /**
   * keepalived (docs/hostile-network.md, 'A VIP deleted by hand on the master'): a tracked VIP deleted while
   * MASTER forces BACKUP. The priority-0 advert lets a backup take over after Skew_Time; with nobody else,
   * our own down timer makes us master again and the VIPs come back.
   */
  #vipDeleted(address: string, nowUs: number, out: VrrpAction[]): void {
    if (this.#state !== 'MASTER') return;
    const vip = [...this.#p.vips, ...this.#p.excludedVips].find((v) => v.address === address);
    if (vip === undefined || vip.options?.noTrack === true) return;
    this.#leaveForVipDeleted(nowUs, out, `VIP ${address} deleted`);
  }

  /**
   * keepalived 2.2.7 (docs/hostile-network.md): priority 0, BACKUP, and the down timer set to Skew_Time rather
   * than Master_Down_Interval, "for a quick transition back to master": alone, the VIPs are back after
   * Skew_Time; beside a lower-priority backup (whose own Skew_Time, armed by our priority 0, is longer) we
   * take over again first, so the backup never becomes master.
   */
  #leaveForVipDeleted(nowUs: number, out: VrrpAction[], reason: string): void {
    this.#sendAdvert(PRIORITY_STOP, out);
    this.#wantState = 'BACKUP';
    this.#becomeBackup(nowUs, out, reason);
    this.#arm('masterDown', nowUs + this.#skewUs(), out);
  }

  /**
   * The interface's address to send from (keepalived, notes in docs/hostile-network.md): when the last one is
   * deleted (`ip addr flush`) the instance goes to FAULT (a master first sends priority 0 and drops its VIPs);
   * when one is added again it becomes the source and the instance comes up (BACKUP, full down timer).
   */
  #sourceAddress(address: string | null, nowUs: number, out: VrrpAction[]): void {
    if (address === null) {
      if (this.#noSource) return;
      this.#noSource = true;
      this.#reassess(nowUs, out);
      return;
    }
    if (address !== this.#p.primaryAddress) {
      this.#p = { ...this.#p, primaryAddress: address };
      if (this.#state === 'MASTER') this.#masterAddress = address;
    }
    if (!this.#noSource) return;
    this.#noSource = false;
    this.#reassess(nowUs, out);
  }

  /**
   * Removed by a reload (docs/keepalived-semantics.md, 'Reload (SIGHUP)'): an unmatched old master sends
   * priority 0 and drops its VIPs.
   */
  #deleted(notifyDeleted: boolean, out: VrrpAction[]): void {
    if (this.#state === 'STOP' || this.#state === 'INIT') return;
    if (this.#state === 'MASTER') {
      this.#sendAdvert(PRIORITY_STOP, out);
      this.#leaveMaster(out);
    }
    this.#cancelAll(out);
    this.#setState('STOP', 'removed from the configuration', out);
    this.#notify(notifyDeleted ? 'DELETED' : 'FAULT', out);
  }

  // ===== priority, trackers, faults =====

  #computeEffective(): { effective: number; trackerFault: boolean } {
    const ignoreWeights = this.group?.ignoreTrackerWeights ?? false;
    const r = computePriority(this.#basePriority, this.#p.trackers, this.#readings, ignoreWeights);
    const effective = this.#ownerYielded && r.effective === PRIORITY_OWNER ? PRIORITY_OWNER - 1 : r.effective;
    return { effective, trackerFault: r.trackerFault };
  }

  #applyPriority(): { effective: number } {
    const r = this.#computeEffective();
    this.#trackerFault = r.trackerFault;
    return r;
  }

  /** After any input that can change priority or fault flags. */
  #reassess(nowUs: number, out: VrrpAction[]): void {
    const old = this.#effective;
    const next = this.#applyPriority().effective;
    this.#effective = next;
    if (this.#state === 'INIT' || this.#state === 'STOP') return;
    if (this.faulted) {
      if (this.#state !== 'FAULT') {
        const why = this.#groupFault && !this.ownFault ? 'sync group member in fault' : 'fault';
        this.#enterFault(out, why);
      }
      return;
    }
    if (this.#state === 'FAULT') {
      this.#enterRunning(nowUs, out, 'fault cleared');
      return;
    }
    if (next === old) return;
    if (this.#state === 'BACKUP') {
      // keepalived: a priority change while BACKUP moves the pending expiry by the change in Skew_Time.
      const at = this.#timers.masterDown;
      if (at !== null) {
        const shifted = at + (this.#skewUs(next) - this.#skewUs(old));
        this.#arm('masterDown', Math.max(nowUs, shifted), out);
      }
    }
    if (this.#p.notifyPriorityChanges) {
      this.#notify(this.#state === 'MASTER' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', out);
    }
  }

  // ===== adverts =====

  #advertRx(advert: VrrpAdvert, meta: RxMeta, nowUs: number, out: VrrpAction[]): void {
    // keepalived owner_ignore_adverts (also dropped by rx-validate; repeated so a replayed input is safe).
    if (this.#basePriority === PRIORITY_OWNER && this.#p.ownerIgnoreAdverts) return;
    if (this.#state === 'BACKUP') this.#advertRxBackup(advert, meta, nowUs, out);
    else if (this.#state === 'MASTER') this.#advertRxMaster(advert, meta, nowUs, out);
    // INIT, FAULT, STOP: adverts are ignored.
  }

  /** keepalived preempt_delay: while the window runs, a lower-priority master is accepted as if higher. */
  #preemptDelayRunning(nowUs: number): boolean {
    if (this.#p.preemptDelayUs <= 0) return false;
    // "… or when seeing a lower priority master" (man5): the window starts at the first such advert.
    if (this.#preemptUntilUs === null) this.#preemptUntilUs = nowUs + this.#p.preemptDelayUs;
    return nowUs < this.#preemptUntilUs;
  }

  /** RFC 3768 §6.4.2 / RFC 9568 §6.4.2 "If an ADVERTISEMENT is received" in Backup. */
  #advertRxBackup(advert: VrrpAdvert, meta: RxMeta, nowUs: number, out: VrrpAction[]): void {
    if (advert.priority === PRIORITY_STOP) {
      // The master is leaving: take over after Skew_Time. keepalived's words give the takeover's reason.
      this.#downReason = 'Backup received priority 0 advertisement';
      this.#arm('masterDown', nowUs + this.#skewUs(), out);
      return;
    }
    const higherOrEqual = advert.priority >= this.#effective;
    if (this.#p.nopreempt || higherOrEqual || this.#preemptDelayRunning(nowUs)) {
      this.#downReason = null;
      if (higherOrEqual) this.#preemptUntilUs = null;
      // RFC 9568 §6.4.2: adopt the master's interval (v2 intervals are equal or the packet was dropped).
      if (this.#p.version === 3 && advert.advertIntervalCs > 0) {
        this.#masterAdverIntervalCs = advert.advertIntervalCs;
      }
      this.#masterAddress = meta.srcAddr;
      this.#followed = meta.srcAddr;
      this.#masterPriority = advert.priority;
      this.#wantState = 'BACKUP';
      this.#arm('masterDown', nowUs + this.#masterDownUs(), out);
    }
    // Else: lower priority and preempting — discard; the running timer makes us master.
  }

  /** RFC 3768 §6.4.3 / RFC 9568 §6.4.3 "If an ADVERTISEMENT is received" in Master. */
  #advertRxMaster(advert: VrrpAdvert, meta: RxMeta, nowUs: number, out: VrrpAction[]): void {
    const p = this.#p;
    if (advert.priority === PRIORITY_STOP) {
      // Another master is stopping: assert ourselves at once and restart the advert timer.
      this.#sendAdvert(this.#effective, out);
      this.#arm('advert', nowUs + csToUs(p.advertIntervalCs), out);
      return;
    }
    const addrCmp = compareAddresses(meta.srcAddr, p.primaryAddress, p.family);
    if (advert.priority === this.#effective && addrCmp === 0) return; // our own advert looped back
    if (
      advert.priority === PRIORITY_OWNER &&
      this.#effective === PRIORITY_OWNER &&
      addrCmp < 0 &&
      this.#rogueOwnerPersists(nowUs)
    ) {
      this.#ownerYielded = true;
      this.#effective = this.#computeEffective().effective;
    }
    const higher = advert.priority > this.#effective || (advert.priority === this.#effective && addrCmp > 0);
    if (higher) {
      // keepalived higher_prio_send_advert: tell the winner we were master so it re-sends its GARPs.
      if (p.higherPrioSendAdvert) this.#sendAdvert(this.#effective, out);
      if (p.version === 3 && advert.advertIntervalCs > 0)
        this.#masterAdverIntervalCs = advert.advertIntervalCs;
      this.#masterAddress = meta.srcAddr;
      this.#followed = meta.srcAddr;
      this.#masterPriority = advert.priority;
      this.#wantState = 'BACKUP';
      // keepalived's words, which operators grep for.
      this.#becomeBackup(
        nowUs,
        out,
        advert.priority > this.#effective
          ? `Master received advert from ${meta.srcAddr} with higher priority ${advert.priority}, ours ${this.#effective}`
          : `Master received advert from ${meta.srcAddr} with same priority ${advert.priority} but higher IP address than ours`,
      );
      return;
    }
    // Lower priority (or equal with a lower address).
    // keepalived ≠ RFC 3768 §6.4.3 ("discard the ADVERTISEMENT"): keepalived re-advertises at once to force a
    // new election ("forcing new election"), as RFC 9568 §6.4.3 allows; lower_prio_no_advert restores RFC 3768.
    // With it come the lower-priority GARPs and the MASTER_RX_LOWER_PRI notify.
    // keepalived-ts ≠ keepalived: that answer — advert, GARPs, notify — at most once per advert interval, so
    // that a flood of valid lower-priority adverts is not answered one for one (docs/hostile-network.md).
    if (nowUs < this.#lowerAnswerAtUs) return;
    this.#lowerAnswerAtUs = nowUs + csToUs(p.advertIntervalCs);
    if (!p.lowerPrioNoAdvert) this.#sendAdvert(this.#effective, out);
    const garp = garpOnLowerPrio(p, nowUs);
    out.push(...garp.actions);
    if (garp.nextAtUs !== null) this.#arm('garpLowerPrio', garp.nextAtUs, out);
    this.#notify('MASTER_RX_LOWER_PRI', out);
  }

  /** Tracks a lower-addressed owner that keeps advertising 255; true once it has outlasted the wait. */
  #rogueOwnerPersists(nowUs: number): boolean {
    const waitUs = (csToUs(this.#p.advertIntervalCs) * ROGUE_OWNER_WAIT_TENTHS) / 10;
    // A gap longer than the wait means the earlier episode ended; start counting again.
    if (this.#rogueSinceUs === null || this.#rogueLastUs === null || nowUs - this.#rogueLastUs > waitUs) {
      this.#rogueSinceUs = nowUs;
    }
    this.#rogueLastUs = nowUs;
    return nowUs - this.#rogueSinceUs >= waitUs;
  }

  // ===== reload =====

  /**
   * keepalived reload of a matched instance (docs/keepalived-semantics.md, 'Reload (SIGHUP)'): the state is
   * kept; while MASTER, removed addresses/routes/rules are deleted and added ones installed and GARPed (only
   * the added ones).
   */
  #reload(next: VrrpInstanceParams, nowUs: number, out: VrrpAction[]): void {
    const prev = this.#p;
    const keyVip = (v: VirtualAddress): string => `${v.address}/${v.prefixLen}%${v.dev ?? ''}`;
    const keyJson = (j: JsonValue): string => JSON.stringify(j);
    const diff = <T>(a: T[], b: T[], key: (x: T) => string): T[] => {
      const seen = new Set(b.map(key));
      return a.filter((x) => !seen.has(key(x)));
    };
    const oldVips = [...prev.vips, ...prev.excludedVips];
    const newVips = [...next.vips, ...next.excludedVips];
    this.#p = next;
    this.#basePriority = next.basePriority;
    // keepalived builds a new instance at a reload without its garp_extra_if deadline: a master sends the
    // extra GARPs at its first advert after the reload.
    this.#extraGarpAtUs = null;
    const kept = new Set(next.trackers.map((t) => trackerKey(t.kind, t.name)));
    for (const key of [...this.#readings.keys()]) if (!kept.has(key)) this.#readings.delete(key);
    if (this.#state === 'MASTER') {
      // What `from` has and `to` has not, as one action of `type`; its VIPs, or null when nothing differs.
      const change = (
        type: 'addVips' | 'removeVips',
        from: VrrpInstanceParams,
        fromVips: VirtualAddress[],
        to: VrrpInstanceParams,
        toVips: VirtualAddress[],
      ) => {
        const vips = diff(fromVips, toVips, keyVip);
        const routes = diff(from.virtualRoutes, to.virtualRoutes, keyJson);
        const rules = diff(from.virtualRules, to.virtualRules, keyJson);
        if (vips.length + routes.length + rules.length === 0) return null;
        out.push({ type, instance: this.name, vips, routes, rules });
        return vips;
      };
      change('removeVips', prev, oldVips, next, newVips);
      const added = change('addVips', next, newVips, prev, oldVips);
      if (added)
        out.push(
          ...garpForAdded(
            next,
            added.map((v) => v.address),
          ),
        );
    } else if (this.#state === 'BACKUP' && next.version === 2) {
      this.#masterAdverIntervalCs = next.advertIntervalCs;
    }
    this.#reassess(nowUs, out);
  }
}
