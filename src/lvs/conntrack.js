// Reads the conntrack table of this process's network namespace for the listing's connection counts
// (I/O adapter; parsing is list.ts's parseConntrack). The kernel's procfs view needs no extra package.
import { readFile } from 'node:fs/promises';
import { parseConntrack } from './list.js';
export const CONNTRACK_PROC = '/proc/net/nf_conntrack';
/** Counts per conntrack mark; an unreadable table (no nf_conntrack procfs) gives an empty map and the reason. */
export async function readConnCounts(path = CONNTRACK_PROC) {
    try {
        return { counts: parseConntrack(await readFile(path, 'utf8')) };
    }
    catch (e) {
        return { counts: new Map(), error: `cannot read ${path}: ${e.message}` };
    }
}
//# sourceMappingURL=conntrack.js.map