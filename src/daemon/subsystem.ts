// The seam between the daemon's supervisor (supervisor.ts: configuration, signals, pid files, children) and
// its subsystems — VRRP (vrrp-subsystem.ts) and the checkers (checker-supervisor.ts) — as keepalived runs
// them in separate processes. Every subsystem offers the same four operations; the supervisor routes
// keepalived's signals to them (HUP reload, USR1/USR2/JSON/STATS_CLEAR snapshots, TERM stop).
import type { KeepalivedConfig } from '../config/model.js';
import type { RuntimeError } from './runtime-error.js';

/**
 * The configuration re-read for a reload: loaded and validated once by the supervisor when a subsystem
 * first asks (its diagnostics logged then); null when it cannot be run.
 */
export type ConfigSource = () => KeepalivedConfig | null;

/** What a snapshot signal asks for: keepalived's data (USR1), stats (USR2), JSON dump, or zeroed counters. */
export type SnapshotKind = 'data' | 'stats' | 'json' | 'clearStats';

export interface Subsystem {
  /** For log lines: 'VRRP', 'checker'. */
  readonly name: string;
  /** Starts; the errors that kept it from running come back (none: it runs). */
  start(): Promise<readonly RuntimeError[]>;
  /** SIGHUP. */
  reload(config: ConfigSource): Promise<void>;
  /** Writes (or asks its process to write) the snapshot; never blocks on the file. */
  snapshot(kind: SnapshotKind): void;
  /**
   * Stops: gracefully, or after a fatal error (`fatal`: bounded, releasing what it holds whatever its
   * state). The synchronous part of the call does the most urgent work (VRRP's priority-0 adverts).
   */
  stop(o?: { fatal?: boolean }): Promise<void>;
}
