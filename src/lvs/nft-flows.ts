// Reading the direct-routing dynamic maps (`flows4`/`flows6`, `pers4`/`pers6` of the netdev table) back
// from the kernel, so the data plane can delete the entries naming a real server it removes (docs/lvs.md, "Forwarding": the
// packet path can only refresh an entry, never change its value or delete it). Entries are added by the
// packet path, so they cannot be known from memory; the kernel is asked for one map's elements with an
// nf_tables GETSETELEM dump over a NETLINK_NETFILTER socket (no libnftables `list`, see
// docs/decisions/lvs-programming-route.md), or, for tests programming another namespace, through
// `nft -j list map` run in that namespace. Decoding is pure and unit-tested.
import { spawn } from 'node:child_process';
import { createNetlink, type NetlinkSocket } from 'netlink';
import { DR_TABLE } from './nft-model.js';

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETSETELEM = 13;
const NFPROTO_NETDEV = 5;
const NLM_F_DUMP = 0x300;
/** Message type of a set-element dump request. */
export const GETSETELEM_TYPE = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;

/** One flow entry: its key as nft text (`saddr . sport . daddr . dport`), mark and time left. */
export interface FlowEntry {
  key: string;
  mark: number;
  expiresMs: number;
}

/** The netdev table's dynamic maps: per-connection flows and per-client persistence, by family. */
export type DynMap = 'flows4' | 'flows6' | 'pers4' | 'pers6';

export interface FlowReader {
  /** Every entry of one dynamic map; rejects when the map cannot be read. */
  list(map: DynMap): Promise<FlowEntry[]>;
  close(): void;
}

type Field = 'a4' | 'port' | 'u32';

/** Key layout of each map (docs/lvs.md): flows `saddr . sport . daddr . dport`, persistence `client . daddr . dport`. */
export function layoutOf(map: DynMap): Field[] {
  // IPv6 keys are two 32-bit hashes (src/lvs/nft-model.ts, HASHED_KEY_TYPE).
  if (map.endsWith('6')) return ['u32', 'u32'];
  return map.startsWith('flows') ? ['a4', 'port', 'a4', 'port'] : ['a4', 'a4', 'port'];
}

/** The request payload: nfgenmsg (netdev, version 0, res_id 0) + NFTA_SET_ELEM_LIST_TABLE / _SET. */
export function getSetElemPayload(table: string, set: string): Uint8Array {
  const attr = (type: number, s: string): Buffer => {
    const v = Buffer.from(`${s}\0`);
    const len = 4 + v.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    v.copy(b, 4);
    return b;
  };
  return Buffer.concat([Buffer.from([NFPROTO_NETDEV, 0, 0, 0]), attr(1, table), attr(2, set)]);
}

/** Attributes of `b[off, end)`: type (flags masked off) → payload view. Later duplicates are listed too. */
function attrs(b: Buffer, off: number, end: number): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > end) break;
    out.push([b.readUInt16LE(off + 2) & 0x3fff, b.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

const first = (list: [number, Buffer][], type: number): Buffer | undefined =>
  list.find(([t]) => t === type)?.[1];

/**
 * A concatenated key as nft text. A concatenation packs each field in 32-bit registers: an IPv4 address,
 * a port in 2 bytes (network order) padded to 4, a hash (an integer in host order).
 */
export function keyText(key: Buffer, layout: readonly Field[]): string | undefined {
  const parts: string[] = [];
  let off = 0;
  for (const f of layout) {
    if (off + 4 > key.length) return undefined;
    const b = key.subarray(off, off + 4);
    parts.push(
      f === 'a4'
        ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
        : String(f === 'port' ? b.readUInt16BE(0) : b.readUInt32LE(0)),
    );
    off += 4;
  }
  return off === key.length ? parts.join(' . ') : undefined;
}

/** Decodes the NEWSETELEM messages of a dump (payload after nlmsghdr) into flow entries. */
export function decodeSetElems(payloads: readonly Buffer[], layout: readonly Field[]): FlowEntry[] {
  const out: FlowEntry[] = [];
  for (const p of payloads) {
    // nfgenmsg (4 bytes), then TABLE 1, SET 2, ELEMENTS 3.
    const elements = first(attrs(p, 4, p.length), 3);
    if (!elements) continue;
    for (const [t, el] of attrs(elements, 0, elements.length)) {
      if (t !== 1) continue;
      const ea = attrs(el, 0, el.length);
      const keyNest = first(ea, 1);
      const dataNest = first(ea, 2);
      const key = keyNest && first(attrs(keyNest, 0, keyNest.length), 1);
      const data = dataNest && first(attrs(dataNest, 0, dataNest.length), 1);
      if (!key || !data || data.length !== 4) continue;
      const text = keyText(key, layout);
      if (text === undefined) continue;
      const exp = first(ea, 5);
      // The mark is kept in host order (little endian here); expiration is big-endian milliseconds.
      out.push({
        key: text,
        mark: data.readUInt32LE(0),
        expiresMs: exp && exp.length === 8 ? Number(exp.readBigUInt64BE(0)) : 0,
      });
    }
  }
  return out;
}

/** Reads the flow maps of this process's network namespace over nf_tables netlink. */
export function netlinkFlowReader(): FlowReader {
  let sock: NetlinkSocket | undefined;
  return {
    async list(map) {
      sock ??= createNetlink(NETLINK_NETFILTER);
      sock.socket.on('error', () => {});
      const [msgs] = await sock.request(GETSETELEM_TYPE, getSetElemPayload(DR_TABLE, map), {
        flags: NLM_F_DUMP,
        timeout: 5000,
      });
      return decodeSetElems(
        msgs.map((m) => Buffer.from(m.data)),
        layoutOf(map),
      );
    },
    close() {
      sock?.socket.close();
      sock = undefined;
    },
  };
}

interface NftJsonElem {
  elem?: { val: { concat: (string | number)[] }; expires?: number };
}

/** Parses `nft -j list map` output of a flow map (tests; nft prints expiry in seconds). */
export function parseFlowJson(text: string): FlowEntry[] {
  const doc = JSON.parse(text) as { nftables: { map?: { elem?: [NftJsonElem | unknown, number][] } }[] };
  const out: FlowEntry[] = [];
  for (const o of doc.nftables)
    for (const [k, v] of o.map?.elem ?? []) {
      const e = (k as NftJsonElem).elem;
      const concat = e?.val.concat ?? (k as { concat?: (string | number)[] }).concat;
      if (!concat || typeof v !== 'number') continue;
      out.push({ key: concat.join(' . '), mark: v, expiresMs: (e?.expires ?? 0) * 1000 });
    }
  return out;
}

/** Reads the flow maps of a named namespace through `nft -j` (the tests program other namespaces). */
export function cliFlowReader(netns: string): FlowReader {
  return {
    list(map) {
      return new Promise((resolve, reject) => {
        const c = spawn('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'map', 'netdev', DR_TABLE, map], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        c.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
        });
        c.stderr.setEncoding('utf8').on('data', (d: string) => {
          err += d;
        });
        c.on('close', (code) => {
          if (code !== 0) return reject(new Error(err.trim() || `nft exited ${code}`));
          try {
            resolve(parseFlowJson(out));
          } catch (e) {
            reject(e as Error);
          }
        });
      });
    },
    close() {},
  };
}
