// promote_secondaries as keepalived 2.2.7 does it: net.ipv4.conf.eth0.promote_secondaries is 1 while the
// daemon runs (from start, whatever the state) and back to 0 after it stops. Both daemons, each in a lo+eth0
// namespace of its own, on the same configuration; the sysctl read inside each namespace.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { OURS_BIN, REFERENCE_KEEPALIVED, referenceAvailable } from '../helpers/keepalived-ref.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';

const skip = !isRoot() ? 'needs root' : !referenceAvailable() ? 'keepalived not installed' : false;
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

const CONF = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  promote_secondaries
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const flag = (ns: string) =>
  spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.conf.eth0.promote_secondaries'], {
    encoding: 'utf8',
  }).stdout.trim();

test('promote_secondaries is set while running and put back on stop, as keepalived does', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-promote-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, CONF);
  const daemons: [string, string[]][] = [
    ['keepalived', [REFERENCE_KEEPALIVED, '-c', join(dir, 'rc.pid')]],
    ['keepalived-ts', [process.execPath, OURS_BIN]],
  ];
  const runs = daemons.map(([name, cmd], k) => {
    const ns = loneRouterNetns(`dps${k}`, cleanups).ns;
    const before = flag(ns);
    const argv = [...cmd, '-n', '-l', '-f', conf, '-p', join(dir, `${k}.pid`), '-r', join(dir, `${k}v.pid`)];
    const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise((r) => child.once('exit', r));
    return { name, ns, before, child, exited };
  });
  // Still BACKUP after 1.5 s (the master down timer is over 3 s): keepalived sets it at start.
  await sleep(1500);
  const running = runs.map((r) => `${r.name} ${r.before}→${flag(r.ns)}`);
  for (const r of runs) r.child.kill('SIGTERM');
  await Promise.all(runs.map((r) => Promise.race([r.exited, sleep(5000)])));
  const stopped = runs.map((r) => `${r.name} ${flag(r.ns)}`);
  assert.deepEqual(running, ['keepalived 0→1', 'keepalived-ts 0→1']);
  assert.deepEqual(stopped, ['keepalived 0', 'keepalived-ts 0']);
});
