// A one-shot wake-up at an absolute CLOCK_MONOTONIC time in microseconds, through Linux's timerfd and the
// same koffi event-loop poll as the raw sockets. Why not setTimeout: Node's timers have millisecond
// resolution and libuv rounds the wait up, so a VRRP deadline fires 1–2 ms late — at advert_int 0.01 that is
// 10–20 % of an interval, and it showed as a slower failover than keepalived's (which waits on µs
// timeouts). A timerfd becomes readable at the deadline (kernel hrtimer, timer slack ~50 µs) and epoll wakes
// the loop at once, with no busy-waiting.
//
// process.hrtime (the daemon's clock, src/common/clock.ts) is CLOCK_MONOTONIC too, so a deadline in that
// clock is armed as it is (TFD_TIMER_ABSTIME).
import { escalate } from './escalate.js';
import { libc, libcLibrary, type PollHandle } from './libc.js';

const CLOCK_MONOTONIC = 1;
const TFD_NONBLOCK = 0o4000;
const TFD_CLOEXEC = 0o2000000;
const TFD_TIMER_ABSTIME = 1;
/** struct itimerspec on 64-bit Linux: it_interval {tv_sec, tv_nsec}, it_value {tv_sec, tv_nsec}. */
const ITIMERSPEC_BYTES = 32;

interface TimerfdCalls {
  create(clockId: number, flags: number): number;
  settime(fd: number, flags: number, spec: Uint8Array): number;
  /** Reads the 8-byte expiry count, which re-arms level-triggered readiness. */
  drain(fd: number): void;
}

let calls: TimerfdCalls | undefined;

function timerfdCalls(): TimerfdCalls {
  if (calls) return calls;
  const lib = libcLibrary();
  const create = lib.func('int timerfd_create(int, int)');
  const settime = lib.func('int timerfd_settime(int, int, const void *, void *)');
  const read = lib.func('intptr_t read(int, void *, size_t)');
  const count = new Uint8Array(8);
  calls = {
    create: (clockId, flags) => create(clockId, flags) as number,
    settime: (fd, flags, spec) => settime(fd, flags, spec, null) as number,
    drain: (fd) => {
      read(fd, count, 8);
    },
  };
  return calls;
}

/** Encodes an absolute deadline (µs; 0 disarms) as a one-shot itimerspec. */
export function encodeItimerspec(atUs: number, into: Uint8Array): Uint8Array {
  const v = new DataView(into.buffer, into.byteOffset, ITIMERSPEC_BYTES);
  v.setBigInt64(0, 0n, true);
  v.setBigInt64(8, 0n, true);
  const us = Math.max(0, Math.floor(atUs));
  v.setBigInt64(16, BigInt(Math.floor(us / 1_000_000)), true);
  v.setBigInt64(24, BigInt((us % 1_000_000) * 1000), true);
  return into;
}

export class Timerfd {
  readonly #fd: number;
  readonly #calls: TimerfdCalls;
  readonly #poll: PollHandle;
  readonly #spec = new Uint8Array(ITIMERSPEC_BYTES);
  #closed = false;
  #armed = false;

  /** Throws when the kernel or the FFI cannot give a timerfd; callers fall back to setTimeout. */
  constructor(onExpiry: () => void) {
    this.#calls = timerfdCalls();
    const fd = this.#calls.create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) throw new Error(`timerfd_create failed (errno ${libc().errno()})`);
    this.#fd = fd;
    try {
      this.#poll = libc().poll(fd, () => {
        // Called by koffi without MakeCallback: nothing may escape (src/net/libc.ts).
        try {
          this.#calls.drain(this.#fd);
          if (!this.#armed || this.#closed) return;
          this.#armed = false;
          this.#poll.unref();
          onExpiry();
        } catch (e) {
          escalate('timer handler', e);
        }
      });
    } catch (e) {
      libc().close(fd);
      throw e;
    }
    this.#poll.unref(); // an idle timer does not keep the process alive, as an unarmed setTimeout would not
  }

  /** Arms at an absolute CLOCK_MONOTONIC time in µs (a time already past fires at once). */
  arm(atUs: number): void {
    if (this.#closed) return;
    // 0 would disarm; a deadline at the clock's origin is long past anyway.
    const rc = this.#calls.settime(
      this.#fd,
      TFD_TIMER_ABSTIME,
      encodeItimerspec(Math.max(1, atUs), this.#spec),
    );
    if (rc < 0) throw new Error(`timerfd_settime failed (errno ${libc().errno()})`);
    this.#armed = true;
    this.#poll.ref();
  }

  disarm(): void {
    if (this.#closed || !this.#armed) return;
    this.#armed = false;
    this.#calls.settime(this.#fd, 0, encodeItimerspec(0, this.#spec));
    this.#poll.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#armed = false;
    this.#poll.close();
    libc().close(this.#fd);
  }
}
