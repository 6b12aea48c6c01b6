// vrrp_sync_group between keepalived-ts daemons on two LANs: one member losing its link takes the whole group
// to FAULT, and the other router takes over both instances; group notifies reach the FIFO.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { RouterLabs, TWO_ROUTERS } from '../helpers/router-lab.js';
import { holds, needsRoot, Router, settleStates, waitUntil } from './router.js';

const skip = needsRoot();
const labs = new RouterLabs();

/** A second LAN: a bridge namespace and an `eth1` veth from each host onto it; returns the port names. */
function secondLan(hosts: string[]): { bridgeNs: string; ports: string[] } {
  const bridgeNs = createNetns('sgb');
  labs.closers.push(() => deleteNetns(bridgeNs));
  ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
  const ports = hosts.map((ns, k) => {
    const port = `q${k}`;
    ip('-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', port, 'netns', bridgeNs);
    ip('-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'link', 'set', 'eth1', 'up');
    return port;
  });
  return { bridgeNs, ports };
}

const conf = (priority: number) => (dir: string) => {
  writeFileSync(join(dir, 'notify.log'), '');
  return `
global_defs {
  notify_fifo ${join(dir, 'notify.log')}
}
vrrp_sync_group G {
  group {
    VI_A
    VI_B
  }
}
vrrp_instance VI_A {
  interface eth0
  virtual_router_id 71
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress { 192.0.2.100/24 }
}
vrrp_instance VI_B {
  interface eth1
  virtual_router_id 72
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress { 198.51.100.100/24 }
}`;
};

test('sync group: a member fault moves both instances to the other router', {
  skip,
  timeout: 20_000,
}, async () => {
  const { r1: ns1, r2: ns2 } = labs.open('dsg', TWO_ROUTERS);
  const lanB = secondLan([ns1, ns2]);
  for (const [k, ns] of [ns1, ns2].entries())
    ip('-n', ns, 'addr', 'add', `198.51.100.${k + 1}/24`, 'dev', 'eth1');
  const r1 = new Router('r1', ns1, conf(200));
  const r2 = new Router('r2', ns2, conf(100));
  labs.add(r1, r2);
  await settleStates(
    6000,
    [r1, 'VI_A', 'MASTER'],
    [r1, 'VI_B', 'MASTER'],
    [r2, 'VI_A', 'BACKUP'],
    [r2, 'VI_B', 'BACKUP'],
  );
  await waitUntil(
    () => holds(ns1, '192.0.2.100') && holds(ns1, '198.51.100.100', 'eth1'),
    2000,
    'VIPs on r1',
  );

  // Cut r1 on LAN B only: VI_B faults, the group takes VI_A to FAULT too, r2 takes both.
  ip('-n', lanB.bridgeNs, 'link', 'set', lanB.ports[0]!, 'down');
  await waitUntil(
    () => r2.lastState('VI_A') === 'MASTER' && r2.lastState('VI_B') === 'MASTER',
    3000,
    'r2 master of both',
  );
  await waitUntil(
    () => r1.lastState('VI_A') === 'FAULT' && r1.lastState('VI_B') === 'FAULT',
    2000,
    'r1 both in FAULT',
  );
  await waitUntil(
    () =>
      holds(ns2, '192.0.2.100') &&
      holds(ns2, '198.51.100.100', 'eth1') &&
      !holds(ns1, '192.0.2.100') &&
      !holds(ns1, '198.51.100.100', 'eth1'),
    2000,
    'VIPs moved to r2',
  );
  assert.match(readFileSync(join(r1.dir, 'notify.log'), 'utf8'), /^GROUP "G" FAULT 0$/m);
  assert.match(readFileSync(join(r2.dir, 'notify.log'), 'utf8'), /^GROUP "G" MASTER 0$/m);
});
