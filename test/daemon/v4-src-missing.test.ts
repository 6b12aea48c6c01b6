// An IPv4 unicast instance whose unicast_src_ip is on no interface at start, beside a healthy instance
// (docs/hostile-network.md, 'A source address missing at start'). Its peers send their adverts to that
// address, so it would never hear them: running it would make a second master. keepalived 2.2.7 fails to
// bind its unicast socket and holds the instance in FAULT, for good (nothing binds again); keepalived-ts holds
// it in FAULT until the address is on the host, then brings it up. Without track_src_ip a later deletion
// changes nothing, in both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, holds, waitUntil } from './router.js';

const cleanups = cleanupAfter();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

const conf =
  vrrpInstanceConf({ name: 'VI_OK', vrid: 50, vips: ['192.0.2.100/32'] }) +
  vrrpInstanceConf({
    name: 'VI_1',
    vrid: 51,
    vips: ['192.0.2.101/32'],
    extra: 'unicast_src_ip 192.0.2.9\n  unicast_peer {\n    192.0.2.2\n  }',
  });

for (const impl of ['ts', 'ka'] as const) {
  describe(`IPv4 unicast source missing at start (${implName(impl)})`, { skip: implSkip(impl) }, () => {
    test('the instance is FAULT while no interface has its source', { timeout: 40_000 }, async () => {
      const h = loneRouterNetns(`v4s${impl}`, cleanups);
      cleanups.push(() => killProcessesIn(h.ns));
      const r = startPeer(impl, `v4s${impl}r`, h.ns, conf);
      cleanups.push(() => r.removeDir());
      await r.waitFor(/\(VI_OK\) Entering MASTER STATE/, 8000);
      await r.waitFor(/\(VI_1\): entering FAULT state \(src address not configured\)/, 3000);
      await sleep(1000);
      assert.equal(r.lastState('VI_1'), 'FAULT', r.log());
      assert.ok(!holds(h.ns, '192.0.2.101'));
      const add = r.mark();
      ip('-n', h.ns, 'addr', 'add', '192.0.2.9/24', 'dev', 'eth0');
      if (impl === 'ka') {
        // 2.2.7 never binds again: FAULT until restart.
        await sleep(2500);
        assert.equal(r.lastState('VI_1'), 'FAULT', r.log());
        return;
      }
      await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000, add);
      await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, add);
      await waitUntil(() => holds(h.ns, '192.0.2.101'), 3000, 'the VIP set');
      // Seen once, the source's deletion is not a fault without track_src_ip.
      ip('-n', h.ns, 'addr', 'del', '192.0.2.9/24', 'dev', 'eth0');
      await sleep(1500);
      assert.equal(r.lastState('VI_1'), 'MASTER', r.log());
    });
  });
}
