// What the daemon runs, as buildEnginePlan (build.ts) makes it from the validated configuration: the VRRP
// engine's configuration and, beside it, what the Linux runtime needs and the engine does not.

import type { NotifyScripts, TrackFile, TrackProcess, VrrpScript } from '../../config/model.js';
import type { VrrpMailPlan } from '../../notify/mail/vrrp-alerts.js';
import type { FifoPlan } from '../../notify/notify-fifos.js';
import type { AuthTypeCode, IpFamily, VRRP_PROTOCOL } from '../../vrrp/advert.js';
import type { ChecksumForm } from '../../vrrp/checksum.js';
import type { EngineConfig } from '../../vrrp/engine.js';
import type { JsonValue, VirtualAddress } from '../../vrrp/instance-params.js';
import { IPPROTO_AH } from '../../vrrp/packet-ip.js';
import type { RxPolicy } from '../../vrrp/rx-validate.js';
import type { AnnouncePacing } from '../announcers.js';
import type { RuntimeError } from '../runtime-error.js';

/** What the mapping needs to know about this host. */
export interface HostAddressing {
  /**
   * Source an instance uses without unicast_src_ip/mcast_src_ip: primary IPv4, or link-local IPv6 — never one
   * of the `exclude`d addresses (the configured VIPs, which may be on the interface already).
   */
  defaultSource(ifname: string, family: IpFamily, exclude: ReadonlySet<string>): string | undefined;
}

/** The sockets an instance shares: one per (interface, family, multicast|unicast). */
export interface SocketKey {
  ifname: string;
  family: IpFamily;
  unicast: boolean;
  /** Multicast group (ignored for unicast sockets). */
  group: string;
  /**
   * The IP protocol the socket receives: 112 (VRRP), or 51 for VRRPv2 with auth_type AH, whose packets carry
   * the AH header first (as keepalived's sockpool: "proto(51)").
   */
  protocol: typeof VRRP_PROTOCOL | typeof IPPROTO_AH;
}

export function socketKeyString(k: SocketKey): string {
  const proto = k.protocol === IPPROTO_AH ? '/ah' : '';
  return `${k.ifname}/${k.family}/${k.unicast ? 'unicast' : `mcast:${k.group}`}${proto}`;
}

/** How an instance's adverts are put on the wire besides what AdvertToSend carries. */
export interface TxOptions {
  authType: AuthTypeCode;
  authPassword: string;
  /** v3 over IPv4 only (v3_checksum_as_v2 → 'vrrp-only'; old_unicast_checksum → 'pseudo-header-group'). */
  checksumForm: ChecksumForm;
  /** The IPv4 multicast group (vrrp_mcast_group4) the 'pseudo-header-group' form sums. */
  checksumGroup: string;
  /** keepalived `unicast_ttl`. */
  unicastTtl?: number;
}

export interface InstanceWiring {
  name: string;
  socket: SocketKey;
  /** unicast_src_ip / mcast_src_ip given: the source never follows the interface's addresses. */
  fixedSource: boolean;
  /**
   * No address to send from when planned (the params carry the family's any-address): the instance starts in
   * FAULT until its interface has one (engine-plan/instance.ts).
   */
  unsourced: boolean;
  /**
   * track_src_ip with a fixed source: the instance is in FAULT while `address` is not on `ifname` (the
   * configured interface; for IPv6 under use_vmac the VMAC, which carries it). Null otherwise.
   */
  trackedSource: { address: string; ifname: string } | null;
  rxPolicy: RxPolicy;
  tx: TxOptions;
  notify: NotifyScripts;
  /** What the instance adds to its socket's receive buffer (instance.ts rxBufShare). */
  rxBuf: RxBufShare;
}

/**
 * An instance's share of its VRRP socket's receive buffer, as 2.2.7 sums them per socket (docs/linux-sockets.md,
 * 'Receive buffers'): a number of bytes (0: nothing), or a multiple of an interface's MTU, read when the socket
 * is sized (and again when that MTU changes).
 */
export type RxBufShare = { bytes: number } | { mtuTimes: number; ifname: string };

export interface EnginePlan {
  engine: EngineConfig;
  /** By instance name. */
  wiring: Map<string, InstanceWiring>;
  /** By sync group name. */
  groupNotify: Map<string, NotifyScripts>;
  /** notify_fifo and vrrp_notify_fifo, and notify_fifo_script / vrrp_notify_fifo_script (planFifos). */
  fifos: FifoPlan;
  /** vrrp_script blocks some instance or sync group tracks: the daemon runs these. */
  scripts: VrrpScript[];
  /** track_file blocks some instance or sync group tracks: the daemon watches these. */
  files: TrackFile[];
  /** vrrp_track_process blocks some instance or sync group tracks: the daemon counts these processes. */
  processes: TrackProcess[];
  /** static_ipaddress / static_routes / static_rules (routes and rules as route-spec.ts plans them). */
  statics: { addresses: VirtualAddress[]; routes: JsonValue[]; rules: JsonValue[] };
  /** vrrp_garp_interval / vrrp_gna_interval and garp_group overrides. */
  pacing: AnnouncePacing;
  /** smtp_alert mail of instances and sync groups (null: none is mailed). */
  mail?: VrrpMailPlan | null;
  /** global_defs script_user: who scripts run as when they do not say. */
  scriptUser?: { user: string; group?: string };
  /** global_defs vrrp_startup_delay: wait this long before starting the instances. */
  startupDelayUs: number;
  /** Things the daemon does differently from keepalived or ignores, one line each, for the log. */
  warnings: string[];
  /** Instances that cannot run (the daemon refuses to start while there are any), coded (runtime-error.ts). */
  errors: RuntimeError[];
}
