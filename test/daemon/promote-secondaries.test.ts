// promote_secondaries as keepalived 2.2.7 does it: net.ipv4.conf.eth0.promote_secondaries is 1 while the
// daemon runs (from start, whatever the state) and back to 0 after it stops. Both daemons, each in a lo+eth0
// namespace of its own, on the same configuration; the sysctl read inside each namespace.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// Read from /proc: sysctl(8) would take the dot of "vrrp.51" for a separator.
const sysctl = (ns: string, ifname: string) =>
  spawnSync('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/net/ipv4/conf/${ifname}/promote_secondaries`], {
    encoding: 'utf8',
  }).stdout.trim();

const instance = (
  name: string,
  ifname: string,
  vrid: number,
  vip: string,
  extra = '',
) => `vrrp_instance ${name} {
  interface ${ifname}
  virtual_router_id ${vrid}
  priority 100
  promote_secondaries
  ${extra}
  virtual_ipaddress {
    ${vip}/24
  }
}
`;

/** Runs both daemons, each in a lo+eth0+eth1 namespace of its own, on `conf`; `step` acts and reads. */
async function bothDaemons(
  conf: string,
  step: (r: { name: string; ns: string; pid: () => number }, file: string) => Promise<string>,
): Promise<{ name: string; seen: string; after: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kats-promote-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, conf);
  const daemons: [string, string[]][] = [
    ['keepalived', [REFERENCE_KEEPALIVED, '-c', join(dir, 'rc.pid')]],
    ['keepalived-ts', [process.execPath, OURS_BIN]],
  ];
  const runs = daemons.map(([name, cmd], k) => {
    const ns = loneRouterNetns(`dpr${k}`, cleanups).ns;
    spawnSync('ip', ['-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth2']);
    spawnSync('ip', ['-n', ns, 'link', 'set', 'eth1', 'up']);
    spawnSync('ip', ['-n', ns, 'link', 'set', 'eth2', 'up']);
    spawnSync('ip', ['-n', ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1']);
    const pidFile = join(dir, `${k}.pid`);
    const argv = [...cmd, '-n', '-l', '-f', file, '-p', pidFile, '-r', join(dir, `${k}v.pid`)];
    const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise((r) => child.once('exit', r));
    const pid = () => Number(readFileSync(pidFile, 'utf8'));
    return { name, ns, child, exited, pid };
  });
  await sleep(1500);
  const seen = await Promise.all(runs.map((r) => step(r, file)));
  for (const r of runs) r.child.kill('SIGTERM');
  await Promise.all(runs.map((r) => Promise.race([r.exited, sleep(5000)])));
  return runs.map((r, k) => ({
    name: r.name,
    seen: seen[k]!,
    after: `eth0 ${sysctl(r.ns, 'eth0')} eth1 ${sysctl(r.ns, 'eth1')}`,
  }));
}

// keepalived 2.2.7 leaves the flag of the removed instance's interface at 1, at stop too.
test('a reload sets the flag for the instances it adds and leaves it on those it removes, as keepalived', {
  skip,
}, async () => {
  const first = instance('VI_1', 'eth0', 51, '192.0.2.51');
  const second = instance('VI_2', 'eth1', 52, '198.51.100.52');
  /** Waits (at most 10 s) for `iface`'s flag to read 1: a loaded machine may take longer to start or reload. */
  const flagSet = async (ns: string, iface: string) => {
    for (let i = 0; i < 100 && sysctl(ns, iface) !== '1'; i++) await sleep(100);
  };
  const res = await bothDaemons(first, async (r, file) => {
    await flagSet(r.ns, 'eth0');
    const before = `eth0 ${sysctl(r.ns, 'eth0')} eth1 ${sysctl(r.ns, 'eth1')}`;
    // The same file for both daemons: written before either reloads (the same text twice).
    writeFileSync(file, second);
    process.kill(r.pid(), 'SIGHUP');
    await flagSet(r.ns, 'eth1');
    await sleep(500);
    return `${before} | reload: eth0 ${sysctl(r.ns, 'eth0')} eth1 ${sysctl(r.ns, 'eth1')}`;
  });
  assert.deepEqual(
    res.map((r) => `${r.name}: ${r.seen} | stopped: ${r.after}`),
    ['keepalived', 'keepalived-ts'].map(
      (n) => `${n}: eth0 1 eth1 0 | reload: eth0 1 eth1 1 | stopped: eth0 1 eth1 0`,
    ),
  );
});

test('use_vmac: the flag is on the VMAC, the parent interface keeps its own, as keepalived', {
  skip,
}, async () => {
  const res = await bothDaemons(instance('VI_1', 'eth0', 51, '192.0.2.51', 'use_vmac vrrp.51'), async (r) => {
    return `eth0 ${sysctl(r.ns, 'eth0')} vrrp.51 ${sysctl(r.ns, 'vrrp.51')}`;
  });
  assert.deepEqual(
    res.map((r) => `${r.name}: ${r.seen} | stopped: ${r.after}`),
    ['keepalived', 'keepalived-ts'].map((n) => `${n}: eth0 0 vrrp.51 1 | stopped: eth0 0 eth1 0`),
  );
});

test('use_vmac: -t reports promote_secondaries as keepalived does (the same line, the same status)', {
  skip,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-promote-t-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, instance('VI_1', 'eth0', 51, '192.0.2.51', 'use_vmac vrrp.51'));
  const ns = loneRouterNetns('dpt', cleanups).ns;
  const t = (cmd: string[]) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd, '-t', '-f', file], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    return {
      status: r.status,
      said: `${r.stdout}${r.stderr}`.includes(
        '(VI_1) promote_secondaries is automatically set for vmacs - ignoring',
      ),
    };
  };
  assert.deepEqual(t([process.execPath, OURS_BIN]), t([REFERENCE_KEEPALIVED]));
  assert.equal(t([process.execPath, OURS_BIN]).said, true);
});
