// Raw nf_tables batches for the pick rules of NAT services besides the rotation (src/lvs/nft-raw.ts,
// natPickOp): an emptied pool's `ct mark set 0x0` and the hash schedulers' `jhash`, byte for byte against
// what nft 1.0.6 sends for the same script (captured with `strace -e write=` around `nft -f` in a test
// namespace, docs/lvs.md "Raw element batches"); and, in namespaces as root, that a pool emptied and
// refilled, the sorry server switched in and out and a rebalance leave the ruleset libnftables leaves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocate, emptyAlloc, type NftModel, partialModel, renderService } from '../../src/lvs/nft-model.js';
import { encodeBatch, type RawOp, rawOps } from '../../src/lvs/nft-raw.js';
import { isRoot } from '../helpers/netns.js';
import { NO_FLAGS, nat, svc } from './fixtures.js';
import { outputsPerMode, rulesetOf } from './lab.js';

/**
 * nft's batch (seq 0 … 7) for:
 *   flush chain inet keepalived_ts vs1g
 *   add rule inet keepalived_ts vs1g ct mark set 0x0
 *   add rule inet keepalived_ts vs1g ct mark set jhash ip saddr mod 256 seed 0x4b415453 offset 8192
 *   add rule inet keepalived_ts vs1g ct mark set jhash ip6 daddr mod 256 seed 0x4b415453 offset 8192
 *   add rule inet keepalived_ts vs1g ct mark set jhash ip saddr . tcp sport mod 4093 seed 0x4b415453 offset 8192
 *   add rule inet keepalived_ts vs1g ct mark set jhash ip6 saddr . udp sport mod 4093 seed 0x4b415453 offset 8192
 */
const NFT_PICKS =
  '140000001000010000000000000000000000000a34000000080a0100010000000000000001000000120001006b656570' +
  '616c697665645f747300000009000200767331670000000084000000060a010c02000000000000000100000012000100' +
  '6b656570616c697665645f7473000000090002007673316700000000500004802c0001800e000100696d6d6564696174' +
  '650000001800028008000100000000010c00028008000100000000002000018007000100637400001400028008000200' +
  '00000003080004000000000128010000060a010c030000000000000001000000120001006b656570616c697665645f74' +
  '73000000090002007673316700000000f400048024000180090001006d6574610000000014000280080002000000000f' +
  '08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c00038005000100' +
  '02000000340001800c0001007061796c6f6164002400028008000100000000020800020000000001080003000000000c' +
  '08000400000000044c0001800900010068617368000000003c0002800800010000000002080002000000000108000300' +
  '000000040800040000000100080005004b41545308000600000020000800070000000000200001800700010063740000' +
  '140002800800020000000003080004000000000128010000060a010c040000000000000001000000120001006b656570' +
  '616c697665645f7473000000090002007673316700000000f400048024000180090001006d6574610000000014000280' +
  '080002000000000f08000100000000012c00018008000100636d70002000028008000100000000010800020000000000' +
  '0c000380050001000a000000340001800c0001007061796c6f6164002400028008000100000000020800020000000001' +
  '080003000000001808000400000000104c0001800900010068617368000000003c000280080001000000000208000200' +
  '0000000108000300000000100800040000000100080005004b4154530800060000002000080007000000000020000180' +
  '07000100637400001400028008000200000000030800040000000001ac010000060a010c050000000000000001000000' +
  '120001006b656570616c697665645f74730000000900020076733167000000007801048024000180090001006d657461' +
  '0000000014000280080002000000000f08000100000000012c00018008000100636d7000200002800800010000000001' +
  '08000200000000000c000380050001000200000024000180090001006d65746100000000140002800800020000000010' +
  '08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c00038005000100' +
  '06000000340001800c0001007061796c6f6164002400028008000100000000020800020000000001080003000000000c' +
  '0800040000000004340001800c0001007061796c6f61640024000280080001000000000d080002000000000208000300' +
  '0000000008000400000000024c0001800900010068617368000000003c00028008000100000000020800020000000001' +
  '08000300000000080800040000000ffd080005004b415453080006000000200008000700000000002000018007000100' +
  '637400001400028008000200000000030800040000000001ac010000060a010c06000000000000000100000012000100' +
  '6b656570616c697665645f74730000000900020076733167000000007801048024000180090001006d65746100000000' +
  '14000280080002000000000f08000100000000012c00018008000100636d700020000280080001000000000108000200' +
  '000000000c000380050001000a00000024000180090001006d6574610000000014000280080002000000001008000100' +
  '000000012c00018008000100636d700020000280080001000000000108000200000000000c0003800500010011000000' +
  '340001800c0001007061796c6f6164002400028008000100000000020800020000000001080003000000000808000400' +
  '00000010340001800c0001007061796c6f61640024000280080001000000000308000200000000020800030000000000' +
  '08000400000000024c0001800900010068617368000000003c0002800800010000000002080002000000000108000300' +
  '000000140800040000000ffd080005004b41545308000600000020000800070000000000200001800700010063740000' +
  '1400028008000200000000030800040000000001140000001100010007000000000000000000000a';

const RULES = [
  'ct mark set 0x0',
  'ct mark set jhash ip saddr mod 256 seed 0x4b415453 offset 8192',
  'ct mark set jhash ip6 daddr mod 256 seed 0x4b415453 offset 8192',
  'ct mark set jhash ip saddr . tcp sport mod 4093 seed 0x4b415453 offset 8192',
  'ct mark set jhash ip6 saddr . udp sport mod 4093 seed 0x4b415453 offset 8192',
];

const pickChain = (chain: string, rule: string): NftModel => {
  const m = partialModel([]);
  m.chains.set(chain, { decl: '', rules: [rule] });
  return m;
};

/** A batch's messages without NLM_F_ACK (we ask for acknowledgements; nft does not). */
function withoutAck(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let off = 0; off < out.length; off += (out.readUInt32LE(off) + 3) & ~3)
    out.writeUInt16LE(out.readUInt16LE(off + 6) & ~0x4, off + 6);
  return out;
}

describe('raw batches of NAT pick rules', () => {
  it('encode the empty pool and the hash picks byte for byte as nft does (but for acknowledgements)', () => {
    const ops: RawOp[] = [{ op: 'flush', chain: 'vs1g' }];
    for (const r of RULES) {
      const o = rawOps(pickChain('vs1g', 'ct mark set numgen inc mod 2 offset 8192'), pickChain('vs1g', r));
      assert.ok(o, r);
      assert.equal(o.length, 2);
      ops.push(o[1] as RawOp);
    }
    const b = encodeBatch(ops, 0);
    assert.ok(b);
    assert.equal(withoutAck(b.bytes).toString('hex'), NFT_PICKS);
    assert.deepEqual(b.seqs, [1, 2, 3, 4, 5, 6]);
  });

  it('take a rendered service into and out of an empty pool; leave other chains to libnftables', () => {
    const base = svc('h', {
      scheduler: 'sh',
      flags: { ...NO_FLAGS, hashPort: true },
      reals: [nat('192.0.2.10', 80), nat('192.0.2.11', 80)],
    });
    const empty = { ...base, reals: base.reals.map((r) => ({ ...r, weight: 0 })) };
    const alloc = allocate(emptyAlloc(), { services: [base] });
    const full = partialModel([renderService(base, alloc)]);
    const none = partialModel([renderService(empty, alloc)]);
    for (const [from, to, want] of [
      [full, none, 'none'],
      [none, full, 'hash'],
    ] as const) {
      const ops = rawOps(from, to);
      assert.ok(ops);
      const pick = ops.find((o) => o.op === 'pick');
      assert.ok(pick && pick.op === 'pick' && pick.pick.kind === want, JSON.stringify(ops));
      assert.ok(encodeBatch(ops, 0));
    }
    // Only a NAT pick chain (vs<id>g) is rewritten raw: not a service chain, not a direct-routing chain.
    assert.equal(
      rawOps(pickChain('vs1', 'ct mark set 0x0'), pickChain('vs1', RULES[1] as string)),
      undefined,
    );
    assert.equal(
      rawOps(pickChain('dr/vs1g', RULES[1] as string), pickChain('dr/vs1g', 'ct mark set 0x0')),
      undefined,
    );
    assert.equal(
      rawOps(pickChain('vs1g', 'ct mark set 0x0'), pickChain('vs1g', 'ct mark set 0x1')),
      undefined,
    );
  });
});

describe('raw pick rules in a namespace', { skip: !isRoot() && 'needs root' }, () => {
  it('empty pool, sorry server and rebalance: raw batches leave the ruleset libnftables leaves', () => {
    const [a, b] = outputsPerMode('nfopick', './nft-raw-pick-main.ts', ['raw', 'script']) as [string, string];
    assert.match(a, /routes raw,raw,raw,raw,raw,raw,raw,raw,raw,raw\n/);
    assert.match(b, /routes script,script,script,script,script,script,script,script,script,script\n/);
    // An empty pool takes no connection; with the sorry server in, it answers.
    assert.match(a, /traffic empty ECONNREFUSED\n/);
    assert.match(a, /traffic sorry 192\.0\.2\.30\n/);
    const ruleset = rulesetOf;
    assert.ok(ruleset(a).includes('ct mark set 0x00000000'));
    assert.ok(ruleset(a).includes('jhash ip saddr . tcp sport mod 256'));
    assert.ok(ruleset(a).includes('jhash ip saddr . th sport mod 256'));
    assert.equal(ruleset(a), ruleset(b));
  });
});
