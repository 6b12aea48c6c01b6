// Protocol rules that only show between two implementations, keepalived-ts beside keepalived 2.2.7 (VRRPv3,
// IPv4 multicast):
//  * split brain healing with EQUAL priorities: both are MASTER while their bridge ports are detached; once
//    re-attached, the one with the lower primary address yields (RFC 5798 §6.4.3), whichever implementation
//    it is;
//  * a Backup adopts the Master's advert interval (RFC 5798 §6.4.2 Master_Adver_Interval): configured 1 s but
//    hearing 100 ms adverts, it detects a silent master in ~3 × 100 ms, not ~3 s;
//  * an advert whose address list differs from ours is dropped and counted (AddressListErrors), as keepalived
//    does (docs/hostile-network.md): a keepalived-ts backup of a keepalived master that advertises one VIP
//    more becomes master too, as a keepalived backup would;
//  * two VRIDs on one interface, one mastered by each implementation, are told apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dumpedInstance, jsonDumpLine, sleep, waitUntil } from '../daemon/router.js';
import { ip } from '../helpers/netns.js';
import { addHost, holders, type Impl, implName, interopSkip, LabPerTest, startPeer } from './peers.js';

const skip = interopSkip();
const VIP = '192.0.2.100';

const each = new LabPerTest();

function conf(o: {
  vrid: number;
  priority: number;
  advertIntS: number;
  vips?: string[];
  extra?: string;
}): string {
  const vips = (o.vips ?? [`${VIP}/24`]).map((v) => `    ${v}\n`).join('');
  return `${o.extra ?? ''}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id ${o.vrid}
  version 3
  priority ${o.priority}
  advert_int ${o.advertIntS}
  virtual_ipaddress {
${vips}  }
}
`;
}

for (const lowImpl of ['ts', 'ka'] as Impl[]) {
  const highImpl: Impl = lowImpl === 'ts' ? 'ka' : 'ts';
  test(`equal priorities, split brain healed: ${implName(lowImpl)} at the lower address yields to ${implName(highImpl)}`, {
    skip,
    timeout: 20_000,
  }, async () => {
    const lab = each.open(`itb${lowImpl}`);
    const nsLow = addHost(lab, 'lo', 4, 1); // 192.0.2.1
    const nsHigh = addHost(lab, 'hi', 4, 2); // 192.0.2.2
    const ports = [lab.portOf('lo'), lab.portOf('hi')];
    // Detached from the bridge (carrier stays up): each hears nobody and becomes MASTER.
    for (const p of ports) ip('-n', lab.bridgeNs, 'link', 'set', p, 'nomaster');
    const c = conf({ vrid: 41, priority: 100, advertIntS: 0.1 });
    const low = startPeer(lowImpl, `low-${lowImpl}`, nsLow, c);
    const high = startPeer(highImpl, `high-${highImpl}`, nsHigh, c);
    each.routers.push(low, high);
    await low.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000);
    await high.waitFor(/\(VI_1\) Entering MASTER STATE/, 6000);
    assert.deepEqual(holders([nsLow, nsHigh], VIP), [nsLow, nsHigh], 'split brain: both hold the VIP');

    const marks = [low.mark(), high.mark()];
    for (const p of ports) ip('-n', lab.bridgeNs, 'link', 'set', p, 'master', 'br0');
    await low.waitFor(/\(VI_1\) Entering BACKUP STATE/, 2000, marks[0]);
    await waitUntil(
      () => holders([nsLow, nsHigh], VIP).join() === nsHigh,
      2000,
      'VIP on the higher address only',
    );
    await sleep(500);
    assert.equal(high.grep(/Entering/, marks[1]).length, 0, `higher address stayed MASTER\n${high.log()}`);
    assert.equal(low.lastState(), 'BACKUP', low.log());
  });
}

for (const backupImpl of ['ts', 'ka'] as Impl[]) {
  const masterImpl: Impl = backupImpl === 'ts' ? 'ka' : 'ts';
  test(`${implName(backupImpl)} backup (advert_int 1) adopts ${implName(masterImpl)}'s 100 ms interval`, {
    skip,
    timeout: 20_000,
  }, async () => {
    const lab = each.open(`iai${backupImpl}`);
    const nsM = addHost(lab, 'm', 4, 1);
    const nsB = addHost(lab, 'b', 4, 2);
    const master = startPeer(
      masterImpl,
      `master-${masterImpl}`,
      nsM,
      conf({ vrid: 42, priority: 200, advertIntS: 0.1 }),
    );
    each.routers.push(master);
    await master.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    const backup = startPeer(
      backupImpl,
      `backup-${backupImpl}`,
      nsB,
      conf({ vrid: 42, priority: 100, advertIntS: 1 }),
    );
    each.routers.push(backup);
    await backup.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
    await sleep(500); // several 100 ms adverts: Master_Adver_Interval adopted
    assert.equal(backup.lastState(), 'BACKUP');

    const mark = backup.mark();
    // Timed from when the cut is done (`ip` may wait on the RTNL lock behind other tests' namespaces).
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('m'), 'down');
    const cutAt = Date.now();
    const took = await backup.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, mark);
    const ms = (took.stampMs ?? took.rxMs) - cutAt;
    // Adopted: 3 × 100 ms + (256 − 100) × 100 / 256 ms ≈ 361 ms. Not adopted: 3 × 1 s + 0.61 s.
    assert.ok(
      ms < 1000,
      `takeover ${ms} ms after the cut: the 100 ms interval was not adopted\n${backup.log()}`,
    );
    console.log(
      `# ${implName(backupImpl)} backup configured 1 s, master at 100 ms: silent-master takeover ${ms} ms`,
    );
    await waitUntil(() => holders([nsB], VIP).length === 1, 1000, 'VIP on the backup');
  });
}

test('keepalived-ts backup drops the adverts of a keepalived master advertising another address list', {
  skip,
  timeout: 20_000,
}, async () => {
  const lab = each.open('ial');
  const nsM = addHost(lab, 'm', 4, 1);
  const nsB = addHost(lab, 'b', 4, 2);
  const master = startPeer(
    'ka',
    'master-ka',
    nsM,
    conf({ vrid: 43, priority: 200, advertIntS: 0.1, vips: [`${VIP}/24`, '192.0.2.101/24'] }),
  );
  each.routers.push(master);
  await master.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  const backup = startPeer('ts', 'backup-ts', nsB, (dir) =>
    conf({
      vrid: 43,
      priority: 100,
      advertIntS: 0.1,
      extra: `global_defs {\n  ${jsonDumpLine(dir)}\n}`,
    }),
  );
  each.routers.push(backup);
  await backup.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
  // Every advert dropped: MASTER after its down timer (~0.36 s), both hold the VIP, as with a keepalived backup.
  await backup.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000);
  await backup.waitFor(/\(VI_1\) received an unexpected ip number count 2, expected 1!/, 3000);
  await sleep(500);
  assert.deepEqual(holders([nsM, nsB], VIP), [nsM, nsB]);
  const stats = (await dumpedInstance(backup))!.stats;
  assert.ok((stats.AddressListErrors ?? 0) >= 3, JSON.stringify(stats));
  assert.equal(master.lastState(), 'MASTER', 'the keepalived master drops our adverts likewise');
});

test('two VRIDs on one interface, each implementation master of one: demultiplexed, nothing rejected', {
  skip,
  timeout: 20_000,
}, async () => {
  const lab = each.open('idv');
  const nsT = addHost(lab, 't', 4, 1);
  const nsK = addHost(lab, 'k', 4, 2);
  const two = (p44: number, p45: number) => `
vrrp_instance VI_44 {
  interface eth0
  virtual_router_id 44
  version 3
  priority ${p44}
  advert_int 0.1
  virtual_ipaddress { 192.0.2.144/24 }
}
vrrp_instance VI_45 {
  interface eth0
  virtual_router_id 45
  version 3
  priority ${p45}
  advert_int 0.1
  virtual_ipaddress { 192.0.2.145/24 }
}
`;
  const ts = startPeer('ts', 'ts', nsT, two(200, 100));
  const ka = startPeer('ka', 'ka', nsK, two(100, 200));
  each.routers.push(ts, ka);
  await waitUntil(
    () =>
      ts.lastState('VI_44') === 'MASTER' &&
      ts.lastState('VI_45') === 'BACKUP' &&
      ka.lastState('VI_44') === 'BACKUP' &&
      ka.lastState('VI_45') === 'MASTER',
    6000,
    'keepalived-ts master of 44, keepalived master of 45',
  );
  await waitUntil(
    () =>
      holders([nsT, nsK], '192.0.2.144').join() === nsT && holders([nsT, nsK], '192.0.2.145').join() === nsK,
    2000,
    'each VIP on its master only',
  );
  const marks = [ts.mark(), ka.mark()];
  await sleep(1000);
  assert.equal(ts.grep(/Entering/, marks[0]).length, 0, ts.log());
  assert.equal(ka.grep(/Entering/, marks[1]).length, 0, ka.log());
  // -D logs every packet keepalived-ts rejects: the other VRID's adverts must not be among them.
  assert.deepEqual(
    ts.grep(/dropped advert/).map((l) => l.text),
    [],
    ts.log(),
  );
});
