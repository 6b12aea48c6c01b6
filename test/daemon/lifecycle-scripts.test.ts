// global_defs startup_script and shutdown_script (src/daemon/lifecycle-scripts.ts): the startup script runs
// before VRRP starts and is waited for up to its timeout (then killed), the shutdown script after everything
// has stopped; the log says how each ended. The same scenarios run against the reference keepalived, so the
// expectations are keepalived 2.2.7's behaviour and its log lines.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loneRouterNetns } from '../helpers/netns.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { daemonConf } from './conf.js';
import { cleanupAfter, waitUntil } from './router.js';

const cleanups = cleanupAfter();

/** A router whose startup script is `startBody` (timeout 1 s) and whose shutdown script records its run. */
function router(impl: Impl, label: string, startBody: (trace: string) => string) {
  const h = loneRouterNetns(label, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  const r = startPeer(impl, `${label}r`, h.ns, (dir) => {
    const trace = join(dir, 'trace');
    const start = join(dir, 'start.sh');
    writeFileSync(start, `#!/bin/sh\necho "start $*" >> ${trace}\n${startBody(trace)}\n`);
    const stop = join(dir, 'stop.sh');
    writeFileSync(stop, `#!/bin/sh\necho "stop $*" >> ${trace}\n`);
    chmodSync(start, 0o755);
    chmodSync(stop, 0o755);
    return daemonConf(
      [
        'enable_script_security',
        'script_user root',
        `startup_script "${start} a b"`,
        'startup_script_timeout 1',
        `shutdown_script ${stop}`,
      ].join('\n  '),
    );
  });
  cleanups.push(() => r.removeDir());
  return r;
}

const trace = (dir: string) =>
  existsSync(join(dir, 'trace')) ? readFileSync(join(dir, 'trace'), 'utf8').trim().split('\n') : [];

for (const impl of ['ts', 'ka'] as const) {
  const skip = implSkip(impl);
  describe(`startup and shutdown scripts (${implName(impl)})`, {
    skip,
  }, () => {
    test('a startup script that outlives its timeout is killed, VRRP starts after it; shutdown runs last', {
      timeout: 30_000,
    }, async () => {
      const r = router(impl, `ls${impl}t`, (t) => `sleep 3\necho start-done >> ${t}`);
      const running = await r.waitFor(/Running startup script .*\/start\.sh$/, 8000);
      const timedOut = await r.waitFor(/startup script timed out/, 8000);
      const backup = await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
      assert.ok(r.lines.indexOf(timedOut) < r.lines.indexOf(backup), r.log());
      assert.ok(timedOut.rxMs - running.rxMs >= 900, `waited ${timedOut.rxMs - running.rxMs} ms`);
      await new Promise((res) => setTimeout(res, 3000));
      assert.deepEqual(trace(r.dir), ['start a b'], 'killed at its timeout: it never wrote start-done');
      const from = r.mark();
      await r.stop('SIGTERM', 8000);
      const stopped = r.grep(/Stopped/, from);
      const shutdown = r.grep(/Running shutdown script .*\/stop\.sh$/, from);
      assert.equal(shutdown.length, 1, r.log());
      assert.ok(r.lines.indexOf(stopped[0]!) < r.lines.indexOf(shutdown[0]!), 'after everything stopped');
      assert.equal(r.grep(/shutdown script script succeeded/, from).length, 1, r.log());
      assert.deepEqual(trace(r.dir), ['start a b', 'stop']);
    });

    if (impl === 'ts')
      test('a stop while the startup script runs ends it and the daemon; the shutdown script still runs', {
        timeout: 20_000,
      }, async () => {
        const r = router(impl, `ls${impl}c`, (t) => `sleep 8\necho start-done >> ${t}`);
        await r.waitFor(/Running startup script/, 8000);
        await new Promise((res) => setTimeout(res, 500));
        const t0 = Date.now();
        await r.stop('SIGTERM', 8000);
        assert.ok(Date.now() - t0 < 3000, 'without waiting for the script to end');
        assert.equal(r.exitCode, 0, r.log());
        assert.equal(r.grep(/startup script cut short/).length, 1, r.log());
        assert.equal(r.grep(/Entering (BACKUP|MASTER) STATE/).length, 0, 'VRRP never started');
        await waitUntil(() => trace(r.dir).includes('stop'), 3000, 'the shutdown script ran');
        assert.ok(!trace(r.dir).includes('start-done'), r.log());
      });

    test('a startup script that fails: its status is logged and VRRP starts anyway', {
      timeout: 20_000,
    }, async () => {
      const r = router(impl, `ls${impl}f`, () => 'exit 3');
      await r.waitFor(/startup script script failed, status 3/, 8000);
      await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
      await r.stop('SIGTERM', 8000);
      await waitUntil(() => trace(r.dir).includes('stop'), 3000, 'the shutdown script ran');
    });
  });
}
