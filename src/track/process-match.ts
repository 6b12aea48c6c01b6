// Which running processes a vrrp_track_process counts (man5 vrrp_track_process), as pure functions over what
// /proc shows: `comm` (/proc/PID/comm, the kernel's 15-character name) and `argv` (/proc/PID/cmdline).
//   process NAME [ARGS…]   NAME is compared with comm, or with argv[0] under `full_command`;
//   param_match            with ARGS given: exact (default; argv[1..] equals ARGS), initial (ARGS are the first
//                          arguments), partial (ARGS appear consecutively somewhere in argv[1..]).
//   quorum / quorum_max    the tracker is up while quorum ≤ count ≤ quorum_max.
import type { TrackProcess } from '../config/model.js';

export interface ProcessView {
  pid: number;
  comm: string;
  argv: string[];
}

/** /proc/PID/comm holds at most 15 characters (TASK_COMM_LEN 16 with the NUL). */
export const COMM_MAX_CHARS = 15;

export function processMatches(def: TrackProcess, p: ProcessView): boolean {
  const [name, ...want] = def.process ?? [];
  if (name === undefined) return false;
  const nameMatches = def.fullCommand ? p.argv[0] === name : p.comm === name.slice(0, COMM_MAX_CHARS);
  if (!nameMatches) return false;
  if (want.length === 0) return true;
  const args = p.argv.slice(1);
  switch (def.paramMatch) {
    case 'initial':
      return want.every((w, i) => args[i] === w);
    case 'partial':
      for (let start = 0; start + want.length <= args.length; start++) {
        if (want.every((w, i) => args[start + i] === w)) return true;
      }
      return false;
    default:
      return args.length === want.length && want.every((w, i) => args[i] === w);
  }
}

export function countMatching(def: TrackProcess, procs: Iterable<ProcessView>): number {
  let n = 0;
  for (const p of procs) if (processMatches(def, p)) n++;
  return n;
}

/** Up while the number of matching processes is within [quorum, quorum_max]. */
export function quorumMet(def: TrackProcess, count: number): boolean {
  return count >= def.quorum && (def.quorumMax === undefined || count <= def.quorumMax);
}

/** /proc/PID/cmdline: NUL-separated arguments (a trailing NUL ends the last one). */
export function parseCmdline(raw: string): string[] {
  if (raw === '') return [];
  const parts = raw.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}
