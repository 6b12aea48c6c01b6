// Reading the direct-routing dynamic maps (`flows4`/`flows6`, `pers4`/`pers6` of the netdev table) back
// from the kernel, so the data plane can delete the entries naming a real server it removes (docs/lvs.md, "Forwarding": the
// packet path can only refresh an entry, never change its value or delete it). Entries are added by the
// packet path, so they cannot be known from memory; the kernel is asked for one map's elements with an
// nf_tables GETSETELEM dump over a NETLINK_NETFILTER socket (no libnftables `list`, see
// docs/decisions/lvs-programming-route.md), or, for tests programming another namespace, through
// `nft -j list map` run in that namespace. Decoding is pure and unit-tested.
import { spawn } from 'node:child_process';
import { createNetlink } from 'netlink';
import { DR_TABLE } from './nft-model.js';
const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETSETELEM = 13;
const NFPROTO_NETDEV = 5;
const NLM_F_DUMP = 0x300;
/**
 * How long a dump may take before the clean-up gives up on it (the change itself then goes ahead; the
 * entries stay until they expire). Reading 30,000 flows costs ~0.3 s of CPU here.
 */
const DUMP_TIMEOUT_MS = 3000;
/** Message type of a set-element dump request. */
export const GETSETELEM_TYPE = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
/** Key layout of each map (docs/lvs.md): flows `saddr . sport . daddr . dport`, persistence `client . daddr . dport`. */
export function layoutOf(map) {
    // IPv6 keys are two 32-bit hashes (src/lvs/nft-model.ts, HASHED_KEY_TYPE).
    if (map.endsWith('6'))
        return ['u32', 'u32'];
    return map.startsWith('flows') ? ['a4', 'port', 'a4', 'port'] : ['a4', 'a4', 'port'];
}
/** The request payload: nfgenmsg (netdev, version 0, res_id 0) + NFTA_SET_ELEM_LIST_TABLE / _SET. */
export function getSetElemPayload(table, set) {
    const attr = (type, s) => {
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
/**
 * A concatenated key as nft text. A concatenation packs each field in 32-bit registers: an IPv4 address,
 * a port in 2 bytes (network order) padded to 4, a hash (an integer in host order).
 */
export function keyText(key, layout) {
    const parts = [];
    let off = 0;
    for (const f of layout) {
        if (off + 4 > key.length)
            return undefined;
        const b = key.subarray(off, off + 4);
        parts.push(f === 'a4'
            ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
            : String(f === 'port' ? b.readUInt16BE(0) : b.readUInt32LE(0)));
        off += 4;
    }
    return off === key.length ? parts.join(' . ') : undefined;
}
/** The payload (offset, length) of the first attribute of `type` in `b[off, end)`, or undefined. */
function find(b, off, end, type) {
    while (off + 4 <= end) {
        const len = b.readUInt16LE(off);
        if (len < 4 || off + len > end)
            return undefined;
        if ((b.readUInt16LE(off + 2) & 0x3fff) === type)
            return [off + 4, len - 4];
        off += (len + 3) & ~3;
    }
    return undefined;
}
/**
 * Decodes the NEWSETELEM messages of a dump (payload after nlmsghdr) into flow entries; with `marks`,
 * only the entries naming one of them (the others are skipped before their key is turned into text: a
 * director may hold hundreds of thousands of flows).
 */
export function decodeSetElems(payloads, layout, marks) {
    const out = [];
    for (const p of payloads) {
        // nfgenmsg (4 bytes), then TABLE 1, SET 2, ELEMENTS 3 (a list of LIST_ELEM 1).
        const els = find(p, 4, p.length, 3);
        if (!els)
            continue;
        const end = els[0] + els[1];
        for (let off = els[0]; off + 4 <= end;) {
            const len = p.readUInt16LE(off);
            if (len < 4 || off + len > end)
                break;
            const eStart = off + 4;
            const eEnd = off + len;
            off += (len + 3) & ~3;
            const dataNest = find(p, eStart, eEnd, 2);
            const [dataOff, dataLen] = (dataNest && find(p, dataNest[0], dataNest[0] + dataNest[1], 1)) ?? [0, 0];
            if (dataLen !== 4)
                continue;
            // The mark is kept in host order (little endian here).
            const mark = p.readUInt32LE(dataOff);
            if (marks && !marks.has(mark))
                continue;
            const keyNest = find(p, eStart, eEnd, 1);
            const key = keyNest && find(p, keyNest[0], keyNest[0] + keyNest[1], 1);
            if (!key)
                continue;
            const text = keyText(p.subarray(key[0], key[0] + key[1]), layout);
            if (text === undefined)
                continue;
            // Expiration: big-endian milliseconds.
            const exp = find(p, eStart, eEnd, 5);
            out.push({ key: text, mark, expiresMs: exp && exp[1] === 8 ? Number(p.readBigUInt64BE(exp[0])) : 0 });
        }
    }
    return out;
}
/** Reads the flow maps of this process's network namespace over nf_tables netlink. */
export function netlinkFlowReader() {
    let sock;
    return {
        async list(map, marks) {
            sock ??= createNetlink(NETLINK_NETFILTER);
            sock.socket.on('error', () => { });
            const [msgs] = await sock.request(GETSETELEM_TYPE, getSetElemPayload(DR_TABLE, map), {
                flags: NLM_F_DUMP,
                timeout: DUMP_TIMEOUT_MS,
            });
            return decodeSetElems(msgs.map((m) => Buffer.from(m.data)), layoutOf(map), marks);
        },
        close() {
            sock?.socket.close();
            sock = undefined;
        },
    };
}
/** Parses `nft -j list map` output of a flow map (tests; nft prints expiry in seconds). */
export function parseFlowJson(text) {
    const doc = JSON.parse(text);
    const out = [];
    for (const o of doc.nftables)
        for (const [k, v] of o.map?.elem ?? []) {
            const e = k.elem;
            const concat = e?.val.concat ?? k.concat;
            if (!concat || typeof v !== 'number')
                continue;
            out.push({ key: concat.join(' . '), mark: v, expiresMs: (e?.expires ?? 0) * 1000 });
        }
    return out;
}
/** Reads the flow maps of a named namespace through `nft -j` (the tests program other namespaces). */
export function cliFlowReader(netns) {
    return {
        list(map, marks) {
            return new Promise((resolve, reject) => {
                const c = spawn('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'map', 'netdev', DR_TABLE, map], {
                    stdio: ['ignore', 'pipe', 'pipe'],
                });
                let out = '';
                let err = '';
                c.stdout.setEncoding('utf8').on('data', (d) => {
                    out += d;
                });
                c.stderr.setEncoding('utf8').on('data', (d) => {
                    err += d;
                });
                c.on('close', (code) => {
                    if (code !== 0)
                        return reject(new Error(err.trim() || `nft exited ${code}`));
                    try {
                        resolve(parseFlowJson(out).filter((e) => !marks || marks.has(e.mark)));
                    }
                    catch (e) {
                        reject(e);
                    }
                });
            });
        },
        close() { },
    };
}
//# sourceMappingURL=nft-flows.js.map