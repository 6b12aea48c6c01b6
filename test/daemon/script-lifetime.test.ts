// Notify scripts end with the daemon, as keepalived's do (PR_SET_PDEATHSIG SIGTERM, man5 "SCRIPTS": "Scripts
// will be sent SIGTERM if their parent terminates"), and a notify_stop script still gets to finish. The same
// scenarios run against the reference keepalived, so the expectation is keepalived's behaviour, not ours.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loneRouterNetns } from '../helpers/netns.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { daemonConf } from './conf.js';
import { cleanupAfter, type Router, waitUntil } from './router.js';

const cleanups = cleanupAfter();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie has exited; only its parent has not reaped it yet.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A router whose notify_master records its pid and then waits a minute, and whose notify_stop takes 0.3 s
 * before it writes `stop-done`.
 */
function scriptedRouter(impl: Impl, label: string) {
  const h = loneRouterNetns(label, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  const r = startPeer(impl, `${label}r`, h.ns, (dir) => {
    const master = join(dir, 'master.sh');
    writeFileSync(master, `#!/bin/sh\necho $$ > ${join(dir, 'master.pid')}\nexec sleep 60\n`);
    const stop = join(dir, 'stop.sh');
    writeFileSync(stop, `#!/bin/sh\nsleep 0.3\necho done > ${join(dir, 'stop-done')}\n`);
    chmodSync(master, 0o755);
    chmodSync(stop, 0o755);
    return daemonConf('', { extra: `notify_master ${master}\n  notify_stop ${stop}` });
  });
  cleanups.push(() => r.removeDir());
  return r;
}

async function masterScriptPid(dir: string): Promise<number> {
  const file = join(dir, 'master.pid');
  await waitUntil(
    () => existsSync(file) && readFileSync(file, 'utf8').trim() !== '',
    8000,
    'notify_master ran',
  );
  const pid = Number(readFileSync(file, 'utf8').trim());
  assert.ok(alive(pid), 'the notify_master script is running');
  return pid;
}

/** A router of `impl` that is MASTER, and the pid of its still-running notify_master script. */
async function masterWithScript(impl: Impl, label: string): Promise<{ r: Router; pid: number }> {
  const r = scriptedRouter(impl, label);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  return { r, pid: await masterScriptPid(r.dir) };
}

for (const impl of ['ts', 'ka'] as const) {
  const skip = implSkip(impl);
  describe(`notify scripts and the daemon's end (${implName(impl)})`, {
    skip,
  }, () => {
    test('SIGTERM: notify_stop finishes, a still-running notify script is ended', {
      timeout: 25_000,
    }, async () => {
      const { r, pid } = await masterWithScript(impl, `sl${impl}t`);
      await r.stop('SIGTERM', 8000);
      await waitUntil(() => existsSync(join(r.dir, 'stop-done')), 3000, 'notify_stop finished');
      await waitUntil(() => !alive(pid), 3000, 'the notify_master script ended');
    });

    if (impl === 'ts')
      test('SIGKILL: the kernel ends a running notify script (parent-death signal)', {
        timeout: 25_000,
      }, async () => {
        const { r, pid } = await masterWithScript(impl, `sl${impl}k`);
        r.kill();
        await r.exited();
        await waitUntil(() => !alive(pid), 3000, 'the notify_master script ended');
      });
  });
}
