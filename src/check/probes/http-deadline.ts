// One shared timing wheel for probe deadlines: thousands of attempts in flight cost one libuv timer, not
// one each. Deadlines are rounded up to the next tick (TICK_MS), so an entry fires no earlier than asked
// and at most one tick (plus event-loop lag) later. Arming and cancelling are O(1); the timer runs only
// while entries are pending and is unref'd, so an idle wheel keeps no handle alive. See docs/probes-http.md.

const TICK_MS = 10;
const SLOTS = 512;
const MAX_DELAY_MS = 2 ** 31;

/** A pending deadline; `cancel()` is idempotent and cheap. */
export interface Deadline {
  cancel(): void;
}

/** An object told when its deadline passes (saves a closure per deadline on hot paths). */
export interface DeadlineTarget {
  onDeadline(): void;
}

class Entry implements Deadline {
  prev: Entry | null = null;
  next: Entry | null = null;
  slot = -1;
  constructor(
    readonly wheel: DeadlineWheel,
    readonly tick: number,
    public fn: (() => void) | DeadlineTarget | null,
  ) {}
  cancel(): void {
    if (this.fn === null) return;
    this.fn = null;
    this.wheel.unlink(this);
  }
}

export class DeadlineWheel {
  readonly #heads: (Entry | null)[] = new Array(SLOTS).fill(null);
  readonly #now: () => number;
  #count = 0;
  /** The last tick whose slot has been processed. */
  #doneTick: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#doneTick = Math.floor(now() / TICK_MS);
  }

  /** Pending entries (for tests and leak checks). */
  get size(): number {
    return this.#count;
  }

  /** Calls `fn` (or `fn.onDeadline()`) once, no earlier than `delayMs` from now, unless cancelled first. */
  after(delayMs: number, fn: (() => void) | DeadlineTarget): Deadline {
    const now = this.#now();
    // Ticks before the current one have fully passed; nothing is pending in them.
    if (this.#count === 0) this.#doneTick = Math.floor(now / TICK_MS) - 1;
    // The slot of tick T is processed once the clock has passed T's end, so tick T holds deadlines ≤ (T+1)·TICK.
    // NaN and negative delays mean "now"; longer than ~24 days is clamped (no probe waits that long).
    const d = delayMs > 0 ? Math.min(delayMs, MAX_DELAY_MS) : 0;
    let tick = Math.ceil((now + d) / TICK_MS) - 1;
    if (tick <= this.#doneTick) tick = this.#doneTick + 1;
    const e = new Entry(this, tick, fn);
    const slot = tick % SLOTS;
    e.slot = slot;
    const head = this.#heads[slot] ?? null;
    e.next = head;
    if (head) head.prev = e;
    this.#heads[slot] = e;
    this.#count++;
    if (this.#timer === null) this.#arm();
    return e;
  }

  unlink(e: Entry): void {
    if (e.slot < 0) return;
    if (e.prev) e.prev.next = e.next;
    else this.#heads[e.slot] = e.next;
    if (e.next) e.next.prev = e.prev;
    e.prev = e.next = null;
    e.slot = -1;
    this.#count--;
    if (this.#count === 0 && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** Wakes at the next tick boundary (a wake-up that comes early just re-arms: the clock decides). */
  #arm(): void {
    const t = setTimeout(() => this.#onTick(), Math.max(1, Math.ceil(TICK_MS - (this.#now() % TICK_MS))));
    t.unref();
    this.#timer = t;
  }

  #onTick(): void {
    this.#timer = null;
    const target = Math.floor(this.#now() / TICK_MS) - 1;
    const due: Entry[] = [];
    // Walk every tick that has fully passed (at most one lap: older entries sit in the same slots).
    const from = this.#doneTick + 1;
    const to = Math.min(target, from + SLOTS - 1);
    for (let t = from; t <= to; t++) {
      let e = this.#heads[t % SLOTS] ?? null;
      while (e) {
        const next = e.next;
        if (e.tick <= target) due.push(e);
        e = next;
      }
    }
    if (target > this.#doneTick) this.#doneTick = target;
    for (const e of due) this.unlink(e);
    if (this.#count > 0 && this.#timer === null) this.#arm();
    // Timers run before the event loop polls for I/O: after a stall (a busy or CPU-starved process) a
    // connection or reply that arrived in time would lose to its own deadline. The due entries fire after
    // this turn's poll phase instead (setImmediate), so what already arrived settles the attempt first and
    // cancels its deadline.
    if (due.length > 0) setImmediate(fireDue, due);
  }
}

function fireDue(due: Entry[]): void {
  for (const e of due) {
    const fn = e.fn;
    if (fn === null) continue;
    e.fn = null;
    if (typeof fn === 'function') fn();
    else fn.onDeadline();
  }
}

/** The process-wide wheel the HTTP/SSL probes share. */
export const probeDeadlines = new DeadlineWheel();
