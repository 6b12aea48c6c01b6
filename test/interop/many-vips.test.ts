// One instance with more VIPs than an advert carries: 450 IPv4 VIPs (VRRPv2 and v3) and 300 IPv6 VIPs. As
// keepalived 2.2.7: the excess moves to the excluded VIPs with keepalived's message, the advert carries
// what fits (255 IPv4, 89 IPv6 at MTU 1500), every address is installed, all are removed on stop. The
// advert is compared with keepalived's byte for byte: each implementation runs alone in the same namespace
// (same source address), one after the other, and the VRRP payload of its first master advert is kept.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { killAllRouters, type Router } from '../daemon/router.js';
import { createLoEth0Netns, ip, Lab } from '../helpers/netns.js';
import { readPcapFrames } from '../net/pcap.js';
import { tcpdumpIn } from './capture.js';
import { type Impl, interopSkip, startPeer, TCPDUMP } from './peers.js';

const skip = interopSkip(TCPDUMP);

const cleanups: (() => void)[] = [];
after(() => {
  killAllRouters();
  for (const c of cleanups) c();
});

interface Case {
  label: string;
  version: 2 | 3;
  family: 4 | 6;
  vips: string[];
  advertised: number;
}

const v4 = [
  ...Array.from({ length: 250 }, (_, k) => `198.51.100.${k + 1}`),
  ...Array.from({ length: 200 }, (_, k) => `192.0.2.${k + 2}`),
];
const v6 = Array.from({ length: 300 }, (_, k) => `2001:db8:7::${(k + 1).toString(16)}`);
const cases: Case[] = [
  { label: 'VRRPv2, 450 IPv4 VIPs', version: 2, family: 4, vips: v4, advertised: 255 },
  { label: 'VRRPv3, 450 IPv4 VIPs', version: 3, family: 4, vips: v4, advertised: 255 },
  { label: 'VRRPv3, 300 IPv6 VIPs', version: 3, family: 6, vips: v6, advertised: 89 },
];

function conf(c: Case): string {
  const bits = c.family === 4 ? 32 : 128;
  return `vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id 61
  version ${c.version}
  priority 150
  advert_int 1
  virtual_ipaddress {
${c.vips.map((v) => `    ${v}/${bits}`).join('\n')}
  }
}
`;
}

const held = (ns: string, vips: string[]) => {
  const text = ip('-n', ns, '-o', 'addr', 'show', 'dev', 'eth0');
  return vips.filter((v) => text.includes(` ${v}/`)).length;
};

/** The VRRP payload of the first advert in a capture (Ethernet, IPv4 or IPv6 without extension headers). */
function firstAdvert(file: string): Buffer | undefined {
  for (const f of readPcapFrames(file)) {
    const type = f.readUInt16BE(12);
    if (type === 0x0800 && f[14 + 9] === 112) return f.subarray(14 + (f[14]! & 0x0f) * 4);
    if (type === 0x86dd && f[14 + 6] === 112) return f.subarray(14 + 40, 14 + 40 + f.readUInt16BE(14 + 4));
  }
  return undefined;
}

async function run(impl: Impl, c: Case, ns: string, dir: string) {
  const pcap = join(dir, `${impl}.pcap`);
  const dump = tcpdumpIn(
    ns,
    ['-i', 'eth0', '-n', '-p', '-U', '-w', pcap, 'ip proto 112 or ip6 proto 112'],
    'ignore',
  );
  await new Promise<void>((res) =>
    dump.stderr!.on('data', (d: Buffer) => /listening/.test(d.toString()) && res()),
  );
  const r: Router = startPeer(impl, `mv-${impl}`, ns, conf(c));
  try {
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000);
    // Two adverts as master, and time for every address to be installed.
    await new Promise((res) => setTimeout(res, 2500));
    const installed = held(ns, c.vips);
    assert.equal(await r.stop('SIGTERM', 10_000), 0, r.log().slice(-2000));
    const removed = c.vips.length - held(ns, c.vips);
    return { installed, removed, log: r.log() };
  } finally {
    r.kill();
    dump.kill('SIGINT');
    await new Promise((res) => dump.once('exit', res));
  }
}

describe('more VIPs than an advert carries, beside keepalived 2.2.7', () => {
  for (const c of cases) {
    test(c.label, { skip, timeout: 90_000 }, async () => {
      const { ns, close } = createLoEth0Netns('mvip');
      cleanups.push(close);
      ip('-n', ns, 'addr', 'add', c.family === 4 ? '192.0.2.1/24' : '2001:db8::1/64', 'dev', 'eth0', 'nodad');
      // An IPv6 instance sends from the link-local address: wait for its DAD.
      if (c.family === 6) await new Promise((res) => setTimeout(res, 2500));
      const dir = mkdtempSync(join(tmpdir(), 'kats-mvip-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const results = { ts: await run('ts', c, ns, dir), ka: await run('ka', c, ns, dir) };
      const message = new RegExp(
        `\\(VI_1\\) Number of VIPs \\(${c.vips.length}\\) exceeds maximum/space available in packet \\(max ${c.advertised} addresses\\) - excess moved to eVIPs`,
      );
      for (const impl of ['ts', 'ka'] as const) {
        assert.match(results[impl].log, message, `${impl} says where the excess went`);
        assert.equal(results[impl].installed, c.vips.length, `${impl} installs every VIP`);
      }
      // keepalived 2.2.7 itself left all 450 in place on stop in the VRRPv2 run (not asserted for it).
      assert.equal(results.ts.removed, c.vips.length, 'keepalived-ts removes every VIP on stop');
      const ts = firstAdvert(join(dir, 'ts.pcap'));
      const ka = firstAdvert(join(dir, 'ka.pcap'));
      assert.ok(ts && ka, 'both sent adverts');
      assert.equal(ts[3], c.advertised, 'count field');
      assert.equal(ts.toString('hex'), ka.toString('hex'), 'the adverts are the same bytes');
    });
  }
});

/** `conf` with another priority (the same VIP list on both nodes, as a cluster has). */
const confAt = (c: Case, priority: number) =>
  conf(c).replace('priority 150', `priority ${priority}\n  garp_master_delay 0`);

describe('a mixed cluster with 450 VIPs: keepalived-ts and keepalived 2.2.7 accept each other', () => {
  const c = cases[0]!;
  for (const [highImpl, lowImpl] of [
    ['ts', 'ka'],
    ['ka', 'ts'],
  ] as const) {
    test(`${highImpl === 'ts' ? 'keepalived-ts' : 'keepalived'} master, the other backs up and takes over`, {
      skip,
      timeout: 90_000,
    }, async () => {
      const lab = new Lab(`mvc${highImpl}`);
      cleanups.push(() => lab.close());
      const hi = lab.addHost('hi');
      const lo = lab.addHost('lo');
      ip('-n', hi, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
      ip('-n', lo, 'addr', 'add', '192.0.2.250/24', 'dev', 'eth0');
      const h = startPeer(highImpl, `mvc-h-${highImpl}`, hi, confAt(c, 200));
      await h.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000);
      // Until the master holds every address and has sent its announcements. keepalived 2.2.7 sends no
      // advert while it sends its gratuitous ARPs: at load 10 its 450 took 8.5 s (one every ~4 ms, seen in
      // a capture beside its log), so a backup started during them rightly took over. The configuration
      // has no delayed second round (garp_master_delay 0), and the wait covers the first round.
      for (let k = 0; k < 300 && held(hi, c.vips) < c.vips.length; k++)
        await new Promise((res) => setTimeout(res, 100));
      if (highImpl === 'ka')
        for (let k = 0; k < 600 && h.grep(/Sending gratuitous ARP on eth0 for/).length < c.vips.length; k++)
          await new Promise((res) => setTimeout(res, 100));
      await new Promise((res) => setTimeout(res, 2000));
      const l = startPeer(lowImpl, `mvc-l-${lowImpl}`, lo, confAt(c, 100));
      await l.waitFor(/\(VI_1\) Entering BACKUP STATE/, 15_000);
      // Several adverts later the backup still follows the master: neither drops the other's 255-address
      // adverts as another cluster's (the address-list check) nor takes over.
      await new Promise((res) => setTimeout(res, 4500));
      assert.equal(
        l.grep(/Entering MASTER STATE/).length,
        0,
        `${lowImpl} stayed backup\n${l.log().slice(-2000)}\nthe master:\n${h.lines
          .slice(-40)
          .map((x) => `${new Date(x.rxMs).toISOString()} ${x.text}`)
          .join('\n')}`,
      );
      assert.equal(
        l.grep(/not present in MASTER advert|unexpected ip number count/).length,
        0,
        l.log().slice(-2000),
      );
      assert.equal(held(hi, c.vips), c.vips.length);
      // The master stops: the backup takes every address.
      await h.stop('SIGTERM', 15_000);
      await l.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
      for (let k = 0; k < 50 && held(lo, c.vips) < c.vips.length; k++)
        await new Promise((res) => setTimeout(res, 100));
      assert.equal(held(lo, c.vips), c.vips.length, `the new master holds all 450\n${l.log().slice(-4000)}`);
      await l.stop('SIGTERM', 15_000);
    });
  }
});
