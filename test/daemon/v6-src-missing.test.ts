// An IPv6 instance whose configured source (unicast_src_ip / mcast_src_ip) cannot be bound at start — not on
// the host yet, or still tentative (DAD running) — beside a healthy IPv4 instance (docs/hostile-network.md,
// 'A source address missing at start'). keepalived-ts runs: the healthy instance becomes MASTER, the other
// starts in FAULT and comes up (BACKUP, then MASTER) once the address is usable. The reference keepalived
// 2.2.7 runs the same configurations: its unicast instance stays in FAULT after the address arrives (nothing
// retries its bind), and its multicast one, whose socket is not bound to the source, becomes MASTER at once
// while every advert fails (EINVAL) until the address arrives. The expectations say which does what.
// keepalived-ts alone: a reload adding such an instance, an interface created later (dynamic_interfaces), and
// track_src_ip after the late bind (a runtime deletion is a FAULT with it, nothing without it).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, holds, type Router, waitUntil } from './router.js';

const cleanups = cleanupAfter();

const UNICAST_SRC = '2001:db8::1';
const MCAST_SRC = '2001:db8::3';
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** The healthy IPv4 instance (eth0 has 192.0.2.1/24). */
const healthy = vrrpInstanceConf({ name: 'VI_OK', vrid: 50, vips: ['192.0.2.100/32'] });
/** VI_1: IPv6 unicast from UNICAST_SRC (a peer that does not answer). */
const unicast = (extra: string[] = []) =>
  vrrpInstanceConf({
    name: 'VI_1',
    vrid: 51,
    vips: ['2001:db8::101/128'],
    extra: [`unicast_src_ip ${UNICAST_SRC}`, 'unicast_peer {\n    2001:db8::2\n  }', ...extra].join('\n  '),
  });
/** VI_2: IPv6 multicast from MCAST_SRC. */
const multicast = vrrpInstanceConf({
  name: 'VI_2',
  vrid: 52,
  vips: ['2001:db8::102/128'],
  extra: `mcast_src_ip ${MCAST_SRC}`,
});

/** A lone router (eth0 192.0.2.1/24) with `conf`; `before` runs on its namespace just before the start. */
function router(impl: Impl, label: string, conf: string, before: (ns: string) => void = () => {}) {
  const h = loneRouterNetns(`v6s${label}`, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  before(h.ns);
  const r = startPeer(impl, `v6s${label}r`, h.ns, conf);
  cleanups.push(() => r.removeDir());
  return { r, ns: h.ns };
}

const addAddress = (ns: string, address: string, nodad = true) =>
  ip('-n', ns, '-6', 'addr', 'add', `${address}/64`, 'dev', 'eth0', ...(nodad ? ['nodad'] : []));

/** The instance comes up after `from`: BACKUP, then MASTER, its VIP set. */
async function comesUp(r: Router, ns: string, instance: string, vip: string, from: number): Promise<void> {
  await r.waitFor(new RegExp(`\\(${instance}\\) Entering BACKUP STATE`), 5000, from);
  await r.waitFor(new RegExp(`\\(${instance}\\) Entering MASTER STATE`), 5000, from);
  await waitUntil(() => holds(ns, vip), 3000, `${vip} set`);
}

/** The instance in FAULT (logged as 2.2.7 does), and still there `ms` later with its VIP absent. */
async function staysFault(r: Router, ns: string, instance: string, vip: string, ms: number): Promise<void> {
  await r.waitFor(
    new RegExp(`\\(${instance}\\): entering FAULT state \\(src address not configured\\)`),
    8000,
  );
  await r.waitFor(new RegExp(`\\(${instance}\\) Entering FAULT STATE`), 3000);
  await sleep(ms);
  assert.equal(r.lastState(instance), 'FAULT', r.log());
  assert.ok(!holds(ns, vip), `${vip} not set`);
}

for (const impl of ['ts', 'ka'] as const) {
  describe(`IPv6 source missing at start (${implName(impl)})`, { skip: implSkip(impl) }, () => {
    test('unicast_src_ip absent: the daemon runs, that instance is FAULT', { timeout: 40_000 }, async () => {
      const { r, ns } = router(impl, `${impl}u`, healthy + unicast());
      await r.waitFor(/\(VI_OK\) Entering MASTER STATE/, 8000);
      if (impl === 'ka') await r.waitFor(/bind unicast_src 2001:db8::1 failed 99/, 3000);
      else await r.waitFor(/\(VI_1\) bind \(vrrp eth0\) failed: EADDRNOTAVAIL/, 3000);
      await staysFault(r, ns, 'VI_1', '2001:db8::101', 1000);
      assert.equal(r.lastState('VI_OK'), 'MASTER');
      const add = r.mark();
      addAddress(ns, UNICAST_SRC);
      if (impl === 'ka') {
        // 2.2.7 never binds again: FAULT until restart.
        await sleep(2500);
        assert.equal(r.lastState('VI_1'), 'FAULT', r.log());
        assert.ok(!holds(ns, '2001:db8::101'));
        return;
      }
      await r.waitFor(/\(VI_1\) socket bound to source 2001:db8::1/, 3000, add);
      await comesUp(r, ns, 'VI_1', '2001:db8::101', add);
      assert.equal(r.lastState('VI_OK'), 'MASTER');
    });

    test('mcast_src_ip absent', { timeout: 40_000 }, async () => {
      const { r, ns } = router(impl, `${impl}m`, healthy + multicast);
      await r.waitFor(/\(VI_OK\) Entering MASTER STATE/, 8000);
      if (impl === 'ka') {
        // 2.2.7's multicast socket is not bound to the source: MASTER with its VIP, every advert refused.
        await r.waitFor(/\(VI_2\) Entering MASTER STATE/, 5000);
        await r.waitFor(/\(VI_2\): send advert error 22/, 3000);
        assert.equal(r.grep(/\(VI_2\).*FAULT/).length, 0, r.log());
        return;
      }
      await staysFault(r, ns, 'VI_2', '2001:db8::102', 1000);
      const add = r.mark();
      addAddress(ns, MCAST_SRC);
      await comesUp(r, ns, 'VI_2', '2001:db8::102', add);
      assert.equal(r.lastState('VI_OK'), 'MASTER');
    });

    test('unicast_src_ip tentative at start (DAD running)', { timeout: 40_000 }, async () => {
      const { r, ns } = router(impl, `${impl}t`, healthy + unicast(), (n) =>
        addAddress(n, UNICAST_SRC, false),
      );
      await r.waitFor(/\(VI_OK\) Entering MASTER STATE/, 8000);
      await r.waitFor(/\(VI_1\): entering FAULT state \(src address not configured\)/, 3000);
      if (impl === 'ka') {
        // The bind failed on the tentative address; DAD's end changes nothing.
        await waitUntil(
          () => !ip('-n', ns, '-6', 'addr', 'show', 'dev', 'eth0').includes('tentative'),
          5000,
          'DAD',
        );
        await sleep(1500);
        assert.equal(r.lastState('VI_1'), 'FAULT', r.log());
        return;
      }
      await r.waitFor(/\(VI_1\) socket bound to source 2001:db8::1/, 5000);
      await comesUp(r, ns, 'VI_1', '2001:db8::101', 0);
    });
  });
}

describe('IPv6 source missing (keepalived-ts only)', { skip: implSkip('ts') }, () => {
  test('a reload adding an instance whose source is absent', { timeout: 40_000 }, async () => {
    const { r, ns } = router('ts', 'tsr', healthy);
    await r.waitFor(/\(VI_OK\) Entering MASTER STATE/, 8000);
    const reload = r.mark();
    writeFileSync(r.conf, healthy + unicast());
    r.proc.kill('SIGHUP');
    await r.waitFor(/Reload finished/, 5000, reload);
    await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, reload);
    await sleep(1000);
    assert.equal(r.lastState('VI_1'), 'FAULT', r.log());
    assert.equal(r.lastState('VI_OK'), 'MASTER');
    const add = r.mark();
    addAddress(ns, UNICAST_SRC);
    await comesUp(r, ns, 'VI_1', '2001:db8::101', add);
  });

  test('dynamic_interfaces: the interface created later, its source later still', {
    timeout: 40_000,
  }, async () => {
    // VI_1 on eth1, which does not exist at start: when it is created its socket waits for the source.
    const conf = `global_defs {\n  dynamic_interfaces\n}\n${healthy}${unicast().replace('interface eth0', 'interface eth1')}`;
    const { r, ns } = router('ts', 'tsd', conf);
    await r.waitFor(/\(VI_OK\) Entering MASTER STATE/, 8000);
    await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000);
    const made = r.mark();
    ip('-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
    ip('-n', ns, 'link', 'set', 'eth1p', 'up');
    ip('-n', ns, 'link', 'set', 'eth1', 'up');
    await r.waitFor(/\(VI_1\) bind \(vrrp eth1\) failed: EADDRNOTAVAIL/, 3000, made);
    await sleep(1000);
    assert.equal(r.grep(/\(VI_1\) Entering (BACKUP|MASTER) STATE/, made).length, 0, r.log());
    assert.equal(r.lastState('VI_1'), 'FAULT');
    const add = r.mark();
    ip('-n', ns, '-6', 'addr', 'add', `${UNICAST_SRC}/64`, 'dev', 'eth1', 'nodad');
    await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000, add);
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, add);
    await waitUntil(() => holds(ns, '2001:db8::101', 'eth1'), 3000, 'the VIP set');
  });

  test('with track_src_ip: absent at start, added, deleted, added', { timeout: 40_000 }, async () => {
    const { r, ns } = router('ts', 'tsk', healthy + unicast(['track_src_ip']));
    await staysFault(r, ns, 'VI_1', '2001:db8::101', 500);
    let mark = r.mark();
    addAddress(ns, UNICAST_SRC);
    await comesUp(r, ns, 'VI_1', '2001:db8::101', mark);
    mark = r.mark();
    ip('-n', ns, '-6', 'addr', 'del', `${UNICAST_SRC}/64`, 'dev', 'eth0');
    await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, mark);
    await waitUntil(() => !holds(ns, '2001:db8::101'), 3000, 'the VIP removed');
    mark = r.mark();
    addAddress(ns, UNICAST_SRC);
    await comesUp(r, ns, 'VI_1', '2001:db8::101', mark);
  });

  test('without track_src_ip the address deleted at runtime changes nothing', {
    timeout: 40_000,
  }, async () => {
    const { r, ns } = router('ts', 'tsn', healthy + unicast(), (n) => addAddress(n, UNICAST_SRC));
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    const del = r.mark();
    ip('-n', ns, '-6', 'addr', 'del', `${UNICAST_SRC}/64`, 'dev', 'eth0');
    await sleep(1500);
    assert.deepEqual(
      r.grep(/\(VI_1\) Entering \w+ STATE/, del).map((l) => l.text),
      [],
    );
    assert.equal(r.lastState('VI_1'), 'MASTER');
  });
});
