// The checker process (which programs the data plane) SIGKILLed again and again under LVS-NAT traffic
// (lvs-nat.test.ts's set-up): the kernel's table stays as the dead checker left it, so traffic to the
// healthy real servers never stops; the respawned checker takes over the table once its checks have
// re-converged, and then follows verdicts again (a real server stopped afterwards leaves the pool).
// Killing inside a transaction is covered by test/lvs/bad-things.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { counts, untilServed } from '../lvs/lab.js';
import { natDaemonConf, natDaemonLab } from './lvs-daemon-lab.js';
import { needsRoot, Router } from './router.js';

const skip = needsRoot();

const conf = natDaemonConf({ vrid: 63, retry: 0 });

const nat = natDaemonLab(skip);

test('checker SIGKILLed three times under traffic: no request fails, the respawned checker re-converges', {
  skip,
  timeout: 90_000,
}, async () => {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'kats-lvskill-')), 'checkers.pid');
  const d = new Router('dir', nat.lab.director, conf, { extraArgs: ['-c', pidFile] });
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await untilServed(() => nat.lab.clientRun({ count: 1 }));
  const traffic = nat.lab.clientRun({ durationMs: 15_000, concurrency: 4 });
  const t0 = Date.now();
  let kills = 0;
  while (kills < 3 && Date.now() - t0 < 12_000) {
    const mark = d.mark();
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    kills++;
    await d.waitFor(/Healthcheck child process\(\d+\) died/, 5000, mark);
    await d.waitFor(/Starting Healthcheck child process, pid=/, 10_000, mark + 1);
    // Give the new one a moment to be mid-way through its start before the next kill.
    await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 700)));
  }
  const res = await traffic;
  assert.ok(kills >= 2, `only ${kills} kills`);
  assert.equal(res.errors, 0, `${res.errors} requests failed: ${res.errs.join()}`);
  assert.ok(res.names.length > 50, `${res.names.length} requests`);
  // The last checker re-converges and follows a verdict: rs2 stops and leaves the pool.
  const mark = d.mark();
  await nat.lab.stopReal(1);
  await d.waitFor(/Removing service \[192\.0\.2\.12\]:tcp:8080 from VS/, 15_000, mark);
  let r = await nat.lab.clientRun({ count: 1 });
  for (let k = 0; k < 50 && (r.errors > 0 || r.names.includes('rs2')); k++) {
    await new Promise((res) => setTimeout(res, 200));
    r = await nat.lab.clientRun({ count: 1 });
  }
  r = await nat.lab.clientRun({ count: 20 });
  assert.equal(r.errors, 0, r.errs.join());
  assert.deepEqual(counts(r.names), { rs1: 10, rs3: 10 });
  assert.equal(await d.stop('SIGTERM', 10_000), 0);
});
