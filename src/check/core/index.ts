// The checker core's public surface (docs/checkers.md).
export type { CheckAction, CheckActionType } from './actions.js';
export {
  CheckerCore,
  type CheckerCoreOptions,
  type CheckerStatus,
  LATENCY_BUCKETS_US,
  type LatencyStats,
  type RealServerStatus,
  type VirtualServerView,
} from './core.js';
export {
  BOOTSTRAP_DELAY_US,
  DEFAULT_CONNECT_TIMEOUT_US,
  DEFAULT_DELAY_LOOP_US,
  type ResolvedChecker,
  type ResolvedConfig,
  type ResolvedRealServer,
  type ResolvedVirtualServer,
  resolveConfig,
  vsIds,
  WEIGHT_LIMIT,
} from './resolve.js';
