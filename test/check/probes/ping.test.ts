// PING_CHECK inside the test's own namespace: echo replies from 127.0.0.1 / 192.0.2.1 / ::1 / 2001:db8::1,
// a black-holed address (nftables drop: timeout), an address answered by an ICMP host-unreachable (nftables
// reject), ICMP sockets refused by net.ipv4.ping_group_range, and the pure reply matching.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  classifyReply,
  echoRequest,
  PingProbe,
  widenPingGroupRange,
} from '../../../src/check/probes/ping.js';
import { canUseNetns, enterLab, type NetnsLab, openFds } from './lab.js';

const skip = canUseNetns() ? false : 'needs root for network namespaces';

describe('PING_CHECK matching (pure)', () => {
  it('takes only an echo reply with our sequence; other ICMP is a failure', () => {
    const req = echoRequest(4, 0x1234);
    assert.equal(req[0], 8);
    assert.equal(req.length, 136);
    const rep = Uint8Array.from(req);
    rep[0] = 0;
    assert.equal(classifyReply(4, rep, 0x1234), 'reply');
    assert.equal(classifyReply(4, rep, 0x1235), 'ignore');
    const rep6 = Uint8Array.from(echoRequest(6, 9));
    assert.equal(rep6[0], 128);
    rep6[0] = 129;
    assert.equal(classifyReply(6, rep6, 9), 'reply');
    assert.equal(classifyReply(4, Uint8Array.of(3, 1, 0, 0, 0, 0, 0, 0), 9), 'other');
    assert.equal(classifyReply(4, Uint8Array.of(0, 0, 0), 9), 'ignore');
  });
});

describe('PING_CHECK probe', { skip }, () => {
  let lab: NetnsLab;
  let restore: () => void = () => {};

  before(() => {
    lab = enterLab('pping');
    lab.ip('addr', 'add', '192.0.2.1/32', 'dev', 'lo');
    lab.ip('addr', 'add', '192.0.2.98/32', 'dev', 'lo');
    lab.ip('addr', 'add', '192.0.2.99/32', 'dev', 'lo');
    lab.ip('addr', 'add', '2001:db8::1/128', 'dev', 'lo', 'nodad');
    lab.nft(
      'add table inet t; add chain inet t in { type filter hook input priority 0; }; ' +
        'add rule inet t in ip daddr 192.0.2.99 drop; ' +
        'add rule inet t in ip daddr 192.0.2.98 icmp type echo-request reject with icmp type host-unreachable',
    );
  });

  after(() => {
    restore();
    lab?.leave();
  });

  it('cannot open ICMP sockets while ping_group_range excludes our group, and says why', async () => {
    // A fresh namespace starts with the kernel default "1 0": nobody may.
    assert.match(readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8'), /^1\s+0/);
    const r = await new PingProbe({ address: '127.0.0.1', port: 0, family: 4 }).run(500_000);
    assert.ok(
      !r.ok && r.code === 'local-error' && /EACCES.*ping_group_range/.test(r.reason),
      JSON.stringify(r),
    );
  });

  it('is up on an echo reply (IPv4 and IPv6) once the range is widened as keepalived does', async () => {
    const w = widenPingGroupRange();
    assert.ok(w.ok);
    restore = w.restore;
    assert.match(readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8'), /^0\s+0/);
    for (const [address, family] of [
      ['127.0.0.1', 4],
      ['192.0.2.1', 4],
      ['::1', 6],
      ['2001:db8::1', 6],
    ] as const) {
      const p = new PingProbe({ address, port: 0, family });
      for (let i = 0; i < 3; i++) {
        const r = await p.run(1_000_000);
        assert.equal(r.ok, true, `${address}: ${JSON.stringify(r)}`);
      }
    }
  });

  it('fails with code timeout on a black-holed address', async () => {
    const r = await new PingProbe({ address: '192.0.2.99', port: 0, family: 4 }).run(250_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    assert.ok(r.latencyUs >= 240_000 && r.latencyUs < 5_000_000);
  });

  it('fails with code unreachable on an ICMP host-unreachable answer', async () => {
    const r = await new PingProbe({ address: '192.0.2.98', port: 0, family: 4 }).run(1_000_000);
    assert.ok(!r.ok && r.code === 'unreachable', JSON.stringify(r));
  });

  it('close() settles an attempt; nothing is left open', async () => {
    const before = openFds();
    const p = new PingProbe({ address: '192.0.2.99', port: 0, family: 4 });
    const pending = p.run(10_000_000);
    p.close();
    assert.ok(!(await pending).ok);
    const q = new PingProbe({ address: '127.0.0.1', port: 0, family: 4 });
    const all = await Promise.all(Array.from({ length: 50 }, () => q.run(1_000_000)));
    assert.equal(all.filter((x) => x.ok).length, 50);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(openFds(), before);
  });
});
