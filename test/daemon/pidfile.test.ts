// Pid files (src/daemon/pidfile.ts): a live keepalived blocks a second start; a stale pid — dead, or since
// reused by another program — does not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removePidFiles, runningPid, writePidFiles } from '../../src/daemon/pidfile.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-pidfile-'));

test('a pid file naming a running keepalived refuses the start; one naming another program is stale', async () => {
  // exec -a sets argv[0]: a process that reads as keepalived in /proc/PID/cmdline.
  const ka = spawn('bash', ['-c', 'exec -a keepalived-ts sleep 30'], { stdio: 'ignore' });
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const f = join(dir, 'a.pid');
    writeFileSync(f, `${ka.pid}\n`);
    assert.equal(runningPid(f), ka.pid);
    const r = writePidFiles([f]);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /already running \(pid \d+ in .*a\.pid\)/);

    writeFileSync(f, `${other.pid}\n`);
    assert.equal(runningPid(f), null);
    assert.deepEqual(writePidFiles([f]), { ok: true });
    assert.equal(readFileSync(f, 'utf8'), `${process.pid}\n`);
    removePidFiles([f]);
    assert.equal(runningPid(f), null);
  } finally {
    ka.kill();
    other.kill();
  }
});

test('a dead pid or garbage in the pid file is stale', () => {
  const f = join(dir, 'b.pid');
  writeFileSync(f, '999999999\n');
  assert.equal(runningPid(f), null);
  writeFileSync(f, 'not a pid\n');
  assert.equal(runningPid(f), null);
  assert.deepEqual(writePidFiles([f]), { ok: true });
});
