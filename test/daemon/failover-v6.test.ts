// VRRPv3 over IPv6 between keepalived-ts daemons: link-local sources (the daemon waits for DAD on them),
// ff02::12, VIPs added with nodad; election, link cut (the kernel flushes IPv6 addresses on carrier loss),
// preemption on return, graceful stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ip } from '../helpers/netns.js';
import { RouterLabs } from '../helpers/router-lab.js';
import { holds, needsRoot, Router, settle, waitUntil } from './router.js';

const skip = needsRoot();
const VIP = '2001:db8::100';
const MASTER = /\(VI_6\) Entering MASTER STATE/;

const conf = (priority: number) => `
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 61
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress {
    ${VIP}/64
  }
}
`;

const labs = new RouterLabs();
const V6_ROUTERS = { r1: ['2001:db8::1/64', 'nodad'], r2: ['2001:db8::2/64', 'nodad'] };

test('IPv6: election, link cut and return, graceful stop', { skip, timeout: 30_000 }, async () => {
  const { lab, ns } = labs.openLab('dv6', V6_ROUTERS);
  const { r1: ns1, r2: ns2 } = ns;
  const r1 = new Router('r1', ns1, conf(200));
  const r2 = new Router('r2', ns2, conf(100));
  labs.add(r1, r2);

  await r1.waitFor(MASTER, 8000);
  await settle(
    [r1, r2],
    () => r1.lastState('VI_6') === 'MASTER' && r2.lastState('VI_6') === 'BACKUP',
    5000,
    'r1 master, r2 backup',
  );
  await waitUntil(() => holds(ns1, VIP) && !holds(ns2, VIP), 2000, 'VIP on r1 only');

  // Link cut: r2 takes over.
  const m2 = r2.mark();
  ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('r1'), 'down');
  await r2.waitFor(MASTER, 3000, m2);
  await waitUntil(() => holds(ns2, VIP), 2000, 'VIP on r2');

  // Link back: r1 preempts once its link-local address is usable again (DAD runs after carrier returns).
  const m1 = r1.mark();
  const m2b = r2.mark();
  ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('r1'), 'up');
  await r1.waitFor(MASTER, 8000, m1);
  await r2.waitFor(/\(VI_6\) Entering BACKUP STATE/, 8000, m2b);
  await waitUntil(() => holds(ns1, VIP) && !holds(ns2, VIP), 3000, 'VIP back on r1 only');

  // Graceful stop.
  const m2c = r2.mark();
  const t0 = Date.now();
  assert.equal(await r1.stop(), 0, r1.log());
  const line = await r2.waitFor(MASTER, 2000, m2c);
  const ms = (line.stampMs ?? line.rxMs) - t0;
  assert.ok(ms < 200, `v6 graceful handover ${ms} ms`);
  console.log(`# IPv6 graceful-stop handover: ${ms} ms`);
  await waitUntil(() => holds(ns2, VIP) && !holds(ns1, VIP), 1000, 'VIP on r2 only');
});

test('unsolicited NA: a client’s neighbour entry for the IPv6 VIP follows the new master', {
  skip,
  timeout: 20_000,
}, async () => {
  const { r1: ns1, r2: ns2, c: client } = labs.open('dna', { r1: null, r2: null, c: null });
  const r1 = new Router('r1', ns1, conf(200));
  const r2 = new Router('r2', ns2, conf(100));
  labs.add(r1, r2);
  const macOf = (ns: string) => /link\/ether ([0-9a-f:]+)/.exec(ip('-n', ns, 'link', 'show', 'eth0'))?.[1];
  const neighMac = () => /lladdr ([0-9a-f:]+)/.exec(ip('-n', client, '-6', 'neigh', 'show', VIP))?.[1];
  await r1.waitFor(MASTER, 8000);
  await settle([r1, r2], () => r2.lastState('VI_6') === 'BACKUP' && holds(ns1, VIP), 5000, 'r1 master');
  ip('-n', client, '-6', 'neigh', 'replace', VIP, 'lladdr', macOf(ns1)!, 'dev', 'eth0', 'nud', 'stale');
  const m = r2.mark();
  await r1.stop();
  await r2.waitFor(MASTER, 2000, m);
  // Only r2's unsolicited NA (Override flag) can have changed the entry.
  await waitUntil(() => neighMac() === macOf(ns2), 1000, 'client neighbour entry → r2');
});

test('IPv6 unicast with global source addresses: election and link-cut failover', {
  skip,
  timeout: 20_000,
}, async () => {
  const { lab: lab3, ns } = labs.openLab('du6', V6_ROUTERS);
  const { r1: ns1, r2: ns2 } = ns;
  const uconf = (priority: number, self: string, peer: string) => `
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 62
  priority ${priority}
  advert_int 0.1
  unicast_src_ip ${self}
  unicast_peer { ${peer} }
  virtual_ipaddress { 2001:db8::200/64 }
}
`;
  const r1 = new Router('u1', ns1, uconf(200, '2001:db8::1', '2001:db8::2'));
  const r2 = new Router('u2', ns2, uconf(100, '2001:db8::2', '2001:db8::1'));
  labs.add(r1, r2);
  await settle(
    [r1, r2],
    () => r1.lastState('VI_6') === 'MASTER' && r2.lastState('VI_6') === 'BACKUP',
    6000,
    'u1 master, u2 backup',
  );
  assert.ok(holds(ns1, '2001:db8::200') && !holds(ns2, '2001:db8::200'));
  assert.equal(r2.grep(/dropped advert/).length, 0, r2.log());
  const m = r2.mark();
  ip('-n', lab3.bridgeNs, 'link', 'set', lab3.portOf('r1'), 'down');
  await r2.waitFor(MASTER, 2000, m);
  await waitUntil(() => holds(ns2, '2001:db8::200'), 2000, 'VIP on u2');
});
