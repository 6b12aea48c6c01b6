// Malformed priority-0 adverts against a keepalived-ts BACKUP. A real master (keepalived-ts, priority 200)
// runs two VRRPv3 instances beside the backup (priority 100): M (multicast) and U (unicast, check_unicast_src).
// A valid priority-0 advert from the master's address would make the backup take over after Skew_Time, so
// the injector sends broken ones, spoofing the master's source address (TTL 64, bad checksum, v2, truncated,
// type 0), and for U also a well-formed one from a source that is not a configured peer. Asserted: the backup
// stays BACKUP, no VIP moves, each packet is counted under its counter; then the same packet made valid does
// make the backup take over (and hand back when the real master's next advert arrives) — the control.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { holds, Router, sleep, waitUntil } from '../daemon/router.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { teardown } from '../interop/peers.js';
import { GROUP_V4, ipv4Packet, type Mutation, vrrpV2, vrrpV3 } from './craft.js';
import { delta, dumpStats, hex, type Stats, send, statsDumpLine, type Wire } from './inject.js';

const skip = isRoot() ? false : 'needs root for network namespaces';
const MASTER_ADDR = '192.0.2.1';
const BACKUP_ADDR = '192.0.2.2';
const INJECTOR_ADDR = '192.0.2.9';
const VIP_M = '192.0.2.121';
const VIP_U = '192.0.2.122';
const VRID_M = 21;
const VRID_U = 22;
const COPIES = 3;

const conf = (self: string, peer: string, priority: number) => (dir: string) =>
  `
global_defs {
  ${statsDumpLine(dir)}
}
vrrp_instance M {
  interface eth0
  virtual_router_id ${VRID_M}
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress { ${VIP_M}/24 }
}
vrrp_instance U {
  interface eth0
  virtual_router_id ${VRID_U}
  version 3
  priority ${priority}
  advert_int 0.1
  unicast_src_ip ${self}
  unicast_peer { ${peer} }
  check_unicast_src
  virtual_ipaddress { ${VIP_U}/24 }
}
`;

/** A priority-0 v3 advert "from" `src` to `dst`, checksummed for that pair, in an IPv4 packet. */
function prioZero(vrid: number, vip: string, src: string, dst: string, m: Mutation = {}, ttl = 255): Wire {
  const msg = vrrpV3({ vrid, priority: 0, advertIntCs: 10, addresses: [vip] }, { src, dst }, m);
  return { family: 4, hex: hex(ipv4Packet(src, dst, ttl, msg)) };
}

interface BadCase {
  what: string;
  instance: 'M' | 'U';
  counter: string | null;
  packet: Wire;
}

let lab: Lab | null = null;
const routers: Router[] = [];
after(() => teardown(lab, routers));

test('bad priority-0 packets leave a backup in BACKUP and are counted; a valid one makes it take over', {
  skip,
  timeout: 30_000,
}, async () => {
  lab = new Lab('wbk');
  const nsM = lab.addHost('m');
  const nsB = lab.addHost('b');
  const nsX = lab.addHost('x');
  ip('-n', nsM, 'addr', 'add', `${MASTER_ADDR}/24`, 'dev', 'eth0');
  ip('-n', nsB, 'addr', 'add', `${BACKUP_ADDR}/24`, 'dev', 'eth0');
  ip('-n', nsX, 'addr', 'add', `${INJECTOR_ADDR}/24`, 'dev', 'eth0');
  const master = new Router('master', nsM, conf(MASTER_ADDR, BACKUP_ADDR, 200));
  routers.push(master);
  await master.waitFor(/\(M\) Entering MASTER STATE/, 5000);
  await master.waitFor(/\(U\) Entering MASTER STATE/, 2000);
  const backup = new Router('backup', nsB, conf(BACKUP_ADDR, MASTER_ADDR, 100));
  routers.push(backup);
  await backup.waitFor(/\(M\) Entering BACKUP STATE/, 5000);
  await backup.waitFor(/\(U\) Entering BACKUP STATE/, 2000);
  await sleep(500); // > Master_Down_Interval: had the master's adverts not been heard, it would be MASTER by now
  assert.equal(backup.grep(/Entering MASTER STATE/).length, 0, backup.log());
  const vipsWhere = () => [holds(nsM, VIP_M), holds(nsM, VIP_U), holds(nsB, VIP_M), holds(nsB, VIP_U)];
  assert.deepEqual(vipsWhere(), [true, true, false, false]);

  const m = (mut: Mutation = {}, ttl = 255) => prioZero(VRID_M, VIP_M, MASTER_ADDR, GROUP_V4, mut, ttl);
  const u = (mut: Mutation = {}, ttl = 255, src = MASTER_ADDR) =>
    prioZero(VRID_U, VIP_U, src, BACKUP_ADDR, mut, ttl);
  const v2AsM = (): Wire => {
    const msg = vrrpV2({
      vrid: VRID_M,
      priority: 0,
      advertIntS: 1,
      authType: 0,
      password: '',
      addresses: [VIP_M],
    });
    return { family: 4, hex: hex(ipv4Packet(MASTER_ADDR, GROUP_V4, 255, msg)) };
  };
  const cases: BadCase[] = [
    { what: 'M: TTL 64', instance: 'M', counter: 'IpTtlErrors', packet: m({}, 64) },
    { what: 'M: bad checksum', instance: 'M', counter: 'ChecksumErrors', packet: m({ checksumXor: 0x8000 }) },
    { what: 'M: VRRPv2 packet', instance: 'M', counter: 'VersionErrors', packet: v2AsM() },
    {
      what: 'M: truncated to 7 bytes',
      instance: 'M',
      counter: 'PacketLengthErrors',
      packet: m({ truncateTo: 7 }),
    },
    { what: 'M: type 0', instance: 'M', counter: 'RcvdInvalidTypePackets', packet: m({ type: 0 }) },
    { what: 'U: bad checksum', instance: 'U', counter: 'ChecksumErrors', packet: u({ checksumXor: 0x0001 }) },
    {
      what: 'U: from a source that is not a unicast peer',
      instance: 'U',
      counter: 'UnicastSrcErrors',
      packet: u({}, 255, INJECTOR_ADDR),
    },
    {
      // With a multicast and a unicast socket on one interface, each takes its own kind of destination
      // (vrrp-sockets.ts) — but the multicast socket has no instance with U's VRID, so the packet is U's,
      // sent to the wrong kind of destination.
      what: 'U: sent to the multicast group',
      instance: 'U',
      counter: 'DstAddrErrors',
      packet: prioZero(VRID_U, VIP_U, MASTER_ADDR, GROUP_V4),
    },
  ];

  const before = await dumpStats(backup);
  const mark = backup.mark();
  for (const c of cases)
    send(
      nsX,
      Array.from({ length: COPIES }, () => c.packet),
    );
  await sleep(300); // Skew_Time at priority 100 is 61 ms: any accepted priority 0 would have acted by now
  const d = delta(before, await dumpStats(backup));
  assert.deepEqual(
    backup.grep(/Entering \w+ STATE/, mark).map((l) => l.text),
    [],
    backup.log(),
  );
  assert.deepEqual(vipsWhere(), [true, true, false, false], 'no VIP moved');

  const expected: Stats = { M: {}, U: {} };
  for (const c of cases) {
    if (c.counter === null) continue;
    expected[c.instance]![c.counter] = (expected[c.instance]![c.counter] ?? 0) + COPIES;
  }
  // The real master's adverts keep arriving (RcvdAdvertisements): compare only the error counters.
  const errors = (s: Record<string, number> | undefined) =>
    Object.fromEntries(
      Object.entries(s ?? {}).filter(
        ([k]) => !k.startsWith('Sent') && k !== 'RcvdAdvertisements' && !k.startsWith('RcvdV3Checksum'),
      ),
    );
  for (const inst of ['M', 'U'])
    assert.deepEqual(errors(d[inst]), expected[inst], `${inst}: ${JSON.stringify(d[inst])}`);
  console.log(
    `# backup, bad priority-0 packets counted: ${JSON.stringify({ M: errors(d.M), U: errors(d.U) })}`,
  );

  // Control: the same priority-0 adverts, valid. The real master is frozen (SIGSTOP) first — running, it would
  // answer a priority 0 with an immediate advert of its own (RFC 5798 §6.4.3) and the backup would never get to
  // act. Frozen, its last advert still holds the backup for at least 3 × 100 ms − 100 ms + Skew_Time; the valid
  // priority 0 cuts that to Skew_Time (61 ms), which is what we see. Thawed, the master takes back over.
  const beforeControl = await dumpStats(backup);
  const m2 = backup.mark();
  try {
    // The sender freezes the master itself, right before its first packet.
    const { stoppedAtMs, firstSentAtMs } = send(nsX, [m(), u()], master.proc.pid);
    for (const inst of ['M', 'U']) {
      const took = await backup.waitFor(new RegExp(`\\(${inst}\\) Entering MASTER STATE`), 1000, m2);
      const sinceStop = (took.stampMs ?? took.rxMs) - stoppedAtMs!;
      const sincePacket = (took.stampMs ?? took.rxMs) - firstSentAtMs;
      assert.ok(
        sinceStop < 250,
        `${inst}: MASTER ${sinceStop} ms after the master froze, ${sincePacket} ms after the priority-0 advert ` +
          `(Master_Down would end ≥ 261 ms after the freeze)\n${backup.log()}`,
      );
      console.log(
        `# backup ${inst}: valid priority-0 advert → MASTER ${Math.round(sincePacket)} ms (Skew_Time 61 ms)`,
      );
    }
  } finally {
    master.proc.kill('SIGCONT');
  }
  for (const inst of ['M', 'U'])
    await backup.waitFor(new RegExp(`\\(${inst}\\) Entering BACKUP STATE`), 2000, m2);
  const dc = delta(beforeControl, await dumpStats(backup));
  for (const inst of ['M', 'U'])
    assert.equal(dc[inst]?.RcvdPriZeroPackets, 1, `${inst}: ${JSON.stringify(dc[inst])}`);
  await waitUntil(() => vipsWhere().join() === 'true,true,false,false', 2000, 'VIPs back on the master only');
});
