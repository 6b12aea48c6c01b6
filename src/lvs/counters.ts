// Virtual- and real-server traffic counters from the data plane (docs/lvs.md, 'Traffic counters'), in the
// shape keepalived-exporter gives IPVS's: packets and bytes in (client → server) and out (server → client),
// and connections scheduled. nftables: the packet path keeps one counter per conntrack state, direction and
// server mark in the set `ctr` (nft-model.ts); a connection is counted by its packets seen in state `new`
// in the original direction (its first packet, and a retransmitted SYN); direct-routing services, which have
// no conntrack, by their forwarding rules' own set per DR table (a scheduled packet = a connection).
// IPVS: the kernel's own service and destination statistics (ipvs-msg.ts parses them). Parsing is pure;
// reading the nftables sets runs `nft -j`.
import { execFile } from 'node:child_process';
import type { DataplaneResult, ServiceSpec } from './dataplane.js';
import type { IpvsKernelService } from './ipvs-dataplane.js';
import { destKey, type IpvsStats, ipvsService, serviceKey } from './ipvs-msg.js';
import {
  COUNTER_SET,
  DR_COUNTER_TABLES,
  DR_SCHEDULED,
  isDr,
  isFwmarkDr,
  markKey,
  TABLE,
} from './nft-model.js';

export interface Traffic {
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
  conns: number;
}

/** One service's counters and its real servers' (the sorry server among them when it took traffic). */
export interface ServiceTraffic {
  /** The data plane's service name (dataplane.ts ServiceSpec.name). */
  service: string;
  /** keepalived-exporter's `addr` label: `ADDRESS:PORT`, or the service name for fwmark and groups. */
  addr: string;
  /** keepalived-exporter's `proto` label: the IP protocol number. */
  proto: number;
  total: Traffic;
  reals: { address: string; port: number; traffic: Traffic }[];
}

export const zeroTraffic = (): Traffic => ({
  inPackets: 0,
  outPackets: 0,
  inBytes: 0,
  outBytes: 0,
  conns: 0,
});

const PROTO_NUM = { tcp: 6, udp: 17, sctp: 132 } as const;

/** The exporter's `addr` label of a service: Go prints `IP:PORT` (IPv6 without brackets). */
export function serviceAddr(s: ServiceSpec): string {
  const m = s.matches[0];
  if (s.matches.length === 1 && m?.kind === 'addr') return `${m.address}:${m.port}`;
  return s.name;
}

interface NftElem {
  elem?: { val?: { concat?: unknown[] }; counter?: { packets?: number; bytes?: number } };
}

/** One element of a counter set, for deleting it: its table (`family name`, as nft names it) and key. */
export interface CounterKey {
  table: string;
  key: string;
}

const NAT_TABLE = `inet ${TABLE}`;
const hex = (v: number) => `0x${v.toString(16)}`;

/**
 * `nft -j list set … ctr` → counters per server mark (pure), added into `out`. `table` says which set it
 * is: the inet table's (NAT: `ct state . ct direction . ct mark`) or a direct-routing table's (`kind .
 * mark`, DR_SCHEDULED or DR_FOLLOWED; every packet came from the client, so all of it is `in`). `keys`,
 * when given, gets each mark's element keys in nft's syntax (`established . original . 0x105`), for
 * deleting them.
 */
export function parseNftCounters(
  json: string,
  keys?: Map<number, CounterKey[]>,
  table: string = NAT_TABLE,
  out: Map<number, Traffic> = new Map(),
): Map<number, Traffic> {
  const doc = JSON.parse(json) as { nftables?: { set?: { elem?: NftElem[] } }[] };
  const dr = table !== NAT_TABLE;
  for (const item of doc.nftables ?? []) {
    for (const e of item.set?.elem ?? []) {
      const parts = e.elem?.val?.concat ?? [];
      const c = e.elem?.counter;
      const mark = dr ? parts[1] : parts[2];
      if (typeof mark !== 'number' || !c) continue;
      const [state, dir] = parts;
      if (keys && (dr ? typeof state === 'number' : typeof state === 'string' && typeof dir === 'string')) {
        const k = keys.get(mark) ?? [];
        k.push({
          table,
          key: dr ? `${hex(state as number)} . ${hex(mark)}` : `${state} . ${dir} . ${hex(mark)}`,
        });
        keys.set(mark, k);
      }
      let t = out.get(mark);
      if (!t) {
        t = zeroTraffic();
        out.set(mark, t);
      }
      const packets = c.packets ?? 0;
      const bytes = c.bytes ?? 0;
      if (dr || dir === 'original') {
        t.inPackets += packets;
        t.inBytes += bytes;
        if (dr ? state === DR_SCHEDULED : state === 'new') t.conns += packets;
      } else if (dir === 'reply') {
        t.outPackets += packets;
        t.outBytes += bytes;
      }
    }
  }
  return out;
}

const add = (a: Traffic, b: Traffic) => {
  a.inPackets += b.inPackets;
  a.outPackets += b.outPackets;
  a.inBytes += b.inBytes;
  a.outBytes += b.outBytes;
  a.conns += b.conns;
};

/** IPVS's statistics in our shape. */
export function ipvsTraffic(s: IpvsStats): Traffic {
  return {
    inPackets: s.inPackets,
    outPackets: s.outPackets,
    inBytes: s.inBytes,
    outBytes: s.outBytes,
    conns: s.conns,
  };
}

/** The services' counters from an IPVS dump (pure): a group's services summed; servers by address and port. */
export function ipvsServiceTraffic(
  services: readonly ServiceSpec[],
  dump: readonly IpvsKernelService[],
): ServiceTraffic[] {
  const byKey = new Map(dump.map((k) => [serviceKey(k.svc), k]));
  return services.map((s) => {
    const total = zeroTraffic();
    const perReal = new Map<string, Traffic>();
    for (const m of s.matches) {
      const k = byKey.get(serviceKey(ipvsService(s, m)));
      if (!k) continue;
      if (k.stats) add(total, ipvsTraffic(k.stats));
      for (const d of k.dests) {
        if (!d.stats) continue;
        const key = destKey(d);
        let t = perReal.get(key);
        if (!t) {
          t = zeroTraffic();
          perReal.set(key, t);
        }
        add(t, ipvsTraffic(d.stats));
      }
    }
    const reals = [...s.reals, ...(s.sorry ? [s.sorry] : [])].map((r) => ({
      address: r.address,
      port: r.port,
      traffic: perReal.get(destKey(r)) ?? zeroTraffic(),
    }));
    return { service: s.name, addr: serviceAddr(s), proto: PROTO_NUM[s.protocol], total, reals };
  });
}

/** The direct-routing tables whose counter sets hold `services`' traffic (nft's `family name`). */
export function drCounterTables(services: readonly ServiceSpec[]): string[] {
  const out = new Set<string>();
  for (const s of services) {
    if (!isDr(s)) continue;
    const [netdev, ip4, ip6] = DR_COUNTER_TABLES;
    out.add(isFwmarkDr(s) ? (s.family === 4 ? ip4 : ip6) : netdev);
  }
  return [...out];
}

export interface NftCounterReading {
  byMark: Map<number, Traffic>;
  keys: Map<number, CounterKey[]>;
}

function listSet(nft: string, netns: string | undefined, table: string): Promise<string> {
  const args = ['-j', 'list', 'set', ...table.split(' '), COUNTER_SET];
  const [cmd, argv] = netns ? ['ip', ['netns', 'exec', netns, nft, ...args]] : [nft, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { maxBuffer: 64 << 20, timeout: 10_000 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`nft list set ${table} ${COUNTER_SET}: ${stderr.trim() || e.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Reads the counter sets of this network namespace's tables (`netns`: another one's, for tests): the inet
 * table's and those of `drTables` (drCounterTables). All or nothing: a reading missing a set would look to
 * the ledger like that set's elements were re-created, and count them again.
 */
export async function readNftCounters(
  o: { nft?: string; netns?: string; drTables?: readonly string[] } = {},
): Promise<NftCounterReading | { error: string }> {
  const tables = [NAT_TABLE, ...(o.drTables ?? [])];
  // One nft process per set: nft 1.0.6 lists only the first of several `list set` commands of one run.
  try {
    const docs = await Promise.all(tables.map((t) => listSet(o.nft ?? 'nft', o.netns, t)));
    const keys = new Map<number, CounterKey[]>();
    const byMark = new Map<number, Traffic>();
    docs.forEach((json, i) => {
      try {
        parseNftCounters(json, keys, tables[i], byMark);
      } catch (x) {
        throw new Error(`nft list set ${tables[i]} ${COUNTER_SET}: ${(x as Error).message}`);
      }
    });
    return { byMark, keys };
  } catch (x) {
    return { error: (x as Error).message };
  }
}

const sub = (a: Traffic, b: Traffic): Traffic => ({
  inPackets: a.inPackets - b.inPackets,
  outPackets: a.outPackets - b.outPackets,
  inBytes: a.inBytes - b.inBytes,
  outBytes: a.outBytes - b.outBytes,
  conns: a.conns - b.conns,
});
const grew = (now: Traffic, last: Traffic) =>
  now.inPackets >= last.inPackets &&
  now.outPackets >= last.outPackets &&
  now.inBytes >= last.inBytes &&
  now.outBytes >= last.outBytes &&
  now.conns >= last.conns;

/**
 * Keeps the exported nftables counters monotonic, as Prometheus counters must be, and the kernel's set
 * bounded (docs/lvs.md, 'Traffic counters'). The per-mark counters are not monotonic: a real server that
 * leaves the pool loses its mark (it returns with a new one), a replaced table starts from zero, and the
 * elements of retired marks are deleted. So each reading is folded as increments: per mark, what it
 * counted since the last reading (all of it when its element was re-created), added to its (service,
 * server) total and its service's total. Marks no server holds any more are returned for deletion; what
 * they counted up to the reading is kept in the totals. Pure.
 */
/** Readings after which a retired mark whose element stays absent is forgotten. */
const FORGET_AFTER_READINGS = 30;

export class TrafficLedger {
  /**
   * Last reading of each mark, whom it counted for (unknown for marks of an earlier run), and for how many
   * readings its element has been absent (a retired mark's lingering connections may re-create it).
   */
  #last = new Map<number, { t: Traffic; key?: string; service?: string; absent: number }>();
  #real = new Map<string, Traffic>();
  #service = new Map<string, Traffic>();

  fold(
    services: readonly ServiceSpec[],
    marks: ReadonlyMap<string, number>,
    byMark: ReadonlyMap<number, Traffic>,
  ): { traffic: ServiceTraffic[]; retire: number[] } {
    const owner = new Map<number, { key: string; service: string }>();
    for (const s of services)
      for (const r of [...s.reals, ...(s.sorry ? [s.sorry] : [])]) {
        const key = markKey(s.name, r);
        const m = marks.get(key);
        if (m !== undefined) owner.set(m, { key, service: s.name });
      }
    const credit = (map: Map<string, Traffic>, k: string, inc: Traffic) => {
      const t = map.get(k) ?? zeroTraffic();
      add(t, inc);
      map.set(k, t);
    };
    for (const [m, now] of byMark) {
      const last = this.#last.get(m);
      const who = owner.get(m) ?? last;
      const inc = last && grew(now, last.t) ? sub(now, last.t) : now;
      if (who?.key !== undefined && who.service !== undefined) {
        credit(this.#real, who.key, inc);
        credit(this.#service, who.service, inc);
      }
      const whom = who?.key !== undefined ? { key: who.key, service: who.service } : {};
      this.#last.set(m, { t: { ...now }, ...whom, absent: 0 });
    }
    const retire: number[] = [];
    for (const [m, l] of this.#last) {
      if (byMark.has(m)) {
        if (!owner.has(m)) retire.push(m);
      } else if (!owner.has(m) && ++l.absent > FORGET_AFTER_READINGS) this.#last.delete(m);
      else l.t = zeroTraffic();
    }
    const traffic = services.map((s) => {
      const reals = [...s.reals, ...(s.sorry ? [s.sorry] : [])].map((r) => ({
        address: r.address,
        port: r.port,
        traffic: { ...(this.#real.get(markKey(s.name, r)) ?? zeroTraffic()) },
      }));
      const total = { ...(this.#service.get(s.name) ?? zeroTraffic()) };
      return { service: s.name, addr: serviceAddr(s), proto: PROTO_NUM[s.protocol], total, reals };
    });
    return { traffic, retire };
  }

  /** The elements of `marks` were deleted: their next counts start from zero. */
  retired(marks: readonly number[]): void {
    for (const m of marks) {
      const l = this.#last.get(m);
      if (l) l.t = zeroTraffic();
    }
  }
}

/**
 * One reading of the nftables counters folded into `ledger` (the checker's path, and the tests'): the
 * inet set and the direct-routing sets `services` use, then the elements of marks no server holds any
 * more deleted by `del` (their counts are in the ledger; the sets stay bounded; none without `del`). A failed deletion is
 * retried by the next reading with fresh keys; its message is returned in `problems`.
 */
export async function readNftTraffic(
  ledger: TrafficLedger,
  services: readonly ServiceSpec[],
  marks: ReadonlyMap<string, number>,
  del: ((keys: CounterKey[]) => Promise<DataplaneResult>) | undefined,
  o: { nft?: string; netns?: string } = {},
): Promise<{ traffic: ServiceTraffic[]; problems: string[] } | { error: string }> {
  const r = await readNftCounters({ ...o, drTables: drCounterTables(services) });
  if ('error' in r) return r;
  const { traffic, retire } = ledger.fold(services, marks, r.byMark);
  const problems: string[] = [];
  if (retire.length > 0 && del) {
    const d = await del(retire.flatMap((m) => r.keys.get(m) ?? []));
    if (d.ok) ledger.retired(retire);
    else problems.push(d.error.message);
  }
  return { traffic, problems };
}
