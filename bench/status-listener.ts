// The status listener's cost (metrics_listen; docs/decisions/status-listener.md). One keepalived-ts with
// 1,000 VRRPv3 instances (IPv6, 4 VIPs each, advert_int 1, on 4 veth links as bench/instances-1000.ts) and
// one more at advert_int 0.01 on a fifth link, master of all (the peer namespace only captures):
//   1. scrape and status times: 200 sequential GET /metrics, then 200 GET /status, each plain and with
//      Accept-Encoding: gzip (~: what Prometheus sends) (p50 / p99 / max, size);
//   2. advert jitter of the 0.01 s instance on the wire (|gap − 10 ms| between consecutive adverts), in
//      windows of N s: no HTTP ("quiet"), one scrape and one /status a second ("scrape"), 1,000 requests a
//      second rotating /metrics, /status, / and an unauthenticated request ("flood"), and quiet again; with
//      the CPU the VRRP process and the listener process used in each; the flood windows once per listener
//      scheduling variant per round, interleaved (see `schedule` below);
//   3. the feed's own work on the VRRP loop: one snapshot of 1,000 instances (built and serialised as the
//      IPC channel does), timed in this process.
// Targets: scrape p99 < 50 ms; jitter p99 with the scrape and with the flood ≤ 1.1 × quiet.
// The machine is shared: figures vary from run to run; ratios within one run are what to compare.
//
// Usage (root): node --import tsx bench/status-listener.ts
//   KATS_BENCH_WINDOW_S=N  each jitter window (default 15)
//   KATS_BENCH_ROUNDS=N     rounds of the three flood variants (listener scheduling and request budget;
//                           default 2, at most 3)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { serialize } from 'node:v8';
import { StatusFeed } from '../src/status/feed.js';
import { newRxStats } from '../src/vrrp/stats.js';
import { tsxInNetns } from '../test/helpers/netns.js';
import { AdvertCapture } from './lib/advert-capture.js';
import { forgetNamespace, installCleanup, trackChild, trackNamespace } from './lib/cleanup.js';
import { ip, isRoot } from './lib/failover-lab.js';
import { sleep } from './lib/failover-scenario.js';
import { cpuSeconds } from './lib/proc-usage.js';
import { envNumber, machineLine, saveResults, table } from './lib/stats.js';
import { VrrpDaemon } from './lib/vrrp-daemon.js';

const LINKS = 4;
const PER_LINK = 250;
const VIPS = 4;
const PORT = 9650;
const TOKEN = `bench-${randomBytes(8).toString('hex')}`;
const FAST_VRID = 200;
const ROOT = resolve(import.meta.dirname, '..');

function conf(maxRequests = 0): string {
  let text = `global_defs {\n  metrics_listen 127.0.0.1:${PORT}\n  metrics_token ${TOKEN}\n  metrics_max_requests ${maxRequests}\n}\n`;
  let k = 0;
  for (let l = 0; l < LINKS; l++)
    for (let vrid = 1; vrid <= PER_LINK; vrid++) {
      k++;
      const vips = Array.from(
        { length: VIPS },
        (_, n) => `    2001:db8:${l + 1}:${vrid.toString(16)}::${n + 1}/128`,
      ).join('\n');
      text += `vrrp_instance VI_${k} {\n  state BACKUP\n  interface eth${l}\n  virtual_router_id ${vrid}\n  version 3\n  priority 200\n  advert_int 1\n  virtual_ipaddress {\n${vips}\n  }\n}\n`;
    }
  text += `vrrp_instance FAST {\n  state BACKUP\n  interface eth${LINKS}\n  virtual_router_id ${FAST_VRID}\n  version 3\n  priority 200\n  advert_int 0.01\n  virtual_ipaddress {\n    2001:db8:ff::1/128\n  }\n}\n`;
  return text;
}

function lab() {
  const tag = randomBytes(3).toString('hex');
  const a = `kats-stla-${tag}`;
  const b = `kats-stlb-${tag}`;
  for (const ns of [a, b]) {
    ip('netns', 'add', ns);
    trackNamespace(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  for (let l = 0; l <= LINKS; l++) {
    ip('-n', a, 'link', 'add', `eth${l}`, 'type', 'veth', 'peer', 'name', `eth${l}`, 'netns', b);
    ip('-n', a, 'link', 'set', `eth${l}`, 'up');
    ip('-n', b, 'link', 'set', `eth${l}`, 'up');
  }
  return {
    a,
    b,
    close: () => {
      for (const ns of [a, b]) {
        ip('netns', 'del', ns);
        forgetNamespace(ns);
      }
    },
  };
}

/** The listener process's threads (Linux nice and policy are per thread). */
function listenerThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [pid];
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Runs the load generator in `ns`; resolves with its JSON. */
function load(ns: string, args: string[]): { started: Promise<void>; result: Promise<any> } {
  const p = spawn(
    'ip',
    tsxInNetns(ns, 'bench/lib/http-load-main.ts', ['127.0.0.1', `${PORT}`, TOKEN, ...args]),
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  trackChild(p);
  let out = '';
  let started!: () => void;
  const s = new Promise<void>((r) => {
    started = r;
  });
  const result = new Promise((res, rej) => {
    p.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n')) started();
    });
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) res(JSON.parse(line));
      else rej(new Error(`load generator exited ${code}: ${out}`));
    });
  });
  return { started: s, result };
}

/**
 * The feed's snapshot of 1,000 instances on the VRRP loop, in CPU µs (process.cpuUsage: less sensitive to the
 * machine's load than wall time): a copy as the runtime's dumpSnapshot makes, the rows built (timed whole;
 * the daemon builds them 200 instances per event-loop turn), and the v8 serialisation the IPC send does.
 */
function feedCost(): { copyUs: number; buildUs: number; serializeUs: number; bytes: number } {
  let last: unknown = null;
  const list = Array.from({ length: 1000 }, (_, k) => ({
    status: {
      name: `VI_${k}`,
      state: 'MASTER',
      wantState: 'BACKUP',
      basePriority: 200,
      effectivePriority: 200,
      masterAdverIntervalCs: 100,
      masterAddress: 'fe80::1',
      masterPriority: 0,
      fault: { interface: false, tracker: false, group: false, address: false },
      timers: { masterDown: null, advert: 1e9, garpDelay: null, garpRefresh: null, garpLowerPrio: null },
    },
    params: {
      name: `VI_${k}`,
      interface: 'eth0',
      vrid: k,
      family: 6,
      version: 3,
      vips: [],
      excludedVips: [],
      unicastPeers: [],
      trackers: [],
      advertIntervalCs: 100,
      garpMasterDelayUs: 5e6,
    },
    stats: { ...newRxStats(), BecomeMaster: 1, ReleasedMaster: 0, SentAdvertisements: k },
    lastTransitionS: 1,
  }));
  const copy = () =>
    list.map((d) => ({
      ...d,
      status: { ...d.status, timers: { ...d.status.timers } },
      stats: { ...d.stats },
    }));
  const feed = new StatusFeed((m) => {
    last = m;
  }, Number.POSITIVE_INFINITY);
  feed.attach({ dumpSnapshot: copy, trackerStates: () => [] } as never, { syncGroups: [] } as never);
  feed.stop();
  const n = 300;
  const cpu = (f: () => void) => {
    for (let k = 0; k < 30; k++) f();
    const c0 = process.cpuUsage();
    for (let k = 0; k < n; k++) f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n;
  };
  const copyUs = cpu(copy);
  const buildUs = cpu(() => feed.tick()) - copyUs;
  const serializeUs = cpu(() => serialize(last));
  return { copyUs, buildUs, serializeUs, bytes: serialize(last).length };
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('status-listener bench: needs root (network namespaces); skipped');
    return;
  }
  installCleanup();
  const windowS = envNumber('KATS_BENCH_WINDOW_S', 15);
  console.log(`status-listener bench: 1,000 instances + 1 at 0.01 s; ${machineLine()}`);
  const cost = feedCost();
  const net = lab();
  const capture = new AdvertCapture(net.b, `eth${LINKS}`);
  await capture.ready();
  const d = new VrrpDaemon('stl', 'keepalived-ts', net.a, conf());
  try {
    d.start();
    const t0 = Date.now();
    while (d.lines.filter((l) => /Entering MASTER STATE/.test(l.text)).length < LINKS * PER_LINK + 1) {
      if (Date.now() - t0 > 60_000) throw new Error('not all instances became master within 60 s');
      await sleep(200);
    }
    await d.waitFor(/Status listener on/, 30_000);
    const listenerPid = Number(
      /pid=(\d+)/.exec(d.lines.find((l) => /Starting status listener/.test(l.text))!.text)![1],
    );
    await sleep(3000);

    // 1. Scrape and status times.
    const seq: Record<string, any> = {};
    for (const path of ['/metrics', '~/metrics', '/status', '~/status']) {
      const l = load(net.a, ['seq', path, '200']);
      seq[path] = await l.result;
    }

    // 2. Jitter windows.
    const windows: {
      name: string;
      fromMs: number;
      toMs: number;
      vrrpCpuS: number;
      listenerCpuS: number;
      http?: any;
    }[] = [];
    const run = async (name: string, args: string[] | null) => {
      const c0 = cpuSeconds(d.pid!) ?? 0;
      const l0 = cpuSeconds(listenerPid) ?? 0;
      let http: any;
      let fromMs: number;
      if (args) {
        const l = load(net.a, args);
        await l.started;
        fromMs = Date.now();
        http = await l.result;
      } else {
        fromMs = Date.now();
        await sleep(windowS * 1000);
      }
      const toMs = Date.now();
      windows.push({
        name,
        fromMs: fromMs + 500,
        toMs: toMs - 200,
        vrrpCpuS: (cpuSeconds(d.pid!) ?? 0) - c0,
        listenerCpuS: (cpuSeconds(listenerPid) ?? 0) - l0,
        http,
      });
    };
    // The variants, switched between windows so that they are compared in the same run, interleaved (the
    // machine's load drifts): "old" = nice 10 on the listener's main thread only (what os.setPriority did:
    // Linux nice is per thread) and no request budget; "idle" = SCHED_IDLE on every thread, no budget;
    // "budget" = SCHED_IDLE and metrics_max_requests 20 (the defaults since 2026-12-05), set by a reload.
    type Variant = 'old' | 'idle' | 'budget';
    let budget = 0;
    const setBudget = async (n: number) => {
      if (n === budget) return;
      const from = d.mark();
      writeFileSync(d.conf, conf(n));
      process.kill(d.pid!, 'SIGHUP');
      await d.waitFor(new RegExp(`metrics_max_requests ${n}: the status listener takes it`), 30_000, from);
      budget = n;
      await sleep(2000);
    };
    const schedule = async (variant: Variant) => {
      await setBudget(variant === 'budget' ? 20 : 0);
      for (const tid of listenerThreads(listenerPid)) {
        spawnSync('chrt', variant === 'old' ? ['-o', '-p', '0', `${tid}`] : ['-i', '-p', '0', `${tid}`]);
        const nice = variant === 'old' && tid !== listenerPid ? 0 : 10;
        spawnSync('renice', ['-n', `${nice}`, '-p', `${tid}`], { stdio: 'ignore' });
      }
    };
    const flood = ['rate', '1000', `${windowS}`, '/metrics,/status,/,!/metrics'];
    const scrape = ['rate', '2', `${windowS}`, '/metrics,/status'];
    const rounds = (
      [
        ['old', 'idle', 'budget'],
        ['budget', 'idle', 'old'],
        ['idle', 'budget', 'old'],
      ] as Variant[][]
    ).slice(0, envNumber('KATS_BENCH_ROUNDS', 2));
    await schedule('idle');
    await run('quiet', null);
    await run('scrape idle', scrape);
    for (const round of rounds) {
      for (const v of round) {
        await schedule(v);
        await run(`flood ${v}`, flood);
      }
      await schedule('idle');
      await run('quiet', null);
    }
    await schedule('budget');
    await run('scrape budget', scrape);
    await run('quiet', null);
    await sleep(300);

    const jitterOf = (fromMs: number, toMs: number) => {
      const times = capture.adverts
        .filter((a) => a.vrid === FAST_VRID && a.atMs >= fromMs && a.atMs <= toMs)
        .map((a) => a.atMs);
      const j: number[] = [];
      for (let k = 1; k < times.length; k++) j.push(Math.abs(times[k]! - times[k - 1]! - 10));
      return { n: times.length, p50: pct(j, 50), p99: pct(j, 99), p999: pct(j, 99.9), max: Math.max(...j) };
    };
    const rows = windows.map((w) => ({ ...w, jitter: jitterOf(w.fromMs, w.toMs) }));
    // The quiet windows' median p99 is the base of every ratio.
    const base = pct(
      rows.filter((r) => r.name === 'quiet').map((r) => r.jitter.p99),
      50,
    );
    const f = (x: number, n = 2) => (Number.isFinite(x) ? x.toFixed(n) : 'n/a');
    console.log('\nscrape and status (200 sequential requests each, from inside the namespace):');
    console.log(
      table(
        ['path', 'p50 ms', 'p99 ms', 'max ms', 'bytes', 'statuses'],
        Object.entries(seq).map(([p, r]) => [
          p,
          f(pct(r.latenciesMs, 50)),
          f(pct(r.latenciesMs, 99)),
          f(Math.max(...r.latenciesMs)),
          `${r.bytes}`,
          JSON.stringify(r.statuses),
        ]),
      ),
    );
    console.log(`\nadvert jitter of the 0.01 s instance (|gap − 10 ms|, ms; windows of ${windowS} s):`);
    console.log(
      table(
        [
          'window',
          'adverts',
          'p50',
          'p99',
          'p99.9',
          'max',
          'p99 ratio',
          'VRRP CPU s',
          'listener CPU s',
          'HTTP',
        ],
        rows.map((r) => [
          r.name,
          `${r.jitter.n}`,
          f(r.jitter.p50, 3),
          f(r.jitter.p99, 3),
          f(r.jitter.p999, 3),
          f(r.jitter.max, 3),
          f(r.jitter.p99 / base),
          f(r.vrrpCpuS),
          f(r.listenerCpuS),
          r.http
            ? `${r.http.done} done, ${r.http.skipped} skipped, p99 ${f(pct(r.http.latenciesMs, 99))} ms, ${JSON.stringify(r.http.statuses)}`
            : '-',
        ]),
      ),
    );
    const medians = ['old', 'idle', 'budget'].map((v) => {
      const ws = rows.filter((r) => r.name === `flood ${v}`);
      return [
        v,
        `${ws.length}`,
        f(
          pct(
            ws.map((r) => r.jitter.p99 / base),
            50,
          ),
        ),
        ws.map((r) => f(r.jitter.p99 / base)).join(' '),
        f(
          pct(
            ws.map((r) => r.http?.done ?? 0),
            50,
          ),
          0,
        ),
        f(
          pct(
            ws.map((r) => r.listenerCpuS),
            50,
          ),
        ),
      ];
    });
    console.log(
      `\nflood windows by listener scheduling (p99 ratio to the quiet windows' median p99 ${f(base, 3)} ms):`,
    );
    console.log(
      table(
        ['variant', 'windows', 'median ratio', 'ratios', 'median done', 'median listener CPU s'],
        medians,
      ),
    );
    console.log(
      `load average at the end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `\nfeed snapshot of 1,000 instances on the VRRP loop, CPU once a second: dumpSnapshot-like copy ` +
        `${f(cost.copyUs / 1000, 3)} ms, rows ${f(cost.buildUs / 1000, 3)} ms (in 5 turns of 200), ` +
        `serialisation ${f(cost.serializeUs / 1000, 3)} ms (${cost.bytes} bytes)`,
    );
    const file = saveResults('status-listener', {
      machine: machineLine(),
      windowS,
      feed: cost,
      seq: Object.fromEntries(
        Object.entries(seq).map(([p, r]) => [
          p,
          { p50: pct(r.latenciesMs, 50), p99: pct(r.latenciesMs, 99), bytes: r.bytes },
        ]),
      ),
      loadavg: loadavg(),
      windows: rows.map(({ http, ...r }) => ({
        ...r,
        http: http ? { ...http, latenciesMs: undefined } : null,
      })),
    });
    console.log(`results: ${file}`);
  } finally {
    capture.stop();
    await d.stop('SIGTERM', 15_000);
    net.close();
  }
}

await main();
