// `keepalived-ts -t`: parse, validate against this host, report in keepalived's format, and return
// keepalived's exit code (0 clean, 4 cannot run, 5 errors but would run, 6 script security).
import { loadConfig } from '../config/load.js';
import type { KeepalivedConfig } from '../config/model.js';
import { noteBlocksNotRun } from '../config/not-run.js';
import { readHostFacts, validateConfig } from '../config/validate.js';
import { noteLvsNotRun } from '../lvs/config-notes.js';
import { ipvsPresent } from '../lvs/ipvs-select.js';

export interface ConfigTestResult {
  exitCode: number;
  /** Report lines, in keepalived's `(Line N) message` format. */
  lines: string[];
  config: KeepalivedConfig;
}

/** `umaskFromCli`: -u was given, so global_defs umask is not read (as 2.2.7). */
export function runConfigTest(file: string, configId?: string, umaskFromCli = false): ConfigTestResult {
  const { config, diag } = loadConfig(file, {
    ...(configId === undefined ? {} : { configId }),
    ...(umaskFromCli ? { umaskFromCli } : {}),
  });
  validateConfig(config, diag, { host: readHostFacts() });
  noteBlocksNotRun(config, diag);
  noteLvsNotRun(config, diag, ipvsPresent);
  return { exitCode: diag.exitCode(), lines: diag.list.map((d) => diag.format(d)), config };
}
