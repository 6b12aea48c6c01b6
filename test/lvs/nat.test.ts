// LVS-NAT on the nftables data plane, in namespaces with real HTTP servers (see lab.ts for the layout).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataplaneState, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { formatList, parseConntrack } from '../../src/lvs/list.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { isRoot, nsExec } from '../helpers/netns.js';
import { nat, svc } from './fixtures.js';
import { counts, NatLab, REALS, VIP } from './lab.js';

const real = (i: number, weight = 1): RealServerSpec => nat(REALS[i]!, 8080, weight);
const SORRY = nat('127.0.0.1', 8081);

function web(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return svc('web', {
    matches: [{ kind: 'addr', address: VIP, port: 80 }],
    scheduler: 'rr',
    reals: [real(0), real(1), real(2)],
    sorry: SORRY,
    ...over,
  });
}
const st = (...services: ServiceSpec[]): DataplaneState => ({ services });

describe('LVS-NAT through nftables', { skip: !isRoot() && 'needs root' }, () => {
  let lab: NatLab;
  let dp: NftDataplane;
  const notices: string[] = [];
  before(async () => {
    lab = new NatLab();
    await lab.startServers();
    dp = new NftDataplane(cliRunner({ netns: lab.director }), { log: (m) => notices.push(m) });
  });
  after(async () => {
    await dp?.stop();
    lab?.close();
  });

  it('starts from scratch, removing leftovers of a crashed run', async () => {
    // A stale table of the same name with a rule that would drop everything.
    const stale = nsExec(lab.director, 'nft', [
      'add table inet keepalived_ts; add chain inet keepalived_ts x { type filter hook prerouting priority -300; policy drop; }',
    ]);
    assert.equal(stale.status, 0, stale.stderr);
    const r = await dp.start(st(web()));
    assert.deepEqual(r, { ok: true });
    const res = await lab.clientRun({ count: 9 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 3, rs2: 3, rs3: 3 });
  });

  it('wrr spreads 3:2:1 in IPVS order', async () => {
    assert.deepEqual(
      await dp.update(st(web({ scheduler: 'wrr', reals: [real(0, 3), real(1, 2), real(2, 1)] }))),
      {
        ok: true,
      },
    );
    const res = await lab.clientRun({ count: 12 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(res.names.slice(0, 6), ['rs1', 'rs1', 'rs2', 'rs1', 'rs2', 'rs3']);
    assert.deepEqual(counts(res.names), { rs1: 6, rs2: 4, rs3: 2 });
  });

  it('a removed or inhibited server gets no new connections; all gone brings the sorry server', async () => {
    await dp.update(st(web({ reals: [real(0), real(2)] })));
    let res = await lab.clientRun({ count: 6 });
    assert.deepEqual(counts(res.names), { rs1: 3, rs3: 3 });
    await dp.update(st(web({ reals: [real(0), real(2, 0)] })));
    res = await lab.clientRun({ count: 4 });
    assert.deepEqual(counts(res.names), { rs1: 4 });
    await dp.update(st(web({ reals: [], sorryActive: true })));
    res = await lab.clientRun({ count: 3 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { sorry: 3 });
    // Quorum back: the real servers return in one transaction.
    await dp.update(st(web()));
    res = await lab.clientRun({ count: 3 });
    assert.deepEqual(counts(res.names), { rs1: 1, rs2: 1, rs3: 1 });
  });

  it('persistence keeps each client on one server', async () => {
    await dp.update(st(web({ persistence: { timeoutS: 30, prefixLen: 32 } })));
    const a = await lab.clientRun({ count: 5, from: '198.51.100.10' });
    const b = await lab.clientRun({ count: 5, from: '198.51.100.20' });
    assert.equal(a.errors + b.errors, 0);
    assert.equal(new Set(a.names).size, 1, a.names.join());
    assert.equal(new Set(b.names).size, 1, b.names.join());
    // The rotation would have given the second client a different first server.
    assert.notEqual(a.names[0], b.names[0]);
    // With a /24 granularity both clients share one template.
    await dp.update(st(web({ persistence: { timeoutS: 30, prefixLen: 24 } })));
    const c = await lab.clientRun({ count: 3, from: '198.51.100.10' });
    const d = await lab.clientRun({ count: 3, from: '198.51.100.20' });
    assert.equal(new Set([...c.names, ...d.names]).size, 1, [...c.names, ...d.names].join());
  });

  it('transactions are atomic: flipping a server 100 times never fails a request', async () => {
    await dp.update(st(web()));
    const load = lab.clientRun({ concurrency: 4, durationMs: 4000 });
    let flips = 0;
    const t0 = Date.now();
    while (flips < 100 && Date.now() - t0 < 3500) {
      const r = await dp.update(
        st(web({ reals: flips % 2 === 0 ? [real(0), real(1)] : [real(0), real(1), real(2)] })),
      );
      assert.deepEqual(r, { ok: true });
      flips++;
    }
    const res = await load;
    assert.ok(flips >= 20, `only ${flips} flips`);
    assert.equal(res.errors, 0, res.errs.join());
    assert.ok(res.names.length > 20, `only ${res.names.length} requests`);
    const c = counts(res.names);
    assert.ok((c.rs1 ?? 0) > 0 && (c.rs2 ?? 0) > 0, JSON.stringify(c));
  });

  it('the ipvsadm-style listing counts connections per real server from conntrack', async () => {
    await dp.update(st(web()));
    const before = await lab.clientRun({ count: 6 });
    assert.equal(before.errors, 0);
    const ct = nsExec(lab.director, 'cat', ['/proc/net/nf_conntrack']);
    assert.equal(ct.status, 0, ct.stderr);
    const text = formatList(dp.committed(), dp.marks(), parseConntrack(ct.stdout));
    // Every server answered at least twice just now; closed connections linger as TIME_WAIT (InActConn).
    for (const addr of REALS) {
      const line = text.split('\n').find((l) => l.startsWith(`  -> ${addr}:8080`));
      assert.ok(line, text);
      const [, , fwd, weight, active, inactive] = line.trim().split(/\s+/);
      assert.equal(fwd, 'Masq');
      assert.equal(weight, '1');
      assert.ok(Number(active) + Number(inactive) >= 2, text);
    }
    assert.match(text, /^TCP {2}198\.51\.100\.100:80 rr$/m);
  });

  it('wlc follows connection counts: a loaded server is avoided after a rebalance', async () => {
    assert.deepEqual(await dp.update(st(web({ scheduler: 'wlc' }))), { ok: true });
    let res = await lab.clientRun({ count: 6 });
    assert.deepEqual(counts(res.names), { rs1: 2, rs2: 2, rs3: 2 }, 'no counts yet: weighted rotation');
    const mark = dp.marks().get('web|192.0.2.11|8080');
    assert.ok(mark !== undefined);
    assert.deepEqual(await dp.rebalance(new Map([[mark, { active: 40, inactive: 0 }]])), { ok: true });
    res = await lab.clientRun({ count: 6 });
    assert.equal(res.errors, 0);
    assert.equal(counts(res.names).rs1, undefined, res.names.join());
    assert.equal(notices.filter((n) => n.startsWith('scheduler wlc')).length, 1, notices.join('\n'));
  });

  it('a fwmark service takes the packets marked before NAT (virtual_server fwmark)', async () => {
    // The operator's own rule marks ports 8081-8082 of the VIP (keepalived leaves marking to the admin).
    const mark = nsExec(lab.director, 'nft', [
      `add table ip kats_mark; add chain ip kats_mark m { type filter hook prerouting priority mangle; }; add rule ip kats_mark m ip daddr ${VIP} tcp dport { 8081, 8082 } meta mark set 42`,
    ]);
    assert.equal(mark.status, 0, mark.stderr);
    const fwm = web({ name: 'fwm42', matches: [{ kind: 'fwmark', fwmark: 42 }] });
    assert.deepEqual(await dp.update(st(web(), fwm)), { ok: true });
    const a = await lab.clientRun({ count: 3, port: 8081 });
    const b = await lab.clientRun({ count: 3, port: 8082 });
    assert.equal(a.errors + b.errors, 0, [...a.errs, ...b.errs].join());
    // Every real server serves the marked connections. Not an exact 2/2/2: under load a SYN lost before its
    // conntrack entry is confirmed is picked again when retransmitted, which moves the rotation by one.
    const got = counts([...a.names, ...b.names]);
    assert.deepEqual(Object.keys(got).sort(), ['rs1', 'rs2', 'rs3'], JSON.stringify(got));
    assert.equal(a.names.length + b.names.length, 6);
    nsExec(lab.director, 'nft', ['delete table ip kats_mark']);
  });

  it('resync restores what was removed behind our back', async () => {
    await dp.update(st(web()));
    const gone = nsExec(lab.director, 'nft', ['flush', 'map', 'inet', 'keepalived_ts', 'svc4']);
    assert.equal(gone.status, 0, gone.stderr);
    const broken = await lab.clientRun({ count: 1 });
    assert.equal(broken.errors, 1, 'without the dispatch entry the VIP answers nothing');
    assert.deepEqual(await dp.resync(), { ok: true });
    const res = await lab.clientRun({ count: 3 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 1, rs2: 1, rs3: 1 });
  });

  it('stop removes the table', async () => {
    assert.deepEqual(await dp.stop(), { ok: true });
    const l = nsExec(lab.director, 'nft', ['list', 'tables']);
    assert.doesNotMatch(l.stdout, /keepalived_ts/);
    void VIP;
  });
});
