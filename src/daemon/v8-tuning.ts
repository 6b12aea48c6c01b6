// A long-running daemon does not want V8's throughput-oriented young generation. By default V8 doubles a
// semi-space (up to 16 MiB each, 3 of them) whenever enough survives a scavenge; a VRRP daemon allocates a
// little per packet forever, so the young generation drifts up to its maximum and stays there, resident:
// measured 80–84 MiB RSS with 255 instances at advert_int 1 s, against 68–70 MiB with growth off and the same
// CPU. Small semi-spaces also keep each scavenge short, which is what an advert's timing wants.
//
// The size itself (--max-semi-space-size) is fixed when the isolate is created, so it is one of the
// DAEMON_NODE_FLAGS below; --semi-space-growth-factor can still be changed at run time (the heap reads it at
// each growth) and is set here too, for a daemon started by a bare `node` without those flags. Called first
// thing in daemon mode (-t keeps V8's defaults: a one-off parse is all throughput).
//
// The takeover is code that runs once in hours, and it must run fast when it does. V8 drops the bytecode of
// functions unused for a while (re-parsed on next use) and runs new code in its interpreter first; so
// bytecode flushing is off, and functions go straight to Sparkplug baseline code when first called (measured
// in the lab at 1 s adverts: the engine's takeover step 50–100 µs → 20–35 µs on a warmed path). The takeover's
// own functions are first called by its rehearsal at startup (vrrp-runtime.ts #prepareTakeover).
// Compiling every function when its module loads (--no-lazy, set before the imports) would do the same for
// all code, but measured with 255 instances it cost 13 MiB of RSS with Sparkplug code for everything and
// 4 MiB with bytecode alone, against a budget of 80 MiB.
import { setFlagsFromString } from 'node:v8';

/**
 * Node and V8 flags that only take effect on the node command line (read when the process or its heap is set
 * up), given by bin/keepalived-ts's `#!` line and by everything here that starts the daemon.
 *
 * --no-memory-reducer: V8's memory reducer waits for a process to allocate slowly — a VRRP daemon always
 * does — and then runs up to three full collections 0.5 s apart, some seconds after start-up and after any
 * full collection. Measured (bench/jitter.ts, advert_int 0.01, one core busy): 16–20 ms pauses of the master
 * ~25 s after start, a 58 ms gap between adverts and four spurious takeovers in one of two runs; with the
 * flag, no full collection in 60 s and a longest gap of 22 ms. Set at run time it has no effect (measured).
 *
 * --max-semi-space-size=1 (MiB): the young generation stays at its smallest, 2 MiB in place of the 8 MiB it
 * reached with growth merely slowed; a scavenge then comes about every few seconds with 255 instances and
 * costs what it cost before (it copies the survivors, not the space).
 *
 * --v8-pool-size=1: V8's helper threads (concurrent marking, compilation) default to 4; each one's malloc
 * arena and stack stay resident. One is enough for a daemon whose collections are small, on any number of
 * cores.
 *
 * The last two measured together (bench/instances-255.ts, three runs each): 70.7–77.9 MiB RSS per router
 * before, 64.8–69.7 MiB after, CPU unchanged (1.0–1.8 %).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = [
  '--no-memory-reducer',
  '--max-semi-space-size=1',
  '--v8-pool-size=1',
];

export function tuneV8ForDaemon(): void {
  for (const flag of ['--semi-space-growth-factor=1', '--no-flush-bytecode', '--always-sparkplug']) {
    try {
      setFlagsFromString(flag);
    } catch {
      /* an unknown flag in some future V8: the defaults are fine, only larger or slower */
    }
  }
}
