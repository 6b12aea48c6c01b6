// Address-like block lines: virtual/static IP addresses, and `ip route` / `ip rule` lines.

import type { SourcePos } from '../diagnostics.js';
import type { RouteConfig, RuleConfig, VipConfig } from '../model.js';
import type { ParseCtx } from '../parser.js';
import { routeOfWords, routeTableId, ruleOfWords } from '../route-words.js';
import { readIp, readPrefix, readUnsigned } from '../values.js';

const VIP_FLAGS = new Set([
  'home',
  'mngtmpaddr',
  'noprefixroute',
  'autojoin',
  'use_vmac',
  'no_track',
  '-nodad',
  'nodad',
]);
const VIP_WITH_ARG = new Set([
  'brd',
  'broadcast',
  'dev',
  'scope',
  'label',
  'peer',
  'preferred_lft',
  'track_group',
]);
const SCOPES = new Set(['site', 'link', 'host', 'nowhere', 'global']);

/**
 * keepalived 2.2.7's parse_ipaddress: an invalid prefix length (`/33`, `/abc`) is reported and replaced by
 * the full length (32 or 128) — the address is kept; only an invalid address drops it.
 */
function readVipPrefix(text: string, pos: SourcePos, ctx: ParseCtx): ReturnType<typeof readPrefix> {
  const slash = text.indexOf('/');
  if (slash < 0) return readPrefix(text);
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const ip = readIp(addr);
  const full = addr.includes(':') ? 128 : 32;
  const len = readUnsigned(lenText, 0, full);
  let prefixLength = full;
  if (!len.ok) {
    ctx.diag.error('CONFIG_INVALID_NUMBER', len.error, pos);
    ctx.diag.error(
      'CONFIG_INVALID_PREFIX',
      `Invalid address prefix len ${lenText} for address ${text} - using ${full}`,
      pos,
    );
  } else prefixLength = len.value;
  if (!ip.ok) return ip;
  return { ok: true, value: { ...ip.value, prefixLength, explicit: true } };
}

/** `ADDR[/LEN] [brd ADDR] [dev IF] [scope S] [label L] [peer ADDR] [-nodad] [no_track] …` */
export function parseVirtualAddress(tokens: string[], pos: SourcePos, ctx: ParseCtx): VipConfig | null {
  const first = tokens[0]!;
  const p = readVipPrefix(first, pos, ctx);
  if (!p.ok) {
    ctx.diag.error('CONFIG_INVALID_ADDRESS', `VRRP parsed invalid IP ${first}. skipping IP...`, pos);
    return null;
  }
  const vip: VipConfig = {
    address: p.value.address,
    family: p.value.family,
    prefixLength: p.value.prefixLength,
    noDad: false,
    noTrack: false,
    useVmac: false,
    flags: [],
    pos,
  };
  for (let i = 1; i < tokens.length; i++) {
    const w = tokens[i]!;
    if (VIP_WITH_ARG.has(w)) {
      const arg = tokens[++i];
      if (arg === undefined) {
        ctx.diag.error('CONFIG_MISSING_PARAMETER', `missing argument for '${w}' in address ${first}`, pos);
        break;
      }
      switch (w) {
        case 'brd':
        case 'broadcast': {
          const b = readIp(arg);
          if (!b.ok && arg !== '+' && arg !== '-')
            ctx.diag.error('CONFIG_INVALID_ADDRESS', `Invalid broadcast address ${arg}`, pos);
          else vip.broadcast = b.ok ? b.value.address : arg;
          break;
        }
        case 'dev':
          vip.dev = arg;
          break;
        case 'scope':
          if (!SCOPES.has(arg) && !/^\d+$/.test(arg))
            ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid scope '${arg}' for ip address ${first}`, pos);
          else vip.scope = arg;
          break;
        case 'label':
          vip.label = arg;
          break;
        case 'peer': {
          const b = readPrefix(arg);
          if (!b.ok) ctx.diag.error('CONFIG_INVALID_ADDRESS', `Invalid peer address ${arg}`, pos);
          else vip.peer = b.value.address;
          break;
        }
        default:
          vip.flags.push(w, arg);
      }
    } else if (VIP_FLAGS.has(w)) {
      if (w === '-nodad' || w === 'nodad') vip.noDad = true;
      else if (w === 'no_track') vip.noTrack = true;
      else if (w === 'use_vmac') vip.useVmac = true;
      else vip.flags.push(w);
    } else {
      ctx.diag.error(
        'CONFIG_UNKNOWN_KEYWORD',
        `Unknown configuration entry '${w}' for ip address - ignoring`,
        pos,
      );
    }
  }
  return vip;
}

const ROUTE_TYPES = new Set([
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

/** An `ip route` line: one destination, options; `dev`, family and `no_track` are lifted out. */
export function parseRouteLine(tokens: string[], pos: SourcePos, ctx: ParseCtx): RouteConfig | null {
  const line: RouteConfig = { words: [...tokens], noTrack: false, pos };
  let dest: string | undefined;
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
    if (i === 0 && ROUTE_TYPES.has(w)) continue;
    if (w === 'no_track') {
      line.noTrack = true;
      continue;
    }
    if (w === 'or') {
      // `via A or B`: B is a second next hop (keepalived keeps the route, as two next hops).
      ctx.diag.warn('CONFIG_DEPRECATED', '"or" for routes is deprecated. Please use "nexthop"', pos);
      i++;
      continue;
    }
    if (w === 'gw')
      ctx.diag.warn('CONFIG_DEPRECATED', '"gw" for routes is deprecated. Please use "via"', pos);
    if (ROUTE_FLAGS.has(w)) continue;
    if (ROUTE_ARG.has(w)) {
      const arg = tokens[++i];
      if (arg === undefined) {
        ctx.diag.error('CONFIG_MISSING_PARAMETER', `route option ${w} requires a value`, pos);
        return null;
      }
      if ((w === 'dev' || w === 'oif') && line.dev === undefined) line.dev = arg;
      if ((w === 'via' || w === 'gw' || w === 'src') && !checkFamily(arg)) return null;
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
        continue;
      }
      ctx.diag.error('CONFIG_INVALID_ADDRESS', `VRRP parsed invalid IP ${d}. skipping IP...`, pos);
      ctx.diag.error('CONFIG_INVALID_ADDRESS', `unknown route keyword ${d}`, pos);
      return null;
    }
    ctx.diag.error('CONFIG_UNKNOWN_KEYWORD', `unknown route keyword ${w}`, pos);
    return null;
  }
  if (dest === undefined) {
    ctx.diag.error('CONFIG_MISSING_PARAMETER', 'route has no destination', pos);
    return null;
  }
  line.destination = dest;
  const route = routeOfWords(line.words);
  if (route.ok) line.route = route.value;
  else notInstalled('route', line, route.error, ctx);
  return line;
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

/** keepalived numbers rules that lack a preference downwards from 16384, and warns about it. */
export interface RuleDefaults {
  nextPreference: number;
}

/** An `ip rule` line: `from`/`to` addresses must parse, the table must exist. */
export function parseRuleLine(
  tokens: string[],
  pos: SourcePos,
  ctx: ParseCtx,
  defaults?: RuleDefaults,
): RuleConfig | null {
  const line: RuleConfig = { words: [], noTrack: false, pos };
  let hasPreference = false;
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i]!;
    if (w === 'no_track') {
      line.noTrack = true;
      continue;
    }
    line.words.push(w);
    if (RULE_FLAGS.has(w)) continue;
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
    if (w === 'iif' || w === 'oif') line.dev = arg;
  }
  if (!hasPreference && defaults) {
    ctx.diag.warn(
      'CONFIG_RULE_PREFERENCE',
      `Rule has no preference specified - setting to ${defaults.nextPreference}. This is probably not what you want.`,
      pos,
    );
    line.words.push('preference', String(defaults.nextPreference--));
  }
  const rule = ruleOfWords(line.words);
  if (rule.ok) line.rule = rule.value;
  else notInstalled('rule', line, rule.error, ctx);
  return line;
}
