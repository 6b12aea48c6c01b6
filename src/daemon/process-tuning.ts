// keepalived's vrrp and checker process keywords, applied once the process has started (so that RLIMIT_RTTIME
// counts steady running, not module loading and warm-up): P_priority (nice), P_rt_priority (SCHED_RR, with
// SCHED_RESET_ON_FORK) with P_rlimit_rttime (RLIMIT_RTTIME: soft limit half, hard limit the whole; 2 s by
// default, not keepalived's 10 ms, which a V8 garbage collection can exceed) and P_cpu_affinity; P_no_swap is
// refused (V8 aborts under mlockall). The VRRP process's go to its main thread, where every VRRP event runs;
// the checker's nice value and affinity to all its threads. A call the kernel refuses is logged and the
// process runs on. Why each choice: docs/decisions/process-tuning.md.
import { readdirSync } from 'node:fs';
import koffi from 'koffi';
import type { ProcessTuning } from '../config/model.js';
import { libcLibrary } from '../net/libc.js';
import { errnoName } from '../net/net-error.js';

export const SCHED_OTHER = 0;
export const SCHED_RR = 2;
export const SCHED_RESET_ON_FORK = 0x40000000;
const PRIO_PROCESS = 0;
const RLIMIT_RTTIME = 15;
/** Our RLIMIT_RTTIME when vrrp_rlimit_rttime is not set (keepalived's is 10 000 µs; see the header). */
export const DEFAULT_RLIMIT_RTTIME_US = 2_000_000;

/**
 * Real-time priority for the VRRP process only when the operator asks (vrrp_rt_priority), as keepalived.
 * A default of SCHED_RR 1 was measured and withdrawn: it removed the advert lateness behind busy normal
 * tasks, but a VRRP process busy at real-time priority (a large reload) starves every normal task of a
 * 2-CPU machine — the checker and the peers' daemons in the tests among them (docs/decisions/process-tuning.md).
 */

/** The real-time priority the VRRP process will run at (vrrp_rt_priority), or undefined. */
export function vrrpRealtimePriority(t: ProcessTuning): number | undefined {
  return t.rtPriority;
}

export interface TuningCalls {
  setpriority(which: number, who: number, prio: number): number;
  schedSetscheduler(pid: number, policy: number, priority: number): number;
  setrlimit(resource: number, softUs: number, hardUs: number): number;
  schedSetaffinity(tid: number, cpus: number[]): number;
  errno(): number;
}

let calls: TuningCalls | undefined;

/** The scheduling and limit calls, bound once (koffi). */
export function tuningCalls(): TuningCalls {
  if (calls) return calls;
  const lib = libcLibrary();
  const setpriority = lib.func('int setpriority(int, uint32_t, int)');
  const schedSetscheduler = lib.func('int sched_setscheduler(int, int, const void *)');
  const setrlimit = lib.func('int setrlimit(int, const void *)');
  const schedSetaffinity = lib.func('int sched_setaffinity(int, size_t, const void *)');
  calls = {
    setpriority: (which, who, prio) => setpriority(which, who, prio) as number,
    schedSetscheduler: (pid, policy, priority) =>
      schedSetscheduler(pid, policy, new Int32Array([priority])) as number,
    // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; } with 64-bit rlim_t.
    // Infinity = RLIM_INFINITY (all ones).
    setrlimit: (resource, softUs, hardUs) =>
      setrlimit(
        resource,
        new BigUint64Array([BigInt(softUs), hardUs === Infinity ? 0xffff_ffff_ffff_ffffn : BigInt(hardUs)]),
      ) as number,
    schedSetaffinity: (tid, cpus) => {
      const set = new Uint8Array(128); // cpu_set_t: 1024 bits
      for (const c of cpus) set[c >> 3]! |= 1 << (c & 7);
      return schedSetaffinity(tid, set.length, set) as number;
    },
    errno: () => koffi.errno(),
  };
  return calls;
}

export interface TuningLog {
  info(line: string): void;
  warn(line: string): void;
}

/** Which process the keywords belong to: their prefix and the name the log gives it. */
export type TunedProcess = 'vrrp' | 'checker' | 'bfd';
const LABEL: Record<TunedProcess, string> = {
  vrrp: 'VRRP process',
  checker: 'checker process',
  bfd: 'BFD process',
};

/** The thread ids of this process (/proc/self/task), the main thread first; just the main thread if unreadable. */
export function ownThreads(): number[] {
  try {
    const tids = readdirSync('/proc/self/task')
      .map(Number)
      .filter((t) => t !== process.pid);
    return [process.pid, ...tids];
  } catch {
    return [process.pid];
  }
}

/**
 * Applies `t` to this process; what the kernel refuses is logged, never thrown. The VRRP process's settings
 * go to its main thread only. The checker's nice value and CPU affinity go to every thread it has (V8's and
 * libuv's too, threads started later inherit them), so that all of its work — and the loopback softirq work
 * its sockets cause on the CPU they run on — stays where the operator put it; its real-time policy goes to
 * the main thread only, and so does its affinity when it runs at real-time priority (why:
 * docs/decisions/process-tuning.md).
 */
export function applyProcessTuning(
  t: ProcessTuning,
  log: TuningLog,
  who: TunedProcess = 'vrrp',
  threads: () => number[] = ownThreads,
): void {
  const wanted = t.rtPriority !== undefined || t.nice !== undefined || t.noSwap || t.cpuAffinity;
  if (!wanted) return;
  const c = tuningCalls();
  const label = LABEL[who];
  // Read errno at once: the next call may change it.
  const failed = (what: string, errno = c.errno()) => log.warn(`${what}: ${errnoName(errno)}`);
  const allThreads = who === 'checker' && t.rtPriority === undefined ? threads() : [0];
  /** Runs `call` on each thread; the first refusal is returned (errno read at once), or null. */
  const onThreads = (tids: number[], call: (tid: number) => number): number | null => {
    for (const tid of tids) if (call(tid) !== 0) return c.errno();
    return null;
  };

  if (t.rtPriority !== undefined) {
    if (c.schedSetscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, t.rtPriority) !== 0) {
      failed(`cannot run the ${label} at real-time priority ${t.rtPriority} (${who}_rt_priority)`);
    } else {
      const hardUs = t.rlimitRttimeUs ?? DEFAULT_RLIMIT_RTTIME_US;
      // Installed before the limit: SIGXCPU's default action ends the process.
      process.on('SIGXCPU', () =>
        log.warn(
          `the ${label} ran over ${Math.floor(hardUs / 2)} µs on the CPU without sleeping ` +
            `(${who}_rlimit_rttime ${hardUs}; at ${hardUs} µs the kernel kills it)`,
        ),
      );
      if (c.setrlimit(RLIMIT_RTTIME, Math.floor(hardUs / 2), hardUs) !== 0)
        failed(`cannot set RLIMIT_RTTIME (${who}_rlimit_rttime)`);
      else log.info(`${label}: real-time priority ${t.rtPriority} (SCHED_RR), RLIMIT_RTTIME ${hardUs} µs`);
    }
  } else if (t.nice !== undefined) {
    const nice = t.nice;
    const errno = onThreads(allThreads, (tid) => c.setpriority(PRIO_PROCESS, tid, nice));
    if (errno !== null) failed(`cannot set the ${label} priority to ${nice} (${who}_priority)`, errno);
    else log.info(`${label}: priority (nice) ${nice}`);
  }

  if (t.cpuAffinity && t.cpuAffinity.length > 0) {
    const cpus = t.cpuAffinity;
    const errno = onThreads(allThreads, (tid) => c.schedSetaffinity(tid, cpus));
    if (errno !== null)
      failed(`cannot bind the ${label} to CPU ${cpus.join(',')} (${who}_cpu_affinity)`, errno);
    else log.info(`${label}: bound to CPU ${cpus.join(',')}`);
  }

  if (t.noSwap)
    log.warn(
      `${who}_no_swap is not applied: with its memory locked (mlockall), V8 aborts when it maps new code pages ` +
        `(measured here, with and without MCL_ONFAULT); the ${label} stays swappable`,
    );
}
