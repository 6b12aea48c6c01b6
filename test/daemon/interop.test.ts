// Interoperation with the reference keepalived (Debian 2.2.7) on one LAN, VRRPv3 over IPv4 multicast:
// keepalived-ts master with keepalived backup, and the reverse. After each election and each failover exactly
// one node holds the VIP.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { holds, killAllRouters, Router, waitUntil } from './router.js';

const REFERENCE = '/usr/sbin/keepalived';
const skip = !isRoot() ? 'needs root' : !existsSync(REFERENCE) ? 'reference keepalived not installed' : false;
const VIP = '192.0.2.100';
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;

const conf = (priority: number) => `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;

let lab: Lab | null = null;
const routers: Router[] = [];
afterEach(() => {
  if (process.env.KATS_SHOW_LOGS) for (const r of routers) console.log(r.log());
  killAllRouters();
  lab?.close();
  lab = null;
  for (const r of routers.splice(0)) r.removeDir();
});

function ours(name: string, ns: string, priority: number): Router {
  const r = new Router(name, ns, conf(priority));
  routers.push(r);
  return r;
}

function reference(name: string, ns: string, priority: number): Router {
  const r = new Router(name, ns, conf(priority), {
    command: ({ conf: file, dir }) => [
      REFERENCE,
      '-n',
      '-l',
      '-D',
      '--vrrp',
      '-f',
      file,
      '-p',
      join(dir, 'k.pid'),
      '-r',
      join(dir, 'k_vrrp.pid'),
      '-c',
      join(dir, 'k_check.pid'),
    ],
  });
  routers.push(r);
  return r;
}

function twoHosts(label: string): [string, string] {
  lab = new Lab(label);
  const a = lab.addHost('a');
  const b = lab.addHost('b');
  ip('-n', a, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  ip('-n', b, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0');
  return [a, b];
}

const exactlyOne = (a: string, b: string) => holds(a, VIP) !== holds(b, VIP);

test('keepalived-ts master, keepalived backup: election, graceful stop, preemption', {
  skip,
  timeout: 30_000,
}, async () => {
  const [nsA, nsB] = twoHosts('ioa');
  const ka = reference('keepalived', nsB, 100);
  await ka.waitFor(MASTER, 6000); // alone at first
  const ts = ours('kats', nsA, 200);
  // keepalived-ts preempts keepalived.
  await ts.waitFor(MASTER, 6000);
  await ka.waitFor(BACKUP, 3000);
  await waitUntil(() => holds(nsA, VIP) && !holds(nsB, VIP), 2000, 'VIP on keepalived-ts only');

  const m = ka.mark();
  assert.equal(await ts.stop(), 0);
  await ka.waitFor(MASTER, 2000, m);
  await waitUntil(() => holds(nsB, VIP) && exactlyOne(nsA, nsB), 2000, 'VIP on keepalived only');
});

test('keepalived master, keepalived-ts backup: election, graceful stop, link cut', {
  skip,
  timeout: 30_000,
}, async () => {
  const [nsA, nsB] = twoHosts('iob');
  const ts = ours('kats', nsA, 100);
  await ts.waitFor(MASTER, 6000);
  const ka = reference('keepalived', nsB, 200);
  // keepalived preempts keepalived-ts.
  await ka.waitFor(MASTER, 6000);
  await ts.waitFor(BACKUP, 3000);
  await waitUntil(() => holds(nsB, VIP) && !holds(nsA, VIP), 2000, 'VIP on keepalived only');

  // Link cut of keepalived's host: keepalived-ts takes over.
  const m = ts.mark();
  ip('-n', lab!.bridgeNs, 'link', 'set', lab!.portOf('b'), 'down');
  await ts.waitFor(MASTER, 2000, m);
  await waitUntil(() => holds(nsA, VIP), 2000, 'VIP on keepalived-ts');
  // Link back: keepalived preempts again, keepalived-ts releases.
  const m2 = ts.mark();
  ip('-n', lab!.bridgeNs, 'link', 'set', lab!.portOf('b'), 'up');
  await ts.waitFor(BACKUP, 6000, m2);
  await waitUntil(() => holds(nsB, VIP) && exactlyOne(nsA, nsB), 3000, 'VIP on keepalived only again');

  // Graceful stop of keepalived (priority 0 advert): keepalived-ts takes over.
  const m3 = ts.mark();
  await ka.stop();
  await ts.waitFor(MASTER, 2000, m3);
  await waitUntil(() => holds(nsA, VIP) && exactlyOne(nsA, nsB), 2000, 'VIP on keepalived-ts only');
});

test('IPv6: keepalived-ts and keepalived elect, hand over and preempt', {
  skip,
  timeout: 30_000,
}, async () => {
  lab = new Lab('io6');
  const nsA = lab.addHost('a');
  const nsB = lab.addHost('b');
  const VIP6 = '2001:db8::100';
  const conf6 = (priority: number) => `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress {
    ${VIP6}/64
  }
}
`;
  const ts = new Router('kats', nsA, conf6(200));
  routers.push(ts);
  await ts.waitFor(MASTER, 8000);
  const ka = new Router('keepalived', nsB, conf6(100), {
    command: ({ conf: file, dir }) => [
      REFERENCE,
      '-n',
      '-l',
      '-D',
      '--vrrp',
      '-f',
      file,
      '-p',
      join(dir, 'k.pid'),
      '-r',
      join(dir, 'k_vrrp.pid'),
      '-c',
      join(dir, 'k_check.pid'),
    ],
  });
  routers.push(ka);
  await ka.waitFor(BACKUP, 8000);
  await waitUntil(() => holds(nsA, VIP6) && !holds(nsB, VIP6), 2000, 'VIP on keepalived-ts only');
  // keepalived must not take over while keepalived-ts advertises (it accepts our IPv6 adverts).
  const quiet = ka.mark();
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(ka.grep(MASTER, quiet).length, 0, ka.log());

  const m = ka.mark();
  assert.equal(await ts.stop(), 0);
  await ka.waitFor(MASTER, 2000, m);
  await waitUntil(() => holds(nsB, VIP6) && !holds(nsA, VIP6), 2000, 'VIP on keepalived only');

  // keepalived-ts comes back with the higher priority and preempts; keepalived accepts it.
  const ts2 = new Router('kats2', nsA, conf6(200));
  routers.push(ts2);
  const m2 = ka.mark();
  await ts2.waitFor(MASTER, 8000);
  await ka.waitFor(BACKUP, 3000, m2);
  await waitUntil(() => holds(nsA, VIP6) && !holds(nsB, VIP6), 2000, 'VIP back on keepalived-ts only');
});

test('VRRPv2 with PASS authentication against keepalived', { skip, timeout: 30_000 }, async () => {
  const [nsA, nsB] = twoHosts('iov2');
  const conf2 = (priority: number) => `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority ${priority}
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass interop1
  }
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
  const ka = new Router('keepalived', nsB, conf2(200), {
    command: ({ conf: file, dir }) => [
      REFERENCE,
      '-n',
      '-l',
      '-D',
      '--vrrp',
      '-f',
      file,
      '-p',
      join(dir, 'k.pid'),
      '-r',
      join(dir, 'k_vrrp.pid'),
      '-c',
      join(dir, 'k_check.pid'),
    ],
  });
  routers.push(ka);
  await ka.waitFor(MASTER, 8000);
  const kats = new Router('kats2', nsA, conf2(100));
  routers.push(kats);
  await kats.waitFor(BACKUP, 5000);
  // Three advert intervals plus skew without taking over: keepalived's PASS adverts authenticate here.
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(kats.grep(MASTER).length, 0, kats.log());
  assert.equal(kats.grep(/dropped advert/).length, 0, kats.log());
  const m = kats.mark();
  await ka.stop();
  await kats.waitFor(MASTER, 2000, m);
  await waitUntil(() => holds(nsA, VIP) && !holds(nsB, VIP), 2000, 'VIP on keepalived-ts only');

  // The reverse: a lower-priority keepalived accepts keepalived-ts's PASS adverts and stays backup.
  const ka2 = new Router('keepalived2', nsB, conf2(50), {
    command: ({ conf: file, dir }) => [
      REFERENCE,
      '-n',
      '-l',
      '-D',
      '--vrrp',
      '-f',
      file,
      '-p',
      join(dir, 'k.pid'),
      '-r',
      join(dir, 'k_vrrp.pid'),
      '-c',
      join(dir, 'k_check.pid'),
    ],
  });
  routers.push(ka2);
  await ka2.waitFor(BACKUP, 5000);
  await new Promise((r) => setTimeout(r, 4000));
  assert.equal(ka2.grep(MASTER).length, 0, ka2.log());
  assert.ok(holds(nsA, VIP) && !holds(nsB, VIP));
});
