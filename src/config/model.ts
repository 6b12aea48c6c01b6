// The typed configuration model: what the parser produces and everything downstream consumes.
// Units are in the names. Every object that came from a block remembers where it was declared, so
// later validation (and the daemon) can point at the right line.

import type { RuleSpec } from '../net/netlink-types.js';
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6 } from '../vrrp/advert.js';
import type { SourcePos } from './diagnostics.js';

export type Family = 4 | 6;

/**
 * The `other` of a block that carries no keyword: one frozen object shared by all of them (a configuration
 * with 10,000 real servers would otherwise keep 20,000 empty objects). `carry()` (schema/builders.ts) gives a
 * block its own object before the first write.
 */
export const NO_OTHER: Record<string, string[]> = Object.freeze({});

/**
 * `a` copied at its exact length, for arrays grown by `push()` while a block is parsed (the first push
 * reserves 17 slots; most of these arrays hold one element, and 10,000 real servers keep tens of thousands).
 */
export function exactArray<T>(a: T[]): T[] {
  return a.slice();
}

export interface ScriptSpec {
  /** argv after quoting and escape processing. */
  argv: string[];
  user?: string;
  group?: string;
  pos: SourcePos;
}

export interface GlobalDefs {
  routerId?: string;
  notificationEmails: string[];
  notificationEmailFrom?: string;
  smtpServer?: { host: string; port: number };
  smtpHeloName?: string;
  smtpConnectTimeoutS: number;
  smtpAlert?: boolean;
  smtpAlertVrrp?: boolean;
  smtpAlertChecker?: boolean;
  /** No mail for a VRRP instance or sync group entering FAULT. */
  noEmailFaults?: boolean;
  /** Checker mail only when a real server's liveness changes, not for every checker's own change. */
  noCheckerEmails?: boolean;
  scriptUser?: { user: string; group?: string };
  enableScriptSecurity: boolean;
  vrrpVersion: 2 | 3;
  vrrpMcastGroup4: string;
  /** vmac_prefix: what a VMAC's default name starts with instead of `vrrp` (src/daemon/vmac.ts). */
  vmacPrefix?: string;
  vrrpMcastGroup6: string;
  vrrpGarpMasterDelayS: number;
  vrrpGarpMasterRepeat: number;
  vrrpGarpMasterRefreshS: number;
  vrrpGarpMasterRefreshRepeat: number;
  vrrpGarpLowerPrioDelayS?: number;
  vrrpGarpLowerPrioRepeat?: number;
  vrrpGarpIntervalUs: number;
  vrrpGnaIntervalUs: number;
  vrrpMinGarp: boolean;
  /**
   * vrrp_garp_extra_if SECONDS [all]: a master's periodic GARP/NA on its other interfaces, for instances
   * without garp_extra_if (0: off; docs/keepalived-semantics.md, 'GARP and unsolicited NA').
   */
  vrrpGarpExtraIfS: number;
  /** `all` on vrrp_garp_extra_if: every other interface, not only VMACs made for single addresses. */
  vrrpGarpExtraIfAll: boolean;
  vrrpDownTimerAdverts: number;
  vrrpLowerPrioNoAdvert: boolean;
  vrrpHigherPrioSendAdvert: boolean;
  vrrpCheckUnicastSrc: boolean;
  vrrpSkipCheckAdvAddr: boolean;
  vrrpStrict: boolean;
  v3ChecksumAsV2: boolean;
  vrrpOwnerIgnoreAdverts: boolean;
  vrrpStartupDelayS: number;
  /**
   * `umask MASK`: the file creation mask (permission bits, 0 to 0777) for the files the daemon creates and the
   * scripts it starts (src/common/file-mask.ts); unset keeps keepalived's 0177, and `-u` overrides it.
   */
  umask?: number;
  notifyFifo?: string;
  notifyFifoScript?: ScriptSpec;
  vrrpNotifyFifo?: string;
  vrrpNotifyFifoScript?: ScriptSpec;
  lvsNotifyFifo?: string;
  lvsNotifyFifoScript?: ScriptSpec;
  lvsSyncDaemon?: { interface: string; instance?: string; syncId?: number };
  lvsFlush: boolean;
  /** `lvs_flush_on_stop` alone: 'all' (flush the whole IPVS table); `lvs_flush_on_stop VS`: 'vs'. */
  lvsFlushOnStop?: 'all' | 'vs';
  /** `lvs_timeouts`: IPVS connection timeouts in seconds; an absent one is left as the kernel has it. */
  lvsTimeouts?: { tcp?: number; tcpfin?: number; udp?: number };
  /** Ours: which kernel data plane programs virtual servers (docs/lvs.md, "Choosing the data plane"). */
  lvsDataplane: 'auto' | 'ipvs' | 'nftables';
  maxAutoPriority?: number;
  randomSeed?: number;
  stateDumpFile?: string;
  statsDumpFile?: string;
  jsonDumpFile?: string;
  dynamicInterfaces: boolean;
  /** `dynamic_interfaces allow_if_changes`: an interface may be deleted and created again with another index. */
  dynamicInterfacesAllowIfChanges: boolean;
  /** Every checker failure is logged, not only the ones that change a real server's state (per checker: log_all_failures). */
  checkerLogAllFailures: boolean;
  /** Notify scripts and the FIFO hear each real server's state at start, not only its changes. */
  rsInitNotifies: boolean;
  /** Script paths are shown (and checked) as given, not with their symbolic links resolved. */
  useSymlinkPaths: boolean;
  /** `vrrp_notify_priority_changes`: the default of every instance's `notify_priority_changes`. */
  vrrpNotifyPriorityChanges: boolean;
  /** After a reload, the sync groups' and the non-MASTER instances' states are written to the notify FIFOs again. */
  fifoWriteVrrpStatesOnReload: boolean;
  /** `default_interface`: where a static_ipaddress without `dev` goes (keepalived's default: eth0). */
  defaultInterface?: string;
  /** Log adverts of VRIDs no instance on the receiving interface has (rate-limited). */
  logUnknownVrids: boolean;
  /**
   * `vrrp_rx_bufs_policy`: what each instance adds to its VRRP socket's receive buffer — its interface's MTU
   * or its advert's length (times vrrpRxBufsMultiplier), or a number of bytes. Unset: nothing, the kernel's
   * default buffer (docs/linux-sockets.md, 'Receive buffers').
   */
  vrrpRxBufsPolicy?: 'MTU' | 'ADVERT' | number;
  /** `vrrp_rx_bufs_multiplier` (1..4294967295, default 3). */
  vrrpRxBufsMultiplier: number;
  /** Run before anything starts, waited for up to startupScriptTimeoutS (src/daemon/lifecycle-scripts.ts). */
  startupScript?: ScriptSpec;
  startupScriptTimeoutS: number;
  /** Run after everything has stopped, waited for up to shutdownScriptTimeoutS. */
  shutdownScript?: ScriptSpec;
  shutdownScriptTimeoutS: number;
  /** `script_user` named a user or group that does not exist: no default script user at all. */
  scriptUserInvalid?: boolean;
  /** `nftables [TABLE]`: the firewall table for no_accept/strict drops (default name `keepalived`). */
  nftablesTable?: string;
  /** `nftables_priority N`: the priority of that table's base chains (an integer; else keepalived's -1). */
  nftablesPriority?: number;
  /** `nftables_ifindex`: the drop rules match the interface by index, not name. */
  nftablesIfindex: boolean;
  /** `nftables_counters`: the drop rules count what they match. */
  nftablesCounters: boolean;
  /**
   * keepalived-ts: `metrics_listen ADDRESS:PORT`, where the status listener (Prometheus /metrics, /status, the
   * page at /) listens; absent = no listener (docs/operating.md, 'Watching it run').
   */
  metricsListen?: { host: string; port: number };
  /** keepalived-ts: `metrics_token TOKEN`, required as `Authorization: Bearer TOKEN` on every request. */
  metricsToken?: string;
  /** keepalived-ts: `metrics_max_requests N`, /metrics and /status answered a second (0: no limit; default 20). */
  metricsMaxRequests?: number;
  /** vrrp_priority, vrrp_rt_priority, vrrp_rlimit_rttime, vrrp_no_swap, vrrp_cpu_affinity. */
  vrrpProcess: ProcessTuning;
  /** checker_priority, checker_rt_priority, checker_rlimit_rttime, checker_no_swap, checker_cpu_affinity. */
  checkerProcess: ProcessTuning;
  /** bfd_priority, bfd_rt_priority, bfd_rlimit_rttime, bfd_no_swap, bfd_cpu_affinity (the BFD process). */
  bfdProcess: ProcessTuning;
  /** Keywords accepted and range-checked whose effect the daemon does not model yet. */
  other: Record<string, string[]>;
}

/** How a process is scheduled and kept in memory (keepalived's `vrrp_*` and `checker_*` process keywords). */
export interface ProcessTuning {
  /** vrrp_priority: the nice value, -20 (most favoured) to 19. */
  nice?: number;
  /** vrrp_rt_priority: run under SCHED_RR at this priority, 1 to 99. */
  rtPriority?: number;
  /**
   * vrrp_rlimit_rttime: RLIMIT_RTTIME, the CPU time (µs) a real-time process may use without blocking;
   * applied with rtPriority only (keepalived's default 10000).
   */
  rlimitRttimeUs?: number;
  /** vrrp_no_swap: the process's memory is locked (never swapped out). */
  noSwap: boolean;
  /** vrrp_cpu_affinity: the CPUs (ids as in /proc/cpuinfo) the process may run on. */
  cpuAffinity?: number[];
}

/** An IPv6 lifetime of "forever" (the kernel's INFINITY_LIFE_TIME). */
export const IPV6_LIFETIME_FOREVER = 0xffffffff;

export interface VipConfig {
  /** Address in canonical text form. */
  address: string;
  family: Family;
  prefixLength: number;
  broadcast?: string;
  dev?: string;
  scope?: string;
  label?: string;
  peer?: string;
  noDad: boolean;
  noTrack: boolean;
  useVmac: boolean;
  /**
   * IPv6 only: the preferred lifetime it is added with, in seconds (IPV6_LIFETIME_FOREVER: forever). Without
   * `preferred_lft`, keepalived's default: 0 ("deprecated": never chosen as a source address) for a /128,
   * forever otherwise (docs/keepalived-semantics.md, 'IPv6 VIPs are deprecated').
   */
  preferredLft?: number;
  /** The rest of the options, kept as given (home, mngtmpaddr, noprefixroute, autojoin …). */
  flags: string[];
  pos: SourcePos;
}

/** The route types keepalived takes at the head of an `ip route` line. */
export type RouteType =
  | 'unicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'local'
  | 'broadcast'
  | 'multicast'
  | 'nat';
export type RouteScope = 'global' | 'universe' | 'site' | 'link' | 'host' | 'nowhere' | number;

/** An address of a route or rule line, with the prefix length when one is written. */
export interface LinePrefix {
  addr: string;
  family: Family;
  len?: number;
}

/** One `nexthop [via A] [dev D] [weight N] [onlink]` of a route (or a hop of `via A or B`). */
export interface NextHop {
  via?: string;
  dev?: string;
  weight?: number;
  onlink?: boolean;
}

/**
 * Everything keepalived keeps of an `ip route` line, typed (src/config/route-words.ts reads it): the data dump
 * prints it, and `Route` is the part the daemon programs. A repeated word: the last one counts.
 */
export interface IpRoute {
  type?: RouteType;
  /** Absent for `default`. */
  dst?: LinePrefix;
  src?: string;
  via?: string;
  /** The `dev` / `oif` before any `nexthop`. */
  dev?: string;
  /** Routing table id (names resolved through iproute2's rt_tables). */
  table?: number;
  protocol?: number;
  scope?: RouteScope;
  metric?: number;
  tos?: number;
  onlink: boolean;
  nexthops: NextHop[];
  /** Words keepalived accepts that the dump does not print and the daemon does not program (mtu, realms …). */
  other: string[][];
  /** Why a value could not be typed (an unknown table, a number that is none): the line is not programmed. */
  unreadable?: string;
}

/** What the daemon programs for an `ip route` line (derived from `IpRoute`, docs/routes.md lists the subset). */
export interface Route {
  /** From the line's addresses; absent when it has none (the instance's family applies, 4 for static_routes). */
  family?: Family;
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';
  /** Destination prefix; absent for `default`. */
  dst?: string;
  dstLen?: number;
  gateway?: string;
  /** `dev` / `oif`: looked up by name when the route is installed. */
  dev?: string;
  /** Routing table id (names resolved through iproute2's rt_tables); absent: main. */
  table?: number;
  metric?: number;
  scope?: 'global' | 'site' | 'link' | 'host' | number;
  prefsrc?: string;
}

export type RuleAction =
  | { lookup: number }
  | { goto: number }
  | { type: 'blackhole' | 'prohibit' | 'unreachable' };

/** Everything keepalived keeps of an `ip rule` line, typed; `Rule` is the part the daemon programs. */
export interface IpRule {
  not: boolean;
  from?: LinePrefix;
  to?: LinePrefix;
  /** `priority` / `preference` / `pref` / `order`, or the one keepalived numbers for a rule without. */
  priority?: number;
  tos?: number;
  fwmark?: { mark: number; mask?: number };
  iif?: string;
  oif?: string;
  action?: RuleAction;
  /** Words keepalived accepts that the dump does not print and the daemon does not program (sport, realms …). */
  other: string[][];
  unreadable?: string;
}

/** What the daemon programs for an `ip rule` line: the netlink layer's rule, its family absent when no address says. */
export type Rule = Omit<RuleSpec, 'family'> & { family?: Family };

/** A virtual_routes / static_routes line. */
export interface RouteConfig {
  /** The `ip route` words as written (for messages and the log). */
  words: string[];
  /** Destination as written (or 'default'). */
  destination?: string;
  /** The first `dev` / `oif`. */
  dev?: string;
  family?: Family;
  noTrack: boolean;
  pos: SourcePos;
  ip: IpRoute;
  /** Absent when the line uses words the daemon cannot program yet (a `note:` says which). */
  route?: Route;
}

/** A virtual_rules / static_rules line. */
export interface RuleConfig {
  /** The `ip rule` words (without no_track; with the preference keepalived adds when there is none). */
  words: string[];
  /** The `iif` / `oif` interface. */
  dev?: string;
  family?: Family;
  noTrack: boolean;
  pos: SourcePos;
  ip: IpRule;
  /** Absent when the line uses words the daemon cannot program yet (a `note:` says which). */
  rule?: Rule;
}

export interface TrackRef {
  name: string;
  weight?: number;
  reverse: boolean;
  pos: SourcePos;
  /**
   * A sync-group member's tracked interface whose weight keepalived 2.2.7 says it ignores: it lists weight 0
   * under the instance, yet the weight still applies (docs/config-meaning.md, 'Address owners and sync-group
   * members ignore weights').
   */
  weightListedAsZero?: boolean;
}

export interface UnicastPeer {
  address: string;
  minTtl?: number;
  maxTtl?: number;
  pos: SourcePos;
}

export type VrrpState = 'MASTER' | 'BACKUP';

/** notify_* scripts of an instance or sync group (keepalived's argv after quoting). */
export interface NotifyScripts {
  master?: ScriptSpec;
  backup?: ScriptSpec;
  fault?: ScriptSpec;
  stop?: ScriptSpec;
  /** `notify`: run with 4 more args (INSTANCE|GROUP, name, state, priority). */
  generic?: ScriptSpec;
  masterRxLowerPri?: ScriptSpec;
  /**
   * `notify_deleted SCRIPT`: run when a reload removes the instance. The keyword alone only changes the state
   * the other scripts see (its argv is then empty, and the engine plan leaves it out).
   */
  deleted?: ScriptSpec;
}

export interface VrrpInstanceConfig {
  name: string;
  pos: SourcePos;
  state?: VrrpState;
  statePos?: SourcePos;
  interface?: string;
  interfacePos?: SourcePos;
  vrid?: number;
  vridPos?: SourcePos;
  priority?: number;
  priorityPos?: SourcePos;
  advertIntervalUs?: number;
  advertIntPos?: SourcePos;
  version?: 2 | 3;
  versionPos?: SourcePos;
  family?: Family;
  nopreempt: boolean;
  nopreemptPos?: SourcePos;
  preemptDelayUs?: number;
  preemptDelayPos?: SourcePos;
  downTimerAdverts?: number;
  virtualIpaddresses: VipConfig[];
  virtualIpaddressesExcluded: VipConfig[];
  virtualRoutes: RouteConfig[];
  virtualRules: RuleConfig[];
  unicastSrcIp?: string;
  unicastPeers: UnicastPeer[];
  unicastPeerPos?: SourcePos;
  unicastTtl?: number;
  /** `kernel_rx_buf_size`: bytes this instance adds to its socket's receive buffer, whatever the policy (0: unset). */
  kernelRxBufSize?: number;
  mcastDstIp?: string;
  checkUnicastSrc?: boolean;
  /**
   * A unicast keyword was given (unicast_src_ip, unicast_peer, check_unicast_src, old_unicast_checksum,
   * unicast_fault_no_peer): without a peer keepalived 2.2.7 warns and uses multicast, or with
   * `unicastFaultNoPeer` holds the instance in FAULT (docs/keepalived-semantics.md, 'Unicast').
   */
  unicastConfigured?: boolean;
  unicastFaultNoPeer?: boolean;
  /**
   * old_unicast_checksum: VRRPv3 IPv4 unicast checksums as keepalived 1.3.6 and older computed them (over the
   * multicast group, not the peer): `config` always, `never` not even when a peer is seen using them.
   */
  oldUnicastChecksum?: 'config' | 'never';
  /**
   * track_src_ip: FAULT while the unicast_src_ip / mcast_src_ip address is missing from the interface; without
   * one of those it has no effect (docs/keepalived-semantics.md, 'Advert source address').
   */
  trackSrcIp?: boolean;
  useVmac?: { name?: string; mac?: string };
  useVmacPos?: SourcePos;
  vmacXmitBase: boolean;
  trackInterfaces: TrackRef[];
  trackScripts: TrackRef[];
  trackFiles: TrackRef[];
  trackProcesses: TrackRef[];
  trackBfds: TrackRef[];
  dontTrackPrimary: boolean;
  auth?: { type: 'PASS' | 'AH'; password?: string; pos: SourcePos };
  accept?: boolean;
  acceptPos?: SourcePos;
  strictMode?: boolean;
  skipCheckAdvAddr?: boolean;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  ownerIgnoreAdverts?: boolean;
  garpMasterDelayS?: number;
  garpMasterRepeat?: number;
  garpMasterRefreshS?: number;
  garpMasterRefreshRepeat?: number;
  garpLowerPrioDelayS?: number;
  garpLowerPrioRepeat?: number;
  /** garp_extra_if SECONDS (0..86400); unset: global_defs vrrp_garp_extra_if (with its `all`). */
  garpExtraIfS?: number;
  /** `all` seen on a garp_extra_if line (kept even when that line's time was invalid, as 2.2.7 does). */
  garpExtraIfAll?: boolean;
  notify: NotifyScripts;
  /** Unset: global_defs vrrp_notify_priority_changes decides (keepalived applies it when the instance is complete). */
  notifyPriorityChanges?: boolean;
  smtpAlert?: boolean;
  promoteSecondaries: boolean;
  v3ChecksumAsV2?: boolean;
  other: Record<string, string[]>;
}

export interface SyncGroup {
  name: string;
  pos: SourcePos;
  members: { name: string; pos: SourcePos }[];
  groupPos?: SourcePos;
  trackInterfaces: TrackRef[];
  trackScripts: TrackRef[];
  trackFiles: TrackRef[];
  trackProcesses: TrackRef[];
  trackBfds: TrackRef[];
  notify: NotifyScripts;
  /** Unset: its members keep their own or the global default; set: the default of members that set none. */
  notifyPriorityChanges?: boolean;
  smtpAlert?: boolean;
  syncGroupTrackingWeight: boolean;
}

export interface VrrpScript {
  name: string;
  pos: SourcePos;
  script?: ScriptSpec;
  intervalUs: number;
  timeoutUs?: number;
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  user?: { user: string; group?: string };
  initFail: boolean;
  /** Set when a parse error disqualifies the script (it is dropped at its closing brace). */
  invalid?: boolean;
}

export interface TrackFile {
  name: string;
  pos: SourcePos;
  file?: string;
  weight: number;
  reverse: boolean;
  initFile?: { value: number; overwrite: boolean };
}

export interface TrackProcess {
  name: string;
  pos: SourcePos;
  process?: string[];
  paramMatch?: 'initial' | 'partial';
  weight: number;
  reverse: boolean;
  quorum: number;
  quorumMax?: number;
  delayUs?: number;
  forkDelayUs?: number;
  terminateDelayUs?: number;
  fullCommand: boolean;
}

export type CheckerKind =
  | 'HTTP_GET'
  | 'SSL_GET'
  | 'TCP_CHECK'
  | 'MISC_CHECK'
  | 'SMTP_CHECK'
  | 'DNS_CHECK'
  | 'UDP_CHECK'
  | 'PING_CHECK'
  | 'FILE_CHECK'
  | 'BFD_CHECK';

export interface HttpUrl {
  path?: string;
  digest?: string;
  statusCodes: { from: number; to: number }[];
  virtualhost?: string;
  regex?: string;
  regexNoMatch: boolean;
  /** `regex_options`, `regex_min_offset`, `regex_max_offset`, `regex_stack`: their words, read when the regex is compiled. */
  regexOptions?: string[];
  regexMinOffset?: string[];
  regexMaxOffset?: string[];
  regexStack?: string[];
  /** SSL_GET: end each connection with a TLS close_notify (also settable on the checker). */
  tlsCompliant?: boolean;
  pos: SourcePos;
}

export interface Checker {
  kind: CheckerKind;
  pos: SourcePos;
  connectIp?: string;
  connectPort?: number;
  bindTo?: string;
  bindPort?: number;
  bindIf?: string;
  connectTimeoutUs?: number;
  fwmark?: number;
  retry?: number;
  delayBeforeRetryUs?: number;
  warmupUs?: number;
  delayLoopUs?: number;
  alpha?: boolean;
  logAllFailures?: boolean;
  // HTTP/SSL
  urls: HttpUrl[];
  httpProtocol?: string;
  virtualhost?: string;
  enableSni?: boolean;
  sniName?: string;
  fastRecovery?: boolean;
  /** SSL_GET: end each connection with a TLS close_notify (every url). */
  tlsCompliant?: boolean;
  // MISC
  miscPath?: ScriptSpec;
  miscTimeoutUs?: number;
  miscDynamic?: boolean;
  user?: { user: string; group?: string };
  // SMTP
  heloName?: string;
  // DNS
  dnsType?: string;
  dnsName?: string;
  // UDP
  payloadHex?: string;
  requireReplyHex?: string;
  requireReply?: boolean;
  minReplyLength?: number;
  maxReplyLength?: number;
  // FILE / BFD
  trackFile?: string;
  weight?: number;
  reverse?: boolean;
  dynamic?: boolean;
  name?: string;
  other: Record<string, string[]>;
}

/** IPVS's tunnel encapsulation of a TUN server (`lvs_method TUN type gue port 6080 csum`). */
export interface TunnelOptions {
  type: 'ipip' | 'gue' | 'gre';
  /** The GUE port (gue only; 0 otherwise). */
  port: number;
  csum: 'nocsum' | 'csum' | 'remcsum';
}

export interface RealServer {
  address: string;
  port?: number;
  pos: SourcePos;
  weight?: number;
  lvsMethod?: string;
  /** The tunnel options of its own `lvs_method` line, when they were valid. */
  tunnel?: TunnelOptions;
  inhibitOnFailure?: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  uthreshold?: number;
  lthreshold?: number;
  alpha?: boolean;
  retry?: number;
  delayBeforeRetryUs?: number;
  warmupUs?: number;
  connectTimeoutUs?: number;
  delayLoopUs?: number;
  smtpAlert?: boolean;
  virtualhost?: string;
  checkers: Checker[];
  other: Record<string, string[]>;
}

export type VirtualServerKey =
  | { kind: 'address'; address: string; family: Family; port?: number }
  | { kind: 'fwmark'; fwmark: number; family?: Family }
  | { kind: 'group'; group: string };

export interface VirtualServer {
  key: VirtualServerKey;
  pos: SourcePos;
  lbAlgo?: string;
  lbKind?: string;
  lbKindOptions: string[];
  /** The tunnel options of `lb_kind`/`lvs_method`, when they were valid (the default for its servers). */
  tunnel?: TunnelOptions;
  /**
   * Scheduler flags given as keywords of their own (`ops`, `hashed`, `flag-1`…`flag-3`, `sh-port`,
   * `sh-fallback`, `mh-port`, `mh-fallback`), in the order given; `lb_algo`'s own words are in lbKindOptions.
   */
  schedulerFlags: string[];
  /** `weight` on the virtual server: the weight of its real servers that set none (default 1). */
  weight?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  protocolPos?: SourcePos;
  persistenceTimeoutS?: number;
  persistenceGranularity?: string;
  persistenceEngine?: string;
  delayLoopUs?: number;
  connectTimeoutUs?: number;
  retry?: number;
  delayBeforeRetryUs?: number;
  warmupUs?: number;
  inhibitOnFailure?: boolean;
  alpha: boolean;
  omega: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  sorryServer?: { address: string; port?: number; pos: SourcePos };
  sorryServerInhibit: boolean;
  sorryServerLvsMethod?: string;
  /** The tunnel options of `sorry_server_lvs_method`, when they were valid. */
  sorryServerTunnel?: TunnelOptions;
  haSuspend: boolean;
  virtualhost?: string;
  /**
   * keepalived's family of a fwmark or group virtual server: `ip_family`, else settled by its servers while
   * parsing (always set for fwmark ones after parsing; docs/lvs.md, "The address family of a virtual server").
   */
  ipFamily?: Family;
  smtpAlert?: boolean;
  realServers: RealServer[];
  other: Record<string, string[]>;
}

export interface VirtualServerGroupEntry {
  kind: 'range' | 'fwmark';
  /** For ranges: first address, last address (same family), port. */
  first?: string;
  last?: string;
  port?: number;
  fwmark?: number;
  family?: Family;
  pos: SourcePos;
}

export interface VirtualServerGroup {
  name: string;
  pos: SourcePos;
  entries: VirtualServerGroupEntry[];
}

export interface GarpGroup {
  pos: SourcePos;
  garpIntervalUs?: number;
  gnaIntervalUs?: number;
  interfaces: string[];
}

/** A bfd_instance block (docs/bfd.md): one BFD session to a neighbour, with keepalived's defaults. */
export interface BfdInstance {
  name: string;
  pos: SourcePos;
  /** neighbor_ip / neighbour_ip (required: an instance without one is dropped at its end). */
  neighbor?: string;
  family?: Family;
  /** source_ip: the session's outgoing socket is bound to it. */
  source?: string;
  /** min_rx (ms with µs resolution in the file): Required Min RX Interval. Default 10 ms. */
  minRxUs: number;
  /** min_tx: Desired Min TX Interval while Up. Default 10 ms. */
  minTxUs: number;
  /** idle_tx: Desired Min TX Interval while not Up (at least 1 s). Default 1000 ms. */
  idleTxUs: number;
  /** multiplier: Detect Mult, 1..255. Default 5. */
  multiplier: number;
  /** passive: send nothing until the neighbour is heard. */
  passive: boolean;
  /** ttl / hoplimit sent; resolved at the block's end: 255 for IPv4, 64 for IPv6 unless given. */
  ttl: number;
  /** max_hops: how far below `ttl` a received TTL may be (255 = no check; -1 in the file means 255). */
  maxHops: number;
  /** multihop: RFC 5883 port 4784 instead of 3784. */
  multihop: boolean;
  /** weight [reverse]: the default of every track_bfd naming this instance. */
  weight: number;
  reverse: boolean;
  /** `vrrp` / `checker`: which processes hear the session's state (neither given: both). */
  toVrrp: boolean;
  toChecker: boolean;
}

export interface SslConfig {
  password?: string;
  ca?: string;
  certificate?: string;
  key?: string;
  pos: SourcePos;
}

export interface KeepalivedConfig {
  globalDefs: GlobalDefs;
  vrrpScripts: VrrpScript[];
  trackFiles: TrackFile[];
  trackProcesses: TrackProcess[];
  vrrpInstances: VrrpInstanceConfig[];
  syncGroups: SyncGroup[];
  garpGroups: GarpGroup[];
  staticIpaddresses: VipConfig[];
  staticRoutes: RouteConfig[];
  staticRules: RuleConfig[];
  virtualServers: VirtualServer[];
  virtualServerGroups: VirtualServerGroup[];
  bfdInstances: BfdInstance[];
  ssl?: SslConfig;
  /** Root-level single keywords (net_namespace, instance, use_pid_dir …). */
  root: Record<string, string[]>;
}

/** keepalived's default interface when default_interface names none (DFLT_INT). */
export const DEFAULT_INTERFACE = 'eth0';

/** keepalived's firewall table when `nftables` names none (and for vrrp_strict without `nftables`). */
export const NFT_DEFAULT_TABLE = 'keepalived';

export function defaultGlobalDefs(): GlobalDefs {
  return {
    notificationEmails: [],
    smtpConnectTimeoutS: 30,
    enableScriptSecurity: false,
    vrrpVersion: 2,
    vrrpMcastGroup4: VRRP_MCAST_GROUP4,
    vrrpMcastGroup6: VRRP_MCAST_GROUP6,
    vrrpGarpMasterDelayS: 5,
    vrrpGarpMasterRepeat: 5,
    vrrpGarpMasterRefreshS: 0,
    vrrpGarpMasterRefreshRepeat: 1,
    vrrpGarpIntervalUs: 0,
    vrrpGnaIntervalUs: 0,
    vrrpMinGarp: false,
    vrrpGarpExtraIfS: 0,
    vrrpGarpExtraIfAll: false,
    vrrpDownTimerAdverts: 3,
    vrrpLowerPrioNoAdvert: false,
    vrrpHigherPrioSendAdvert: false,
    vrrpCheckUnicastSrc: false,
    vrrpSkipCheckAdvAddr: false,
    vrrpStrict: false,
    v3ChecksumAsV2: false,
    vrrpOwnerIgnoreAdverts: false,
    vrrpStartupDelayS: 0,
    lvsFlush: false,
    lvsDataplane: 'auto',
    dynamicInterfaces: false,
    dynamicInterfacesAllowIfChanges: false,
    checkerLogAllFailures: false,
    rsInitNotifies: false,
    useSymlinkPaths: false,
    vrrpNotifyPriorityChanges: false,
    nftablesIfindex: false,
    nftablesCounters: false,
    logUnknownVrids: false,
    vrrpRxBufsMultiplier: 3,
    fifoWriteVrrpStatesOnReload: false,
    startupScriptTimeoutS: 10,
    shutdownScriptTimeoutS: 10,
    vrrpProcess: { noSwap: false },
    checkerProcess: { noSwap: false },
    bfdProcess: { noSwap: false },
    other: {},
  };
}

export function emptyConfig(): KeepalivedConfig {
  return {
    globalDefs: defaultGlobalDefs(),
    vrrpScripts: [],
    trackFiles: [],
    trackProcesses: [],
    vrrpInstances: [],
    syncGroups: [],
    garpGroups: [],
    staticIpaddresses: [],
    staticRoutes: [],
    staticRules: [],
    virtualServers: [],
    virtualServerGroups: [],
    bfdInstances: [],
    root: {},
  };
}
