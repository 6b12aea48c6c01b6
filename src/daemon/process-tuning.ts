// keepalived's vrrp process keywords, applied once the daemon has started (so that RLIMIT_RTTIME counts
// steady running, not module loading and warm-up): vrrp_priority (nice), vrrp_rt_priority (SCHED_RR, with
// SCHED_RESET_ON_FORK) with vrrp_rlimit_rttime (RLIMIT_RTTIME: soft limit half, hard limit the whole; 2 s by
// default, not keepalived's 10 ms, which a V8 garbage collection can exceed) and vrrp_cpu_affinity, all on
// the main thread, where every VRRP event runs; vrrp_no_swap is refused (V8 aborts under mlockall). A call
// the kernel refuses is logged and the daemon runs on. Why each choice: docs/decisions/process-tuning.md.
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
    setrlimit: (resource, softUs, hardUs) =>
      setrlimit(resource, new BigUint64Array([BigInt(softUs), BigInt(hardUs)])) as number,
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

/** Applies `t` to this process; what the kernel refuses is logged, never thrown. */
export function applyProcessTuning(t: ProcessTuning, log: TuningLog): void {
  const wanted = t.rtPriority !== undefined || t.nice !== undefined || t.noSwap || t.cpuAffinity;
  if (!wanted) return;
  const c = tuningCalls();
  // Read errno at once: the next call may change it.
  const failed = (what: string, errno = c.errno()) => log.warn(`${what}: ${errnoName(errno)}`);

  if (t.rtPriority !== undefined) {
    if (c.schedSetscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, t.rtPriority) !== 0)
      failed(`cannot run the VRRP process at real-time priority ${t.rtPriority} (vrrp_rt_priority)`);
    else {
      const hardUs = t.rlimitRttimeUs ?? DEFAULT_RLIMIT_RTTIME_US;
      // Installed before the limit: SIGXCPU's default action ends the process.
      process.on('SIGXCPU', () =>
        log.warn(
          `the VRRP process ran over ${Math.floor(hardUs / 2)} µs on the CPU without sleeping ` +
            `(vrrp_rlimit_rttime ${hardUs}; at ${hardUs} µs the kernel kills it)`,
        ),
      );
      if (c.setrlimit(RLIMIT_RTTIME, Math.floor(hardUs / 2), hardUs) !== 0)
        failed('cannot set RLIMIT_RTTIME (vrrp_rlimit_rttime)');
      else
        log.info(`VRRP process: real-time priority ${t.rtPriority} (SCHED_RR), RLIMIT_RTTIME ${hardUs} µs`);
    }
  } else if (t.nice !== undefined) {
    if (c.setpriority(PRIO_PROCESS, 0, t.nice) !== 0)
      failed(`cannot set the VRRP process priority to ${t.nice} (vrrp_priority)`);
    else log.info(`VRRP process: priority (nice) ${t.nice}`);
  }

  if (t.cpuAffinity && t.cpuAffinity.length > 0) {
    const cpus = t.cpuAffinity;
    if (c.schedSetaffinity(0, cpus) !== 0)
      failed(`cannot bind the VRRP process to CPU ${cpus.join(',')} (vrrp_cpu_affinity)`);
    else log.info(`VRRP process: bound to CPU ${cpus.join(',')}`);
  }

  if (t.noSwap)
    log.warn(
      'vrrp_no_swap is not applied: with its memory locked (mlockall), V8 aborts when it maps new code pages ' +
        '(measured here, with and without MCL_ONFAULT); the VRRP process stays swappable',
    );
}
