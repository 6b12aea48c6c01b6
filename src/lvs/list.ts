// An `ipvsadm -Ln` style listing of the committed data-plane state, so an operator's habit carries over.
// Pure: the connection counts come in as a map from conntrack mark (one per service × server, see
// nft-model.ts) to counts, parsed from conntrack's table by parseConntrack. Layout facts: docs/lvs.md.
import { isIPv4 } from 'node:net';
import { ipv4FromNumber } from '../net/inet.js';
import {
  type DataplaneState,
  type ForwardMethod,
  listedServers,
  memberPort,
  persistenceMask4,
  type ServiceMatch,
  type ServiceSpec,
} from './dataplane.js';
import { markKey } from './nft-model.js';

export interface ConnCounts {
  active: number;
  inactive: number;
  /**
   * The same connections by the service match they came in on (memberKey), where known: a
   * virtual_server_group is one service here but one IPVS service per member, listed apart.
   */
  byMember?: Map<string, ConnCounts>;
}

/** Key of one service match: the address and port a client addressed, or the fwmark. */
export function memberKey(m: ServiceMatch): string {
  return m.kind === 'fwmark' ? `f|${m.fwmark}` : `a|${addrBytes(m.address).join('.')}|${m.port}`;
}

const bump = (c: ConnCounts, active: boolean): void => {
  if (active) c.active++;
  else c.inactive++;
};

/**
 * Counts conntrack entries per mark from the text of /proc/net/nf_conntrack (or `conntrack -L -o extended`
 * output, same fields). IPVS's ActiveConn is TCP connections in ESTABLISHED; every other entry (TCP in
 * any other state, UDP, SCTP) counts as InActConn. Entries without a mark are ignored.
 */
export function parseConntrack(text: string): Map<number, ConnCounts> {
  const out = new Map<number, ConnCounts>();
  for (const line of text.split('\n')) {
    const m = /\bmark=(\d+)/.exec(line);
    if (!m) continue;
    const mark = Number(m[1]);
    if (mark === 0) continue;
    const c = out.get(mark) ?? { active: 0, inactive: 0, byMember: new Map() };
    const active = /\btcp\s+6\s+\d+\s+ESTABLISHED\b/.test(line);
    bump(c, active);
    // The original direction's destination: the VIP and port the client addressed (first dst=, dport=).
    const dst = /\bdst=(\S+)/.exec(line)?.[1];
    const dport = /\bdport=(\d+)/.exec(line)?.[1];
    if (dst && dport) {
      const k = memberKey({ kind: 'addr', address: dst, port: Number(dport) });
      const mc = c.byMember?.get(k) ?? { active: 0, inactive: 0 };
      bump(mc, active);
      c.byMember?.set(k, mc);
    }
    out.set(mark, c);
  }
  return out;
}

const PROTO_NUM = { tcp: 6, udp: 17, sctp: 132 } as const;

function addrBytes(a: string): number[] {
  if (isIPv4(a)) return a.split('.').map(Number);
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function cmpAddr(a: string, b: string): number {
  const x = addrBytes(a);
  const y = addrBytes(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

function addrPort(family: 4 | 6, address: string, port: number): string {
  return family === 4 ? `${address}:${port}` : `[${address}]:${port}`;
}

/** ipvsadm's forward names (a NAT destination on a local address stays "Masq" on Linux 6.1, checked). */
function forwardName(method: ForwardMethod): string {
  if (method === 'NAT') return 'Masq';
  return method === 'DR' ? 'Route' : 'Tunnel';
}

function schedFlags(s: ServiceSpec): string {
  const f: string[] = [];
  const name = s.scheduler === 'sh' || s.scheduler === 'mh' ? s.scheduler : '';
  if (s.flags.fallback) f.push(name ? `${name}-fallback` : 'flag-1');
  if (s.flags.hashPort) f.push(name ? `${name}-port` : 'flag-2');
  return f.length > 0 ? ` (${f.join(',')})` : '';
}

interface Entry {
  s: ServiceSpec;
  m: ServiceMatch;
}

function cmpEntries(a: Entry, b: Entry): number {
  const fa = a.m.kind === 'fwmark' ? a.m.fwmark : 0;
  const fb = b.m.kind === 'fwmark' ? b.m.fwmark : 0;
  if (fa !== fb) return fa - fb;
  if (a.s.family !== b.s.family) return a.s.family - b.s.family;
  if (a.s.protocol !== b.s.protocol) return PROTO_NUM[a.s.protocol] - PROTO_NUM[b.s.protocol];
  if (a.m.kind === 'addr' && b.m.kind === 'addr')
    return cmpAddr(a.m.address, b.m.address) || a.m.port - b.m.port;
  return 0;
}

export interface ListOptions {
  /** IPVS version shown in the banner (the kernel's is 1.2.1). */
  version?: string;
  /** Connection table size shown in the banner. */
  size?: number;
}

const ZERO: ConnCounts = { active: 0, inactive: 0 };

/**
 * What IPVS would count for server `c` (its connections in service `s`) in the IPVS service of match `m`:
 * the whole count for a single-match service; for a group, the member's share. conntrack knows the
 * address and port a connection came in on, not the fwmark: a fwmark member without counts of its own
 * takes what no other member claims, the first such member only.
 */
function memberCounts(s: ServiceSpec, m: ServiceMatch, c: ConnCounts): ConnCounts {
  if (s.matches.length === 1 || !c.byMember) return c;
  const own = c.byMember.get(memberKey(m));
  if (own) return own;
  if (m.kind !== 'fwmark') return ZERO;
  const first = s.matches.find((x) => x.kind === 'fwmark' && !c.byMember?.has(memberKey(x)));
  if (first !== m) return ZERO;
  let active = c.active;
  let inactive = c.inactive;
  for (const x of s.matches) {
    const o = c.byMember.get(memberKey(x));
    if (o) {
      active -= o.active;
      inactive -= o.inactive;
    }
  }
  return { active: Math.max(0, active), inactive: Math.max(0, inactive) };
}

/**
 * The listing: banner, two title lines, then each service (one per address/fwmark; a group is shown as
 * its members, each with its own connection counts, as keepalived programs one IPVS service per member)
 * with its servers sorted by address and port.
 */
export function formatList(
  state: DataplaneState,
  marks: ReadonlyMap<string, number>,
  counts: ReadonlyMap<number, ConnCounts>,
  opts: ListOptions = {},
): string {
  const lines: string[] = [
    `IP Virtual Server version ${opts.version ?? '1.2.1'} (size=${opts.size ?? 4096})`,
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  const entries: Entry[] = state.services.flatMap((s) => s.matches.map((m) => ({ s, m })));
  entries.sort(cmpEntries);
  for (const { s, m } of entries) {
    let name: string;
    if (m.kind === 'fwmark') name = s.family === 6 ? `FWM  ${m.fwmark} IPv6` : `FWM  ${m.fwmark}`;
    else {
      // ipvsadm pads the protocol name to four characters: "TCP  a:p", "SCTP a:p"
      name = `${s.protocol.toUpperCase().padEnd(4)} ${addrPort(s.family, m.address, m.port)}`;
      if (s.family === 4) name = name.slice(0, 33);
    }
    let head = `${name} ${s.scheduler}${schedFlags(s)}`;
    if (s.persistence) {
      head += ` persistent ${s.persistence.timeoutS}`;
      if (s.family === 4) {
        const m = persistenceMask4(s.persistence);
        if (m !== 0xffffffff) head += ` mask ${ipv4FromNumber(m)}`;
      } else if (s.persistence.prefixLen !== 128) head += ` mask ${s.persistence.prefixLen}`;
      if (s.persistence.engine) head += ` pe ${s.persistence.engine}`;
    }
    if (s.flags.onePacket) head += ' ops';
    lines.push(head);
    const servers = [...listedServers(s)].sort(
      (a, b) => cmpAddr(a.address, b.address) || memberPort(m, a) - memberPort(m, b),
    );
    for (const r of servers) {
      // a tunnelled server may be of the other family: ipvsadm prints each address in its own
      const fam = isIPv4(r.address) ? 4 : 6;
      let d = addrPort(fam, r.address, memberPort(m, r));
      if (fam === 4) d = d.slice(0, 28);
      const mark = marks.get(markKey(s.name, r));
      const c = memberCounts(s, m, (mark !== undefined && counts.get(mark)) || ZERO);
      lines.push(
        `  -> ${d.padEnd(28)} ${forwardName(r.method).padEnd(7)} ${String(r.weight).padEnd(6)} ${String(c.active).padEnd(10)} ${String(c.inactive).padEnd(10)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
