// Routes and rules as keepalived 2.2.7's data dump writes them (its "Virtual Routes" / "Virtual Rules" lines
// and the Static Routes / Static Rules sections), from the typed line the configuration read (model.ts IpRoute /
// IpRule): keepalived's words in keepalived's order, tracked routes and rules with `proto 18` / `protocol 18`
// (RTPROT_KEEPALIVED), a route without an output interface untracked (`no_track`). docs/notify-data-dump.md
// lists the rules.
import type { LinePrefix, RouteConfig, RouteScope, RuleConfig } from '../config/model.js';

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
const RTPROT_KEEPALIVED = 18;
const MAIN_TABLE = 254;

/** keepalived's ipaddresstos: the address, and `/LEN` when shorter than the full length. */
function prefixText(p: LinePrefix): string {
  return p.len === undefined || p.len === (p.family === 4 ? 32 : 128) ? p.addr : `${p.addr}/${p.len}`;
}

const inetOf = (a: string) => (a.includes(':') ? 'inet6' : 'inet');
const scopeNumber = (s: RouteScope) => (typeof s === 'number' ? s : SCOPE_NUMBER[s]);

/** A dump line: the words present, in order, and what the line makes the instance track. */
function dumped(words: (string | false | undefined)[], tracks: string | null): DumpedRoute {
  return { text: words.filter((w) => typeof w === 'string').join(' '), tracks };
}

/** A virtual_routes / static_routes line. */
export function dumpRoute(rc: RouteConfig): DumpedRoute {
  const { ip } = rc;
  // Tracked (proto 18) unless no_track; then untracked all the same when no interface names it.
  const tracks = !rc.noTrack && ip.dev !== undefined ? ip.dev : null;
  const protocol = rc.noTrack ? ip.protocol : RTPROT_KEEPALIVED;
  return dumped(
    [
      // 2.2.7 writes `add` before a route given a type (blackhole, unreachable …), else `prepend`.
      ip.type === undefined ? 'prepend' : 'add',
      ip.type !== undefined && ip.type !== 'unicast' && ip.type,
      ip.dst ? prefixText(ip.dst) : '0.0.0.0/0',
      ip.src !== undefined && `src ${ip.src}`,
      ip.tos !== undefined && `tos ${ip.tos}`,
      ip.via !== undefined && `via ${inetOf(ip.via)} ${ip.via}`,
      ip.dev !== undefined && `dev ${ip.dev}`,
      ip.table !== undefined && ip.table !== MAIN_TABLE && `table ${ip.table}`,
      protocol !== undefined && `proto ${protocol}`,
      ip.scope !== undefined && `scope ${scopeNumber(ip.scope)}`,
      ip.metric !== undefined && `metric ${ip.metric}`,
      ip.onlink && ip.dst?.family !== 6 && 'onlink',
      ...ip.nexthops.flatMap((nh) => [
        'nexthop',
        nh.via !== undefined && `via ${inetOf(nh.via)} ${nh.via}`,
        nh.dev !== undefined && `dev ${nh.dev}`,
        nh.weight !== undefined && `weight ${nh.weight}`,
        nh.onlink && 'onlink',
      ]),
      tracks === null && 'no_track',
    ],
    tracks,
  );
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** A virtual_rules / static_rules line; null when keepalived would not keep it (no action). */
export function dumpRule(rc: RuleConfig): DumpedRoute | null {
  const { ip, noTrack } = rc;
  const action = ip.action;
  if (action === undefined) return null;
  const { fwmark } = ip;
  return dumped(
    [
      ip.not && 'not',
      ip.from ? `from ${prefixText(ip.from)}` : 'from all',
      ip.to && `to ${prefixText(ip.to)}`,
      ip.priority !== undefined && `priority ${ip.priority}`,
      `tos ${hex(ip.tos ?? 0)}`,
      fwmark &&
        `fwmark ${hex(fwmark.mark)}${fwmark.mask !== undefined && fwmark.mask !== 0xffffffff ? `/${hex(fwmark.mask)}` : ''}`,
      ip.iif !== undefined && `iif ${ip.iif}`,
      ip.oif !== undefined && `oif ${ip.oif}`,
      !noTrack && `protocol ${RTPROT_KEEPALIVED}`,
      'lookup' in action
        ? `lookup ${action.lookup}`
        : 'goto' in action
          ? `goto ${action.goto}`
          : `type ${action.type}`,
      noTrack && 'no_track',
    ],
    noTrack ? null : (ip.iif ?? null),
  );
}
