// The fast path of a verdict: the element changes (and the slot-count rule of a pick chain) that a change
// to one service makes, encoded as one nf_tables netlink batch and sent over our own NETLINK_NETFILTER
// socket. libnftables refreshes its cache (a dump of every chain) before each transaction, which costs in
// proportion to the table; this batch needs no cache. The batch is atomic like libnftables' (the kernel
// commits all of it or none). Anything this file cannot encode returns undefined and the caller sends the
// libnftables script instead. Message layout and the comparison with nft: docs/lvs.md ("Raw element batches").
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOL_NETLINK,
  SOL_SOCKET,
} from '../net/libc.js';
import { nlattr, nlattrString } from '../net/netlink-messages.js';
import {
  NETLINK_NETFILTER,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_INET,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFPROTO_NETDEV,
  NLA_F_NESTED,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_REQUEST,
  NLMSG_ERROR,
} from '../net/nlmsg.js';
import { RawSocket } from '../net/raw-socket.js';
import { forEachKernelMessage } from '../net/rtnl-socket.js';
import { int32, sockaddrNl } from '../net/sockaddr.js';
import { DR_TABLE, DRM_TABLE, type NftModel, TABLE } from './nft-model.js';

export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_DELRULE = 8;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFT_GOTO = -4;
/** Elements per message: the element list is one attribute, whose length is 16 bits. */
const ELEMS_PER_MSG = 512;
const PROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

type Field = 'mark' | 'a4' | 'a6' | 'proto' | 'port' | 'verdict';
/** Key and value layout of each shared map (src/lvs/nft-model.ts, baseModel). */
const LAYOUT: Record<string, { key: Field[]; value: Field[] }> = {
  svc4: { key: ['a4', 'proto', 'port'], value: ['verdict'] },
  svc6: { key: ['a6', 'proto', 'port'], value: ['verdict'] },
  fwm4: { key: ['mark'], value: ['verdict'] },
  fwm6: { key: ['mark'], value: ['verdict'] },
  recm: { key: ['mark'], value: ['verdict'] },
  slots: { key: ['mark'], value: ['mark'] },
  bk4: { key: ['mark'], value: ['a4', 'port'] },
  bk6: { key: ['mark'], value: ['a6', 'port'] },
  bka4: { key: ['mark'], value: ['a4'] },
  bka6: { key: ['mark'], value: ['a6'] },
  'dr/svc4': { key: ['a4', 'proto', 'port'], value: ['verdict'] },
  'dr/svc6': { key: ['a6', 'proto', 'port'], value: ['verdict'] },
  'dr/slots': { key: ['mark'], value: ['mark'] },
  'dr/live': { key: ['mark'], value: ['mark'] },
  'dr/bk4': { key: ['mark'], value: ['a4'] },
  'dr/bk6': { key: ['mark'], value: ['a6'] },
  // Direct routing of fwmark services (`ip`/`ip6` tables).
  'fm4/fwm': { key: ['mark'], value: ['verdict'] },
  'fm4/slots': { key: ['mark'], value: ['mark'] },
  'fm4/live': { key: ['mark'], value: ['mark'] },
  'fm4/bk': { key: ['mark'], value: ['a4'] },
  'fm6/fwm': { key: ['mark'], value: ['verdict'] },
  'fm6/slots': { key: ['mark'], value: ['mark'] },
  'fm6/live': { key: ['mark'], value: ['mark'] },
  'fm6/bk': { key: ['mark'], value: ['a6'] },
};

/** The shared maps' element layouts, for reading them back (src/lvs/nft-adopt.ts). */
export { LAYOUT as ELEM_LAYOUT };
export type ElemField = Field;

const nest = (type: number, parts: Uint8Array[]): Buffer => nlattr(type | NLA_F_NESTED, Buffer.concat(parts));
function be32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v | 0, 0);
  return nlattr(type, b);
}

function ip6Bytes(text: string): Buffer | undefined {
  if (text.includes('.') || text.includes('%')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  const b = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  }
  return b;
}

/**
 * One field of a concatenation as the kernel stores it: each field takes a multiple of 4 bytes; marks in
 * host order (little endian here), addresses and ports in network order, a protocol in its one byte.
 */
function fieldBytes(f: Exclude<Field, 'verdict'>, text: string): Buffer | undefined {
  const b = Buffer.alloc(4);
  switch (f) {
    case 'mark': {
      if (!/^0x[0-9a-f]{1,8}$/i.test(text)) return undefined;
      b.writeUInt32LE(Number.parseInt(text.slice(2), 16), 0);
      return b;
    }
    case 'a4': {
      const p = text.split('.').map(Number);
      if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
      return Buffer.from(p);
    }
    case 'a6':
      return ip6Bytes(text);
    case 'proto': {
      const n = PROTO[text];
      if (n === undefined) return undefined;
      b[0] = n;
      return b;
    }
    case 'port': {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0 || n > 65535) return undefined;
      b.writeUInt16BE(n, 0);
      return b;
    }
  }
}

/** NFTA_DATA_* of a key or value text (`a . b . c`, or `goto chain`); undefined when not encodable. */
function dataAttr(type: number, layout: Field[], text: string): Buffer | undefined {
  if (layout[0] === 'verdict') {
    const m = /^goto ([A-Za-z0-9_]+)$/.exec(text);
    if (!m) return undefined;
    // NFTA_DATA_VERDICT { NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN }
    return nest(type, [nest(2, [be32(1, NFT_GOTO), nlattrString(2, m[1] as string)])]);
  }
  const parts = text.split(' . ');
  if (parts.length !== layout.length) return undefined;
  const bytes: Buffer[] = [];
  for (const [i, f] of layout.entries()) {
    const b = fieldBytes(f as Exclude<Field, 'verdict'>, parts[i] as string);
    if (!b) return undefined;
    bytes.push(b);
  }
  // NFTA_DATA_VALUE
  return nest(type, [nlattr(1, Buffer.concat(bytes))]);
}

/** One batch message: nlmsghdr + nfgenmsg (family, version 0, res_id in network order) + attributes. */
function message(
  type: number,
  flags: number,
  seq: number,
  family: number,
  resId: number,
  attrs: Buffer[],
): Buffer {
  const body = Buffer.concat(attrs);
  const h = Buffer.alloc(20);
  h.writeUInt32LE(20 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  h.writeUInt32LE(0, 12);
  h[16] = family;
  h[17] = 0;
  h.writeUInt16BE(resId, 18);
  return Buffer.concat([h, body]);
}

/** A table's family and name for a model object name (`dr/…` lives in the netdev table). */
function where(name: string): { family: number; table: string; short: string } {
  if (name.startsWith('fm4/')) return { family: NFPROTO_IPV4, table: DRM_TABLE, short: name.slice(4) };
  if (name.startsWith('fm6/')) return { family: NFPROTO_IPV6, table: DRM_TABLE, short: name.slice(4) };
  return name.startsWith('dr/')
    ? { family: NFPROTO_NETDEV, table: DR_TABLE, short: name.slice(3) }
    : { family: NFPROTO_INET, table: TABLE, short: name };
}

/** One operation of a raw batch, in the order diffScript sends the same change. */
export type RawOp =
  | { op: 'flush'; chain: string }
  | { op: 'delelem'; set: string; keys: string[] }
  | { op: 'addelem'; set: string; elems: [string, string][] }
  | { op: 'rule'; chain: string; modulus: number; offset: number }
  | { op: 'pick'; chain: string; pick: NatPick }
  /**
   * A direct-routing pick rule: `meta l4proto P meta mark set numgen inc mod N offset B`; proto 0: without
   * the protocol match (a fwmark service, which serves every protocol).
   */
  | { op: 'drrule'; chain: string; proto: number; modulus: number; offset: number }
  /** A direct-routing pick rule besides the rotation: `[meta l4proto P] meta mark set 0x0` or a jhash. */
  | { op: 'drpick'; chain: string; proto: number; pick: DrPick };

/**
 * A direct-routing service's pick besides the rotation (chain `dr/vs<id>g`, `fm4/…`, `fm6/…`): an empty
 * pool's `meta mark set 0x0`, or a hash of the source or destination address (and `th sport`).
 */
export type DrPick =
  | { kind: 'none' }
  | {
      kind: 'hash';
      family: 4 | 6;
      field: 'saddr' | 'daddr';
      /** sh-port / mh-port: `th sport` joins the hash. */
      port: boolean;
      modulus: number;
      seed: number;
      offset: number;
    };

const PICK = /^ct mark set numgen inc mod (\d+) offset (\d+)$/;

/**
 * The operations taking the kernel from `from` to `to` when they are element changes of the shared maps
 * plus, at most, the rewritten rotation rule of pick chains (`ct mark set numgen inc mod N offset B`);
 * undefined when anything else differs (then diffScript's libnftables transaction is the way).
 */
/** Whether raw batches can carry elements of map `set`. */
export const rawMap = (set: string): boolean => LAYOUT[set] !== undefined;

export function rawOps(from: NftModel, to: NftModel): RawOp[] | undefined {
  const flush: RawOp[] = [];
  const rules: RawOp[] = [];
  if (from.chains.size !== to.chains.size || from.sets.size !== to.sets.size) return undefined;
  for (const [n, c] of to.chains) {
    const o = from.chains.get(n);
    if (!o || o.decl !== c.decl) return undefined;
    if (o.rules.length === c.rules.length && o.rules.every((r, i) => r === c.rules[i])) continue;
    const dr = drPickOp(n, o.rules, c.rules);
    if (dr) {
      flush.push({ op: 'flush', chain: n });
      rules.push(dr);
      continue;
    }
    const op = c.rules.length === 1 && o.rules.length === 1 ? natPickOp(n, c.rules[0] as string) : undefined;
    if (!op) return undefined;
    flush.push({ op: 'flush', chain: n });
    rules.push(op);
  }
  const dels: RawOp[] = [];
  const adds: RawOp[] = [];
  for (const [n, s] of to.sets) {
    const o = from.sets.get(n);
    if (!o || o.decl !== s.decl || o.kind !== s.kind) return undefined;
    if (o.elems.size === 0 && s.elems.size === 0) continue;
    if (!LAYOUT[n] || s.kind !== 'map') return undefined;
    const d: string[] = [];
    const a: [string, string][] = [];
    for (const [k, v] of o.elems) {
      const nv = s.elems.get(k);
      if (nv === undefined) d.push(k);
      else if (nv !== v) {
        d.push(k);
        a.push([k, nv]);
      }
    }
    for (const [k, v] of s.elems) if (!o.elems.has(k)) a.push([k, v]);
    if (d.length > 0) dels.push({ op: 'delelem', set: n, keys: d });
    if (a.length > 0) adds.push({ op: 'addelem', set: n, elems: a });
  }
  return [...flush, ...dels, ...adds, ...rules];
}

/**
 * The scheduler's pick of a NAT service (the one rule of chain `vs<id>g`, src/lvs/nft-model.ts) besides
 * the rotation: an empty pool's `ct mark set 0x0`, or a hash of the source or destination address (and
 * source port) into the service's slots.
 */
export type NatPick =
  | { kind: 'none' }
  | {
      kind: 'hash';
      family: 4 | 6;
      field: 'saddr' | 'daddr';
      /**
       * sh-port / mh-port: the source port of this protocol joins the hash; `th`: of whatever transport
       * protocol the packet has (a fwmark service).
       */
      port?: 'tcp' | 'udp' | 'sctp' | 'th';
      modulus: number;
      seed: number;
      offset: number;
    };

const NAT_PICK_CHAIN = /^vs\d+g$/;
const HASH_PICK =
  /^ct mark set jhash (ip|ip6) (saddr|daddr)(?: \. (tcp|udp|sctp|th) sport)? mod (\d+) seed 0x([0-9a-f]{1,8}) offset (\d+)$/;

/** The raw operation writing `rule` as the new pick of NAT pick chain `chain`; undefined if not one. */
function natPickOp(chain: string, rule: string): RawOp | undefined {
  if (!NAT_PICK_CHAIN.test(chain)) return undefined;
  const r = PICK.exec(rule);
  if (r) return { op: 'rule', chain, modulus: Number(r[1]), offset: Number(r[2]) };
  if (rule === 'ct mark set 0x0') return { op: 'pick', chain, pick: { kind: 'none' } };
  const h = HASH_PICK.exec(rule);
  if (!h) return undefined;
  const pick: NatPick = {
    kind: 'hash',
    family: h[1] === 'ip' ? 4 : 6,
    field: h[2] as 'saddr' | 'daddr',
    modulus: Number(h[4]),
    seed: Number.parseInt(h[5] as string, 16),
    offset: Number(h[6]),
  };
  if (h[3]) pick.port = h[3] as 'tcp' | 'udp' | 'sctp' | 'th';
  return { op: 'pick', chain, pick };
}

const u32 = (type: number, v: number): Buffer => be32(type, v);
const expr = (name: string, data: Buffer[]): Buffer => nest(1, [nlattrString(1, name), nest(2, data)]);
/** `ct mark set <register 1>`: ct { NFTA_CT_KEY mark (3), NFTA_CT_SREG 1 }. */
const ctMarkSet = (): Buffer => expr('ct', [u32(2, 3), u32(4, 1)]);
/** meta KEY → register 1, then cmp register 1 == `bytes` (nft's protocol matches and dependency checks). */
function metaIs(key: number, bytes: number[]): Buffer[] {
  return [
    expr('meta', [u32(2, key), u32(1, 1)]),
    expr('cmp', [u32(1, 1), u32(2, 0), nest(3, [nlattr(1, Buffer.from(bytes))])]),
  ];
}
/**
 * nft's register for a concatenation field `bytes` bytes after the start of 16-byte register 2: the
 * 16-byte register number when aligned to it, else the 32-bit one (NFT_REG32_00 = 8 is register 1's start).
 */
const concatReg = (bytes: number): number =>
  (16 + bytes) % 16 === 0 ? 1 + (16 + bytes) / 16 : 8 + (16 + bytes) / 4;

/** `immediate { DREG 1, DATA { VALUE 0 } }`: the empty pool's mark 0 into register 1. */
const zeroToReg1 = (): Buffer => expr('immediate', [u32(1, 1), nest(2, [nlattr(1, Buffer.alloc(4))])]);

/**
 * The address (and source port) payloads concatenated from register 2 on, then `hash` of them into
 * register 1: the jhash pick NAT and direct-routing services share.
 */
function jhashExprs(p: Omit<Extract<DrPick, { kind: 'hash' }>, 'kind'>): Buffer[] {
  const alen = p.family === 4 ? 4 : 16;
  const aoff = (p.family === 4 ? 12 : 8) + (p.field === 'daddr' ? alen : 0);
  // payload { DREG, BASE network (1) / transport (2), OFFSET, LEN }
  const out = [expr('payload', [u32(1, concatReg(0)), u32(2, 1), u32(3, aoff), u32(4, alen)])];
  let len = alen;
  if (p.port) {
    out.push(expr('payload', [u32(1, concatReg(alen)), u32(2, 2), u32(3, 0), u32(4, 2)]));
    len += 4;
  }
  // hash { SREG 2, DREG 1, LEN, MODULUS, SEED, OFFSET, TYPE jhash (0) }
  out.push(
    expr('hash', [
      u32(1, 2),
      u32(2, 1),
      u32(3, len),
      u32(4, p.modulus),
      u32(5, p.seed),
      u32(6, p.offset),
      u32(7, 0),
    ]),
  );
  return out;
}

/** The expressions of a pick rule, in nft 1.0.6's order (compared byte for byte in test/lvs/nft-raw.test.ts). */
function natPickExprs(p: NatPick): Buffer[] {
  if (p.kind === 'none') return [zeroToReg1(), ctMarkSet()];
  const out = metaIs(0x0f, [p.family === 4 ? 2 : 10]); // meta nfproto ipv4 / ipv6
  // meta l4proto; `th sport` needs no dependency
  if (p.port && p.port !== 'th') out.push(...metaIs(0x10, [PROTO[p.port] as number]));
  out.push(...jhashExprs({ ...p, port: p.port !== undefined }), ctMarkSet());
  return out;
}

// The protocol match is absent from the picks of fwmark services (they serve every protocol): proto 0.
const DR_PICK = /^(?:meta l4proto (tcp|udp|sctp) )?meta mark set numgen inc mod (\d+) offset (\d+)$/;
const DR_PICK_CHAIN = /^(dr|fm4|fm6)\/vs\d+g$/;

const DR_NONE = /^(?:meta l4proto (tcp|udp|sctp) )?meta mark set 0x0$/;
const DR_HASH =
  /^(?:meta l4proto (tcp|udp|sctp) )?meta mark set jhash (ip|ip6) (saddr|daddr)( \. th sport)? mod (\d+) seed 0x([0-9a-f]{1,8}) offset (\d+)$/;

/**
 * The raw operation rewriting a direct-routing service's pick chain (`dr/vs<id>g`, `fm4/…`, `fm6/…`) to
 * its new pick (rotation, empty pool or hash), or undefined when the chain or the rule is anything else
 * (then libnftables).
 */
function drPickOp(chain: string, from: string[], to: string[]): RawOp | undefined {
  if (!DR_PICK_CHAIN.test(chain) || from.length !== 1 || to.length !== 1) return undefined;
  const rule = to[0] as string;
  const protoOf = (p: string | undefined): number => (p ? (PROTO[p] as number) : 0);
  const m = DR_PICK.exec(rule);
  if (m) return { op: 'drrule', chain, proto: protoOf(m[1]), modulus: Number(m[2]), offset: Number(m[3]) };
  const n = DR_NONE.exec(rule);
  if (n) return { op: 'drpick', chain, proto: protoOf(n[1]), pick: { kind: 'none' } };
  const h = DR_HASH.exec(rule);
  if (!h) return undefined;
  return {
    op: 'drpick',
    chain,
    proto: protoOf(h[1]),
    pick: {
      kind: 'hash',
      family: h[2] === 'ip' ? 4 : 6,
      field: h[3] as 'saddr' | 'daddr',
      port: h[4] !== undefined,
      modulus: Number(h[5]),
      seed: Number.parseInt(h[6] as string, 16),
      offset: Number(h[7]),
    },
  };
}

/** `meta mark set <register 1>`: meta { NFTA_META_KEY mark (3), NFTA_META_SREG 1 }. */
const metaMarkSet = (): Buffer => expr('meta', [u32(2, 3), u32(3, 1)]);

/**
 * The expressions of a direct-routing pick besides the rotation, in nft 1.0.6's order (compared byte for
 * byte in test/lvs/dr-raw.test.ts): the protocol match (meta l4proto + cmp); then an empty pool's
 * `immediate { dreg 1, data 0 }`, or the hash: in the netdev table the dependency nft adds for an `ip`/`ip6`
 * field (`meta { key protocol (1), dreg 1 }` + `cmp` of the ethertype's two bytes, 08 00 or 86 dd; the
 * `ip`/`ip6` tables need none), the address (and source port) payloads as for NAT, `hash`; last, `meta
 * mark set`.
 */
function drHashPickExprs(netdev: boolean, proto: number, p: DrPick): Buffer[] {
  const out = proto ? metaIs(0x10, [proto]) : [];
  if (p.kind === 'none') {
    out.push(zeroToReg1(), metaMarkSet());
    return out;
  }
  if (netdev) out.push(...metaIs(1, p.family === 4 ? [0x08, 0x00] : [0x86, 0xdd]));
  out.push(...jhashExprs(p), metaMarkSet());
  return out;
}

/**
 * NFTA_RULE_EXPRESSIONS of a direct-routing pick, as nft 1.0.6 encodes it: meta { key l4proto (16),
 * dreg 1 }, cmp { sreg 1, op eq, data { value: the protocol's byte } }, numgen { dreg 1, modulus, type
 * inc, offset }, meta { key mark (3), sreg 1 }.
 */
function drPickExprs(o: { proto: number; modulus: number; offset: number }): Buffer {
  return nest(4, [
    ...(o.proto ? metaIs(0x10, [o.proto]) : []),
    expr('numgen', [u32(1, 1), u32(2, o.modulus), u32(3, 0), u32(4, o.offset)]),
    metaMarkSet(),
  ]);
}

/** The element list attribute of `keys` (and values) for set `n`; undefined if one is not encodable. */
function elemList(n: string, items: [string, string | undefined][]): Buffer | undefined {
  const l = LAYOUT[n];
  if (!l) return undefined;
  const els: Buffer[] = [];
  for (const [k, v] of items) {
    const key = dataAttr(1, l.key, k);
    const val = v === undefined ? undefined : dataAttr(2, l.value, v);
    if (!key || (v !== undefined && !val)) return undefined;
    // NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_DATA }
    els.push(nest(1, val ? [key, val] : [key]));
  }
  return nest(3, els);
}

/**
 * The messages of one batch for `ops` (BATCH_BEGIN … BATCH_END), sequence numbers from `seq`. Every
 * change message asks for an acknowledgement (NLM_F_ACK; nft does not, it waits for errors only), so the
 * sender knows for certain when the kernel has committed. Undefined when something is not encodable.
 */
export function encodeBatch(
  ops: readonly RawOp[],
  seq: number,
): { bytes: Buffer; seqs: number[] } | undefined {
  const msgs: Buffer[] = [message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq++, 0, NFNL_SUBSYS_NFTABLES, [])];
  const seqs: number[] = [];
  const push = (type: number, flags: number, family: number, attrs: Buffer[]) => {
    seqs.push(seq);
    msgs.push(
      message((NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_REQUEST | NLM_F_ACK | flags, seq++, family, 0, attrs),
    );
  };
  for (const o of ops) {
    if (o.op === 'drpick') {
      const w = where(o.chain);
      const exprs = drHashPickExprs(w.family === NFPROTO_NETDEV, o.proto, o.pick);
      push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, w.family, [
        nlattrString(1, w.table),
        nlattrString(2, w.short),
        nest(4, exprs),
      ]);
      continue;
    }
    if (o.op === 'drrule') {
      const w = where(o.chain);
      const attrs = [nlattrString(1, w.table), nlattrString(2, w.short), drPickExprs(o)];
      push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, w.family, attrs);
      continue;
    }
    if (o.op === 'flush' || o.op === 'rule' || o.op === 'pick') {
      const w = where(o.chain);
      const head = [nlattrString(1, w.table), nlattrString(2, w.short)];
      if (o.op === 'flush') push(NFT_MSG_DELRULE, 0, w.family, head);
      else if (o.op === 'pick')
        push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, w.family, [
          ...head,
          nest(4, natPickExprs(o.pick)),
        ]);
      else {
        // numgen { dreg 1, modulus, type inc (0), offset } then ct { key mark (3), sreg 1 }
        const numgen = nest(1, [
          nlattrString(1, 'numgen'),
          nest(2, [be32(1, 1), be32(2, o.modulus), be32(3, 0), be32(4, o.offset)]),
        ]);
        const ct = nest(1, [nlattrString(1, 'ct'), nest(2, [be32(2, 3), be32(4, 1)])]);
        push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, w.family, [...head, nest(4, [numgen, ct])]);
      }
      continue;
    }
    const w = where(o.set);
    const items: [string, string | undefined][] =
      o.op === 'delelem' ? o.keys.map((k) => [k, undefined]) : o.elems;
    for (let i = 0; i < items.length; i += ELEMS_PER_MSG) {
      const list = elemList(o.set, items.slice(i, i + ELEMS_PER_MSG));
      if (!list) return undefined;
      const attrs = [nlattrString(1, w.table), nlattrString(2, w.short), list];
      if (o.op === 'delelem') push(NFT_MSG_DELSETELEM, 0, w.family, attrs);
      else push(NFT_MSG_NEWSETELEM, NLM_F_CREATE, w.family, attrs);
    }
  }
  msgs.push(message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, 0, NFNL_SUBSYS_NFTABLES, []));
  return { bytes: Buffer.concat(msgs), seqs };
}

/** `disable`: the socket cannot be used at all (no point trying again: libnftables from now on). */
export type RawResult = { ok: true } | { ok: false; message: string; disable?: boolean };

export interface RawSender {
  /** Sends one batch; resolves when the kernel acknowledged every message, or with the first error. */
  send(ops: readonly RawOp[]): Promise<RawResult>;
  close(): void;
}

/** Below the usual default send buffer (212,992 bytes): a batch this long needs no larger one. */
const DEFAULT_SNDBUF = 200_000;

/**
 * A NETLINK_NETFILTER socket of this process's network namespace (the one libnftables programs). One
 * batch at a time (the data plane serialises its transactions).
 */
export function netlinkRawSender(timeoutMs = 2000): RawSender {
  let sock: RawSocket | undefined;
  let seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
  let pending: { want: Set<number>; settle: (r: RawResult) => void } | undefined;
  /** What the send buffer holds for sure: a longer batch (thousands of elements) raises it first. */
  let sndbuf = DEFAULT_SNDBUF;
  const open = (): RawSocket | string => {
    if (sock) return sock;
    const r = RawSocket.open(AF_NETLINK, NETLINK_NETFILTER, 'nf_tables');
    if (!r.ok) return r.error.message;
    const s = r.value;
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, int32(1 << 20));
    s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, int32(1));
    const bound = s.bind(sockaddrNl(0, 0));
    const recv = bound.ok
      ? s.onDatagram(
          (bytes, source) =>
            forEachKernelMessage(bytes, source, (type, mseq, off, _len, v) => {
              if (!pending || type !== NLMSG_ERROR || !pending.want.has(mseq)) return true;
              const err = v.getInt32(off + 16, true);
              if (err !== 0) {
                pending.settle({ ok: false, message: `nf_tables batch refused: errno ${-err}` });
                return false;
              }
              pending.want.delete(mseq);
              if (pending.want.size === 0) pending.settle({ ok: true });
              return true;
            }),
          (e) => pending?.settle({ ok: false, message: e.message }),
        )
      : bound;
    if (!recv.ok) {
      s.close();
      return recv.error.message;
    }
    s.unref();
    sock = s;
    return s;
  };
  return {
    send(ops) {
      if (pending) return Promise.resolve({ ok: false, message: 'a raw batch is already in flight' });
      const s = open();
      if (typeof s === 'string')
        return Promise.resolve({
          ok: false,
          message: `cannot open a netfilter netlink socket: ${s}`,
          disable: true,
        });
      const b = encodeBatch(ops, seq);
      if (!b) return Promise.resolve({ ok: false, message: 'not encodable' });
      seq = (seq + b.seqs.length + 2) & 0x7fffffff;
      if (b.seqs.length === 0) return Promise.resolve({ ok: true });
      // A netlink datagram longer than the socket's send buffer is refused (EMSGSIZE); the kernel doubles
      // the size asked for. As root the system's cap (wmem_max) does not apply (SO_SNDBUFFORCE).
      if (b.bytes.length + 1024 > sndbuf) {
        const want = int32(b.bytes.length + 1024);
        if (s.setsockopt(SOL_SOCKET, SO_SNDBUFFORCE, want).ok || s.setsockopt(SOL_SOCKET, SO_SNDBUF, want).ok)
          sndbuf = 2 * (b.bytes.length + 1024);
      }
      return new Promise<RawResult>((resolve) => {
        const timer = setTimeout(() => done({ ok: false, message: 'nf_tables batch: no answer' }), timeoutMs);
        const done = (r: RawResult) => {
          if (!pending) return;
          pending = undefined;
          clearTimeout(timer);
          resolve(r);
        };
        pending = { want: new Set(b.seqs), settle: done };
        const sent = s.sendTo(b.bytes, sockaddrNl(0, 0));
        if (!sent.ok) done({ ok: false, message: `nf_tables batch not sent: ${sent.error.message}` });
      });
    },
    close() {
      sock?.close();
      sock = undefined;
    },
  };
}
