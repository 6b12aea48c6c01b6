// A SIGUSR1 that comes while the daemon is still starting is answered once the VRRP runtime runs, as
// keepalived's VRRP process answers a signal once its start-up is done; it used to be dropped without a word,
// which is how the data-dump differential lost ours' dump on a loaded machine (docs/decisions/meaning-variants.md,
// 'Looking for the missing dumps'). The start-up is held open for seconds by an IPv6 instance on an interface
// without a link-local address (the runtime waits for one, then runs the instance in FAULT), and the signal is
// sent as soon as the pid file names the daemon.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidIn } from '../helpers/dump.js';
import { OURS_BIN } from '../helpers/keepalived-ref.js';
import { ip, isRoot, loneRouterNetns } from '../helpers/netns.js';

const cleanups: (() => void)[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
});

test('a SIGUSR1 during start-up is answered once the daemon runs', {
  skip: isRoot() ? false : 'needs root',
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-dump-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const h = loneRouterNetns('dstart', cleanups);
  // No IPv6 link-local on eth0, and none to come.
  ip('-n', h.ns, 'link', 'set', 'eth0', 'addrgenmode', 'none');
  ip('-n', h.ns, '-6', 'addr', 'flush', 'dev', 'eth0');
  const data = join(dir, 'keepalived.data');
  writeFileSync(
    join(dir, 'keepalived.conf'),
    `global_defs {
  state_dump_file ${data}
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 61
  priority 100
  virtual_ipaddress {
    2001:db8::61
  }
}
`,
  );
  const pidFile = join(dir, 'k.pid');
  const child = spawn(
    'ip',
    [
      ...['netns', 'exec', h.ns, process.execPath, OURS_BIN, '-n', '-l', '-P'],
      ...['-f', join(dir, 'keepalived.conf'), '-p', pidFile, '-r', join(dir, 'v.pid')],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let log = '';
  child.stdout?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  try {
    let pid: number | null = null;
    for (let k = 0; k < 300 && pid === null; k++) {
      await sleep(20);
      pid = pidIn(pidFile);
    }
    assert.ok(pid !== null, `no pid file:\n${log}`);
    process.kill(pid, 'SIGUSR1');
    // Still starting: no instance has entered a state yet (the runtime waits seconds for a link-local).
    assert.doesNotMatch(
      log,
      /Entering|entering/,
      'the signal came after the start-up; the test proves nothing',
    );
    // One signal only: the dump must come of it.
    for (let k = 0; k < 150 && !existsSync(data); k++) await sleep(100);
    assert.ok(existsSync(data), `no dump for a SIGUSR1 sent during start-up:\n${log}`);
    await sleep(300);
    assert.match(readFileSync(data, 'utf8'), /^ VRRP Instance = V6$/m);
    assert.match(log, /Printing VRRP data for process\(\d+\) on signal/);
  } finally {
    const p = pidIn(pidFile);
    if (p !== null) process.kill(p, 'SIGTERM');
    else child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
});
