// Raw nf_tables element batches (src/lvs/nft-raw.ts): the bytes against what nft 1.0.6 itself sends for
// the same change (captured with `strace -e write=` around `nft -f` in a test namespace, see docs/lvs.md),
// which changes are accepted for the raw path, and — in namespaces, as root — that a data plane using it
// leaves exactly the ruleset the libnftables path leaves, and that traffic follows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Change, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import {
  allocate,
  emptyAlloc,
  localFlowsScript,
  type NftModel,
  partialModel,
  renderService,
} from '../../src/lvs/nft-model.js';
import { encodeBatch, type RawOp, type RawSender, rawOps } from '../../src/lvs/nft-raw.js';
import type { NftRunner } from '../../src/lvs/nft-runner.js';
import { isRoot } from '../helpers/netns.js';
import { svc } from './fixtures.js';
import { outputsPerMode, rulesetOf } from './lab.js';

/**
 * nft's batch for (seq 0 … 6):
 *   add element inet keepalived_ts svc4 { 198.51.100.1 . tcp . 80 : goto vs1 }
 *   add element inet keepalived_ts bk4 { 0x101 : 192.0.2.10 . 10000 }
 *   delete element inet keepalived_ts slots { 0x2001 }
 *   flush chain inet keepalived_ts vs1g
 *   add rule inet keepalived_ts vs1g ct mark set numgen inc mod 4 offset 8192
 */
const NFT_BATCH =
  '140000001000010000000000000000000000000a700000000c0a0104010000000000000001000000120001006b656570' +
  '616c697665645f7473000000090002007376633400000000080004000000000134000380300001801400018010000100' +
  'c63364010600000000500000180002801400028008000100fffffffc08000200767331005c0000000c0a010402000000' +
  '0000000001000000120001006b656570616c697665645f747300000008000200626b3400080004000000000324000380' +
  '200001800c0001800800010001010000100002800c000100c000020a27100000480000000e0a01000300000000000000' +
  '01000000120001006b656570616c697665645f74730000000a000200736c6f747300000014000380100001800c000180' +
  '080001000120000034000000080a0100040000000000000001000000120001006b656570616c697665645f7473000000' +
  '0900020076733167000000008c000000060a010c050000000000000001000000120001006b656570616c697665645f74' +
  '7300000009000200767331670000000058000480340001800b0001006e756d67656e0000240002800800010000000001' +
  '080002000000000408000300000000000800040000002000200001800700010063740000140002800800020000000003' +
  '0800040000000001140000001100010006000000000000000000000a';

/**
 * Messages with what legitimately differs taken out: NLM_F_ACK (we ask for acknowledgements, nft only
 * listens for errors) and NFTA_SET_ELEM_LIST_SET_ID (nft's cache id of the set; the kernel finds an
 * existing set by name). Each message as hex.
 */
function normalise(b: Buffer): string[] {
  const out: string[] = [];
  for (let off = 0; off < b.length; ) {
    const len = b.readUInt32LE(off);
    const type = b.readUInt16LE(off + 4);
    const flags = b.readUInt16LE(off + 6) & ~0x4;
    const head = Buffer.from(b.subarray(off, off + 20));
    head.writeUInt16LE(flags, 6);
    const attrs: Buffer[] = [];
    for (let a = off + 20; a < off + len; ) {
      const alen = b.readUInt16LE(a);
      const atype = b.readUInt16LE(a + 2) & 0x3fff;
      const isElem = (type & 0xff) === 12 || (type & 0xff) === 14;
      if (!(isElem && atype === 4)) attrs.push(b.subarray(a, a + ((alen + 3) & ~3)));
      a += (alen + 3) & ~3;
    }
    const body = Buffer.concat(attrs);
    head.writeUInt32LE(20 + body.length, 0);
    out.push(Buffer.concat([head, body]).toString('hex'));
    off += (len + 3) & ~3;
  }
  return out;
}

const model = (sets: Record<string, [string, string][]>, chains: Record<string, string[]> = {}): NftModel => {
  const m = partialModel([]);
  for (const [n, els] of Object.entries(sets)) for (const [k, v] of els) m.sets.get(n)?.elems.set(k, v);
  for (const [n, rules] of Object.entries(chains)) m.chains.set(n, { decl: '', rules });
  return m;
};

/** One wrr service over two NAT servers (weights 3 and 1), as both groups of tests below change it. */
const WRR_TWO = svc('a');

describe('raw nf_tables element batch', () => {
  it('encodes a change byte for byte as nft does (but for acknowledgements and the set id)', () => {
    const from = model(
      { slots: [['0x2001', '0x101']] },
      { vs1g: ['ct mark set numgen inc mod 5 offset 8192'] },
    );
    const to = model(
      { svc4: [['198.51.100.1 . tcp . 80', 'goto vs1']], bk4: [['0x101', '192.0.2.10 . 10000']] },
      { vs1g: ['ct mark set numgen inc mod 4 offset 8192'] },
    );
    const ops = rawOps(from, to);
    assert.ok(ops);
    // nft's order: adds before deletes here because the script was written so; ours follows diffScript
    // (flush, deletes, adds, rules), so compare message by message as sets of messages and then in order.
    const ours = encodeBatch(ops, 0);
    assert.ok(ours);
    const theirs = normalise(Buffer.from(NFT_BATCH, 'hex'));
    const mine = normalise(ours.bytes);
    assert.equal(mine.length, theirs.length);
    // Sequence numbers follow the order, which differs: blank them and compare as multisets.
    const noSeq = (h: string) => h.slice(0, 16) + h.slice(24);
    assert.deepEqual([...mine.map(noSeq)].sort(), [...theirs.map(noSeq)].sort());
    assert.equal(mine[0], theirs[0]); // BATCH_BEGIN, seq 0
    assert.deepEqual(ours.seqs, [1, 2, 3, 4, 5]);
  });

  it('encodes IPv6 dispatch and backend elements and netdev (direct-routing) maps', () => {
    const from = model({});
    const to = model({
      svc6: [['2001:db8::1 . udp . 53', 'goto vs7']],
      bk6: [['0x105', '2001:db8:0:1::a . 8053']],
      'dr/bk4': [['0x106', '192.0.2.20']],
    });
    const ops = rawOps(from, to);
    assert.ok(ops);
    const b = encodeBatch(ops, 10);
    assert.ok(b);
    const hex = b.bytes.toString('hex');
    // svc6 key: NFTA_DATA_VALUE of 16 address bytes, udp (17) padded to 4, port 53 padded to 4.
    assert.ok(hex.includes('1c00010020010db8000000000000000000000001110000000035' + '0000'));
    // bk6 value: 16 address bytes then port 8053 padded to 4.
    assert.ok(hex.includes('1800010020010db80000000100000000' + '0000000a' + '1f750000'));
    // dr/bk4: a bare IPv4 address, in a message of the netdev family (5) for table keepalived_ts_dr.
    assert.ok(hex.includes('08000100c0000214'));
    const dr = hex.indexOf('6b656570616c697665645f74735f647200');
    const msgStart = dr / 2 - 24;
    assert.equal(b.bytes[msgStart + 16], 5);
  });

  it('refuses what is not an element change: new chains, other rules, unknown values', () => {
    const a = model({}, { vs1: ['jump vs1g'] });
    assert.equal(rawOps(a, model({}, { vs1: ['jump vs2g'] })), undefined);
    assert.equal(rawOps(model({}), model({}, { r101: ['update @p101 { ip saddr }'] })), undefined);
    const accept = rawOps(model({}), model({ svc4: [['198.51.100.1 . tcp . 80', 'accept']] }));
    assert.ok(accept);
    assert.equal(encodeBatch(accept, 0), undefined, 'only goto verdicts are encoded');
    // Persistence adds a set and a chain per server: not raw.
    const s = WRR_TWO;
    const alloc = allocate(emptyAlloc(), { services: [s] });
    const down = { ...s, reals: [s.reals[0], { ...s.reals[1], weight: 0 }] } as ServiceSpec;
    const ops = rawOps(partialModel([renderService(s, alloc)]), partialModel([renderService(down, alloc)]));
    assert.ok(ops, 'a wrr server going down is raw');
    assert.deepEqual(
      ops.map((o) => o.op),
      ['flush', 'delelem', 'delelem', 'rule'],
    );
    const pers = { ...s, persistence: { timeoutS: 300 } } as ServiceSpec;
    const persDown = { ...down, persistence: { timeoutS: 300 } } as ServiceSpec;
    assert.equal(
      rawOps(partialModel([renderService(pers, alloc)]), partialModel([renderService(persDown, alloc)])),
      undefined,
    );
  });
});

describe('raw path in a namespace', { skip: !isRoot() && 'needs root' }, () => {
  it('leaves the same ruleset as libnftables after the same verdicts, and traffic follows', () => {
    const [a, b] = outputsPerMode('nftraw', './nft-raw-main.ts', ['raw', 'script']) as [string, string];
    assert.match(a, /routes raw,raw,raw,raw,script,raw\n/);
    assert.match(b, /routes script,script,script,script,script,script\n/);
    // Traffic follows: all three servers, then never the one taken down, then all three again.
    assert.match(a, /traffic before 192\.0\.2\.10 192\.0\.2\.11 192\.0\.2\.12\n/);
    assert.match(a, /traffic down 192\.0\.2\.10 192\.0\.2\.12\n/);
    assert.match(a, /traffic up 192\.0\.2\.10 192\.0\.2\.11 192\.0\.2\.12\n/);
    const ruleset = rulesetOf;
    assert.ok(ruleset(a).includes('numgen inc mod'));
    assert.equal(ruleset(a), ruleset(b));
  });
});

describe('data plane with the raw path (fake kernel)', () => {
  const s = WRR_TWO;
  const setup = (rawOk: boolean) => {
    const scripts: string[] = [];
    const batches: RawOp[][] = [];
    const logs: string[] = [];
    const runner: NftRunner = {
      route: 'libnftables',
      run: async (script) => {
        // The table of the director's own connections is sent apart at each start: not counted here.
        if (script !== localFlowsScript()) scripts.push(script);
        return { ok: true };
      },
      close() {},
    };
    const raw: RawSender = {
      send: async (ops) => {
        batches.push([...ops]);
        return rawOk ? { ok: true } : { ok: false, message: 'nf_tables batch refused: errno 2' };
      },
      close() {},
    };
    return { dp: new NftDataplane(runner, { raw, log: (m) => logs.push(m) }), scripts, batches, logs };
  };
  const down: Change[] = [
    { op: 'set-real', name: 'a', real: { ...(s.reals[1] as RealServerSpec), weight: 0 } },
  ];

  it('sends a verdict as a raw batch only, and a new service through libnftables', async () => {
    const t = setup(true);
    assert.ok((await t.dp.start({ services: [s] })).ok);
    assert.equal(t.scripts.length, 1);
    assert.ok((await t.dp.apply(down)).ok);
    assert.equal(t.dp.lastRoute.route, 'raw');
    assert.equal(t.scripts.length, 1, 'libnftables not called for the verdict');
    assert.equal(t.batches.length, 1);
    assert.ok(
      (
        await t.dp.apply([
          {
            op: 'add-service',
            service: { ...s, name: 'b', matches: [{ kind: 'addr', address: '198.51.100.101', port: 80 }] },
          },
        ])
      ).ok,
    );
    assert.equal(t.dp.lastRoute.route, 'script');
    assert.equal(t.batches.length, 1);
    assert.equal(t.scripts.length, 2);
  });

  it('falls back to libnftables when the kernel refuses the batch, and says so', async () => {
    const t = setup(false);
    assert.ok((await t.dp.start({ services: [s] })).ok);
    assert.ok((await t.dp.apply(down)).ok);
    assert.equal(t.batches.length, 1);
    assert.deepEqual(t.dp.lastRoute, { route: 'script', rawError: 'nf_tables batch refused: errno 2' });
    assert.equal(t.scripts.length, 2);
    // The same change through libnftables (the slot and backend leaving are retired, not deleted).
    assert.match(
      t.scripts[1] as string,
      /add rule inet keepalived_ts vs1g ct mark set numgen inc mod 1 offset/,
    );
    assert.ok(t.logs.some((l) => l.includes('through libnftables')));
    assert.equal(t.dp.committed().services[0]?.reals[1]?.weight, 0);
  });
});
