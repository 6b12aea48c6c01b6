// V8 flags for a daemon whose most important code runs once in hours and must be fast when it does.
//
// Compilation (compileAheadOfUse, set by bin/keepalived-ts before it loads the daemon's modules, because V8
// applies them only to code compiled after them). By default V8 compiles a function on its first call: it
// pre-parses the module at load, then parses, generates bytecode and (with Sparkplug) baseline code when the
// function is first called. A backup's first takeover is the first call of most of the master's path (the
// VIP install, its rtnetlink writes, the first GARP): measured with perf in the lab at 1 s adverts, half of a
// takeover's 2–7 ms between advert and GARP was V8 compiling those functions. So:
// - --no-lazy: every function is compiled when its module loads (about +60 ms of start-up, +2 MB);
// - --always-sparkplug: straight to baseline code, no interpreter warm-up (the engine's takeover step
//   50–100 µs → 20–35 µs, measured in the lab);
// - --no-flush-bytecode: V8 would otherwise drop the bytecode of functions unused for a while and compile
//   them again on their next call — the takeover path, after hours as a backup.
//
// Heap (tuneHeapForDaemon, daemon mode only; -t keeps V8's defaults, a one-off parse is all throughput). By
// default V8 doubles a semi-space (up to 16 MiB each, 3 of them) whenever enough survives a scavenge; a VRRP
// daemon allocates a little per packet forever, so the young generation drifts up to its maximum and stays
// there, resident: measured 80–84 MiB RSS with 255 instances at advert_int 1 s, against 68–70 MiB with growth
// off and the same CPU. Small semi-spaces also keep each scavenge short, which is what an advert's timing
// wants. Only --semi-space-growth-factor can be changed after V8 has started (the heap reads it at each
// growth); --max-semi-space-size is fixed at isolate creation.
import { setFlagsFromString } from 'node:v8';

function setFlags(flags: string[]): void {
  for (const flag of flags) {
    try {
      setFlagsFromString(flag);
    } catch {
      /* an unknown flag in some future V8: the defaults are fine, only larger or slower */
    }
  }
}

/** Call before importing the daemon's modules: they are compiled, to baseline code, as they load. */
export function compileAheadOfUse(): void {
  setFlags(['--no-lazy', '--always-sparkplug', '--no-flush-bytecode']);
}

/** Daemon mode: the young generation keeps its start size. */
export function tuneHeapForDaemon(): void {
  setFlags(['--semi-space-growth-factor=1']);
}
