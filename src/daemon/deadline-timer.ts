// ONE wake-up armed at the engine's next deadline — no polling. The wake source is a timerfd on Linux
// (src/net/timerfd.ts: µs-precise, epoll wakes the loop at the deadline), else setTimeout, whose millisecond
// resolution may wake up to a millisecond before a µs deadline: an early wake re-arms for the remainder, so
// the engine is only ever asked to fire timers that are due.
import { Timerfd } from '../net/timerfd.js';
import { monotonicUs } from './clock.js';

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

export class DeadlineTimer {
  readonly #fire: (nowUs: number) => void;
  readonly #now: () => number;
  readonly #wakeSource: WakeSource;
  #waiting = false;
  #immediate: NodeJS.Immediate | null = null;
  #atUs: number | null = null;

  /** With the default clock the wake source is preciseWake(); an injected clock gets setTimeout. */
  constructor(fire: (nowUs: number) => void, now?: () => number) {
    this.#fire = fire;
    this.#now = now ?? monotonicUs;
    const onWake = () => this.#wake();
    this.#wakeSource = now === undefined ? preciseWake(onWake) : new TimeoutWake(onWake, now);
  }

  get armedAtUs(): number | null {
    return this.#atUs;
  }

  /** Arms at `atUs` (null: disarm). Re-arming at the same deadline keeps the pending wake. */
  arm(atUs: number | null): void {
    if (atUs === this.#atUs && (this.#waiting || this.#immediate !== null)) return;
    this.cancel();
    if (atUs === null) return;
    this.#atUs = atUs;
    this.#waiting = true;
    this.#wakeSource.arm(atUs);
  }

  #wake(): void {
    this.#waiting = false;
    const atUs = this.#atUs;
    if (atUs === null) return;
    if (this.#now() < atUs) {
      this.#waiting = true;
      this.#wakeSource.arm(atUs);
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
      this.#fire(this.#now());
    });
  }

  cancel(): void {
    if (this.#waiting) this.#wakeSource.disarm();
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#waiting = false;
    this.#immediate = null;
    this.#atUs = null;
  }

  /** Cancels and releases the wake source (its file descriptor); the timer cannot be armed again. */
  close(): void {
    this.cancel();
    this.#wakeSource.close();
  }
}
