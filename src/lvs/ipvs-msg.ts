// IPVS over generic netlink: the messages keepalived sends to a kernel with IPVS, encoded byte for byte
// (pure). Family "IPVS" version 1; attributes in keepalived's order. The numbering, types and order are
// recorded in docs/lvs.md (section "IPVS generic netlink"). Sending them (and resolving the family id) is
// the job of an adapter; this kernel has no IPVS, so only the bytes are tested here.
import { isIPv4 } from 'node:net';
import { NLA_F_NESTED, NLM_F_ACK, NLM_F_REQUEST } from '../net/nlmsg.js';
import {
  type ForwardMethod,
  type L4Proto,
  listedServers,
  memberPort,
  persistenceMask4,
  type RealServerSpec,
  type ServiceMatch,
  type ServiceSpec,
} from './dataplane.js';

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

export const IpvsCmd = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

const CMD_ATTR = {
  SERVICE: 1,
  DEST: 2,
  DAEMON: 3,
  TIMEOUT_TCP: 4,
  TIMEOUT_TCP_FIN: 5,
  TIMEOUT_UDP: 6,
} as const;
const SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  FWMARK: 5,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
  PE_NAME: 11,
} as const;
const DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ACTIVE_CONNS: 7,
  INACT_CONNS: 8,
  PERSIST_CONNS: 9,
  ADDR_FAMILY: 11,
  TUN_TYPE: 13,
  TUN_PORT: 14,
  TUN_FLAGS: 15,
} as const;

/** IPVS's tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*) and encapsulation flags (IP_VS_TUNNEL_ENCAP_FLAG_*). */
const TUN_TYPE = { ipip: 0, gue: 1, gre: 2 } as const;
const TUN_FLAG = { nocsum: 0, csum: 1, remcsum: 2 } as const;

export const SvcFlag = {
  PERSISTENT: 0x1,
  HASHED: 0x2,
  ONEPACKET: 0x4,
  SCHED1: 0x8,
  SCHED2: 0x10,
  SCHED3: 0x20,
} as const;
export const FwdMethod = { MASQ: 0, LOCALNODE: 1, TUNNEL: 2, DROUTE: 3, BYPASS: 4 } as const;

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO: Record<L4Proto, number> = { tcp: 6, udp: 17, sctp: 132 };

/** An IPVS service as the kernel identifies and configures it. */
export interface IpvsService {
  af: 4 | 6;
  /** Either fwmark, or protocol + address + port. */
  fwmark?: number;
  protocol?: L4Proto;
  address?: string;
  port?: number;
  scheduler: string;
  peName?: string;
  flags: number;
  timeoutS: number;
  /** v4: the mask as a 32-bit value in network byte order on the wire (0xffffffff = one client); v6: prefix length. */
  netmask: number;
}

export interface IpvsDest {
  af: 4 | 6;
  address: string;
  port: number;
  method: ForwardMethod;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  /** TUN only: IPVS's tunnel type (0 ipip, 1 gue, 2 gre), GUE port, encapsulation flags. */
  tunType?: number;
  tunPort?: number;
  tunFlags?: number;
}

/** The IPVS service for one match of a data-plane service (a group gives one IPVS service per member). */
export function ipvsService(s: ServiceSpec, m: ServiceMatch): IpvsService {
  let flags = 0;
  if (s.persistence) flags |= SvcFlag.PERSISTENT;
  if (s.flags.fallback) flags |= SvcFlag.SCHED1;
  if (s.flags.hashPort) flags |= SvcFlag.SCHED2;
  if (s.flags.onePacket) flags |= SvcFlag.ONEPACKET;
  const full = s.family === 4 ? 32 : 128;
  const persistence = s.persistence ?? { timeoutS: 0, prefixLen: full };
  const netmask = s.family === 4 ? persistenceMask4(persistence) : persistence.prefixLen;
  const base = {
    af: s.family,
    scheduler: s.scheduler,
    flags,
    timeoutS: s.persistence?.timeoutS ?? 0,
    netmask,
    ...(s.persistence?.engine ? { peName: s.persistence.engine } : {}),
  };
  return m.kind === 'fwmark'
    ? { ...base, fwmark: m.fwmark }
    : { ...base, protocol: s.protocol, address: m.address, port: m.port };
}

/** The IPVS destination of `r` (in the service of match `m`: memberPort; without one, its own port). */
export function ipvsDest(af: 4 | 6, r: RealServerSpec, m?: ServiceMatch): IpvsDest {
  return {
    // a tunnelled server may be of the other family: its own goes in ADDR_FAMILY
    af: r.method === 'TUN' ? (isIPv4(r.address) ? 4 : 6) : af,
    address: r.address,
    port: m ? memberPort(m, r) : r.port,
    method: r.method,
    weight: r.weight,
    uThreshold: r.uThreshold ?? 0,
    lThreshold: r.lThreshold ?? 0,
    ...(r.method === 'TUN'
      ? {
          tunType: TUN_TYPE[r.tunnel?.type ?? 'ipip'],
          tunPort: r.tunnel?.type === 'gue' ? r.tunnel.port : 0,
          tunFlags: TUN_FLAG[r.tunnel?.csum ?? 'nocsum'],
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Attribute writer

class Writer {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  len = 0;

  #grow(n: number): void {
    if (this.len + n <= this.#buf.length) return;
    const b = new Uint8Array(Math.max(this.#buf.length * 2, this.len + n));
    b.set(this.#buf);
    this.#buf = b;
    this.#view = new DataView(b.buffer);
  }

  u8(v: number): void {
    this.#grow(1);
    this.#view.setUint8(this.len, v);
    this.len += 1;
  }
  u16(v: number, be = false): void {
    this.#grow(2);
    this.#view.setUint16(this.len, v, !be);
    this.len += 2;
  }
  u32(v: number, be = false): void {
    this.#grow(4);
    this.#view.setUint32(this.len, v >>> 0, !be);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.#grow(b.length);
    this.#buf.set(b, this.len);
    this.len += b.length;
  }
  pad(): void {
    while (this.len % 4 !== 0) this.u8(0);
  }
  setU16At(off: number, v: number): void {
    this.#view.setUint16(off, v, true);
  }
  setU32At(off: number, v: number): void {
    this.#view.setUint32(off, v, true);
  }
  /** An attribute whose payload `body` writes; header length excludes the padding, as netlink wants. */
  attr(type: number, body: () => void): void {
    const start = this.len;
    this.u16(0);
    this.u16(type);
    body();
    this.setU16At(start, this.len - start);
    this.pad();
  }
  result(): Uint8Array {
    return this.#buf.slice(0, this.len);
  }
}

/** An address as `union nf_inet_addr`: 16 bytes, IPv4 in the first four. */
export function inetAddr(address: string): Uint8Array {
  const out = new Uint8Array(16);
  if (isIPv4(address)) {
    out.set(address.split('.').map(Number));
    return out;
  }
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

function cString(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

function writeService(w: Writer, s: IpvsService): void {
  w.attr(SVC_ATTR.AF, () => w.u16(s.af === 4 ? AF_INET : AF_INET6));
  if (s.fwmark !== undefined) w.attr(SVC_ATTR.FWMARK, () => w.u32(s.fwmark as number));
  else {
    w.attr(SVC_ATTR.PROTOCOL, () => w.u16(IPPROTO[s.protocol ?? 'tcp']));
    w.attr(SVC_ATTR.ADDR, () => w.bytes(inetAddr(s.address ?? '0.0.0.0')));
    w.attr(SVC_ATTR.PORT, () => w.u16(s.port ?? 0, true));
  }
  w.attr(SVC_ATTR.SCHED_NAME, () => w.bytes(cString(s.scheduler)));
  if (s.peName) w.attr(SVC_ATTR.PE_NAME, () => w.bytes(cString(s.peName as string)));
  w.attr(SVC_ATTR.FLAGS, () => {
    w.u32(s.flags);
    w.u32(0xffffffff);
  });
  w.attr(SVC_ATTR.TIMEOUT, () => w.u32(s.timeoutS));
  // v4 netmask travels in network order; v6 carries a prefix length in host order.
  w.attr(SVC_ATTR.NETMASK, () => w.u32(s.netmask, s.af === 4));
}

const FWD: Record<ForwardMethod, number> = {
  NAT: FwdMethod.MASQ,
  DR: FwdMethod.DROUTE,
  TUN: FwdMethod.TUNNEL,
};

function writeDest(w: Writer, d: IpvsDest): void {
  w.attr(DEST_ATTR.ADDR_FAMILY, () => w.u16(d.af === 4 ? AF_INET : AF_INET6));
  w.attr(DEST_ATTR.ADDR, () => w.bytes(inetAddr(d.address)));
  w.attr(DEST_ATTR.PORT, () => w.u16(d.port, true));
  w.attr(DEST_ATTR.FWD_METHOD, () => w.u32(FWD[d.method] & 0x7));
  w.attr(DEST_ATTR.WEIGHT, () => w.u32(d.weight));
  w.attr(DEST_ATTR.U_THRESH, () => w.u32(d.uThreshold));
  w.attr(DEST_ATTR.L_THRESH, () => w.u32(d.lThreshold));
  // a tunnelled destination's encapsulation, as keepalived 2.2.7 sends it: the type always, the GUE port
  // for gue, the checksum flags unless ipip
  if (d.method === 'TUN' && d.tunType !== undefined) {
    w.attr(DEST_ATTR.TUN_TYPE, () => w.u8(d.tunType ?? 0));
    if (d.tunType === TUN_TYPE.gue) w.attr(DEST_ATTR.TUN_PORT, () => w.u16(d.tunPort ?? 0, true));
    if (d.tunType !== TUN_TYPE.ipip) w.attr(DEST_ATTR.TUN_FLAGS, () => w.u16(d.tunFlags ?? 0));
  }
}

export interface MsgHeader {
  familyId: number;
  seq: number;
  pid?: number;
  flags?: number;
  /** Set NLA_F_NESTED on the nests (newer libnl does; the kernel accepts both). */
  nestedFlag?: boolean;
}

export interface MsgBody {
  service?: IpvsService;
  dest?: IpvsDest;
  /** SET_CONFIG: only the timeouts given are sent (the kernel keeps the others). */
  timeouts?: { tcp?: number; tcpFin?: number; udp?: number };
}

/** One IPVS request: nlmsghdr + genlmsghdr + attributes. */
export function ipvsMessage(cmd: number, h: MsgHeader, body: MsgBody = {}): Uint8Array {
  const w = new Writer();
  w.u32(0); // length, patched below
  w.u16(h.familyId);
  w.u16(h.flags ?? NLM_F_REQUEST | NLM_F_ACK);
  w.u32(h.seq);
  w.u32(h.pid ?? 0);
  w.u8(cmd);
  w.u8(IPVS_GENL_VERSION);
  w.u16(0);
  const nest = h.nestedFlag ? NLA_F_NESTED : 0;
  const { service, dest, timeouts } = body;
  if (service) w.attr(CMD_ATTR.SERVICE | nest, () => writeService(w, service));
  if (dest) w.attr(CMD_ATTR.DEST | nest, () => writeDest(w, dest));
  if (timeouts) {
    const { tcp, tcpFin, udp } = timeouts;
    if (tcp !== undefined) w.attr(CMD_ATTR.TIMEOUT_TCP, () => w.u32(tcp));
    if (tcpFin !== undefined) w.attr(CMD_ATTR.TIMEOUT_TCP_FIN, () => w.u32(tcpFin));
    if (udp !== undefined) w.attr(CMD_ATTR.TIMEOUT_UDP, () => w.u32(udp));
  }
  w.setU32At(0, w.len);
  return w.result();
}

const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_NAME = 2;

/** The nlctrl request resolving the "IPVS" family id. */
export function getFamilyMessage(seq: number, name = IPVS_GENL_NAME): Uint8Array {
  const w = new Writer();
  w.u32(0);
  w.u16(GENL_ID_CTRL);
  w.u16(NLM_F_REQUEST | NLM_F_ACK);
  w.u32(seq);
  w.u32(0);
  w.u8(CTRL_CMD_GETFAMILY);
  w.u8(1);
  w.u16(0);
  w.attr(CTRL_ATTR_FAMILY_NAME, () => w.bytes(cString(name)));
  w.setU32At(0, w.len);
  return w.result();
}

// ---------------------------------------------------------------------------------------------------
// From data-plane changes to IPVS commands

export interface IpvsRequest {
  cmd: number;
  body: MsgBody;
}

/** The kernel's identity of a service: family plus fwmark, or protocol, address and port. */
export function serviceKey(s: IpvsService): string {
  return s.fwmark !== undefined ? `${s.af}|fwm|${s.fwmark}` : `${s.af}|${s.protocol}|${s.address}|${s.port}`;
}

/** The IPVS service keys a service occupies (one per match). */
export function serviceKeys(s: ServiceSpec): string[] {
  return s.matches.map((m) => serviceKey(ipvsService(s, m)));
}

export function destKey(d: { address: string; port: number }): string {
  return `${d.address}|${d.port}`;
}

function sameService(a: IpvsService, b: IpvsService): boolean {
  return (
    a.scheduler === b.scheduler &&
    a.flags === b.flags &&
    a.timeoutS === b.timeoutS &&
    a.netmask === b.netmask &&
    (a.peName ?? '') === (b.peName ?? '')
  );
}

function sameDest(a: IpvsDest, b: IpvsDest): boolean {
  return (
    a.weight === b.weight &&
    a.method === b.method &&
    a.uThreshold === b.uThreshold &&
    a.lThreshold === b.lThreshold &&
    (a.method !== 'TUN' ||
      ((a.tunType ?? 0) === (b.tunType ?? 0) &&
        (a.tunPort ?? 0) === (b.tunPort ?? 0) &&
        (a.tunFlags ?? 0) === (b.tunFlags ?? 0)))
  );
}

/** IPVS services by serviceKey, each with its destinations by destKey. */
export type IpvsView = Map<string, { svc: IpvsService; dests: Map<string, IpvsDest> }>;

/**
 * What `services` look like in IPVS: one service per match, holding the servers listedServers gives (while
 * the sorry server is active, it and the inhibited real servers at weight 0), each at its memberPort.
 */
export function ipvsView(services: readonly ServiceSpec[]): IpvsView {
  const out: IpvsView = new Map();
  for (const s of services) {
    const listed = listedServers(s);
    for (const m of s.matches) {
      const svc = ipvsService(s, m);
      const dests = new Map(
        listed.map((r) => {
          const d = ipvsDest(s.family, r, m);
          return [destKey(d), d];
        }),
      );
      out.set(serviceKey(svc), { svc, dests });
    }
  }
  return out;
}

/**
 * The IPVS requests taking the kernel from `before` to `after` for the services a plan touched (pure):
 * deleted services first, then new services with their destinations, then edits. The sorry server, while
 * active, is the service's only destination, as keepalived programs it.
 */
export function ipvsRequests(before: readonly ServiceSpec[], after: readonly ServiceSpec[]): IpvsRequest[] {
  return ipvsViewRequests(ipvsView(before), ipvsView(after));
}

/** ipvsRequests between two views (also used with a view read back from the kernel). */
export function ipvsViewRequests(a: IpvsView, b: IpvsView): IpvsRequest[] {
  const out: IpvsRequest[] = [];
  for (const [k, o] of a) if (!b.has(k)) out.push({ cmd: IpvsCmd.DEL_SERVICE, body: { service: o.svc } });
  for (const [k, n] of b) {
    const o = a.get(k);
    if (!o) {
      out.push({ cmd: IpvsCmd.NEW_SERVICE, body: { service: n.svc } });
      for (const d of n.dests.values())
        out.push({ cmd: IpvsCmd.NEW_DEST, body: { service: n.svc, dest: d } });
      continue;
    }
    if (!sameService(o.svc, n.svc)) out.push({ cmd: IpvsCmd.SET_SERVICE, body: { service: n.svc } });
    for (const [dk, d] of o.dests)
      if (!n.dests.has(dk)) out.push({ cmd: IpvsCmd.DEL_DEST, body: { service: n.svc, dest: d } });
    for (const [dk, d] of n.dests) {
      const od = o.dests.get(dk);
      if (!od) out.push({ cmd: IpvsCmd.NEW_DEST, body: { service: n.svc, dest: d } });
      else if (!sameDest(od, d)) out.push({ cmd: IpvsCmd.SET_DEST, body: { service: n.svc, dest: d } });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Replies (GET_SERVICE / GET_DEST dumps)

interface Attr {
  type: number;
  data: Uint8Array;
}

function attrs(b: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  while (off + 4 <= b.length) {
    const len = v.getUint16(off, true);
    if (len < 4 || off + len > b.length) break;
    const a: Attr = { type: v.getUint16(off + 2, true) & 0x3fff, data: b.subarray(off + 4, off + len) };
    out.set(a.type, a.data);
    off += (len + 3) & ~3;
  }
  return out;
}

const u16 = (b: Uint8Array | undefined, be = false) =>
  b && b.length >= 2 ? new DataView(b.buffer, b.byteOffset, 2).getUint16(0, !be) : 0;
const u32 = (b: Uint8Array | undefined, be = false) =>
  b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, !be) : 0;
const cstr = (b: Uint8Array | undefined) => {
  if (!b) return '';
  const z = b.indexOf(0);
  return new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
};

/** An address from `union nf_inet_addr`, in the form node:net prints (IPv6 compressed). */
export function addrFromInet(b: Uint8Array, af: 4 | 6): string {
  if (af === 4) return [...b.subarray(0, 4)].join('.');
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0));
  // the longest run (≥ 2) of zero groups becomes "::", as RFC 5952 (and node:net) write it
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

const PROTO_BY_NUM: Record<number, L4Proto> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const METHOD_BY_NUM: Record<number, ForwardMethod> = { 0: 'NAT', 1: 'NAT', 2: 'TUN', 3: 'DR' };

/** The service in a GET_SERVICE reply's payload (after nlmsghdr), HASHED flag removed; undefined if none. */
export function parseServiceReply(payload: Uint8Array): IpvsService | undefined {
  const top = attrs(payload.subarray(4));
  const nest = top.get(CMD_ATTR.SERVICE);
  if (!nest) return undefined;
  const a = attrs(nest);
  const af = u16(a.get(SVC_ATTR.AF)) === AF_INET6 ? 6 : 4;
  const flagsB = a.get(SVC_ATTR.FLAGS);
  const svc: IpvsService = {
    af,
    scheduler: cstr(a.get(SVC_ATTR.SCHED_NAME)),
    flags: u32(flagsB) & ~SvcFlag.HASHED,
    timeoutS: u32(a.get(SVC_ATTR.TIMEOUT)),
    netmask: u32(a.get(SVC_ATTR.NETMASK), af === 4),
  };
  const pe = cstr(a.get(SVC_ATTR.PE_NAME));
  if (pe) svc.peName = pe;
  const fwm = a.get(SVC_ATTR.FWMARK);
  if (fwm && u32(fwm) !== 0) svc.fwmark = u32(fwm);
  else {
    const proto = PROTO_BY_NUM[u16(a.get(SVC_ATTR.PROTOCOL))];
    if (!proto) return undefined;
    svc.protocol = proto;
    svc.address = addrFromInet(a.get(SVC_ATTR.ADDR) ?? new Uint8Array(16), af);
    svc.port = u16(a.get(SVC_ATTR.PORT), true);
  }
  return svc;
}

/** A service's or destination's traffic counters (IPVS_*_ATTR_STATS64, else IPVS_*_ATTR_STATS). */
export interface IpvsStats {
  conns: number;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

const STATS_ATTR = { CONNS: 1, INPKTS: 2, OUTPKTS: 3, INBYTES: 4, OUTBYTES: 5 } as const;
/** The nested statistics attributes of a service and of a destination (same numbers in both). */
const STATS_NEST = { STATS: 10, STATS64: 12 } as const;

/** An unsigned counter of 4 or 8 bytes (host order), as a number (exact below 2^53). */
const counter = (b: Uint8Array | undefined) => {
  if (!b) return 0;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return b.length >= 8 ? Number(v.getBigUint64(0, true)) : b.length >= 4 ? v.getUint32(0, true) : 0;
};

/** The 64-bit statistics when the kernel sent them (Linux ≥ 4.1), else the 32-bit ones; undefined if neither. */
function parseStats(a: Map<number, Uint8Array>): IpvsStats | undefined {
  const nest = a.get(STATS_NEST.STATS64) ?? a.get(STATS_NEST.STATS);
  if (!nest) return undefined;
  const s = attrs(nest);
  return {
    conns: counter(s.get(STATS_ATTR.CONNS)),
    inPackets: counter(s.get(STATS_ATTR.INPKTS)),
    outPackets: counter(s.get(STATS_ATTR.OUTPKTS)),
    inBytes: counter(s.get(STATS_ATTR.INBYTES)),
    outBytes: counter(s.get(STATS_ATTR.OUTBYTES)),
  };
}

/** The statistics in a GET_SERVICE reply's payload (after nlmsghdr); undefined if it has none. */
export function parseServiceStats(payload: Uint8Array): IpvsStats | undefined {
  const nest = attrs(payload.subarray(4)).get(CMD_ATTR.SERVICE);
  return nest ? parseStats(attrs(nest)) : undefined;
}

export interface IpvsDestReply extends IpvsDest {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats?: IpvsStats;
}

/** The destination in a GET_DEST reply's payload (after nlmsghdr), with its connection counters. */
export function parseDestReply(payload: Uint8Array, svcAf: 4 | 6): IpvsDestReply | undefined {
  const nest = attrs(payload.subarray(4)).get(CMD_ATTR.DEST);
  if (!nest) return undefined;
  const a = attrs(nest);
  const famB = a.get(DEST_ATTR.ADDR_FAMILY);
  const af = famB ? (u16(famB) === AF_INET6 ? 6 : 4) : svcAf;
  const stats = parseStats(a);
  return {
    af,
    address: addrFromInet(a.get(DEST_ATTR.ADDR) ?? new Uint8Array(16), af),
    port: u16(a.get(DEST_ATTR.PORT), true),
    method: METHOD_BY_NUM[u32(a.get(DEST_ATTR.FWD_METHOD)) & 0x7] ?? 'NAT',
    weight: u32(a.get(DEST_ATTR.WEIGHT)),
    uThreshold: u32(a.get(DEST_ATTR.U_THRESH)),
    lThreshold: u32(a.get(DEST_ATTR.L_THRESH)),
    ...(a.has(DEST_ATTR.TUN_TYPE)
      ? {
          tunType: a.get(DEST_ATTR.TUN_TYPE)?.[0] ?? 0,
          tunPort: u16(a.get(DEST_ATTR.TUN_PORT), true),
          tunFlags: u16(a.get(DEST_ATTR.TUN_FLAGS)),
        }
      : {}),
    activeConns: u32(a.get(DEST_ATTR.ACTIVE_CONNS)),
    inactConns: u32(a.get(DEST_ATTR.INACT_CONNS)),
    persistConns: u32(a.get(DEST_ATTR.PERSIST_CONNS)),
    ...(stats ? { stats } : {}),
  };
}
