// Which kernel data plane the checker programs: IPVS where the kernel has it, nftables otherwise, or the one
// global_defs' `lvs_dataplane` names (a keyword of ours). The decision is pure given two probes (does the
// generic netlink family "IPVS" resolve; load the ip_vs module), so it is unit-tested without a kernel.
// docs/lvs.md, "Choosing the data plane".
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
export async function selectDataplane(pref, probes) {
    if (pref === 'nftables')
        return { kind: 'nftables', reason: 'lvs_dataplane nftables' };
    let r = await probes.ipvs();
    let loaded = false;
    if (!r.ok && probes.loadModule()) {
        loaded = true;
        r = await probes.ipvs();
    }
    const how = loaded ? 'after loading ip_vs, ' : '';
    const why = r.reason ?? 'unknown reason';
    if (pref === 'ipvs')
        return r.ok
            ? { kind: 'ipvs', reason: `lvs_dataplane ipvs (${how}the IPVS netlink family resolves)` }
            : { kind: 'none', reason: `lvs_dataplane ipvs, but the kernel has no IPVS: ${why}` };
    return r.ok
        ? { kind: 'ipvs', reason: `${how}the kernel's IPVS netlink family resolves` }
        : { kind: 'nftables', reason: `the kernel has no IPVS (${why})` };
}
/** `modprobe ip_vs`, quietly; false when modprobe is missing or fails (no modules, no IPVS). */
/**
 * Without side effects (for -t): IPVS is loaded (/proc/net/ip_vs), or its module could be (`modprobe -n`).
 * The daemon's own choice is selectDataplane's, at start.
 */
export function ipvsPresent() {
    if (existsSync('/proc/net/ip_vs'))
        return true;
    return spawnSync('modprobe', ['-n', '-q', 'ip_vs'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}
export function modprobeIpvs() {
    const r = spawnSync('modprobe', ['-q', 'ip_vs'], { stdio: 'ignore', timeout: 5000 });
    return r.status === 0;
}
//# sourceMappingURL=ipvs-select.js.map