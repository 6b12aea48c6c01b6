// From the typed configuration plus the checkers' verdicts to the data plane's desired state (pure).
// The checker side reports, per virtual server, its live real servers with their current weights
// (inhibited ones at weight 0) and whether the sorry server is active; everything else comes from the
// configuration, with keepalived's defaults (scheduler wlc, forwarding NAT, weight 1).
import { isIPv4 } from 'node:net';
import type { Family, KeepalivedConfig, VirtualServer } from '../config/model.js';
import { fwmarkFamily } from '../config/vs-family.js';
import { ipv4FromNumber, ipv4Netmask, ipv4ToNumber } from '../net/inet.js';
import {
  type AddrFamily,
  type DataplaneError,
  type DataplaneState,
  type ForwardMethod,
  type L4Proto,
  type RealServerSpec,
  SCHEDULERS,
  type Scheduler,
  type ServiceMatch,
  type ServiceSpec,
  validateState,
} from './dataplane.js';

/** What the checker core says about one virtual server. */
export interface LiveVs {
  /** The real servers to keep in the pool (weight 0 = inhibited). Servers absent here are removed. */
  reals: { address: string; port: number; weight: number }[];
  sorryActive: boolean;
}

/** Checker verdicts by virtual-server name (vsName). A virtual server absent here has all servers up. */
export type LiveState = ReadonlyMap<string, LiveVs>;

/** Largest number of addresses a virtual_server_group range may expand to. */
export const MAX_RANGE = 256;

/**
 * keepalived's name for a virtual server: `addr:port` (`[addr]:port` for IPv6), `FWM n`, or the group name,
 * with the protocol — but for a fwmark virtual server, whose protocol keepalived ignores (adding or removing
 * the keyword must not make it another service; docs/lvs.md, "fwmark services and protocols"), the address
 * family keepalived gives it (its servers' when not given; docs/lvs.md, "The address family").
 */
export function vsName(vs: VirtualServer): string {
  const p = (vs.protocol ?? 'UDP').toLowerCase();
  const k = vs.key;
  if (k.kind === 'address') return `${k.family === 6 ? `[${k.address}]` : k.address}:${k.port ?? 0}/${p}`;
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}/v${fwmarkFamily(vs)}`;
  return `group ${k.group}/${p}`;
}

function method(v: string | undefined): ForwardMethod {
  return v === 'DR' || v === 'TUN' ? v : 'NAT';
}

/**
 * The client key of persistence_granularity: a prefix length, or for IPv4 a netmask whose ones are not
 * contiguous (keepalived 2.2.7 takes any: `24` is 0.0.0.24), kept as the mask; undefined when unreadable.
 */
function granularityKey(
  g: string | undefined,
  fam: AddrFamily,
): { prefixLen: number; mask?: number } | undefined {
  if (g === undefined) return { prefixLen: fam === 4 ? 32 : 128 };
  if (fam === 6) {
    const n = Number(g);
    return Number.isInteger(n) && n >= 1 && n <= 128 ? { prefixLen: n } : undefined;
  }
  if (!isIPv4(g)) return undefined;
  const v = ipv4ToNumber(g);
  let len = 0;
  while (len < 32 && v & (2 ** (31 - len))) len++;
  return ipv4Netmask(len) === v ? { prefixLen: len } : { prefixLen: 32, mask: v };
}

/** `vsFamily`: the virtual server's settled family, which a group's fwmark entries without one take. */
function groupMatches(
  cfg: KeepalivedConfig,
  name: string,
  vsFamily: Family | undefined,
  errs: DataplaneError[],
): { matches: ServiceMatch[]; family: AddrFamily } {
  const g = cfg.virtualServerGroups.find((x) => x.name === name);
  if (!g) {
    errs.push({ code: 'LVS_NO_MATCH', message: `virtual_server_group ${name} is not defined` });
    return { matches: [], family: 4 };
  }
  const matches: ServiceMatch[] = [];
  let family: AddrFamily = vsFamily ?? 4;
  for (const e of g.entries) {
    if (e.family) family = e.family;
    if (e.kind === 'fwmark' && e.fwmark !== undefined) matches.push({ kind: 'fwmark', fwmark: e.fwmark });
    else if (e.kind === 'range' && e.first) {
      const last = e.last ?? e.first;
      if (isIPv4(e.first) && isIPv4(last)) {
        const a = ipv4ToNumber(e.first);
        const b = ipv4ToNumber(last);
        if (b < a || b - a >= MAX_RANGE) {
          errs.push({
            code: 'LVS_UNSUPPORTED',
            message: `group ${name}: range ${e.first}-${last} too large`,
          });
          continue;
        }
        for (let i = a; i <= b; i++)
          matches.push({ kind: 'addr', address: ipv4FromNumber(i), port: e.port ?? 0 });
      } else if (e.first === last) {
        family = 6;
        matches.push({ kind: 'addr', address: e.first, port: e.port ?? 0 });
      } else
        errs.push({ code: 'LVS_UNSUPPORTED', message: `group ${name}: IPv6 ranges are not yet supported` });
    }
  }
  return { matches, family };
}

/**
 * A real server's port as keepalived (and the checker core) sets it: a NAT server keeps its own port (the
 * virtual server's when it has none; 0 under a fwmark); DR and TUN servers cannot change the port, so they
 * take the virtual server's (0 under a fwmark: keepalived clears it, "has port specified - clearing").
 */
function realPort(vs: VirtualServer, port: number | undefined, m: string | undefined, vport: number): number {
  const nat = (m ?? vs.lbKind ?? 'NAT') === 'NAT';
  // keepalived 2.2.7 reads a port of 0 as none, and gives a NAT real server without one the service's port
  if (vs.key.kind === 'address') return nat && port ? port : vport;
  return nat ? (port ?? 0) : 0;
}

/**
 * The sorry server's port: as a real server's, but for a NAT one without a port, which keepalived 2.2.7
 * leaves at 0 under an address virtual server too (its port fix-up covers only a routed sorry server);
 * IPVS then uses the packet's own port, so only the listing shows it (`192.0.2.99:0 Masq`).
 */
function sorryPort(
  vs: VirtualServer,
  port: number | undefined,
  m: string | undefined,
  vport: number,
): number {
  const nat = (m ?? vs.lbKind ?? 'NAT') === 'NAT';
  if (nat) return port ?? 0;
  return realPort(vs, port, m, vport);
}

/**
 * The desired data-plane state for every virtual server of `cfg`, given the checkers' verdicts.
 * Virtual servers that cannot be expressed are left out and reported in `errors`.
 */
export function desiredFromConfig(
  cfg: KeepalivedConfig,
  live: LiveState,
): { state: DataplaneState; errors: DataplaneError[] } {
  const errors: DataplaneError[] = [];
  const services: ServiceSpec[] = [];
  for (const vs of cfg.virtualServers) {
    const r = serviceFromConfig(cfg, vs, live.get(vsName(vs)));
    if (r.ok) services.push(r.spec);
    else errors.push(...r.errors);
  }
  return { state: { services }, errors };
}

/**
 * One virtual server's service given its verdict (undefined = every real server up): what
 * desiredFromConfig does for each, and what a verdict touching one virtual server needs alone.
 */
export function serviceFromConfig(
  cfg: KeepalivedConfig,
  vs: VirtualServer,
  verdict: LiveVs | undefined,
): { ok: true; spec: ServiceSpec } | { ok: false; errors: DataplaneError[] } {
  const errs: DataplaneError[] = [];
  const name = vsName(vs);
  let protocol = (vs.protocol ?? 'UDP').toLowerCase() as L4Proto;
  let family: AddrFamily;
  let matches: ServiceMatch[];
  let vport = 0;
  const k = vs.key;
  if (k.kind === 'address') {
    family = k.family;
    vport = k.port ?? 0;
    matches = [{ kind: 'addr', address: k.address, port: vport }];
  } else if (k.kind === 'fwmark') {
    family = fwmarkFamily(vs);
    matches = [{ kind: 'fwmark', fwmark: k.fwmark }];
  } else ({ matches, family } = groupMatches(cfg, k.group, vs.ipFamily, errs));
  // Matched by fwmark alone: keepalived ignores the protocol (service type 0) and IPVS stores TCP for such
  // a service; a fixed value keeps a reload that adds or removes the keyword from re-creating the service.
  if (matches.length > 0 && matches.every((m) => m.kind === 'fwmark')) protocol = 'tcp';
  const algo = vs.lbAlgo ?? 'wlc';
  if (!(SCHEDULERS as readonly string[]).includes(algo))
    errs.push({ code: 'LVS_UNSUPPORTED', message: `${name}: scheduler ${algo} is not supported` });
  const has = (...keys: string[]) => keys.some((x) => vs.schedulerFlags.includes(x));
  const vsMethod = method(vs.lbKind);
  const reals: RealServerSpec[] = [];
  for (const rs of vs.realServers) {
    const port = realPort(vs, rs.port, rs.lvsMethod, vport);
    let weight = rs.weight ?? vs.weight ?? 1;
    if (verdict) {
      const v = verdict.reals.find((r) => r.address === rs.address && r.port === port);
      if (!v) continue;
      weight = v.weight;
    }
    // IPVS refuses a destination whose lower threshold is above its upper one (ERANGE; 0 = no limit, so any
    // lthreshold without an uthreshold): keepalived 2.2.7 logs the refusal and the server never enters the
    // table, though its checker runs and counts towards quorum. Left out here as well, on both back ends.
    const u = rs.uthreshold ?? 0;
    const l = rs.lthreshold ?? 0;
    if (l > u) continue;
    const spec: RealServerSpec = {
      address: rs.address,
      port,
      weight,
      method: method(rs.lvsMethod ?? vs.lbKind),
    };
    // the real server's own options, or the virtual server's as they were at its real_server line (parser)
    const tunnel = rs.tunnel;
    if (spec.method === 'TUN' && tunnel && (tunnel.type !== 'ipip' || tunnel.csum !== 'nocsum'))
      spec.tunnel = { ...tunnel };
    if (u) spec.uThreshold = u;
    if (l) spec.lThreshold = l;
    reals.push(spec);
  }
  const spec: ServiceSpec = {
    name,
    family,
    protocol,
    matches,
    scheduler: algo as Scheduler,
    flags: {
      hashPort: has('sh-port', 'mh-port', 'flag-2'),
      fallback: has('sh-fallback', 'mh-fallback', 'flag-1'),
      onePacket: has('ops'),
    },
    reals,
    sorryActive: verdict?.sorryActive ?? false,
    method: vsMethod,
  };
  if (vs.persistenceTimeoutS !== undefined) {
    // keepalived 2.2.7 (and every release since) programs each member of a virtual_server_group with the
    // full netmask: it resets the member's mask with its family (ipvs_group_cmd), so a group's
    // persistence_granularity never reaches IPVS — though it still makes the group persistent. Kept so
    // (docs/lvs.md, "Generated configurations beside keepalived 2.2.7"); -t says so on a note.
    const key = granularityKey(k.kind === 'group' ? undefined : vs.persistenceGranularity, family);
    // The parser has refused a granularity that does not fit the family, as keepalived does.
    if (key === undefined)
      errs.push({
        code: 'LVS_BAD_PERSISTENCE',
        message: `${name}: persistence_granularity ${vs.persistenceGranularity} is not a netmask of its family`,
      });
    else
      spec.persistence = {
        timeoutS: vs.persistenceTimeoutS,
        ...key,
        // keepalived 2.2.7 sends the engine with a persistent service only (ipvs_set_srule)
        ...(vs.persistenceEngine ? { engine: vs.persistenceEngine } : {}),
      };
  }
  if (vs.sorryServer)
    spec.sorry = {
      address: vs.sorryServer.address,
      port: sorryPort(vs, vs.sorryServer.port, vs.sorryServerLvsMethod, vport),
      weight: 1,
      method: method(vs.sorryServerLvsMethod ?? vsMethod),
      ...(vs.sorryServerInhibit ? { inhibit: true } : {}),
    };
  if (spec.sorry?.method === 'TUN') {
    const t = vs.sorryServerTunnel ?? vs.tunnel;
    if (t && (t.type !== 'ipip' || t.csum !== 'nocsum')) spec.sorry.tunnel = { ...t };
  }
  // a service the data plane would refuse is left out alone, not with every other one
  if (errs.length === 0) errs.push(...validateState({ services: [spec] }));
  return errs.length > 0 ? { ok: false, errors: errs } : { ok: true, spec };
}
