// Takeover readiness: what a takeover writes is built before its deadline, so that at the deadline neither
// encoding nor cold code stands between the timer and the wire (docs/decisions/takeover-warm-up.md).

import { monotonicUs } from '../common/clock.js';
import { CountingSink } from '../net/prepared-write.js';
import type { VrrpInstance } from '../vrrp/fsm.js';
import type { Announcers } from './announcers.js';
import type { VrrpContext } from './vrrp-context.js';
import { REHEARSAL_MIN_LEFT_US, rehearseInstanceTakeover, takeoverWarmUp } from './warm-up.js';

export class TakeoverReadiness {
  readonly #ctx: VrrpContext;
  readonly #announcers: Announcers;
  /** Where rehearsed writes go: nowhere, counted. */
  readonly sink = new CountingSink();

  constructor(ctx: VrrpContext, announcers: Announcers) {
    this.#ctx = ctx;
    this.#announcers = announcers;
  }

  /**
   * Prepares what a takeover of `inst` writes — its advert, its VIPs' rtnetlink requests, its GARP/NA frames
   * and their socket — and writes it once to the sink, at startup and again ahead of each Master_Down
   * deadline (cache hits unless something changed): the takeover itself only writes, through code that has
   * run.
   */
  prepare(inst: VrrpInstance): void {
    if (!takeoverWarmUp) return;
    const p = inst.params;
    const vips = [...p.vips, ...p.excludedVips];
    const addresses = vips.map((v) => v.address);
    this.#ctx.pool.prepareAdvert(inst.name, inst.advertToSend()).write(this.sink);
    this.#ctx.vips.prepareAdd(inst.name, vips, p.interface).write(this.sink);
    this.#announcers.prepare(inst.name, addresses, vips, p.interface).write(this.sink);
  }

  /** Every instance, at startup. */
  prepareAll(): void {
    for (const inst of this.#ctx.engine.instances()) this.prepare(inst);
  }

  /**
   * The timer's early wake ahead of a Master_Down deadline `leftUs` away: prepare the instance due, then run
   * its takeover once on a scratch engine if time allows.
   */
  onKeenWake(leftUs: number): void {
    const engine = this.#ctx.engine;
    const deadlineUs = monotonicUs() + leftUs;
    const next = engine.nextDeadline();
    const inst = next && engine.instance(next.instance);
    if (!inst) return;
    this.prepare(inst);
    // Judged after the preparation, which itself takes 0.1–1 ms when cold.
    if (deadlineUs - monotonicUs() > REHEARSAL_MIN_LEFT_US) rehearseInstanceTakeover(inst.params);
  }
}
