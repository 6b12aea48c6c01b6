// ONE setTimeout armed at the engine's next deadline — no polling. Node timers have millisecond resolution
// and may fire up to a millisecond before a µs deadline; an early wake re-arms for the remainder, so the
// engine is only ever asked to fire timers that are due.
import { monotonicUs } from './clock.js';

export class DeadlineTimer {
  readonly #fire: (nowUs: number) => void;
  readonly #now: () => number;
  #handle: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #atUs: number | null = null;

  constructor(fire: (nowUs: number) => void, now: () => number = monotonicUs) {
    this.#fire = fire;
    this.#now = now;
  }

  get armedAtUs(): number | null {
    return this.#atUs;
  }

  /** Arms at `atUs` (null: disarm). Re-arming at the same deadline keeps the pending timeout. */
  arm(atUs: number | null): void {
    if (atUs === this.#atUs && (this.#handle !== null || this.#immediate !== null)) return;
    this.cancel();
    if (atUs === null) return;
    this.#atUs = atUs;
    const delayMs = Math.max(0, Math.ceil((atUs - this.#now()) / 1000));
    this.#handle = setTimeout(() => this.#wake(), delayMs);
  }

  #wake(): void {
    this.#handle = null;
    const atUs = this.#atUs;
    if (atUs === null) return;
    const now = this.#now();
    if (now < atUs) {
      this.#handle = setTimeout(() => this.#wake(), Math.max(1, Math.ceil((atUs - now) / 1000)));
      return;
    }
    // Due — but adverts may be waiting in the socket buffers: Node runs expired timers before it polls
    // for I/O, so after a stall (GC, a busy core) a backup would declare its master dead while that
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
    if (this.#handle !== null) clearTimeout(this.#handle);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#handle = null;
    this.#immediate = null;
    this.#atUs = null;
  }
}
