// ONE wake-up armed at the engine's next deadline — no polling. The wake source is a timerfd on Linux
// (src/net/timerfd.ts: µs-precise, epoll wakes the loop at the deadline), else setTimeout, whose millisecond
// resolution may wake up to a millisecond before a µs deadline: an early wake re-arms for the remainder, so
// the engine is only ever asked to fire timers that are due.

import { monotonicUs } from '../common/clock.js';
import { Timerfd } from '../net/timerfd.js';

/** Something that calls back once at (never meaningfully before) an absolute µs time on the daemon's clock. */
export interface WakeSource {
  arm(atUs: number): void;
  disarm(): void;
  close(): void;
}

/** setTimeout as a wake source, for clocks other than the real monotonic one and for hosts without timerfd. */
export class TimeoutWake implements WakeSource {
  readonly #onWake: () => void;
  readonly #now: () => number;
  #handle: NodeJS.Timeout | null = null;

  constructor(onWake: () => void, now: () => number) {
    this.#onWake = onWake;
    this.#now = now;
  }

  arm(atUs: number): void {
    this.disarm();
    const delayMs = Math.max(0, Math.ceil((atUs - this.#now()) / 1000));
    this.#handle = setTimeout(() => {
      this.#handle = null;
      this.#onWake();
    }, delayMs);
  }

  disarm(): void {
    if (this.#handle !== null) clearTimeout(this.#handle);
    this.#handle = null;
  }

  close(): void {
    this.disarm();
  }
}

/** The most precise wake source this host offers for the real monotonic clock. */
export function preciseWake(onWake: () => void): WakeSource {
  try {
    return new Timerfd(onWake);
  } catch {
    return new TimeoutWake(onWake, monotonicUs);
  }
}

export interface DeadlineTimerOptions {
  /** The clock (µs); an injected one gets setTimeout as its wake source, the default the timerfd. */
  now?: () => number;
  /**
   * Whether input (a packet) is waiting to be read. When given, a due deadline with nothing waiting fires
   * in the wake itself; without it, or with something waiting, the firing waits one loop turn so the poll
   * phase reads first.
   */
  inputWaiting?: () => boolean;
  /**
   * Called once per keen deadline at its early wake, with the µs left: the time to get ready for what the
   * deadline will do (build packets, run cold code once).
   */
  onKeenWake?: (leftUs: number) => void;
  /**
   * Called with true when the stretch before a keen or punctual deadline begins — a keen one's early wake
   * (before onKeenWake), or its arming if KEEN_PHASE_AHEAD_US away or less; a punctual one's arming if
   * PUNCTUAL_PHASE_AHEAD_US away or less, else a wake that long before it — and with false once that
   * deadline has fired or been cancelled or re-armed: the stretch in which the process is about to act on a
   * deadline it must meet to the microsecond (the runtime holds real-time priority over it, takeover-boost.ts).
   */
  onKeenPhase?: (active: boolean) => void;
}

/**
 * Where the time went on the way to the last keen deadline that fired, in µs relative to it (negative:
 * before): the early wake, the end of the preparation (onKeenWake), the last wake, the firing. Null where
 * that step did not happen (an early wake that came too late skips the rest).
 */
export interface KeenTimeline {
  earlyWakeUs: number | null;
  preparedUs: number | null;
  lastWakeUs: number | null;
  firedUs: number;
}

/** A keen deadline's early wake: this long before it (arm's `keen`). */
export const KEEN_LEAD_US = 10_000;
/** The last stretch of a keen deadline, waited on the CPU: longer than a short sleep's wake-up lateness. */
export const KEEN_SPIN_US = 300;
/**
 * A keen deadline this close when armed starts its phase at once, not at its early wake: a backup's
 * Skew_Time after a priority-0 advert (at most one advert interval), and the whole Master_Down_Interval of
 * adverts 100 ms apart or closer (3 intervals and a Skew_Time: under 400 ms). A sleeping process's early
 * wake is itself a normal-priority wake-up that a busy machine can delay by more than the margin between two
 * backups' deadlines (docs/decisions/takeover-boost.md).
 */
export const KEEN_PHASE_AHEAD_US = 400_000;
/**
 * A punctual deadline's phase starts this long before it (at once when armed closer): longer than a
 * normal-priority wake-up's lateness behind busy tasks, which is up to a scheduler tick (4 ms at 250 Hz)
 * on this kernel (docs/decisions/takeover-boost.md, "Punctual adverts").
 */
export const PUNCTUAL_PHASE_AHEAD_US = 10_000;
/**
 * A punctual deadline's last stretch is waited on the CPU too, so that the send is not held back by the
 * wake-up itself (an idle CPU's exit, or a non-preemptible kernel section of the task it interrupts): at most
 * PUNCTUAL_SPIN_MAX_US, and at most PUNCTUAL_SPIN_SHARE of the time since the previous punctual firing — so
 * waiting on the CPU for adverts never costs more than 1 % of a CPU, whatever the instances and intervals
 * (docs/decisions/takeover-boost.md, "Punctual adverts: the last stretch on the CPU").
 */
export const PUNCTUAL_SPIN_MAX_US = 300;
export const PUNCTUAL_SPIN_SHARE = 0.01;
/** A shorter share is not worth a second wake-up: the deadline is slept to. */
export const PUNCTUAL_SPIN_MIN_US = 20;

/** The wait on the CPU (µs, 0: none) of a punctual deadline at atUs, the previous one having fired at lastUs. */
export function punctualSpinUs(atUs: number, lastUs: number): number {
  const spinUs = Math.min(PUNCTUAL_SPIN_MAX_US, PUNCTUAL_SPIN_SHARE * (atUs - lastUs));
  return spinUs >= PUNCTUAL_SPIN_MIN_US ? Math.floor(spinUs) : 0;
}

/**
 * How a deadline is met. 'plain': a wake at the deadline. 'keen': also an early wake to prepare, the last
 * stretch waited on the CPU, and a real-time phase (a backup's Master_Down_Interval). 'punctual': the
 * real-time phase and a short, budgeted wait on the CPU, without preparation (a master's next advert).
 */
export type DeadlineKind = 'plain' | 'keen' | 'punctual';

export class DeadlineTimer {
  readonly #fire: (nowUs: number) => void;
  readonly #now: () => number;
  readonly #inputWaiting: (() => boolean) | undefined;
  readonly #onKeenWake: ((leftUs: number) => void) | undefined;
  readonly #onKeenPhase: ((active: boolean) => void) | undefined;
  /** Between onKeenPhase(true) and onKeenPhase(false). */
  #keenActive = false;
  readonly #wakeSource: WakeSource;
  #waiting = false;
  #immediate: NodeJS.Immediate | null = null;
  #atUs: number | null = null;
  /**
   * A keen deadline's steps: the early wake to come ('lead'), then the wait on the CPU ('spin'); a punctual
   * deadline's wake that starts its phase ('phase').
   */
  #keen: 'lead' | 'spin' | 'phase' | false = false;
  /** How the armed deadline is met. */
  #kind: DeadlineKind = 'plain';
  /** How long before the armed deadline the wait on the CPU begins (µs; 0: none). */
  #spinUs = 0;
  /** When the last punctual deadline fired (µs): the base of the next one's spin budget. */
  #lastPunctualUs: number | null = null;
  /** The keen deadline onKeenWake was last called for (once per deadline, however often it is re-armed). */
  #keenWokeFor: number | null = null;
  /** The steps of the keen deadline under way (µs, absolute), then of the last one fired. */
  #steps: {
    atUs: number;
    earlyWakeUs: number | null;
    preparedUs: number | null;
    lastWakeUs: number | null;
  } | null = null;
  #lastKeen: KeenTimeline | null = null;
  readonly #realClock: boolean;

  constructor(fire: (nowUs: number) => void, opts: DeadlineTimerOptions = {}) {
    this.#fire = fire;
    this.#now = opts.now ?? monotonicUs;
    this.#inputWaiting = opts.inputWaiting;
    this.#onKeenWake = opts.onKeenWake;
    this.#onKeenPhase = opts.onKeenPhase;
    this.#realClock = opts.now === undefined;
    const onWake = () => this.#wake();
    this.#wakeSource = opts.now === undefined ? preciseWake(onWake) : new TimeoutWake(onWake, opts.now);
  }

  get armedAtUs(): number | null {
    return this.#atUs;
  }

  /** The timeline of the last keen deadline that fired (for -D logs). */
  get lastKeen(): KeenTimeline | null {
    return this.#lastKeen;
  }

  #step(atUs: number, key: 'earlyWakeUs' | 'preparedUs' | 'lastWakeUs'): void {
    if (this.#steps?.atUs !== atUs)
      this.#steps = { atUs, earlyWakeUs: null, preparedUs: null, lastWakeUs: null };
    this.#steps[key] = this.#now();
  }

  /** Fires, and keeps the timeline when the deadline was a keen one. */
  #fireAt(atUs: number, nowUs: number): void {
    const st = this.#steps;
    if (st?.atUs === atUs) {
      const rel = (t: number | null) => (t === null ? null : t - atUs);
      this.#lastKeen = {
        earlyWakeUs: rel(st.earlyWakeUs),
        preparedUs: rel(st.preparedUs),
        lastWakeUs: rel(st.lastWakeUs),
        firedUs: nowUs - atUs,
      };
      this.#steps = null;
    }
    if (this.#kind === 'punctual') this.#lastPunctualUs = nowUs;
    this.#fire(nowUs);
  }

  /**
   * Arms at `atUs` (null: disarm). Re-arming at the same deadline the same way keeps the pending wake.
   *
   * 'keen': the deadline is worth a little CPU to meet to the microsecond (a backup's Master_Down_Interval:
   * it runs out only when a master has died). A first wake comes KEEN_LEAD_US early and calls onKeenWake to
   * get ready; a second comes KEEN_SPIN_US early, and the timer waits on the CPU from there, asking
   * inputWaiting between clock reads, and fires in the same call. Why (a process long asleep wakes and runs
   * slowly) and the measurements behind both lengths: docs/decisions/deadline-timer.md. Needs `inputWaiting`
   * and the real clock; costs up to KEEN_SPIN_US of CPU per keen deadline reached.
   *
   * 'punctual': only the phase (onKeenPhase) over the last PUNCTUAL_PHASE_AHEAD_US; needs the real clock.
   */
  arm(atUs: number | null, kind: DeadlineKind = 'plain'): void {
    const k: DeadlineKind =
      !this.#realClock || (kind === 'keen' && this.#inputWaiting === undefined) ? 'plain' : kind;
    if (atUs === this.#atUs && k === this.#kind && (this.#waiting || this.#immediate !== null)) return;
    this.cancel();
    if (atUs === null) return;
    this.#atUs = atUs;
    this.#kind = k;
    this.#waiting = true;
    const nowUs = this.#now();
    const aheadUs = atUs - nowUs;
    this.#spinUs = k === 'keen' ? KEEN_SPIN_US : k === 'punctual' ? this.#punctualSpin(atUs, nowUs) : 0;
    if (k === 'keen') {
      this.#keen = 'lead';
      this.#wakeSource.arm(atUs - KEEN_LEAD_US);
      if (aheadUs <= KEEN_PHASE_AHEAD_US) this.#startPhase();
    } else if (k === 'punctual' && aheadUs > PUNCTUAL_PHASE_AHEAD_US) {
      this.#keen = 'phase';
      this.#wakeSource.arm(atUs - PUNCTUAL_PHASE_AHEAD_US);
    } else {
      if (k === 'punctual') this.#startPhase();
      this.#sleepToSpin(atUs);
    }
  }

  /** The wait on the CPU of a punctual deadline; it needs inputWaiting (the spin asks it). */
  #punctualSpin(atUs: number, nowUs: number): number {
    return this.#inputWaiting === undefined ? 0 : punctualSpinUs(atUs, this.#lastPunctualUs ?? nowUs);
  }

  /** Sleeps until the wait on the CPU begins, or to the deadline when there is none. */
  #sleepToSpin(atUs: number): void {
    if (this.#spinUs > 0) this.#keen = 'spin';
    this.#wakeSource.arm(atUs - this.#spinUs);
  }

  #startPhase(): void {
    if (this.#keenActive) return;
    this.#keenActive = true;
    this.#onKeenPhase?.(true);
  }

  #wake(): void {
    this.#waiting = false;
    const atUs = this.#atUs;
    if (atUs === null) return;
    if (this.#keen === 'phase') {
      // A punctual deadline's phase begins; then a sleep to its wait on the CPU.
      this.#keen = false;
      this.#startPhase();
      if (this.#spinUs > 0 && atUs - this.#now() > this.#spinUs) {
        this.#waiting = true;
        this.#sleepToSpin(atUs);
        return;
      }
      if (this.#spinUs > 0) this.#keen = 'spin';
    }
    if (this.#keen === 'lead') {
      // The early wake: prepare, then sleep again until just before the deadline.
      this.#keen = 'spin';
      this.#step(atUs, 'earlyWakeUs');
      const leftUs = atUs - this.#now();
      if (leftUs > 0) this.#startPhase();
      if (leftUs > 0 && this.#keenWokeFor !== atUs) {
        this.#keenWokeFor = atUs;
        this.#onKeenWake?.(leftUs);
        // Re-armed or cancelled from the callback: that arm() has set the wake source.
        if (this.#atUs !== atUs || this.#keen !== 'spin') return;
        this.#step(atUs, 'preparedUs');
        // Ask once now, so that the spin's questions run warm code (docs/decisions/deadline-timer.md).
        this.#inputWaiting?.();
      }
      if (atUs - this.#now() > KEEN_SPIN_US) {
        this.#waiting = true;
        this.#sleepToSpin(atUs);
        return;
      }
    }
    if (this.#keen === 'spin' && this.#inputWaiting) {
      // Wait on the CPU for the last stretch; any input goes back to the loop first (an advert re-arms the
      // timer; anything else, and the wake source brings us back at the deadline).
      this.#keen = false;
      if (this.#kind === 'keen') this.#step(atUs, 'lastWakeUs');
      for (;;) {
        if (this.#inputWaiting()) break;
        const nowUs = this.#now();
        if (nowUs >= atUs) {
          this.#atUs = null;
          this.#fireAt(atUs, nowUs);
          this.#afterFiring();
          return;
        }
        if (atUs - nowUs > this.#spinUs) break; // woken too early (a coarse wake source): sleep again
      }
    }
    if (this.#now() < atUs) {
      this.#waiting = true;
      this.#wakeSource.arm(atUs);
      return;
    }
    if (this.#inputWaiting && !this.#inputWaiting()) {
      this.#atUs = null;
      this.#fireAt(atUs, this.#now());
      this.#afterFiring();
      return;
    }
    // Due — but adverts may be waiting in the socket buffers: after a stall (GC, a busy core) the wake and
    // the adverts are ready together, in any order, and a backup would declare its master dead while that
    // master's adverts sit unread, and flap. setImmediate runs after this iteration's poll phase, so
    // the waiting packets are handled first; if one of them re-arms the timer, this wake is dropped.
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      if (this.#atUs !== atUs) return;
      this.#atUs = null;
      this.#fireAt(atUs, this.#now());
      this.#afterFiring();
    });
  }

  /**
   * Runs the firing path once — #fireAt, #endKeenPhase, #afterFiring and the owner's callback — before any
   * deadline needs it: V8 compiles a function on its first call, and a backup's first firing is its takeover
   * (docs/decisions/deadline-timer.md). The callback is called as for a real firing, with the current time:
   * its owner must ignore a call made before it runs (the runtime warms up before its state is 'running').
   * Changes nothing.
   */
  warmFirePath(): void {
    const lastKeen = this.#lastKeen;
    const steps = this.#steps;
    const nowUs = this.#now();
    this.#steps = { atUs: nowUs, earlyWakeUs: null, preparedUs: null, lastWakeUs: null };
    this.#fireAt(nowUs, nowUs);
    this.#endKeenPhase();
    this.#afterFiring();
    this.#lastKeen = lastKeen;
    this.#steps = steps;
  }

  /**
   * A fired deadline's phase ends — unless the firing armed the next deadline (a master's next advert):
   * that arm() ended it already and may have started the next one's.
   */
  #afterFiring(): void {
    if (this.#atUs === null) this.#endKeenPhase();
  }

  #endKeenPhase(): void {
    if (!this.#keenActive) return;
    this.#keenActive = false;
    this.#onKeenPhase?.(false);
  }

  cancel(): void {
    if (this.#waiting) this.#wakeSource.disarm();
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#waiting = false;
    this.#immediate = null;
    this.#atUs = null;
    this.#keen = false;
    this.#kind = 'plain';
    this.#endKeenPhase();
  }

  /** Cancels and releases the wake source (its file descriptor); the timer cannot be armed again. */
  close(): void {
    this.cancel();
    this.#wakeSource.close();
  }
}
