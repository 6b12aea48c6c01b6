// `keepalived-ts --lvs-list`: the running daemon's virtual servers in `ipvsadm -Ln`'s layout. The checker
// process writes its committed data-plane state beside its pid file after every transaction
// (src/check/lvs-sink.ts); this reads it and counts connections from this namespace's conntrack table, so it
// is run in the daemon's namespace (`ip netns exec NS keepalived-ts --lvs-list`).
import { readFileSync } from 'node:fs';
import { readConnCounts } from './conntrack.js';
import { listedServers } from './dataplane.js';
import { IpvsDataplane } from './ipvs-dataplane.js';
import { destKey, ipvsService, serviceKey } from './ipvs-msg.js';
import { formatList } from './list.js';
import { markKey } from './nft-model.js';
/** The state file that goes with a checker pid file: `/run/x_checkers.pid` → `/run/x_checkers.lvs.json`. */
export function lvsStateFileFor(checkersPidFile) {
    return `${checkersPidFile.replace(/\.pid$/, '')}.lvs.json`;
}
export async function lvsListMain(checkersPidFile) {
    const file = lvsStateFileFor(checkersPidFile);
    let saved;
    try {
        saved = JSON.parse(readFileSync(file, 'utf8'));
    }
    catch (e) {
        process.stderr.write(`keepalived-ts: no virtual server state in ${file} (${e.code ?? e.message}): is the checker running, with this -c pid file?\n`);
        return 1;
    }
    if (saved.dataplane === 'ipvs') {
        const { marks, counts, error } = await ipvsCounts(saved.state);
        if (error)
            process.stderr.write(`keepalived-ts: ${error}; connection counts shown as 0\n`);
        process.stdout.write(formatList(saved.state, marks, counts));
        return 0;
    }
    const { counts, error } = await readConnCounts();
    if (error)
        process.stderr.write(`keepalived-ts: ${error}; connection counts shown as 0\n`);
    process.stdout.write(formatList(saved.state, new Map(saved.marks), counts));
    return 0;
}
/**
 * With IPVS the kernel counts connections per destination: read them back and key them as formatList
 * wants (one number per service and server; a group's members are summed).
 */
async function ipvsCounts(state) {
    const marks = new Map();
    const counts = new Map();
    const dp = new IpvsDataplane();
    const dump = await dp.dump();
    await dp.stop(true);
    if (!Array.isArray(dump))
        return { marks, counts, error: dump.ok ? 'no IPVS table' : dump.error.message };
    const kernel = new Map(dump.map((k) => [serviceKey(k.svc), new Map(k.dests.map((d) => [destKey(d), d]))]));
    for (const s of state.services)
        for (const r of listedServers(s)) {
            const mark = marks.size + 1;
            marks.set(markKey(s.name, r), mark);
            const c = { active: 0, inactive: 0 };
            for (const m of s.matches) {
                const d = kernel.get(serviceKey(ipvsService(s, m)))?.get(destKey(r));
                c.active += d?.activeConns ?? 0;
                c.inactive += d?.inactConns ?? 0;
            }
            counts.set(mark, c);
        }
    return { marks, counts };
}
//# sourceMappingURL=lvs-list.js.map