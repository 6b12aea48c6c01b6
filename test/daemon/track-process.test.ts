// vrrp_track_process in a running daemon, against real processes: a copy of sleep(1) under a name unique to
// this run (so no other process on the machine counts). Weighted tracker: the priority drops while the
// process is gone and comes back with it; weight 0: FAULT while the quorum is not met, from startup on.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, jsonDumpLine, loneRouter, needsRoot, untilDumped } from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

test('track_process: weight moves the priority, weight 0 is a FAULT, both follow the process', {
  skip,
  timeout: 30_000,
}, async () => {
  const bin = mkdtempSync(join(tmpdir(), 'kats-trk-'));
  cleanups.push(() => rmSync(bin, { recursive: true, force: true }));
  const name = `kt${Math.random().toString(36).slice(2, 10)}`; // ≤ 15 characters: all of it is in comm
  const exe = join(bin, name);
  copyFileSync('/bin/sleep', exe);
  const running: ChildProcess[] = [];
  const startProcess = () => {
    const c = spawn(exe, ['600'], { stdio: 'ignore' });
    running.push(c);
    return c;
  };
  cleanups.push(() => {
    for (const c of running) c.kill('SIGKILL');
  });
  startProcess(); // up before the daemon starts

  const { r } = loneRouter(
    'dtp',
    'tp',
    (dir) => `
global_defs {
  ${jsonDumpLine(dir)}
}
vrrp_track_process weighted {
  process ${name}
  weight 30
}
vrrp_track_process pair {
  process ${name} 600
  quorum 2
}
${vrrpInstanceConf({ extra: 'track_process {\n    weighted\n    pair weight 0\n  }' })}`,
    cleanups,
  );
  // One process: 'weighted' is up (+30), 'pair' wants two: FAULT from the start.
  await r.waitFor(/VRRP_Track_Process\(pair\) down at startup: 1 matching/, 5000);
  await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 5000);
  const m = r.mark();
  const second = startProcess();
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, m);
  await untilDumped(r, (i) => i.data.effective_priority === 130, 3000, 'priority 100 + 30');
  // Both gone: FAULT again; then one back: still FAULT (quorum 2) but weighted up again.
  const m2 = r.mark();
  for (const c of running) c.kill('SIGKILL');
  await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, m2);
  await r.waitFor(/VRRP_Track_Process\(weighted\) down: 0 matching/, 3000, m2);
  startProcess();
  startProcess();
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, m2);
  await untilDumped(r, (i) => i.data.effective_priority === 130, 3000, 'priority 130 again');
  second.kill('SIGKILL');
});
