// Whole-configuration validation: runs each side's checks in keepalived's order.
import { readFileSync } from 'node:fs';
import type { Diagnostics } from './diagnostics.js';
import type { KeepalivedConfig } from './model.js';
import { checkLifecycleScripts, checkScripts } from './script-security.js';
import { validateLvs } from './validate-lvs.js';
import { type HostFacts, validateVrrp } from './validate-vrrp.js';

/** Interface names of the network namespace this process runs in (/proc/net/dev is per namespace). */
export function readHostInterfaces(): Set<string> {
  try {
    const text = readFileSync('/proc/net/dev', 'utf8');
    const names = new Set<string>();
    for (const line of text.split('\n').slice(2)) {
      const m = /^\s*([^:\s]+):/.exec(line);
      if (m?.[1]) names.add(m[1]);
    }
    return names;
  } catch {
    return new Set();
  }
}

/** An interface's MTU from /sys, or undefined when it cannot be read. */
export function readInterfaceMtu(ifname: string): number | undefined {
  try {
    const n = Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** What validation reads of this host (network namespace). */
export function readHostFacts(): HostFacts {
  return { interfaces: readHostInterfaces(), mtu: readInterfaceMtu };
}

export interface ValidateOptions {
  /** Facts about this host; null skips host checks (interfaces, script files). */
  host: HostFacts | null;
}

/** The top-level blocks keepalived 2.2.7's checker pass reads (its first pass after global_defs). */
const CHECKER_BLOCKS = new Set(['virtual_server', 'virtual_server_group', 'SSL']);

export function validateConfig(cfg: KeepalivedConfig, diag: Diagnostics, opts: ValidateOptions): void {
  if (diag.aborted) {
    // keepalived 2.2.7 stops where a keyword misses its parameter and completes nothing after: a stop in
    // global_defs or a checker block ends it before its checks of virtual servers; a stop in a VRRP block
    // comes after them (its checker pass reads the whole file first) and before its checks of instances.
    const inVrrp =
      diag.abortedIn !== undefined && !CHECKER_BLOCKS.has(diag.abortedIn) && diag.abortedIn !== 'global_defs';
    if (inVrrp) validateLvs(cfg, diag);
    return;
  }
  validateLvs(cfg, diag);
  if (opts.host && cfg.virtualServers.length > 0) checkScripts(cfg, diag, 'checker');
  // keepalived checks script security over the instances as parsed, before it drops the ones it cannot run
  // (an instance without a VRID still makes a tracked root script a violation).
  const parsedInstances = cfg.vrrpInstances.length;
  const vrrpComplete = validateVrrp(cfg, diag, opts.host);
  if (opts.host && vrrpComplete && parsedInstances > 0) checkScripts(cfg, diag, 'vrrp');
  if (opts.host) checkLifecycleScripts(cfg, diag);
}
