// Reading the direct-routing dynamic maps (`flows4`/`flows6`, `pers4`/`pers6` of the netdev table) back
// from the kernel, so the data plane can delete the entries naming a real server it removes (docs/lvs.md, "Forwarding": the
// packet path can only refresh an entry, never change its value or delete it). Entries are added by the
// packet path, so they cannot be known from memory; the kernel is asked for one map's elements with an
// nf_tables GETSETELEM dump over a NETLINK_NETFILTER socket (no libnftables `list`, see
// docs/decisions/lvs-programming-route.md), or, for tests programming another namespace, through
// `nft -j list map` run in that namespace. Decoding is pure and unit-tested.
import { spawn } from 'node:child_process';
import { createNetlink, type NetlinkSocket } from 'netlink';
import { nlattrString } from '../net/netlink-messages.js';
import {
  NETLINK_NETFILTER,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_NETDEV,
  NFT_MSG_GETSETELEM,
  NLM_F_DUMP,
} from '../net/nlmsg.js';
import { DR_TABLE, DRM_TABLE } from './nft-model.js';

/**
 * How long a dump may take before the clean-up gives up on it (the change itself then goes ahead; the
 * entries stay until they expire). Reading 30,000 flows costs ~0.3 s of CPU here.
 */
const DUMP_TIMEOUT_MS = 3000;
/** Message type of a set-element dump request. */
export const GETSETELEM_TYPE = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;

/** One flow entry: its key as nft text (`saddr . sport . daddr . dport`), mark and time left. */
export interface FlowEntry {
  key: string;
  mark: number;
  expiresMs: number;
}

/**
 * The dynamic maps: per-connection flows and per-client persistence, by family — the netdev table's, and
 * (`fm4/…`, `fm6/…`) those of the `ip`/`ip6` tables serving fwmark services.
 */
export type DynMap =
  | 'flows4'
  | 'flows6'
  | 'pers4'
  | 'pers6'
  | 'fm4/flows'
  | 'fm4/pers'
  | 'fm6/flows'
  | 'fm6/pers';

/** Family, table and map name of a dynamic map (as nft names them, and for nfgenmsg). */
export function dynWhere(map: DynMap): { family: number; familyName: string; table: string; name: string } {
  if (map.startsWith('fm4/')) return { family: 2, familyName: 'ip', table: DRM_TABLE, name: map.slice(4) };
  if (map.startsWith('fm6/')) return { family: 10, familyName: 'ip6', table: DRM_TABLE, name: map.slice(4) };
  return { family: NFPROTO_NETDEV, familyName: 'netdev', table: DR_TABLE, name: map };
}

export interface FlowReader {
  /** The entries of one dynamic map (with `marks`, only those naming one); rejects when it cannot be read. */
  list(map: DynMap, marks?: ReadonlySet<number>): Promise<FlowEntry[]>;
  close(): void;
}

type Field = 'a4' | 'port' | 'u32';

/** Key layout of each map (docs/lvs.md): flows `saddr . sport . daddr . dport`, persistence `client . daddr . dport`. */
export function layoutOf(map: DynMap): Field[] {
  // IPv6 keys are two 32-bit hashes (src/lvs/nft-model.ts, HASHED_KEY_TYPE); so are fwmark persistence
  // keys in both families (client and service, fwmarkPersKey).
  if (map.endsWith('6') || map.startsWith('fm6/') || map === 'fm4/pers') return ['u32', 'u32'];
  return map.includes('flows') ? ['a4', 'port', 'a4', 'port'] : ['a4', 'a4', 'port'];
}

/** The request payload: nfgenmsg (netdev, version 0, res_id 0) + NFTA_SET_ELEM_LIST_TABLE / _SET. */
export function getSetElemPayload(table: string, set: string, family = NFPROTO_NETDEV): Uint8Array {
  return Buffer.concat([Buffer.from([family, 0, 0, 0]), nlattrString(1, table), nlattrString(2, set)]);
}

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

/** The payload (offset, length) of the first attribute of `type` in `b[off, end)`, or undefined. */
function find(b: Buffer, off: number, end: number, type: number): [number, number] | undefined {
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    if (len < 4 || off + len > end) return undefined;
    if ((b.readUInt16LE(off + 2) & 0x3fff) === type) return [off + 4, len - 4];
    off += (len + 3) & ~3;
  }
  return undefined;
}

/**
 * Decodes the NEWSETELEM messages of a dump (payload after nlmsghdr) into flow entries; with `marks`,
 * only the entries naming one of them (the others are skipped before their key is turned into text: a
 * director may hold hundreds of thousands of flows).
 */
export function decodeSetElems(
  payloads: readonly Buffer[],
  layout: readonly Field[],
  marks?: ReadonlySet<number>,
): FlowEntry[] {
  const out: FlowEntry[] = [];
  for (const p of payloads) {
    // nfgenmsg (4 bytes), then TABLE 1, SET 2, ELEMENTS 3 (a list of LIST_ELEM 1).
    const els = find(p, 4, p.length, 3);
    if (!els) continue;
    const end = els[0] + els[1];
    for (let off = els[0]; off + 4 <= end; ) {
      const len = p.readUInt16LE(off);
      if (len < 4 || off + len > end) break;
      const eStart = off + 4;
      const eEnd = off + len;
      off += (len + 3) & ~3;
      const dataNest = find(p, eStart, eEnd, 2);
      const [dataOff, dataLen] = (dataNest && find(p, dataNest[0], dataNest[0] + dataNest[1], 1)) ?? [0, 0];
      if (dataLen !== 4) continue;
      // The mark is kept in host order (little endian here).
      const mark = p.readUInt32LE(dataOff);
      if (marks && !marks.has(mark)) continue;
      const keyNest = find(p, eStart, eEnd, 1);
      const key = keyNest && find(p, keyNest[0], keyNest[0] + keyNest[1], 1);
      if (!key) continue;
      const text = keyText(p.subarray(key[0], key[0] + key[1]), layout);
      if (text === undefined) continue;
      // Expiration: big-endian milliseconds.
      const exp = find(p, eStart, eEnd, 5);
      out.push({ key: text, mark, expiresMs: exp && exp[1] === 8 ? Number(p.readBigUInt64BE(exp[0])) : 0 });
    }
  }
  return out;
}

/** Reads the flow maps of this process's network namespace over nf_tables netlink. */
export function netlinkFlowReader(): FlowReader {
  let sock: NetlinkSocket | undefined;
  return {
    async list(map, marks) {
      sock ??= createNetlink(NETLINK_NETFILTER);
      sock.socket.on('error', () => {});
      const w = dynWhere(map);
      const [msgs] = await sock.request(GETSETELEM_TYPE, getSetElemPayload(w.table, w.name, w.family), {
        flags: NLM_F_DUMP,
        timeout: DUMP_TIMEOUT_MS,
      });
      return decodeSetElems(
        msgs.map((m) => Buffer.from(m.data)),
        layoutOf(map),
        marks,
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
    list(map, marks) {
      return new Promise((resolve, reject) => {
        const w = dynWhere(map);
        const c = spawn(
          'ip',
          ['netns', 'exec', netns, 'nft', '-j', 'list', 'map', w.familyName, w.table, w.name],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
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
            resolve(parseFlowJson(out).filter((e) => !marks || marks.has(e.mark)));
          } catch (e) {
            reject(e as Error);
          }
        });
      });
    },
    close() {},
  };
}
