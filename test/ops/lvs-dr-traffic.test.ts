// Traffic counters of an LVS-DR virtual server through the daemon (src/check/lvs-sink.ts reads them,
// src/lvs/counters.ts): one director running keepalived-ts with its status listener on, drDaemonConf's rr
// DR virtual server over three real servers (VIP on lo), a client on the same LAN. After known requests,
// /metrics shows each real server's connections equal to the requests it answered, client → server
// packets and bytes, nothing out (replies bypass the director, as IPVS reports for DR); /status carries
// the same; and the status page (headless Chromium, as test/ops/status-page.test.ts drives it) shows a
// server's connections and the virtual server's total, and still fits a phone.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DR_REALS, DR_VIP, drDaemonConf } from '../daemon/lvs-daemon-lab.js';
import { killAllRouters, needsRoot, Router } from '../daemon/router.js';
import { Lab } from '../helpers/netns.js';
import { counts, drClientDirector, drRealServer, runClient, startServer } from '../lvs/lab.js';
import { browserInNetns, noBrowser } from './netns-browser.js';
import { NsHttp, parseMetrics } from './ns-http.js';

const skip = needsRoot();
const PORT = 9664;
const conf = `global_defs {\n  metrics_listen 127.0.0.1:${PORT}\n}\n${drDaemonConf({ vrid: 74, priority: 150 })}`;

let lab: Lab;
let client = '';
let director = '';
const procs: ChildProcess[] = [];
const closers: (() => Promise<unknown> | undefined)[] = [];

before(async () => {
  if (skip) return;
  lab = new Lab('drtraf');
  ({ client, director } = drClientDirector(lab));
  await Promise.all(
    DR_REALS.map((addr, i) => {
      const ns = drRealServer(lab, `rs${i + 1}`, addr, undefined, DR_VIP);
      return startServer(procs, ns, `rs${i + 1}`, '0.0.0.0', 80);
    }),
  );
});

after(async () => {
  for (const c of closers.splice(0)) await c();
  killAllRouters();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  lab?.close();
});

type Sample = ReturnType<typeof parseMetrics>[number];
const metric = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

test('DR virtual server: connections, packets and bytes on /metrics, /status and the page', {
  skip,
  timeout: 90_000,
}, async (t) => {
  const http = new NsHttp(director, '127.0.0.1', PORT);
  closers.push(async () => http.close());
  const d = new Router('dir', director, conf);
  closers.push(() => d.stop());
  await http.ready;
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  // Every request made, by the server that answered (the first ones may fail while the VIP comes up).
  const answered: string[] = [];
  const t0 = Date.now();
  for (;;) {
    const r = await runClient(procs, client, { count: 3, target: DR_VIP });
    answered.push(...r.names);
    if (r.errors === 0 && new Set(r.names).size === 3) break;
    assert.ok(Date.now() - t0 < 15_000, 'the virtual server answers from all three servers');
    await new Promise((res) => setTimeout(res, 200));
  }
  const r = await runClient(procs, client, { count: 12, concurrency: 2, target: DR_VIP });
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  answered.push(...r.names);
  const perServer = counts(answered);

  // The checker reads the counters every 2 s; the listener shows them at the next read.
  let samples: Sample[] = [];
  const deadline = Date.now() + 15_000;
  for (;;) {
    // A reset while polling (the listener runs at idle priority; seen once at load 12) is another try.
    const m = await http.get('/metrics').catch(() => ({ status: 0, body: '' }));
    samples = m.status === 200 ? parseMetrics(m.body) : [];
    const conns = DR_REALS.map((a) => metric(samples, 'keepalived_lvs_rs_conn', { addr: `${a}:80` }));
    if (DR_REALS.every((_, i) => conns[i] === perServer[`rs${i + 1}`])) break;
    assert.ok(
      Date.now() < deadline,
      `rs conn ${JSON.stringify(conns)} never reached ${JSON.stringify(perServer)} (${answered.length} requests)`,
    );
    await new Promise((res) => setTimeout(res, 300));
  }
  const vip = { addr: `${DR_VIP}:80`, proto: '6' };
  let inPackets = 0;
  for (const a of DR_REALS) {
    const labels = { addr: `${a}:80`, proto: '6', vip: `${DR_VIP}:80` };
    const get = (n: string) => metric(samples, `keepalived_lvs_rs_${n}`, labels);
    const conns = get('conn')!;
    // A TCP request is at least a SYN, the request and a FIN from the client; no reply passes the director.
    assert.ok(get('in_packets')! >= 3 * conns && get('in_bytes')! >= 40 * get('in_packets')!, a);
    assert.equal(get('out_packets'), 0, a);
    assert.equal(get('out_bytes'), 0, a);
    inPackets += get('in_packets')!;
  }
  assert.equal(metric(samples, 'keepalived_lvs_vip_conn', vip), answered.length);
  assert.equal(metric(samples, 'keepalived_lvs_vip_in_packets', vip), inPackets);
  // /status carries the same counters (schema/status.schema.json 'traffic').
  const doc = JSON.parse((await http.get('/status')).body);
  const svc = doc.traffic.find((x: { addr: string }) => x.addr === `${DR_VIP}:80`);
  assert.ok(svc.total.conns >= answered.length && svc.total.outPackets === 0, JSON.stringify(svc.total));

  if (noBrowser) {
    t.skip(`the page part: ${noBrowser}`);
    return;
  }
  const { browser, shots } = await browserInNetns(director, 'dr-traffic-page');
  closers.unshift(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'domcontentloaded', timeout: 15_000 });
  const rs1 = `${DR_REALS[0]}:80`;
  const want = String(perServer.rs1);
  const cell = `[data-traffic="${DR_VIP}:80"] tr[data-rs="${rs1}"] .conns`;
  await page
    .waitForFunction(
      (sel, v) => document.querySelector(sel)?.textContent === v,
      { timeout: 10_000 },
      cell,
      want,
    )
    .catch(async () => {
      const shown = await page.$eval(cell, (e) => e.textContent).catch(() => null);
      assert.fail(`the page shows ${shown} connections for ${rs1}, /metrics ${want}`);
    });
  const total = await page.$eval(`[data-traffic="${DR_VIP}:80"] tr.total .conns`, (e) => e.textContent);
  assert.ok(Number(total) >= answered.length, `total ${total}`);
  await page.screenshot({ path: join(shots, 'phone.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone (screenshot ${shots}/phone.png)`);
  console.log(`DR traffic page screenshot: ${shots}/phone.png`);
});
