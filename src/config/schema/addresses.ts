// Address-like block lines: virtual/static IP addresses, and `ip route` / `ip rule` lines.

import type { SourcePos } from '../diagnostics.js';
import { IPV6_LIFETIME_FOREVER, type VipConfig } from '../model.js';
import type { ParseCtx } from '../parser.js';
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
        case 'preferred_lft': {
          const n =
            arg === 'forever'
              ? { ok: true as const, value: IPV6_LIFETIME_FOREVER }
              : readUnsigned(arg, 0, 0xffffffff);
          if (n.ok) vip.preferredLft = n.value;
          else {
            ctx.diag.error('CONFIG_INVALID_NUMBER', n.error, pos);
            ctx.diag.error('CONFIG_INVALID_VALUE', `preferred_lft ${arg} is invalid`, pos);
          }
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
  // keepalived's default for IPv6: a /128 is added deprecated, so that it is never a source address.
  if (vip.family === 6 && vip.preferredLft === undefined)
    vip.preferredLft = vip.prefixLength === 128 ? 0 : IPV6_LIFETIME_FOREVER;
  return vip;
}

// `ip route` / `ip rule` lines: read once into the typed model by the configuration layer's route-words.ts.
export { parseRouteLine, parseRuleLine, type RuleDefaults } from '../route-words.js';
