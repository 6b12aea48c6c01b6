// virtual_routes / virtual_rules lines (`ip route` / `ip rule` words, as the config layer keeps them) → the
// netlink layer's RouteSpec / RuleSpec. The common subset of ip-route(8) and ip-rule(8) keywords is
// understood; anything else is an error value naming the word, so the daemon can say what it skipped.
import type { RouteSpec, RuleSpec } from '../net/netlink-types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A route before its `dev` name is resolved to an index. */
export type RouteLine = RouteSpec & { devName?: string };

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'local']);
const SCOPES = new Set(['global', 'site', 'link', 'host']);

function prefix(text: string): { addr: string; len?: number } | null {
  const [addr, len] = text.split('/');
  if (!addr) return null;
  if (len === undefined) return { addr };
  const n = Number(len);
  return Number.isInteger(n) && n >= 0 && n <= 128 ? { addr, len: n } : null;
}

function uint(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

/** Table names ip(8) knows without /etc/iproute2/rt_tables. */
function table(text: string | undefined): number | null {
  if (text === 'main') return 254;
  if (text === 'local') return 255;
  if (text === 'default') return 253;
  return uint(text);
}

export function parseRouteWords(words: readonly string[], family: 4 | 6): Parsed<RouteLine> {
  const spec: RouteLine = { family };
  let isDefault = false;
  let k = 0;
  const next = (what: string): string | Parsed<never> =>
    words[k + 1] ?? { ok: false, error: `${what} needs a value` };
  for (; k < words.length; k++) {
    const w = words[k]!;
    if (ROUTE_TYPES.has(w) && spec.dst === undefined && !isDefault) {
      spec.type = w as RouteSpec['type'];
      continue;
    }
    const key = w === 'to' ? 'to' : w;
    switch (key) {
      case 'to':
        continue;
      case 'via':
      case 'src':
      case 'dev':
      case 'oif':
      case 'table':
      case 'metric':
      case 'priority':
      case 'preference':
      case 'scope': {
        const v = next(w);
        if (typeof v !== 'string') return v;
        k++;
        if (key === 'via') spec.gateway = v;
        else if (key === 'src') spec.prefsrc = v;
        else if (key === 'dev' || key === 'oif') spec.devName = v;
        else if (key === 'table') {
          const t = table(v);
          if (t === null) return { ok: false, error: `table ${v} is not a number` };
          spec.table = t;
        } else if (key === 'scope') {
          const n = uint(v);
          if (n === null && !SCOPES.has(v)) return { ok: false, error: `unknown scope ${v}` };
          spec.scope = n ?? (v as 'global' | 'site' | 'link' | 'host');
        } else {
          const n = uint(v);
          if (n === null) return { ok: false, error: `${w} ${v} is not a number` };
          spec.metric = n;
        }
        continue;
      }
      default: {
        if (spec.dst !== undefined || isDefault || w.startsWith('-')) {
          return { ok: false, error: `unsupported word '${w}'` };
        }
        if (w === 'default') {
          isDefault = true;
          continue;
        }
        const p = prefix(w);
        if (!p) return { ok: false, error: `bad destination ${w}` };
        spec.dst = p.addr;
        spec.dstLen = p.len ?? (family === 4 ? 32 : 128);
      }
    }
  }
  if (spec.dst === undefined && !isDefault) return { ok: false, error: 'no destination' };
  return { ok: true, value: spec };
}

export function parseRuleWords(words: readonly string[], family: 4 | 6): Parsed<RuleSpec> {
  const spec: Partial<RuleSpec> & { family: 4 | 6 } = { family };
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const v = words[k + 1];
    if (v === undefined) return { ok: false, error: `${w} needs a value` };
    k++;
    switch (w) {
      case 'from':
      case 'to': {
        if (v === 'all') continue;
        const p = prefix(v);
        if (!p) return { ok: false, error: `bad address ${v}` };
        if (w === 'from') {
          spec.from = p.addr;
          if (p.len !== undefined) spec.fromLen = p.len;
        } else {
          spec.to = p.addr;
          if (p.len !== undefined) spec.toLen = p.len;
        }
        continue;
      }
      case 'table':
      case 'lookup': {
        const t = table(v);
        if (t === null) return { ok: false, error: `table ${v} is not a number` };
        spec.table = t;
        continue;
      }
      case 'priority':
      case 'preference':
      case 'pref':
      case 'fwmark': {
        const n = v.startsWith('0x') ? Number.parseInt(v, 16) : uint(v);
        if (n === null || Number.isNaN(n)) return { ok: false, error: `${w} ${v} is not a number` };
        if (w === 'fwmark') spec.fwmark = n;
        else spec.priority = n;
        continue;
      }
      case 'iif':
      case 'oif':
        if (w === 'iif') spec.iifname = v;
        else spec.oifname = v;
        continue;
      default:
        return { ok: false, error: `unsupported word '${w}'` };
    }
  }
  if (spec.table === undefined) return { ok: false, error: 'a rule needs a table' };
  return { ok: true, value: spec as RuleSpec };
}
