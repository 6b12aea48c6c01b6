// Cost of an HTTP_GET check: checks per CPU-second of the checking process against a node HTTP server on
// 127.0.0.1 (in a child process, so its CPU is not counted), beside the same count for a bare Node socket
// per check (connect, write the request, read to EOF, close: the floor any socket-per-check design pays;
// about 8,000 per CPU-second on the reference machine). Runs inside a throwaway network namespace.
// Usage (root): node --import tsx bench/probe-http.ts [seconds-per-round=2] [concurrency=200] [rounds=3]
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createHttpProbe } from '../src/check/probes/http.js';
import type { Checker } from '../src/config/model.js';
import { enterTestNetns } from '../test/check/probes/http-netns.js';

const seconds = Number(process.argv[2] ?? 2);
const concurrency = Number(process.argv[3] ?? 200);
const rounds = Number(process.argv[4] ?? 3);

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => res.end('ok\\n'));
s.keepAliveTimeout = 0;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

async function startServer(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', () => reject(new Error('server exited')));
  });
  return { port, stop: () => child.kill() };
}

interface Measure {
  checks: number;
  failures: number;
  wallS: number;
  cpuS: number;
}

/**
 * Keeps `concurrency` loops of `once(loop)` going for `seconds`, timing this process's CPU. Each loop
 * waits 1 ms between checks (a checker runs each probe once per delay_loop, not back to back, so a
 * probe's previous connection has closed by its next attempt).
 */
async function measure(once: (loop: number) => Promise<boolean>): Promise<Measure> {
  let checks = 0;
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < end) {
        if (await once(loop)) checks++;
        else failures++;
        await new Promise((r) => setTimeout(r, 1));
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { checks, failures, wallS: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 };
}

function bareSocket(port: number, request: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
    });
    s.on('end', () => {
      s.destroy();
      resolve(got > 0);
    });
    s.on('error', () => resolve(false));
    s.write(request);
  });
}

function report(name: string, m: Measure): number {
  const perCpu = m.checks / m.cpuS;
  console.log(
    `${name.padEnd(28)} ${String(m.checks).padStart(7)} checks ${String(m.failures).padStart(4)} failed  ` +
      `${(m.checks / m.wallS).toFixed(0).padStart(6)}/s wall  CPU ${m.cpuS.toFixed(2)} s  ` +
      `${perCpu.toFixed(0).padStart(6)} checks per CPU-second`,
  );
  return perCpu;
}

const ns = enterTestNetns('bhttp');
const server = await startServer();
try {
  const pos = { file: 'bench', line: 1 } as unknown as Checker['pos'];
  const checker: Checker = {
    kind: 'HTTP_GET',
    pos,
    urls: [{ path: '/', statusCodes: [], regexNoMatch: false, pos }],
    other: {},
  };
  const probes = Array.from({ length: concurrency }, () => {
    const r = createHttpProbe(checker, { address: '127.0.0.1', port: server.port, family: 4 });
    if (!r.ok) throw new Error(r.message);
    return r.probe;
  });
  const request = probes[0]!.requests[0]!;
  console.log(`HTTP_GET against a node server on 127.0.0.1, ${concurrency} in flight, ${seconds} s each`);
  // Warm-up, then alternate rounds so that both see the same machine load (this machine is shared).
  await measure(() => bareSocket(server.port, request));
  const sum = (a: Measure, b: Measure): Measure => ({
    checks: a.checks + b.checks,
    failures: a.failures + b.failures,
    wallS: a.wallS + b.wallS,
    cpuS: a.cpuS + b.cpuS,
  });
  let bareM: Measure = { checks: 0, failures: 0, wallS: 0, cpuS: 0 };
  let probeM: Measure = { ...bareM };
  for (let round = 0; round < rounds; round++) {
    bareM = sum(bareM, await measure(() => bareSocket(server.port, request)));
    probeM = sum(probeM, await measure((loop) => probes[loop]!.run(5_000_000).then((o) => o.ok)));
  }
  const bare = report('bare net.Socket per check', bareM);
  const probe = report('HttpProbe.run (HTTP_GET)', probeM);
  console.log(
    `probe / bare socket: ${(probe / bare).toFixed(2)} (reference: a bare socket ~8,000 per CPU-second)`,
  );
  for (const p of probes) p.close();
} finally {
  server.stop();
  ns.leave();
}
