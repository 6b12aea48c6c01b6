// What the checker and BFD processes do first, alike: a logger under their keepalived ident, and the
// configuration read from the file themselves (at start and on reload), with the daemon's own verdict on it;
// and how they talk to the main process.
import { applyFileMask } from '../common/file-mask.js';
import { createLogger, type Logger } from '../common/logger.js';
import { loadConfig } from '../config/load.js';
import type { KeepalivedConfig } from '../config/model.js';
import { readHostFacts, validateConfig } from '../config/validate.js';
import { type CliOptions, loadOptions } from './cli.js';

/** The child's logger: the daemon's console, detail and facility settings under `ident`. */
export function childLogger(o: CliOptions, ident: string): Logger {
  return createLogger({
    console: o.logConsole,
    detail: o.logDetail,
    ident,
    ...(o.logFacility === undefined ? {} : { facility: o.logFacility }),
  });
}

/** The configuration file read and checked; null when it cannot be run (the exit codes -t gives 2 and 4). */
export function loadRunnableConfig(o: CliOptions): KeepalivedConfig | null {
  const { config, diag } = loadConfig(o.configFile, loadOptions(o));
  // As keepalived's children, each reads global_defs umask itself, at start and at each reload.
  applyFileMask(o.umask, config.globalDefs.umask);
  validateConfig(config, diag, { host: readHostFacts() });
  const code = diag.exitCode();
  return code === 2 || code === 4 ? null : config;
}

/**
 * The configuration a child starts with; when it cannot be run, the child's log says so under `who`
 * ('BFD', 'Checker') and is closed, and the child exits with 1.
 */
export function startingConfig(o: CliOptions, log: Logger, who: string): KeepalivedConfig | null {
  const config = loadRunnableConfig(o);
  if (!config) {
    log.error(`${who}: the configuration in ${o.configFile} cannot be run`);
    log.close();
  }
  return config;
}

/** A message to the main process over the IPC channel; dropped once the channel is gone. */
export function sendToParent(m: unknown): void {
  if (process.connected) process.send?.(m);
}
