// What the VRRP runtime tells an observer (the status listener's feed, src/status/feed.ts), from inside its
// batches: the observer must only note and return — no I/O, no allocation beyond a few numbers — and do its
// work after the batch (setImmediate). Kept apart from vrrp-runtime.ts so the runtime only calls it.
import type { VrrpTimerName } from '../vrrp/timers.js';

export interface RuntimeObserver {
  /**
   * A timer batch starts at `nowUs`; `due` is the earliest deadline that was due (null: none, a stray wake).
   * Later timers of the same batch (another instance's Master_Down, say) are not reported one by one.
   */
  timerFired(due: { instance: string; timer: VrrpTimerName; atUs: number } | null, nowUs: number): void;
  /** A state change, with the reason the engine gives. */
  transition(instance: string, from: string, to: string, reason: string): void;
  /** An instance's GARP/NA batch was handed to the kernel. */
  announced(instance: string): void;
}

/**
 * keepalived's script states, in its order (the number keepalived-exporter's keepalived_script_state
 * gives): idle, running, requested termination (SIGTERM sent), forcing termination (SIGKILL due).
 */
export const SCRIPT_STATES = ['idle', 'running', 'requested termination', 'forcing termination'] as const;
export type ScriptState = (typeof SCRIPT_STATES)[number];

/** A tracker's latest reading, as the runtime holds it (status listener). */
export type TrackerState =
  | { name: string; kind: 'interface' | 'process'; up: boolean }
  | { name: string; kind: 'script'; up: boolean; state: ScriptState }
  | { name: string; kind: 'file'; value: number };
