// keepalived-ts as a real daemon on a LAN of network namespaces (bridge + veth), VRRPv3 over IPv4 multicast
// with a 100 ms advert interval: election, link cut, preemption on return, graceful stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ip } from '../helpers/netns.js';
import { RouterLabs } from '../helpers/router-lab.js';
import { holds, needsRoot, Router, settle, settleStates, waitUntil } from './router.js';

const skip = needsRoot();
const VIP = '192.0.2.100';
const ADVERT_MS = 100;

function conf(priority: number, extra = ''): string {
  return `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${priority}
  advert_int ${ADVERT_MS / 1000}
  ${extra}
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

const labs = new RouterLabs();

const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;

test('three routers: election, link cut, preemption on return, graceful stop', {
  skip,
  timeout: 40_000,
}, async () => {
  const { lab, ns } = labs.openLab('dv4', { r1: '192.0.2.1/24', r2: '192.0.2.2/24', r3: '192.0.2.3/24' });
  const { r1: ns1, r2: ns2, r3: ns3 } = ns;
  const r1 = new Router('r1', ns1, conf(50));
  const r2 = new Router('r2', ns2, conf(150));
  const r3 = new Router('r3', ns3, conf(200));
  labs.add(r1, r2, r3);

  // Election: the highest priority wins, the others end in backup (one that started earlier may have been
  // master until the higher one appeared); only the master holds the VIP.
  await r3.waitFor(MASTER, 5000);
  await settle(
    [r1, r2, r3],
    () => r1.lastState() === 'BACKUP' && r2.lastState() === 'BACKUP' && r3.lastState() === 'MASTER',
    5000,
    'r3 master, r1 and r2 backup',
  );
  await waitUntil(() => holds(ns3, VIP) && !holds(ns1, VIP) && !holds(ns2, VIP), 2000, 'VIP on r3 only');

  // Cutting r3's link: r3 sees carrier loss (FAULT), r2 (next priority) becomes master and holds the VIP.
  const m2 = r2.mark();
  // Timed from when the cut is done (`ip` may wait on the RTNL lock behind other tests' namespaces).
  ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('r3'), 'down');
  const cutAt = Date.now();
  const took = await r2.waitFor(MASTER, 5000, m2);
  await r3.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000);
  await waitUntil(() => holds(ns2, VIP), 2000, 'VIP on r2');
  await waitUntil(() => !holds(ns3, VIP), 2000, 'VIP gone from r3 in FAULT');
  // r1's down timer is only (150 − 50) × 100 / 256 ≈ 39 ms longer than r2's: on a loaded machine it may be
  // master for a moment before r2's first advert arrives; it must end as backup.
  await settleStates(3000, [r2, 'MASTER'], [r1, 'BACKUP']);
  const cutFailoverMs = (took.stampMs ?? took.rxMs) - cutAt;
  // Master_Down_Interval for priority 150 at 100 ms: 3 × 100 + (256 − 150) × 100 / 256 ≈ 341 ms.
  assert.ok(cutFailoverMs < 3 * ADVERT_MS + 100 + 250, `link-cut failover took ${cutFailoverMs} ms`);
  console.log(`# link-cut failover (cut → backup MASTER): ${cutFailoverMs} ms`);
  // With -D the new master says how its Master_Down deadline went (deadline-timer.ts KeenTimeline).
  const met = await r2.waitFor(/Master_Down deadline met: early wake .* fired \d+\.\d{3} ms/, 2000, m2);
  console.log(`# ${met.text.slice(met.text.indexOf('Master_Down'))}`);

  // r3 comes back: it preempts (higher priority, preempt by default), r2 releases the VIP.
  const m3 = r3.mark();
  const m2b = r2.mark();
  ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('r3'), 'up');
  await r3.waitFor(MASTER, 5000, m3);
  await r2.waitFor(BACKUP, 3000, m2b);
  await waitUntil(() => holds(ns3, VIP) && !holds(ns2, VIP), 2000, 'VIP back on r3 only');

  // Graceful stop: r3 sends priority 0; r2 takes over after Skew_Time, well within one advert interval.
  const m2c = r2.mark();
  const stopAt = Date.now();
  const stopping = r3.stop('SIGTERM');
  const handover = await r2.waitFor(MASTER, 3000, m2c);
  const handoverMs = (handover.stampMs ?? handover.rxMs) - stopAt;
  assert.equal(await stopping, 0, `r3 exit code\n${r3.log()}`);
  await waitUntil(() => holds(ns2, VIP), 1000, 'VIP on r2 after stop');
  assert.ok(!holds(ns3, VIP), 'stopped master removed its VIP');
  assert.ok(handoverMs < ADVERT_MS + 100, `graceful handover took ${handoverMs} ms`);
  console.log(`# graceful-stop handover (SIGTERM → backup MASTER): ${handoverMs} ms`);
  assert.ok(r3.grep(/Entering STOP STATE/).length === 1 || r3.grep(/Stopped/).length === 1, r3.log());
});
