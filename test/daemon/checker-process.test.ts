// The checker subsystem as keepalived runs it: a child process of its own, started only when a
// virtual_server is configured (not with -P), its pid in the -c file. Its TCP_CHECKs take a real server
// that stops answering out of service and put it back when it answers again; killed outright, it is
// respawned while the VRRP master keeps advertising on time; SIGTERM stops both.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isRoot } from '../helpers/netns.js';
import { RouterLabs } from '../helpers/router-lab.js';
import { tcpdumpInstalled, VrrpCapture } from '../interop/capture.js';
import { vrrpInstanceConf } from './conf.js';
import { Router } from './router.js';

const skip = !isRoot()
  ? 'needs root for network namespaces'
  : !tcpdumpInstalled()
    ? 'tcpdump not installed'
    : false;
const labs = new RouterLabs();

const conf = `${vrrpInstanceConf({ priority: 150 })}virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 8080 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 192.0.2.1 8081 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`;

/** A TCP server on 192.0.2.1:`port` inside `ns` (a real server for the checks). */
async function listen(ns: string, port: number): Promise<ChildProcess> {
  const code = `require('node:net').createServer((s) => s.end()).listen(${port}, '192.0.2.1', () => console.log('up'))`;
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  labs.procs.push(p);
  await new Promise<void>((res) => p.stdout!.once('data', () => res()));
  return p;
}

const childPid = (r: Router, from = 0) =>
  Number(
    /Starting Healthcheck child process, pid=(\d+)/.exec(r.grep(/pid=\d+/, from).at(-1)?.text ?? '')?.[1],
  );

test('checker child: real servers leave and rejoin, a killed child is respawned, VRRP keeps its adverts', {
  skip,
  timeout: 60_000,
}, async () => {
  const { a: ns, b: peer } = labs.open('chk', { a: '192.0.2.1/24', b: null });
  await listen(ns, 8080);
  const cap = new VrrpCapture(peer, 'eth0');
  await cap.ready();
  const pidFile = `/tmp/kats-chk-${process.pid}.pid`;
  const d = new Router('a', ns, conf, { extraArgs: ['-c', pidFile] });
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  const first = childPid(d);
  assert.ok(first > 0, d.log());
  await d.waitFor(/Removing service \[192\.0\.2\.1\]:tcp:8081 from VS \[192\.0\.2\.100\]:tcp:80/, 10_000);
  assert.equal(Number(readFileSync(pidFile, 'utf8')), first, '-c names the checker process');
  assert.equal(d.grep(/Removing service \[192\.0\.2\.1\]:tcp:8080/).length, 0, 'the answering server stays');
  // The server comes back: so does the service.
  const mark = d.mark();
  await listen(ns, 8081);
  await d.waitFor(/Adding service \[192\.0\.2\.1\]:tcp:8081 to VS \[192\.0\.2\.100\]:tcp:80/, 10_000, mark);
  // Killed outright: respawned, and the VRRP side never notices.
  const t0 = Date.now();
  process.kill(first, 'SIGKILL');
  await d.waitFor(/Healthcheck child process\(\d+\) died \(signal SIGKILL\): Respawning/, 5000);
  for (let k = 0; k < 50 && !(childPid(d) !== first && existsSync(pidFile)); k++)
    await new Promise((res) => setTimeout(res, 100));
  const second = childPid(d);
  assert.notEqual(second, first);
  assert.equal(Number(readFileSync(pidFile, 'utf8')), second, '-c names the new checker process');
  await new Promise((res) => setTimeout(res, 1500));
  const times = cap.adverts.filter((a) => a.src === '192.0.2.1' && a.atMs >= t0 - 500).map((a) => a.atMs);
  assert.ok(times.length > 10, 'adverts seen');
  const gap = Math.max(...times.slice(1).map((t, k) => t - times[k]!));
  assert.ok(gap < 250, `longest advert gap ${gap} ms around the checker's death`);
  assert.equal(d.grep(/Entering (BACKUP|FAULT) STATE/).length, 1, 'only the initial BACKUP');
  // SIGTERM: both go, the pid file with them.
  assert.equal(await d.stop('SIGTERM', 10_000), 0);
  cap.stop();
  assert.throws(() => process.kill(second, 0), 'the checker process is gone');
  assert.equal(existsSync(pidFile), false);
});

test('no checker process without a virtual_server, nor with -P', { skip, timeout: 30_000 }, async () => {
  const { a: ns } = labs.open('chk0', { a: '192.0.2.1/24' });
  const vrrpOnly = conf.slice(0, conf.indexOf('virtual_server'));
  for (const [text, args] of [
    [vrrpOnly, []],
    [conf, ['-P']],
  ] as const) {
    const d = new Router('a', ns, text, { extraArgs: [...args] });
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(d.grep(/Healthcheck/).length, 0, d.log());
    assert.equal(await d.stop('SIGTERM', 5000), 0);
  }
});
