// keepalived-ts daemons in network namespaces: nopreempt, unicast beside multicast on one interface, and
// VRRPv2 with PASS authentication (including the counters a wrong password produces), and with IPsec AH.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { ip, type Lab } from '../helpers/netns.js';
import { RouterLabs } from '../helpers/router-lab.js';
import { vrrpInstanceConf } from './conf.js';
import {
  dumpedInstance,
  holds,
  jsonDumpLine,
  needsRoot,
  Router,
  settle,
  settleStates,
  sleep,
  waitUntil,
} from './router.js';

const skip = needsRoot();
const MASTER = (i = 'VI_1') => new RegExp(`\\(${i}\\) Entering MASTER STATE`);

const labs = new RouterLabs(afterEach);
/** The LAN of the test running. */
let lab: Lab | null = null;

/** A LAN of `n` hosts r1…rn at 192.0.2.1…n/24; their namespaces in that order. */
function hosts(label: string, n: number): string[] {
  const opened = labs.openLab(
    label,
    Object.fromEntries(Array.from({ length: n }, (_, k) => [`r${k + 1}`, `192.0.2.${k + 1}/24`])),
  );
  lab = opened.lab;
  return Object.values(opened.ns);
}

function start(name: string, ns: string, conf: string | ((dir: string) => string)): Router {
  const r = new Router(name, ns, conf);
  labs.add(r);
  return r;
}

test('nopreempt: a higher-priority backup that arrives later does not take over', {
  skip,
  timeout: 20_000,
}, async () => {
  const [ns1, ns2] = hosts('dnp', 2) as [string, string];
  const conf = (priority: number) => `
${vrrpInstanceConf({ vrid: 52, priority, extra: 'nopreempt' })}`;
  const low = start('low', ns2, conf(100));
  await low.waitFor(MASTER(), 5000);
  await waitUntil(() => holds(ns2, '192.0.2.100'), 2000, 'VIP on low');
  const high = start('high', ns1, conf(200));
  await high.waitFor(/Entering BACKUP STATE/, 5000);
  // 20 advert intervals: without nopreempt the higher one would have preempted after ~3.
  await sleep(2000);
  assert.equal(high.grep(MASTER()).length, 0, high.log());
  assert.equal(low.lastState(), 'MASTER');
  assert.ok(holds(ns2, '192.0.2.100') && !holds(ns1, '192.0.2.100'));
  // It still takes over when the master goes away.
  const m = high.mark();
  await low.stop();
  await high.waitFor(MASTER(), 2000, m);
  await waitUntil(() => holds(ns1, '192.0.2.100'), 1000, 'VIP on high');
});

test('unicast and multicast instances side by side on one interface', { skip, timeout: 20_000 }, async () => {
  const [ns1, ns2] = hosts('duc', 2) as [string, string];
  // VI_1 unicast (r1 wins), VI_2 multicast (r2 wins): two sockets on eth0, each taking its own packets.
  const conf = (self: string, peer: string, p1: number, p2: number) => `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 53
  version 3
  priority ${p1}
  advert_int 0.1
  unicast_src_ip ${self}
  unicast_peer { ${peer} }
  virtual_ipaddress { 192.0.2.101/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 54
  version 3
  priority ${p2}
  advert_int 0.1
  virtual_ipaddress { 192.0.2.102/24 }
}`;
  const r1 = start('r1', ns1, conf('192.0.2.1', '192.0.2.2', 200, 100));
  const r2 = start('r2', ns2, conf('192.0.2.2', '192.0.2.1', 100, 200));
  await settleStates(
    6000,
    [r1, 'VI_1', 'MASTER'],
    [r2, 'VI_1', 'BACKUP'],
    [r2, 'VI_2', 'MASTER'],
    [r1, 'VI_2', 'BACKUP'],
  );
  await waitUntil(
    () =>
      holds(ns1, '192.0.2.101') &&
      !holds(ns2, '192.0.2.101') &&
      holds(ns2, '192.0.2.102') &&
      !holds(ns1, '192.0.2.102'),
    2000,
    'each VIP on its master only',
  );
  const quiet = [r1.mark(), r2.mark()];
  await sleep(500);
  assert.equal(r1.grep(/Entering/, quiet[0]).length, 0, r1.log());
  assert.equal(r2.grep(/Entering/, quiet[1]).length, 0, r2.log());
  // Each socket takes only its own kind of packet: nothing is counted as an error on either side.
  assert.equal(r1.grep(/dropped advert/).length, 0, r1.log());
  assert.equal(r2.grep(/dropped advert/).length, 0, r2.log());

  // Unicast failover: cut r1; r2 takes VI_1 (the unicast adverts stop arriving).
  const m = r2.mark();
  ip('-n', lab!.bridgeNs, 'link', 'set', lab!.portOf('r1'), 'down');
  await r2.waitFor(MASTER('VI_1'), 3000, m);
  await waitUntil(() => holds(ns2, '192.0.2.101'), 1000, 'VIP 101 on r2');
});

test('VRRPv2 with PASS authentication; a wrong password is rejected and counted', {
  skip,
  timeout: 30_000,
}, async () => {
  const [ns1, ns2, ns3] = hosts('dv2', 3) as [string, string, string];
  const conf = (priority: number, pass: string) => (dir: string) =>
    `
global_defs {
  ${jsonDumpLine(dir)}
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 55
  priority ${priority}
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass ${pass}
  }
  virtual_ipaddress { 192.0.2.103/24 }
}`;
  const r1 = start('r1', ns1, conf(200, 'secret1'));
  const r2 = start('r2', ns2, conf(100, 'secret1'));
  // r3 has the wrong password: it cannot authenticate r1's adverts, so it too becomes master, and r1 and r2
  // drop its adverts (AuthFailures) instead of reacting to them.
  const r3 = start('r3', ns3, conf(50, 'wrong!'));
  await r1.waitFor(MASTER(), 6000);
  await r3.waitFor(MASTER(), 8000);
  await waitUntil(
    () => r2.lastState() === 'BACKUP' && r1.lastState() === 'MASTER',
    3000,
    'r1 master, r2 backup',
  );
  assert.ok(holds(ns1, '192.0.2.103') && !holds(ns2, '192.0.2.103'));
  await sleep(1200); // at least one advert of r3's after it became master
  const s = (await dumpedInstance(r1))!.stats;
  assert.ok(s.AuthFailures! >= 1, `AuthFailures counted: ${JSON.stringify(s)}`);
  assert.ok(s.SentAdvertisements! >= 2, JSON.stringify(s));
  assert.equal(s.BecomeMaster, 1);
  assert.equal(r1.lastState(), 'MASTER', 'r1 ignored the unauthenticated adverts');

  // Graceful stop of r1: r2 (same password) takes over after the v2 Skew_Time (256 − 100)/256 s ≈ 609 ms.
  const m = r2.mark();
  const t0 = Date.now();
  assert.equal(await r1.stop(), 0);
  const line = await r2.waitFor(MASTER(), 3000, m);
  const ms = (line.stampMs ?? line.rxMs) - t0;
  assert.ok(ms < 609 + 200, `v2 handover ${ms} ms`);
  await waitUntil(() => holds(ns2, '192.0.2.103'), 1000, 'VIP on r2');
});

test('VRRPv2 with IPsec AH: a backup that takes over continues the AH sequence, so the others accept it', {
  skip,
  timeout: 30_000,
}, async () => {
  // keepalived's one AH counter per instance (sent and accepted numbers): r2 has seen r1's sequence numbers,
  // so its own adverts after r1 stops are numbered above them and r3 does not drop them as replays.
  const [ns1, ns2, ns3] = hosts('dah', 3) as [string, string, string];
  const conf = (priority: number) => (dir: string) =>
    `
global_defs {
  ${jsonDumpLine(dir)}
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 57
  priority ${priority}
  advert_int 1
  authentication {
    auth_type AH
    auth_pass ah-secret
  }
  virtual_ipaddress { 192.0.2.104/24 }
}`;
  const r1 = start('r1', ns1, conf(200));
  const r2 = start('r2', ns2, conf(100));
  const r3 = start('r3', ns3, conf(50));
  await r1.waitFor(MASTER(), 6000);
  await waitUntil(() => r2.lastState() === 'BACKUP' && r3.lastState() === 'BACKUP', 3000, 'r2 and r3 backup');
  await sleep(4500); // several adverts from r1, numbered 1, 2, 3 …; longer than r3's Master_Down_Interval
  assert.equal(r3.lastState(), 'BACKUP', 'r3 accepts r1’s AH adverts');
  assert.ok(holds(ns1, '192.0.2.104'));
  const m2 = r2.mark();
  const m3 = r3.mark();
  assert.equal(await r1.stop(), 0);
  await r2.waitFor(MASTER(), 3000, m2);
  await sleep(4500); // r3's Master_Down_Interval is 3.8 s: it must hear r2 all along
  assert.equal(r3.grep(MASTER(), m3).length, 0, `r3 stayed BACKUP under r2\n${r3.log()}`);
  assert.ok(holds(ns2, '192.0.2.104') && !holds(ns3, '192.0.2.104'));
  const s = (await dumpedInstance(r3))!.stats;
  assert.equal(s.AuthFailures, 0, JSON.stringify(s));
  assert.ok(s.RcvdAdvertisements! >= 6, JSON.stringify(s));
});

test('GARP: a client’s ARP entry for the VIP follows the new master', { skip, timeout: 20_000 }, async () => {
  const [ns1, ns2, client] = hosts('dga', 3) as [string, string, string];
  const conf = (priority: number) => `
${vrrpInstanceConf({ vrid: 56, priority, vips: ['192.0.2.104/24'] })}`;
  const macOf = (ns: string) => /link\/ether ([0-9a-f:]+)/.exec(ip('-n', ns, 'link', 'show', 'eth0'))?.[1];
  const neighMac = () => /lladdr ([0-9a-f:]+)/.exec(ip('-n', client, 'neigh', 'show', '192.0.2.104'))?.[1];
  const r1 = start('r1', ns1, conf(200));
  const r2 = start('r2', ns2, conf(100));
  await r1.waitFor(MASTER(), 5000);
  await settle([r1, r2], () => r2.lastState() === 'BACKUP' && holds(ns1, '192.0.2.104'), 5000, 'r1 master');
  // The client talks to the VIP once, so it has an ARP entry pointing at r1.
  ip('-n', client, 'neigh', 'replace', '192.0.2.104', 'lladdr', macOf(ns1)!, 'dev', 'eth0', 'nud', 'stale');
  assert.equal(neighMac(), macOf(ns1));
  const m = r2.mark();
  await r1.stop();
  await r2.waitFor(MASTER(), 2000, m);
  // No traffic from the client: only r2's gratuitous ARP can have moved the entry.
  await waitUntil(() => neighMac() === macOf(ns2), 1000, 'client ARP entry → r2');
});

test('a VIP left on a backup by an earlier run is removed at startup', {
  skip,
  timeout: 20_000,
}, async () => {
  const [ns1, ns2] = hosts('dlo', 2) as [string, string];
  const conf = (priority: number) => `
${vrrpInstanceConf({ vrid: 58, priority, vips: ['192.0.2.105/24'] })}`;
  const r1 = start('r1', ns1, conf(200));
  await r1.waitFor(MASTER(), 5000);
  ip('-n', ns2, 'addr', 'add', '192.0.2.105/24', 'dev', 'eth0'); // as if a crashed master left it
  const r2 = start('r2', ns2, conf(100));
  await r2.waitFor(/\(VI_1\) removing VIPs left from an earlier run/, 5000);
  await settleStates(5000, [r1, 'MASTER'], [r2, 'BACKUP']);
  await waitUntil(() => !holds(ns2, '192.0.2.105') && holds(ns1, '192.0.2.105'), 2000, 'VIP on r1 only');
});

test('a VIP deleted on the master: priority 0 sent, the master is back after its Skew_Time, no failover', {
  skip,
  timeout: 20_000,
}, async () => {
  const [ns1, ns2] = hosts('dvd', 2) as [string, string];
  const conf = (priority: number) => `
${vrrpInstanceConf({ vrid: 59, priority, vips: ['192.0.2.106/24'] })}`;
  const r1 = start('r1', ns1, conf(250));
  const r2 = start('r2', ns2, conf(50));
  await settleStates(6000, [r1, 'MASTER'], [r2, 'BACKUP']);
  const m1 = r1.mark();
  const m2 = r2.mark();
  ip('-n', ns1, 'addr', 'del', '192.0.2.106/24', 'dev', 'eth0');
  await r1.waitFor(/Netlink reflector reports IP 192\.0\.2\.106 removed from eth0/, 2000, m1);
  // keepalived 2.2.7 (docs/hostile-network.md): BACKUP with the down timer at Skew_Time (2 ms at priority 250),
  // shorter than the backup's after our priority 0 (80 ms at 50): r1 is master again first.
  await r1.waitFor(MASTER(), 2000, m1);
  await sleep(500);
  assert.equal(r2.grep(MASTER(), m2).length, 0, `the backup took over\n${r2.log()}`);
  await settleStates(5000, [r1, 'MASTER'], [r2, 'BACKUP']);
  await waitUntil(() => holds(ns1, '192.0.2.106') && !holds(ns2, '192.0.2.106'), 2000, 'VIP back on r1 only');
});

test('log_unknown_vrids: an advert of a VRID no instance has is logged once a second at most; off by default', {
  skip,
  timeout: 20_000,
}, async () => {
  const [ns1, ns2] = hosts('duv', 2) as [string, string];
  // r1 has a multicast (VRID 51) and a unicast (VRID 53) instance on eth0: two sockets that both see every
  // VRRP packet; r2's multicast VRID 52 is unknown to r1, r1's 51 unknown to r2.
  const conf = (global: string, mcastVrid: number, self: string, peer: string) => `${global}
${vrrpInstanceConf({ vrid: mcastVrid, priority: 200 })}
${vrrpInstanceConf({
  name: 'VI_2',
  vrid: 53,
  vips: ['192.0.2.101/24'],
  extra: `unicast_src_ip ${self}\n  unicast_peer {\n    ${peer}\n  }`,
})}`;
  const r1 = start('r1', ns1, conf('global_defs {\n  log_unknown_vrids\n}', 51, '192.0.2.1', '192.0.2.2'));
  const r2 = start('r2', ns2, conf('', 52, '192.0.2.2', '192.0.2.1'));
  await r1.waitFor(MASTER(), 5000);
  await r2.waitFor(MASTER(), 5000);
  const m1 = r1.mark();
  // 0.1 s adverts: some 25 from VRID 52 in this time, each seen by both of r1's sockets.
  await sleep(2500);
  const lines = r1.grep(/Unknown VRID/, m1);
  assert.ok(lines.length >= 2 && lines.length <= 4, r1.log());
  for (const l of lines) {
    const m =
      /Unknown VRID\(52\) received on interface\(eth0\)\. ignoring\.\.\.(?: \((\d+) more since last report\))?$/.exec(
        l.text,
      );
    assert.ok(m, l.text);
    // Ten adverts a second, each seen by both sockets: counted once each (not 19 held back), by one socket.
    assert.ok(Number(m[1] ?? 0) <= 12, l.text);
  }
  for (let k = 1; k < lines.length; k++)
    assert.ok(lines[k]!.rxMs - lines[k - 1]!.rxMs >= 900, 'one a second, not one per socket or advert');
  assert.equal(r2.grep(/Unknown VRID/).length, 0, 'off unless configured');
});
