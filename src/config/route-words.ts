// The `ip route` / `ip rule` words of virtual_routes, virtual_rules, static_routes and static_rules → the typed
// Route / Rule the daemon programs. The schema (schema/addresses.ts) first checks a line the way keepalived
// does; this reads the subset of the words the daemon installs, listed in docs/routes.md, and names the first
// word outside it, so the line can be noted as not installed.
import { readFileSync } from 'node:fs';
import type { Route, Rule } from './model.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'local']);
const SCOPES = new Set(['global', 'site', 'link', 'host']);
/** Table names ip(8) knows without an rt_tables file. */
const BUILTIN_TABLES = new Map([
  ['default', 253],
  ['main', 254],
  ['local', 255],
  ['unspec', 0],
]);
const RT_TABLES = ['/etc/iproute2/rt_tables', '/usr/share/iproute2/rt_tables', '/usr/lib/iproute2/rt_tables'];

/** A routing table's id: a number, a built-in name, or a name in iproute2's rt_tables files; else null. */
export function routeTableId(name: string): number | null {
  if (/^\d+$/.test(name)) return Number(name);
  const builtin = BUILTIN_TABLES.get(name);
  if (builtin !== undefined) return builtin;
  for (const f of RT_TABLES) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue; // not there
    }
    for (const line of text.split('\n')) {
      const [id, n] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (n === name && id !== undefined && /^\d+$/.test(id)) return Number(id);
    }
  }
  return null;
}

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

/** The family an address's text says, or undefined for a word that is no address. */
function familyOf(addr: string): 4 | 6 | undefined {
  if (addr.includes(':')) return 6;
  return /^\d+\.\d+\.\d+\.\d+$/.test(addr) ? 4 : undefined;
}

/** An `ip route` line's words (no_track already lifted out by the caller, or skipped here). */
export function routeOfWords(words: readonly string[]): Parsed<Route> {
  const route: Route = {};
  let isDefault = false;
  const setFamily = (addr: string) => {
    const f = familyOf(addr);
    if (route.family === undefined && f !== undefined) route.family = f;
  };
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (w === 'no_track' || w === 'to') continue;
    if (ROUTE_TYPES.has(w) && route.dst === undefined && !isDefault) {
      route.type = w as Route['type'];
      continue;
    }
    switch (w) {
      case 'via':
      case 'gw':
      case 'src':
      case 'dev':
      case 'oif':
      case 'table':
      case 'metric':
      case 'priority':
      case 'preference':
      case 'scope': {
        const v = words[++k];
        if (v === undefined) return { ok: false, error: `${w} needs a value` };
        if (w === 'via' || w === 'gw') {
          route.gateway = v;
          setFamily(v);
        } else if (w === 'src') {
          route.prefsrc = v;
          setFamily(v);
        } else if (w === 'dev' || w === 'oif') route.dev ??= v;
        else if (w === 'table') {
          const t = routeTableId(v);
          if (t === null) return { ok: false, error: `unknown table ${v}` };
          route.table = t;
        } else if (w === 'scope') {
          const n = uint(v);
          if (n === null && !SCOPES.has(v)) return { ok: false, error: `unknown scope ${v}` };
          route.scope = n ?? (v as 'global' | 'site' | 'link' | 'host');
        } else {
          const n = uint(v);
          if (n === null) return { ok: false, error: `${w} ${v} is not a number` };
          route.metric = n;
        }
        continue;
      }
      default: {
        if (route.dst !== undefined || isDefault || w.startsWith('-')) {
          return { ok: false, error: `unsupported word '${w}'` };
        }
        if (w === 'default') {
          isDefault = true;
          continue;
        }
        const p = prefix(w);
        const family = p && familyOf(p.addr);
        if (!p || !family) return { ok: false, error: `bad destination ${w}` };
        route.dst = p.addr;
        route.dstLen = p.len ?? (family === 4 ? 32 : 128);
        route.family = family;
      }
    }
  }
  if (route.dst === undefined && !isDefault) return { ok: false, error: 'no destination' };
  return { ok: true, value: route };
}

/** An `ip rule` line's words. */
export function ruleOfWords(words: readonly string[]): Parsed<Rule> {
  const rule: Partial<Rule> = {};
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (w === 'no_track') continue;
    const v = words[k + 1];
    if (v === undefined) return { ok: false, error: `${w} needs a value` };
    k++;
    switch (w) {
      case 'from':
      case 'to': {
        if (v === 'all') continue;
        const p = prefix(v);
        if (!p) return { ok: false, error: `bad address ${v}` };
        const f = familyOf(p.addr);
        if (rule.family === undefined && f !== undefined) rule.family = f;
        if (w === 'from') {
          rule.from = p.addr;
          if (p.len !== undefined) rule.fromLen = p.len;
        } else {
          rule.to = p.addr;
          if (p.len !== undefined) rule.toLen = p.len;
        }
        continue;
      }
      case 'table':
      case 'lookup': {
        const t = routeTableId(v);
        if (t === null) return { ok: false, error: `unknown table ${v}` };
        rule.table = t;
        continue;
      }
      case 'priority':
      case 'preference':
      case 'pref':
      case 'fwmark': {
        // Whole words only: parseInt would read `0x1/0xff` (a mark with a mask) as 1.
        const n = /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v, 16) : uint(v);
        if (n === null) return { ok: false, error: `${w} ${v} is not a number` };
        if (w === 'fwmark') rule.fwmark = n;
        else rule.priority = n;
        continue;
      }
      case 'iif':
      case 'oif':
        if (w === 'iif') rule.iifname = v;
        else rule.oifname = v;
        continue;
      default:
        return { ok: false, error: `unsupported word '${w}'` };
    }
  }
  if (rule.table === undefined) return { ok: false, error: 'a rule needs a table' };
  return { ok: true, value: rule as Rule };
}
