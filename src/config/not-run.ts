// Blocks this version parses (and checks, as keepalived's -t does) but does not run yet. Both `-t` and the
// daemon say so on their own `note:` lines, so an operator never takes silence for service: a
// virtual_server that keepalived would program into IPVS is, here, only read.
import type { Diagnostics } from './diagnostics.js';
import type { KeepalivedConfig, VirtualServerKey } from './model.js';

function keyText(k: VirtualServerKey): string {
  if (k.kind === 'fwmark') return `fwmark ${k.fwmark}`;
  if (k.kind === 'group') return `group ${k.group}`;
  return k.port === undefined ? k.address : `${k.address} ${k.port}`;
}

/** Adds a note for each parsed block that this version does not run (no effect on the exit code). */
export function noteBlocksNotRun(cfg: KeepalivedConfig, diag: Diagnostics): void {
  for (const vs of cfg.virtualServers)
    diag.note('CONFIG_NOT_RUN', `virtual_server ${keyText(vs.key)} is parsed but not run`, vs.pos);
  for (const b of cfg.bfdInstances)
    diag.note('CONFIG_NOT_RUN', `bfd_instance ${b.name} is parsed but not run`, b.pos);
}

/** keepalived's own words when there is nothing at all to run; it then idles, and so do we. */
export const NOTHING_TO_RUN = 'Warning - keepalived has no configuration to run';
