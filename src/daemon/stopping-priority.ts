// A stopping daemon lowers its own CPU priority (nice 19) once its priority-0 adverts are sent: its remaining
// work is cleanup, and on a loaded host the new master (or the service it fails over for) should get the CPU
// first. keepalived's exit is a few hundred µs of C; Node's is tens of ms of CPU, worth stepping aside for.
import { setPriority } from 'node:os';

const NICEST = 19;

export function yieldCpuWhileStopping(): void {
  try {
    setPriority(0, NICEST);
  } catch {
    /* not permitted or not supported: stopping at the current priority is fine */
  }
}
