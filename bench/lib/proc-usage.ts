// CPU time and memory of processes from /proc (Linux): utime+stime (fields 14 and 15 of /proc/PID/stat, in
// clock ticks) and VmRSS / VmHWM from /proc/PID/status.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

/** sysconf(_SC_CLK_TCK), nearly always 100. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of `pid` in seconds, or null if it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it start past the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state), so utime (14) is rest[11] and stime (15) is rest[12].
    return (Number(rest[11]) + Number(rest[12])) / clockTicksPerSecond();
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM (peak RSS) of `pid` in MiB, or null if it is gone. */
export function memoryMiB(pid: number): { rssMiB: number; peakRssMiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakRssMiB: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

export function sum(pids: number[], f: (pid: number) => number | null): number {
  let total = 0;
  for (const p of pids) total += f(p) ?? 0;
  return total;
}
