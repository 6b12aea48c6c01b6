// Inputs to the VRRP state machine: a JSON-safe union (no Buffers, no class instances), so a run can be
// recorded to JSON lines and replayed. Time is not part of an event; it travels beside it as `nowUs`.
import type { RxMeta, VrrpAdvert } from './advert.js';
import type { VrrpInstanceParams } from './instance-params.js';
import type { TrackerKind } from './priority.js';
import type { VrrpTimerName } from './timers.js';

export type VrrpEvent =
  /** Begin running (from INIT, or again after STOP). */
  | { type: 'start' }
  /** An advert that the packet layer has already decoded and validated (rx-validate.ts). */
  | { type: 'advertRx'; advert: VrrpAdvert; meta: RxMeta }
  /** A timer armed by an `armTimer` action has reached its deadline. */
  | { type: 'timer'; timer: VrrpTimerName }
  /** The instance's own interface changed state. */
  | { type: 'interfaceUp' }
  | { type: 'interfaceDown' }
  /**
   * A tracker (by its TrackerDef kind and name: names are per kind) went up/down (interface, script,
   * process, bfd) …
   */
  | { type: 'tracker'; kind: Exclude<TrackerKind, 'file'>; name: string; up: boolean }
  /** … or a track_file produced a new value (only files have values: the kind is 'file'). */
  | { type: 'trackerValue'; name: string; value: number }
  /** New base (configured) priority, e.g. from a management interface. */
  | { type: 'priority'; priority: number }
  /** Graceful stop (SIGTERM): send priority 0 if master, remove VIPs, enter STOP. */
  | { type: 'shutdown' }
  /**
   * One of our VIPs (`address` as configured) was deleted behind our back (rtnetlink RTM_DELADDR). keepalived
   * (docs/hostile-network.md): a MASTER sends priority 0, removes its other VIPs and goes BACKUP with its down
   * timer at Skew_Time, unless the VIP is `no_track`; in any other state, or for an address not ours, nothing.
   */
  | { type: 'vipDeleted'; address: string }
  /**
   * The address the instance sends from, as the interface's addresses change (an instance without
   * unicast_src_ip/mcast_src_ip): a new one becomes the source; null = the interface has no address of its
   * own left (`ip addr flush`), which keepalived treats as a FAULT until one returns.
   */
  | { type: 'sourceAddress'; address: string | null }
  /**
   * Removed from the configuration by a reload (docs/keepalived-semantics.md, 'Reload (SIGHUP)'): like
   * `shutdown` (priority 0 if master, VIPs removed, STOP), but the notify is DELETED with `notify_deleted`,
   * else FAULT, as keepalived reports it.
   */
  | { type: 'deleted'; notifyDeleted: boolean }
  /** Reload (SIGHUP) matched this instance to new parameters: keep the state, diff the VIPs. */
  | { type: 'reload'; params: VrrpInstanceParams };

export type VrrpEventType = VrrpEvent['type'];
