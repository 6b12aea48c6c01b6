// The typed channel between the daemon's main process and the checker process (Node's IPC pipe, JSON
// messages). Small on purpose: VRRP state changes go down for ha_suspend, commands for reload, dumps and
// stop; nothing the VRRP engine waits for comes back (the real servers' status goes on to the status listener).
import { isMessage } from '../common/ipc-message.js';
import type { RealServersReport } from '../status/channel.js';

export type ToChecker =
  | { type: 'vrrp'; instance: string; state: string }
  /** A BFD session's state, for BFD_CHECK (from the BFD process through the main process). */
  | { type: 'bfd'; name: string; up: boolean }
  | { type: 'reload' }
  | { type: 'dump'; file: string }
  | { type: 'stop' }
  /** Report the real servers (every second when they changed, and each change as it happens) for the status listener. */
  | { type: 'watch' }
  /** The status listener was turned off (a reload removed metrics_listen). */
  | { type: 'unwatch' };

export type FromChecker = { type: 'ready'; pid: number } | { type: 'stopped' } | RealServersReport;

/** Set to 1 in a checker process that replaces one that died (its data plane is left alone until re-converged). */
export const CHECKER_RESPAWNED_ENV = 'KEEPALIVED_TS_CHECKER_RESPAWNED';

/** The argument that makes bin/keepalived-ts run as the checker process (followed by the daemon's argv). */
export const CHECKER_CHILD_ARG = '--checker-child';

export const isToChecker = isMessage<ToChecker>([
  'vrrp',
  'bfd',
  'reload',
  'dump',
  'stop',
  'watch',
  'unwatch',
]);
export const isFromChecker = isMessage<FromChecker>(['ready', 'stopped', 'realServers']);
