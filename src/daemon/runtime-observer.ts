// What the VRRP runtime tells an observer (the status listener's feed, src/status/feed.ts), from inside its
// batches: the observer must only note and return — no I/O, no allocation beyond a few numbers — and do its
// work after the batch (setImmediate). Kept apart from vrrp-runtime.ts so the runtime only calls it.
import type { VrrpTimerName } from '../vrrp/timers.js';

export interface RuntimeObserver {
  /** A deadline fired at `nowUs`; `due` is the earliest one that was due (null: none, a stray wake). */
  timerFired(due: { instance: string; timer: VrrpTimerName; atUs: number } | null, nowUs: number): void;
  /** A state change, with the reason the engine gives. */
  transition(instance: string, from: string, to: string, reason: string): void;
  /** An instance's GARP/NA batch was handed to the kernel. */
  announced(instance: string): void;
}

/** A tracker's latest reading, as the runtime holds it (status listener). */
export type TrackerState =
  | { name: string; kind: 'interface' | 'script' | 'process'; up: boolean }
  | { name: string; kind: 'file'; value: number };
