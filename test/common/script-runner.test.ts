// The one script runner (src/common/script-runner.ts) behind notify scripts, vrrp_script and MISC_CHECK: the
// environment keepalived gives scripts, the identity, an unknown user refused, and close() ending the group.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ownUser, ScriptRunner } from '../../src/common/script-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pos = { file: 't', line: 1 };

function exited(child: import('node:child_process').ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

test('scripts run without IFS, LD_PRELOAD and LD_LIBRARY_PATH, in a process group of their own', async () => {
  const out = join(dir, 'env');
  const runner = new ScriptRunner(undefined, { PATH: process.env.PATH, LD_PRELOAD: 'x.so', KEEP: 'kept' });
  const child = runner.start(
    ['/bin/sh', '-c', `echo "[$LD_PRELOAD] [$KEEP] $(ps -o pgid= $$)" > ${out}`],
    undefined,
  );
  assert.notEqual(typeof child, 'string', String(child));
  if (typeof child === 'string') return;
  assert.equal(await exited(child), 0);
  const [preload, keep, pgid] = readFileSync(out, 'utf8').trim().split(/\s+/);
  assert.equal(preload, '[]');
  assert.equal(keep, '[kept]');
  assert.equal(Number(pgid), child.pid, 'the script leads its own process group');
});

test('the script names its user; a block keyword overrides it; an unknown user is refused', () => {
  assert.deepEqual(ownUser({ argv: ['x'], user: 'nobody', pos }), { user: 'nobody' });
  assert.deepEqual(ownUser({ argv: ['x'], user: 'nobody', group: 'nogroup', pos }, { user: '0' }), {
    user: '0',
  });
  assert.equal(ownUser({ argv: ['x'], pos }), undefined);
  const r = new ScriptRunner({ user: 'no-such-user-kats' }).start(['/bin/true'], undefined);
  assert.equal(r, 'unknown script user no-such-user-kats');
});

test('close() ends what still runs; settle() resolves once nothing does', async () => {
  const runner = new ScriptRunner();
  const child = runner.start(['/bin/sh', '-c', 'sleep 30'], undefined);
  if (typeof child === 'string') assert.fail(child);
  const gone = exited(child);
  runner.close();
  await gone;
  assert.equal(child.signalCode, 'SIGTERM');
  const t0 = Date.now();
  await runner.settle(5000);
  assert.ok(Date.now() - t0 < 1000, 'nothing left to wait for');
});
