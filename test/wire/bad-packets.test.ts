// Malformed and unauthenticated VRRP packets on a real wire. One keepalived-ts daemon is MASTER of four
// instances (v2 with PASS auth, v3/IPv4, v3/IPv6, v3/IPv4 unicast, priority 100); another namespace injects hand-built packets
// (craft.ts, sent by send-raw.py) that all claim priority 254, so any of them that got through would push the
// master to BACKUP. Asserted: none changes any state or moves any VIP, each is counted under the right
// RFC 6527 / RFC 2787 counter (the JSON dump, json_dump_file), and none counts as received. Then a valid
// priority-254 advert per instance does move the master to BACKUP — the control showing the injector and
// the crafted packets work, so the "nothing happened" above is not vacuous — and so do two valid variants:
// the RFC 9568 checksum form and an IPv4 header carrying options.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { holds, Router, sleep, waitUntil } from '../daemon/router.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { sysctl, teardown } from '../interop/peers.js';
import {
  GROUP_V4,
  ipv4Packet,
  type Mutation,
  ROUTER_ALERT_OPTION,
  v6Checksum,
  vrrpV2,
  vrrpV3,
} from './craft.js';
import { delta, dumpStats, hex, type Stats, send, statsDumpLine, type Wire } from './inject.js';

const skip = isRoot() ? false : 'needs root for network namespaces';
const MASTER_ADDR = '192.0.2.1';
const INJECTOR_ADDR = '192.0.2.9';
const VIP2 = '192.0.2.110';
const VIP3 = '192.0.2.111';
const VIP6 = '2001:db8::112';
const VIPU = '192.0.2.113';
const PASSWORD = 'secret1';
const COPIES = 3;

const conf = (dir: string) => `
global_defs {
  ${statsDumpLine(dir)}
}
vrrp_instance V2 {
  interface eth0
  virtual_router_id 10
  version 2
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass ${PASSWORD}
  }
  virtual_ipaddress { ${VIP2}/24 }
}
vrrp_instance V3 {
  interface eth0
  virtual_router_id 11
  version 3
  priority 100
  advert_int 0.1
  virtual_ipaddress { ${VIP3}/24 }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 12
  version 3
  priority 100
  advert_int 0.1
  virtual_ipaddress { ${VIP6}/64 }
}
vrrp_instance VU {
  interface eth0
  virtual_router_id 13
  version 3
  priority 100
  advert_int 0.1
  unicast_src_ip ${MASTER_ADDR}
  unicast_peer { ${INJECTOR_ADDR} }
  virtual_ipaddress { ${VIPU}/24 }
}
`;

// Packets that each claim priority 254. `v2`/`v3` build the VRRP message, `wire4` wraps it in an IPv4 header.
const v2 = (m: Mutation = {}, over: Partial<Parameters<typeof vrrpV2>[0]> = {}) =>
  vrrpV2(
    { vrid: 10, priority: 254, advertIntS: 1, authType: 1, password: PASSWORD, addresses: [VIP2], ...over },
    m,
  );
const v3 = (m: Mutation = {}, dst = GROUP_V4, over: Partial<Parameters<typeof vrrpV3>[0]> = {}) =>
  vrrpV3(
    { vrid: 11, priority: 254, advertIntCs: 10, addresses: [VIP3], ...over },
    { src: INJECTOR_ADDR, dst },
    m,
  );
const wire4 = (msg: Uint8Array, ttl = 255, dst = GROUP_V4): Wire => ({
  family: 4,
  hex: hex(ipv4Packet(INJECTOR_ADDR, dst, ttl, msg)),
});

interface BadCase {
  what: string;
  instance: 'V2' | 'V3' | 'V6' | 'VU';
  /** The counter it must land in, or null when nothing in the daemon can see it (said why in `what`). */
  counter: string | null;
  packet: Wire;
}

let lab: Lab | null = null;
const routers: Router[] = [];
after(() => teardown(lab, routers));

test('bad VRRP packets change no state and are counted; a valid one does move the master', {
  skip,
  timeout: 40_000,
}, async () => {
  lab = new Lab('wbad');
  const nsM = lab.addHost('m');
  const nsX = lab.addHost('x');
  for (const ns of [nsM, nsX]) {
    sysctl(ns, 'net.ipv6.conf.eth0.accept_dad', '0');
    ip('-n', ns, 'link', 'set', 'eth0', 'down');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
  ip('-n', nsM, 'addr', 'add', `${MASTER_ADDR}/24`, 'dev', 'eth0');
  ip('-n', nsX, 'addr', 'add', `${INJECTOR_ADDR}/24`, 'dev', 'eth0');
  const injectorLl = /inet6 (fe80::[0-9a-f:]+)\//.exec(
    ip('-n', nsX, '-6', '-o', 'addr', 'show', 'dev', 'eth0'),
  )?.[1];
  assert.ok(injectorLl, 'injector has a link-local address');

  const r = new Router('master', nsM, conf);
  routers.push(r);

  const MASTER = (i: string) => new RegExp(`\\(${i}\\) Entering MASTER STATE`);
  await r.waitFor(MASTER('V2'), 8000);
  await r.waitFor(MASTER('V3'), 2000);
  await r.waitFor(MASTER('V6'), 2000);
  await r.waitFor(MASTER('VU'), 2000);
  await waitUntil(() => holds(nsM, VIP2) && holds(nsM, VIP3) && holds(nsM, VIP6), 2000, 'VIPs on the master');

  const v6Good = vrrpV3({ vrid: 12, priority: 254, advertIntCs: 10, addresses: [VIP6] }, null);
  const v6BadSum = Uint8Array.from(v6Good);
  const goodSum = v6Checksum(v6Good, injectorLl!, 'ff02::12');
  v6BadSum[6] = (goodSum ^ 0x5a5a) >> 8;
  v6BadSum[7] = (goodSum ^ 0x5a5a) & 0xff;

  const cases: BadCase[] = [
    { what: 'v2, TTL 64', instance: 'V2', counter: 'IpTtlErrors', packet: wire4(v2(), 64) },
    {
      what: 'v2, bad checksum',
      instance: 'V2',
      counter: 'ChecksumErrors',
      packet: wire4(v2({ checksumXor: 0x0101 })),
    },
    {
      what: 'v2, wrong PASS password',
      instance: 'V2',
      counter: 'AuthFailures',
      packet: wire4(v2({}, { password: 'secret2' })),
    },
    {
      what: 'v2, no authentication to a PASS instance',
      instance: 'V2',
      counter: 'AuthTypeMismatch',
      packet: wire4(v2({}, { authType: 0, password: '' })),
    },
    {
      what: 'v2, unknown auth type 3',
      instance: 'V2',
      counter: 'InvalidAuthType',
      packet: wire4(v2({}, { authType: 3 })),
    },
    {
      what: 'v2, advert interval 2 s (configured 1 s)',
      instance: 'V2',
      counter: 'AdvIntervalErrors',
      packet: wire4(v2({}, { advertIntS: 2 })),
    },
    { what: 'v2, type 2', instance: 'V2', counter: 'RcvdInvalidTypePackets', packet: wire4(v2({ type: 2 })) },
    {
      what: 'v3 packet to the v2 instance (same VRID)',
      instance: 'V2',
      counter: 'VersionErrors',
      packet: wire4(v3({}, GROUP_V4, { vrid: 10, addresses: [VIP2], advertIntCs: 100 })),
    },
    {
      what: 'v2, version nibble 4',
      instance: 'V2',
      counter: 'VersionErrors',
      packet: wire4(v2({ version: 4 })),
    },
    {
      what: 'v2, truncated after the 8-byte header (count 1, no address, no auth data)',
      instance: 'V2',
      counter: 'PacketLengthErrors',
      packet: wire4(v2({ truncateTo: 8 })),
    },
    {
      what: 'v2, unicast destination to a multicast instance',
      instance: 'V2',
      counter: 'DstAddrErrors',
      packet: wire4(v2(), 255, MASTER_ADDR),
    },
    { what: 'v3, TTL 64', instance: 'V3', counter: 'IpTtlErrors', packet: wire4(v3(), 64) },
    {
      what: 'v3, bad checksum',
      instance: 'V3',
      counter: 'ChecksumErrors',
      packet: wire4(v3({ checksumXor: 0x00ff })),
    },
    {
      what: 'v2 packet to the v3 instance (same VRID, right PASS)',
      instance: 'V3',
      counter: 'VersionErrors',
      packet: wire4(v2({}, { vrid: 11, addresses: [VIP3] })),
    },
    {
      what: 'v3, truncated to 6 bytes',
      instance: 'V3',
      counter: 'PacketLengthErrors',
      packet: wire4(v3({ truncateTo: 6 })),
    },
    { what: 'v3, type 3', instance: 'V3', counter: 'RcvdInvalidTypePackets', packet: wire4(v3({ type: 3 })) },
    {
      what: 'v3/IPv6, hop limit 64',
      instance: 'V6',
      counter: 'IpTtlErrors',
      packet: { family: 6, hex: hex(v6Good), hops: 64, kernelChecksum: true },
    },
    {
      // The daemon's IPv6 socket has IPV6_CHECKSUM set, so the kernel verifies and silently drops these
      // (keepalived's socket is set up the same way): no state change, and nothing the daemon could count.
      what: 'v3/IPv6, bad checksum (dropped by the kernel)',
      instance: 'V6',
      counter: null,
      packet: { family: 6, hex: hex(v6BadSum), hops: 255, kernelChecksum: false },
    },
    {
      // VU's unicast socket shares eth0 with the multicast one, which has no VRID 13: the packet is VU's,
      // sent to the wrong kind of destination.
      what: 'v3 multicast advert for the unicast instance',
      instance: 'VU',
      counter: 'DstAddrErrors',
      packet: wire4(v3({}, GROUP_V4, { vrid: 13, addresses: [VIPU] })),
    },
    {
      // No instance has VRID 99: the daemon demultiplexes by VRID, so no instance sees or counts it.
      what: 'v3, VRID 99 (not configured)',
      instance: 'V3',
      counter: null,
      packet: wire4(v3({}, GROUP_V4, { vrid: 99 })),
    },
  ];

  const before = await dumpStats(r);
  const mark = r.mark();
  for (const c of cases)
    send(
      nsX,
      Array.from({ length: COPIES }, () => c.packet),
    );
  await sleep(400); // > 3 v3 advert intervals: time for any wrongly accepted packet to act
  const d = delta(before, await dumpStats(r));

  // No state change, no VIP moved.
  assert.deepEqual(
    r.grep(/Entering \w+ STATE/, mark).map((l) => l.text),
    [],
    r.log(),
  );
  assert.ok(
    holds(nsM, VIP2) && holds(nsM, VIP3) && holds(nsM, VIP6) && holds(nsM, VIPU),
    'every VIP still on the master',
  );
  for (const inst of ['V2', 'V3', 'V6', 'VU']) assert.equal(r.lastState(inst), 'MASTER');

  // Each kind counted under its counter, COPIES times; nothing counted as a received advert.
  const expected: Stats = { V2: {}, V3: {}, V6: {}, VU: {} };
  for (const c of cases) {
    if (c.counter === null) continue;
    expected[c.instance]![c.counter] = (expected[c.instance]![c.counter] ?? 0) + COPIES;
  }
  const rxCounters = (s: Record<string, number> | undefined) =>
    Object.fromEntries(Object.entries(s ?? {}).filter(([k]) => !k.startsWith('Sent')));
  for (const inst of ['V2', 'V3', 'V6', 'VU']) {
    assert.deepEqual(
      rxCounters(d[inst]),
      expected[inst],
      `${inst} counters (delta ${JSON.stringify(d[inst])})`,
    );
  }
  console.log(
    `# bad packets counted: ${JSON.stringify(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, rxCounters(v)])))}`,
  );

  // Control: a valid priority-254 advert per instance makes the master yield (and, since the injector then
  // falls silent, take over again after its Master_Down_Interval).
  const beforeControl = await dumpStats(r);
  const m2 = r.mark();
  send(nsX, [wire4(v2()), wire4(v3()), { family: 6, hex: hex(v6Good), hops: 255, kernelChecksum: true }]);
  for (const inst of ['V2', 'V3', 'V6'])
    await r.waitFor(new RegExp(`\\(${inst}\\) Entering BACKUP STATE`), 2000, m2);
  for (const inst of ['V3', 'V6']) await r.waitFor(MASTER(inst), 2000, m2);
  await r.waitFor(MASTER('V2'), 6000, m2);
  const dc = delta(beforeControl, await dumpStats(r));
  for (const inst of ['V2', 'V3', 'V6'])
    assert.equal(dc[inst]?.RcvdAdvertisements, 1, `${inst}: ${JSON.stringify(dc[inst])}`);
  await waitUntil(
    () => holds(nsM, VIP2) && holds(nsM, VIP3) && holds(nsM, VIP6),
    2000,
    'VIPs back on the master',
  );

  // Two more forms a v3/IPv4 receiver must accept: the RFC 9568 checksum (VRRP message only, as Cisco and
  // Juniper send it; counted apart), and an IPv4 header with options (Router Alert), which moves the VRRP
  // message 4 bytes further in.
  const accepted: { what: string; packet: Wire; counter: string }[] = [
    {
      what: 'RFC 9568 checksum without the pseudo-header',
      packet: wire4(vrrpV3({ vrid: 11, priority: 254, advertIntCs: 10, addresses: [VIP3] }, null)),
      counter: 'RcvdV3ChecksumWithoutPseudoHeader',
    },
    {
      what: 'IPv4 header with a Router Alert option',
      packet: { family: 4, hex: hex(ipv4Packet(INJECTOR_ADDR, GROUP_V4, 255, v3(), ROUTER_ALERT_OPTION)) },
      counter: 'RcvdV3ChecksumWithPseudoHeader',
    },
  ];
  for (const a of accepted) {
    const s0 = await dumpStats(r);
    const m3 = r.mark();
    send(nsX, [a.packet]);
    await r.waitFor(/\(V3\) Entering BACKUP STATE/, 2000, m3).catch((e: Error) => {
      throw new Error(`${a.what}: not accepted\n${e.message}`);
    });
    await r.waitFor(MASTER('V3'), 2000, m3);
    const ds = delta(s0, await dumpStats(r));
    assert.equal(ds.V3?.RcvdAdvertisements, 1, `${a.what}: ${JSON.stringify(ds.V3)}`);
    assert.equal(ds.V3?.[a.counter], 1, `${a.what}: ${JSON.stringify(ds.V3)}`);
  }
});
