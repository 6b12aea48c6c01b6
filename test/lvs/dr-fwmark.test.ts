// LVS-DR for fwmark virtual servers on the nftables data plane (dr.test.ts's LAN: client, director, three
// real servers holding the VIP on lo). The director marks the VIP's packets in mangle prerouting as an
// administrator would (iptables -t mangle … -j MARK); the data plane's `ip`/`ip6` chain at −149 picks a
// server by that mark and sends the packet on with `dup … drop` (docs/lvs.md, "Forwarding"). Replies go
// from the real servers to the client directly, checked by a counter on the director.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { DataplaneState, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import type { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliFlowReader } from '../../src/lvs/nft-flows.js';
import { isRoot, Lab, nsExec } from '../helpers/netns.js';
import {
  counts,
  DR_RS,
  DR_RS6,
  drDataplane,
  drLan,
  ipv6Settled,
  replyCounter,
  runClient,
  startServer,
  VIP,
  VIP6,
} from './lab.js';

const RS = DR_RS;
const RS6 = DR_RS6;
// Real servers of fwmark DR services carry port 0, as keepalived programs them.
const real = (a: string): RealServerSpec => ({ address: a, port: 0, weight: 1, method: 'DR' });
/** A fwmark service over the real servers at `addrs`. */
const fwm = (fwmark: number, family: 4 | 6, addrs: string[]): ServiceSpec => ({
  name: `FWM ${fwmark}`,
  family,
  protocol: 'tcp',
  matches: [{ kind: 'fwmark', fwmark }],
  scheduler: 'rr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals: addrs.map(real),
  sorryActive: false,
});
const st = (...services: ServiceSpec[]): DataplaneState => ({ services });

describe('LVS-DR for fwmark services through nftables (prerouting −149, dup … drop)', {
  skip: !isRoot() && 'needs root',
}, () => {
  let lab: Lab;
  let client = '';
  let director = '';
  let reals: string[] = [];
  const procs: ChildProcess[] = [];
  let dp: NftDataplane;
  let repliesSeen: () => number[] = () => [];
  const flows = () => cliFlowReader(director);
  before(async () => {
    lab = new Lab('drfwm');
    ({ client, director, reals } = await drLan(lab, procs));
    // The administrator's marking (mangle prerouting, −150), and a counter of packets from the VIPs
    // reaching the director (DR replies must bypass it).
    const r = nsExec(director, 'nft', [
      [
        'add table inet kats_mangle',
        'add chain inet kats_mangle m { type filter hook prerouting priority mangle; policy accept; }',
        `add rule inet kats_mangle m ip daddr ${VIP} tcp dport 80 meta mark set 7`,
        `add rule inet kats_mangle m ip6 daddr ${VIP6} tcp dport 80 meta mark set 8`,
      ].join('; '),
    ]);
    assert.equal(r.status, 0, r.stderr);
    repliesSeen = replyCounter(director, { v4: VIP, v6: VIP6 });
    dp = drDataplane(director);
  });
  after(async () => {
    await dp?.stop();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    lab?.close();
  });

  const markOf = (name: string, addr: string): number => dp.marks().get(`${name}|${addr}|0`) ?? -1;

  it('IPv4: rr by fwmark, replies bypass the director; a removed server takes its flows along', async () => {
    assert.deepEqual(await dp.start(st(fwm(7, 4, RS))), { ok: true });
    let res = await runClient(procs, client, { count: 9 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 3, rs2: 3, rs3: 3 });
    assert.deepEqual(repliesSeen(), [0, 0]);
    // The connections went through the fwmark table's flow map (not the netdev table's).
    assert.ok((await flows().list('fm4/flows')).length >= 9, 'flow entries in ip keepalived_ts_drm');
    // No DR service matched by address: the netdev table does not even exist.
    assert.notEqual(nsExec(director, 'nft', ['list', 'table', 'netdev', 'keepalived_ts_dr']).status, 0);

    // One client port reused: it stays on its server; that server leaves and its flow entries go.
    res = await runClient(procs, client, { count: 3, sport: 40201 });
    assert.equal(res.errors, 0, res.errs.join());
    const first = res.names[0] as string;
    assert.ok(
      res.names.every((n) => n === first),
      `${res.names}`,
    );
    const gone = RS[Number(first.slice(2)) - 1] as string;
    const goneMark = markOf('FWM 7', gone);
    assert.ok((await flows().list('fm4/flows')).some((e) => e.mark === goneMark));
    const rest = RS.filter((a) => a !== gone);
    assert.deepEqual(await dp.update(st(fwm(7, 4, rest))), { ok: true });
    assert.ok(dp.lastDrCleanup.deleted + dp.lastDrCleanup.swept >= 1, JSON.stringify(dp.lastDrCleanup));
    assert.deepEqual(dp.lastDrCleanup.errors, []);
    assert.ok(!(await flows().list('fm4/flows')).some((e) => e.mark === goneMark));
    res = await runClient(procs, client, { count: 6, sport: 40201 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.ok(!res.names.includes(first), `${res.names}`);
    assert.deepEqual(repliesSeen(), [0, 0]);
  });

  it('IPv6: rr by fwmark, replies bypass the director', async () => {
    await ipv6Settled([...lab.hosts.values()]);
    assert.deepEqual(await dp.update(st(fwm(7, 4, RS), fwm(8, 6, RS6))), { ok: true });
    const res = await runClient(procs, client, { count: 9, target: VIP6, from: '2001:db8:1::10' });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 3, rs2: 3, rs3: 3 });
    assert.deepEqual(repliesSeen(), [0, 0]);
    assert.ok((await flows().list('fm6/flows')).length >= 9);
  });

  it('persistence keys a client by the fwmark, not the port: its connections to both ports the mark covers reach one server (IPv4, IPv6)', async () => {
    // Each real server answers on 8080 too; the administrator marks 8080 with the same fwmarks.
    await Promise.all(reals.map((ns, i) => startServer(procs, ns, `rs${i + 1}`, '::', 8080)));
    const r = nsExec(director, 'nft', [
      [
        `add rule inet kats_mangle m ip daddr ${VIP} tcp dport 8080 meta mark set 7`,
        `add rule inet kats_mangle m ip6 daddr ${VIP6} tcp dport 8080 meta mark set 8`,
      ].join('; '),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const persistent = (s: ServiceSpec): ServiceSpec => ({
      ...s,
      persistence: { timeoutS: 60, prefixLen: s.family === 4 ? 32 : 128 },
    });
    assert.deepEqual(await dp.update(st(persistent(fwm(7, 4, RS)), persistent(fwm(8, 6, RS6)))), {
      ok: true,
    });
    for (const v6 of [false, true]) {
      const where = v6 ? { target: VIP6, from: '2001:db8:1::10' } : {};
      const seen: string[] = [];
      for (const port of [80, 8080, 80, 8080]) {
        const res = await runClient(procs, client, { count: 2, port, ...where });
        assert.equal(res.errors, 0, `${v6 ? 'IPv6' : 'IPv4'} port ${port}: ${res.errs.join()}`);
        seen.push(...res.names);
      }
      assert.equal(new Set(seen).size, 1, `${v6 ? 'IPv6' : 'IPv4'}: one server for the client: ${seen}`);
      if (v6) continue;
      // That server leaves: its persistence entry (a hashed key, read back and deleted) goes with it, and
      // the client is scheduled anew, on both ports.
      const gone = RS[Number((seen[0] as string).slice(2)) - 1] as string;
      const goneMark = markOf('FWM 7', gone);
      assert.ok((await flows().list('fm4/pers')).some((e) => e.mark === goneMark));
      assert.deepEqual(
        await dp.update(
          st(
            persistent(
              fwm(
                7,
                4,
                RS.filter((a) => a !== gone),
              ),
            ),
            persistent(fwm(8, 6, RS6)),
          ),
        ),
        { ok: true },
      );
      assert.deepEqual(dp.lastDrCleanup.errors, []);
      assert.ok(!(await flows().list('fm4/pers')).some((e) => e.mark === goneMark));
      const later: string[] = [];
      for (const port of [80, 8080]) {
        const res = await runClient(procs, client, { count: 2, port });
        assert.equal(res.errors, 0, res.errs.join());
        later.push(...res.names);
      }
      assert.equal(new Set(later).size, 1, `${later}`);
      assert.notEqual(later[0], seen[0]);
    }
    assert.deepEqual(repliesSeen(), [0, 0]);
  });

  it('dispatch is by the mark: unmarked packets for the VIP are not forwarded', async () => {
    nsExec(director, 'nft', ['flush chain inet kats_mangle m']);
    const res = await runClient(procs, client, { count: 1 });
    // The director holds the VIP and has no server on port 80: refused.
    assert.equal(res.errors, 1, JSON.stringify(res));
    assert.deepEqual(repliesSeen(), [0, 0]);
  });
});
