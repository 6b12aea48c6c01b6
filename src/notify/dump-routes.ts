// Routes and rules as keepalived 2.2.7's data dump writes them (its "Virtual Routes" / "Virtual Rules" lines
// and the Static Routes / Static Rules sections), from the words of the configuration line: the keepalived
// words in keepalived's order, tracked routes and rules with `proto 18` / `protocol 18` (RTPROT_KEEPALIVED),
// a route without an output interface untracked (`no_track`). docs/notify-data-dump.md lists the rules.
import type { RouteConfig, RuleConfig } from '../config/model.js';
import { routeTableId } from '../config/route-words.js';

/** One dumped route or rule: its text, and the interface it makes the instance track (null: none). */
export interface DumpedRoute {
  text: string;
  tracks: string | null;
}

const SCOPE_NUMBER: Record<string, number> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};
const ROUTE_TYPES = new Set([
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
]);
const PROTOCOLS: Record<string, number> = { redirect: 1, kernel: 2, boot: 3, static: 4, keepalived: 18 };

/** keepalived's ipaddresstos: the address, and `/LEN` when shorter than the full length. */
function prefixText(p: string): string {
  const [addr, len] = p.split('/');
  if (len === undefined) return addr!;
  const full = addr!.includes(':') ? 128 : 32;
  return Number(len) === full ? addr! : `${addr}/${Number(len)}`;
}

const inetOf = (a: string) => (a.includes(':') ? 'inet6' : 'inet');

/** A virtual_routes / static_routes line; null when keepalived would not keep it (no destination). */
export function dumpRoute(rc: RouteConfig): DumpedRoute | null {
  const w = rc.words;
  let op = 'prepend';
  let type: string | undefined;
  let dst: string | undefined;
  let from: string | undefined;
  let src: string | undefined;
  let tos: string | undefined;
  let via: string | undefined;
  let oif: string | undefined;
  let table = 254;
  let protocol: number | undefined;
  let scope: number | undefined;
  let metric: number | undefined;
  let onlink = false;
  let noTrack = false;
  let inet6 = false;
  const nexthops: { via?: string; dev?: string; weight?: number; onlink?: boolean }[] = [];
  for (let k = 0; k < w.length; k++) {
    const x = w[k]!;
    const v = w[k + 1];
    switch (x) {
      case 'inet6':
        inet6 = true;
        break;
      case 'inet':
        break;
      case 'src':
        src = v;
        k++;
        break;
      case 'from':
        from = v;
        k++;
        break;
      case 'via':
      case 'gw':
        if (v === 'inet' || v === 'inet6') k++;
        via = w[++k];
        break;
      case 'dev':
      case 'oif':
        oif = v;
        k++;
        break;
      case 'table': {
        const t = v === undefined ? null : routeTableId(v);
        if (t !== null) table = t;
        k++;
        break;
      }
      case 'protocol':
      case 'proto':
        protocol = v === undefined ? undefined : (PROTOCOLS[v] ?? Number(v));
        k++;
        break;
      case 'scope':
        scope = v === undefined ? undefined : (SCOPE_NUMBER[v] ?? Number(v));
        k++;
        break;
      case 'metric':
      case 'priority':
      case 'preference':
        metric = Number(v);
        k++;
        break;
      case 'tos':
      case 'dsfield':
        tos = v;
        k++;
        break;
      case 'onlink':
        onlink = true;
        break;
      case 'add':
        op = 'add';
        break;
      case 'append':
        op = 'append';
        break;
      case 'prepend':
        op = 'prepend';
        break;
      case 'no_track':
        noTrack = true;
        break;
      case 'or':
        // keepalived's old form: the via address and this one become two next hops.
        if (nexthops.length === 0) {
          nexthops.push(via === undefined ? {} : { via }, ...(v === undefined ? [] : [{ via: v }]));
          via = undefined;
        }
        k++;
        break;
      case 'nexthop': {
        // The rest of the line is next hops: `nexthop [via A] [dev D] [weight N] [onlink]`.
        let nh: (typeof nexthops)[number] | null = null;
        for (k++; k < w.length; k++) {
          const y = w[k]!;
          if (y === 'nexthop') {
            if (nh) nexthops.push(nh);
            nh = {};
          } else if (y === 'via' || y === 'gw') {
            nh ??= {};
            if (w[k + 1] === 'inet' || w[k + 1] === 'inet6') k++;
            nh.via = w[++k]!;
          } else if (y === 'dev') {
            nh ??= {};
            nh.dev = w[++k]!;
          } else if (y === 'weight') {
            nh ??= {};
            nh.weight = Number(w[++k]);
          } else if (y === 'onlink') {
            nh ??= {};
            nh.onlink = true;
          } else if (y === 'no_track') noTrack = true;
        }
        if (nh) nexthops.push(nh);
        break;
      }
      case 'to':
        break;
      default:
        if (ROUTE_TYPES.has(x) && dst === undefined) {
          // 2.2.7 writes `add` before a route given a type (blackhole, unreachable …).
          type = x;
          op = 'add';
        } else if (x === 'default') dst = inet6 ? '::/0' : '0.0.0.0/0';
        else dst = x;
    }
  }
  if (dst === undefined) return null;
  let tracked = !noTrack;
  if (tracked) protocol = 18;
  if (tracked && oif === undefined) tracked = false;
  let out = `${op} `;
  if (type !== undefined && type !== 'unicast') out += `${type} `;
  out += prefixText(dst);
  if (from !== undefined) out += ` from ${prefixText(from)}`;
  if (src !== undefined) out += ` src ${src}`;
  if (tos !== undefined) out += ` tos ${Number(tos)}`;
  if (via !== undefined) out += ` via ${inetOf(via)} ${via}`;
  if (oif !== undefined) out += ` dev ${oif}`;
  if (table !== 254) out += ` table ${table}`;
  if (protocol !== undefined) out += ` proto ${protocol}`;
  if (scope !== undefined) out += ` scope ${scope}`;
  if (metric !== undefined) out += ` metric ${metric}`;
  if (onlink && !dst.includes(':')) out += ' onlink';
  for (const nh of nexthops) {
    out += ' nexthop';
    if (nh.via !== undefined) out += ` via inet${nh.via.includes(':') ? '6' : ''} ${nh.via}`;
    if (nh.dev !== undefined) out += ` dev ${nh.dev}`;
    if (nh.weight !== undefined) out += ` weight ${nh.weight}`;
    if (nh.onlink) out += ' onlink';
  }
  if (!tracked) out += ' no_track';
  return { text: out, tracks: tracked ? (oif ?? null) : null };
}

/** A virtual_rules / static_rules line (the model's words carry the preference keepalived adds). */
export function dumpRule(rc: RuleConfig): DumpedRoute | null {
  const w = rc.words;
  let from: string | undefined;
  let to: string | undefined;
  let priority: number | undefined;
  let tos = 0;
  let fwmark: string | undefined;
  let iif: string | undefined;
  let oif: string | undefined;
  let action: string | undefined;
  let not = false;
  let inet6 = false;
  let noTrack = rc.noTrack;
  let suppress: string | undefined;
  for (let k = 0; k < w.length; k++) {
    const x = w[k]!;
    const v = w[k + 1];
    switch (x) {
      case 'inet6':
        inet6 = true;
        break;
      case 'not':
        not = true;
        break;
      case 'from':
        if (v !== 'all') from = v;
        k++;
        break;
      case 'to':
        if (v !== 'all') to = v;
        k++;
        break;
      case 'priority':
      case 'preference':
      case 'order':
      case 'pref':
        priority = Number(v);
        k++;
        break;
      case 'tos':
      case 'dsfield':
        tos = Number(v);
        k++;
        break;
      case 'fwmark':
        fwmark = v;
        k++;
        break;
      case 'iif':
      case 'dev':
        iif = v;
        k++;
        break;
      case 'oif':
        oif = v;
        k++;
        break;
      case 'table':
      case 'lookup': {
        const t = v === undefined ? null : routeTableId(v);
        action = `lookup ${t ?? v}`;
        k++;
        break;
      }
      case 'goto':
        action = `goto ${v}`;
        k++;
        break;
      case 'nop':
        action = 'nop';
        break;
      case 'blackhole':
      case 'prohibit':
      case 'unreachable':
        action = `type ${x}`;
        break;
      case 'suppress_prefixlen':
        suppress = v;
        k++;
        break;
      case 'no_track':
        noTrack = true;
        break;
      default:
        break;
    }
  }
  if (action === undefined) return null;
  const v6 = inet6 || rc.family === 6;
  let out = '';
  if (from === undefined && to === undefined && v6) out += 'inet6 ';
  if (not) out += 'not ';
  out += from === undefined ? 'from all' : `from ${prefixText(from)}`;
  if (to !== undefined) out += ` to ${prefixText(to)}`;
  if (priority !== undefined) out += ` priority ${priority}`;
  out += ` tos 0x${tos.toString(16)}`;
  if (fwmark !== undefined) {
    const [m, mask] = fwmark.split('/');
    out += ` fwmark 0x${Number(m).toString(16)}`;
    if (mask !== undefined && Number(mask) !== 0xffffffff) out += `/0x${Number(mask).toString(16)}`;
  }
  if (iif !== undefined) out += ` iif ${iif}`;
  if (oif !== undefined) out += ` oif ${oif}`;
  if (suppress !== undefined) out += ` suppress_prefixlen ${suppress}`;
  if (!noTrack) out += ' protocol 18';
  out += ` ${action}`;
  if (noTrack) out += ' no_track';
  return { text: out, tracks: noTrack ? null : (iif ?? null) };
}
