// garp_extra_if side by side with keepalived 2.2.7 (docs/keepalived-semantics.md, 'GARP and unsolicited NA'):
// an instance on eth0 with two VIPs `dev eth1`; with `garp_extra_if 1 all` the master sends one gratuitous ARP
// on eth1, for the first of them, at the first advert sent once a second has run — every 1.2 s with
// advert_int 0.3, every second with advert_int 1 — and none without the keyword. Frames counted with tcpdump
// on eth1 after the initial burst (garp_master_delay 0: no second block). The same expectations hold for both
// implementations, so they are 2.2.7's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { tcpdumpInstalled, VrrpCapture } from '../interop/capture.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { cleanupAfter } from './router.js';

const cleanups = cleanupAfter();

function conf(advertInt: number, extra: string): string {
  return `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  version 3
  priority 100
  advert_int ${advertInt}
  garp_master_delay 0
  garp_master_repeat 1
  ${extra}
  virtual_ipaddress {
    192.0.2.100/24
    198.51.100.100/24 dev eth1
    198.51.100.101/24 dev eth1
  }
}
`;
}

/** The GARPs seen on eth1 from becoming master until `windowMs` after it, in ms since the burst. */
async function eth1Garps(impl: Impl, label: string, advertInt: number, extra: string, windowMs: number) {
  const h = loneRouterNetns(label, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  ip('-n', h.ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
  ip('-n', h.ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1');
  ip('-n', h.ns, 'link', 'set', 'eth1', 'up');
  ip('-n', h.ns, 'link', 'set', 'eth1p', 'up');
  const cap = new VrrpCapture(h.ns, 'eth1', { announcements: true });
  cleanups.push(() => cap.stop());
  await cap.ready();
  const r = startPeer(impl, `${label}r`, h.ns, conf(advertInt, extra));
  cleanups.push(() => r.removeDir());
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await new Promise((res) => setTimeout(res, windowMs + 300));
  await r.stop('SIGTERM', 8000);
  const all = cap.announcements;
  const burst = all.find((a) => a.address === '198.51.100.100');
  assert.ok(burst, `no GARP on eth1 at all: ${JSON.stringify(all)}`);
  const since = (addr: string) =>
    all
      .filter((a) => a.address === addr && a.atMs > burst.atMs + 100 && a.atMs <= burst.atMs + windowMs)
      .map((a) => Math.round(a.atMs - burst.atMs));
  return { first: since('198.51.100.100'), second: since('198.51.100.101') };
}

/** Each time within 150 ms of the expected one (the schedulers' latency; 2.2.7's timer wheel). */
function near(got: number[], want: number[]): void {
  assert.equal(got.length, want.length, `GARPs at ${got.join(', ')} ms, expected about ${want.join(', ')}`);
  for (const [k, w] of want.entries())
    assert.ok(
      Math.abs(got[k]! - w) <= 150,
      `GARPs at ${got.join(', ')} ms, expected about ${want.join(', ')}`,
    );
}

for (const impl of ['ts', 'ka'] as const) {
  const skip = implSkip(impl) || (tcpdumpInstalled() ? false : 'tcpdump not installed');
  describe(`garp_extra_if (${implName(impl)})`, { skip }, () => {
    test('advert_int 0.3, garp_extra_if 1 all: one GARP for the first eth1 VIP every 1.2 s', {
      timeout: 30_000,
    }, async () => {
      const g = await eth1Garps(impl, `gx${impl}a`, 0.3, 'garp_extra_if 1 all', 5000);
      near(g.first, [1200, 2400, 3600, 4800]);
      assert.deepEqual(g.second, []);
    });

    test('advert_int 1, vmac_garp_intvl 1 all (deprecated spelling): every second', {
      timeout: 30_000,
    }, async () => {
      const g = await eth1Garps(impl, `gx${impl}b`, 1, 'vmac_garp_intvl 1 all', 4500);
      near(g.first, [1000, 2000, 3000, 4000]);
      assert.deepEqual(g.second, []);
    });

    test('without the keyword, or without all: nothing after the burst', { timeout: 30_000 }, async () => {
      assert.deepEqual(await eth1Garps(impl, `gx${impl}c`, 0.3, '', 3000), { first: [], second: [] });
      // `all` missing: only VMACs made for single addresses would count (use_vmac_addr, not implemented).
      assert.deepEqual(await eth1Garps(impl, `gx${impl}d`, 0.3, 'garp_extra_if 1', 3000), {
        first: [],
        second: [],
      });
    });
  });
}
