// LVS-NAT over IPv6 through the nftables data plane (same lab as nat.test.ts, IPv6 addresses).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { isRoot } from '../helpers/netns.js';
import { nat, svc } from './fixtures.js';
import { counts, NatLab, REALS6, VIP6 } from './lab.js';

const web6 = (over: Partial<ServiceSpec> = {}): ServiceSpec =>
  svc('web6', {
    family: 6,
    matches: [{ kind: 'addr', address: VIP6, port: 80 }],
    scheduler: 'rr',
    reals: REALS6.map((address) => nat(address, 8080)),
    ...over,
  });

describe('LVS-NAT over IPv6', { skip: !isRoot() && 'needs root' }, () => {
  let lab: NatLab;
  let dp: NftDataplane;
  before(async () => {
    lab = new NatLab();
    await lab.startServers();
    await lab.ipv6Settled();
    dp = new NftDataplane(cliRunner({ netns: lab.director }));
  });
  after(async () => {
    await dp?.stop();
    lab?.close();
  });

  it('rr spreads over three IPv6 real servers; wrr keeps IPVS order', async () => {
    assert.deepEqual(await dp.start({ services: [web6()] }), { ok: true });
    let res = await lab.clientRun({ count: 6, from: '2001:db8:1::10', target: VIP6 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.deepEqual(counts(res.names), { rs1: 2, rs2: 2, rs3: 2 });
    const weights = [3, 2, 1];
    const wrr = web6({
      scheduler: 'wrr',
      reals: REALS6.map((address, i) => ({
        address,
        port: 8080,
        weight: weights[i] as number,
        method: 'NAT' as const,
      })),
    });
    assert.deepEqual(await dp.update({ services: [wrr] }), { ok: true });
    res = await lab.clientRun({ count: 6, from: '2001:db8:1::10', target: VIP6 });
    assert.deepEqual(res.names, ['rs1', 'rs1', 'rs2', 'rs1', 'rs2', 'rs3']);
  });

  it('persistence with a /64 granularity keeps the client on one server', async () => {
    assert.deepEqual(
      await dp.update({ services: [web6({ persistence: { timeoutS: 30, prefixLen: 64 } })] }),
      {
        ok: true,
      },
    );
    const res = await lab.clientRun({ count: 5, from: '2001:db8:1::10', target: VIP6 });
    assert.equal(res.errors, 0, res.errs.join());
    assert.equal(new Set(res.names).size, 1, res.names.join());
  });
});
