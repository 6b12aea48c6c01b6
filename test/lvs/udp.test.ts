// UDP through the nftables data plane: a removed real server's flows are flushed from conntrack, so a
// client that keeps sending from the same port is moved to a live server (keepalived issues #1781, #2163:
// with IPVS and by default here without a flusher, it keeps going to the removed one).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { isRoot } from '../helpers/netns.js';
import { nat, svc } from './fixtures.js';
import { NatLab, nsFlusher, REALS, VIP } from './lab.js';

const dns = (reals: string[]): ServiceSpec =>
  svc('dns', {
    protocol: 'udp',
    matches: [{ kind: 'addr', address: VIP, port: 53 }],
    scheduler: 'rr',
    reals: reals.map((address) => nat(address, 5353)),
  });

describe('UDP flows of a removed real server', { skip: !isRoot() && 'needs root' }, () => {
  let lab: NatLab;
  before(async () => {
    lab = new NatLab();
    await lab.startUdpServers();
  });
  after(() => lab?.close());

  async function scenario(dp: NftDataplane, sport: number): Promise<{ first: string; after: string[] }> {
    assert.deepEqual(await dp.start({ services: [dns(REALS)] }), { ok: true });
    const a = await lab.udpRun(3, 53, sport);
    assert.equal(a.errors, 0);
    assert.equal(new Set(a.names).size, 1, 'one flow, one server');
    const first = a.names[0] as string;
    const idx = Number(first.slice(2)) - 1;
    assert.deepEqual(await dp.update({ services: [dns(REALS.filter((_, i) => i !== idx))] }), { ok: true });
    const b = await lab.udpRun(3, 53, sport);
    assert.equal(b.errors, 0);
    await dp.stop();
    return { first, after: b.names };
  }

  it('without a flusher the flow stays on the removed server (the reported problem)', async () => {
    const r = await scenario(new NftDataplane(cliRunner({ netns: lab.director })), 40001);
    assert.deepEqual(r.after, [r.first, r.first, r.first]);
  });

  it('with the conntrack flusher the same flow moves to a live server', async () => {
    const dp = new NftDataplane(cliRunner({ netns: lab.director }), { conntrack: nsFlusher(lab.director) });
    const r = await scenario(dp, 40002);
    assert.deepEqual(dp.lastFlushErrors, []);
    assert.equal(new Set(r.after).size, 1, r.after.join());
    assert.notEqual(r.after[0], r.first);
  });
});
