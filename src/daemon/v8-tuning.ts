// V8 tuned for a long-running daemon rather than for throughput: a young generation that stays small (a VRRP
// daemon allocates a little per packet forever, and V8's default growth leaves it large and resident; small
// semi-spaces also keep each scavenge short), and a takeover path that runs fast after hours unused (bytecode
// never flushed, functions go straight to Sparkplug baseline code; the takeover's functions are first called
// by its rehearsal at startup, vrrp-takeover.ts TakeoverReadiness.prepare). Some flags only work on the node
// command line (DAEMON_NODE_FLAGS), the rest are set here at run time, first thing in daemon mode (-t keeps V8's
// defaults: a one-off parse is all throughput). Each flag's reason and measurements:
// docs/decisions/v8-tuning.md.
import { setFlagsFromString } from 'node:v8';

/**
 * Node and V8 flags that only take effect on the node command line (read when the process or its heap is set
 * up), given by bin/keepalived-ts's `#!` line and by everything here that starts the daemon:
 * --no-memory-reducer (its delayed full collections paused a master for tens of ms), --max-semi-space-size=1
 * (the young generation stays at its smallest), --v8-pool-size=1 (fewer resident helper threads).
 * Measurements: docs/decisions/v8-tuning.md.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = [
  '--no-memory-reducer',
  '--max-semi-space-size=1',
  '--v8-pool-size=1',
];

/**
 * V8 flags set at run time by tuneV8ForDaemon. `setFlagsFromString` never throws: V8 reports a flag it does
 * not know on stderr ("unrecognized flag") and goes on without it, so test/daemon/v8-tuning.test.ts checks
 * each name against `node --v8-options` of the Node in use, and that the growth factor takes effect.
 */
export const DAEMON_RUNTIME_FLAGS: readonly string[] = [
  '--semi-space-growth-factor=1',
  '--no-flush-bytecode',
  '--always-sparkplug',
];

export function tuneV8ForDaemon(): void {
  for (const flag of DAEMON_RUNTIME_FLAGS) setFlagsFromString(flag);
}
