// Cost of programming the nftables LVS data plane by each route: `nft -f -` spawned per transaction
// against libnftables loaded in-process through koffi. Small transactions (one real server's weight
// flipped: a few elements) and a from-scratch build of 1,000 virtual servers × 10 real servers.
// Runs in a throwaway namespace: this process re-executes itself inside it (`ip netns exec`), since
// libnftables programs the namespace of the calling thread.
// Usage (root): node --import tsx bench/lvs-program.ts [smallTx=200]
import { fileURLToPath } from 'node:url';
import type { DataplaneState, ServiceSpec } from '../src/lvs/dataplane.js';
import { NftDataplane } from '../src/lvs/nft-dataplane.js';
import { cliRunner, libnftRunner, type NftRunner } from '../src/lvs/nft-runner.js';
import { tsxInFreshNetns } from '../test/helpers/netns.js';

const small = Number(process.argv[2] ?? 200);

function service(i: number, reals: number, downIndex = -1): ServiceSpec {
  const a = 100 + (i % 100);
  return {
    name: `vs${i}`,
    family: 4,
    protocol: 'tcp',
    matches: [{ kind: 'addr', address: `198.51.100.${a}`, port: 1000 + Math.floor(i / 100) }],
    scheduler: 'wrr',
    flags: { hashPort: false, fallback: false, onePacket: false },
    reals: Array.from({ length: reals }, (_, r) => ({
      address: `192.0.2.${10 + r}`,
      port: 8080,
      weight: r === downIndex ? 0 : 1 + (r % 3),
      method: 'NAT' as const,
    })),
    sorryActive: false,
  };
}

const state = (n: number, reals: number, down = -1): DataplaneState => ({
  services: Array.from({ length: n }, (_, i) => service(i, reals, i === 0 ? down : -1)),
});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function measure(runner: NftRunner, n: number): Promise<Record<string, number | string>> {
  const dp = new NftDataplane(runner);
  const base = state(1, 3);
  let r = await dp.start(base);
  if (!r.ok) throw new Error(r.error.message);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    r = await dp.update(state(1, 3, i % 2 === 0 ? 1 : -1));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!r.ok) throw new Error(r.error.message);
  }
  const big = state(1000, 10);
  const t0 = process.hrtime.bigint();
  r = await dp.start(big);
  const fullMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!r.ok) throw new Error(r.error.message);
  // One checker verdict inside the big table: one server of one service to weight 0 and back, as the
  // one-change plan the checker hands over (apply), and as a whole new desired state (update: diff of all).
  const verdicts: number[] = [];
  const updates: number[] = [];
  for (let i = 0; i < Math.min(n, 100); i++) {
    const svc = `vs${(i * 37) % 1000}`;
    const real = { address: '192.0.2.13', port: 8080, weight: i % 2 === 0 ? 0 : 1, method: 'NAT' as const };
    const t1 = process.hrtime.bigint();
    r = await dp.apply([{ op: 'set-real', name: svc, real }]);
    verdicts.push(Number(process.hrtime.bigint() - t1) / 1e6);
    if (!r.ok) throw new Error(r.error.message);
  }
  for (let i = 0; i < Math.min(n, 20); i++) {
    const next = state(1000, 10, i % 2 === 0 ? 3 : -1);
    const t1 = process.hrtime.bigint();
    r = await dp.update(next);
    updates.push(Number(process.hrtime.bigint() - t1) / 1e6);
    if (!r.ok) throw new Error(r.error.message);
  }
  await dp.stop();
  return {
    route: runner.route,
    smallTx: n,
    smallP50ms: +pct(times, 50).toFixed(3),
    smallP99ms: +pct(times, 99).toFixed(3),
    build1000x10ms: +fullMs.toFixed(1),
    verdictIn1000x10P50ms: +pct(verdicts, 50).toFixed(3),
    verdictIn1000x10P99ms: +pct(verdicts, 99).toFixed(3),
    wholeStateUpdateP50ms: +pct(updates, 50).toFixed(3),
    rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(0),
  };
}

if (process.env.KATS_LVS_BENCH_INNER) {
  const route = process.env.KATS_LVS_BENCH_INNER;
  const runner = route === 'cli' ? cliRunner() : libnftRunner();
  const res = await measure(runner, route === 'cli' ? Math.min(small, 100) : small);
  process.stdout.write(`${JSON.stringify(res)}\n`);
} else {
  const rows: unknown[] = [];
  for (const route of ['cli', 'libnftables']) {
    const out = tsxInFreshNetns('lvsprog', fileURLToPath(import.meta.url), [String(small)], {
      env: { ...process.env, KATS_LVS_BENCH_INNER: route },
      timeoutMs: 300_000,
    });
    rows.push(JSON.parse(out.trim().split('\n').pop() ?? '{}'));
  }
  console.table(rows);
}
