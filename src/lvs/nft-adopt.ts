// A restarted nftables back end adopts what an earlier run left in the kernel instead of replacing it
// (docs/lvs.md, "Adopting the table at start"): the two tables are read back once over nf_tables netlink
// (tables, chains, sets, and the elements of the shared static maps; no libnftables `list`), the earlier
// run's ids and marks are recovered from those elements, and start() then sends only the difference. The
// dynamic maps (DR flows and persistence, NAT persistence sets) are never rewritten, so established
// direct-routing connections keep their flow entries. Decoding is pure and unit-tested.
import { createNetlink, type NetlinkSocket } from 'netlink';
import { nlattrString } from '../net/netlink-messages.js';
import {
  NETLINK_NETFILTER,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_INET,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFPROTO_NETDEV,
  NFT_MSG_GETSETELEM,
  NLM_F_DUMP,
} from '../net/nlmsg.js';
import { realKey, type ServiceSpec } from './dataplane.js';
import { addrFromInet } from './ipvs-msg.js';
import { DR_TABLE, DRM_TABLE, type IdAlloc, isFwmarkDr, markKey, SLOT_STRIDE, TABLE } from './nft-model.js';

export { LAYOUT_MARKER } from './nft-model.js';

import { ELEM_LAYOUT, type ElemField } from './nft-raw.js';

const NFT_MSG_GETTABLE = 1;
const NFT_MSG_GETCHAIN = 4;
const NFT_MSG_GETSET = 10;
const NFT_MSG_GETOBJ = 19;
const NFT_OBJECT_CT_TIMEOUT = 7;
const PROTO_NAME: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
const VERDICT: Record<number, string> = { [-3]: 'jump', [-4]: 'goto' };

/** A base chain's hook as read back: hook number, priority and (netdev) device. */
export interface KernelChain {
  hook?: { num: number; priority: number; device?: string };
}

/** What start() compares a set's declaration by. */
export interface KernelSet {
  /** NFT_SET_MAP among its flags. */
  isMap: boolean;
  keyLen: number;
  timeoutMs: number;
}

/**
 * A `ct timeout` object of the inet table as read back: protocol numbers and the timeout of each state
 * (conntrack's attribute numbers: TCP 3 = ESTABLISHED, 4 = FIN_WAIT; UDP 1 = UNREPLIED, 2 = REPLIED), in
 * seconds. The kernel lists every state, the ones a policy does not name with the defaults they were given.
 */
export interface KernelTimeout {
  l3proto: number;
  l4proto: number;
  states: Map<number, number>;
}

/** Both tables as read back, objects under their model names (`dr/…` for the netdev table). */
export interface KernelTables {
  /** Comment of each table present (`undefined` value: present without a comment). */
  tables: Map<'inet' | 'netdev' | 'ip' | 'ip6', string | undefined>;
  chains: Map<string, KernelChain>;
  sets: Map<string, KernelSet>;
  /** Elements of the shared static maps (ELEM_LAYOUT) as model text: key → value. */
  elems: Map<string, Map<string, string>>;
  /** `ct timeout` objects of the inet table by name (absent: not read). */
  timeouts?: Map<string, KernelTimeout>;
}

export interface TableReader {
  read(): Promise<KernelTables>;
  close(): void;
}

/** The payload (offset, length) of each attribute in `b[off, end)`, by type (the first of each). */
function attrs(b: Buffer, off: number, end: number): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > end) break;
    const t = b.readUInt16LE(off + 2) & 0x3fff;
    if (!out.has(t)) out.set(t, [off + 4, len - 4]);
    off += (len + 3) & ~3;
  }
  return out;
}

const cstr = (b: Buffer, a: [number, number] | undefined): string | undefined =>
  a ? b.toString('utf8', a[0], a[0] + a[1]).replace(/\0.*$/s, '') : undefined;

/** The comment in nftnl user data (type-length-value: type 0 = comment for tables). */
export function udataComment(b: Buffer): string | undefined {
  for (let off = 0; off + 2 <= b.length; ) {
    const t = b[off] as number;
    const len = b[off + 1] as number;
    if (off + 2 + len > b.length) return undefined;
    if (t === 0) return b.toString('utf8', off + 2, off + 2 + len).replace(/\0.*$/s, '');
    off += 2 + len;
  }
  return undefined;
}

/** A NEWTABLE message (payload after nlmsghdr): name and comment. */
export function decodeTable(p: Buffer): { name: string; comment?: string } | undefined {
  const a = attrs(p, 4, p.length);
  const name = cstr(p, a.get(1));
  if (name === undefined) return undefined;
  const ud = a.get(6);
  const comment = ud ? udataComment(p.subarray(ud[0], ud[0] + ud[1])) : undefined;
  return comment === undefined ? { name } : { name, comment };
}

/** A NEWCHAIN message: table, name and hook. */
export function decodeChain(p: Buffer): ({ table: string; name: string } & KernelChain) | undefined {
  const a = attrs(p, 4, p.length);
  const table = cstr(p, a.get(1));
  const name = cstr(p, a.get(3));
  if (table === undefined || name === undefined) return undefined;
  const h = a.get(4);
  if (!h) return { table, name };
  const ha = attrs(p, h[0], h[0] + h[1]);
  const num = ha.get(1);
  const prio = ha.get(2);
  const device = cstr(p, ha.get(3));
  const hook = {
    num: num ? p.readUInt32BE(num[0]) : -1,
    priority: prio ? p.readInt32BE(prio[0]) : 0,
    ...(device !== undefined ? { device } : {}),
  };
  return { table, name, hook };
}

/** A NEWSET message: table, name, key length and default timeout. */
export function decodeSet(p: Buffer): ({ table: string; name: string } & KernelSet) | undefined {
  const a = attrs(p, 4, p.length);
  const table = cstr(p, a.get(1));
  const name = cstr(p, a.get(2));
  if (table === undefined || name === undefined) return undefined;
  const kl = a.get(5);
  const to = a.get(11);
  const fl = a.get(3);
  return {
    table,
    name,
    isMap: fl ? (p.readUInt32BE(fl[0]) & 0x8) !== 0 : false,
    keyLen: kl ? p.readUInt32BE(kl[0]) : 0,
    timeoutMs: to && to[1] === 8 ? Number(p.readBigUInt64BE(to[0])) : 0,
  };
}

/** A NEWOBJ message: table, name and, for a `ct timeout` object, its protocols and state timeouts. */
export function decodeTimeoutObj(p: Buffer): ({ table: string; name: string } & KernelTimeout) | undefined {
  const a = attrs(p, 4, p.length);
  const table = cstr(p, a.get(1));
  const name = cstr(p, a.get(2));
  const type = a.get(3);
  const data = a.get(4);
  if (table === undefined || name === undefined || !type || !data) return undefined;
  if (p.readUInt32BE(type[0]) !== NFT_OBJECT_CT_TIMEOUT) return undefined;
  const d = attrs(p, data[0], data[0] + data[1]);
  const l3 = d.get(1);
  const l4 = d.get(2);
  const st = d.get(3);
  const states = new Map<number, number>();
  if (st)
    for (const [t, [off, len]] of attrs(p, st[0], st[0] + st[1]))
      if (len === 4) states.set(t, p.readUInt32BE(off));
  return {
    table,
    name,
    l3proto: l3 ? p.readUInt16BE(l3[0]) : 0,
    l4proto: l4 ? (p[l4[0]] as number) : 0,
    states,
  };
}

/** An IPv6 address in the form node:net prints (RFC 5952, as the IPVS listing writes it). */
const ip6Text = (b: Buffer): string => addrFromInet(b, 6);

/** A concatenation's bytes as model text (`a . b . c`), or undefined when they do not fit `layout`. */
export function fieldsText(b: Buffer, layout: readonly ElemField[]): string | undefined {
  const parts: string[] = [];
  let off = 0;
  for (const f of layout) {
    const n = f === 'a6' ? 16 : 4;
    if (off + n > b.length) return undefined;
    const v = b.subarray(off, off + n);
    if (f === 'mark') parts.push(`0x${v.readUInt32LE(0).toString(16)}`);
    else if (f === 'a4') parts.push(`${v[0]}.${v[1]}.${v[2]}.${v[3]}`);
    else if (f === 'a6') parts.push(ip6Text(v));
    else if (f === 'port') parts.push(String(v.readUInt16BE(0)));
    else if (f === 'proto') {
      const name = PROTO_NAME[v[0] as number];
      if (!name) return undefined;
      parts.push(name);
    } else return undefined;
    off += n;
  }
  return off === b.length ? parts.join(' . ') : undefined;
}

/** NEWSETELEM messages of one map's dump → key text → value text (undecodable elements are left out). */
export function decodeElems(payloads: readonly Buffer[], layout: { key: ElemField[]; value: ElemField[] }) {
  const out = new Map<string, string>();
  for (const p of payloads) {
    const els = attrs(p, 4, p.length).get(3);
    if (!els) continue;
    const end = els[0] + els[1];
    for (let off = els[0]; off + 4 <= end; ) {
      const len = p.readUInt16LE(off);
      if (len < 4 || off + len > end) break;
      const e = attrs(p, off + 4, off + len);
      off += (len + 3) & ~3;
      const keyNest = e.get(1);
      const dataNest = e.get(2);
      if (!keyNest || !dataNest) continue;
      const kv = attrs(p, keyNest[0], keyNest[0] + keyNest[1]).get(1);
      if (!kv) continue;
      const key = fieldsText(p.subarray(kv[0], kv[0] + kv[1]), layout.key);
      const d = attrs(p, dataNest[0], dataNest[0] + dataNest[1]);
      let value: string | undefined;
      if (layout.value[0] === 'verdict') {
        const vn = d.get(2);
        const va = vn && attrs(p, vn[0], vn[0] + vn[1]);
        const code = va?.get(1);
        const verb = code ? VERDICT[p.readInt32BE(code[0])] : undefined;
        const chain = cstr(p, va?.get(2));
        if (verb && chain) value = `${verb} ${chain}`;
      } else {
        const dv = d.get(1);
        if (dv) value = fieldsText(p.subarray(dv[0], dv[0] + dv[1]), layout.value);
      }
      if (key !== undefined && value !== undefined) out.set(key, value);
    }
  }
  return out;
}

const nfgen = (family: number) => Buffer.from([family, 0, 0, 0]);
const msgType = (cmd: number) => (NFNL_SUBSYS_NFTABLES << 8) | cmd;

/** Reads both tables of this process's network namespace over nf_tables netlink (dumps only). */
export function netlinkTableReader(): TableReader {
  let sock: NetlinkSocket | undefined;
  const dump = async (cmd: number, payload: Buffer): Promise<Buffer[]> => {
    if (!sock) {
      sock = createNetlink(NETLINK_NETFILTER);
      sock.socket.on('error', () => {});
    }
    const [msgs] = await sock.request(msgType(cmd), payload, { flags: NLM_F_DUMP, timeout: 5000 });
    return msgs.map((m) => Buffer.from(m.data));
  };
  return {
    async read() {
      const out: KernelTables = { tables: new Map(), chains: new Map(), sets: new Map(), elems: new Map() };
      for (const [fam, name, kind, prefix] of [
        [NFPROTO_INET, TABLE, 'inet', ''],
        [NFPROTO_NETDEV, DR_TABLE, 'netdev', 'dr/'],
        [NFPROTO_IPV4, DRM_TABLE, 'ip', 'fm4/'],
        [NFPROTO_IPV6, DRM_TABLE, 'ip6', 'fm6/'],
      ] as const) {
        const t = (await dump(NFT_MSG_GETTABLE, nfgen(fam))).map(decodeTable).find((x) => x?.name === name);
        if (!t) continue;
        out.tables.set(kind, t.comment);
        for (const c of (await dump(NFT_MSG_GETCHAIN, nfgen(fam))).map(decodeChain))
          if (c && c.table === name) out.chains.set(prefix + c.name, c.hook ? { hook: c.hook } : {});
        const sets = (await dump(NFT_MSG_GETSET, Buffer.concat([nfgen(fam), nlattrString(1, name)]))).map(
          decodeSet,
        );
        for (const s of sets)
          if (s && s.table === name)
            out.sets.set(prefix + s.name, { isMap: s.isMap, keyLen: s.keyLen, timeoutMs: s.timeoutMs });
        if (kind === 'inet') {
          out.timeouts = new Map();
          for (const o of (
            await dump(NFT_MSG_GETOBJ, Buffer.concat([nfgen(fam), nlattrString(1, name)]))
          ).map(decodeTimeoutObj))
            if (o && o.table === name)
              out.timeouts.set(o.name, { l3proto: o.l3proto, l4proto: o.l4proto, states: o.states });
        }
        for (const [mname, layout] of Object.entries(ELEM_LAYOUT)) {
          if ((/^(dr|fm4|fm6)\//.exec(mname)?.[0] ?? '') !== prefix || !out.sets.has(mname)) continue;
          const short = mname.slice(prefix.length);
          const msgs = await dump(
            NFT_MSG_GETSETELEM,
            Buffer.concat([nfgen(fam), nlattrString(1, name), nlattrString(2, short)]),
          );
          out.elems.set(mname, decodeElems(msgs, layout));
        }
      }
      return out;
    },
    close() {
      sock?.socket.close();
      sock = undefined;
    },
  };
}

const norm = (a: string): string => (a.includes(':') ? ip6Text(ip6Buf(a)) : a);
function ip6Buf(a: string): Buffer {
  const halves = a.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  const b = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => {
    b.writeUInt16BE(Number.parseInt(g, 16) || 0, i * 2);
  });
  return b;
}

/**
 * The earlier run's ids for the services of `want`, recovered from the kernel's shared maps: a service's
 * id from the dispatch maps (`svc4`… → `goto vs<id>`, every match of it agreeing), its servers' marks
 * from its slot range (`slots`: [id × SLOT_STRIDE, …) → mark) and the backend maps (mark → address and,
 * for NAT, port); a DR server out of the slots (inhibited) by its backend address when only one server
 * of the service's family has it. Whatever cannot be recovered gets a new id above every one seen.
 */
export function recoverAlloc(
  want: readonly ServiceSpec[],
  k: KernelTables,
  isDr: (s: ServiceSpec) => boolean,
): IdAlloc {
  const el = (n: string) => k.elems.get(n) ?? new Map<string, string>();
  const out: IdAlloc = { services: new Map(), marks: new Map(), nextService: 1, nextMark: 0x100 };
  let maxId = 0;
  let maxMark = 0xff;
  const idOf = (v: string): number | undefined => {
    const m = /^goto vs(\d+)$/.exec(v);
    return m ? Number(m[1]) : undefined;
  };
  for (const n of ['svc4', 'svc6', 'fwm4', 'fwm6', 'dr/svc4', 'dr/svc6', 'fm4/fwm', 'fm6/fwm'])
    for (const v of el(n).values()) maxId = Math.max(maxId, idOf(v) ?? 0);
  for (const n of [
    'slots',
    'dr/slots',
    'fm4/slots',
    'fm6/slots',
    'bk4',
    'bk6',
    'bka4',
    'bka6',
    'dr/bk4',
    'dr/bk6',
    'fm4/bk',
    'fm6/bk',
  ])
    for (const [key, v] of el(n)) {
      const m = Number.parseInt((n.includes('slots') ? v : key).slice(2), 16);
      if (Number.isFinite(m)) maxMark = Math.max(maxMark, m);
      if (n.includes('slots'))
        maxId = Math.max(maxId, Math.floor(Number.parseInt(key.slice(2), 16) / SLOT_STRIDE));
    }
  const taken = new Set<number>();
  const takenMarks = new Set<number>();
  for (const s of want) {
    const dr = isDr(s);
    // Where the service's objects are: inet (NAT), netdev (DR), or ip/ip6 (DR by fwmark).
    const fm = dr && isFwmarkDr(s);
    const names = fm
      ? { fwm: `fm${s.family}/fwm`, svc: '', slots: `fm${s.family}/slots`, bk: `fm${s.family}/bk` }
      : dr
        ? { fwm: '', svc: `dr/svc${s.family}`, slots: 'dr/slots', bk: `dr/bk${s.family}` }
        : { fwm: `fwm${s.family}`, svc: `svc${s.family}`, slots: 'slots', bk: `bk${s.family}` };
    const ids = new Set<number | undefined>();
    for (const m of s.matches) {
      if (m.kind === 'fwmark') ids.add(idOf(el(names.fwm).get(`0x${m.fwmark.toString(16)}`) ?? ''));
      else ids.add(idOf(el(names.svc).get(`${m.address} . ${s.protocol} . ${m.port}`) ?? ''));
    }
    const id = ids.size === 1 ? [...ids][0] : undefined;
    if (id === undefined || taken.has(id)) continue;
    taken.add(id);
    out.services.set(s.name, id);
    const servers = s.sorry ? [...s.reals, s.sorry] : s.reals;
    // NAT servers without a port are in the address-only map (bka4/bka6), as `addr . 0` for the lookup.
    const bk = dr
      ? el(names.bk)
      : new Map([...el(names.bk), ...[...el(`bka${s.family}`)].map(([k, v]) => [k, `${v} . 0`] as const)]);
    const byServer = new Map<string, number>();
    const claim = (r: { address: string; port: number }, mark: number) => {
      if (takenMarks.has(mark) || byServer.has(realKey(r))) return;
      takenMarks.add(mark);
      byServer.set(realKey(r), mark);
      out.marks.set(markKey(s.name, r), mark);
    };
    const serverFor = (mark: number) => {
      const v = bk.get(`0x${mark.toString(16)}`);
      if (v === undefined) return undefined;
      const [addr, port] = v.split(' . ');
      const hits = servers.filter(
        (r) => norm(r.address) === norm(addr ?? '') && (dr || String(r.port) === port),
      );
      return hits.length === 1 ? hits[0] : undefined;
    };
    for (const [key, v] of el(names.slots)) {
      if (Math.floor(Number.parseInt(key.slice(2), 16) / SLOT_STRIDE) !== id) continue;
      const mark = Number.parseInt(v.slice(2), 16);
      const r = serverFor(mark);
      if (r) claim(r, mark);
    }
    for (const key of bk.keys()) {
      const mark = Number.parseInt(key.slice(2), 16);
      if (takenMarks.has(mark)) continue;
      const r = serverFor(mark);
      // Out of the slots: only a DR backend (inhibited servers keep theirs), and only when unambiguous.
      if (r && dr && !byServer.has(realKey(r))) {
        const others = want.filter(
          (o) =>
            o !== s &&
            isDr(o) &&
            isFwmarkDr(o) === fm &&
            o.family === s.family &&
            o.reals.some((x) => norm(x.address) === norm(r.address)),
        );
        if (others.length === 0) claim(r, mark);
      }
    }
  }
  out.nextService = maxId + 1;
  out.nextMark = maxMark + 1;
  return out;
}
