// The notify FIFO's lines at start, at a reload and at stop, in 2.2.7's order: at start the instances found
// faulty, then the sync groups, then the others; with fifo_write_vrrp_states_on_reload a reload restates
// each group and each instance that is not MASTER (a master that stays one is not: 2.2.7's vrrp_init_state);
// at stop every instance before the groups. The same scenario runs against the reference keepalived, so the
// expected lines are 2.2.7's.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, waitUntil } from './router.js';

const cleanups = cleanupAfter();

/** A sync group G of VI_1 and VI_3 (both MASTER), and VI_2 in FAULT (its tracked eth8 is down). */
function conf(dir: string, restate: boolean): string {
  return `global_defs {
  vrrp_notify_fifo ${join(dir, 'fifo')}
  ${restate ? 'fifo_write_vrrp_states_on_reload' : ''}
}
vrrp_sync_group G {
  group {
    VI_1
    VI_3
  }
}
${vrrpInstanceConf({ name: 'VI_1', vrid: 51, priority: 150 })}
${vrrpInstanceConf({ name: 'VI_3', vrid: 53, priority: 150, vips: ['192.0.2.103/24'] })}
${vrrpInstanceConf({ name: 'VI_2', vrid: 52, priority: 120, vips: ['192.0.2.101/24'], extra: 'track_interface {\n    eth8\n  }' })}`;
}

/** Only VI_2 at first (`added` false); the reload adds the group G of VI_1 and VI_3 (`added` true). */
function lonelyConf(dir: string, added: boolean): string {
  return `global_defs {
  vrrp_notify_fifo ${join(dir, 'fifo')}
}
${vrrpInstanceConf({ name: 'VI_2', vrid: 52, priority: 120, vips: ['192.0.2.101/24'] })}
${
  added
    ? `vrrp_sync_group G {
  group {
    VI_1
    VI_3
  }
}
${vrrpInstanceConf({ name: 'VI_1', vrid: 51, priority: 150 })}
${vrrpInstanceConf({ name: 'VI_3', vrid: 53, priority: 150, vips: ['192.0.2.103/24'] })}`
    : ''
}`;
}

async function fifoLines(
  impl: Impl,
  label: string,
  restate: boolean,
  addedByReload = false,
): Promise<{ start: string[]; reload: string[]; stop: string[] }> {
  const h = loneRouterNetns(label, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  ip('-n', h.ns, 'link', 'add', 'eth8', 'type', 'veth', 'peer', 'name', 'eth7');
  let out = '';
  let reader: ChildProcess | null = null;
  const r = startPeer(impl, `${label}r`, h.ns, (dir) => {
    const fifo = join(dir, 'fifo');
    out = join(dir, 'out');
    execFileSync('mkfifo', [fifo]);
    // keepalived closes and opens its FIFO again at a reload: a reader that opens it again after each EOF.
    reader = spawn('sh', ['-c', `while true; do cat ${fifo}; done >> ${out}`], {
      stdio: 'ignore',
      detached: true,
    });
    return addedByReload ? lonelyConf(dir, false) : conf(dir, restate);
  });
  cleanups.push(() => {
    if (reader?.pid) process.kill(-reader.pid, 'SIGKILL');
    r.removeDir();
  });
  const read = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
  if (!addedByReload) {
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await r.waitFor(/\(VI_3\) Entering MASTER STATE/, 8000);
    await waitUntil(() => read().includes('GROUP "G" MASTER 0'), 3000, 'the group MASTER line');
  } else await r.waitFor(/\(VI_2\) Entering MASTER STATE/, 8000);
  await new Promise((res) => setTimeout(res, 500));
  const before = read().length;
  if (addedByReload) writeFileSync(r.conf, lonelyConf(r.dir, true));
  const m = r.mark();
  r.proc.kill('SIGHUP');
  await r.waitFor(/Reload (finished|complete)/, 5000, m);
  await new Promise((res) => setTimeout(res, addedByReload ? 4500 : 1000));
  const reload = read().slice(before);
  const stopAt = read().length;
  await r.stop('SIGTERM', 8000);
  await waitUntil(() => read().length >= stopAt + 4, 3000, 'the STOP lines');
  return { start: read().slice(0, 4), reload, stop: read().slice(stopAt) };
}

for (const impl of ['ts', 'ka'] as const) {
  const skip = implSkip(impl);
  describe(`fifo_write_vrrp_states_on_reload (${implName(impl)})`, {
    skip,
  }, () => {
    test('with it: the group and the FAULT instance are restated, the masters are not', {
      timeout: 30_000,
    }, async () => {
      const lines = await fifoLines(impl, `fr${impl}y`, true);
      assert.deepEqual(lines.start, [
        'INSTANCE "VI_2" FAULT 120',
        'GROUP "G" BACKUP 0',
        'INSTANCE "VI_1" BACKUP 150',
        'INSTANCE "VI_3" BACKUP 150',
      ]);
      assert.deepEqual(lines.reload, ['GROUP "G" MASTER 0', 'INSTANCE "VI_2" FAULT 120']);
      assert.deepEqual(lines.stop, [
        'INSTANCE "VI_1" STOP 150',
        'INSTANCE "VI_3" STOP 150',
        'INSTANCE "VI_2" STOP 120',
        'GROUP "G" STOP 0',
      ]);
    });
    test('without it: a reload writes nothing', { timeout: 30_000 }, async () => {
      assert.deepEqual((await fifoLines(impl, `fr${impl}n`, false)).reload, []);
    });
    test('a sync group and its members added by a reload: the group first, as at a start', {
      timeout: 30_000,
    }, async () => {
      const lines = await fifoLines(impl, `fr${impl}a`, false, true);
      assert.deepEqual(lines.reload.slice(0, 3), [
        'GROUP "G" BACKUP 0',
        'INSTANCE "VI_1" BACKUP 150',
        'INSTANCE "VI_3" BACKUP 150',
      ]);
      // Then the members become MASTER together (in the order their timers ran), the group last.
      assert.deepEqual(lines.reload.slice(3, 5).sort(), [
        'INSTANCE "VI_1" MASTER 150',
        'INSTANCE "VI_3" MASTER 150',
      ]);
      assert.deepEqual(lines.reload.slice(5), ['GROUP "G" MASTER 0']);
    });
  });
}
