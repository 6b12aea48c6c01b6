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
import { counts, runClient, startServer, VIP } from './lab.js';

const RS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
const real = (i: number, weight = 1): RealServerSpec => ({ address: RS[i]!, port: 80, weight, method: 'DR' });
const svc = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  name: 'web',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: VIP, port: 80 }],
  scheduler: 'rr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals: [real(0), real(1), real(2)],
  sorryActive: false,
  ...over,
});
const st = (...services: ServiceSpec[]): DataplaneState => ({ services });

describe('LVS-DR through nftables (netdev ingress fwd)', { skip: !isRoot() && 'needs root' }, () => {
  let lab: Lab;
  let client = '';
  let director = '';
  const procs: ChildProcess[] = [];
  let dp: NftDataplane;
  before(async () => {
    lab = new Lab('lvsdr');
    client = lab.addHost('drcl');
    director = lab.addHost('drdir');
    ip('-n', client, 'addr', 'add', '198.51.100.10/24', 'dev', 'eth0');
    ip('-n', director, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0');
    ip('-n', director, 'addr', 'add', `${VIP}/32`, 'dev', 'eth0');
    const starts: Promise<void>[] = [];
    RS.forEach((addr, i) => {
      const ns = lab.addHost(`drrs${i + 1}`);
      for (const k of [
        'net.ipv4.conf.all.arp_ignore=1',
        'net.ipv4.conf.all.arp_announce=2',
        'net.ipv4.conf.eth0.arp_ignore=1',
        'net.ipv4.conf.eth0.arp_announce=2',
      ])
        nsExec(ns, 'sysctl', ['-qw', k]);
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      ip('-n', ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
      starts.push(startServer(procs, ns, `rs${i + 1}`, '0.0.0.0', 80));
    });
    await Promise.all(starts);
    // Counts IP packets from the VIP reaching the director: replies must bypass it.
    const cnt = nsExec(director, 'nft', [
      `add table netdev kats_cnt; add chain netdev kats_cnt c { type filter hook ingress device "eth0" priority -500; policy accept; }; add rule netdev kats_cnt c ip saddr ${VIP} counter`,
    ]);
    assert.equal(cnt.status, 0, cnt.stderr);
    dp = new NftDataplane(cliRunner({ netns: director }), { dr: { ingress: ['eth0'], egress: 'eth0' } });
  });
  after(async () => {
    await dp?.stop();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    lab?.close();
  });

  it('spreads connections rr, and replies go from the real servers to the client directly', async () => {
    assert.deepEqual(await dp.start(st(svc())), { ok: true });
    const res = await runClient(procs, client, { count: 9 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 3, rs2: 3, rs3: 3 });
    const c = nsExec(director, 'nft', ['list', 'chain', 'netdev', 'kats_cnt', 'c']);
    assert.match(c.stdout, /counter packets 0 bytes 0/, c.stdout);
  });

  it('wrr proportions; a removed server gets no new connections', async () => {
    assert.deepEqual(
      await dp.update(st(svc({ scheduler: 'wrr', reals: [real(0, 2), real(1, 1), real(2, 1)] }))),
      {
        ok: true,
      },
    );
    let res = await runClient(procs, client, { count: 8 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 4, rs2: 2, rs3: 2 });
    await dp.update(st(svc({ reals: [real(0), real(2)] })));
    res = await runClient(procs, client, { count: 4 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 2, rs3: 2 });
  });

  it('refuses DR without interfaces, before touching the kernel', async () => {
    const bare = new NftDataplane(cliRunner({ netns: director }));
    const r = await bare.start(st(svc()));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'LVS_UNSUPPORTED');
  });
});
