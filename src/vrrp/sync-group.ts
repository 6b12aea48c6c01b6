// vrrp_sync_group (docs/keepalived-semantics.md, 'Sync groups'): members go MASTER together, fall back to
// BACKUP together, and one member in FAULT takes every member to FAULT. Not in the RFCs. The group's own
// notifies carry priority 0 (`GROUP "G1" MASTER 0`).
import type { VrrpAction, VrrpState } from './actions.js';
import type { VrrpEventType } from './events.js';
import type { SyncGroupLink, VrrpInstance } from './fsm.js';

export interface SyncGroupParams {
  name: string;
  /** Instance names. */
  members: string[];
  /** keepalived `sync_group_tracking_weight`: keep members' weighted trackers (ignored by default). */
  trackingWeight?: boolean;
}

export type GroupState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export class VrrpSyncGroup implements SyncGroupLink {
  readonly name: string;
  readonly members: VrrpInstance[];
  readonly ignoreTrackerWeights: boolean;
  #state: GroupState = 'INIT';

  constructor(params: SyncGroupParams, members: VrrpInstance[]) {
    this.name = params.name;
    this.members = members;
    this.ignoreTrackerWeights = !(params.trackingWeight ?? false);
    for (const m of members) m.group = this;
  }

  get state(): GroupState {
    return this.#state;
  }

  /** keepalived vrrp_sync_can_goto_master: every other member must want (or be) MASTER. */
  mayGoMaster(member: VrrpInstance): boolean {
    return this.members.every((m) => m === member || m.wantState === 'MASTER' || m.state === 'MASTER');
  }

  /**
   * Called after `member` handled an event whose state before was `before`: propagates the transition to the
   * other members, then reports the group's own state change.
   */
  afterMemberEvent(
    member: VrrpInstance,
    before: VrrpState,
    nowUs: number,
    out: VrrpAction[],
    event?: VrrpEventType,
  ): void {
    const after = member.state;
    if (before !== 'MASTER' && after === 'MASTER') {
      for (const m of this.members) if (m !== member) m.groupForceMaster(nowUs, out);
    } else if (before === 'MASTER' && after === 'BACKUP' && event === 'vipDeleted') {
      // keepalived: a deleted VIP sends every master member to BACKUP with priority 0, back after Skew_Time.
      for (const m of this.members) if (m !== member) m.groupVipDeleted(nowUs, out);
    } else if (before === 'MASTER' && after === 'BACKUP') {
      for (const m of this.members) if (m !== member) m.groupForceBackup(nowUs, out);
    }
    this.#syncFaults(nowUs, out);
    this.#updateState(out);
  }

  /**
   * A member removed by a reload (already stopped): the others no longer follow it, and a fault of its own no
   * longer holds them in FAULT. An empty group keeps its last state (the engine drops it).
   */
  removeMember(member: VrrpInstance, nowUs: number, out: VrrpAction[]): void {
    const i = this.members.indexOf(member);
    if (i < 0) return;
    this.members.splice(i, 1);
    member.group = null;
    if (this.members.length === 0) return;
    this.#syncFaults(nowUs, out);
    this.#updateState(out);
  }

  /** Each member is held in FAULT while any other member has a fault of its own. */
  #syncFaults(nowUs: number, out: VrrpAction[]): void {
    for (const m of this.members) {
      const othersFaulted = this.members.some((o) => o !== m && o.ownFault);
      m.groupSetFault(othersFaulted, nowUs, out);
    }
  }

  #updateState(out: VrrpAction[]): void {
    const states = this.members.map((m) => m.state);
    let next: GroupState = this.#state;
    if (states.some((s) => s === 'FAULT')) next = 'FAULT';
    else if (states.every((s) => s === 'MASTER')) next = 'MASTER';
    else if (states.every((s) => s === 'BACKUP')) next = 'BACKUP';
    else if (states.every((s) => s === 'STOP')) next = 'STOP';
    if (next === this.#state) return;
    this.#state = next;
    if (next !== 'INIT')
      out.push({ type: 'notify', scope: 'GROUP', name: this.name, state: next, priority: 0 });
  }
}
