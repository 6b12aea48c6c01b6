// IPv6 VIPs' preferred lifetime in the kernel, as keepalived 2.2.7 adds them: a /128 (an address written
// without a prefix) is "deprecated" (preferred_lft 0) so that the host never picks it as a source address,
// a shorter prefix is preferred forever, and `preferred_lft N|forever` says otherwise. The same
// configuration runs under both implementations; the kernel's view of the VIPs must be the same.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, waitUntil } from './router.js';

const cleanups = cleanupAfter();

const VIPS = [
  'fe80::51',
  '2001:db8::100',
  '2001:db8:1::100/64',
  '2001:db8::101 preferred_lft forever',
  '2001:db8::102/64 preferred_lft 0',
  '2001:db8::103 preferred_lft 3600',
];

/** `ADDRESS/LEN FLAGS… preferred_lft P` of each VIP on eth0 (`ip -6 -o addr`), valid lifetime left out. */
function vipLines(ns: string): string[] {
  const out = ip('-n', ns, '-6', '-o', 'addr', 'show', 'dev', 'eth0');
  return out
    .split('\n')
    .filter((l) => /inet6 (fe80::51|2001:db8(:1)?::1\d)/.test(l))
    .map((l) => {
      const m = /inet6 (\S+) (.*?)\\\s+valid_lft \S+ preferred_lft (\S+)/.exec(l);
      assert.ok(m, l);
      // A lifetime counting down shows as e.g. 3599sec: the minute is enough.
      const lft =
        m[3] === 'forever' || m[3] === '0sec' ? m[3] : `${Math.round(Number.parseInt(m[3]!, 10) / 60)}min`;
      return `${m[1]} ${m[2]!.trim()} preferred_lft ${lft}`;
    })
    .sort();
}

async function installed(impl: Impl): Promise<string[]> {
  const h = loneRouterNetns(`vl${impl}`, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  ip('-n', h.ns, '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad');
  const r = startPeer(impl, `vl${impl}r`, h.ns, vrrpInstanceConf({ vips: VIPS }));
  cleanups.push(() => r.removeDir());
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  await waitUntil(() => vipLines(h.ns).length === VIPS.length, 3000, 'every VIP in the kernel');
  const lines = vipLines(h.ns);
  await r.stop('SIGTERM', 8000);
  return lines;
}

for (const impl of ['ts', 'ka'] as const) {
  describe(`IPv6 VIP lifetimes (${implName(impl)})`, { skip: implSkip(impl) }, () => {
    test('a /128 is deprecated unless preferred_lft says otherwise', { timeout: 30_000 }, async () => {
      assert.deepEqual(await installed(impl), [
        '2001:db8:1::100/64 scope global nodad preferred_lft forever',
        '2001:db8::100/128 scope global nodad deprecated preferred_lft 0sec',
        '2001:db8::101/128 scope global nodad preferred_lft forever',
        '2001:db8::102/64 scope global nodad deprecated preferred_lft 0sec',
        '2001:db8::103/128 scope global nodad preferred_lft 60min',
        'fe80::51/128 scope link nodad deprecated preferred_lft 0sec',
      ]);
    });
  });
}
