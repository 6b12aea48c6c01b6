// `keepalived-ts --lvs-list`: the running daemon's virtual servers in `ipvsadm -Ln`'s layout. The checker
// process writes its committed data-plane state beside its pid file after every transaction
// (src/check/lvs-sink.ts); this reads it and counts connections from this namespace's conntrack table, so it
// is run in the daemon's namespace (`ip netns exec NS keepalived-ts --lvs-list`).
import { readFileSync } from 'node:fs';
import type { LvsStateFile } from '../check/lvs-sink.js';
import { readConnCounts } from './conntrack.js';
import { type DataplaneState, listedServers, memberPort } from './dataplane.js';
import { IpvsDataplane, type IpvsKernelService } from './ipvs-dataplane.js';
import { destKey, ipvsService, serviceKey } from './ipvs-msg.js';
import { type ConnCounts, formatList, memberKey } from './list.js';
import { markKey } from './nft-model.js';

/** The state file that goes with a checker pid file: `/run/x_checkers.pid` → `/run/x_checkers.lvs.json`. */
export function lvsStateFileFor(checkersPidFile: string): string {
  return `${checkersPidFile.replace(/\.pid$/, '')}.lvs.json`;
}

export async function lvsListMain(checkersPidFile: string): Promise<number> {
  const file = lvsStateFileFor(checkersPidFile);
  let saved: LvsStateFile;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as LvsStateFile;
  } catch (e) {
    process.stderr.write(
      `keepalived-ts: no virtual server state in ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is the checker running, with this -c pid file?\n`,
    );
    return 1;
  }
  if (saved.dataplane === 'ipvs') {
    const { marks, counts, error } = await ipvsCounts(saved.state);
    if (error) process.stderr.write(`keepalived-ts: ${error}; connection counts shown as 0\n`);
    process.stdout.write(formatList(saved.state, marks, counts));
    return 0;
  }
  const { counts, error } = await readConnCounts();
  if (error) process.stderr.write(`keepalived-ts: ${error}; connection counts shown as 0\n`);
  process.stdout.write(formatList(saved.state, new Map(saved.marks), counts));
  return 0;
}

/**
 * With IPVS the kernel counts connections per destination of each IPVS service: read them back and key
 * them as formatList wants.
 */
async function ipvsCounts(
  state: DataplaneState,
): Promise<{ marks: Map<string, number>; counts: Map<number, ConnCounts>; error?: string }> {
  const dp = new IpvsDataplane();
  const dump = await dp.dump();
  await dp.stop(true);
  if (!Array.isArray(dump))
    return { marks: new Map(), counts: new Map(), error: dump.ok ? 'no IPVS table' : dump.error.message };
  return countsFromIpvs(state, dump);
}

/**
 * The IPVS table's counters keyed as formatList wants (pure): one key per service and server, with each
 * service match's own counts (a group's members are IPVS services of their own).
 */
export function countsFromIpvs(
  state: DataplaneState,
  dump: readonly IpvsKernelService[],
): { marks: Map<string, number>; counts: Map<number, ConnCounts> } {
  const marks = new Map<string, number>();
  const counts = new Map<number, ConnCounts>();
  const kernel = new Map(dump.map((k) => [serviceKey(k.svc), new Map(k.dests.map((d) => [destKey(d), d]))]));
  for (const s of state.services)
    for (const r of listedServers(s)) {
      const mark = marks.size + 1;
      marks.set(markKey(s.name, r), mark);
      const c: ConnCounts = { active: 0, inactive: 0, byMember: new Map() };
      for (const m of s.matches) {
        const d = kernel
          .get(serviceKey(ipvsService(s, m)))
          ?.get(destKey({ address: r.address, port: memberPort(m, r) }));
        const own = { active: d?.activeConns ?? 0, inactive: d?.inactConns ?? 0 };
        c.active += own.active;
        c.inactive += own.inactive;
        c.byMember?.set(memberKey(m), own);
      }
      counts.set(mark, c);
    }
  return { marks, counts };
}
