// From the typed configuration to the flat, fully defaulted view the checker core runs on: every timing value
// inherited checker ← real_server ← virtual_server ← default (docs/checkers.md "Inheritance"), the names
// keepalived prints for servers ("[192.0.2.10]:tcp:80", "FWM 7", "[group]:0"), and the keys that match
// checkers across a reload and share one probe between virtual servers.

import { US_PER_S } from '../../common/units.js';
import type {
  Checker,
  CheckerKind,
  Family,
  KeepalivedConfig,
  RealServer,
  ScriptSpec,
  VirtualServer,
} from '../../config/model.js';
import type { ProbeTarget } from '../probe.js';

/** keepalived's delay_loop when none is set anywhere. */
export const DEFAULT_DELAY_LOOP_US = 60 * US_PER_S;
/** keepalived's connect_timeout when none is set anywhere. */
export const DEFAULT_CONNECT_TIMEOUT_US = 5 * US_PER_S;
/** keepalived waits this long after start before the first check (plus the random warmup). */
export const BOOTSTRAP_DELAY_US = 1 * US_PER_S;
/** The largest weight IPVS takes; weights are clamped to [0, this]. */
export const WEIGHT_LIMIT = 65535;

export interface ResolvedChecker {
  /** Position in its real server's checker list. */
  index: number;
  config: Checker;
  kind: CheckerKind;
  target: ProbeTarget;
  delayLoopUs: number;
  retry: number;
  delayBeforeRetryUs: number;
  /** The first check waits a random time in [0, warmupUs) after the bootstrap delay. */
  warmupUs: number;
  /** Handed to the probe: connect_timeout, or misc_timeout for MISC_CHECK. */
  timeoutUs: number;
  alpha: boolean;
  logAllFailures: boolean;
  /** Polled on a schedule; FILE_CHECK is polled and also takes pushed results, BFD_CHECK only pushed ones. */
  polled: boolean;
  /** What the checker does, without timing: matches a checker of the old configuration on reload. */
  matchKey: string;
  /** matchKey + timing + alpha + ha_suspend scope: checkers with equal keys share one probe. */
  shareKey: string;
}

export interface ResolvedRealServer {
  /** keepalived's name for it, e.g. "[192.0.2.10]:tcp:80"; unique within its virtual server. */
  id: string;
  address: string;
  port: number;
  family: Family;
  /** The configured weight (keepalived's iweight). */
  weight: number;
  inhibit: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  /** smtp_alert for this real server's events (docs/notify-mail.md: on by default, unlike the others). */
  smtpAlert: boolean;
  checkers: ResolvedChecker[];
}

export interface ResolvedVirtualServer {
  /** keepalived's name for it, e.g. "[192.0.2.100]:tcp:80", "FWM 7", "[web]:0"; unique in the config. */
  id: string;
  config: VirtualServer;
  quorum: number;
  hysteresis: number;
  omega: boolean;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  /** smtp_alert for quorum events (off by default). */
  smtpAlert: boolean;
  sorry?: { id: string; address: string; port: number; inhibit: boolean };
  /** With ha_suspend: the VRRP instances carrying the address; checks run only while one is MASTER. */
  suspendInstances: string[];
  /**
   * With ha_suspend on an address virtual server no VRRP instance carries: its address, whose presence on
   * the host decides (keepalived 2.2.7 runs such checkers only while the address is on an interface).
   */
  suspendAddress?: string;
  realServers: ResolvedRealServer[];
}

export interface ResolveOptions {
  /** Probe a real server once for all virtual servers that check it the same way (default true). */
  shareProbes: boolean;
}

export interface ResolvedConfig {
  virtualServers: ResolvedVirtualServer[];
  /** global_defs rs_init_notifies: notify real servers that start up. */
  rsInitNotifies: boolean;
  checkerLogAllFailures: boolean;
  /** global_defs no_checker_emails: mail a checker's change only when its real server's liveness changes. */
  noCheckerEmails: boolean;
}

function protoName(vs: VirtualServer): string {
  if (vs.key.kind === 'fwmark') return 'none';
  // keepalived reports a missing protocol as an error and uses UDP.
  return (vs.protocol ?? 'UDP').toLowerCase();
}

// Names and keys are built with join(), not template literals: a template makes a rope of concatenated
// pieces that V8 keeps unflattened for as long as the string lives (names and keys live as long as their
// real server; docs/decisions/checker-scale.md), join() makes one flat string.
export function trio(address: string, proto: string, port: number): string {
  return ['[', address, ']:', proto, ':', port].join('');
}

function retryDefault(kind: CheckerKind): number {
  if (kind === 'MISC_CHECK' || kind === 'FILE_CHECK' || kind === 'BFD_CHECK') return 0;
  if (kind === 'DNS_CHECK') return 3;
  return 1;
}

function delayBeforeRetryDefault(kind: CheckerKind, delayLoopUs: number): number {
  if (kind === 'HTTP_GET' || kind === 'SSL_GET') return 3 * US_PER_S;
  if (kind === 'DNS_CHECK') return delayLoopUs;
  return US_PER_S;
}

/** The checker's own parameters as a stable string (source positions left out). */
function checkerParams(c: Checker): string {
  return JSON.stringify(c, (k, v) => (k === 'pos' ? undefined : v));
}

function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/** Names every virtual server the way keepalived prints it; duplicates get "#n" so ids stay unique. */
export function vsIds(cfg: KeepalivedConfig): string[] {
  const seen = new Map<string, number>();
  const groupIndex = new Map<string, number>();
  return cfg.virtualServers.map((vs) => {
    let id: string;
    if (vs.key.kind === 'address') id = trio(vs.key.address, protoName(vs), vs.key.port ?? 0);
    else if (vs.key.kind === 'fwmark') id = `FWM ${vs.key.fwmark}`;
    else {
      const n = groupIndex.get(vs.key.group) ?? 0;
      groupIndex.set(vs.key.group, n + 1);
      id = `[${vs.key.group}]:${n}`;
    }
    const dup = seen.get(id) ?? 0;
    seen.set(id, dup + 1);
    return dup === 0 ? id : `${id}#${dup + 1}`;
  });
}

export function resolveConfig(cfg: KeepalivedConfig, opts: ResolveOptions): ResolvedConfig {
  const ids = vsIds(cfg);
  const checkerLogAllFailures = cfg.globalDefs.checkerLogAllFailures;
  const vips = new Map<string, string[]>();
  for (const inst of cfg.vrrpInstances) {
    for (const a of [...inst.virtualIpaddresses, ...inst.virtualIpaddressesExcluded]) {
      const list = vips.get(a.address) ?? [];
      if (!list.includes(inst.name)) list.push(inst.name);
      vips.set(a.address, list);
    }
  }
  const g = cfg.globalDefs;
  // No recipient or no server: keepalived sends nothing, so no alert is even composed.
  const mail = g.notificationEmails.length > 0 && g.smtpServer !== undefined;
  const smtp = { mail, dflt: g.smtpAlertChecker ?? g.smtpAlert };
  const virtualServers = cfg.virtualServers.map((vs, i) =>
    resolveVs(vs, ids[i]!, vips, checkerLogAllFailures, opts, smtp),
  );
  return {
    virtualServers,
    rsInitNotifies: cfg.globalDefs.rsInitNotifies,
    checkerLogAllFailures,
    noCheckerEmails: g.noCheckerEmails === true,
  };
}

function resolveVs(
  vs: VirtualServer,
  id: string,
  vips: Map<string, string[]>,
  logAll: boolean,
  opts: ResolveOptions,
  smtp: { mail: boolean; dflt: boolean | undefined },
): ResolvedVirtualServer {
  const proto = protoName(vs);
  const vsPort = vs.key.kind === 'address' ? (vs.key.port ?? 0) : 0;
  const vsWeight = vs.weight ?? 1;
  const suspendInstances =
    vs.haSuspend && vs.key.kind === 'address' ? [...(vips.get(vs.key.address) ?? [])].sort() : [];
  const portFor = (port: number | undefined, method: string | undefined): number => {
    const nat = (method ?? vs.lbKind ?? 'NAT') === 'NAT';
    // a port of 0 is none (keepalived 2.2.7); a NAT real server without one takes the service's
    if (vs.key.kind === 'address') return nat && port ? port : vsPort;
    return nat ? (port ?? 0) : 0;
  };
  const seen = new Set<string>();
  const realServers: ResolvedRealServer[] = [];
  for (const rs of vs.realServers) {
    const port = portFor(rs.port, rs.lvsMethod);
    const rid = trio(rs.address, proto, port);
    // keepalived drops a duplicated real server (the second one).
    if (seen.has(rid)) continue;
    seen.add(rid);
    realServers.push({
      id: rid,
      address: rs.address,
      port,
      family: familyOf(rs.address),
      weight: rs.weight ?? vsWeight,
      inhibit: rs.inhibitOnFailure ?? vs.inhibitOnFailure ?? false,
      ...(rs.notifyUp ? { notifyUp: rs.notifyUp } : {}),
      ...(rs.notifyDown ? { notifyDown: rs.notifyDown } : {}),
      smtpAlert: smtp.mail && (rs.smtpAlert ?? smtp.dflt ?? true),
      checkers: rs.checkers.map((c, i) =>
        resolveChecker(c, i, rs, vs, rs.address, port, logAll, [id, rid].join('|'), suspendInstances, opts),
      ),
    });
  }
  const ss = vs.sorryServer;
  const sorry = ss
    ? (() => {
        // a NAT sorry server keeps its own port, 0 without one (keepalived's fix-up is for routed ones)
        const nat = (vs.sorryServerLvsMethod ?? vs.lbKind ?? 'NAT') === 'NAT';
        const p = nat ? (ss.port ?? 0) : portFor(ss.port, vs.sorryServerLvsMethod);
        return {
          id: trio(ss.address, proto, p),
          address: ss.address,
          port: p,
          inhibit: vs.sorryServerInhibit,
        };
      })()
    : undefined;
  return {
    id,
    config: vs,
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    omega: vs.omega,
    ...(vs.quorumUp ? { quorumUp: vs.quorumUp } : {}),
    ...(vs.quorumDown ? { quorumDown: vs.quorumDown } : {}),
    smtpAlert: smtp.mail && (vs.smtpAlert ?? smtp.dflt ?? false),
    ...(sorry ? { sorry } : {}),
    suspendInstances,
    ...(vs.haSuspend && vs.key.kind === 'address' && suspendInstances.length === 0
      ? { suspendAddress: vs.key.address }
      : {}),
    realServers,
  };
}

function resolveChecker(
  c: Checker,
  index: number,
  rs: RealServer,
  vs: VirtualServer,
  address: string,
  port: number,
  logAll: boolean,
  ownerId: string,
  suspendInstances: string[],
  opts: ResolveOptions,
): ResolvedChecker {
  const kind = c.kind;
  const delayLoopUs = c.delayLoopUs ?? rs.delayLoopUs ?? vs.delayLoopUs ?? DEFAULT_DELAY_LOOP_US;
  const pushed = kind === 'FILE_CHECK' || kind === 'BFD_CHECK';
  const retry = pushed ? 0 : (c.retry ?? rs.retry ?? vs.retry ?? retryDefault(kind));
  const delayBeforeRetryUs =
    c.delayBeforeRetryUs ??
    rs.delayBeforeRetryUs ??
    vs.delayBeforeRetryUs ??
    delayBeforeRetryDefault(kind, delayLoopUs);
  const warmupUs = pushed ? 0 : (c.warmupUs ?? rs.warmupUs ?? vs.warmupUs ?? delayLoopUs);
  const timeoutUs =
    kind === 'MISC_CHECK'
      ? (c.miscTimeoutUs ?? vs.delayLoopUs ?? DEFAULT_DELAY_LOOP_US)
      : (c.connectTimeoutUs ?? rs.connectTimeoutUs ?? vs.connectTimeoutUs ?? DEFAULT_CONNECT_TIMEOUT_US);
  // FILE_CHECK knows its state at once: keepalived clears alpha for it.
  const alpha = pushed && kind === 'FILE_CHECK' ? false : (c.alpha ?? rs.alpha ?? vs.alpha);
  const targetAddress = c.connectIp ?? address;
  const target: ProbeTarget = {
    address: targetAddress,
    port: c.connectPort ?? port,
    family: familyOf(targetAddress),
    ...(c.bindTo !== undefined ? { bindTo: c.bindTo } : {}),
    ...(c.bindPort !== undefined ? { bindPort: c.bindPort } : {}),
    ...(c.bindIf !== undefined ? { bindIf: c.bindIf } : {}),
    ...(c.fwmark !== undefined ? { fwmark: c.fwmark } : {}),
  };
  // The real server's virtualhost reaches HTTP checks that have none of their own.
  const vhost = c.virtualhost ?? rs.virtualhost ?? vs.virtualhost;
  const matchKey = [kind, JSON.stringify(target), timeoutUs, vhost ?? '', checkerParams(c)].join('|');
  const timing = [delayLoopUs, retry, delayBeforeRetryUs, warmupUs, alpha].join('|');
  const scope = opts.shareProbes ? suspendInstances.join(',') : [ownerId, index].join('|');
  return {
    index,
    config: vhost !== undefined && c.virtualhost === undefined ? { ...c, virtualhost: vhost } : c,
    kind,
    target,
    delayLoopUs,
    retry,
    delayBeforeRetryUs,
    warmupUs,
    timeoutUs,
    alpha,
    logAllFailures: c.logAllFailures ?? logAll,
    polled: kind !== 'BFD_CHECK',
    matchKey,
    shareKey: [matchKey, timing, scope].join('|'),
  };
}
