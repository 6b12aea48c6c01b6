// Asking a running daemon (ours or the reference keepalived) for its SIGUSR1 data dump and reading it back.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The pid in a pid file, or null while there is none. A file read while the daemon writes it can be empty:
 * Number('') is 0, and kill(0, …) would signal this whole process group (the runner, every case's daemons and
 * their `sh` wrappers, which a USR1 or TERM ends).
 */
export function pidIn(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/**
 * SIGUSR1 to the process in `pidFile`; the new dump's text once its size holds (what there is after
 * `waitMs`; null if none came). 10 s by default: a loaded machine can take seconds to write 20 instances.
 */
export async function takeDump(pidFile: string, dataFile: string, waitMs = 10_000): Promise<string | null> {
  const pid = pidIn(pidFile);
  if (pid === null) return null;
  rmSync(dataFile, { force: true });
  try {
    process.kill(pid, 'SIGUSR1');
  } catch {
    return null;
  }
  let size = -1;
  for (let k = 0; k < waitMs / 100; k++) {
    await sleep(100);
    if (!existsSync(dataFile)) continue;
    const now = statSync(dataFile).size;
    if (now > 0 && now === size) return readFileSync(dataFile, 'utf8');
    size = now;
  }
  return existsSync(dataFile) ? readFileSync(dataFile, 'utf8') : null;
}
