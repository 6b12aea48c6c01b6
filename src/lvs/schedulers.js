/** Most slots a rotating table may have; larger weight sums are scaled down in proportion. */
export const MAX_ROTATION_SLOTS = 4096;
/** IPVS sh/dh bucket count (CONFIG_IP_VS_SH_TAB_BITS = 8). */
export const HASH_TABLE_SIZE = 256;
/** IPVS mh default table size (prime; CONFIG_IP_VS_MH_TAB_INDEX 12). */
export const MAGLEV_TABLE_SIZE = 4093;
function gcd(a, b) {
    while (b)
        [a, b] = [b, a % b];
    return a;
}
/** Weights reduced by their gcd and, if their sum is still above `cap`, scaled (each stays ≥ 1). */
export function normaliseWeights(weights, cap = MAX_ROTATION_SLOTS) {
    if (weights.length === 0)
        return [];
    const g = weights.reduce((acc, w) => gcd(acc, w), 0) || 1;
    let w = weights.map((x) => x / g);
    const sum = w.reduce((a, b) => a + b, 0);
    if (sum > cap) {
        const f = (cap - weights.length) / sum;
        w = w.map((x) => Math.max(1, Math.floor(x * f)));
        const g2 = w.reduce((acc, x) => gcd(acc, x), 0) || 1;
        w = w.map((x) => x / g2);
    }
    return w;
}
/** rr: one slot per server, in pool order (weights only decide membership). */
export function rrSlots(n) {
    return Array.from({ length: n }, (_, i) => i);
}
/**
 * wrr in IPVS's own interleaved order: passes with a current weight cw running from the largest weight
 * down to 1 in steps of the gcd (here 1, weights being normalised), each pass taking every server whose
 * weight ≥ cw. Weights 3,2,1 give A A B A B C.
 */
export function wrrSlots(weights) {
    const w = normaliseWeights(weights);
    const out = [];
    const max = Math.max(0, ...w);
    for (let cw = max; cw >= 1; cw--)
        for (let i = 0; i < w.length; i++)
            if ((w[i] ?? 0) >= cw)
                out.push(i);
    return out;
}
/** fo: the single server of highest weight (the first in pool order among equals). */
export function foSlots(weights) {
    let best = -1;
    let bw = 0;
    weights.forEach((w, i) => {
        if (w > bw) {
            bw = w;
            best = i;
        }
    });
    return best < 0 ? [] : [best];
}
/** sh/dh: 256 buckets filled by cycling through the servers, each taking `weight` consecutive buckets. */
export function hashSlots(weights) {
    if (weights.length === 0)
        return [];
    const out = [];
    let i = 0;
    let count = 0;
    for (let b = 0; b < HASH_TABLE_SIZE; b++) {
        out.push(i);
        if (++count >= (weights[i] ?? 1)) {
            i = (i + 1) % weights.length;
            count = 0;
        }
    }
    return out;
}
/** FNV-1a 32-bit with a seed: our stand-in for IPVS's keyed hsiphash (same role, different values). */
export function fnv1a(text, seed) {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
}
/**
 * mh: the Maglev lookup table (size a prime M). Each server gets a permutation of the slots from two
 * hashes of its identity (offset, skip); servers take turns claiming their next free preferred slot,
 * a server of weight w (gcd-normalised) claiming w slots per round, until the table is full. A change
 * of pool moves only a small share of slots.
 */
export function maglevSlots(ids, weights, size = MAGLEV_TABLE_SIZE) {
    const n = ids.length;
    if (n === 0)
        return [];
    const w = normaliseWeights(weights, size);
    const offset = ids.map((id) => fnv1a(id, 0x2545f491) % size);
    const skip = ids.map((id) => (fnv1a(id, 0x9e3779b9) % (size - 1)) + 1);
    const next = new Array(n).fill(0);
    const table = new Array(size).fill(-1);
    let filled = 0;
    while (filled < size) {
        for (let i = 0; i < n && filled < size; i++) {
            for (let t = 0; t < (w[i] ?? 1) && filled < size; t++) {
                let c = (offset[i] + next[i] * skip[i]) % size;
                while (table[c] !== -1) {
                    next[i]++;
                    c = (offset[i] + next[i] * skip[i]) % size;
                }
                table[c] = i;
                next[i]++;
                filled++;
            }
        }
    }
    return table;
}
/** Whether nftables reproduces the scheduler exactly (per connection) or approximates it. */
export function isExact(s) {
    return s === 'rr' || s === 'wrr' || s === 'sh' || s === 'dh' || s === 'mh' || s === 'fo';
}
/**
 * The slot table and how a slot is chosen for a scheduler. Connection-count schedulers (lc, wlc, sed, nq,
 * lblc, lblcr, ovf, twos) have no packet-path equivalent in nftables and fall back to weighted rotation.
 */
export function slotsFor(s, ids, weights) {
    switch (s) {
        case 'rr':
            return { kind: 'rotate', slots: rrSlots(ids.length) };
        case 'fo':
            return { kind: 'rotate', slots: foSlots(weights) };
        case 'sh':
            return { kind: 'hash-saddr', slots: hashSlots(weights) };
        case 'dh':
            return { kind: 'hash-daddr', slots: hashSlots(weights) };
        case 'mh':
            return { kind: 'hash-saddr', slots: maglevSlots(ids, weights) };
        default:
            return { kind: 'rotate', slots: wrrSlots(weights) };
    }
}
/** Slots a count-driven table has: small, so a rewrite is cheap and each slot is a real share. */
export const COUNT_SLOTS = 64;
/** True for schedulers that IPVS drives by connection counts. */
export function isCountBased(s) {
    return !isExact(s);
}
/**
 * Slot weights approximating a connection-count scheduler for the next polling period (pure). IPVS
 * sends each new connection to the server of least cost (wlc: (active×256 + inactive) / weight; lc: the
 * same with weights 1; sed: (active + 1) / weight; nq: an idle server first, else sed). Over a period the
 * effect is "fill the least loaded first": here each server gets slots in proportion to how far its cost
 * lies below the level that evens all servers out after `expected` more connections (water filling), so
 * the spread converges to IPVS's while new connections between two polls follow fixed shares.
 * ovf picks the highest-weight server not yet overloaded (active ≤ weight) alone.
 */
export function countWeights(s, loads, expected = 16) {
    const n = loads.length;
    if (n === 0)
        return [];
    if (s === 'ovf') {
        let best = -1;
        for (let i = 0; i < n; i++) {
            const l = loads[i];
            if (l.weight > 0 && l.active <= l.weight && (best < 0 || l.weight > loads[best].weight))
                best = i;
        }
        return loads.map((_, i) => (i === best ? 1 : 0));
    }
    if (s === 'nq') {
        const idle = loads.map((l) => (l.weight > 0 && l.active === 0 ? l.weight : 0));
        if (idle.some((x) => x > 0))
            return scaleToSlots(idle);
    }
    const w = loads.map((l) => (s === 'lc' ? 1 : l.weight));
    // Load in "connections" units: IPVS weighs an active connection 256 times an inactive one.
    const cost = loads.map((l) => (s === 'sed' || s === 'nq' ? l.active + 1 : l.active + l.inactive / 256));
    const totalW = w.reduce((a, b) => a + b, 0);
    if (totalW === 0)
        return loads.map(() => 0);
    // Find the level L with Σ max(0, L·w_i − cost_i) = expected (bisection; cost and L ≥ 0).
    let lo = 0;
    let hi = (cost.reduce((a, b) => a + b, 0) + expected) / Math.min(...w.filter((x) => x > 0)) + 1;
    for (let k = 0; k < 50; k++) {
        const mid = (lo + hi) / 2;
        const fill = w.reduce((acc, wi, i) => acc + Math.max(0, mid * wi - cost[i]), 0);
        if (fill > expected)
            hi = mid;
        else
            lo = mid;
    }
    return scaleToSlots(w.map((wi, i) => Math.max(0, hi * wi - cost[i])));
}
/** Integer slot counts summing to about COUNT_SLOTS, proportional to `x`; the largest keeps ≥ 1. */
function scaleToSlots(x) {
    const sum = x.reduce((a, b) => a + b, 0);
    if (sum <= 0)
        return x.map(() => 0);
    const out = x.map((v) => Math.round((v / sum) * COUNT_SLOTS));
    if (!out.some((v) => v > 0))
        out[x.indexOf(Math.max(...x))] = 1;
    return out;
}
//# sourceMappingURL=schedulers.js.map