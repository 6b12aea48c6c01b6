// Raw nf_tables batches for direct-routing pick rules (src/lvs/nft-raw.ts): the bytes against what nft
// 1.0.6 sends for the same script (captured with `strace -e trace=sendmsg -e write=all` around `nft -f` in a
// test namespace), which DR changes go raw, and — in namespaces, as root — that a DR data plane using the
// raw path leaves exactly the ruleset the libnftables path leaves.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { allocate, emptyAlloc, partialModel, renderService } from '../../src/lvs/nft-model.js';
import { encodeBatch, rawOps } from '../../src/lvs/nft-raw.js';
import { createNetns, deleteNetns, isRoot } from '../helpers/netns.js';
import { rulesetOf } from './lab.js';

/**
 * nft's batch (seq 0 … 5) for:
 *   flush chain netdev keepalived_ts_dr vs1g
 *   add rule netdev keepalived_ts_dr vs1g meta l4proto tcp meta mark set numgen inc mod 3 offset 8192
 *   flush chain ip keepalived_ts_drm vs2g
 *   add rule ip keepalived_ts_drm vs2g meta l4proto udp meta mark set numgen inc mod 5 offset 16384
 */
const NFT_BATCH =
  '140000001000010000000000000000000000000a38000000080a0100010000000000000005000000150001006b656570' +
  '616c697665645f74735f647200000000090002007673316700000000e4000000060a010c020000000000000005000000' +
  '150001006b656570616c697665645f74735f647200000000090002007673316700000000ac0004802400018009000100' +
  '6d6574610000000014000280080002000000001008000100000000012c00018008000100636d70002000028008000100' +
  '0000000108000200000000000c0003800500010006000000340001800b0001006e756d67656e00002400028008000100' +
  '0000000108000200000000030800030000000000080004000000200024000180090001006d6574610000000014000280' +
  '0800020000000003080003000000000138000000080a0100030000000000000002000000160001006b656570616c6976' +
  '65645f74735f64726d000000090002007673326700000000e4000000060a010c04000000000000000200000016000100' +
  '6b656570616c697665645f74735f64726d000000090002007673326700000000ac00048024000180090001006d657461' +
  '0000000014000280080002000000001008000100000000012c00018008000100636d7000200002800800010000000001' +
  '08000200000000000c0003800500010011000000340001800b0001006e756d67656e0000240002800800010000000001' +
  '08000200000000050800030000000000080004000000400024000180090001006d657461000000001400028008000200' +
  '000000030800030000000001140000001100010005000000000000000000000a';

/**
 * nft's batch (seq 0 … 10) for the DR picks besides the rotation, in the netdev, `ip` and `ip6` tables:
 *   flush chain netdev keepalived_ts_dr vs1g
 *   add rule netdev keepalived_ts_dr vs1g meta l4proto tcp meta mark set 0x0
 *   add rule netdev keepalived_ts_dr vs1g meta l4proto tcp meta mark set jhash ip saddr mod 256 seed 0x4b415453 offset 8192
 *   add rule netdev keepalived_ts_dr vs1g meta l4proto udp meta mark set jhash ip6 daddr . th sport mod 4093 seed 0x4b415453 offset 8192
 *   flush chain ip keepalived_ts_drm vs2g
 *   add rule ip keepalived_ts_drm vs2g meta l4proto tcp meta mark set jhash ip saddr . th sport mod 256 seed 0x4b415453 offset 16384
 *   add rule ip keepalived_ts_drm vs2g meta l4proto udp meta mark set 0x0
 *   flush chain ip6 keepalived_ts_drm vs3g
 *   add rule ip6 keepalived_ts_drm vs3g meta l4proto tcp meta mark set jhash ip6 saddr mod 256 seed 0x4b415453 offset 24576
 */
const NFT_DR_PICKS =
  '140000001000010000000000000000000000000a38000000080a0100010000000000000005000000150001006b656570' +
  '616c697665645f74735f647200000000090002007673316700000000dc000000060a010c020000000000000005000000' +
  '150001006b656570616c697665645f74735f647200000000090002007673316700000000a40004802400018009000100' +
  '6d6574610000000014000280080002000000001008000100000000012c00018008000100636d70002000028008000100' +
  '0000000108000200000000000c00038005000100060000002c0001800e000100696d6d65646961746500000018000280' +
  '08000100000000010c000280080001000000000024000180090001006d65746100000000140002800800020000000003' +
  '080003000000000180010000060a010c030000000000000005000000150001006b656570616c697665645f74735f6472' +
  '000000000900020076733167000000004801048024000180090001006d65746100000000140002800800020000000010' +
  '08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c00038005000100' +
  '0600000024000180090001006d6574610000000014000280080002000000000108000100000000012c00018008000100' +
  '636d700020000280080001000000000108000200000000000c0003800600010008000000340001800c0001007061796c' +
  '6f6164002400028008000100000000020800020000000001080003000000000c08000400000000044c00018009000100' +
  '68617368000000003c000280080001000000000208000200000000010800030000000004080004000000010008000500' +
  '4b4154530800060000002000080007000000000024000180090001006d65746100000000140002800800020000000003' +
  '0800030000000001b4010000060a010c040000000000000005000000150001006b656570616c697665645f74735f6472' +
  '000000000900020076733167000000007c01048024000180090001006d65746100000000140002800800020000000010' +
  '08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c00038005000100' +
  '1100000024000180090001006d6574610000000014000280080002000000000108000100000000012c00018008000100' +
  '636d700020000280080001000000000108000200000000000c0003800600010086dd0000340001800c0001007061796c' +
  '6f616400240002800800010000000002080002000000000108000300000000180800040000000010340001800c000100' +
  '7061796c6f6164002400028008000100000000030800020000000002080003000000000008000400000000024c000180' +
  '0900010068617368000000003c0002800800010000000002080002000000000108000300000000140800040000000ffd' +
  '080005004b4154530800060000002000080007000000000024000180090001006d657461000000001400028008000200' +
  '00000003080003000000000138000000080a0100050000000000000002000000160001006b656570616c697665645f74' +
  '735f64726d00000009000200767332670000000064010000060a010c060000000000000002000000160001006b656570' +
  '616c697665645f74735f64726d0000000900020076733267000000002c01048024000180090001006d65746100000000' +
  '14000280080002000000001008000100000000012c00018008000100636d700020000280080001000000000108000200' +
  '000000000c0003800500010006000000340001800c0001007061796c6f61640024000280080001000000000208000200' +
  '00000001080003000000000c0800040000000004340001800c0001007061796c6f61640024000280080001000000000d' +
  '0800020000000002080003000000000008000400000000024c0001800900010068617368000000003c00028008000100' +
  '00000002080002000000000108000300000000080800040000000100080005004b415453080006000000400008000700' +
  '0000000024000180090001006d657461000000001400028008000200000000030800030000000001dc000000060a010c' +
  '070000000000000002000000160001006b656570616c697665645f74735f64726d000000090002007673326700000000' +
  'a400048024000180090001006d6574610000000014000280080002000000001008000100000000012c00018008000100' +
  '636d700020000280080001000000000108000200000000000c00038005000100110000002c0001800e000100696d6d65' +
  '64696174650000001800028008000100000000010c000280080001000000000024000180090001006d65746100000000' +
  '140002800800020000000003080003000000000138000000080a010008000000000000000a000000160001006b656570' +
  '616c697665645f74735f64726d00000009000200767333670000000030010000060a010c09000000000000000a000000' +
  '160001006b656570616c697665645f74735f64726d000000090002007673336700000000f80004802400018009000100' +
  '6d6574610000000014000280080002000000001008000100000000012c00018008000100636d70002000028008000100' +
  '0000000108000200000000000c0003800500010006000000340001800c0001007061796c6f6164002400028008000100' +
  '000000020800020000000001080003000000000808000400000000104c0001800900010068617368000000003c000280' +
  '0800010000000002080002000000000108000300000000100800040000000100080005004b4154530800060000006000' +
  '080007000000000024000180090001006d65746100000000140002800800020000000003080003000000000114000000' +
  '110001000a000000000000000000000a';

/**
 * nft's batch (seq 0 … 12) for the picks of fwmark services, which serve every protocol (no protocol
 * match), in the `ip` and `ip6` DR tables and the inet table (NAT, `th sport`):
 *   flush chain ip keepalived_ts_drm vs2g
 *   add rule ip keepalived_ts_drm vs2g meta mark set numgen inc mod 3 offset 16384
 *   add rule ip keepalived_ts_drm vs2g meta mark set 0x0
 *   add rule ip keepalived_ts_drm vs2g meta mark set jhash ip saddr . th sport mod 256 seed 0x4b415453 offset 16384
 *   flush chain ip6 keepalived_ts_drm vs3g
 *   add rule ip6 keepalived_ts_drm vs3g meta mark set jhash ip6 daddr mod 4093 seed 0x4b415453 offset 24576
 *   add rule ip6 keepalived_ts_drm vs3g meta mark set jhash ip6 saddr . th sport mod 256 seed 0x4b415453 offset 24576
 *   flush chain inet keepalived_ts vs4g
 *   add rule inet keepalived_ts vs4g ct mark set jhash ip saddr . th sport mod 256 seed 0x4b415453 offset 32768
 *   add rule inet keepalived_ts vs4g ct mark set jhash ip6 saddr . th sport mod 4093 seed 0x4b415453 offset 32768
 */
const NFT_FWMARK_PICKS =
  '140000001000010000000000000000000000000a38000000080a0100010000000000000002000000160001006b656570' +
  '616c697665645f74735f64726d00000009000200767332670000000094000000060a010c020000000000000002000000' +
  '160001006b656570616c697665645f74735f64726d0000000900020076733267000000005c000480340001800b000100' +
  '6e756d67656e000024000280080001000000000108000200000000030800030000000000080004000000400024000180' +
  '090001006d6574610000000014000280080002000000000308000300000000018c000000060a010c0300000000000000' +
  '02000000160001006b656570616c697665645f74735f64726d000000090002007673326700000000540004802c000180' +
  '0e000100696d6d6564696174650000001800028008000100000000010c00028008000100000000002400018009000100' +
  '6d65746100000000140002800800020000000003080003000000000114010000060a010c040000000000000002000000' +
  '160001006b656570616c697665645f74735f64726d000000090002007673326700000000dc000480340001800c000100' +
  '7061796c6f6164002400028008000100000000020800020000000001080003000000000c080004000000000434000180' +
  '0c0001007061796c6f61640024000280080001000000000d080002000000000208000300000000000800040000000002' +
  '4c0001800900010068617368000000003c00028008000100000000020800020000000001080003000000000808000400' +
  '00000100080005004b4154530800060000004000080007000000000024000180090001006d6574610000000014000280' +
  '0800020000000003080003000000000138000000080a010005000000000000000a000000160001006b656570616c6976' +
  '65645f74735f64726d000000090002007673336700000000e0000000060a010c06000000000000000a00000016000100' +
  '6b656570616c697665645f74735f64726d000000090002007673336700000000a8000480340001800c0001007061796c' +
  '6f6164002400028008000100000000020800020000000001080003000000001808000400000000104c00018009000100' +
  '68617368000000003c0002800800010000000002080002000000000108000300000000100800040000000ffd08000500' +
  '4b4154530800060000006000080007000000000024000180090001006d65746100000000140002800800020000000003' +
  '080003000000000114010000060a010c07000000000000000a000000160001006b656570616c697665645f74735f6472' +
  '6d000000090002007673336700000000dc000480340001800c0001007061796c6f616400240002800800010000000002' +
  '080002000000000108000300000000080800040000000010340001800c0001007061796c6f6164002400028008000100' +
  '000000030800020000000002080003000000000008000400000000024c0001800900010068617368000000003c000280' +
  '0800010000000002080002000000000108000300000000140800040000000100080005004b4154530800060000006000' +
  '080007000000000024000180090001006d65746100000000140002800800020000000003080003000000000134000000' +
  '080a0100080000000000000001000000120001006b656570616c697665645f7473000000090002007673346700000000' +
  '5c010000060a010c090000000000000001000000120001006b656570616c697665645f74730000000900020076733467' +
  '000000002801048024000180090001006d6574610000000014000280080002000000000f08000100000000012c000180' +
  '08000100636d700020000280080001000000000108000200000000000c0003800500010002000000340001800c000100' +
  '7061796c6f6164002400028008000100000000020800020000000001080003000000000c080004000000000434000180' +
  '0c0001007061796c6f61640024000280080001000000000d080002000000000208000300000000000800040000000002' +
  '4c0001800900010068617368000000003c00028008000100000000020800020000000001080003000000000808000400' +
  '00000100080005004b415453080006000000800008000700000000002000018007000100637400001400028008000200' +
  '0000000308000400000000015c010000060a010c0a0000000000000001000000120001006b656570616c697665645f74' +
  '730000000900020076733467000000002801048024000180090001006d6574610000000014000280080002000000000f' +
  '08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c00038005000100' +
  '0a000000340001800c0001007061796c6f61640024000280080001000000000208000200000000010800030000000008' +
  '0800040000000010340001800c0001007061796c6f616400240002800800010000000003080002000000000208000300' +
  '0000000008000400000000024c0001800900010068617368000000003c00028008000100000000020800020000000001' +
  '08000300000000140800040000000ffd080005004b415453080006000000800008000700000000002000018007000100' +
  '63740000140002800800020000000003080004000000000114000000110001000b000000000000000000000a';

/** The batch with NLM_F_ACK cleared in every message (we ask for acknowledgements; nft does not). */
function noAck(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let off = 0; off < out.length; ) {
    const len = out.readUInt32LE(off);
    out.writeUInt16LE(out.readUInt16LE(off + 6) & ~0x4, off + 6);
    off += (len + 3) & ~3;
  }
  return out;
}

const DR = { ingress: ['eth0'], egress: 'eth0' };
const svc = (over: Partial<ServiceSpec>): ServiceSpec => ({
  name: 'a',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
  scheduler: 'rr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals: [11, 12, 13].map((i) => ({ address: `198.51.100.${i}`, port: 0, weight: 1, method: 'DR' as const })),
  sorryActive: false,
  ...over,
});

describe('raw batches for direct-routing pick rules', () => {
  it('encodes DR pick rules (netdev and fwmark tables) byte for byte as nft does, acknowledgements aside', () => {
    const b = encodeBatch(
      [
        { op: 'flush', chain: 'dr/vs1g' },
        { op: 'drrule', chain: 'dr/vs1g', proto: 6, modulus: 3, offset: 8192 },
        { op: 'flush', chain: 'fm4/vs2g' },
        { op: 'drrule', chain: 'fm4/vs2g', proto: 17, modulus: 5, offset: 16384 },
      ],
      0,
    );
    assert.ok(b);
    assert.equal(noAck(b.bytes).toString('hex'), NFT_BATCH);
  });

  it('encodes DR empty-pool and hashing picks byte for byte as nft does, acknowledgements aside', () => {
    const S = 0x4b415453;
    const hash = (family: 4 | 6, field: 'saddr' | 'daddr', port: boolean, modulus: number, offset: number) =>
      ({ kind: 'hash', family, field, port, modulus, seed: S, offset }) as const;
    const b = encodeBatch(
      [
        { op: 'flush', chain: 'dr/vs1g' },
        { op: 'drpick', chain: 'dr/vs1g', proto: 6, pick: { kind: 'none' } },
        { op: 'drpick', chain: 'dr/vs1g', proto: 6, pick: hash(4, 'saddr', false, 256, 8192) },
        { op: 'drpick', chain: 'dr/vs1g', proto: 17, pick: hash(6, 'daddr', true, 4093, 8192) },
        { op: 'flush', chain: 'fm4/vs2g' },
        { op: 'drpick', chain: 'fm4/vs2g', proto: 6, pick: hash(4, 'saddr', true, 256, 16384) },
        { op: 'drpick', chain: 'fm4/vs2g', proto: 17, pick: { kind: 'none' } },
        { op: 'flush', chain: 'fm6/vs3g' },
        { op: 'drpick', chain: 'fm6/vs3g', proto: 6, pick: hash(6, 'saddr', false, 256, 24576) },
      ],
      0,
    );
    assert.ok(b);
    assert.equal(noAck(b.bytes).toString('hex'), NFT_DR_PICKS);
  });

  it('encodes the picks of fwmark services (every protocol: no protocol match) byte for byte as nft does', () => {
    const S = 0x4b415453;
    const b = encodeBatch(
      [
        { op: 'flush', chain: 'fm4/vs2g' },
        { op: 'drrule', chain: 'fm4/vs2g', proto: 0, modulus: 3, offset: 16384 },
        { op: 'drpick', chain: 'fm4/vs2g', proto: 0, pick: { kind: 'none' } },
        {
          op: 'drpick',
          chain: 'fm4/vs2g',
          proto: 0,
          pick: { kind: 'hash', family: 4, field: 'saddr', port: true, modulus: 256, seed: S, offset: 16384 },
        },
        { op: 'flush', chain: 'fm6/vs3g' },
        {
          op: 'drpick',
          chain: 'fm6/vs3g',
          proto: 0,
          pick: {
            kind: 'hash',
            family: 6,
            field: 'daddr',
            port: false,
            modulus: 4093,
            seed: S,
            offset: 24576,
          },
        },
        {
          op: 'drpick',
          chain: 'fm6/vs3g',
          proto: 0,
          pick: { kind: 'hash', family: 6, field: 'saddr', port: true, modulus: 256, seed: S, offset: 24576 },
        },
        { op: 'flush', chain: 'vs4g' },
        {
          op: 'pick',
          chain: 'vs4g',
          pick: { kind: 'hash', family: 4, field: 'saddr', port: 'th', modulus: 256, seed: S, offset: 32768 },
        },
        {
          op: 'pick',
          chain: 'vs4g',
          pick: {
            kind: 'hash',
            family: 6,
            field: 'saddr',
            port: 'th',
            modulus: 4093,
            seed: S,
            offset: 32768,
          },
        },
      ],
      0,
    );
    assert.ok(b);
    assert.equal(noAck(b.bytes).toString('hex'), NFT_FWMARK_PICKS);
  });

  it('a DR verdict changing the slot count goes raw: elements and the pick rule', () => {
    for (const over of [
      {},
      { name: 'f', protocol: 'udp' as const, matches: [{ kind: 'fwmark' as const, fwmark: 7 }] },
    ]) {
      const s = svc(over);
      const alloc = allocate(emptyAlloc(), { services: [s] });
      const down = { ...s, reals: s.reals.map((r, i) => (i === 1 ? { ...r, weight: 0 } : r)) };
      const ops = rawOps(
        partialModel([renderService(s, alloc, DR)]),
        partialModel([renderService(down, alloc, DR)]),
      );
      assert.ok(ops, JSON.stringify(over));
      assert.deepEqual(
        ops.map((o) => o.op),
        ['flush', 'delelem', 'addelem', 'drrule'],
      );
      // A fwmark service's pick has no protocol match (it serves every protocol): proto 0.
      assert.equal(ops.find((o) => o.op === 'drrule')?.proto, 'fwmark' in (over.matches?.[0] ?? {}) ? 0 : 6);
      assert.ok(encodeBatch(ops, 0));
    }
    // A hashing pick keeps its rule (`jhash … mod 256`): only its buckets change, as elements.
    const sh = svc({ scheduler: 'sh' });
    const alloc = allocate(emptyAlloc(), { services: [sh] });
    const shDown = { ...sh, reals: sh.reals.slice(0, 2) };
    const shOps = rawOps(
      partialModel([renderService(sh, alloc, DR)]),
      partialModel([renderService(shDown, alloc, DR)]),
    );
    assert.ok(shOps);
    assert.ok(!shOps.some((o) => o.op === 'drrule' || o.op === 'drpick' || o.op === 'flush'));
    // An emptied pool (`meta mark set 0x0`) and its refill with a hashing pick go raw too.
    const none: ServiceSpec = { ...sh, reals: sh.reals.map((r) => ({ ...r, weight: 0 })) };
    const emptied = rawOps(
      partialModel([renderService(sh, alloc, DR)]),
      partialModel([renderService(none, alloc, DR)]),
    );
    assert.deepEqual(
      emptied?.filter((o) => o.op === 'drpick'),
      [{ op: 'drpick', chain: 'dr/vs1g', proto: 6, pick: { kind: 'none' } }],
    );
    const hashed = { ...sh, flags: { ...sh.flags, hashPort: true } };
    const refilled = rawOps(
      partialModel([renderService(none, alloc, DR)]),
      partialModel([renderService(hashed, alloc, DR)]),
    );
    assert.deepEqual(
      refilled?.filter((o) => o.op === 'drpick'),
      [
        {
          op: 'drpick',
          chain: 'dr/vs1g',
          proto: 6,
          pick: {
            kind: 'hash',
            family: 4,
            field: 'saddr',
            port: true,
            modulus: 256,
            seed: 0x4b415453,
            offset: 8192,
          },
        },
      ],
    );
  });
});

const here = fileURLToPath(new URL('.', import.meta.url));

describe('raw DR batches in a namespace', { skip: !isRoot() && 'needs root' }, () => {
  const made: string[] = [];
  after(() => {
    for (const n of made) deleteNetns(n);
  });
  it('leaves the same ruleset as libnftables after the same DR verdicts', () => {
    const outs: string[] = [];
    for (const raw of ['raw', 'script']) {
      const ns = createNetns('drraw');
      made.push(ns);
      const r = spawnSync(
        'ip',
        ['netns', 'exec', ns, process.execPath, '--import', 'tsx', `${here}dr-raw-main.ts`, raw],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      assert.equal(r.status, 0, r.stderr);
      outs.push(r.stdout);
    }
    const [a, b] = outs as [string, string];
    assert.match(a, /routes raw(,raw){10}\n/);
    assert.match(b, /routes script(,script){10}\n/);
    const ruleset = rulesetOf;
    assert.match(ruleset(a), /dup to meta mark map @bk device "eth0" drop/);
    assert.match(ruleset(a), /meta mark set numgen inc mod 3 offset/);
    assert.match(ruleset(a), /meta mark set jhash ip saddr \. tcp sport mod 256 seed 0x4b415453 offset/);
    // The fwmark service's emptied pool: no protocol match (a fwmark service serves every protocol).
    assert.match(ruleset(a), /chain vs\d+g \{\n\t\tmeta mark set 0x00000000\n/);
    assert.match(ruleset(a), /meta mark set jhash ip6 daddr mod 256 seed 0x4b415453 offset/);
    assert.equal(ruleset(a), ruleset(b));
  });
});
