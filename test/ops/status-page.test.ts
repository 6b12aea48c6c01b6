// The status page (/ on the metrics_listen listener) in headless Chromium (Debian's chromium, driven by
// puppeteer-core through a pipe, the browser inside the lab's namespace): it shows MASTER for the instance
// this router is master of and BACKUP for the other, turns to BACKUP within a second of a failover
// (priority dropped through a track_file, the peer takes over), names the transition and its reason, and
// fits a phone's width. Screenshots go to a temporary directory named in the test log.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { vrrpInstanceConf } from '../daemon/conf.js';
import { Router, settleStates } from '../daemon/router.js';
import { isRoot } from '../helpers/netns.js';
import { RouterLabs, TWO_ROUTERS } from '../helpers/router-lab.js';
import { browserInNetns, noBrowser } from './netns-browser.js';

const skip = !isRoot() ? 'needs root for network namespaces' : noBrowser;
const PORT = 9650;

const labs = new RouterLabs();

const instance = (name: string, vrid: number, priority: number, vip: string, extra = '') =>
  vrrpInstanceConf({ name, vrid, priority, state: 'BACKUP', extra, vips: [`${vip}/24`] });

test('the page shows who is master and follows a failover within a second', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const { r1: ns1, r2: ns2 } = labs.open('stp', TWO_ROUTERS);
  const r1 = new Router(
    'r1',
    ns1,
    (dir) => `
global_defs {
  metrics_listen 127.0.0.1:${PORT}
}
track_file drop {
  file ${join(dir, 'drop')}
  weight -1
  init_file 0
}
${instance('VI_1', 51, 200, '192.0.2.100', 'track_file {\n    drop\n  }')}
${instance('VI_2', 52, 50, '192.0.2.101')}
`,
  );
  const r2 = new Router(
    'r2',
    ns2,
    `${instance('VI_1', 51, 150, '192.0.2.100')}\n${instance('VI_2', 52, 100, '192.0.2.101')}`,
  );
  labs.add(r1, r2);
  await settleStates(15_000, [r1, 'VI_1', 'MASTER'], [r1, 'VI_2', 'BACKUP'], [r2, 'VI_1', 'BACKUP']);
  await r1.waitFor(/Status listener on 127\.0\.0\.1:9650/, 15_000);

  // The browser runs inside r1's namespace (where the listener is); puppeteer talks to it over a pipe.
  const { browser, shots } = await browserInNetns(ns1, 'status-page');
  labs.closers.push(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'domcontentloaded', timeout: 15_000 });
  const stateOf = (name: string) =>
    page.$eval(`[data-instance="${name}"] .state`, (e) => e.textContent).catch(() => null);
  await page.waitForFunction(
    () => document.querySelector('[data-instance="VI_1"] .state')?.textContent === 'MASTER',
    { timeout: 10_000 },
  );
  assert.equal(await stateOf('VI_1'), 'MASTER');
  assert.equal(await stateOf('VI_2'), 'BACKUP');
  assert.match(
    await page.$eval('[data-instance="VI_2"] .master', (e) => e.textContent ?? ''),
    /master 192\.0\.2\.2/,
  );
  assert.match(
    await page.$eval('[data-instance="VI_1"] .vips', (e) => e.textContent ?? ''),
    /192\.0\.2\.100\/24/,
  );
  assert.equal(await page.$eval('#conn', (e) => e.textContent), 'live');
  await page.screenshot({ path: join(shots, 'desktop.png'), fullPage: true });

  // The failover: r1's priority falls to 100 (< r2's 150), r2 takes VI_1 over, r1 turns BACKUP. The page
  // notes when its VI_1 card says BACKUP (same host, same clock as r1's log stamp).
  await page.evaluate(() => {
    const w = window as unknown as { backupAt?: number };
    new MutationObserver(() => {
      if (
        w.backupAt === undefined &&
        document.querySelector('[data-instance="VI_1"] .state')?.textContent === 'BACKUP'
      )
        w.backupAt = Date.now();
    }).observe(document.getElementById('instances')!, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  const mark = r1.mark();
  writeFileSync(join(r1.dir, 'drop'), '100\n');
  const line = await r1.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000, mark);
  await page.waitForFunction(() => (window as unknown as { backupAt?: number }).backupAt !== undefined, {
    timeout: 5000,
  });
  const shownAt = await page.evaluate(() => (window as unknown as { backupAt: number }).backupAt);
  const lagMs = shownAt - (line.stampMs ?? line.rxMs);
  t.diagnostic(`page showed BACKUP ${lagMs} ms after r1 logged it; screenshots in ${shots}`);
  console.log(
    `status page screenshots: ${shots}/desktop.png, ${shots}/phone.png (BACKUP shown after ${lagMs} ms)`,
  );
  assert.ok(lagMs <= 1000, `the page showed BACKUP ${lagMs} ms after the transition`);
  assert.match(
    await page.$eval('[data-instance="VI_1"] .why', (e) => e.textContent ?? ''),
    /MASTER → BACKUP .*: \S/,
    'the last transition, with its reason',
  );
  assert.match(await page.$eval('#transitions', (e) => e.textContent ?? ''), /VI_1: MASTER → BACKUP/);

  // A phone: one column, nothing wider than the screen.
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
  await page.screenshot({ path: join(shots, 'phone.png'), fullPage: true });
});
