// TCP_CHECK against real listeners inside a namespace of the test's own (lab.ts): up, refused, black-holed
// (nftables drop), bindto / bind_port / bind_if, fwmark (an nftables rule dropping marked packets), close()
// during an attempt, and no file descriptors left behind.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProbeTarget } from '../../../src/check/probe.js';
import { TcpProbe } from '../../../src/check/probes/tcp.js';
import { canUseNetns, enterLab, type NetnsLab, openFds } from './lab.js';

const skip = canUseNetns() ? false : 'needs root for network namespaces';

describe('TCP_CHECK probe', { skip }, () => {
  let lab: NetnsLab;
  let server: net.Server;
  let port = 0;
  const peers: { address: string; port: number }[] = [];

  before(async () => {
    lab = enterLab('ptcp');
    // v0's peer answers nothing (no address): 198.51.100.0/24 behind it is a dead segment.
    lab.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p');
    lab.ip('link', 'set', 'v0', 'up');
    lab.ip('link', 'set', 'v0p', 'up');
    lab.ip('addr', 'add', '198.51.100.1/24', 'dev', 'v0');
    lab.ip('addr', 'add', '192.0.2.1/32', 'dev', 'lo');
    lab.ip('addr', 'add', '192.0.2.99/32', 'dev', 'lo');
    lab.ip('addr', 'add', '2001:db8::1/128', 'dev', 'lo', 'nodad');
    lab.nft(
      'add table inet t; add chain inet t in { type filter hook input priority 0; }; ' +
        'add rule inet t in ip daddr 192.0.2.99 drop; ' +
        'add chain inet t out { type filter hook output priority 0; }; add rule inet t out meta mark 7 drop',
    );
    server = net.createServer((s) => {
      peers.push({ address: s.remoteAddress ?? '', port: s.remotePort ?? 0 });
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '::', r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => {
    server?.close();
    lab?.leave();
  });

  const target = (address: string, extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
    address,
    port,
    family: address.includes(':') ? 6 : 4,
    ...extra,
  });

  it('is up when the connection completes (IPv4 and IPv6)', async () => {
    for (const a of ['127.0.0.1', '192.0.2.1', '::1', '2001:db8::1']) {
      const r = await new TcpProbe(target(a)).run(2_000_000);
      assert.equal(r.ok, true, `${a}: ${JSON.stringify(r)}`);
      assert.ok(Number.isInteger(r.latencyUs) && r.latencyUs >= 0);
    }
  });

  it('fails with code refused when nothing listens', async () => {
    const r = await new TcpProbe({ address: '127.0.0.1', port: 1, family: 4 }).run(2_000_000);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.code === 'refused' && /ECONNREFUSED/.test(r.reason), JSON.stringify(r));
  });

  it('fails with code timeout on a black-holed address, within its timeout', async () => {
    const r = await new TcpProbe(target('192.0.2.99')).run(300_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    assert.ok(r.latencyUs >= 290_000 && r.latencyUs < 5_000_000, `latency ${r.latencyUs}`);
  });

  it('binds to bindto and bind_port, again and again', async () => {
    for (let i = 0; i < 3; i++) {
      peers.length = 0;
      const r = await new TcpProbe(target('192.0.2.1', { bindTo: '127.0.0.7', bindPort: 40123 })).run(
        2_000_000,
      );
      assert.equal(r.ok, true, JSON.stringify(r));
      await waitFor(() => peers.length > 0);
      assert.deepEqual(peers[0], { address: '::ffff:127.0.0.7', port: 40123 });
    }
  });

  it('honours bind_if: lo works, a device without the route does not, an unknown one is a local error', async () => {
    assert.equal((await new TcpProbe(target('127.0.0.1', { bindIf: 'lo' })).run(2_000_000)).ok, true);
    const viaVeth = await new TcpProbe(target('127.0.0.1', { bindIf: 'v0' })).run(300_000);
    assert.equal(viaVeth.ok, false, JSON.stringify(viaVeth));
    const unknown = await new TcpProbe(target('127.0.0.1', { bindIf: 'nosuch0' })).run(2_000_000);
    assert.ok(
      !unknown.ok && unknown.code === 'local-error' && /ENODEV/.test(unknown.reason),
      JSON.stringify(unknown),
    );
  });

  it('marks its packets with fwmark (a rule dropping mark 7 makes the check time out)', async () => {
    assert.equal((await new TcpProbe(target('127.0.0.1', { fwmark: 8 })).run(2_000_000)).ok, true);
    const r = await new TcpProbe(target('127.0.0.1', { fwmark: 7 })).run(300_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
  });

  it('settles with code closed when closed during an attempt, and leaves no descriptor behind', async () => {
    const before = openFds();
    const probe = new TcpProbe(target('192.0.2.99'));
    const pending = probe.run(10_000_000);
    await new Promise((r) => setTimeout(r, 20));
    probe.close();
    const r = await pending;
    assert.ok(!r.ok && r.code === 'closed', JSON.stringify(r));
    assert.equal((await probe.run(1_000_000)).ok, false);
    const many = new TcpProbe(target('127.0.0.1'));
    const results = await Promise.all(Array.from({ length: 200 }, () => many.run(2_000_000)));
    assert.equal(results.filter((x) => x.ok).length, 200);
    many.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(openFds(), before);
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
