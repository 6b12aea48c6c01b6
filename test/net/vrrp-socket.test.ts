// VRRP sockets between two namespaces on a bridge: multicast and unicast, IPv4 and IPv6. The receiver
// must see TTL/hop limit 255, the destination (group or own unicast address) and its ifindex — the facts
// RFC 5798 §7.1 receive checks depend on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { internetChecksum } from '../../src/net/ipv4-header.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { Agent } from './agent-client.js';

const skip = !isRoot() && 'needs root for network namespaces';
let lab: Lab;
let a: Agent;
let b: Agent;

/** A VRRPv3 advert for VRID 7, priority 100, interval 100 cs, with the given addresses. */
function advertV3(addrs: Uint8Array[], pseudo?: { src: Uint8Array; dst: Uint8Array }): Buffer {
  const body = Buffer.alloc(8 + addrs.reduce((n, x) => n + x.length, 0));
  body[0] = 0x31;
  body[1] = 7;
  body[2] = 100;
  body[3] = addrs.length;
  body.writeUInt16BE(100, 4);
  let off = 8;
  for (const x of addrs) {
    body.set(x, off);
    off += x.length;
  }
  if (pseudo) {
    // RFC 5798 §5.2.8: IPv4 pseudo-header (src, dst, 0, 112, length) + VRRP message.
    const ph = Buffer.alloc(12);
    ph.set(pseudo.src, 0);
    ph.set(pseudo.dst, 4);
    ph[9] = 112;
    ph.writeUInt16BE(body.length, 10);
    body.writeUInt16BE(internetChecksum(Buffer.concat([ph, body])), 6);
  }
  return body;
}

const v4 = (s: string) => Uint8Array.from(s.split('.').map(Number));

before(async () => {
  if (skip) return;
  lab = new Lab('vs');
  const nsA = lab.addHost('a');
  const nsB = lab.addHost('b');
  ip('-n', nsA, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  ip('-n', nsB, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0');
  ip('-n', nsA, 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad');
  ip('-n', nsB, 'addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad');
  [a, b] = await Promise.all([Agent.start(nsA), Agent.start(nsB)]);
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  lab?.close();
});

type OpenResult = { ok: boolean; value?: { ifindex: number }; error?: { code: string } };
type VrrpEvent = { key: string; payloadHex: string; headerHex?: string; meta: Record<string, unknown> };

async function open(agent: Agent, args: Record<string, unknown>): Promise<number> {
  const r = await agent.call<OpenResult>('vrrpOpen', args);
  assert.equal(r.ok, true, JSON.stringify(r));
  return r.value!.ifindex;
}

function received(agent: Agent, key: string, payload: Buffer): Promise<VrrpEvent> {
  const hex = payload.toString('hex');
  return agent.waitEvent((e) => e.event === 'vrrp' && e.key === key && e.payloadHex === hex) as Promise<
    VrrpEvent & { event: string }
  >;
}

test('IPv4 multicast: TTL 255, TOS 0xc0, group as destination, header checksum valid', { skip }, async () => {
  await open(a, { key: 'm4', ifname: 'eth0', family: 4, srcAddr: '192.0.2.1' });
  const ifB = await open(b, { key: 'm4', ifname: 'eth0', family: 4, srcAddr: '192.0.2.2' });
  const pkt = advertV3([v4('192.0.2.100')], { src: v4('192.0.2.1'), dst: v4('224.0.0.18') });
  const got = received(b, 'm4', pkt);
  assert.deepEqual(await a.call('vrrpSend', { key: 'm4', payloadHex: pkt.toString('hex') }), { ok: true });
  const ev = await got;
  assert.deepEqual(ev.meta, {
    family: 4,
    srcAddr: '192.0.2.1',
    dstAddr: '224.0.0.18',
    ttl: 255,
    ifindex: ifB,
    ifname: 'eth0',
  });
  const h = Buffer.from(ev.headerHex!, 'hex');
  assert.equal(h.length, 20);
  assert.equal(h[1], 0xc0, 'TOS');
  assert.equal(h[9], 112, 'protocol');
  assert.equal(h.readUInt16BE(2), 20 + pkt.length, 'tot_len');
  assert.equal(internetChecksum(h), 0, 'header checksum verifies');
  // The sender must not hear its own advert (IP_MULTICAST_LOOP off).
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(a.events.filter((e) => e.event === 'vrrp' && e.key === 'm4').length, 0);
  await Promise.all([a.call('close', { key: 'm4' }), b.call('close', { key: 'm4' })]);
});

test('IPv6 multicast: hop limit 255, ff02::12 as destination, kernel-computed checksum', { skip }, async () => {
  await open(a, { key: 'm6', ifname: 'eth0', family: 6, srcAddr: '2001:db8::1' });
  const ifB = await open(b, { key: 'm6', ifname: 'eth0', family: 6 });
  const pkt = advertV3([Buffer.from('20010db8000000000000000000000100', 'hex')]);
  const sent = await a.call<{ ok: boolean }>('vrrpSend', { key: 'm6', payloadHex: pkt.toString('hex') });
  assert.equal(sent.ok, true);
  // The checksum bytes differ (the kernel fills them), so match on the key only.
  const ev = (await b.waitEvent((e) => e.event === 'vrrp' && e.key === 'm6')) as unknown as VrrpEvent;
  const rx = Buffer.from(ev.payloadHex, 'hex');
  assert.deepEqual(rx.subarray(8), pkt.subarray(8));
  assert.notEqual(rx.readUInt16BE(6), 0, 'kernel filled the checksum');
  assert.equal(ev.meta.ttl, 255);
  assert.equal(ev.meta.dstAddr, 'ff02::12');
  assert.equal(ev.meta.ifindex, ifB);
  assert.equal(ev.meta.srcAddr, '2001:db8::1', 'source the socket was bound to');
  assert.equal(ev.headerHex, undefined);
  await Promise.all([a.call('close', { key: 'm6' }), b.call('close', { key: 'm6' })]);
});
