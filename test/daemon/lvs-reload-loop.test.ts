// keepalived-ts reloaded again and again while it balances traffic: the LVS-NAT set-up of lvs-nat.test.ts
// (VRRP-held VIP, rr over three real servers checked by TCP_CHECK), SIGHUP sent 1,000 times in a loop
// while a client keeps requesting the VIP. Every real server stays healthy, so no request may fail: a
// reload applies only differences (here none) and never takes the service down. Signals arriving while a
// reload runs are merged, so fewer reloads than signals run; many must have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counts, untilServed } from '../lvs/lab.js';
import { natDaemonConf, natDaemonLab } from './lvs-daemon-lab.js';
import { needsRoot, Router } from './router.js';

const skip = needsRoot();

const conf = natDaemonConf({ vrid: 62, retry: 1 });

const nat = natDaemonLab(skip);

test('1,000 SIGHUPs under traffic: no request fails, the daemon keeps reloading and serving', {
  skip,
  timeout: 60_000,
}, async () => {
  const d = new Router('dir', nat.lab.director, conf);
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await untilServed(() => nat.lab.clientRun({ count: 1 }));
  const mark = d.mark();
  const traffic = nat.lab.clientRun({ durationMs: 12_000, concurrency: 4 });
  const pid = d.proc.pid as number;
  for (let k = 0; k < 1000; k++) {
    process.kill(pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 10));
  }
  const res = await traffic;
  const reloads = d.grep(/Reloading \(SIGHUP\)/, mark).length;
  assert.ok(d.running, 'the daemon is still running');
  assert.equal(
    res.errors,
    0,
    `${res.errors} of ${res.names.length + res.errors} requests failed: ${res.errs.join()}`,
  );
  assert.ok(reloads >= 50, `only ${reloads} reloads ran`);
  // Still rr over all three after the storm.
  const r = await nat.lab.clientRun({ count: 30 });
  assert.equal(r.errors, 0, r.errs.join());
  assert.deepEqual(counts(r.names), { rs1: 10, rs2: 10, rs3: 10 });
  assert.equal(d.lastState(), 'MASTER');
  assert.equal(await d.stop('SIGTERM', 10_000), 0);
});
