// Address-like block lines: virtual/static IP addresses, and `ip route` / `ip rule` lines.
import type { SourcePos } from '../diagnostics.js';
import type { IpRouteLine, VirtualAddress } from '../model.js';
import type { ParseCtx } from '../parser.js';
import { readIp, readPrefix } from '../values.js';

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

/** `ADDR[/LEN] [brd ADDR] [dev IF] [scope S] [label L] [peer ADDR] [-nodad] [no_track] …` */
export function parseVirtualAddress(tokens: string[], pos: SourcePos, ctx: ParseCtx): VirtualAddress | null {
  const first = tokens[0]!;
  const p = readPrefix(first);
  if (!p.ok) {
    ctx.diag.error('CONFIG_INVALID_ADDRESS', `VRRP parsed invalid IP ${first}. skipping IP...`, pos);
    return null;
  }
  const vip: VirtualAddress = {
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

/** An `ip route` line: the destination must parse; `dev` and `no_track` are lifted out. */
export function parseRouteLine(tokens: string[], pos: SourcePos, ctx: ParseCtx): IpRouteLine | null {
  const line: IpRouteLine = { words: [], noTrack: false, pos };
  let i = 0;
  if (ROUTE_TYPES.has(tokens[0]!)) line.words.push(tokens[i++]!);
  if (tokens[i] === 'to') i++;
  const dest = tokens[i];
  if (dest === undefined) {
    ctx.diag.error('CONFIG_MISSING_PARAMETER', 'route has no destination', pos);
    return null;
  }
  if (dest !== 'default') {
    const p = readPrefix(dest);
    if (!p.ok) {
      ctx.diag.error('CONFIG_INVALID_ADDRESS', `Invalid route destination ${dest}`, pos);
      return null;
    }
    line.family = p.value.family;
  }
  for (; i < tokens.length; i++) {
    const w = tokens[i]!;
    if (w === 'no_track') line.noTrack = true;
    else {
      if (w === 'dev' || w === 'oif') line.dev = tokens[i + 1];
      line.words.push(w);
    }
  }
  return line;
}

/** An `ip rule` line: `from`/`to` addresses must parse. */
export function parseRuleLine(tokens: string[], pos: SourcePos, ctx: ParseCtx): IpRouteLine | null {
  const line: IpRouteLine = { words: [], noTrack: false, pos };
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i]!;
    if (w === 'no_track') {
      line.noTrack = true;
      continue;
    }
    line.words.push(w);
    if ((w === 'from' || w === 'to') && tokens[i + 1] !== undefined) {
      const a = tokens[i + 1]!;
      if (a !== 'all') {
        const p = readPrefix(a);
        if (!p.ok) {
          ctx.diag.error('CONFIG_INVALID_ADDRESS', `VRRP parsed invalid IP ${a}. skipping IP...`, pos);
          ctx.diag.error('CONFIG_INVALID_ADDRESS', `Invalid rule ${w} address ${a}`, pos);
          return null;
        }
        line.family = p.value.family;
      }
    }
    if (w === 'dev' || w === 'iif' || w === 'oif') line.dev = tokens[i + 1];
  }
  return line;
}
