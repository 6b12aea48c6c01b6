// An exception in any callback the daemon runs — a received advert, the deadline timer, a netlink event, a
// named or a real-time signal — ends in the fatal path: one "Fatal error in …" line, the VIP released, exit
// code 1. Before, such an error either aborted the process from inside native code (VIPs left on the
// interface while a backup took them: the same address held twice) or was swallowed silently (the timer).
// KEEPALIVED_TS_FAULT (src/daemon/fault-injection.ts) makes the named handler throw.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ip, Lab } from '../helpers/netns.js';
import { daemonConf } from './conf.js';
import { killAllRouters, needsRoot, Router } from './router.js';

const skip = needsRoot();
const labs: Lab[] = [];

after(() => {
  killAllRouters();
  for (const l of labs) l.close();
});

const VIP = '192.0.2.100';
const hasVip = (ns: string) => ip('-n', ns, '-br', 'addr', 'show', 'dev', 'eth0').includes(`${VIP}/`);

/** A lone master holding the VIP, with the fault armed; the trigger provokes the handler. */
async function dies(fault: string, where: RegExp, trigger: (r: Router, ns: string) => void | Promise<void>) {
  const lab = new Lab('fatal');
  labs.push(lab);
  const ns = lab.addHost('a');
  ip('-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  const r = new Router('a', ns, daemonConf('', { priority: 150 }), { env: { KEEPALIVED_TS_FAULT: fault } });
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  // The VIP is installed right after the transition.
  for (let k = 0; k < 50 && !hasVip(ns); k++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(hasVip(ns), 'master holds the VIP');
  await trigger(r, ns);
  const line = await r.waitFor(/Fatal /, 10_000);
  assert.match(line.text, where);
  assert.match(line.text, /injected fault/);
  await r.exited();
  assert.equal(r.exitCode, 1, r.log());
  assert.equal(hasVip(ns), false, `VIP released after the fatal error\n${r.log()}`);
  assert.equal(r.grep(/Fatal /).length, 1, 'one line says why');
  lab.close();
}

test('an exception in the deadline timer handler: VIP released, exit 1', { skip }, async () => {
  // The master's 10th timer firing (adverts every 0.1 s) comes after the VIP is set.
  await dies('timer@10', /Fatal error in timer handler/, () => {});
});

test('an exception in a netlink event handler: VIP released, exit 1', { skip }, async () => {
  // The 4th event while running: the VIP's own notification (and any late IPv6 one) come first.
  await dies('netlink@4', /Fatal error in netlink event handler/, (_r, ns) => {
    for (let k = 1; k <= 5; k++) ip('-n', ns, 'addr', 'add', `198.51.100.${k}/32`, 'dev', 'eth0');
  });
});

test('an exception in a received advert handler: VIP released, exit 1', { skip }, async () => {
  // A second router with a higher priority: its adverts reach the master's VRRP socket.
  await dies('advert', /Fatal error in .*receive handler/, (_r, ns) => {
    const peerNs = labs.at(-1)!.addHost('b');
    ip('-n', peerNs, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0');
    new Router('b', peerNs, daemonConf('', { priority: 200 }));
    void ns;
  });
});

test('an exception in the SIGHUP handler: VIP released, exit 1', { skip }, async () => {
  await dies('sighup', /Fatal error: Error: injected fault in the sighup handler/, (r) => {
    r.proc.kill('SIGHUP');
  });
});

test('an exception in a real-time signal handler (JSON dump): VIP released, exit 1', { skip }, async () => {
  await dies('signal-json', /Fatal error in signal 36 handler/, (r) => {
    process.kill(r.proc.pid!, 36);
  });
});
