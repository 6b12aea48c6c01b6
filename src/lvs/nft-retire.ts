// Retired elements: a slot or backend element that a change takes out of use stays in the kernel for a
// grace period and is deleted by a later transaction (docs/lvs.md, "Elements outlive the rules that
// reached them"). In one nf_tables traversal the rules come from the generation current when the packet
// entered the hook, but each set lookup reads the generation current at the lookup: a packet picking a
// slot under the old pick rule may look it up after the commit. Deleting the element in that commit
// made the lookup miss, the connection went untranslated to the director itself and was refused.
import type { NftModel } from './nft-model.js';

/** Maps read by a pick after the rule that chose the key: their elements are retired, never deleted in the change itself. */
export const REACHABLE_MAPS: ReadonlySet<string> = new Set([
  'slots',
  'bk4',
  'bk6',
  'bka4',
  'bka6',
  'dr/slots',
  'dr/bk4',
  'dr/bk6',
  'fm4/slots',
  'fm4/bk',
  'fm6/slots',
  'fm6/bk',
]);

/** Default grace period: far beyond a packet's traversal, even one whose CPU is preempted meanwhile. */
export const RETIRE_GRACE_MS = 1000;

/** Elements held in the kernel after their last use: map → key → value and when they were retired. */
export type Retired = Map<string, Map<string, { value: string; sinceMs: number }>>;

/**
 * The models one transaction goes between, with retirement applied: the reachable elements this change
 * stops using stay in `to` (so the change does not delete them) and join the retired set, stamped `nowMs`;
 * a retired key that `to` wants again is put in `from` (so the change keeps it or replaces its value,
 * never adds it twice) and leaves the retired set. `commit` updates `retired` in place once the
 * transaction has committed (work in proportion to the change, not to the retired set). Retired
 * elements are deleted by a transaction of their own once due (NftDataplane).
 */
export function retire(
  from: NftModel,
  to: NftModel,
  retired: Retired,
  nowMs: number,
  graceMs: number,
): { from: NftModel; to: NftModel; commit: (r: Retired) => void } {
  // Only the sets written below are copied (a Maglev pool's slot map holds thousands of elements).
  const outFrom = writable(from);
  const outTo = writable(to);
  const drop: [string, string][] = [];
  const add: [string, string, string][] = [];
  for (const [map, els] of retired) {
    const t = to.sets.get(map);
    if (!t || !from.sets.has(map)) continue;
    const small = els.size <= t.elems.size;
    for (const key of small ? els.keys() : t.elems.keys()) {
      if (!(small ? t.elems.has(key) : els.has(key))) continue;
      if (!from.sets.get(map)?.elems.has(key)) outFrom.set(map, key, els.get(key)?.value ?? '');
      drop.push([map, key]);
    }
  }
  if (graceMs > 0)
    for (const map of REACHABLE_MAPS) {
      const f = from.sets.get(map);
      const t = to.sets.get(map);
      if (!f || !t) continue;
      for (const [key, value] of f.elems)
        if (!t.elems.has(key)) {
          outTo.set(map, key, value);
          add.push([map, key, value]);
        }
    }
  const commit = (r: Retired) => {
    for (const [map, key] of drop) {
      const m = r.get(map);
      m?.delete(key);
      if (m?.size === 0) r.delete(map);
    }
    for (const [map, key, value] of add) {
      const m = r.get(map) ?? new Map<string, { value: string; sinceMs: number }>();
      r.set(map, m);
      m.set(key, { value, sinceMs: nowMs });
    }
  };
  return { from: outFrom.model, to: outTo.model, commit };
}

/** The elements of `r` due at `nowMs` (a grace period after they were retired), and the rest of `r`. */
export function splitDue(
  r: Retired,
  nowMs: number,
  graceMs: number,
): { due: Map<string, Map<string, string>>; rest: Retired } {
  const due = new Map<string, Map<string, string>>();
  const rest: Retired = new Map();
  for (const [map, els] of r)
    for (const [key, e] of els) {
      if (nowMs >= e.sinceMs + graceMs) {
        const m = due.get(map) ?? new Map<string, string>();
        due.set(map, m);
        m.set(key, e.value);
      } else {
        const m = rest.get(map) ?? new Map<string, { value: string; sinceMs: number }>();
        rest.set(map, m);
        m.set(key, e);
      }
    }
  return { due, rest };
}

/**
 * `m` with elements to add: the model shares `m`'s sets until one is written, which is then copied (set and
 * elements), so `m` itself is never changed.
 */
function writable(m: NftModel): { model: NftModel; set: (map: string, key: string, value: string) => void } {
  const model: NftModel = { ...m, sets: new Map(m.sets) };
  const copied = new Set<string>();
  return {
    model,
    set(map, key, value) {
      let s = model.sets.get(map);
      if (!s) return;
      if (!copied.has(map)) {
        s = { ...s, elems: new Map(s.elems) };
        model.sets.set(map, s);
        copied.add(map);
      }
      s.elems.set(key, value);
    },
  };
}

/** How many elements `r` holds. */
export function retiredCount(r: Retired): number {
  let n = 0;
  for (const m of r.values()) n += m.size;
  return n;
}
