// Traffic counters without a kernel (src/lvs/counters.ts, src/lvs/ipvs-msg.ts): IPVS GET_SERVICE and GET_DEST
// replies built byte by byte as the kernel sends them — the 64-bit statistics preferred to the 32-bit ones
// when both are there (values past 2^32 prove which was read), the 32-bit ones alone from an older kernel —
// mapped to our services and real servers; and the nftables counter set as `nft -j` 1.0.6 prints it (the
// sample below is its real output) folded into in/out packets, bytes and connections per server mark.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CounterKey,
  drCounterTables,
  ipvsServiceTraffic,
  parseNftCounters,
  type Traffic,
  TrafficLedger,
  zeroTraffic,
} from '../../src/lvs/counters.js';
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { parseDestReply, parseServiceReply, parseServiceStats } from '../../src/lvs/ipvs-msg.js';
import { markKey } from '../../src/lvs/nft-model.js';

/** One netlink attribute: length, type, value, padded to 4 bytes. */
function attr(type: number, value: Uint8Array): Uint8Array {
  const len = 4 + value.length;
  const out = new Uint8Array((len + 3) & ~3);
  const v = new DataView(out.buffer);
  v.setUint16(0, len, true);
  v.setUint16(2, type, true);
  out.set(value, 4);
  return out;
}
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const u16 = (x: number, be = false) => {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, x, !be);
  return b;
};
const u32 = (x: number, be = false) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x, !be);
  return b;
};
const u64 = (x: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(x), true);
  return b;
};
const inet4 = (a: string) => {
  const b = new Uint8Array(16);
  b.set(a.split('.').map(Number));
  return b;
};

interface S {
  conns: number;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}
/**
 * IPVS_*_ATTR_STATS (nest 10): conns and packets u32, bytes u64, then the rates (u32); IPVS_*_ATTR_STATS64
 * (nest 12): the same attributes, all u64.
 */
function stats(nest: 10 | 12, s: S): Uint8Array {
  const count = nest === 10 ? (v: number) => u32(v) : u64;
  return attr(
    nest,
    cat(
      attr(1, count(s.conns)),
      attr(2, count(s.inPackets)),
      attr(3, count(s.outPackets)),
      attr(4, u64(s.inBytes)),
      attr(5, u64(s.outBytes)),
      ...[6, 7, 8, 9, 10].map((t) => attr(t, count(7))),
    ),
  );
}
const stats32 = (s: S) => stats(10, s);
const stats64 = (s: S) => stats(12, s);
/** genlmsghdr (cmd, version 1, reserved) then the attributes. */
const genl = (cmd: number, ...as: Uint8Array[]) => cat(new Uint8Array([cmd, 1, 0, 0]), ...as);

const BIG = 2 ** 32 + 5;
const svcStats64 = {
  conns: BIG,
  inPackets: BIG + 1,
  outPackets: BIG + 2,
  inBytes: 2 ** 40,
  outBytes: 2 ** 41,
};
const svcStats32 = { conns: 5, inPackets: 6, outPackets: 7, inBytes: 2 ** 40, outBytes: 2 ** 41 };

function serviceReply(): Uint8Array {
  return genl(
    1, // IPVS_CMD_NEW_SERVICE, as dumps answer
    attr(
      1, // IPVS_CMD_ATTR_SERVICE
      cat(
        attr(1, u16(2)), // AF_INET
        attr(2, u16(6)), // TCP
        attr(3, inet4('198.51.100.100')),
        attr(4, u16(80, true)),
        attr(6, new TextEncoder().encode('rr\0')),
        attr(7, cat(u32(0), u32(0xffffffff))),
        attr(8, u32(0)),
        attr(9, u32(0xffffffff, true)),
        stats32(svcStats32),
        stats64(svcStats64),
      ),
    ),
  );
}

function destReply(address: string, s: S, with64: boolean): Uint8Array {
  return genl(
    5, // IPVS_CMD_NEW_DEST
    attr(
      2, // IPVS_CMD_ATTR_DEST
      cat(
        attr(1, inet4(address)),
        attr(2, u16(8080, true)),
        attr(3, u32(0)), // MASQ
        attr(4, u32(1)),
        attr(5, u32(0)),
        attr(6, u32(0)),
        attr(7, u32(2)),
        attr(8, u32(3)),
        attr(9, u32(0)),
        stats32(s),
        attr(11, u16(2)),
        ...(with64 ? [stats64({ ...s, conns: s.conns + BIG })] : []),
      ),
    ),
  );
}

const SVC: ServiceSpec = {
  name: '198.51.100.100:80/tcp',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
  scheduler: 'rr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals: ['192.0.2.11', '192.0.2.12', '192.0.2.13'].map((address) => ({
    address,
    port: 8080,
    weight: 1,
    method: 'NAT' as const,
  })),
  sorryActive: false,
};

test('IPVS statistics: STATS64 preferred, STATS alone from older kernels, mapped to our servers', () => {
  const sr = serviceReply();
  const svc = parseServiceReply(sr);
  assert.ok(svc);
  assert.equal(svc.address, '198.51.100.100');
  assert.deepEqual(parseServiceStats(sr), svcStats64, 'the 64-bit statistics, values past 2^32 intact');
  const d1 = { conns: 10, inPackets: 50, outPackets: 40, inBytes: 5000, outBytes: 9000 };
  const d2 = { conns: 20, inPackets: 90, outPackets: 80, inBytes: 7000, outBytes: 11000 };
  const a = parseDestReply(destReply('192.0.2.11', d1, false), 4);
  const b = parseDestReply(destReply('192.0.2.12', d2, true), 4);
  assert.ok(a && b);
  assert.deepEqual(a.stats, d1, 'STATS alone (an older kernel)');
  assert.deepEqual(b.stats, { ...d2, conns: d2.conns + BIG }, 'STATS64 over STATS');
  assert.equal(a.activeConns, 2);
  const [t] = ipvsServiceTraffic([SVC], [{ svc, dests: [a, b], stats: svcStats64 }]);
  assert.deepEqual(t, {
    service: SVC.name,
    addr: '198.51.100.100:80',
    proto: 6,
    total: svcStats64,
    reals: [
      { address: '192.0.2.11', port: 8080, traffic: d1 },
      { address: '192.0.2.12', port: 8080, traffic: { ...d2, conns: d2.conns + BIG } },
      // In our state but not in the kernel's dump: zero.
      { address: '192.0.2.13', port: 8080, traffic: zeroTraffic() },
    ],
  });
  // No statistics attribute at all: undefined, not zeros.
  assert.equal(parseServiceStats(genl(1, attr(1, cat(attr(1, u16(2)))))), undefined);
});

/** `nft -j list set inet t ctr` from nft 1.0.6 after a ping with ct mark 0x105 (two echo requests). */
const NFT_SAMPLE = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    {
      set: {
        family: 'inet',
        name: 'ctr',
        table: 't',
        type: ['ct_state', 'ct_dir', 'mark'],
        handle: 4,
        size: 65536,
        elem: [
          { elem: { val: { concat: ['established', 'original', 261] }, counter: { packets: 1, bytes: 84 } } },
          { elem: { val: { concat: ['new', 'original', 261] }, counter: { packets: 1, bytes: 84 } } },
          { elem: { val: { concat: ['established', 'reply', 261] }, counter: { packets: 2, bytes: 168 } } },
          { elem: { val: { concat: ['new', 'original', 262] }, counter: { packets: 3, bytes: 180 } } },
        ],
      },
    },
  ],
});

test('nftables counter set: in = original direction, out = reply, connections = new in the original', () => {
  const byMark = parseNftCounters(NFT_SAMPLE);
  assert.deepEqual(byMark.get(261), { inPackets: 2, outPackets: 2, inBytes: 168, outBytes: 168, conns: 1 });
  assert.deepEqual(byMark.get(262), { inPackets: 3, outPackets: 0, inBytes: 180, outBytes: 0, conns: 3 });
  const marks = new Map([
    [markKey(SVC.name, SVC.reals[0]!), 261],
    [markKey(SVC.name, SVC.reals[1]!), 262],
    [markKey(SVC.name, SVC.reals[2]!), 263],
  ]);
  const [t] = new TrafficLedger().fold([SVC], marks, byMark).traffic;
  assert.deepEqual(t!.total, { inPackets: 5, outPackets: 2, inBytes: 348, outBytes: 168, conns: 4 });
  assert.deepEqual(
    t!.reals.map((r) => [r.address, r.traffic.conns]),
    [
      ['192.0.2.11', 1],
      ['192.0.2.12', 3],
      ['192.0.2.13', 0],
    ],
  );
});

const tr = (inPackets: number, conns = 0): Traffic => ({
  inPackets,
  outPackets: 0,
  inBytes: inPackets * 100,
  outBytes: 0,
  conns,
});

test('traffic ledger: totals never go back when a server changes mark, its elements are deleted or the table is replaced', () => {
  const [a, b] = [SVC.reals[0]!, SVC.reals[1]!];
  const ka = markKey(SVC.name, a);
  const kb = markKey(SVC.name, b);
  const only = (svc: ServiceSpec) => ({ ...svc, reals: svc.reals.slice(0, 2) });
  const l = new TrafficLedger();
  const fold = (marks: [string, number][], byMark: [number, Traffic][], svc = only(SVC)) =>
    l.fold([svc], new Map(marks), new Map(byMark));
  const inOf = (r: ReturnType<typeof fold>) => [
    r.traffic[0]!.total.inPackets,
    ...r.traffic[0]!.reals.map((x) => x.traffic.inPackets),
  ];
  // An adopted table's counts are taken whole at the first reading.
  let r = fold(
    [
      [ka, 1],
      [kb, 2],
    ],
    [
      [1, tr(10, 1)],
      [2, tr(5, 1)],
    ],
  );
  assert.deepEqual(inOf(r), [15, 10, 5]);
  assert.deepEqual(r.retire, []);
  // b leaves the pool (its mark is gone): its counts stay in the totals, its elements are to be deleted.
  r = fold(
    [[ka, 1]],
    [
      [1, tr(12, 1)],
      [2, tr(7, 1)],
    ],
    { ...SVC, reals: [a] },
  );
  assert.deepEqual(inOf(r), [19, 12]);
  assert.deepEqual(r.retire, [2]);
  l.retired([2]);
  // b returns with a new mark 3; the deleted element of mark 2 is re-created by a lingering connection.
  r = fold(
    [
      [ka, 1],
      [kb, 3],
    ],
    [
      [1, tr(12, 1)],
      [2, tr(1)],
      [3, tr(4, 1)],
    ],
  );
  assert.deepEqual(inOf(r), [24, 12, 12]);
  assert.deepEqual(r.retire, [2]);
  // The table is replaced (counts restart from zero): only what was counted after it is added.
  r = fold(
    [
      [ka, 1],
      [kb, 3],
    ],
    [
      [1, tr(2, 1)],
      [3, tr(1)],
    ],
  );
  assert.deepEqual(inOf(r), [27, 14, 13]);
  // A mark of an earlier run that no server holds is deleted, and counted for nobody.
  r = fold(
    [
      [ka, 1],
      [kb, 3],
    ],
    [
      [1, tr(2, 1)],
      [3, tr(1)],
      [99, tr(50)],
    ],
  );
  assert.deepEqual(inOf(r), [27, 14, 13]);
  assert.deepEqual(r.retire, [99]);
});

test('nftables counter set: element keys per mark, for deleting them', () => {
  const keys = new Map<number, CounterKey[]>();
  parseNftCounters(NFT_SAMPLE, keys);
  const t = 'inet keepalived_ts';
  assert.deepEqual(keys.get(261), [
    { table: t, key: 'established . original . 0x105' },
    { table: t, key: 'new . original . 0x105' },
    { table: t, key: 'established . reply . 0x105' },
  ]);
  assert.deepEqual(keys.get(262), [{ table: t, key: 'new . original . 0x106' }]);
});

/** `nft -j list set netdev keepalived_ts_dr ctr` (nft 1.0.6's output): kind . server mark. */
const NFT_DR_SAMPLE = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    {
      set: {
        family: 'netdev',
        name: 'ctr',
        table: 'keepalived_ts_dr',
        type: ['mark', 'mark'],
        handle: 1,
        size: 65536,
        elem: [
          { elem: { val: { concat: [0, 261] }, counter: { packets: 12, bytes: 801 } } },
          { elem: { val: { concat: [1, 261] }, counter: { packets: 3, bytes: 180 } } },
          { elem: { val: { concat: [1, 263] }, counter: { packets: 1, bytes: 60 } } },
        ],
      },
    },
  ],
});

test('direct-routing counter set: every packet in, connections = scheduled packets, nothing out; keys per table', () => {
  const keys = new Map<number, CounterKey[]>();
  const t = 'netdev keepalived_ts_dr';
  // Read after the inet set, into the same map (a reading folds all the sets at once).
  const byMark = parseNftCounters(NFT_DR_SAMPLE, keys, t, parseNftCounters(NFT_SAMPLE, keys));
  assert.deepEqual(byMark.get(261), { inPackets: 17, outPackets: 2, inBytes: 1149, outBytes: 168, conns: 4 });
  assert.deepEqual(byMark.get(263), { inPackets: 1, outPackets: 0, inBytes: 60, outBytes: 0, conns: 1 });
  assert.deepEqual(keys.get(263), [{ table: t, key: '0x1 . 0x107' }]);
  assert.deepEqual(
    keys.get(261)?.filter((k) => k.table === t),
    [
      { table: t, key: '0x0 . 0x105' },
      { table: t, key: '0x1 . 0x105' },
    ],
  );
});

test('the DR counter sets read are those of the DR services there are', () => {
  const dr = (over: Partial<ServiceSpec>): ServiceSpec => ({
    ...SVC,
    reals: SVC.reals.map((r) => ({ ...r, method: 'DR' as const })),
    ...over,
  });
  const fw6 = dr({ name: 'f6', family: 6, matches: [{ kind: 'fwmark', fwmark: 3 }] });
  assert.deepEqual(drCounterTables([SVC]), []);
  assert.deepEqual(drCounterTables([SVC, dr({}), fw6]), ['netdev keepalived_ts_dr', 'ip6 keepalived_ts_drm']);
});
