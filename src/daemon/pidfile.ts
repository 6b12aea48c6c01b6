// keepalived's pid files (-p for the main process, -r for the VRRP process). keepalived-ts is one process,
// so both hold the same pid. A pid file naming a live keepalived process means another daemon runs: refuse to
// start; a pid since reused by some other program is stale. A pid file is created rw-r--r-- whatever the
// umask, as keepalived's (src/common/file-mask.ts).
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { PID_FILE_MODE, withBitsKept } from '../common/file-mask.js';

export const DEFAULT_PID_FILE = '/run/keepalived-ts.pid';
export const DEFAULT_VRRP_PID_FILE = '/run/keepalived-ts_vrrp.pid';
export const DEFAULT_CHECKERS_PID_FILE = '/run/keepalived-ts_checkers.pid';
export const DEFAULT_BFD_PID_FILE = '/run/keepalived-ts_bfd.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A pid left by a daemon that was killed may since name another program: only a keepalived counts.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('keepalived');
  } catch {
    return true; // no /proc to ask: the process exists, assume the worst
  }
}

/** The pid in `file` if it names a live process other than us. */
export function runningPid(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  return alive(pid) ? pid : null;
}

export type PidFileResult = { ok: true } | { ok: false; error: string };

/** Writes `pid` (default ours) into each file, unless one names another live process. */
export function writePidFiles(files: string[], pid = process.pid): PidFileResult {
  for (const f of files) {
    const other = runningPid(f);
    if (other !== null && other !== pid)
      return { ok: false, error: `daemon is already running (pid ${other} in ${f})` };
  }
  for (const f of files) {
    try {
      withBitsKept(PID_FILE_MODE, () => writeFileSync(f, `${pid}\n`, { mode: PID_FILE_MODE }));
    } catch (e) {
      return { ok: false, error: `cannot write pid file ${f}: ${(e as Error).message}` };
    }
  }
  return { ok: true };
}

/** Removes the pid files that still hold `pid` (default ours). */
export function removePidFiles(files: string[], pid = process.pid): void {
  for (const f of files) {
    try {
      if (readFileSync(f, 'utf8').trim() === String(pid)) unlinkSync(f);
    } catch {
      // already gone
    }
  }
}
