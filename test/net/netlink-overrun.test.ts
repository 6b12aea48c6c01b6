// A netlink monitor whose receive buffer overruns (more address changes at once than it can hold) reports
// the loss and keeps listening. With the `netlink` package's native socket the overrun (EPOLLERR) made the
// package throw inside its poll callback and the process aborted: every daemon that set more than ~256
// VIPs at once (issue: a crash above 256 VRRP instances).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { Agent } from './agent-client.js';

const skip = !isRoot() && 'needs root for network namespaces';
let lab: Lab;
let ns: string;
let agent: Agent;

before(async () => {
  if (skip) return;
  lab = new Lab('nlo');
  ns = lab.addHost('a');
  lab.addHost('b');
  agent = await Agent.start(ns);
  // The smallest buffer the kernel grants (it doubles and floors the value): a few dozen notifications.
  assert.deepEqual(await agent.call('monitor', { receiveBufferBytes: 1024 }), { ok: true });
});

after(async () => {
  await agent?.stop();
  lab?.close();
});

test('an overrun monitor reports ENOBUFS, survives, and still hears the next change', { skip }, async () => {
  const adds = [
    ...Array.from({ length: 250 }, (_, k) => `198.51.100.${k + 1}`),
    ...Array.from({ length: 150 }, (_, k) => `192.0.2.${k + 1}`),
  ];
  const batch = adds.map((a) => `addr add ${a}/32 dev eth0`).join('\n');
  // The agent's loop is held while the changes are made, so the overrun is flagged on the socket before
  // anything reads it: the poll sees EPOLLERR (libuv stops the handle and reports an error status).
  // Held long enough for `ip` to finish even when it waits on the kernel's RTNL lock behind other tests'
  // namespace teardown (a CI run: 1.5 s was not enough, the changes were read as they came, no overrun).
  const BLOCK_MS = 6000;
  const blocked = agent.call('block', { ms: BLOCK_MS });
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  const r = spawnSync('ip', ['-n', ns, '-batch', '-'], { input: `${batch}\n`, encoding: 'utf8' });
  const tookMs = Date.now() - t0;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(tookMs < BLOCK_MS - 300, `the premise: ip took ${tookMs} ms, longer than the agent was held`);
  await blocked;
  const overrun = await agent.waitEvent((e) => e.event === 'netlinkError', 5000);
  const error = overrun.error as { code: string; errno?: string; message: string };
  assert.equal(error.errno, 'ENOBUFS', error.message);
  assert.match(error.message, /netlink monitor/);
  // Still listening: a later change arrives as an event.
  const from = agent.events.length;
  ip('-n', ns, 'addr', 'add', '198.51.100.254/24', 'dev', 'eth0');
  await agent.waitEvent(
    (e) =>
      agent.events.indexOf(e) >= from &&
      e.event === 'netlink' &&
      e.kind === 'address' &&
      e.action === 'add' &&
      e.address === '198.51.100.254' &&
      e.prefixLen === 24,
    5000,
  );
  // And the agent process is alive to answer a call.
  const links = await agent.call<{ ok: boolean }>('nl', { method: 'listLinks' });
  assert.equal(links.ok, true);
});
