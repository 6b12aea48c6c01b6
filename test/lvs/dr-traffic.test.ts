// Traffic counters of direct-routing services (src/lvs/counters.ts; docs/lvs.md, 'Traffic counters'):
// dr.test.ts's LAN (client, director, three real servers holding the VIP on lo). Requests go through an
// address-matched DR service (netdev ingress; IPv4 and IPv6), a persistent one, and a fwmark one (prerouting −149); the
// counters are read as the checker reads them (readNftTraffic, TrafficLedger) and compared with an
// independent count: a counter of our own on each real server's ingress, of the client's packets for
// VIP:80 that the director sent it — packet for packet and byte for byte. Connections must equal the
// requests each server answered; nothing is counted out (replies bypass the director, as with IPVS). A
// server removed and added again keeps counting from where it was, and its old mark's elements go.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { readNftTraffic, type ServiceTraffic, type Traffic, TrafficLedger } from '../../src/lvs/counters.js';
import type { DataplaneState, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import type { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { isRoot, Lab, nsExec } from '../helpers/netns.js';
import {
  counts,
  DR_RS,
  DR_RS6,
  drDataplane,
  drLan,
  drService,
  ipv6Settled,
  runClient,
  VIP,
  VIP6,
} from './lab.js';

const RS = DR_RS;
const RS6 = DR_RS6;
const real = (i: number, port = 80): RealServerSpec => ({ address: RS[i]!, port, weight: 1, method: 'DR' });
// Real servers of fwmark services carry port 0, as keepalived programs them.
const fwm = (reals: number[]): ServiceSpec =>
  drService({ name: 'FWM 7', matches: [{ kind: 'fwmark', fwmark: 7 }], reals: reals.map((i) => real(i, 0)) });
const st = (...services: ServiceSpec[]): DataplaneState => ({ services });
const ZERO: Traffic = { inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0, conns: 0 };

describe('traffic counters of DR services (netdev ingress and fwmark)', {
  skip: !isRoot() && 'needs root',
}, () => {
  let lab: Lab;
  let client = '';
  let director = '';
  let reals: string[] = [];
  const procs: ChildProcess[] = [];
  let dp: NftDataplane;
  const ledger = new TrafficLedger();
  before(async () => {
    lab = new Lab('drctr');
    ({ client, director, reals } = await drLan(lab, procs));
    // The independent count: what reaches each server for VIP:80 (all of it came through the director).
    for (const ns of reals) {
      const p = nsExec(ns, 'nft', [
        `add table netdev kats_probe; add chain netdev kats_probe c { type filter hook ingress device "eth0" priority 0; policy accept; }; add rule netdev kats_probe c ip daddr ${VIP} tcp dport 80 counter; add rule netdev kats_probe c ip6 daddr ${VIP6} tcp dport 80 counter`,
      ]);
      assert.equal(p.status, 0, p.stderr);
    }
    // The administrator's marking for the fwmark service (mangle prerouting, before its −149 chain).
    const m = nsExec(director, 'nft', [
      `add table inet kats_mangle; add chain inet kats_mangle m { type filter hook prerouting priority mangle; policy accept; }; add rule inet kats_mangle m ip daddr ${VIP} tcp dport 80 meta mark set 7`,
    ]);
    assert.equal(m.status, 0, m.stderr);
    dp = drDataplane(director);
  });
  after(async () => {
    await dp?.stop();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    lab?.close();
  });

  /** Packets and bytes each real server received for VIP:80 so far (its own ingress counter). */
  const probe = (): { packets: number; bytes: number }[] =>
    reals.map((ns) => {
      const r = nsExec(ns, 'nft', ['list', 'chain', 'netdev', 'kats_probe', 'c']);
      const m = [...r.stdout.matchAll(/counter packets (\d+) bytes (\d+)/g)];
      assert.equal(m.length, 2, r.stdout + r.stderr);
      return m.reduce((a, x) => ({ packets: a.packets + Number(x[1]), bytes: a.bytes + Number(x[2]) }), {
        packets: 0,
        bytes: 0,
      });
    });

  /** One reading as the checker makes it: counters folded, retired marks' elements deleted. */
  const read = async (): Promise<ServiceTraffic[]> => {
    const r = await readNftTraffic(
      ledger,
      dp.committed().services,
      dp.marks(),
      (k) => dp.deleteCounterElements(k),
      {
        netns: director,
      },
    );
    assert.ok(!('error' in r), 'error' in r ? r.error : '');
    assert.deepEqual(r.problems, []);
    return r.traffic;
  };
  const byServer = (t: ServiceTraffic[], service: string): Map<string, Traffic> =>
    new Map((t.find((x) => x.service === service)?.reals ?? []).map((r) => [r.address, r.traffic]));
  /** What went on since `before`, per real server: the counters' and the probe's. */
  const settle = () => new Promise((res) => setTimeout(res, 300));

  /** Marks of the elements of a DR table's counter set. */
  const setMarks = (table: string[]): number[] => {
    const r = nsExec(director, 'nft', ['-j', 'list', 'set', ...table, 'ctr']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      nftables: { set?: { elem?: { elem: { val: { concat: number[] } } }[] } }[];
    };
    return doc.nftables.flatMap((o) => (o.set?.elem ?? []).map((e) => e.elem.val.concat[1]!));
  };

  /**
   * Runs `n` requests; the counters' increase per server must equal the probe's (packets, bytes), the
   * connections the requests it answered, and nothing out.
   */
  async function through(service: string, n: number, v6 = false): Promise<Record<string, number>> {
    const c0 = byServer(await read(), service);
    const p0 = probe();
    const to = v6 ? { target: VIP6, from: '2001:db8:1::10' } : {};
    const res = await runClient(procs, client, { count: n, ...to });
    assert.equal(res.errors, 0, res.errs.join());
    const answered = counts(res.names);
    await settle();
    const c1 = byServer(await read(), service);
    const p1 = probe();
    let sum = 0;
    (v6 ? RS6 : RS).forEach((a, i) => {
      const was = c0.get(a) ?? ZERO;
      const now = c1.get(a);
      const want = answered[`rs${i + 1}`] ?? 0;
      if (want > 0) assert.ok(now, `${a} listed`);
      const d = now ? diff(now, was) : ZERO;
      assert.deepEqual(
        d,
        {
          conns: want,
          inPackets: p1[i]!.packets - p0[i]!.packets,
          inBytes: p1[i]!.bytes - p0[i]!.bytes,
          outPackets: 0,
          outBytes: 0,
        },
        `${service}: real server ${a}`,
      );
      // Not vacuous: a TCP request is at least a SYN, the request and a FIN from the client.
      assert.ok(d.inPackets >= 3 * want && d.inBytes >= 40 * d.inPackets, JSON.stringify(d));
      sum += d.conns;
    });
    assert.equal(sum, n);
    return answered;
  }
  const diff = (a: Traffic, b: Traffic): Traffic => ({
    conns: a.conns - b.conns,
    inPackets: a.inPackets - b.inPackets,
    inBytes: a.inBytes - b.inBytes,
    outPackets: a.outPackets - b.outPackets,
    outBytes: a.outBytes - b.outBytes,
  });

  it('netdev ingress: connections per server, client → server packets and bytes, nothing out', async () => {
    assert.deepEqual(await dp.start(st(drService())), { ok: true });
    assert.deepEqual(await through('web', 9), { rs1: 3, rs2: 3, rs3: 3 });
    // The service's total is the sum of its servers'.
    const t = (await read()).find((x) => x.service === 'web')!;
    const sum = t.reals.reduce((n, r) => n + r.traffic.conns, 0);
    assert.equal(t.total.conns, sum);
    assert.equal(t.total.conns, 9);
  });

  it('a server removed and added again counts on; its old mark leaves the set', async () => {
    const before = byServer(await read(), 'web').get(RS[0]!)!;
    const oldMark = dp.marks().get(`web|${RS[0]}|80`)!;
    assert.ok(setMarks(['netdev', 'keepalived_ts_dr']).includes(oldMark));
    assert.deepEqual(await dp.update(st(drService({ reals: [real(1), real(2)] }))), { ok: true });
    const gone = await read();
    assert.equal(byServer(gone, 'web').get(RS[0]!), undefined, 'not listed while removed');
    assert.ok(gone[0]!.total.conns >= 9, 'the service keeps what the server counted');
    // Deleted after the reading that counted them.
    assert.ok(
      !setMarks(['netdev', 'keepalived_ts_dr']).includes(oldMark),
      'the old mark’s elements are gone',
    );
    await through('web', 4);
    assert.deepEqual(await dp.update(st(drService())), { ok: true });
    const newMark = dp.marks().get(`web|${RS[0]}|80`)!;
    assert.notEqual(newMark, oldMark);
    const back = byServer(await read(), 'web').get(RS[0]!)!;
    assert.deepEqual(back, before, 'back with what it had counted');
    const answered = await through('web', 6);
    const after = byServer(await read(), 'web').get(RS[0]!)!;
    assert.equal(after.conns, before.conns + (answered.rs1 ?? 0));
    assert.ok(after.inPackets > before.inPackets);
  });

  it('persistence: connections that follow a persistence entry are connections too', async () => {
    assert.deepEqual(await dp.update(st(drService({ persistence: { timeoutS: 30, prefixLen: 24 } }))), {
      ok: true,
    });
    const answered = await through('web', 5);
    assert.equal(Object.keys(answered).length, 1, JSON.stringify(answered));
  });

  it('IPv6 (netdev ingress): the same counters', async () => {
    await ipv6Settled([...lab.hosts.values()]);
    const reals6 = RS6.map((address) => ({ address, port: 80, weight: 1, method: 'DR' as const }));
    const web6 = drService({
      name: 'web6',
      family: 6,
      matches: [{ kind: 'addr', address: VIP6, port: 80 }],
      reals: reals6,
    });
    assert.deepEqual(await dp.update(st(web6)), { ok: true });
    assert.deepEqual(await through('web6', 6, true), { rs1: 2, rs2: 2, rs3: 2 });
  });

  it('fwmark (prerouting −149, dup … drop): the same counters', async () => {
    assert.deepEqual(await dp.update(st(fwm([0, 1, 2]))), { ok: true });
    assert.deepEqual(await through('FWM 7', 6), { rs1: 2, rs2: 2, rs3: 2 });
    assert.ok(setMarks(['ip', 'keepalived_ts_drm']).length > 0);
  });
});
