// LVS-DR on the nftables data plane: client, director and three real servers on one LAN segment. The
// director holds the VIP on eth0 and forwards frames unchanged (netdev ingress `fwd`); the real servers
// hold the VIP on lo (arp_ignore=1, arp_announce=2) and answer the client directly.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { DataplaneState, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { ip, isRoot, Lab, nsExec } from '../helpers/netns.js';
import {
  counts,
  DR_RS,
  DR_RS6,
  drDataplane,
  drLan,
  drService,
  ipv6Settled,
  replyCounter,
  runClient,
  VIP,
  VIP6,
} from './lab.js';

const RS = DR_RS;
const RS6 = DR_RS6;
const real = (i: number, weight = 1): RealServerSpec => ({ address: RS[i]!, port: 80, weight, method: 'DR' });
const real6 = (i: number, weight = 1): RealServerSpec => ({
  address: RS6[i]!,
  port: 80,
  weight,
  method: 'DR',
});
const st = (...services: ServiceSpec[]): DataplaneState => ({ services });

describe('LVS-DR through nftables (netdev ingress fwd)', { skip: !isRoot() && 'needs root' }, () => {
  let lab: Lab;
  let client = '';
  let director = '';
  const procs: ChildProcess[] = [];
  let dp: NftDataplane;
  let repliesSeen: () => number[] = () => [];
  before(async () => {
    lab = new Lab('lvsdr');
    ({ client, director } = await drLan(lab, procs, 'dr'));
    ip('-n', client, 'addr', 'add', '198.51.100.20/24', 'dev', 'eth0');
    // Counts IP packets from the VIPs reaching the director: replies must bypass it.
    repliesSeen = replyCounter(director, { v4: VIP, v6: VIP6 });
    dp = drDataplane(director);
  });
  after(async () => {
    await dp?.stop();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    lab?.close();
  });

  it('spreads connections rr, and replies go from the real servers to the client directly', async () => {
    assert.deepEqual(await dp.start(st(drService())), { ok: true });
    const res = await runClient(procs, client, { count: 9 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 3, rs2: 3, rs3: 3 });
    assert.deepEqual(repliesSeen(), [0, 0]);
  });

  it('wrr proportions; a removed server gets no new connections', async () => {
    assert.deepEqual(
      await dp.update(st(drService({ scheduler: 'wrr', reals: [real(0, 2), real(1, 1), real(2, 1)] }))),
      {
        ok: true,
      },
    );
    let res = await runClient(procs, client, { count: 8 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 4, rs2: 2, rs3: 2 });
    await dp.update(st(drService({ reals: [real(0), real(2)] })));
    res = await runClient(procs, client, { count: 4 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 2, rs3: 2 });
  });

  /** Marks of the entries of one of the director's dynamic maps. */
  const entryMarks = (map: string): number[] => {
    const r = nsExec(director, 'nft', ['-j', 'list', 'map', 'netdev', 'keepalived_ts_dr', map]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { nftables: { map?: { elem?: [unknown, number][] } }[] };
    return doc.nftables.flatMap((o) => (o.map?.elem ?? []).map(([, v]) => v));
  };
  const markOf = (addr: string): number => dp.marks().get(`web|${addr}|80`) ?? -1;

  it('a removed server takes its flow entries along: a reused client port is rescheduled once, cleanly', async () => {
    assert.deepEqual(await dp.update(st(drService())), { ok: true });
    // One client port, requests one after the other: each new connection reuses the port and so
    // meets the flow entry of the previous one (the server closes first, the client port is free).
    let res = await runClient(procs, client, { count: 3, sport: 40123 });
    assert.equal(res.errors, 0, res.errs.join());
    const first = res.names[0]!;
    assert.ok(
      res.names.every((n) => n === first),
      `one port stays on its server: ${res.names}`,
    );
    const gone = Number(first.slice(2)) - 1;
    const goneMark = markOf(RS[gone]!);
    assert.ok(entryMarks('flows4').includes(goneMark), 'the flow names the server');
    // That server leaves the pool: its flow entries go in the same change.
    const left = [0, 1, 2].filter((i) => i !== gone);
    assert.deepEqual(await dp.update(st(drService({ reals: left.map((i) => real(i)) }))), { ok: true });
    assert.ok(dp.lastDrCleanup.deleted + dp.lastDrCleanup.swept >= 1, JSON.stringify(dp.lastDrCleanup));
    assert.deepEqual(dp.lastDrCleanup.errors, []);
    assert.ok(!entryMarks('flows4').includes(goneMark), 'no flow entry names the removed server');
    // The port's next connections: scheduled once, and every packet of each follows that choice (a stale
    // entry would re-pick every packet, sending the handshake's ACK to another server, which resets it).
    res = await runClient(procs, client, { count: 6, sport: 40123 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.ok(!res.names.includes(first), `${res.names}`);
    // Inhibiting keeps the flow entries (established connections continue).
    const stay = Number(res.names[0]!.slice(2)) - 1;
    const stayMark = markOf(RS[stay]!);
    assert.deepEqual(
      await dp.update(st(drService({ reals: left.map((i) => real(i, i === stay ? 0 : 1)) }))),
      {
        ok: true,
      },
    );
    assert.ok(entryMarks('flows4').includes(stayMark), 'an inhibited server keeps its flows');
    assert.deepEqual(repliesSeen(), [0, 0]);
  });

  it('IPv6: rr spread, removal, replies bypass the director', async () => {
    await ipv6Settled([...lab.hosts.values()]);
    const svc6 = (reals: RealServerSpec[]) =>
      drService({ name: 'web6', family: 6, matches: [{ kind: 'addr', address: VIP6, port: 80 }], reals });
    assert.deepEqual(await dp.update(st(svc6([real6(0), real6(1), real6(2)]))), { ok: true });
    const v6 = { target: VIP6, from: '2001:db8:1::10' };
    let res = await runClient(procs, client, { count: 9, ...v6 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 3, rs2: 3, rs3: 3 });
    res = await runClient(procs, client, { count: 3, sport: 40124, ...v6 });
    assert.equal(res.errors, 0, res.errs.join());
    const gone = Number(res.names[0]!.slice(2)) - 1;
    const left = [0, 1, 2].filter((i) => i !== gone);
    assert.deepEqual(await dp.update(st(svc6(left.map((i) => real6(i))))), { ok: true });
    assert.ok(dp.lastDrCleanup.deleted + dp.lastDrCleanup.swept >= 1, JSON.stringify(dp.lastDrCleanup));
    res = await runClient(procs, client, { count: 4, sport: 40124, ...v6 });
    assert.equal(res.errors, 0, res.errs.join());
    res = await runClient(procs, client, { count: 4, ...v6 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(
      Object.keys(counts(res.names)).sort(),
      left.map((i) => `rs${i + 1}`),
    );
    assert.deepEqual(repliesSeen(), [0, 0]);
  });

  it('persistence: a client prefix sticks to one server; inhibiting or removing it moves the prefix', async () => {
    const pers = (reals: RealServerSpec[]) =>
      drService({ persistence: { timeoutS: 30, prefixLen: 24 }, reals });
    assert.deepEqual(await dp.update(st(pers([real(0), real(1), real(2)]))), { ok: true });
    const a = await runClient(procs, client, { count: 4, sport: 40125 });
    const b = await runClient(procs, client, { count: 4, from: '198.51.100.20' });
    assert.equal(a.errors + b.errors, 0, [...a.errs, ...b.errs].join());
    const all = [...a.names, ...b.names];
    const first = all[0]!;
    assert.ok(
      all.every((n) => n === first),
      `one /24, one server: ${all}`,
    );
    const i0 = Number(first.slice(2)) - 1;
    assert.ok(entryMarks('pers4').includes(markOf(RS[i0]!)));
    // Inhibited: no new connections for the prefix there (its entry goes), existing flows stay.
    assert.deepEqual(await dp.update(st(pers([0, 1, 2].map((i) => real(i, i === i0 ? 0 : 1))))), {
      ok: true,
    });
    assert.ok(!entryMarks('pers4').includes(markOf(RS[i0]!)), 'inhibited: persistence entry gone');
    // Its flows continue (here a reused client port meets its flow entry) without writing the entry again.
    const old = await runClient(procs, client, { count: 1, sport: 40125 });
    assert.deepEqual(old.names, [first], old.errs.join());
    assert.ok(
      !entryMarks('pers4').includes(markOf(RS[i0]!)),
      "an inhibited server's flow renews no persistence",
    );
    const c = await runClient(procs, client, { count: 4 });
    assert.equal(c.errors, 0, c.errs.join());
    const second = c.names[0]!;
    assert.notEqual(second, first);
    assert.ok(
      c.names.every((n) => n === second),
      `sticks again: ${c.names}`,
    );
    // Removed: its persistence and flow entries go; the prefix moves and sticks again.
    const i1 = Number(second.slice(2)) - 1;
    const m1 = markOf(RS[i1]!);
    assert.deepEqual(
      await dp.update(st(pers([0, 1, 2].filter((i) => i !== i1).map((i) => real(i, i === i0 ? 0 : 1))))),
      { ok: true },
    );
    assert.ok(!entryMarks('pers4').includes(m1) && !entryMarks('flows4').includes(m1));
    const d = await runClient(procs, client, { count: 4, from: '198.51.100.20' });
    assert.equal(d.errors, 0, d.errs.join());
    assert.ok(
      d.names.every((n) => n === d.names[0] && n !== first && n !== second),
      `${d.names}`,
    );
    assert.deepEqual(repliesSeen(), [0, 0]);
  });

  it('lvs_timeouts: TCP flow entries expire after the tcp timeout, UDP ones after the udp one; else IPVS defaults', async () => {
    const dns = drService({
      name: 'dns',
      protocol: 'udp',
      matches: [{ kind: 'addr', address: VIP, port: 53 }],
      reals: [0, 1, 2].map((i) => ({ ...real(i), port: 53 })),
    });
    assert.deepEqual(await dp.update(st(drService(), dns)), { ok: true });
    // A reload bringing lvs_timeouts (the start path renders the same rules: nft-model.ts drFlowTimeoutS).
    assert.deepEqual(await dp.setTimeouts({ tcp: 120, udp: 40 }), { ok: true });
    /** The flow entry of a client port: its own timeout (absent = the map's 900 s) and what remains of it. */
    const entry = (sport: number) => {
      const r = nsExec(director, 'nft', ['-j', 'list', 'map', 'netdev', 'keepalived_ts_dr', 'flows4']);
      assert.equal(r.status, 0, r.stderr);
      type Elem = [{ elem: { val: { concat: unknown[] }; timeout?: number; expires: number } }, number];
      const doc = JSON.parse(r.stdout) as { nftables: { map?: { elem?: Elem[] } }[] };
      const hit = doc.nftables
        .flatMap((o) => o.map?.elem ?? [])
        .find(([e]) => e.elem.val.concat[1] === sport && e.elem.val.concat[2] === VIP);
      assert.ok(hit, `a flow entry for port ${sport}`);
      return { timeout: hit[0].elem.timeout, expires: hit[0].elem.expires };
    };
    let res = await runClient(procs, client, { count: 1, sport: 40126 });
    assert.equal(res.errors, 0, res.errs.join());
    const tcp = entry(40126);
    assert.equal(tcp.timeout, 120);
    assert.ok(tcp.expires > 100 && tcp.expires <= 120, JSON.stringify(tcp));
    const udpSend = (sport: number) => `const s = require('node:dgram').createSocket('udp4');
      s.bind(${sport}, '198.51.100.10', () => s.send('x', 53, '${VIP}', () => s.close()));`;
    assert.equal(nsExec(client, process.execPath, ['-e', udpSend(40127)]).status, 0);
    const udp = entry(40127);
    assert.equal(udp.timeout, 40);
    assert.ok(udp.expires > 30 && udp.expires <= 40, JSON.stringify(udp));
    // Without lvs_timeouts again: IPVS's defaults, 900 s for TCP (the map's own), 300 s for UDP.
    assert.deepEqual(await dp.setTimeouts(undefined), { ok: true });
    assert.equal(nsExec(client, process.execPath, ['-e', udpSend(40129)]).status, 0);
    const udpPlain = entry(40129);
    assert.equal(udpPlain.timeout, 300);
    assert.ok(udpPlain.expires > 290 && udpPlain.expires <= 300, JSON.stringify(udpPlain));
    res = await runClient(procs, client, { count: 1, sport: 40128 });
    assert.equal(res.errors, 0, res.errs.join());
    const plain = entry(40128);
    assert.equal(plain.timeout, undefined);
    assert.ok(plain.expires > 880 && plain.expires <= 900, JSON.stringify(plain));
  });

  it('refuses DR without interfaces, before touching the kernel', async () => {
    const bare = new NftDataplane(cliRunner({ netns: director }));
    const r = await bare.start(st(drService()));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'LVS_UNSUPPORTED');
  });
});
