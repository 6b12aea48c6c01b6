// Drives one VrrpInstance on a virtual clock, for rule tests: advance time (firing due timers in deadline
// order, as a daemon would), inject events, and collect the actions with the time they were produced.
import type { VrrpAction } from '../vrrp/actions.js';
import { AuthType, type RxMeta, VRRP_TYPE_ADVERTISEMENT, type VrrpAdvert } from '../vrrp/advert.js';
import type { VrrpEvent } from '../vrrp/events.js';
import { VrrpInstance } from '../vrrp/fsm.js';
import { instanceParams, type VrrpInstanceParamsInput } from '../vrrp/instance-params.js';
import { multicastGroup } from './wire.js';

export interface TimedActions {
  atUs: number;
  actions: VrrpAction[];
}

export class InstanceDriver {
  readonly instance: VrrpInstance;
  nowUs = 0;
  readonly log: TimedActions[] = [];

  constructor(input: VrrpInstanceParamsInput) {
    this.instance = new VrrpInstance(instanceParams(input));
  }

  /** Moves the clock to `atUs`, firing every timer due on the way; returns what the timers produced. */
  advanceTo(atUs: number): VrrpAction[] {
    if (atUs < this.nowUs) throw new RangeError(`time goes backwards: ${atUs} < ${this.nowUs}`);
    const out: VrrpAction[] = [];
    for (;;) {
      const d = this.instance.nextDeadline();
      if (d === null || d.atUs > atUs) break;
      this.nowUs = d.atUs;
      out.push(...this.#handle({ type: 'timer', timer: d.timer }));
    }
    this.nowUs = atUs;
    return out;
  }

  /** Advances to `atUs` (default: now), then handles `event` there. Returns only the event's actions. */
  send(event: VrrpEvent, atUs = this.nowUs): VrrpAction[] {
    this.advanceTo(atUs);
    return this.#handle(event);
  }

  /** Receives an advert from `srcAddr` with `priority` (interval: the instance's own unless given). */
  rx(priority: number, srcAddr: string, atUs = this.nowUs, advertIntervalCs?: number): VrrpAction[] {
    const p = this.instance.params;
    const advert: VrrpAdvert = {
      version: p.version,
      type: VRRP_TYPE_ADVERTISEMENT,
      vrid: p.vrid,
      priority,
      advertIntervalCs: advertIntervalCs ?? p.advertIntervalCs,
      authType: AuthType.none,
      authDataHex: '',
      addresses: p.vips.map((v) => v.address),
      checksum: 0,
    };
    const meta: RxMeta = {
      family: p.family,
      srcAddr,
      dstAddr: multicastGroup(p.family),
      ttl: 255,
      ifindex: 1,
    };
    return this.send({ type: 'advertRx', advert, meta }, atUs);
  }

  /** Every action of a type since the start, with its time. */
  all<T extends VrrpAction['type']>(type: T): Array<Extract<VrrpAction, { type: T }> & { atUs: number }> {
    const out: Array<Extract<VrrpAction, { type: T }> & { atUs: number }> = [];
    for (const entry of this.log) {
      for (const a of entry.actions) {
        if (a.type === type) out.push({ ...(a as Extract<VrrpAction, { type: T }>), atUs: entry.atUs });
      }
    }
    return out;
  }

  #handle(event: VrrpEvent): VrrpAction[] {
    const actions = this.instance.handle(event, this.nowUs);
    this.log.push({ atUs: this.nowUs, actions });
    return actions;
  }
}

/** The first action of a type in a list (undefined if none). */
export function findAction<T extends VrrpAction['type']>(
  actions: readonly VrrpAction[],
  type: T,
): Extract<VrrpAction, { type: T }> | undefined {
  return actions.find((a) => a.type === type) as Extract<VrrpAction, { type: T }> | undefined;
}

export function actionTypes(actions: readonly VrrpAction[]): string[] {
  return actions.map((a) => a.type);
}
