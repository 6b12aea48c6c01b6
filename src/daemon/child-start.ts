// What the checker and BFD processes do first, alike: a logger under their keepalived ident, and the
// configuration read from the file themselves (at start and on reload), with the daemon's own verdict on it.
import { createLogger, type Logger } from '../common/logger.js';
import { loadConfig } from '../config/load.js';
import type { KeepalivedConfig } from '../config/model.js';
import { readHostFacts, validateConfig } from '../config/validate.js';
import type { CliOptions } from './cli.js';

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
  const { config, diag } = loadConfig(o.configFile, o.configId === undefined ? {} : { configId: o.configId });
  validateConfig(config, diag, { host: readHostFacts() });
  const code = diag.exitCode();
  return code === 2 || code === 4 ? null : config;
}
