// Asking a running daemon (ours or the reference keepalived) for its SIGUSR1 data dump and reading it back.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
 * `waitMs`; null if none came). 10 s by default, of wall time: a loaded machine can take seconds to write 20
 * instances. Without a dump after RESIGNAL_MS the signal goes again: a daemon still starting may have taken the
 * first one before it could answer it, and counting sleeps instead of time let a starved test process wait
 * 38 s on a single lost signal (docs/decisions/meaning-variants.md, 'Looking for the missing dumps').
 */
export async function takeDump(pidFile: string, dataFile: string, waitMs = 10_000): Promise<string | null> {
  const t0 = Date.now();
  const trace = (what: string) => {
    if (process.env.KATS_DUMP_TRACE)
      process.stderr.write(
        `TRACE ${new Date().toISOString()} ${dataFile}: ${what} after ${Date.now() - t0} ms\n`,
      );
  };
  rmSync(dataFile, { force: true });
  let signalled = 0;
  let size = -1;
  while (Date.now() - t0 < waitMs) {
    if (!existsSync(dataFile) && Date.now() - t0 >= signalled * RESIGNAL_MS) {
      // The pid is read each time: null while the daemon has not written it yet.
      const pid = pidIn(pidFile);
      if (pid === null) return null;
      try {
        process.kill(pid, 'SIGUSR1');
      } catch {
        return null;
      }
      signalled++;
      if (signalled > 1) trace(`SIGUSR1 again (${signalled}) to ${pid}`);
    }
    await sleep(100);
    if (!existsSync(dataFile)) continue;
    const now = statSync(dataFile).size;
    if (now > 0 && now === size) {
      trace(`dump of ${now} bytes`);
      return readFileSync(dataFile, 'utf8');
    }
    size = now;
  }
  trace(existsSync(dataFile) ? 'a dump still growing' : 'no dump');
  return existsSync(dataFile) ? readFileSync(dataFile, 'utf8') : null;
}

/** Without a dump this long after a SIGUSR1, another is sent. */
const RESIGNAL_MS = 2000;

/**
 * What can be said of a daemon that wrote no dump, for a failure message: its pid file, the process's state
 * and signal masks (/proc/PID/status: pending, blocked, ignored, caught), its kernel wait channel, and the
 * files in the dump's directory.
 */
export function noDumpFacts(pidFile: string, dataFile: string): string {
  const out: string[] = [];
  const raw = existsSync(pidFile) ? JSON.stringify(readFileSync(pidFile, 'utf8')) : 'missing';
  out.push(`pid file ${pidFile}: ${raw}`);
  const pid = pidIn(pidFile);
  if (pid !== null) {
    const read = (f: string) => {
      try {
        return readFileSync(`/proc/${pid}/${f}`, 'utf8');
      } catch (e) {
        return `(${(e as Error).message})`;
      }
    };
    const status = read('status')
      .split('\n')
      .filter((l) =>
        /^(Name|State|Threads|SigQ|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|voluntary|nonvoluntary)/.test(l),
      );
    out.push(...status, `wchan: ${read('wchan')}`, `stat: ${read('stat').trim()}`);
    out.push(
      `sched: ${read('sched')
        .split('\n')
        .filter((l) => /policy|prio|nr_switches/.test(l))
        .join('; ')}`,
    );
  }
  const dir = dataFile.replace(/\/[^/]*$/, '');
  try {
    out.push(`files: ${readdirSync(dir).join(' ')}`);
  } catch {
    /* gone */
  }
  return out.join('\n');
}
