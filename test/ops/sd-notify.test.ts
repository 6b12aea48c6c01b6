// sd_notify (src/daemon/sd-notify.ts) against a listening AF_UNIX datagram socket, as systemd's NOTIFY_SOCKET:
// the address encoding, a notifier in this process sending to an abstract socket, and a real daemon in a
// namespace reporting READY=1, watchdog pings, RELOADING=1/READY=1 around SIGHUP and STOPPING=1 on SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serviceNotifier, sockaddrUn, watchdogIntervalMs } from '../../src/daemon/sd-notify.js';
import { daemonConf } from '../daemon/conf.js';
import { cleanupAfter, Router } from '../daemon/router.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';
import { NotifyListener } from './notify-listener.js';

const cleanups = cleanupAfter();
/** The listener is a python3 script (Node has no AF_UNIX datagram socket). */
const noPython =
  spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'python3 not installed';
const daemonSkip = isRoot() ? noPython : 'needs root for network namespaces';

const quiet = { info: () => {}, warn: (m: string) => assert.fail(`unexpected warning: ${m}`) };

test('sockaddr_un: a path is NUL-terminated, @name is abstract (leading NUL, no terminator)', () => {
  const p = sockaddrUn('/run/systemd/notify');
  assert.ok(p.ok);
  assert.deepEqual([...p.addr.slice(0, 2)], [1, 0], 'AF_UNIX, little-endian');
  assert.equal(Buffer.from(p.addr.slice(2)).toString('latin1'), '/run/systemd/notify\0');
  const a = sockaddrUn('@sd/x');
  assert.ok(a.ok);
  assert.equal(Buffer.from(a.addr.slice(2)).toString('latin1'), '\0sd/x');
  const long = sockaddrUn(`/${'x'.repeat(107)}`);
  assert.equal(long.ok, false);
  assert.equal(sockaddrUn('relative/path').ok, false);
});

test('watchdog interval: half of WATCHDOG_USEC, only for the pid WATCHDOG_PID names', () => {
  assert.equal(watchdogIntervalMs('5000000', undefined, 10), 2500);
  assert.equal(watchdogIntervalMs('5000000', '10', 10), 2500);
  assert.equal(watchdogIntervalMs('5000000', '11', 10), null);
  assert.equal(watchdogIntervalMs('0', undefined, 10), null);
  assert.equal(watchdogIntervalMs(undefined, undefined, 10), null);
  assert.equal(watchdogIntervalMs('junk', undefined, 10), null);
});

test('a notifier sends to an abstract socket, and takes the variables out of the environment', {
  skip: noPython,
}, async () => {
  const name = `@kats-sd-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const l = new NotifyListener(name);
  cleanups.push(() => l.close());
  await l.listening();
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: name, WATCHDOG_USEC: '100000', OTHER: 'kept' };
  const sd = serviceNotifier(quiet, env);
  assert.deepEqual(env, { OTHER: 'kept' }, 'children (checker, scripts) must not inherit them');
  sd.ready('Running (test)');
  const ready = await l.waitFor(/^READY=1\n/, 3000);
  assert.equal(ready.text, `READY=1\nMAINPID=${process.pid}\nSTATUS=Running (test)`);
  const first = await l.waitFor(/^WATCHDOG=1$/, 3000);
  await l.waitFor(/^WATCHDOG=1$/, 3000, first.index + 1);
  let resolveReload!: () => void;
  sd.reload(() => new Promise<void>((res) => (resolveReload = res)));
  const reloading = await l.waitFor(/^RELOADING=1/, 3000);
  // READY=1 only once the reload has finished.
  await new Promise((res) => setTimeout(res, 150));
  assert.equal(l.messages.slice(reloading.index).filter((m) => m.text.startsWith('READY=1')).length, 0);
  resolveReload();
  await l.waitFor(/^READY=1/, 3000, reloading.index);
  sd.stopping();
  const stopping = await l.waitFor(/^STOPPING=1/, 3000);
  await new Promise((res) => setTimeout(res, 300));
  assert.deepEqual(
    l.messages.slice(stopping.index + 1).map((m) => m.text),
    [],
    'nothing after STOPPING=1: the watchdog has stopped',
  );
});

test('no NOTIFY_SOCKET: nothing is set up, nothing is sent', () => {
  const env: NodeJS.ProcessEnv = { WATCHDOG_USEC: '100000' };
  const sd = serviceNotifier(quiet, env);
  // Would throw or warn if it tried a socket; the calls are no-ops and the reload still runs.
  let ran = false;
  sd.ready('x');
  sd.reload(() => {
    ran = true;
  });
  sd.stopping();
  assert.ok(ran);
  assert.deepEqual(env, {});
});

test('the daemon under NOTIFY_SOCKET: READY=1 with its pid, watchdog pings, reload, stop', {
  skip: daemonSkip,
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-sd-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // A path socket: reachable from inside the daemon's network namespace (an abstract one would not be).
  const socket = join(dir, 'notify');
  const l = new NotifyListener(socket);
  cleanups.push(() => l.close());
  await l.listening();
  const ns = loneRouterNetns('dsdn', cleanups).ns;
  const r = new Router('sdn', ns, daemonConf(''), {
    env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '300000' },
  });
  cleanups.push(() => r.removeDir());
  const ready = await l.waitFor(/^READY=1\n/, 10_000);
  const pid = Number(readFileSync(r.pidFile, 'utf8').trim());
  assert.equal(ready.text, `READY=1\nMAINPID=${pid}\nSTATUS=Running (1 VRRP instances)`);
  assert.equal(pid, r.proc.pid, 'MAINPID is the process systemd started');
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  // Pings every 150 ms: at least three more within 2 s.
  const from = l.messages.length;
  await l.waitUntil(
    () => l.messages.slice(from).filter((m) => m.text === 'WATCHDOG=1').length >= 3,
    2000,
    'three watchdog pings',
  );

  writeFileSync(r.conf, daemonConf('', { priority: 150 }));
  let m = r.mark();
  const before = l.messages.length;
  r.proc.kill('SIGHUP');
  const reloading = await l.waitFor(/^RELOADING=1/, 5000, before);
  const again = await l.waitFor(/^READY=1/, 5000, reloading.index);
  await r.waitFor(/Reload finished/, 5000, m);
  assert.ok(again.index > reloading.index);

  m = r.mark();
  const code = await r.stop('SIGTERM');
  assert.equal(code, 0);
  const stopping = await l.waitFor(/^STOPPING=1/, 2000);
  assert.ok(l.messages.slice(stopping.index + 1).every((x) => x.text !== 'WATCHDOG=1'));
  assert.ok(r.grep(/Stopping \(SIGTERM\)/, m).length > 0);
});

test('a checkers-only configuration is ready once the checker process is started; it gets no NOTIFY_SOCKET', {
  skip: daemonSkip,
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-sdc-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'notify');
  const l = new NotifyListener(socket);
  cleanups.push(() => l.close());
  await l.listening();
  const ns = loneRouterNetns('dsdc', cleanups).ns;
  const checkersPid = join(dir, 'checkers.pid');
  const conf = `virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 8080 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;
  const r = new Router('sdc', ns, conf, {
    env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '1000000' },
    extraArgs: ['-c', checkersPid],
  });
  cleanups.push(() => r.removeDir());
  const ready = await l.waitFor(/^READY=1\n/, 10_000);
  assert.equal(ready.text, `READY=1\nMAINPID=${r.proc.pid}\nSTATUS=Running (checkers only)`);
  // The checker process is a child of the daemon: systemd's variables were taken out before it was forked.
  await l.waitUntil(() => existsSync(checkersPid), 5000, 'the checker pid file');
  const child = Number(readFileSync(checkersPid, 'utf8').trim());
  const environ = readFileSync(`/proc/${child}/environ`, 'latin1').split('\0');
  assert.ok(environ.length > 3, 'read the checker process environment');
  assert.deepEqual(
    environ.filter((e) => /^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=/.test(e)),
    [],
  );
  assert.equal(await r.stop('SIGTERM'), 0);
  await l.waitFor(/^STOPPING=1/, 2000);
});
