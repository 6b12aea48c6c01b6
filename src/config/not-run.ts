// Blocks this version parses (and checks, as keepalived's -t does) but does not run yet. Both `-t` and the
// daemon say so on their own `note:` lines, so an operator never takes silence for service. (Virtual
// servers run: the checker process and its data plane, src/check; bfd_instance blocks run in the BFD
// process, src/bfd. None is left today; the hook stays for the next block that is parsed before it runs.)
import type { Diagnostics } from './diagnostics.js';
import type { KeepalivedConfig } from './model.js';

/** Adds a note for each parsed block that this version does not run (no effect on the exit code). */
export function noteBlocksNotRun(cfg: KeepalivedConfig, diag: Diagnostics): void {
  void cfg;
  void diag;
}

/** keepalived's own words when there is nothing at all to run; it then idles, and so do we. */
export const NOTHING_TO_RUN = 'Warning - keepalived has no configuration to run';
