// The plain-data parameters of one VRRP instance as the state machine sees them. A later step maps the parsed
// keepalived.conf model onto this; nothing here knows about the config grammar. JSON-safe so a recorded run can
// carry its parameters.
import type { IpFamily, VrrpVersion } from './advert.js';
import type { TrackerDef } from './priority.js';

/** JSON-safe value (for opaque route/rule specs that the netlink layer interprets). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One virtual address: `virtual_ipaddress` / `virtual_ipaddress_excluded` line, kept as data. */
export interface VirtualAddress {
  /** Textual address (dotted quad / RFC 5952). */
  address: string;
  prefixLen: number;
  /** `dev IF`, when the VIP lives on another interface than the instance's. */
  dev?: string;
  /** Everything else on the VIP line (brd, scope, label, no_track…), passed through to the netlink layer. */
  options?: { [key: string]: JsonValue };
}

export type WantedState = 'MASTER' | 'BACKUP';

export interface VrrpInstanceParams {
  name: string;
  vrid: number;
  version: VrrpVersion;
  family: IpFamily;
  /** Interface the instance runs on (for interface up/down routing); informational to the FSM. */
  interface: string;
  /** Configured priority 1..255; 255 = address owner (RFC 3768 §5.3.4). */
  basePriority: number;
  /** Own advertisement interval in centiseconds (v2: multiple of 100). */
  advertIntervalCs: number;
  /** keepalived `state`: MASTER makes an owner go master at once; a non-owner still starts as BACKUP. */
  initialState: WantedState;
  nopreempt: boolean;
  /** keepalived `preempt_delay` in µs (0 = none). */
  preemptDelayUs: number;
  /** keepalived `down_timer_adverts` (default 3, RFC value). */
  downTimerAdverts: number;
  /** Address this instance sends from (unicast_src_ip / mcast_src_ip / interface primary): equal-priority tie-break. */
  primaryAddress: string;
  /** VIPs carried in adverts. */
  vips: VirtualAddress[];
  /** `virtual_ipaddress_excluded`: installed and GARPed but not advertised. */
  excludedVips: VirtualAddress[];
  /** `virtual_routes` / `virtual_rules`, opaque to the FSM (installed with the VIPs). */
  virtualRoutes: JsonValue[];
  virtualRules: JsonValue[];
  /** Unicast peers; empty = multicast. */
  unicastPeers: string[];
  /** keepalived `lower_prio_no_advert` (RFC behaviour when true). */
  lowerPrioNoAdvert: boolean;
  /** keepalived `higher_prio_send_advert`. */
  higherPrioSendAdvert: boolean;
  /** keepalived `owner_ignore_adverts`: an owner ignores every advert. */
  ownerIgnoreAdverts: boolean;
  /** GARP / unsolicited NA schedule (keepalived `garp_*`; see garp-schedule.ts). */
  garpMasterDelayUs: number;
  garpMasterRepeat: number;
  garpMasterRefreshUs: number;
  garpMasterRefreshRepeat: number;
  garpLowerPrioDelayUs: number;
  garpLowerPrioRepeat: number;
  /**
   * keepalived garp_extra_if: while MASTER, one GARP/NA for each of `garpExtraAddresses` at the first advert
   * sent after this interval has run (0: off). The plan clears it when there is no extra interface
   * (docs/keepalived-semantics.md, 'GARP and unsolicited NA').
   */
  garpExtraIfUs: number;
  /** The first VIP / excluded VIP on each extra interface (its `dev`), in configuration order. */
  garpExtraAddresses: string[];
  /** Trackers (track_interface/script/file/process/bfd) with their weights. */
  trackers: TrackerDef[];
  /** keepalived `dont_track_primary`: the instance's own interface going down does not cause FAULT. */
  dontTrackPrimary: boolean;
  /**
   * keepalived's configuration faults (`unicast_fault_no_peer` without a peer): the instance cannot run, so it
   * stays in FAULT for as long as this configuration is loaded (docs/keepalived-semantics.md, 'Unicast').
   */
  configFault: boolean;
  /** `accept` mode; informational to the FSM (the daemon sets firewall rules). */
  accept: boolean;
  /** keepalived `notify_priority_changes`: emit MASTER_PRIORITY / BACKUP_PRIORITY notifies. */
  notifyPriorityChanges: boolean;
}

/** Parameters that have a keepalived default may be left out. */
export type VrrpInstanceParamsInput = Pick<VrrpInstanceParams, 'name' | 'vrid' | 'primaryAddress'> &
  Partial<VrrpInstanceParams>;

/** keepalived defaults (man5 keepalived.conf; docs/keepalived-semantics.md, 'Defaults'). */
export const DEFAULT_PRIORITY = 100;
export const DEFAULT_ADVERT_INTERVAL_CS = 100;
export const DEFAULT_DOWN_TIMER_ADVERTS = 3;
export const DEFAULT_GARP_MASTER_DELAY_US = 5_000_000;
export const DEFAULT_GARP_MASTER_REPEAT = 5;
export const DEFAULT_GARP_MASTER_REFRESH_REPEAT = 1;

export interface ResolvedParams {
  params: VrrpInstanceParams;
  /** keepalived's silent corrections (vrrp_complete_instance), for the log. */
  notes: string[];
}

/**
 * Fills keepalived defaults and applies keepalived's sanity corrections (docs/keepalived-semantics.md,
 * 'Config sanity rules'): nopreempt is cleared for an owner and for `state MASTER`; preempt_delay is cleared
 * for `state MASTER`.
 */
export function resolveInstanceParams(input: VrrpInstanceParamsInput): ResolvedParams {
  const family = input.family ?? 4;
  const garpMasterDelayUs = input.garpMasterDelayUs ?? DEFAULT_GARP_MASTER_DELAY_US;
  const garpMasterRepeat = input.garpMasterRepeat ?? DEFAULT_GARP_MASTER_REPEAT;
  const params: VrrpInstanceParams = {
    name: input.name,
    vrid: input.vrid,
    // IPv6 forces VRRPv3 (RFC 3768 is IPv4-only).
    version: family === 6 ? 3 : (input.version ?? 2),
    family,
    interface: input.interface ?? 'eth0',
    basePriority: input.basePriority ?? DEFAULT_PRIORITY,
    advertIntervalCs: input.advertIntervalCs ?? DEFAULT_ADVERT_INTERVAL_CS,
    initialState: input.initialState ?? 'BACKUP',
    nopreempt: input.nopreempt ?? false,
    preemptDelayUs: input.preemptDelayUs ?? 0,
    downTimerAdverts: input.downTimerAdverts ?? DEFAULT_DOWN_TIMER_ADVERTS,
    primaryAddress: input.primaryAddress,
    vips: input.vips ?? [],
    excludedVips: input.excludedVips ?? [],
    virtualRoutes: input.virtualRoutes ?? [],
    virtualRules: input.virtualRules ?? [],
    unicastPeers: input.unicastPeers ?? [],
    lowerPrioNoAdvert: input.lowerPrioNoAdvert ?? false,
    higherPrioSendAdvert: input.higherPrioSendAdvert ?? false,
    ownerIgnoreAdverts: input.ownerIgnoreAdverts ?? false,
    garpMasterDelayUs,
    garpMasterRepeat,
    garpMasterRefreshUs: input.garpMasterRefreshUs ?? 0,
    garpMasterRefreshRepeat: input.garpMasterRefreshRepeat ?? DEFAULT_GARP_MASTER_REFRESH_REPEAT,
    // man5: garp_lower_prio_delay defaults to garp_master_delay, garp_lower_prio_repeat to garp_master_repeat.
    garpLowerPrioDelayUs: input.garpLowerPrioDelayUs ?? garpMasterDelayUs,
    garpLowerPrioRepeat: input.garpLowerPrioRepeat ?? garpMasterRepeat,
    garpExtraIfUs: input.garpExtraIfUs ?? 0,
    garpExtraAddresses: input.garpExtraAddresses ?? [],
    trackers: input.trackers ?? [],
    dontTrackPrimary: input.dontTrackPrimary ?? false,
    configFault: input.configFault ?? false,
    accept: input.accept ?? true,
    notifyPriorityChanges: input.notifyPriorityChanges ?? false,
  };
  const notes: string[] = [];
  if (params.nopreempt && params.basePriority === 255) {
    params.nopreempt = false;
    notes.push('nopreempt is ignored for the address owner (priority 255)');
  }
  if (params.initialState === 'MASTER') {
    if (params.nopreempt) {
      params.nopreempt = false;
      notes.push('nopreempt is ignored with state MASTER');
    }
    if (params.preemptDelayUs > 0) {
      params.preemptDelayUs = 0;
      notes.push('preempt_delay is ignored with state MASTER');
    }
  }
  return { params, notes };
}

/** resolveInstanceParams(...).params, for tests and the simulator. */
export function instanceParams(input: VrrpInstanceParamsInput): VrrpInstanceParams {
  return resolveInstanceParams(input).params;
}
