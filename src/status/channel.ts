// The typed channel between the daemon's main process and the status listener process (Node's IPC pipe,
// v8 serialisation so the per-second counters travel as one Float64Array). Down: the instances' static
// description when it changes, each state transition as it happens, and one snapshot a second of the numbers
// that move (counters, priorities, timers) — never one message per advert. Up: ready, and log lines.
// docs/decisions/status-listener.md says why the listener is a process of its own.
import { fileURLToPath } from 'node:url';
import type { LatencyStats, RealServerStatus } from '../check/core/core.js';
import { isMessage } from '../common/ipc-message.js';
import type { TrackerState } from '../daemon/runtime-observer.js';
import type { ServiceTraffic } from '../lvs/counters.js';

/** The page's files, in the package beside dist/ and src/ (served as they are: no build step). */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** The argument that makes bin/keepalived-ts run as the status listener process. */
export const STATUS_CHILD_ARG = '--status-child';

export interface ListenerSettings {
  host: string;
  port: number;
  token?: string;
  /** /metrics and /status answered a second, over all clients (0: no limit). */
  maxRequests: number;
  /** Where the page's files are (web/ in the package). */
  webDir: string;
}

/** An instance as configured: sent at start, after a reload, and to a new listener. */
export interface InstanceInfo {
  name: string;
  interface: string;
  vrid: number;
  family: 4 | 6;
  version: 2 | 3;
  advertIntervalCs: number;
  garpMasterDelayS: number;
  unicastPeers: string[];
  vips: { address: string; prefixLen: number; dev: string }[];
  excludedVips: { address: string; prefixLen: number; dev: string }[];
  trackers: { name: string; kind: string; weight: number; reverse: boolean }[];
  syncGroup: string | null;
}

/** One VRRP state change, as the engine gave it. */
export interface Transition {
  instance: string;
  from: string;
  to: string;
  reason: string;
  /** Wall-clock ms. */
  atMs: number;
}

/** A real server as the checker process reports it (src/check/core's RealServerStatus, made compact). */
export type RealServerInfo = Pick<
  RealServerStatus,
  'vs' | 'rs' | 'alive' | 'configuredWeight' | 'effectiveWeight' | 'failedCheckers'
> & {
  checkers: { kind: string; up: boolean; hasRun: boolean }[];
  latency: Omit<LatencyStats, 'sumUs'>;
};

/**
 * A real server's change as the checker core decided it, sent as it happens (not sampled): it entered or
 * left service, or its programmed weight changed; `reason` is the core's (the log line's words).
 */
export interface RealServerEvent {
  vs: string;
  rs: string;
  kind: 'up' | 'down' | 'weight';
  weight: number;
  reason: string;
  /** Wall-clock ms. */
  atMs: number;
}

/** Cumulative histogram (bucket upper bounds in seconds; counts per bucket, not cumulative; + sum). */
export interface BucketCounts {
  bounds: number[];
  counts: number[];
  sum: number;
  count: number;
}

export interface Tick {
  type: 'tick';
  atMs: number;
  /** ROW_FIELDS numbers per instance, in the order of the last 'instances' message. */
  rows: Float64Array;
  /** masterAddress per instance (null: none); only when one changed since the last tick, else undefined. */
  masters?: (string | null)[];
  /** Tracker readings; only when one changed. */
  trackers?: TrackerState[];
  /** The VRRP process's event-loop delay over the last window (seconds). */
  loop: { p50: number; p99: number; max: number };
  lateness: BucketCounts;
  failovers: BucketCounts;
}

/** The checker process's report of its real servers, passed on to the listener as it came. */
export interface RealServersReport {
  type: 'realServers';
  list: RealServerInfo[];
  atMs: number;
  events?: RealServerEvent[];
  /** The data plane's traffic counters, when they changed (src/lvs/counters.ts). */
  traffic?: ServiceTraffic[];
}

export type ToStatus =
  | {
      type: 'settings';
      settings: ListenerSettings;
      daemon: { pid: number; version: string; startedMs: number };
    }
  | { type: 'instances'; list: InstanceInfo[] }
  | { type: 'transition'; t: Transition }
  | Tick
  | RealServersReport
  | { type: 'checker'; running: boolean };

export type FromStatus =
  | { type: 'ready'; pid: number }
  | { type: 'listening'; address: string }
  | { type: 'log'; level: 'info' | 'error'; text: string };

export const isToStatus = isMessage<ToStatus>([
  'settings',
  'instances',
  'transition',
  'tick',
  'realServers',
  'checker',
]);
export const isFromStatus = isMessage<FromStatus>(['ready', 'listening', 'log']);

/** keepalived's VRRP state numbers (its JSON dump and keepalived-exporter's keepalived_vrrp_state). */
export const STATE_CODE: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };
export const STATE_NAME: Record<number, string> = {
  0: 'INIT',
  1: 'BACKUP',
  2: 'MASTER',
  3: 'FAULT',
  98: 'STOP',
};

/** The counters of a row, in order: RFC 6527 / RFC 2787 names and keepalived-ts's (src/vrrp/stats.ts). */
export const COUNTERS = [
  'RcvdAdvertisements',
  'SentAdvertisements',
  'BecomeMaster',
  'ReleasedMaster',
  'AdvIntervalErrors',
  'IpTtlErrors',
  'RcvdPriZeroPackets',
  'SentPriZeroPackets',
  'RcvdInvalidTypePackets',
  'AddressListErrors',
  'PacketLengthErrors',
  'ChecksumErrors',
  'VersionErrors',
  'VrIdErrors',
  'AuthFailures',
  'InvalidAuthType',
  'AuthTypeMismatch',
  'DstAddrErrors',
  'UnicastSrcErrors',
  'OwnerIgnoredAdverts',
] as const;
export type CounterName = (typeof COUNTERS)[number];

/** A row's fields before the counters; timers are ms from the tick (-1: not armed). */
export const ROW_HEAD = [
  'state',
  'wantState',
  'basePriority',
  'effectivePriority',
  'masterPriority',
  'masterAdverIntervalCs',
  'faultBits',
  'lastTransitionS',
  'masterDownInMs',
  'advertInMs',
  'garpDelayInMs',
  'garpRefreshInMs',
  'garpLowerPrioInMs',
] as const;
export const ROW_FIELDS = ROW_HEAD.length + COUNTERS.length;

export const FAULT_BITS = { interface: 1, tracker: 2, group: 4, address: 8, config: 16 } as const;

/** Advert send lateness buckets (seconds): how long after its deadline an advert timer fired. */
export const LATENESS_BOUNDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
/** Failover buckets (seconds): Master_Down deadline to the first GARP/NA handed to the kernel. */
export const FAILOVER_BOUNDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
