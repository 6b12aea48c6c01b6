// The status listener's rendering cost, in this process (no root, no daemon): a StatusModel with 1,000
// instances shaped as bench/status-listener.ts's (4 IPv6 VIPs each, masters, counters moving every
// snapshot), then per render the CPU time (process.cpuUsage) of:
//   - /metrics through prom-client's Registry (the reference rendering),
//   - /metrics through MetricsRenderer (what the listener serves; checked identical to the reference),
//   - /status (JSON.stringify of the document),
//   - gzip of the /metrics text (level 1 and the default 6), as a scraper's Accept-Encoding: gzip would ask.
// A new snapshot (all counters moved) is applied before every render, so nothing is served from a copy.
// docs/decisions/status-listener.md keeps the figures.
//
// Usage: node --import tsx bench/status-render.ts   (KATS_BENCH_RENDERS=N, default 30)
import { gzipSync } from 'node:zlib';
import {
  FAILOVER_BOUNDS,
  type InstanceInfo,
  LATENESS_BOUNDS,
  ROW_FIELDS,
  ROW_HEAD,
} from '../src/status/channel.js';
import { buildMetrics } from '../src/status/metrics.js';
import { StatusModel } from '../src/status/model.js';
import { envNumber, machineLine } from './lib/stats.js';

const N = 1000;
const RENDERS = envNumber('KATS_BENCH_RENDERS', 30);
const SENT = ROW_HEAD.length + 1;

const list: InstanceInfo[] = Array.from({ length: N }, (_, k) => ({
  name: `VI_${k + 1}`,
  interface: `eth${Math.floor(k / 250)}`,
  vrid: (k % 250) + 1,
  family: 6,
  version: 3,
  advertIntervalCs: 100,
  garpMasterDelayS: 5,
  unicastPeers: [],
  vips: Array.from({ length: 4 }, (_, n) => ({
    address: `2001:db8:${Math.floor(k / 250) + 1}:${((k % 250) + 1).toString(16)}::${n + 1}`,
    prefixLen: 128,
    dev: `eth${Math.floor(k / 250)}`,
  })),
  excludedVips: [],
  trackers: [],
  syncGroup: null,
}));

const model = new StatusModel();
model.apply({ type: 'instances', list });
const rows = new Float64Array(N * ROW_FIELDS);
for (let k = 0; k < N; k++) {
  rows[k * ROW_FIELDS] = 2;
  rows[k * ROW_FIELDS + 2] = rows[k * ROW_FIELDS + 3] = 200;
  rows[k * ROW_FIELDS + 7] = 1_764_900_000;
}
let tickNo = 0;
const tick = () => {
  tickNo++;
  const r = rows.slice();
  for (let k = 0; k < N; k++) r[k * ROW_FIELDS + SENT] = 3600 + tickNo;
  model.apply({
    type: 'tick',
    atMs: Date.now(),
    rows: r,
    loop: { p50: 0.0001, p99: 0.002, max: 0.01 },
    lateness: {
      bounds: LATENESS_BOUNDS,
      counts: LATENESS_BOUNDS.map(() => tickNo),
      sum: 1,
      count: 13 * tickNo,
    },
    failovers: { bounds: FAILOVER_BOUNDS, counts: FAILOVER_BOUNDS.map(() => 0), sum: 0, count: 0 },
  });
};

const metrics = buildMetrics(model);
async function cpuMs(f: () => unknown | Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let n = 0; n < RENDERS; n++) {
    tick();
    const c = process.cpuUsage();
    await f();
    const d = process.cpuUsage(c);
    out.push((d.user + d.system) / 1000);
  }
  return out.sort((a, b) => a - b);
}
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const show = (name: string, xs: number[]) =>
  console.log(
    `${name.padEnd(34)} p50 ${q(xs, 0.5).toFixed(1).padStart(6)}  p90 ${q(xs, 0.9).toFixed(1).padStart(6)}  max ${xs[xs.length - 1]!.toFixed(1).padStart(6)} ms CPU`,
  );

console.log(machineLine());
tick();
const text = await metrics.render();
{
  const ref = await metrics.registry.metrics();
  // keepalived_ts_snapshot_age_seconds moves with the clock between the two renderings.
  const strip = (s: string) => s.replace(/^keepalived_ts_snapshot_age_seconds .*$/m, '');
  if (strip(text) !== strip(ref)) throw new Error('MetricsRenderer differs from prom-client');
}
console.log(
  `/metrics ${(text.length / 1e6).toFixed(2)} MB, ${text.split('\n').filter((l) => l && l[0] !== '#').length} samples; ${RENDERS} renders each, a new snapshot before each`,
);
// Warm both paths (JIT) before measuring.
for (let n = 0; n < 5; n++) {
  await metrics.render();
  await metrics.registry.metrics();
}
show('/metrics, prom-client Registry', await cpuMs(() => metrics.registry.metrics()));
show('/metrics, MetricsRenderer', await cpuMs(() => metrics.render()));
show('/status (JSON)', await cpuMs(() => JSON.stringify(model.document(Date.now(), process.pid))));
show('gzip level 1 of /metrics', await cpuMs(() => gzipSync(text, { level: 1 })));
show('gzip level 6 of /metrics', await cpuMs(() => gzipSync(text)));
console.log(
  `gzip sizes: level 1 ${(gzipSync(text, { level: 1 }).length / 1e3).toFixed(0)} kB, level 6 ${(gzipSync(text).length / 1e3).toFixed(0)} kB`,
);
