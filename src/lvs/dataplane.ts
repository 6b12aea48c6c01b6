// The LVS data-plane interface: a pure, typed description of what the kernel should do with virtual
// services (desired state), and a pure planner that turns "committed state + desired state" into the
// smallest list of changes. Back ends (nftables, IPVS) consume the state or the plan; nothing here does
// I/O. The checker core decides which real servers are live and whether the sorry server is active;
// this module only describes the result. See docs/lvs.md.
import { isIP } from 'node:net';
import { ipv4Netmask } from '../net/inet.js';

export type L4Proto = 'tcp' | 'udp' | 'sctp';
export type AddrFamily = 4 | 6;
export type ForwardMethod = 'NAT' | 'DR' | 'TUN';

export const SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'fo',
  'ovf',
  'mh',
  'twos',
] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

/** How packets are recognised as belonging to a service: by destination address and port, or by fwmark. */
export type ServiceMatch =
  | { kind: 'addr'; address: string; port: number }
  | { kind: 'fwmark'; fwmark: number };

/**
 * The protocols IPVS forwards for a service matched by fwmark: a fwmark service has no protocol of its own
 * (keepalived ignores a configured one, with a warning) and IPVS schedules every TCP, UDP and SCTP packet
 * carrying the mark (docs/lvs.md, "fwmark services and protocols").
 */
export const FWMARK_PROTOCOLS: readonly L4Proto[] = ['tcp', 'udp', 'sctp'];

/**
 * True when packets reach the service by fwmark (a fwmark virtual server, or a group with a fwmark
 * member): its chain then serves every protocol of FWMARK_PROTOCOLS, not only `protocol`.
 */
export function anyProtocol(s: Pick<ServiceSpec, 'matches'>): boolean {
  return s.matches.some((m) => m.kind === 'fwmark');
}

/** The protocols a service's packets can carry (FWMARK_PROTOCOLS when matched by fwmark). */
export function protocolsOf(s: Pick<ServiceSpec, 'matches' | 'protocol'>): readonly L4Proto[] {
  return anyProtocol(s) ? FWMARK_PROTOCOLS : [s.protocol];
}

/** IPVS service flags keepalived exposes (sh-port/mh-port = hashPort, sh-/mh-fallback = fallback, ops). */
export interface SchedFlags {
  hashPort: boolean;
  fallback: boolean;
  onePacket: boolean;
}

export interface Persistence {
  timeoutS: number;
  /** Client address prefix length that shares a template (32 / 128 = one client address). */
  prefixLen: number;
  /**
   * IPv4 only: the netmask (a 32-bit number) when its ones are not contiguous — keepalived 2.2.7 takes any
   * (`persistence_granularity 24` is 0.0.0.24) and IPVS applies it as is; `prefixLen` is then 32 and unused.
   */
  mask?: number;
  /**
   * `persistence_engine` (IPVS's `sip`): sent as the service's persistence engine on IPVS; the nftables back
   * end has none and ignores it.
   */
  engine?: string;
}

/** The IPv4 netmask a persistence applies to the client address (docs/lvs.md, Persistence). */
export function persistenceMask4(p: Persistence): number {
  return p.mask ?? ipv4Netmask(p.prefixLen);
}

export interface RealServerSpec {
  address: string;
  port: number;
  /** 0 = inhibited (quiescent): listed, gets no new connections, existing ones continue. */
  weight: number;
  method: ForwardMethod;
  /**
   * IPVS's connection limits (real_server `uthreshold`/`lthreshold`; absent = 0, no limit). The IPVS back
   * end programs them; the nftables back end has no per-server connection limit and ignores them.
   */
  uThreshold?: number;
  lThreshold?: number;
  /** A TUN server's encapsulation (IPVS's tunnel type, GUE port, checksum flag); absent = ipip. */
  tunnel?: { type: 'ipip' | 'gue' | 'gre'; port: number; csum: 'nocsum' | 'csum' | 'remcsum' };
  /**
   * The sorry server only (`sorry_server_inhibit`): listed at weight 0 while the pool serves, as keepalived
   * programs it, instead of absent.
   */
  inhibit?: boolean;
}

export interface ServiceSpec {
  /** Unique, stable name (e.g. "198.51.100.100:80/tcp", "fwmark:42", "group:web"). */
  name: string;
  family: AddrFamily;
  /**
   * The protocol of the address matches (and of the name). A service matched by fwmark forwards every
   * protocol of FWMARK_PROTOCOLS whatever this says (protocolsOf).
   */
  protocol: L4Proto;
  /** One entry for a plain virtual_server, several for a virtual_server_group. */
  matches: ServiceMatch[];
  scheduler: Scheduler;
  flags: SchedFlags;
  persistence?: Persistence;
  reals: RealServerSpec[];
  sorry?: RealServerSpec;
  /** True: the sorry server replaces the pool (quorum lost). */
  sorryActive: boolean;
  /**
   * The virtual server's forwarding method (lb_kind): what the service is while it has no server at all
   * (every real server removed), so that it stays where its method puts it (a DR service in the DR tables).
   * Servers carry their own; absent = NAT.
   */
  method?: ForwardMethod;
}

export interface DataplaneState {
  services: ServiceSpec[];
}

export const EMPTY_STATE: DataplaneState = { services: [] };

// ---------------------------------------------------------------------------------------------------
// Keys and canonical form

export function matchKey(m: ServiceMatch): string {
  return m.kind === 'fwmark' ? `fwmark:${m.fwmark}` : `${m.address}|${m.port}`;
}

export function realKey(r: { address: string; port: number }): string {
  return `${r.address}|${r.port}`;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical form: services by name, matches and real servers by key. Order carries no meaning. */
export function canonical(state: DataplaneState): DataplaneState {
  return {
    services: [...state.services].map(canonicalService).sort((a, b) => cmp(a.name, b.name)),
  };
}

function canonicalService(s: ServiceSpec): ServiceSpec {
  const out: ServiceSpec = {
    name: s.name,
    family: s.family,
    protocol: s.protocol,
    matches: [...s.matches].sort((a, b) => cmp(matchKey(a), matchKey(b))).map((m) => ({ ...m })),
    scheduler: s.scheduler,
    flags: { ...s.flags },
    reals: [...s.reals].sort((a, b) => cmp(realKey(a), realKey(b))).map((r) => ({ ...r })),
    sorryActive: s.sorryActive,
  };
  if (s.persistence) out.persistence = { ...s.persistence };
  if (s.sorry) out.sorry = { ...s.sorry };
  if (s.method) out.method = s.method;
  return out;
}

/** The servers that take new connections, in canonical order, with their weights (> 0). */
export function activePool(s: ServiceSpec): RealServerSpec[] {
  if (s.sorryActive)
    return s.sorry && s.sorry.weight > 0 ? [s.sorry] : s.sorry ? [{ ...s.sorry, weight: 1 }] : [];
  return [...s.reals].filter((r) => r.weight > 0).sort((a, b) => cmp(realKey(a), realKey(b)));
}

/**
 * The servers an `ipvsadm -L` listing shows, as keepalived 2.2.7 programs them: while the sorry server is
 * active, it and the real servers still in the pool — the inhibit_on_failure ones, at weight 0 (keepalived's
 * quorum loss removes a live server through the same call as a failure, so an inhibited one stays at weight
 * 0); otherwise every real server, and a sorry server with sorry_server_inhibit at weight 0. A sorry server
 * that is also a real server is listed once.
 */
export function listedServers(s: ServiceSpec): RealServerSpec[] {
  const out = new Map<string, RealServerSpec>();
  for (const r of s.reals) out.set(realKey(r), s.sorryActive && s.sorry ? { ...r, weight: 0 } : r);
  if (s.sorry && s.sorryActive) out.set(realKey(s.sorry), s.sorry);
  else if (s.sorry?.inhibit && !out.has(realKey(s.sorry)))
    out.set(realKey(s.sorry), { ...s.sorry, weight: 0 });
  return [...out.values()].sort((a, b) => cmp(realKey(a), realKey(b)));
}

/**
 * The port of a server in the IPVS service of one match, as keepalived 2.2.7 programs it: a NAT server keeps
 * its own; a DR or TUN server, whose packets are not rewritten, takes the match's port — each address entry
 * of a virtual_server_group its own, a fwmark 0.
 */
export function memberPort(m: ServiceMatch, r: RealServerSpec): number {
  if (r.method === 'NAT') return r.port;
  return m.kind === 'fwmark' ? 0 : m.port;
}

// ---------------------------------------------------------------------------------------------------
// Validation

export type DataplaneErrorCode =
  | 'LVS_DUPLICATE_SERVICE'
  | 'LVS_DUPLICATE_MATCH'
  | 'LVS_DUPLICATE_REAL'
  | 'LVS_BAD_ADDRESS'
  | 'LVS_BAD_PORT'
  | 'LVS_BAD_WEIGHT'
  | 'LVS_BAD_PERSISTENCE'
  | 'LVS_NO_MATCH'
  | 'LVS_UNSUPPORTED'
  | 'LVS_KERNEL';

export interface DataplaneError {
  code: DataplaneErrorCode;
  message: string;
}

/** Largest weight IPVS accepts (keepalived's IPVS_WEIGHT_MAX is INT32_MAX). */
export const WEIGHT_MAX = 2147483647;

function checkEndpoint(
  fam: AddrFamily,
  r: { address: string; port: number; method?: ForwardMethod },
  what: string,
): DataplaneError[] {
  const e: DataplaneError[] = [];
  // a tunnelled server may be of the other family (IPVS's destination address family; keepalived 2.2.7
  // keeps such a server under a virtual server of the other family)
  const own = isIP(r.address);
  const ok = r.method === 'TUN' ? own === 4 || own === 6 : own === fam;
  if (!ok) e.push({ code: 'LVS_BAD_ADDRESS', message: `${what}: ${r.address} is not IPv${fam}` });
  if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)
    e.push({ code: 'LVS_BAD_PORT', message: `${what}: bad port ${r.port}` });
  return e;
}

/** Every reason the state cannot be programmed as given (empty = valid). */
export function validateState(state: DataplaneState): DataplaneError[] {
  const errs: DataplaneError[] = [];
  const names = new Set<string>();
  const matches = new Map<string, string>();
  for (const s of state.services) {
    if (names.has(s.name)) errs.push({ code: 'LVS_DUPLICATE_SERVICE', message: `service ${s.name} twice` });
    names.add(s.name);
    if (s.matches.length === 0)
      errs.push({ code: 'LVS_NO_MATCH', message: `service ${s.name} matches nothing` });
    for (const m of s.matches) {
      if (m.kind === 'addr') errs.push(...checkEndpoint(s.family, m, `service ${s.name}`));
      else if (!Number.isInteger(m.fwmark) || m.fwmark < 1 || m.fwmark > 0xffffffff)
        errs.push({ code: 'LVS_BAD_PORT', message: `service ${s.name}: bad fwmark ${m.fwmark}` });
      // fwmarks are per family; addresses per protocol.
      const k = m.kind === 'fwmark' ? `${s.family}|${matchKey(m)}` : `${s.protocol}|${matchKey(m)}`;
      const other = matches.get(k);
      if (other !== undefined)
        errs.push({ code: 'LVS_DUPLICATE_MATCH', message: `${matchKey(m)} in ${other} and ${s.name}` });
      matches.set(k, s.name);
    }
    const reals = new Set<string>();
    for (const r of s.reals) {
      errs.push(...checkEndpoint(s.family, r, `service ${s.name} real server`));
      if (reals.has(realKey(r)))
        errs.push({ code: 'LVS_DUPLICATE_REAL', message: `service ${s.name}: ${realKey(r)} twice` });
      reals.add(realKey(r));
      if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > WEIGHT_MAX)
        errs.push({ code: 'LVS_BAD_WEIGHT', message: `service ${s.name}: weight ${r.weight}` });
    }
    if (s.sorry) errs.push(...checkEndpoint(s.family, s.sorry, `service ${s.name} sorry server`));
    const p = s.persistence;
    const badMask =
      p?.mask !== undefined &&
      (s.family !== 4 || !Number.isInteger(p.mask) || p.mask < 0 || p.mask > 0xffffffff);
    if (p && (!(p.timeoutS >= 1) || p.prefixLen < 0 || p.prefixLen > (s.family === 4 ? 32 : 128) || badMask))
      errs.push({ code: 'LVS_BAD_PERSISTENCE', message: `service ${s.name}: bad persistence` });
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------
// Plans

export interface ServiceAttrs {
  scheduler: Scheduler;
  flags: SchedFlags;
  persistence?: Persistence;
  method?: ForwardMethod;
}

export type Change =
  | { op: 'add-service'; service: ServiceSpec }
  | { op: 'del-service'; name: string }
  | { op: 'set-service'; name: string; attrs: ServiceAttrs }
  | { op: 'add-match'; name: string; match: ServiceMatch }
  | { op: 'del-match'; name: string; match: ServiceMatch }
  | { op: 'add-real'; name: string; real: RealServerSpec }
  | { op: 'set-real'; name: string; real: RealServerSpec }
  | { op: 'del-real'; name: string; address: string; port: number }
  | { op: 'set-sorry'; name: string; sorry?: RealServerSpec; active: boolean };

function sameFlags(a: SchedFlags, b: SchedFlags): boolean {
  return a.hashPort === b.hashPort && a.fallback === b.fallback && a.onePacket === b.onePacket;
}

function samePersistence(a?: Persistence, b?: Persistence): boolean {
  if (!a || !b) return a === b;
  return (
    a.timeoutS === b.timeoutS && a.prefixLen === b.prefixLen && a.mask === b.mask && a.engine === b.engine
  );
}

/** A TUN server's encapsulation as one comparable string ('' for ipip, the default). */
export function tunnelKey(r: RealServerSpec): string {
  const t = r.method === 'TUN' ? r.tunnel : undefined;
  return !t || (t.type === 'ipip' && t.csum === 'nocsum') ? '' : `${t.type}/${t.port}/${t.csum}`;
}

function sameReal(a?: RealServerSpec, b?: RealServerSpec): boolean {
  if (!a || !b) return a === b;
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.weight === b.weight &&
    a.method === b.method &&
    (a.uThreshold ?? 0) === (b.uThreshold ?? 0) &&
    (a.lThreshold ?? 0) === (b.lThreshold ?? 0) &&
    tunnelKey(a) === tunnelKey(b) &&
    !!a.inhibit === !!b.inhibit
  );
}

function attrsOf(s: ServiceSpec): ServiceAttrs {
  const a: ServiceAttrs = { scheduler: s.scheduler, flags: { ...s.flags } };
  if (s.persistence) a.persistence = { ...s.persistence };
  if (s.method) a.method = s.method;
  return a;
}

/**
 * The minimal change list taking `from` to `to`. Deletions of services come first (they free matches
 * another service may take), then additions and edits. A service whose family or protocol changes is
 * replaced (deleted and added), as IPVS identifies services by them.
 */
export function planChanges(from: DataplaneState, to: DataplaneState): Change[] {
  const dels: Change[] = [];
  const rest: Change[] = [];
  const old = new Map(from.services.map((s) => [s.name, s]));
  const neu = new Map(to.services.map((s) => [s.name, s]));
  for (const [name, o] of old) {
    const n = neu.get(name);
    if (!n || n.family !== o.family || n.protocol !== o.protocol) dels.push({ op: 'del-service', name });
  }
  // Matches that move between services: the losing service drops them before the gaining one adds them.
  const matchDels: Change[] = [];
  for (const n of neu.values()) {
    const o = old.get(n.name);
    if (o === n) continue;
    if (!o || o.family !== n.family || o.protocol !== n.protocol) {
      rest.push({ op: 'add-service', service: canonicalService(n) });
      continue;
    }
    const name = n.name;
    if (
      o.scheduler !== n.scheduler ||
      !sameFlags(o.flags, n.flags) ||
      !samePersistence(o.persistence, n.persistence) ||
      (o.method ?? 'NAT') !== (n.method ?? 'NAT')
    )
      rest.push({ op: 'set-service', name, attrs: attrsOf(n) });
    const om = new Map(o.matches.map((m) => [matchKey(m), m]));
    const nm = new Map(n.matches.map((m) => [matchKey(m), m]));
    for (const [k, m] of om) if (!nm.has(k)) matchDels.push({ op: 'del-match', name, match: { ...m } });
    for (const [k, m] of nm) if (!om.has(k)) rest.push({ op: 'add-match', name, match: { ...m } });
    const or = new Map(o.reals.map((r) => [realKey(r), r]));
    const nr = new Map(n.reals.map((r) => [realKey(r), r]));
    for (const [k, r] of or)
      if (!nr.has(k)) rest.push({ op: 'del-real', name, address: r.address, port: r.port });
    for (const [k, r] of nr) {
      const was = or.get(k);
      if (!was) rest.push({ op: 'add-real', name, real: { ...r } });
      else if (!sameReal(was, r)) rest.push({ op: 'set-real', name, real: { ...r } });
    }
    if (!sameReal(o.sorry, n.sorry) || o.sorryActive !== n.sorryActive) {
      const c: Change = { op: 'set-sorry', name, active: n.sorryActive };
      if (n.sorry) c.sorry = { ...n.sorry };
      rest.push(c);
    }
  }
  return [...dels, ...matchDels, ...rest];
}

/** The services a plan touches (by name). */
export function touchedServices(plan: readonly Change[]): Set<string> {
  return new Set(plan.map((c) => (c.op === 'add-service' ? c.service.name : c.name)));
}

/**
 * Applies a plan to a canonical state (pure). Services the plan does not name are kept as they are (by
 * reference), so the cost follows the plan, not the state. Changes naming unknown services are ignored.
 */
export function applyChanges(state: DataplaneState, plan: readonly Change[]): DataplaneState {
  const svcs = new Map(state.services.map((s) => [s.name, s]));
  const copied = new Set<string>();
  // The real servers of each service a change touches, by realKey (a plan may hold thousands).
  const realsOf = new Map<string, Map<string, RealServerSpec>>();
  const reals = (s: ServiceSpec): Map<string, RealServerSpec> => {
    let m = realsOf.get(s.name);
    if (!m) {
      m = new Map(s.reals.map((r) => [realKey(r), r]));
      realsOf.set(s.name, m);
    }
    return m;
  };
  let renamed = false;
  for (const c of plan) {
    if (c.op === 'add-service') {
      if (!svcs.has(c.service.name)) renamed = true;
      svcs.set(c.service.name, canonicalService(c.service));
      copied.add(c.service.name);
      realsOf.delete(c.service.name);
      continue;
    }
    if (c.op === 'del-service') {
      if (svcs.delete(c.name)) renamed = true;
      realsOf.delete(c.name);
      continue;
    }
    let s = svcs.get(c.name);
    if (!s) continue;
    if (!copied.has(c.name)) {
      s = canonicalService(s);
      svcs.set(c.name, s);
      copied.add(c.name);
    }
    switch (c.op) {
      case 'set-service':
        s.scheduler = c.attrs.scheduler;
        s.flags = { ...c.attrs.flags };
        if (c.attrs.persistence) s.persistence = { ...c.attrs.persistence };
        else delete s.persistence;
        if (c.attrs.method) s.method = c.attrs.method;
        else delete s.method;
        break;
      case 'add-match':
        if (!s.matches.some((m) => matchKey(m) === matchKey(c.match))) s.matches.push({ ...c.match });
        break;
      case 'del-match':
        s.matches = s.matches.filter((m) => matchKey(m) !== matchKey(c.match));
        break;
      case 'add-real':
      case 'set-real':
        reals(s).set(realKey(c.real), { ...c.real });
        break;
      case 'del-real':
        reals(s).delete(realKey(c));
        break;
      case 'set-sorry':
        if (c.sorry) s.sorry = { ...c.sorry };
        else delete s.sorry;
        s.sorryActive = c.active;
        break;
    }
  }
  for (const n of copied) {
    const s = svcs.get(n);
    if (!s) continue;
    const m = realsOf.get(n);
    if (m) s.reals = [...m.values()];
    svcs.set(n, canonicalService(s));
  }
  let services = [...svcs.values()];
  if (renamed) services = services.sort((a, b) => cmp(a.name, b.name));
  return { services };
}

// ---------------------------------------------------------------------------------------------------
// The back-end contract

export type DataplaneResult = { ok: true } | { ok: false; error: DataplaneError };

/** A kernel back end. Every call is one atomic kernel transaction: all of it applies, or none. */
export interface Dataplane {
  /** Removes leftovers of an earlier run and programs `state` from scratch. */
  start(state: DataplaneState): Promise<DataplaneResult>;
  /** Moves the kernel from the committed state to `state`, sending only what changed. */
  update(state: DataplaneState): Promise<DataplaneResult>;
  /** Applies a plan (from planChanges or built by the caller) to the committed state: the fast path. */
  apply(plan: readonly Change[]): Promise<DataplaneResult>;
  /** The state last committed (kept in memory, never read back from the kernel). */
  committed(): DataplaneState;
  /** Removes everything programmed, unless `keep` (keepalived's -I / lvs_flush_on_stop off). */
  stop(keep?: boolean): Promise<DataplaneResult>;
}
