// virtual_routes, virtual_rules, static_routes and static_rules: an `ip route` / `ip rule` line read once, here,
// into the typed model (model.ts: IpRoute / IpRule, every word keepalived keeps), with keepalived's messages for
// a line it refuses. The data dump prints that model; `Route` / `Rule`, the subset the daemon programs
// (docs/routes.md), is derived from it, and a line outside the subset gets a located note naming why.
import { readFileSync } from 'node:fs';
import type { SourcePos } from './diagnostics.js';
import { Diagnostics } from './diagnostics.js';
import type {
  Family,
  IpRoute,
  IpRule,
  LinePrefix,
  NextHop,
  Route,
  RouteConfig,
  RouteScope,
  RouteType,
  Rule,
  RuleConfig,
} from './model.js';
import type { ParseCtx } from './parser.js';
import { readPrefix } from './values.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

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

/** A whole number: decimal, or hexadecimal with 0x; else null (parseInt would read `0x1/0xff` as 1). */
function wholeNumber(text: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text, 16);
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** `set`s the number `arg` of option `w`, or notes on the line that it is none (the line is not programmed). */
function readNumber(ip: { unreadable?: string }, w: string, arg: string, set: (n: number) => void): void {
  const n = wholeNumber(arg);
  if (n === null) ip.unreadable ??= `${w} ${arg} is not a number`;
  else set(n);
}

const familyOf = (addr: string): Family => (addr.includes(':') ? 6 : 4);

/** An address with its prefix length as written (the configuration has checked the address). */
function linePrefix(text: string): LinePrefix {
  const [addr, len] = text.split('/');
  const p: LinePrefix = { addr: addr!, family: familyOf(addr!) };
  if (len !== undefined && /^\d+$/.test(len)) p.len = Number(len);
  return p;
}

/** Our own note (keepalived is silent): a line keepalived accepts that the daemon does not program yet. */
function notInstalled(
  what: string,
  line: { words: string[]; pos: SourcePos },
  why: string,
  ctx: ParseCtx,
): void {
  ctx.diag.note(
    'CONFIG_NOT_RUN',
    `${what} '${line.words.join(' ')}' is parsed but not installed: ${why}`,
    line.pos,
  );
}

const ROUTE_TYPES = new Set<RouteType>([
  'unicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'local',
  'broadcast',
  'multicast',
  'nat',
]);
/** `ip route` options that take one argument (iproute2's grammar, as keepalived reads it). */
const ROUTE_ARG = new Set([
  'src',
  'via',
  'gw',
  'dev',
  'oif',
  'table',
  'metric',
  'preference',
  'pref',
  'scope',
  'proto',
  'protocol',
  'mtu',
  'advmss',
  'rtt',
  'rttvar',
  'reordering',
  'window',
  'cwnd',
  'initcwnd',
  'initrwnd',
  'ssthresh',
  'realms',
  'rto_min',
  'hoplimit',
  'features',
  'quickack',
  'congctl',
  'expires',
  'fastopen_no_cookie',
  'ttl-propagate',
  'weight',
  'tos',
]);
const ROUTE_FLAGS = new Set(['onlink', 'pervasive', 'no_track', 'nexthop', 'or', 'lock']);
const SCOPE_NAMES = new Set<RouteScope>(['global', 'universe', 'site', 'link', 'host', 'nowhere']);
const PROTOCOLS: Record<string, number> = { redirect: 1, kernel: 2, boot: 3, static: 4, keepalived: 18 };

/** Sets `ip`'s field for an option and its argument (outside the next hops). */
function routeOption(ip: IpRoute, w: string, arg: string): void {
  const number = (set: (n: number) => void) => readNumber(ip, w, arg, set);
  switch (w) {
    case 'src':
      ip.src = arg;
      return;
    case 'via':
    case 'gw':
      ip.via = arg;
      return;
    case 'dev':
    case 'oif':
      ip.dev = arg;
      return;
    case 'table': {
      const t = routeTableId(arg);
      if (t === null) ip.unreadable ??= `unknown table ${arg}`;
      else ip.table = t;
      return;
    }
    case 'metric':
    case 'preference':
      return number((n) => (ip.metric = n));
    case 'tos':
      return number((n) => (ip.tos = n));
    case 'scope':
      if (SCOPE_NAMES.has(arg as RouteScope)) ip.scope = arg as RouteScope;
      else number((n) => (ip.scope = n));
      return;
    case 'proto':
    case 'protocol': {
      const p = PROTOCOLS[arg];
      if (p !== undefined) ip.protocol = p;
      else number((n) => (ip.protocol = n));
      return;
    }
    default:
      ip.other.push([w, arg]);
  }
}

/** An `ip route` line: one destination, options, next hops; `dev`, family and `no_track` are lifted out. */
export function parseRouteLine(tokens: string[], pos: SourcePos, ctx: ParseCtx): RouteConfig | null {
  const ip: IpRoute = { onlink: false, nexthops: [], other: [] };
  const line: RouteConfig = { words: [...tokens], noTrack: false, pos, ip };
  let dest: string | undefined;
  /** After the first `nexthop`, the words describe next hops; `hop` is the one being read. */
  let inHops = false;
  let hop: NextHop | null = null;
  const current = (): NextHop => {
    hop ??= {};
    return hop;
  };
  const checkFamily = (addr: string): boolean => {
    const p = readPrefix(addr);
    if (!p.ok) return true;
    if (line.family !== undefined && line.family !== p.value.family) {
      ctx.diag.error('CONFIG_ROUTE_FAMILY', 'Cannot mix IPv4 and IPv6 addresses for route', pos);
      return false;
    }
    line.family = p.value.family;
    return true;
  };
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i]!;
    if (i === 0 && ROUTE_TYPES.has(w as RouteType)) {
      ip.type = w as RouteType;
      continue;
    }
    if (w === 'no_track') {
      line.noTrack = true;
      continue;
    }
    if (w === 'or') {
      // `via A or B`: B is a second next hop (keepalived keeps the route, as two next hops).
      ctx.diag.warn('CONFIG_DEPRECATED', '"or" for routes is deprecated. Please use "nexthop"', pos);
      const b = tokens[++i];
      if (!inHops && ip.nexthops.length === 0) {
        ip.nexthops.push(
          ip.via === undefined ? {} : { via: ip.via },
          ...(b === undefined ? [] : [{ via: b }]),
        );
        delete ip.via;
      }
      continue;
    }
    if (w === 'gw')
      ctx.diag.warn('CONFIG_DEPRECATED', '"gw" for routes is deprecated. Please use "via"', pos);
    if (ROUTE_FLAGS.has(w)) {
      if (w === 'nexthop') {
        if (inHops && hop) ip.nexthops.push(hop);
        if (inHops) hop = {};
        inHops = true;
      } else if (w === 'onlink') {
        if (inHops) current().onlink = true;
        else ip.onlink = true;
      } else ip.other.push([w]);
      continue;
    }
    if (ROUTE_ARG.has(w)) {
      const arg = tokens[++i];
      if (arg === undefined) {
        ctx.diag.error('CONFIG_MISSING_PARAMETER', `route option ${w} requires a value`, pos);
        return null;
      }
      if ((w === 'dev' || w === 'oif') && line.dev === undefined) line.dev = arg;
      if ((w === 'via' || w === 'gw' || w === 'src') && !checkFamily(arg)) return null;
      if (!inHops) routeOption(ip, w, arg);
      else if (w === 'via' || w === 'gw') current().via = arg;
      else if (w === 'dev') current().dev = arg;
      else if (w === 'weight') readNumber(ip, w, arg, (n) => (current().weight = n));
      else ip.other.push([w, arg]);
      continue;
    }
    if (dest === undefined) {
      const d = w === 'to' ? tokens[++i] : w;
      if (d === undefined) break;
      dest = d;
      if (d === 'default') continue;
      const p = readPrefix(d);
      if (p.ok) {
        if (!checkFamily(d)) return null;
        ip.dst = linePrefix(d);
        continue;
      }
      // keepalived's two messages for an unparsable destination; a bad prefix length falls back to
      // the full length instead.
      const bare = readPrefix(d.split('/')[0]);
      if (bare.ok && d.includes('/')) {
        ctx.diag.error(
          'CONFIG_INVALID_ADDRESS',
          `Invalid address prefix len for address ${d} - using full length`,
          pos,
        );
        if (!checkFamily(bare.value.address)) return null;
        ip.dst = linePrefix(d);
        continue;
      }
      ctx.diag.error('CONFIG_INVALID_ADDRESS', `VRRP parsed invalid IP ${d}. skipping IP...`, pos);
      ctx.diag.error('CONFIG_INVALID_ADDRESS', `unknown route keyword ${d}`, pos);
      return null;
    }
    ctx.diag.error('CONFIG_UNKNOWN_KEYWORD', `unknown route keyword ${w}`, pos);
    return null;
  }
  if (hop) ip.nexthops.push(hop);
  if (dest === undefined) {
    ctx.diag.error('CONFIG_MISSING_PARAMETER', 'route has no destination', pos);
    return null;
  }
  line.destination = dest;
  const route = programmedRoute(line);
  if (route.ok) line.route = route.value;
  else notInstalled('route', line, route.error, ctx);
  return line;
}

const PROGRAMMED_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'local']);

/** The part of a route line the daemon programs, or the first word outside it (docs/routes.md). */
export function programmedRoute(line: Pick<RouteConfig, 'ip' | 'family'>): Parsed<Route> {
  const { ip } = line;
  if (ip.unreadable !== undefined) return { ok: false, error: ip.unreadable };
  const unsupported = (w: string): Parsed<Route> => ({ ok: false, error: `unsupported word '${w}'` });
  if (ip.type !== undefined && !PROGRAMMED_TYPES.has(ip.type)) return unsupported(ip.type);
  if (ip.other.length > 0) return unsupported(ip.other[0]![0]!);
  if (ip.nexthops.length > 0) return unsupported('nexthop');
  if (ip.protocol !== undefined) return unsupported('proto');
  if (ip.tos !== undefined) return unsupported('tos');
  if (ip.onlink) return unsupported('onlink');
  if (ip.scope === 'universe' || ip.scope === 'nowhere')
    return { ok: false, error: `unknown scope ${ip.scope}` };
  if (ip.dst?.len !== undefined && ip.dst.len > (ip.dst.family === 4 ? 32 : 128))
    return { ok: false, error: `bad destination ${ip.dst.addr}/${ip.dst.len}` };
  const route: Route = {};
  if (line.family !== undefined) route.family = line.family;
  if (ip.type !== undefined) route.type = ip.type as Route['type'];
  if (ip.dst) {
    route.dst = ip.dst.addr;
    route.dstLen = ip.dst.len ?? (ip.dst.family === 4 ? 32 : 128);
  }
  if (ip.via !== undefined) route.gateway = ip.via;
  if (ip.src !== undefined) route.prefsrc = ip.src;
  if (ip.dev !== undefined) route.dev = ip.dev;
  if (ip.table !== undefined) route.table = ip.table;
  if (ip.metric !== undefined) route.metric = ip.metric;
  if (ip.scope !== undefined) route.scope = ip.scope as Route['scope'];
  return { ok: true, value: route };
}

/** An `ip route` line's words → what the daemon programs, or why not (keepalived's message if it refuses the line). */
export function routeOfWords(words: readonly string[]): Parsed<Route> {
  const diag = new Diagnostics();
  const line = parseRouteLine([...words], { file: '', line: 0 }, { diag });
  if (!line) return { ok: false, error: diag.list[0]?.message ?? 'refused' };
  return programmedRoute(line);
}

const RULE_ARG = new Set([
  'from',
  'to',
  'table',
  'lookup',
  'preference',
  'priority',
  'pref',
  'order',
  'fwmark',
  'iif',
  'dev',
  'oif',
  'tos',
  'dsfield',
  'uidrange',
  'sport',
  'dport',
  'ipproto',
  'goto',
  'suppress_prefixlength',
  'suppress_ifgroup',
  'realms',
  'nat',
  'protocol',
  'l3mdev',
]);
const RULE_FLAGS = new Set(['not', 'no_track', 'unicast', 'blackhole', 'unreachable', 'prohibit', 'l3mdev']);

/**
 * keepalived numbers rules that lack a preference downwards from 16384, one count per family (a rule without
 * an address is IPv4), and warns about it.
 */
export interface RuleDefaults {
  nextPreference: { 4: number; 6: number };
}

/** Sets `ip`'s field for a flag (arg undefined) or an option and its argument (already checked by the caller). */
function ruleWord(ip: IpRule, w: string, arg?: string): void {
  const number = (set: (n: number) => void) => readNumber(ip, w, arg!, set);
  switch (w) {
    case 'not':
      ip.not = true;
      return;
    case 'blackhole':
    case 'unreachable':
    case 'prohibit':
      ip.action = { type: w };
      return;
    case 'from':
    case 'to':
      if (arg === 'all') delete ip[w];
      else ip[w] = linePrefix(arg!);
      return;
    case 'table':
    case 'lookup':
      ip.action = { lookup: routeTableId(arg!)! };
      return;
    case 'goto':
      return number((n) => (ip.action = { goto: n }));
    case 'preference':
    case 'priority':
    case 'pref':
    case 'order':
      return number((n) => (ip.priority = n));
    case 'tos':
    case 'dsfield':
      return number((n) => (ip.tos = n));
    case 'fwmark': {
      const [m, k] = arg!.split('/');
      const mark = wholeNumber(m!);
      const mask = k === undefined ? undefined : wholeNumber(k);
      if (mark === null || mask === null) ip.unreadable ??= `fwmark ${arg} is not a number`;
      else ip.fwmark = mask === undefined ? { mark } : { mark, mask };
      return;
    }
    case 'iif':
    case 'dev':
      // keepalived takes `dev` for `iif` in a rule.
      ip.iif = arg;
      return;
    case 'oif':
      ip.oif = arg;
      return;
    default:
      ip.other.push(arg === undefined ? [w] : [w, arg]);
  }
}

/** An `ip rule` line: `from`/`to` addresses must parse, the table must exist. */
export function parseRuleLine(
  tokens: string[],
  pos: SourcePos,
  ctx: ParseCtx,
  defaults?: RuleDefaults,
): RuleConfig | null {
  const ip: IpRule = { not: false, other: [] };
  const line: RuleConfig = { words: [], noTrack: false, pos, ip };
  let hasPreference = false;
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i]!;
    if (w === 'no_track') {
      line.noTrack = true;
      continue;
    }
    line.words.push(w);
    if (RULE_FLAGS.has(w)) {
      ruleWord(ip, w);
      continue;
    }
    if (!RULE_ARG.has(w)) {
      ctx.diag.error('CONFIG_UNKNOWN_KEYWORD', `Unknown rule keyword ${w}`, pos);
      return null;
    }
    const arg = tokens[++i];
    if (arg === undefined) {
      ctx.diag.error('CONFIG_MISSING_PARAMETER', `rule option ${w} requires a value`, pos);
      return null;
    }
    line.words.push(arg);
    if ((w === 'from' || w === 'to') && arg !== 'all') {
      const p = readPrefix(arg);
      if (!p.ok) {
        ctx.diag.error('CONFIG_INVALID_ADDRESS', `VRRP parsed invalid IP ${arg}. skipping IP...`, pos);
        ctx.diag.error('CONFIG_INVALID_ADDRESS', `Invalid rule ${w} address ${arg}`, pos);
        return null;
      }
      line.family = p.value.family;
    }
    if ((w === 'table' || w === 'lookup') && routeTableId(arg) === null) {
      ctx.diag.error('CONFIG_UNKNOWN_TABLE', `Routing table ${arg} not found for rule`, pos);
      return null;
    }
    if (w === 'preference' || w === 'priority' || w === 'pref' || w === 'order') hasPreference = true;
    if (w === 'iif' || w === 'dev' || w === 'oif') line.dev = arg;
    ruleWord(ip, w, arg);
  }
  if (!hasPreference && defaults) {
    const family = line.family ?? 4;
    const n = defaults.nextPreference[family]--;
    ctx.diag.warn(
      'CONFIG_RULE_PREFERENCE',
      `Rule has no preference specified - setting to ${n}. This is probably not what you want.`,
      pos,
    );
    ip.priority = n;
    line.words.push('preference', String(n));
  }
  const rule = programmedRule(ip);
  if (rule.ok) line.rule = rule.value;
  else notInstalled('rule', line, rule.error, ctx);
  return line;
}

/** The part of a rule line the daemon programs, or the first word outside it (docs/routes.md). */
export function programmedRule(ip: IpRule): Parsed<Rule> {
  if (ip.unreadable !== undefined) return { ok: false, error: ip.unreadable };
  const unsupported = (w: string): Parsed<Rule> => ({ ok: false, error: `unsupported word '${w}'` });
  if (ip.not) return unsupported('not');
  if (ip.other.length > 0) return unsupported(ip.other[0]![0]!);
  if (ip.tos !== undefined) return unsupported('tos');
  if (ip.action && 'goto' in ip.action) return unsupported('goto');
  if (ip.action && 'type' in ip.action) return unsupported(ip.action.type);
  if (ip.action === undefined) return { ok: false, error: 'a rule needs a table' };
  if (ip.fwmark?.mask !== undefined) {
    const { mark, mask } = ip.fwmark;
    return { ok: false, error: `fwmark 0x${mark.toString(16)}/0x${mask.toString(16)} is not a number` };
  }
  const rule: Partial<Rule> = { table: ip.action.lookup };
  const family = ip.from?.family ?? ip.to?.family;
  if (family !== undefined) rule.family = family;
  if (ip.from) {
    rule.from = ip.from.addr;
    if (ip.from.len !== undefined) rule.fromLen = ip.from.len;
  }
  if (ip.to) {
    rule.to = ip.to.addr;
    if (ip.to.len !== undefined) rule.toLen = ip.to.len;
  }
  if (ip.priority !== undefined) rule.priority = ip.priority;
  if (ip.fwmark) rule.fwmark = ip.fwmark.mark;
  if (ip.iif !== undefined) rule.iifname = ip.iif;
  if (ip.oif !== undefined) rule.oifname = ip.oif;
  return { ok: true, value: rule as Rule };
}

/** An `ip rule` line's words → what the daemon programs, or why not (keepalived's message if it refuses the line). */
export function ruleOfWords(words: readonly string[]): Parsed<Rule> {
  const diag = new Diagnostics();
  const line = parseRuleLine([...words], { file: '', line: 0 }, { diag });
  if (!line) return { ok: false, error: diag.list[0]?.message ?? 'refused' };
  return programmedRule(line.ip);
}
