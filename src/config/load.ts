// Entry point of the configuration layer: text files in, one typed model and its diagnostics out.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Diagnostics } from './diagnostics.js';
import { emptyConfig, type KeepalivedConfig } from './model.js';
import { parseBlocks } from './parser.js';
import { LineReader } from './reader.js';
import { rootKeywords } from './schema/root.js';

export interface LoadOptions {
  /** `-i`: the config id for `@ID` lines; default the host name up to its first dot. */
  configId?: string;
  env?: Record<string, string | undefined>;
  /** `-u` was given: global_defs `umask` is not read, as in keepalived 2.2.7. */
  umaskFromCli?: boolean;
}

export interface LoadResult {
  config: KeepalivedConfig;
  diag: Diagnostics;
}

export function defaultConfigId(): string {
  return hostname().split('.')[0] ?? '';
}

/** Parses a configuration file (and its includes). Never throws on any input. */
export function loadConfig(file: string, opts: LoadOptions = {}): LoadResult {
  const diag = new Diagnostics();
  diag.mainFile = { abs: resolve(file), given: file };
  const config = emptyConfig();
  const readerOpts = { configId: opts.configId ?? defaultConfigId(), env: opts.env ?? process.env };
  const reader = new LineReader(file, diag, readerOpts);
  parseBlocks(reader, rootKeywords(config), config, {
    diag,
    ...(opts.umaskFromCli ? { umaskFromCli: true } : {}),
  });
  return { config, diag };
}
