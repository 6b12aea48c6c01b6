// Headless Chromium (Debian's chromium, driven by puppeteer-core through a pipe) run inside a test's
// network namespace, for the status page tests: the page is reached at 127.0.0.1 of that namespace.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';

const CHROMIUM = '/usr/bin/chromium';
let puppeteer: { launch: typeof import('puppeteer-core').launch } | null = null;
try {
  const m = await import('puppeteer-core');
  puppeteer = { launch: (o) => m.launch(o) };
} catch {
  puppeteer = null;
}

/** Why no browser can run here, or false when one can. */
export const noBrowser: string | false = !existsSync(CHROMIUM)
  ? `no browser: ${CHROMIUM} missing (Debian package chromium; npm test installs it as root)`
  : !puppeteer
    ? 'puppeteer-core not installed (npm install)'
    : false;

/**
 * Launches Chromium inside namespace `ns` (through a launcher script in a new temporary directory named
 * `kats-<label>-…`, where the caller puts its screenshots: `shots`).
 */
export async function browserInNetns(
  ns: string,
  label: string,
): Promise<{ browser: Browser; shots: string }> {
  if (!puppeteer) throw new Error('puppeteer-core not installed');
  const shots = mkdtempSync(join(tmpdir(), `kats-${label}-`));
  const launcher = join(shots, 'chromium-in-netns');
  writeFileSync(launcher, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  const browser = await puppeteer.launch({
    executablePath: launcher,
    pipe: true,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  return { browser, shots };
}
