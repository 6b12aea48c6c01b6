// A configuration given as text, read by the real loader and validator: each text is written to its own file
// in a scratch directory (removed after the test file's tests), loaded, and validated against a host that has
// exactly `interfaces`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Diagnostics } from '../../src/config/diagnostics.js';
import { loadConfig } from '../../src/config/load.js';
import type { KeepalivedConfig } from '../../src/config/model.js';
import { validateConfig } from '../../src/config/validate.js';

export type LoadText = (text: string) => { config: KeepalivedConfig; diag: Diagnostics };

export function configLoader(prefix: string, interfaces: string[] = ['lo', 'eth0']): LoadText {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return (text) => {
    const file = join(dir, `c${n++}.conf`);
    writeFileSync(file, text);
    const { config, diag } = loadConfig(file, { configId: 'x', env: {} });
    validateConfig(config, diag, { host: { interfaces: new Set(interfaces) } });
    return { config, diag };
  };
}
