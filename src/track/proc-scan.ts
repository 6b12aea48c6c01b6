// One synchronous pass over /proc: every process's comm and, when some tracker needs it, its argv.
import { readdirSync, readFileSync } from 'node:fs';
import { type ProcessView, parseCmdline } from './process-match.js';

const isPid = (name: string) => /^\d+$/.test(name);

export function scanProc(procDir: string, needArgv: boolean): ProcessView[] {
  const out: ProcessView[] = [];
  let pids: string[];
  try {
    pids = readdirSync(procDir).filter(isPid);
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const comm = readFileSync(`${procDir}/${pid}/comm`, 'utf8').replace(/\n$/, '');
      const argv = needArgv ? parseCmdline(readFileSync(`${procDir}/${pid}/cmdline`, 'utf8')) : [];
      out.push({ pid: Number(pid), comm, argv });
    } catch {
      /* the process exited while we looked */
    }
  }
  return out;
}
