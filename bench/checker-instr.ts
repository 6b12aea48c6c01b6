// Per-check cost of the checker's own code, for instruction counts (valgrind --tool=callgrind) on a busy
// shared machine where CPU seconds are noise. The checker runtime (core + probes, no data plane) runs in this
// process against N real servers (half HTTP_GET, half TCP_CHECK, delay_loop 1, connect_timeout 30 so that a
// slow valgrind run never times out) on loopback addresses of a throwaway namespace, answered by a raw TCP
// server in a child process (its work is not counted). It stops after WARM + CHECKS attempts and prints the
// attempts, the failures and this process's CPU. Marginal cost per check = difference of two runs' totals
// (e.g. CHECKS=2000 and CHECKS=6000) ÷ the difference in checks, which cancels start-up and compilation.
// Usage (root): [valgrind --tool=callgrind --callgrind-out-file=F] node --import tsx bench/checker-instr.ts
//   KATS_INSTR_SERVERS=1000 KATS_INSTR_WARM=2000 KATS_INSTR_CHECKS=4000
// Figures: docs/decisions/checker-scale.md.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { CheckerRuntime } from '../src/check/runtime.js';
import { withHolding } from '../src/common/logger.js';
import { loadConfig } from '../src/config/load.js';
import { enterLab } from '../test/check/probes/lab.js';
import { envNumber } from './lib/stats.js';

const SERVERS = envNumber('KATS_INSTR_SERVERS', 1000);
const WARM = envNumber('KATS_INSTR_WARM', 2000);
const CHECKS = envNumber('KATS_INSTR_CHECKS', 4000);
const PORT = 8080;
const CALLGRIND = process.env.KATS_INSTR_CALLGRIND === '1';

/** callgrind_control on this process, awaited without blocking the event loop valgrind must keep running. */
function callgrindControl(flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('callgrind_control', [flag, String(process.pid)], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', () => resolve());
  });
}

const SERVER = `
const net = require('node:net');
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok');
const s = net.createServer({ noDelay: true }, (c) => {
  c.on('error', () => {});
  c.once('data', () => c.end(RESPONSE));
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.listen({ port: ${PORT}, host: '0.0.0.0', backlog: 8192 }, () => console.log('ready'));
`;

function memory(): string {
  const m = process.memoryUsage();
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  let out = `RSS ${mib(m.rss)} MiB (V8 heap used ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, external ${mib(m.external)})`;
  // With --expose-gc: the live heap after two full collections, and the RSS then (what is retained).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
    const g = process.memoryUsage();
    const h = getHeapStatistics();
    out += `; after GC: RSS ${mib(g.rss)} MiB, heap used ${mib(g.heapUsed)} of ${mib(g.heapTotal)}, malloced ${mib(h.malloced_memory)}`;
    // Anonymous (heap, malloc) against file-backed (the node binary's text, shared between processes).
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
    out += `, RssAnon ${kib('RssAnon').toFixed(1)} MiB, RssFile ${kib('RssFile').toFixed(1)} MiB`;
  }
  return out;
}

const rsAddress = (k: number) => `127.1.${Math.floor(k / 250)}.${(k % 250) + 1}`;

function conf(): string {
  const out = ['global_defs {\n  router_id instr\n}\nvirtual_server 198.51.100.1 80 {\n  delay_loop 1\n'];
  out.push('  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n');
  for (let k = 0; k < SERVERS; k++) {
    const check =
      k % 2 === 0
        ? 'HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 30\n    }'
        : 'TCP_CHECK {\n      connect_timeout 30\n    }';
    out.push(`  real_server ${rsAddress(k)} ${PORT} {\n    weight 1\n    ${check}\n  }\n`);
  }
  out.push('}\n');
  return out.join('');
}

const lab = enterLab('ckinstr');
const dir = mkdtempSync(join(tmpdir(), 'kats-ckinstr-'));
const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
let removals = 0;
const log = withHolding(
  (line) => {
    if (line.includes('Removing service')) removals++;
  },
  false,
  () => {},
);
try {
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, conf());
  const { config, diag } = loadConfig(file);
  if (diag.exitCode() >= 2) throw new Error('bad configuration');
  const rt = await CheckerRuntime.start(config, { log, seed: 1 });
  const sample = () => {
    const u = process.cpuUsage();
    return { at: performance.now(), cpuUs: u.user + u.system, attempts: rt.attempts };
  };
  const waitFor = (n: number) =>
    new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (rt.attempts >= n) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
  await waitFor(WARM);
  // Under callgrind (KATS_INSTR_CALLGRIND=1): counters zeroed at the window's start and dumped at its end, so
  // the dump holds the window alone (start-up and compilation excluded).
  if (CALLGRIND) await callgrindControl('-z');
  const a = sample();
  const removals0 = removals;
  await waitFor(a.attempts + CHECKS);
  const b = sample();
  if (CALLGRIND) await callgrindControl('-d');
  const n = b.attempts - a.attempts;
  console.log(
    `checker-instr: ${SERVERS} servers, ${n} checks measured in ${((b.at - a.at) / 1000).toFixed(2)} s ` +
      `(${(n / ((b.at - a.at) / 1000)).toFixed(0)}/s), ${((b.cpuUs - a.cpuUs) / n).toFixed(1)} µs CPU per check ` +
      `(noisy), removals ${removals - removals0}, ${memory()}`,
  );
  // KATS_INSTR_HEAPSNAP=FILE: a heap snapshot of the running checker (what its memory holds).
  if (process.env.KATS_INSTR_HEAPSNAP) writeHeapSnapshot(process.env.KATS_INSTR_HEAPSNAP);
  await rt.abort();
} finally {
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  lab.leave();
}
process.exit(0);
