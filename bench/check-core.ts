// Checker core throughput, the core alone: 10,000 real servers (100 virtual servers × 100, half HTTP_GET, half
// TCP_CHECK, delay_loop 1 s), fake outcomes (0.5 % failures, so retries, verdicts and quorum run too), one
// virtual minute. Prints core events per wall second (timer firings + results) and µs of CPU per check; the
// checker process's budget is 10,000 checks a second in well under a core.
// Run: node --import tsx bench/check-core.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CheckerCore } from '../src/check/core/core.js';
import type { ProbeOutcome } from '../src/check/probe.js';
import { loadConfig } from '../src/config/load.js';
import { Prng } from '../src/sim/prng.js';

const VS = 100;
const RS_PER_VS = 100;
const SECONDS = 60;

function configText(): string {
  const parts: string[] = [];
  for (let v = 0; v < VS; v++) {
    parts.push(`virtual_server 192.0.2.${v + 1} 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP`);
    for (let r = 0; r < RS_PER_VS; r++) {
      const n = v * RS_PER_VS + r;
      const check =
        n % 2 === 0 ? 'HTTP_GET {\n      url {\n        path /health\n      }\n    }' : 'TCP_CHECK {\n    }';
      parts.push(`  real_server 127.0.${(n >> 8) & 255}.${n & 255} 8080 {\n    ${check}\n  }`);
    }
    parts.push('}');
  }
  return parts.join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'kats-bench-check-'));
const file = join(dir, 'keepalived.conf');
writeFileSync(file, configText());
let t0 = performance.now();
const { config } = loadConfig(file, { configId: 'bench', env: {} });
rmSync(dir, { recursive: true, force: true });
const parseMs = performance.now() - t0;

t0 = performance.now();
const core = new CheckerCore(config, { seed: 1 });
core.start(0);
const buildMs = performance.now() - t0;

const rng = new Prng(42);
const okOutcome: ProbeOutcome = { ok: true, latencyUs: 800 };
const failOutcome: ProbeOutcome = {
  ok: false,
  latencyUs: 500,
  code: 'refused',
  reason: 'connection refused',
};
let events = 0;
let checks = 0;
let actions = 0;
const end = SECONDS * 1_000_000;
const heapBefore = process.memoryUsage().heapUsed;
const cpu0 = process.cpuUsage();
t0 = performance.now();
for (;;) {
  const at = core.nextDeadline();
  if (at === null || at > end) break;
  const out = core.timer(at);
  events++;
  actions += out.length;
  for (const a of out) {
    if (a.type !== 'runProbe') continue;
    checks++;
    const res = core.probeResult(a.probeId, rng.chance(0.005) ? failOutcome : okOutcome, at);
    events++;
    actions += res.length;
  }
}
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const live = core.snapshot().reduce((a, v) => a + v.live.length, 0);

console.log(`checker core: ${VS * RS_PER_VS} real servers, ${SECONDS} virtual seconds, delay_loop 1 s`);
console.log(`  parse ${parseMs.toFixed(0)} ms, build + start ${buildMs.toFixed(0)} ms`);
console.log(
  `  ${checks} checks, ${events} events, ${actions} actions out, ${live} real servers live at the end`,
);
console.log(`  wall ${wallMs.toFixed(0)} ms, CPU ${cpuMs.toFixed(0)} ms`);
console.log(
  `  ${Math.round(events / (wallMs / 1000)).toLocaleString('en')} events per wall second, ${Math.round(events / (cpuMs / 1000)).toLocaleString('en')} per CPU-second`,
);
console.log(`  ${Math.round(checks / (cpuMs / 1000)).toLocaleString('en')} checks per CPU-second`);
const usPerCheck = (cpuMs * 1000) / checks;
// 10,000 checks a second cost 10,000 × usPerCheck µs of each second: usPerCheck per cent of a core.
console.log(
  `  ${usPerCheck.toFixed(2)} µs of CPU per check: 10,000 checks/s take ${usPerCheck.toFixed(2)} % of a core`,
);
console.log(
  `  heap growth during the run ${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(1)} MB`,
);
