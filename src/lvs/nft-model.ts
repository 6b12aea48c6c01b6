// The nftables back end's pure half: desired LVS state → the named objects of one table
// (`table inet keepalived_ts`), and two such object sets → one `nft -f` transaction that changes only
// what differs. No I/O here; src/lvs/nft-dataplane.ts runs the scripts. Layout and reasons: docs/lvs.md.
import { ipv4FromNumber } from '../net/inet.js';
import {
  type AddrFamily,
  activePool,
  anyProtocol,
  type DataplaneError,
  type DataplaneState,
  type L4Proto,
  persistenceMask4,
  protocolsOf,
  type RealServerSpec,
  realKey,
  type ServiceSpec,
} from './dataplane.js';
import { isCountBased, type SlotKind, slotsFor, wrrSlots } from './schedulers.js';

export const TABLE = 'keepalived_ts';
/** The netdev table holding direct-routing services (ingress hook: before routing and conntrack). */
export const DR_TABLE = 'keepalived_ts_dr';
/**
 * The comment of both tables: a restarted back end adopts tables carrying it and replaces any other
 * (docs/lvs.md, "Adopting the table at start"). Bump it whenever a shared object's declaration changes.
 */
export const LAYOUT_MARKER = 'keepalived-ts lvs layout 5';
/**
 * The `ip` and `ip6` tables (one name, two families) holding direct-routing services matched by fwmark:
 * a fwmark is set by mangle prerouting (−150), after netdev ingress, so these services are dispatched by a
 * prerouting chain at −149 and forwarded with `dup to <server> device <egress>` then `drop`.
 */
export const DRM_TABLE = 'keepalived_ts_drm';
/** Object names starting with this prefix live in the netdev table. */
const DR = 'dr/';
/** … and with these, in the `ip` / `ip6` fwmark direct-routing tables. */
const FM4 = 'fm4/';
const FM6 = 'fm6/';

/** `family table name` of a model object. */
export function qualified(name: string): string {
  if (name.startsWith(DR)) return `netdev ${DR_TABLE} ${name.slice(DR.length)}`;
  if (name.startsWith(FM4)) return `ip ${DRM_TABLE} ${name.slice(FM4.length)}`;
  if (name.startsWith(FM6)) return `ip6 ${DRM_TABLE} ${name.slice(FM6.length)}`;
  return `inet ${TABLE} ${name}`;
}
/** The direct-routing tables: netdev (DR by address), ip and ip6 (DR by fwmark, one per family). */
export type DrTable = 'netdev' | 'ip' | 'ip6';
export const ALL_DR_TABLES: ReadonlySet<DrTable> = new Set<DrTable>(['netdev', 'ip', 'ip6']);
/** The family of the table a model object lives in. */
export function tableOf(name: string): 'inet' | DrTable {
  if (name.startsWith(DR)) return 'netdev';
  if (name.startsWith(FM4)) return 'ip';
  if (name.startsWith(FM6)) return 'ip6';
  return 'inet';
}
/** The `family name` of a direct-routing table. */
export const drTableName = (t: DrTable): string => `${t} ${t === 'netdev' ? DR_TABLE : DRM_TABLE}`;

/**
 * The direct-routing tables `services` need: the netdev table while a DR service matched by address
 * exists, the `ip` / `ip6` table while a DR service matched by fwmark of that family does. The others are
 * not created (their ingress and prerouting hooks would see every packet for nothing).
 */
export function drTablesFor(services: Iterable<ServiceSpec>): Set<DrTable> {
  const out = new Set<DrTable>();
  for (const s of services) if (isDr(s)) out.add(isFwmarkDr(s) ? (s.family === 4 ? 'ip' : 'ip6') : 'netdev');
  return out;
}

/** `m` without the objects of the direct-routing tables not in `tables`. */
export function onlyTables(m: NftModel, tables: ReadonlySet<DrTable>): NftModel {
  const keep = (n: string) => {
    const t = tableOf(n);
    return t === 'inet' || tables.has(t);
  };
  return {
    sets: new Map([...m.sets].filter(([n]) => keep(n))),
    chains: new Map([...m.chains].filter(([n]) => keep(n))),
    ...(m.timeouts ? { timeouts: m.timeouts } : {}),
  };
}

/**
 * The commands creating direct-routing table `t` (marked with the layout) and its base objects (shared
 * maps, base chains and their rules) from `base` (a baseModel); services' objects follow in a diff.
 */
export function addDrTableScript(t: DrTable, base: NftModel): string {
  const m = {
    sets: [...base.sets].filter(([n]) => tableOf(n) === t),
    chains: [...base.chains].filter(([n]) => tableOf(n) === t),
  };
  const lines = [`add table ${drTableName(t)} { comment "${LAYOUT_MARKER}"; }`];
  for (const [n, c] of m.chains) lines.push(addChainCmd(n, c));
  for (const [n, set] of m.sets) lines.push(addSetCmd(n, set));
  for (const [n, c] of m.chains) for (const r of c.rules) lines.push(`add rule ${qualified(n)} ${r}`);
  return `${lines.join('\n')}\n`;
}

const short = (name: string): string =>
  /^(dr|fm4|fm6)\//.exec(name) ? name.slice(name.indexOf('/') + 1) : name;
/** True when a DR service is matched by fwmark (and so lives in the fwmark direct-routing tables). */
export const isFwmarkDr = (s: ServiceSpec): boolean => s.matches.some((m) => m.kind === 'fwmark');
/** Fixed jhash seed: the client → slot mapping survives reloads and is the same on every director. */
export const HASH_SEED = 0x4b415453;
/** Element budget of one dynamic persistence set (per real server). */
export const PERSIST_SET_SIZE = 65536;

export interface NftSet {
  /** `map` or `set` plus its body, e.g. `map svc4 { type … : verdict; }` minus the name. */
  kind: 'map' | 'set';
  decl: string;
  /** key text → value text ('' for plain sets). */
  elems: Map<string, string>;
}

export interface NftChain {
  /** Base-chain header (`type nat hook prerouting priority dstnat; policy accept;`) or '' for a regular chain. */
  decl: string;
  rules: string[];
}

export interface NftModel {
  sets: Map<string, NftSet>;
  chains: Map<string, NftChain>;
  /**
   * `ct timeout` objects of the inet table (name → body; lvs_timeouts). diffScript changes them only when
   * both models have the map (a start adopting the kernel's tables); otherwise setTimeouts does.
   */
  timeouts?: Map<string, string>;
}

/** keepalived's `lvs_timeouts` in seconds; 0 or absent leaves the kernel's value (as `ipvsadm --set`). */
export interface CtTimeouts {
  tcp?: number;
  tcpfin?: number;
  udp?: number;
}

/**
 * conntrack timeout policies for lvs_timeouts (docs/lvs.md, "Start, stop and connection timeouts"): `tcp`
 * is the ESTABLISHED state, `tcpfin` conntrack's FIN_WAIT, `udp` both UDP states (IPVS has one UDP
 * timeout). States not named keep the kernel's defaults. One object per protocol serves IPv4 and IPv6;
 * its name carries its values, since the kernel cannot change an object in place (a reload with other
 * values adds new objects and deletes the old ones).
 */
export function ctTimeoutObjects(t: CtTimeouts | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, p] of ctTimeoutPolicies(t)) {
    const named = p.states.map(([st, v]) => `${STATE_NAME[p.l4proto]?.[st]}: ${v}`).join(', ');
    out.set(name, `{ protocol ${p.l4proto === 6 ? 'tcp' : 'udp'}; policy = { ${named} }; }`);
  }
  return out;
}

/** conntrack's numbers of the states lvs_timeouts sets (netlink attribute types), by protocol number. */
const STATE_NAME: Record<number, Record<number, string>> = {
  6: { 3: 'established', 4: 'fin_wait' },
  17: { 1: 'unreplied', 2: 'replied' },
};

/**
 * The policies of ctTimeoutObjects as numbers (what adoption compares the kernel's objects with): name →
 * protocol number and [conntrack state attribute, seconds] of each state named.
 */
export function ctTimeoutPolicies(
  t: CtTimeouts | undefined,
): Map<string, { l4proto: number; states: [number, number][] }> {
  const out = new Map<string, { l4proto: number; states: [number, number][] }>();
  const pos = (v: number | undefined): v is number => v !== undefined && v > 0;
  const tcp: [number, number][] = [];
  if (pos(t?.tcp)) tcp.push([3, t.tcp]);
  if (pos(t?.tcpfin)) tcp.push([4, t.tcpfin]);
  if (tcp.length > 0)
    out.set(`to_tcp_${pos(t?.tcp) ? t.tcp : 0}_${pos(t?.tcpfin) ? t.tcpfin : 0}`, {
      l4proto: 6,
      states: tcp,
    });
  if (pos(t?.udp))
    out.set(`to_udp_${t.udp}`, {
      l4proto: 17,
      states: [
        [1, t.udp],
        [2, t.udp],
      ],
    });
  return out;
}

/**
 * The rules giving a NAT service's new connections their timeout policy, where lvs_timeouts names one
 * for their protocol: one unconditional rule for a service of one protocol, one per protocol (`meta
 * l4proto P ct timeout set …`) for a service matched by fwmark, which serves them all.
 */
function ctTimeoutRules(s: ServiceSpec, t: CtTimeouts | undefined): string[] {
  const names = [...ctTimeoutObjects(t).keys()];
  const out: string[] = [];
  for (const p of protocolsOf(s)) {
    const name = names.find((n) => n.startsWith(`to_${p}_`));
    if (name) out.push(`${anyProtocol(s) ? `meta l4proto ${p} ` : ''}ct timeout set "${name}"`);
  }
  return out;
}

/**
 * First rule of the chain of a service matched by fwmark: packets of other protocols carrying the mark
 * (ICMP, …) leave it untouched, as IPVS leaves them (no anonymous set: the adoption at start reads the
 * table's sets back and would take one for a leftover).
 */
export const OTHER_PROTOCOLS_RETURN = 'meta l4proto != tcp meta l4proto != udp meta l4proto != sctp return';

/** Commands adding the timeout objects of `to` that `from` lacks, and deleting those `to` lacks. */
export function ctTimeoutChanges(
  from: CtTimeouts | undefined,
  to: CtTimeouts | undefined,
): { add: string[]; del: string[] } {
  const a = ctTimeoutObjects(from);
  const b = ctTimeoutObjects(to);
  return {
    add: [...b].filter(([n]) => !a.has(n)).map(([n, body]) => `add ct timeout inet ${TABLE} ${n} ${body}`),
    del: [...a.keys()].filter((n) => !b.has(n)).map((n) => `delete ct timeout inet ${TABLE} ${n}`),
  };
}

/** Stable numeric ids: one per service (chain names) and one per (service, server) = its conntrack mark. */
export interface IdAlloc {
  services: Map<string, number>;
  marks: Map<string, number>;
  nextService: number;
  nextMark: number;
}

export function emptyAlloc(): IdAlloc {
  return { services: new Map(), marks: new Map(), nextService: 1, nextMark: 0x100 };
}

export function markKey(service: string, r: { address: string; port: number }): string {
  return `${service}|${realKey(r)}`;
}

/** Ids for everything in `state`, keeping those already given; ids of vanished things are dropped. */
export function allocate(prev: IdAlloc, state: DataplaneState): IdAlloc {
  const out: IdAlloc = {
    services: new Map(),
    marks: new Map(),
    nextService: prev.nextService,
    nextMark: prev.nextMark,
  };
  for (const s of state.services) {
    out.services.set(s.name, prev.services.get(s.name) ?? out.nextService++);
    const servers = [...s.reals];
    if (s.sorry) servers.push(s.sorry);
    for (const r of servers) {
      const k = markKey(s.name, r);
      if (!out.marks.has(k)) out.marks.set(k, prev.marks.get(k) ?? out.nextMark++);
    }
  }
  return out;
}

const proto = (p: L4Proto): string => p;
const ipKw = (f: AddrFamily): string => (f === 4 ? 'ip' : 'ip6');

function endpoint(f: AddrFamily, r: { address: string; port: number }): string {
  return f === 4 ? `${r.address}:${r.port}` : `[${r.address}]:${r.port}`;
}

/** An IPv6 netmask of a prefix length, as nft reads it (IPv4 masks: persistenceMask4). */
function ipv6MaskText(prefixLen: number): string {
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) {
    const bits = Math.max(0, Math.min(16, prefixLen - g * 16));
    groups.push((bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff).toString(16));
  }
  return groups.join(':');
}

function clientKey(s: ServiceSpec): string {
  if (s.family === 4) {
    // Any netmask, its ones contiguous or not (keepalived takes any): a bitwise and.
    const m = s.persistence ? persistenceMask4(s.persistence) : 0xffffffff;
    return m === 0xffffffff ? 'ip saddr' : `ip saddr & ${ipv4FromNumber(m)}`;
  }
  const p = s.persistence?.prefixLen ?? 128;
  return p >= 128 ? 'ip6 saddr' : `ip6 saddr & ${ipv6MaskText(p)}`;
}

function baseRules(): string[] {
  return [
    'ip daddr . meta l4proto . th dport vmap @svc4',
    'ip6 daddr . meta l4proto . th dport vmap @svc6',
    'meta nfproto ipv4 meta mark vmap @fwm4',
    'meta nfproto ipv6 meta mark vmap @fwm6',
  ];
}

/** Interfaces for direct routing: where client packets for the VIPs arrive, and where real servers are. */
export interface DrOptions {
  ingress: string[];
  egress: string;
}

/** Timeout of a direct-routing flow entry (IPVS's TCP established timeout). */
export const DR_FLOW_TIMEOUT_S = 900;

/** IPVS's default UDP timeout (its connections' idle timeout without lvs_timeouts udp). */
export const DR_UDP_FLOW_TIMEOUT_S = 300;

/**
 * The idle timeout of a direct-routing service's flow entries, as IPVS's connection timeouts would give its
 * connections: lvs_timeouts `tcp` for a TCP service, `udp` for a UDP one; without the value, IPVS's
 * default — undefined (the flow map's own DR_FLOW_TIMEOUT_S, IPVS's 900 s) for TCP, DR_UDP_FLOW_TIMEOUT_S
 * for UDP.
 */
export function drFlowTimeoutS(
  s: ServiceSpec,
  t: CtTimeouts | undefined,
  /** The flows' protocol: a service matched by fwmark has entries of each (SCTP: IPVS's 900 s). */
  p: L4Proto = s.protocol,
): number | undefined {
  const v = p === 'tcp' ? t?.tcp : p === 'udp' ? t?.udp : undefined;
  if (v !== undefined && v > 0) return v;
  return p === 'udp' ? DR_UDP_FLOW_TIMEOUT_S : undefined;
}
/**
 * nft 1.0.6 cannot generate a packet-path update (`update @m { key : meta mark }`) of a map whose key is
 * longer than 16 bytes: it aborts on an internal assertion — through libnftables, the calling process.
 * IPv6 flow and persistence keys (40 and 36 bytes) are therefore replaced by two 32-bit jhashes of the
 * fields with different seeds (64 bits: at 262,144 flows a collision has odds of about 2e-9).
 */
const HASHED_KEY_TYPE = 'numgen inc mod 2 . numgen inc mod 2 : meta mark';

/** The key expression of a direct-routing dynamic map for `fields` (IPv6: hashed, see HASHED_KEY_TYPE). */
function drKey(f: AddrFamily, fields: string): string {
  if (f === 4) return fields;
  const h = (seed: number) => `jhash ${fields} mod 4294967295 seed 0x${seed.toString(16)}`;
  return `${h(HASH_SEED + 1)} . ${h(HASH_SEED + 2)}`;
}

/**
 * The persistence key of a direct-routing service matched by fwmark: IPVS keys such a template by client
 * (and granularity) and fwmark, not by address or port, so one client's connections to any port or VIP the
 * mark covers go to one server. The service is named by its id, carried in the seeds of two jhashes of
 * the client prefix (nft cannot put a constant into a concatenated lookup key); 64 bits, as drKey's.
 */
function fwmarkPersKey(client: string, id: number): string {
  const h = (k: number) =>
    `jhash ${client} mod 4294967295 seed 0x${((HASH_SEED + 2 * id + k) >>> 0).toString(16)}`;
  return `${h(3)} . ${h(4)}`;
}

/** Element budget of each direct-routing dynamic map (flows, persistence). */
export const DR_FLOWS_SIZE = 262144;

function serviceMethod(s: ServiceSpec): 'NAT' | 'DR' | 'TUN' | 'mixed' {
  const ms = new Set([...s.reals, ...(s.sorry ? [s.sorry] : [])].map((r) => r.method));
  // No server at all (every one removed): the configured method, so a DR service keeps its place.
  if (ms.size === 0) return s.method ?? 'NAT';
  return ms.size > 1 ? 'mixed' : ([...ms][0] as 'NAT' | 'DR' | 'TUN');
}

/** Things nftables cannot do here; the caller reports them before programming anything. */
export function unsupported(state: DataplaneState, dr?: DrOptions): DataplaneError[] {
  const errs: DataplaneError[] = [];
  const no = (s: ServiceSpec, why: string) =>
    errs.push({ code: 'LVS_UNSUPPORTED', message: `service ${s.name}: ${why}` });
  for (const s of state.services) {
    const m = serviceMethod(s);
    if (m === 'TUN')
      no(s, 'forwarding method TUN needs tunnel devices; not supported by the nftables data plane');
    else if (m === 'mixed')
      no(s, 'real servers with different forwarding methods in one service are not supported');
    else if (m === 'DR') {
      if (!dr)
        no(s, 'forwarding method DR needs the data plane to be given its ingress and egress interfaces');
      if (isFwmarkDr(s) && s.matches.some((x) => x.kind !== 'fwmark'))
        no(s, 'a DR service matched by both fwmark and address is not supported');
    }
  }
  return errs;
}

/**
 * The slot table of a service's pool; `slotWeights` (one per pool member, from the connection-count
 * rebalancer) replace the configured weights for count-based schedulers.
 */
function poolSlots(
  s: ServiceSpec,
  pool: RealServerSpec[],
  slotWeights?: readonly number[],
): { kind: SlotKind; slots: number[] } {
  if (slotWeights && slotWeights.length === pool.length && isCountBased(s.scheduler)) {
    const idx = slotWeights.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0);
    const slots = wrrSlots(idx.map((i) => slotWeights[i] as number)).map((j) => idx[j] as number);
    if (slots.length > 0) return { kind: 'rotate', slots };
  }
  return slotsFor(
    s.scheduler,
    pool.map((r) => realKey(r)),
    pool.map((r) => r.weight),
  );
}

/** Elements one service owns in the table's shared maps (dispatch by address/fwmark, persistence refresh). */
export type SharedElems = Map<string, Map<string, string>>;

/** What one service contributes: its own chains and sets, and its elements in the shared maps. */
export interface Fragment {
  own: NftModel;
  shared: SharedElems;
}

const SHARED_MAPS = [
  'svc4',
  'svc6',
  'fwm4',
  'fwm6',
  'recm',
  'slots',
  'bk4',
  'bk6',
  'bka4',
  'bka6',
  'dr/svc4',
  'dr/svc6',
  'dr/slots',
  'dr/live',
  'dr/bk4',
  'dr/bk6',
  'fm4/fwm',
  'fm4/slots',
  'fm4/live',
  'fm4/bk',
  'fm6/fwm',
  'fm6/slots',
  'fm6/live',
  'fm6/bk',
] as const;

/**
 * Each service owns the slot keys [id × SLOT_STRIDE, id × SLOT_STRIDE + N) of the one shared slot map
 * (numgen/jhash take an `offset`), so a table of any size has a handful of sets: libnftables fetches the
 * list of sets before every transaction, and its cost grows with their number.
 */
export const SLOT_STRIDE = 8192;

/** The traffic counter set (filled by the packet path; read by src/lvs/counters.ts). */
export const COUNTER_SET = 'ctr';
export const COUNTER_SET_DECL = '{ typeof ct state . ct direction . ct mark; size 65536; flags dynamic; }';
const COUNTER_RULE = `ct mark != 0x0 update @${COUNTER_SET} { ct state . ct direction . ct mark counter }`;
/**
 * The direct-routing tables' traffic counter set (same name `ctr` in the netdev and both fwmark tables):
 * key `kind . server mark`, kind DR_SCHEDULED for a packet that was scheduled (picked a server, by slot or
 * persistence entry: a new connection, as IPVS counts one) and DR_FOLLOWED for one that followed its
 * connection's flow entry; each element has its own counter (docs/lvs.md, 'Traffic counters').
 */
export const DR_COUNTER_SET_DECL = '{ type mark . mark; size 65536; flags dynamic; }';
export const DR_FOLLOWED = 0;
export const DR_SCHEDULED = 1;
/** The `family table` of each direct-routing counter set, as nft names them (netdev, fwmark v4, fwmark v6). */
export const DR_COUNTER_TABLES = [`netdev ${DR_TABLE}`, `ip ${DRM_TABLE}`, `ip6 ${DRM_TABLE}`] as const;

/** VRRP adverts (IP protocol 112, both families) bypass conntrack. */
export const VRRP_NOTRACK_RULE = 'meta l4proto 112 notrack';
/** VRRPv2 adverts behind an AH header, to VRRP's IPv4 multicast group only (other AH is IPsec's). */
export const VRRP_AH_NOTRACK_RULE = 'ip daddr 224.0.0.18 meta l4proto 51 notrack';

/** The table without any service: shared maps (empty) and base chains. */
export function baseModel(dr?: DrOptions): NftModel {
  const sets = new Map<string, NftSet>();
  const chains = new Map<string, NftChain>();
  const vmap = (type: string): NftSet => ({
    kind: 'map',
    decl: `{ type ${type} : verdict; }`,
    elems: new Map(),
  });
  sets.set('svc4', vmap('ipv4_addr . inet_proto . inet_service'));
  sets.set('svc6', vmap('ipv6_addr . inet_proto . inet_service'));
  sets.set('fwm4', vmap('mark'));
  sets.set('fwm6', vmap('mark'));
  sets.set('recm', vmap('mark'));
  sets.set('slots', { kind: 'map', decl: '{ type mark : mark; }', elems: new Map() });
  sets.set('bk4', { kind: 'map', decl: '{ type mark : ipv4_addr . inet_service; }', elems: new Map() });
  sets.set('bk6', { kind: 'map', decl: '{ type mark : ipv6_addr . inet_service; }', elems: new Map() });
  // NAT servers without a port (port 0: the packet's destination port is kept, as IPVS does): address only.
  sets.set('bka4', { kind: 'map', decl: '{ type mark : ipv4_addr; }', elems: new Map() });
  sets.set('bka6', { kind: 'map', decl: '{ type mark : ipv6_addr; }', elems: new Map() });
  // VRRP outside conntrack: this table turns connection tracking on in the namespace, and a table filled by
  // the traffic it serves (or by the checks) drops packets that need a new entry — VRRP's never reach one
  // that lasts (no replies, never assured, the first an early drop evicts). Untracked, adverts get through
  // whatever the table holds. Protocol 112, and AH (51) only to VRRP's IPv4 group (docs/lvs.md, "VRRP is
  // not tracked").
  for (const [name, hook] of [
    ['vrrpin', 'prerouting'],
    ['vrrpout', 'output'],
  ] as const)
    chains.set(name, {
      decl: `type filter hook ${hook} priority raw; policy accept;`,
      rules: [VRRP_NOTRACK_RULE, VRRP_AH_NOTRACK_RULE],
    });
  chains.set('pre', { decl: 'type nat hook prerouting priority dstnat; policy accept;', rules: baseRules() });
  chains.set('out', { decl: 'type nat hook output priority -100; policy accept;', rules: baseRules() });
  // Traffic counters (docs/lvs.md, 'Traffic counters'): the packet path adds one element per conntrack
  // state, direction and server mark, each with its own counter; src/lvs/counters.ts reads them. First:
  // the persistence refresh below ends the chain (goto) for persistent services.
  sets.set('ctr', { kind: 'set', decl: COUNTER_SET_DECL, elems: new Map() });
  // Persistence refresh: every original-direction packet of a connection renews its client's entry.
  const recRule = [COUNTER_RULE, 'ct direction original ct mark vmap @recm'];
  chains.set('rec', { decl: 'type filter hook forward priority filter; policy accept;', rules: recRule });
  chains.set('recin', { decl: 'type filter hook input priority filter; policy accept;', rules: recRule });
  // Direct routing, in the netdev table: dispatch at ingress, per-connection stickiness in a flow map
  // (netdev has no conntrack), frames sent out unchanged but for the MAC addresses (`fwd ip to`).
  sets.set('dr/svc4', vmap('ipv4_addr . inet_proto . inet_service'));
  sets.set('dr/svc6', vmap('ipv6_addr . inet_proto . inet_service'));
  sets.set('dr/slots', { kind: 'map', decl: '{ type mark : mark; }', elems: new Map() });
  // Marks of the servers in a persistent service's pool, each mapped to itself: a lookup that fails for
  // an inhibited server, so its continuing flows do not write persistence entries for it again.
  sets.set('dr/live', { kind: 'map', decl: '{ type mark : mark; }', elems: new Map() });
  sets.set('dr/bk4', { kind: 'map', decl: '{ type mark : ipv4_addr; }', elems: new Map() });
  sets.set('dr/bk6', { kind: 'map', decl: '{ type mark : ipv6_addr; }', elems: new Map() });
  // Traffic counters of direct-routing services: filled by the forwarding rules (renderDrService).
  sets.set(`dr/${COUNTER_SET}`, { kind: 'set', decl: DR_COUNTER_SET_DECL, elems: new Map() });
  // Filled by the packet path only: connection → server mark, and (persistence) client . VIP . port → mark.
  // IPv6 keys are two seeded hashes of those fields (drKey): see DR_HASHED_KEY.
  for (const f of [4, 6] as const) {
    const key = (v4: string) => (f === 4 ? `type ${v4}` : `typeof ${HASHED_KEY_TYPE}`);
    sets.set(`dr/flows${f}`, {
      kind: 'map',
      decl: `{ ${key('ipv4_addr . inet_service . ipv4_addr . inet_service : mark')}; size ${DR_FLOWS_SIZE}; flags dynamic,timeout; timeout ${DR_FLOW_TIMEOUT_S}s; }`,
      elems: new Map(),
    });
    sets.set(`dr/pers${f}`, {
      kind: 'map',
      decl: `{ ${key('ipv4_addr . ipv4_addr . inet_service : mark')}; size ${DR_FLOWS_SIZE}; flags dynamic,timeout; }`,
      elems: new Map(),
    });
  }
  // Direct routing of fwmark services, one table per family: the same objects keyed by fwmark, dispatched
  // after mangle prerouting (where the fwmark is set).
  for (const f of [4, 6] as const) {
    const p = f === 4 ? FM4 : FM6;
    const a = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
    sets.set(`${p}fwm`, vmap('mark'));
    sets.set(`${p}slots`, { kind: 'map', decl: '{ type mark : mark; }', elems: new Map() });
    sets.set(`${p}live`, { kind: 'map', decl: '{ type mark : mark; }', elems: new Map() });
    sets.set(`${p}bk`, { kind: 'map', decl: `{ type mark : ${a}; }`, elems: new Map() });
    const dyn = sets.get(`dr/flows${f}`) as NftSet;
    sets.set(`${p}flows`, { kind: 'map', decl: dyn.decl, elems: new Map() });
    // Persistence by client and service (fwmarkPersKey): two hashes in both families.
    sets.set(`${p}pers`, {
      kind: 'map',
      decl: `{ typeof ${HASHED_KEY_TYPE}; size ${DR_FLOWS_SIZE}; flags dynamic,timeout; }`,
      elems: new Map(),
    });
    sets.set(`${p}${COUNTER_SET}`, { kind: 'set', decl: DR_COUNTER_SET_DECL, elems: new Map() });
    if (dr)
      chains.set(`${p}pre`, {
        decl: 'type filter hook prerouting priority -149; policy accept;',
        rules: ['meta mark vmap @fwm'],
      });
  }
  for (const [i, dev] of (dr?.ingress ?? []).entries())
    chains.set(`dr/in${i}`, {
      decl: `type filter hook ingress device "${dev}" priority 0; policy accept;`,
      rules: [
        'ip daddr . meta l4proto . th dport vmap @svc4',
        'ip6 daddr . meta l4proto . th dport vmap @svc6',
      ],
    });
  return { sets, chains };
}

/** One service's objects (pure). `alloc` must hold ids for the service and all its servers. */
export function renderService(
  s: ServiceSpec,
  alloc: IdAlloc,
  dr?: DrOptions,
  slotWeights?: readonly number[],
  timeouts?: CtTimeouts,
): Fragment {
  if (serviceMethod(s) === 'DR' && dr) return renderDrService(s, alloc, dr, slotWeights, timeouts);
  const sets = new Map<string, NftSet>();
  const chains = new Map<string, NftChain>();
  const shared: SharedElems = new Map(SHARED_MAPS.map((n) => [n, new Map<string, string>()]));
  const id = alloc.services.get(s.name);
  if (id === undefined) throw new Error(`no id for service ${s.name}`);
  const chain = `vs${id}`;
  for (const m of s.matches) {
    if (m.kind === 'fwmark')
      shared.get(s.family === 4 ? 'fwm4' : 'fwm6')?.set(`0x${m.fwmark.toString(16)}`, `goto ${chain}`);
    else
      shared
        .get(s.family === 4 ? 'svc4' : 'svc6')
        ?.set(`${m.address} . ${proto(s.protocol)} . ${m.port}`, `goto ${chain}`);
  }
  const recm = shared.get('recm') as Map<string, string>;
  const ip = ipKw(s.family);
  // A fwmark service serves every protocol (protocolsOf): a DNAT to `addr . port` needs its protocol
  // matched in the same rule, so such rules come once per protocol.
  const all = anyProtocol(s);
  const l4s = protocolsOf(s).map((p) => `meta l4proto ${proto(p)}`);
  const pool = activePool(s);
  const markOf = (r: RealServerSpec): number => {
    const k = alloc.marks.get(markKey(s.name, r));
    if (k === undefined) throw new Error(`no mark for ${markKey(s.name, r)}`);
    return k;
  };
  // Backend map: conntrack mark → address . port, for every server the service may send to; a server
  // without a port (0: the packet keeps its destination port, IPVS's rule, e.g. under a fwmark spanning
  // several ports) goes to the address-only map instead.
  const bk = shared.get(s.family === 4 ? 'bk4' : 'bk6') as Map<string, string>;
  const bka = shared.get(s.family === 4 ? 'bka4' : 'bka6') as Map<string, string>;
  for (const r of pool)
    if (r.port === 0) bka.set(`0x${markOf(r).toString(16)}`, r.address);
    else bk.set(`0x${markOf(r).toString(16)}`, `${r.address} . ${r.port}`);
  // The address-only DNAT rule, where a server may have no port: matched by fwmark, or one configured so.
  const portless = all || [...s.reals, ...(s.sorry ? [s.sorry] : [])].some((r) => r.port === 0);
  const target = (r: RealServerSpec) => (r.port === 0 ? r.address : endpoint(s.family, r));
  // First, before any terminal persistence rule: the policy attaches only to a connection's first packet.
  const rules: string[] = [...(all ? [OTHER_PROTOCOLS_RETURN] : []), ...ctTimeoutRules(s, timeouts)];
  if (s.persistence) {
    const ck = clientKey(s);
    for (const r of pool) {
      const mk = markOf(r).toString(16);
      const set = `p${mk}`;
      sets.set(set, {
        kind: 'set',
        decl: `{ type ${s.family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; size ${PERSIST_SET_SIZE}; flags dynamic,timeout; timeout ${s.persistence.timeoutS}s; }`,
        elems: new Map(),
      });
      for (const l4 of l4s)
        rules.push(
          all
            ? `${l4} ${ck} @${set} ct mark set 0x${mk} dnat ${ip} to ${target(r)}`
            : `${ck} @${set} ct mark set 0x${mk} ${l4} dnat ${ip} to ${target(r)}`,
        );
      chains.set(`r${mk}`, { decl: '', rules: [`update @${set} { ${ck} }`] });
      recm.set(`0x${mk}`, `goto r${mk}`);
    }
  }
  const { kind, slots } = poolSlots(s, pool, slotWeights);
  const slotMap = shared.get('slots') as Map<string, string>;
  const base = id * SLOT_STRIDE;
  const marks = pool.map((r) => `0x${markOf(r).toString(16)}`);
  slots.forEach((idx, slot) => {
    const m = marks[idx];
    if (m) slotMap.set(`0x${(base + slot).toString(16)}`, m);
  });
  // The slot pick lives alone in its own chain: a change of slot count rewrites one rule that names no
  // set (cheap for libnftables), while the rules naming the big shared maps never change.
  const pick =
    slots.length === 0
      ? 'ct mark set 0x0'
      : kind === 'rotate'
        ? `ct mark set numgen inc mod ${slots.length} offset ${base}`
        : `ct mark set jhash ${ip} ${kind === 'hash-daddr' ? 'daddr' : 'saddr'}${s.flags.hashPort ? ` . ${all ? 'th' : proto(s.protocol)} sport` : ''} mod ${slots.length} seed 0x${HASH_SEED.toString(16)} offset ${base}`;
  chains.set(`${chain}g`, { decl: '', rules: [pick] });
  rules.push(
    `jump ${chain}g`,
    'ct mark set ct mark map @slots',
    ...l4s.map((l4) => `${l4} dnat ${ip} to ct mark map @bk${s.family}`),
    ...(portless ? [`dnat ${ip} to ct mark map @bka${s.family}`] : []),
  );
  chains.set(chain, { decl: '', rules });
  return { own: { sets, chains }, shared };
}

/**
 * A model holding only `frags`' objects plus the shared maps restricted to their elements: diffing two
 * of these changes those services and nothing else (base chains appear in neither, so stay untouched).
 */
export function partialModel(frags: Iterable<Fragment>, withBase = false, dr?: DrOptions): NftModel {
  const base = baseModel(dr);
  const out: NftModel = withBase ? base : { sets: new Map(), chains: new Map() };
  for (const n of SHARED_MAPS) {
    const b = base.sets.get(n) as NftSet;
    out.sets.set(n, { kind: b.kind, decl: b.decl, elems: new Map() });
  }
  for (const f of frags) {
    for (const [n, set] of f.own.sets) out.sets.set(n, set);
    for (const [n, c] of f.own.chains) out.chains.set(n, c);
    for (const [n, els] of f.shared) {
      const target = out.sets.get(n)?.elems;
      if (target) for (const [k, v] of els) target.set(k, v);
    }
  }
  return out;
}

/** The whole table for a desired state (pure). `alloc` must come from allocate(…, state). */
export function renderModel(state: DataplaneState, alloc: IdAlloc, dr?: DrOptions): NftModel {
  return partialModel(
    state.services.map((s) => renderService(s, alloc, dr)),
    true,
    dr,
  );
}

/**
 * A direct-routing service: its chain first follows the connection's flow entry, else picks a slot,
 * records the flow, and forwards the frame unchanged to the real server's MAC address (resolved by the
 * kernel's neighbour table) on the egress interface. Inhibited servers keep their backend entry, so
 * their established flows continue; removed ones lose it, so their flows get rescheduled.
 */
function renderDrService(
  s: ServiceSpec,
  alloc: IdAlloc,
  dr: DrOptions,
  slotWeights?: readonly number[],
  /** lvs_timeouts: the flow entries' idle timeout per protocol (drFlowTimeoutS). */
  timeouts?: CtTimeouts,
): Fragment {
  const id = alloc.services.get(s.name);
  if (id === undefined) throw new Error(`no id for service ${s.name}`);
  const f = s.family;
  // Matched by fwmark: the `ip`/`ip6` table's objects (fm4/…, fm6/…), otherwise the netdev table's.
  const fm = isFwmarkDr(s);
  const pre = fm ? (f === 4 ? FM4 : FM6) : DR;
  const chain = `${pre}vs${id}`;
  const ip = ipKw(f);
  const shared: SharedElems = new Map(SHARED_MAPS.map((n) => [n, new Map<string, string>()]));
  const n = fm
    ? {
        svc: `${pre}fwm`,
        bk: `${pre}bk`,
        slots: `${pre}slots`,
        live: `${pre}live`,
        flows: 'flows',
        pers: 'pers',
        bkRef: 'bk',
      }
    : {
        svc: `dr/svc${f}`,
        bk: `dr/bk${f}`,
        slots: 'dr/slots',
        live: 'dr/live',
        flows: `flows${f}`,
        pers: `pers${f}`,
        bkRef: `bk${f}`,
      };
  const markOf = (r: RealServerSpec): string => {
    const k = alloc.marks.get(markKey(s.name, r));
    if (k === undefined) throw new Error(`no mark for ${markKey(s.name, r)}`);
    return `0x${k.toString(16)}`;
  };
  for (const m of s.matches)
    if (m.kind === 'addr')
      shared.get(n.svc)?.set(`${m.address} . ${proto(s.protocol)} . ${m.port}`, `goto vs${id}`);
    else shared.get(n.svc)?.set(`0x${m.fwmark.toString(16)}`, `goto vs${id}`);
  const pool = activePool(s);
  for (const r of drListed(s)) shared.get(n.bk)?.set(markOf(r), r.address);
  if (s.persistence) for (const r of pool) shared.get(n.live)?.set(markOf(r), markOf(r));
  const { kind, slots } = poolSlots(s, pool, slotWeights);
  const base = id * SLOT_STRIDE;
  slots.forEach((idx, slot) => {
    const r = pool[idx];
    if (r) shared.get(n.slots)?.set(`0x${(base + slot).toString(16)}`, markOf(r));
  });
  // A fwmark service serves every protocol (protocolsOf): the rules that record a flow come once per
  // protocol, each with that protocol's idle timeout.
  const all = anyProtocol(s);
  const protos = protocolsOf(s);
  const flow = drKey(f, `${ip} saddr . th sport . ${ip} daddr . th dport`);
  // netdev: `fwd` (the frame itself goes, MAC addresses rewritten); after routing (fwmark): a copy goes out
  // the same way (`dup`, TTL decremented as a router does) and the original is dropped.
  const fwd = fm
    ? `dup to meta mark map @${n.bkRef} device "${dr.egress}" drop`
    : `fwd ${ip} to meta mark map @${n.bkRef} device "${dr.egress}"`;
  // Persistence: one entry per client prefix and VIP:port (IPVS's template; client prefix and service
  // under a fwmark), renewed by every packet.
  const pkey = !s.persistence
    ? ''
    : fm
      ? fwmarkPersKey(clientKey(s), id)
      : drKey(f, `${clientKey(s)} . ${ip} daddr . th dport`);
  const refreshOf = (p: L4Proto) => {
    const t = drFlowTimeoutS(s, timeouts, p);
    return `update @${n.flows} { ${flow}${t ? ` timeout ${t}s` : ''} : meta mark }`;
  };
  const recordOf = (p: L4Proto) =>
    `${refreshOf(p)}${s.persistence ? ` update @${n.pers} { ${pkey} timeout ${s.persistence.timeoutS}s : meta mark }` : ''}`;
  // Traffic counters, just before the packet goes: a scheduled packet (slot or persistence entry) counts
  // as a new connection, one that followed its flow entry as a packet of a known one.
  const count = (kind: number) => `update @${COUNTER_SET} { 0x${kind} . meta mark counter }`;
  const followed = `${count(DR_FOLLOWED)} ${fwd}`;
  const scheduled = `${count(DR_SCHEDULED)} ${fwd}`;
  const pick =
    slots.length === 0
      ? 'meta mark set 0x0'
      : kind === 'rotate'
        ? `meta mark set numgen inc mod ${slots.length} offset ${base}`
        : `meta mark set jhash ${ip} ${kind === 'hash-daddr' ? 'daddr' : 'saddr'}${s.flags.hashPort ? ' . th sport' : ''} mod ${slots.length} seed 0x${HASH_SEED.toString(16)} offset ${base}`;
  const chains = new Map<string, NftChain>();
  // All protocols: the chain's first rule lets the others go, so the pick needs no protocol match.
  chains.set(`${chain}g`, { decl: '', rules: [all ? pick : `meta l4proto ${proto(s.protocol)} ${pick}`] });
  const rules: string[] = all ? [OTHER_PROTOCOLS_RETURN] : [];
  for (const p of protos) {
    const l4 = `meta l4proto ${proto(p)}`;
    const hit = `${l4} meta mark set ${flow} map @${n.flows}`;
    // A flow renews its client's persistence entry only while its server is in the pool (`live`): an
    // inhibited server's entry is deleted and must stay deleted while its connections continue.
    if (s.persistence)
      rules.push(
        `${hit} meta mark set meta mark map @live ${recordOf(p)} ${followed}`,
        `${hit} ${refreshOf(p)} ${followed}`,
      );
    else rules.push(`${hit} ${recordOf(p)} ${followed}`);
  }
  if (s.persistence)
    for (const p of protos)
      rules.push(`meta l4proto ${proto(p)} meta mark set ${pkey} map @${n.pers} ${recordOf(p)} ${scheduled}`);
  rules.push(`jump vs${id}g`);
  for (const p of protos)
    rules.push(`meta l4proto ${proto(p)} meta mark set meta mark map @slots ${recordOf(p)} ${scheduled}`);
  chains.set(chain, { decl: '', rules });
  return { own: { sets: new Map(), chains }, shared };
}

/**
 * The servers a direct-routing service keeps a backend entry for: every listed server, inhibited ones
 * included (their flows continue); the sorry server alone while it is active.
 */
export function drListed(s: ServiceSpec): RealServerSpec[] {
  return s.sorryActive && s.sorry ? [s.sorry] : s.reals;
}

/** True when the service forwards by direct routing (and so lives in the netdev table). */
export function isDr(s: ServiceSpec): boolean {
  return serviceMethod(s) === 'DR';
}

function elemText(set: NftSet, k: string, v: string): string {
  return set.kind === 'map' ? `${k} : ${v}` : k;
}

/** One line per command; `family` is the table's family. */
function addSetCmd(name: string, s: NftSet): string {
  return `add ${s.kind} ${qualified(name)} ${s.decl}`;
}

function addChainCmd(name: string, c: NftChain): string {
  return c.decl ? `add chain ${qualified(name)} { ${c.decl} }` : `add chain ${qualified(name)}`;
}

function addElems(name: string, s: NftSet, keys: Iterable<string>): string[] {
  const parts: string[] = [];
  for (const k of keys) parts.push(elemText(s, k, s.elems.get(k) ?? ''));
  const out: string[] = [];
  // Chunks keep lines short for big tables (Maglev: 4093 slots).
  for (let i = 0; i < parts.length; i += 512)
    out.push(`add element ${qualified(name)} { ${parts.slice(i, i + 512).join(', ')} }`);
  return out;
}

function delElems(name: string, keys: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < keys.length; i += 512)
    out.push(`delete element ${qualified(name)} { ${keys.slice(i, i + 512).join(', ')} }`);
  return out;
}

/**
 * The transaction creating the tables from nothing, removing whatever an earlier run left: the inet
 * table, and of the direct-routing tables those in `drTables` (drTablesFor); `m`'s objects of the others
 * are left out.
 */
export function fullScript(m0: NftModel, drTables: ReadonlySet<DrTable> = ALL_DR_TABLES): string {
  const m = onlyTables(m0, drTables);
  // The comment marks the layout, so that a restarted run knows it may adopt the table (nft-adopt.ts).
  const marked = `{ comment "${LAYOUT_MARKER}"; }`;
  const lines = [
    `add table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `add table inet ${TABLE} ${marked}`,
  ];
  for (const t of ALL_DR_TABLES) {
    lines.push(`add table ${drTableName(t)}`, `delete table ${drTableName(t)}`);
    if (drTables.has(t)) lines.push(`add table ${drTableName(t)} ${marked}`);
  }
  for (const [n, body] of m.timeouts ?? []) lines.push(`add ct timeout inet ${TABLE} ${n} ${body}`);
  for (const [n, c] of m.chains) lines.push(addChainCmd(n, c));
  for (const [n, s] of m.sets) lines.push(addSetCmd(n, s));
  for (const [n, s] of m.sets) if (s.elems.size > 0) lines.push(...addElems(n, s, s.elems.keys()));
  for (const [n, c] of m.chains) for (const r of c.rules) lines.push(`add rule ${qualified(n)} ${r}`);
  return `${lines.join('\n')}\n`;
}

/** The table of the conntrack policy for the director's own connections (localFlowsScript). */
export const CT_TABLE = 'keepalived_ts_ct';
/** Seconds a closed connection opened on the director stays in conntrack (TIME_WAIT and CLOSE). */
export const LOCAL_FLOW_CLOSED_S = 2;

/**
 * The table shortening conntrack's memory of the director's own TCP connections: this namespace tracks
 * connections once the inet table exists, and each check's connection would stay 120 s in TIME_WAIT —
 * 1.2 million entries at 10,000 checks a second, over the 262,144 the kernel holds, after which new ones
 * (checks, clients) are dropped. A policy for connections opened here ends TIME_WAIT and CLOSE after
 * LOCAL_FLOW_CLOSED_S; connections through the director keep the kernel's timeouts. A table of its own,
 * replaced whole at each start (it holds no state): the LVS tables' layout and adoption stay as they are,
 * and a kernel without timeout policies refuses this one alone (docs/lvs.md, "The director's own
 * connections").
 */
export function localFlowsScript(): string {
  const t = `inet ${CT_TABLE}`;
  const policy = `time_wait: ${LOCAL_FLOW_CLOSED_S}, close: ${LOCAL_FLOW_CLOSED_S}`;
  return [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t}`,
    `add ct timeout ${t} local_tcp { protocol tcp; policy = { ${policy} }; }`,
    `add chain ${t} out { type filter hook output priority filter; policy accept; }`,
    `add rule ${t} out ct state new meta l4proto tcp ct timeout set "local_tcp"`,
    '',
  ].join('\n');
}

/** The transaction removing the tables (no error if they are already gone). */
export function removeScript(): string {
  return [`inet ${TABLE}`, `netdev ${DR_TABLE}`, `ip ${DRM_TABLE}`, `ip6 ${DRM_TABLE}`, `inet ${CT_TABLE}`]
    .map((t) => `add table ${t}\ndelete table ${t}\n`)
    .join('');
}

function sameRules(a: NftChain, b: NftChain): boolean {
  return a.decl === b.decl && a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);
}

/**
 * The one transaction taking the kernel from `from` to `to`: new objects added, changed chains flushed
 * and refilled, only differing elements deleted/added, vanished objects deleted after their last
 * reference. Empty string = nothing to do.
 */
export function diffScript(from: NftModel, to: NftModel): string {
  const head: string[] = [];
  const flush: string[] = [];
  const delEl: string[] = [];
  const setSwap: string[] = [];
  const addEl: string[] = [];
  const addRules: string[] = [];
  const tail: string[] = [];
  // Sets whose declaration changed are deleted and re-added; chains using them are rebuilt.
  const redeclared = new Set<string>();
  for (const [n, s] of to.sets) {
    const o = from.sets.get(n);
    if (o && (o.decl !== s.decl || o.kind !== s.kind)) redeclared.add(n);
  }
  const uses = (c: NftChain, names: Set<string>): boolean =>
    names.size > 0 &&
    c.rules.some((r) => [...names].some((n) => r.includes(`@${short(n)} `) || r.endsWith(`@${short(n)}`)));
  const goneSets = new Set([...from.sets.keys()].filter((n) => !to.sets.has(n)));
  // ct timeout objects (only when both models carry them): a changed or vanished one is deleted once the
  // chains naming it are flushed (the kernel refuses to delete an object a rule still uses).
  const objs = from.timeouts && to.timeouts ? { from: from.timeouts, to: to.timeouts } : undefined;
  const objGone = new Set<string>();
  const objSwap: string[] = [];
  const objTail: string[] = [];
  if (objs) {
    for (const [n, body] of objs.to) {
      const o = objs.from.get(n);
      if (o === undefined) head.push(`add ct timeout inet ${TABLE} ${n} ${body}`);
      else if (o !== body) {
        objGone.add(n);
        objSwap.push(`delete ct timeout inet ${TABLE} ${n}`, `add ct timeout inet ${TABLE} ${n} ${body}`);
      }
    }
    for (const n of objs.from.keys())
      if (!objs.to.has(n)) {
        objGone.add(n);
        objTail.push(`delete ct timeout inet ${TABLE} ${n}`);
      }
  }
  const namesObj = (c: NftChain): boolean =>
    objGone.size > 0 && c.rules.some((r) => [...objGone].some((n) => r.includes(`"${n}"`)));
  for (const [n, c] of to.chains) {
    const o = from.chains.get(n);
    if (!o) {
      head.push(addChainCmd(n, c));
      for (const r of c.rules) addRules.push(`add rule ${qualified(n)} ${r}`);
    } else if (o.decl !== c.decl) {
      // Another hook (a DR ingress chain on another device, read back at start): re-created.
      head.push(`delete chain ${qualified(n)}`, addChainCmd(n, c));
      for (const r of c.rules) addRules.push(`add rule ${qualified(n)} ${r}`);
    } else if (!sameRules(o, c) || uses(o, redeclared) || uses(o, goneSets) || namesObj(o)) {
      flush.push(`flush chain ${qualified(n)}`);
      for (const r of c.rules) addRules.push(`add rule ${qualified(n)} ${r}`);
    }
  }
  for (const n of from.chains.keys())
    if (!to.chains.has(n)) {
      flush.push(`flush chain ${qualified(n)}`);
      tail.push(`delete chain ${qualified(n)}`);
    }
  for (const [n, s] of to.sets) {
    const o = from.sets.get(n);
    if (!o) {
      head.push(addSetCmd(n, s));
      if (s.elems.size > 0) addEl.push(...addElems(n, s, s.elems.keys()));
    } else if (redeclared.has(n)) {
      setSwap.push(`delete ${o.kind} ${qualified(n)}`, addSetCmd(n, s));
      if (s.elems.size > 0) addEl.push(...addElems(n, s, s.elems.keys()));
    } else {
      const dels: string[] = [];
      const adds: string[] = [];
      for (const [k, v] of o.elems) {
        const nv = s.elems.get(k);
        if (nv === undefined) dels.push(k);
        else if (nv !== v) {
          dels.push(k);
          adds.push(k);
        }
      }
      for (const k of s.elems.keys()) if (!o.elems.has(k)) adds.push(k);
      if (dels.length > 0) delEl.push(...delElems(n, dels));
      if (adds.length > 0) addEl.push(...addElems(n, s, adds));
    }
  }
  const setTail: string[] = [];
  for (const [n, o] of from.sets) if (!to.sets.has(n)) setTail.push(`delete ${o.kind} ${qualified(n)}`);
  const lines = [
    ...head,
    ...flush,
    ...delEl,
    ...setSwap,
    ...objSwap,
    ...addEl,
    ...addRules,
    ...tail,
    ...setTail,
    ...objTail,
  ];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
