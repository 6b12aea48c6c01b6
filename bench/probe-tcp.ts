// TCP_CHECK cost: TCP checks per CPU-second of this (checker) process against a local server, at a steady
// rate spread over each millisecond, beside the same schedule done with a plain node:net socket per check.
// Runs inside a throwaway namespace this process enters (setns); the server is a child process there, so
// its accept() work is not counted. Targets are spread over 1,000 loopback addresses (127.0.x.y).
// Usage (root): node --import tsx bench/probe-tcp.ts [checks-per-second=10000] [seconds=3]
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { ProbeOutcome } from '../src/check/probe.js';
import { TcpProbe } from '../src/check/probes/tcp.js';
import { enterLab } from '../test/check/probes/lab.js';

const rate = Number(process.argv[2] ?? 10000);
const seconds = Number(process.argv[3] ?? 3);
const PORT = 18080;
const TARGETS = 1000;

const SERVER = `
const net = require('node:net');
const s = net.createServer({ noDelay: true }, (c) => { c.on('error', () => {}); c.destroy(); });
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.listen({ port: ${PORT}, host: '0.0.0.0', backlog: 4096 }, () => console.log('ready'));
`;

type Check = () => Promise<ProbeOutcome>;

function nodeNetCheck(address: string): Check {
  return () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const s = net.connect({ host: address, port: PORT });
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ ok: false, latencyUs: 0, code: 'timeout', reason: 'timeout' });
      }, 2000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.destroy();
        resolve({ ok: true, latencyUs: Math.round((performance.now() - t0) * 1000) });
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        resolve({ ok: false, latencyUs: 0, code: 'error', reason: e.message });
      });
    });
}

async function measure(label: string, checks: Check[]): Promise<void> {
  const total = rate * seconds;
  let started = 0;
  let done = 0;
  let ok = 0;
  const lat: number[] = [];
  const codes = new Map<string, number>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((finish) => {
    const tick = setInterval(() => {
      // Start whatever the schedule says is due by now (the interval is coarse; this keeps the rate).
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; started < due; started++) {
        checks[started % checks.length]!().then((r) => {
          done++;
          if (r.ok) {
            ok++;
            lat.push(r.latencyUs);
          } else codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
          if (done === total) {
            clearInterval(tick);
            finish();
          }
        });
      }
    }, 1);
  });
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  lat.sort((a, b) => a - b);
  const p99 = lat[Math.floor(lat.length * 0.99)] ?? 0;
  console.log(
    `${label.padEnd(22)} ${done} checks (${ok} up) in ${wallS.toFixed(2)} s: ` +
      `${(done / cpuS).toFixed(0)} checks per CPU-second (user ${(cpu.user / done).toFixed(1)} µs + ` +
      `system ${(cpu.system / done).toFixed(1)} µs per check), ${((cpuS / wallS) * 100).toFixed(0)} % of a core ` +
      `at ${rate}/s, p99 latency ${(p99 / 1000).toFixed(2)} ms` +
      (codes.size ? `; failures ${JSON.stringify(Object.fromEntries(codes))}` : ''),
  );
}

const lab = enterLab('btcp');
const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const addrs = Array.from(
    { length: TARGETS },
    (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
  );
  const probes = addrs.map((a) => new TcpProbe({ address: a, port: PORT, family: 4 }));
  const lean: Check[] = probes.map((p) => () => p.run(2_000_000));
  console.log(`TCP_CHECK bench: ${rate} checks/s for ${seconds} s over ${TARGETS} loopback targets`);
  await measure('warm-up (probe)', lean.slice(0, 100));
  await measure('TcpProbe (koffi)', lean);
  await measure('node:net per check', addrs.map(nodeNetCheck));
  await measure('TcpProbe (koffi) again', lean);
  for (const p of probes) p.close();
} finally {
  server.kill('SIGKILL');
  lab.leave();
}
