// `keepalived-ts --lvs-list`: the running daemon's virtual servers in `ipvsadm -Ln`'s layout. The checker
// process writes its committed data-plane state beside its pid file after every transaction
// (src/check/lvs-sink.ts); this reads it and counts connections from this namespace's conntrack table, so it
// is run in the daemon's namespace (`ip netns exec NS keepalived-ts --lvs-list`).
import { readFileSync } from 'node:fs';
import type { LvsStateFile } from '../check/lvs-sink.js';
import { readConnCounts } from './conntrack.js';
import { formatList } from './list.js';

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
  const { counts, error } = await readConnCounts();
  if (error) process.stderr.write(`keepalived-ts: ${error}; connection counts shown as 0\n`);
  process.stdout.write(formatList(saved.state, new Map(saved.marks), counts));
  return 0;
}
