// VRRP sockets between two namespaces on a bridge: multicast and unicast, IPv4 and IPv6. The receiver
// must see TTL/hop limit 255, the destination (group or own unicast address) and its ifindex — the facts
// RFC 5798 §7.1 receive checks depend on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { internetChecksum } from '../../src/vrrp/checksum.js';
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

/**
 * The kernel's receive time on the monotonic clock (SO_TIMESTAMPNS, raw-socket.ts): present, in the past, and
 * recent (the agent's process shares CLOCK_MONOTONIC with ours). Returns the meta without it, for comparing.
 */
function withoutArrival(meta: Record<string, unknown>): Record<string, unknown> {
  const { arrivalUs, ...rest } = meta;
  const nowUs = Number(process.hrtime.bigint() / 1000n);
  assert.equal(typeof arrivalUs, 'number', `arrivalUs in ${JSON.stringify(meta)}`);
  const ageUs = nowUs - (arrivalUs as number);
  assert.ok(ageUs >= 0 && ageUs < 2_000_000, `arrival ${ageUs} µs ago`);
  return rest;
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
  assert.deepEqual(withoutArrival(ev.meta), {
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

test('IPv4: the same payload sent again reuses its built packet with a new identification and checksum; rehearsed sends send nothing', {
  skip,
}, async () => {
  await open(a, { key: 'r4', ifname: 'eth0', family: 4, srcAddr: '192.0.2.1' });
  await open(b, { key: 'r4', ifname: 'eth0', family: 4, srcAddr: '192.0.2.2' });
  const pkt = advertV3([v4('192.0.2.101')], { src: v4('192.0.2.1'), dst: v4('224.0.0.18') });
  const hex = pkt.toString('hex');
  const seen = () => b.events.filter((e) => e.event === 'vrrp' && e.key === 'r4' && e.payloadHex === hex);
  // A backup rehearses its takeover advert: the whole send path, nothing on the wire.
  assert.deepEqual(await a.call('vrrpSend', { key: 'r4', payloadHex: hex, times: 2, rehearse: true }), {
    ok: true,
  });
  assert.deepEqual(await a.call('vrrpSend', { key: 'r4', payloadHex: hex, times: 3 }), { ok: true });
  for (let waited = 0; seen().length < 3 && waited < 2000; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  const headers = seen().map((e) => Buffer.from((e as unknown as VrrpEvent).headerHex!, 'hex'));
  assert.equal(headers.length, 3);
  for (const h of headers) assert.equal(internetChecksum(h), 0, 'each header checksum verifies');
  const ids = headers.map((h) => h.readUInt16BE(4));
  assert.deepEqual(
    ids.slice(1).map((id, k) => (id - ids[k]! + 0x10000) & 0xffff),
    [1, 1],
    `identifications ${ids.join(', ')} count up by one`,
  );
  await Promise.all([a.call('close', { key: 'r4' }), b.call('close', { key: 'r4' })]);
});

test('IPv6 multicast: hop limit 255, ff02::12 as destination, kernel-computed checksum', {
  skip,
}, async () => {
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
  withoutArrival(ev.meta);
  assert.equal(ev.headerHex, undefined);
  // Independent check of the kernel's checksum: pseudo-header (RFC 8200 §8.1) + message sums to zero.
  const pseudo = Buffer.alloc(40);
  pseudo.write('20010db8000000000000000000000001', 0, 'hex');
  pseudo.write('ff020000000000000000000000000012', 16, 'hex');
  pseudo.writeUInt32BE(rx.length, 32);
  pseudo[39] = 112;
  assert.equal(internetChecksum(Buffer.concat([pseudo, rx])), 0);
  await Promise.all([a.call('close', { key: 'm6' }), b.call('close', { key: 'm6' })]);
});

test('IPv6 bound to a link-local source (keepalived default): scope taken from the interface', {
  skip,
}, async () => {
  ip('-n', a.ns, 'addr', 'add', 'fe80::a/64', 'dev', 'eth0', 'nodad');
  await open(a, { key: 'll', ifname: 'eth0', family: 6, srcAddr: 'fe80::a' });
  await open(b, { key: 'll', ifname: 'eth0', family: 6 });
  const pkt = advertV3([Buffer.from('20010db8000000000000000000000100', 'hex')]);
  assert.deepEqual(await a.call('vrrpSend', { key: 'll', payloadHex: pkt.toString('hex') }), { ok: true });
  const ev = (await b.waitEvent((e) => e.event === 'vrrp' && e.key === 'll')) as unknown as VrrpEvent;
  assert.equal(ev.meta.srcAddr, 'fe80::a');
  assert.equal(ev.meta.ttl, 255);
  await Promise.all([a.call('close', { key: 'll' }), b.call('close', { key: 'll' })]);
});

test('IPv4 unicast: configured unicast TTL, own address as destination, no group needed', {
  skip,
}, async () => {
  await open(a, {
    key: 'u4',
    ifname: 'eth0',
    family: 4,
    srcAddr: '192.0.2.1',
    unicast: true,
    unicastTtl: 64,
  });
  const ifB = await open(b, { key: 'u4', ifname: 'eth0', family: 4, srcAddr: '192.0.2.2', unicast: true });
  const pkt = advertV3([v4('192.0.2.100')], { src: v4('192.0.2.1'), dst: v4('192.0.2.2') });
  const got = received(b, 'u4', pkt);
  const missingPeer = await a.call<{ ok: boolean; error: { code: string } }>('vrrpSend', {
    key: 'u4',
    payloadHex: pkt.toString('hex'),
  });
  assert.equal(missingPeer.error.code, 'KA_SOCKET_BAD_ADDRESS', 'unicast send without a peer is refused');
  assert.deepEqual(
    await a.call('vrrpSend', { key: 'u4', payloadHex: pkt.toString('hex'), dst: '192.0.2.2' }),
    {
      ok: true,
    },
  );
  const ev = await got;
  assert.deepEqual(withoutArrival(ev.meta), {
    family: 4,
    srcAddr: '192.0.2.1',
    dstAddr: '192.0.2.2',
    ttl: 64,
    ifindex: ifB,
    ifname: 'eth0',
  });
  await Promise.all([a.call('close', { key: 'u4' }), b.call('close', { key: 'u4' })]);
});

test('IPv6 unicast: hop limit 255 by default, own address as destination', { skip }, async () => {
  await open(a, { key: 'u6', ifname: 'eth0', family: 6, srcAddr: '2001:db8::1', unicast: true });
  const ifB = await open(b, { key: 'u6', ifname: 'eth0', family: 6, unicast: true });
  const pkt = advertV3([Buffer.from('20010db8000000000000000000000100', 'hex')]);
  const sent = await a.call<{ ok: boolean }>('vrrpSend', {
    key: 'u6',
    payloadHex: pkt.toString('hex'),
    dst: '2001:db8::2',
  });
  assert.equal(sent.ok, true);
  const ev = (await b.waitEvent((e) => e.event === 'vrrp' && e.key === 'u6')) as unknown as VrrpEvent;
  assert.deepEqual(withoutArrival(ev.meta), {
    family: 6,
    srcAddr: '2001:db8::1',
    dstAddr: '2001:db8::2',
    ttl: 255,
    ifindex: ifB,
    ifname: 'eth0',
  });
  await Promise.all([a.call('close', { key: 'u6' }), b.call('close', { key: 'u6' })]);
});

test('bad arguments come back as coded errors', { skip }, async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ifname: 'nosuch0', family: 4, srcAddr: '192.0.2.1' }, 'KA_SOCKET_ENODEV'],
    [{ ifname: 'eth0', family: 4 }, 'KA_SOCKET_NO_SOURCE'],
    [{ ifname: 'eth0', family: 4, srcAddr: '192.0.2.1', group: '192.0.2.9' }, 'KA_SOCKET_BAD_ADDRESS'],
    [{ ifname: 'eth0', family: 6, srcAddr: '192.0.2.1' }, 'KA_SOCKET_BAD_ADDRESS'],
    // Binding to an address the host does not have.
    [{ ifname: 'eth0', family: 6, srcAddr: '2001:db8::77' }, 'KA_SOCKET_EADDRNOTAVAIL'],
  ];
  for (const [args, code] of cases) {
    const r = await a.call<OpenResult>('vrrpOpen', { key: 'bad', ...args });
    assert.equal(r.ok, false, JSON.stringify(args));
    assert.equal(r.error?.code, code, JSON.stringify(args));
  }
});

test('without CAP_NET_RAW: KA_SOCKET_EPERM naming the capability', { skip }, async () => {
  // Root with CAP_NET_RAW removed from the bounding set loses it across exec.
  const weak = await Agent.start(a.ns, ['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw']);
  try {
    const r = await weak.call<OpenResult & { error: { message: string } }>('vrrpOpen', {
      key: 'x',
      ifname: 'eth0',
      family: 4,
      srcAddr: '192.0.2.1',
    });
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'KA_SOCKET_EPERM');
    assert.match(r.error.message, /CAP_NET_RAW/);
  } finally {
    await weak.stop();
  }
});

test('a throwing handler surfaces as an uncaught exception and leaves koffi and the socket usable', {
  skip,
}, async () => {
  await open(a, { key: 't', ifname: 'eth0', family: 4, srcAddr: '192.0.2.1' });
  await open(b, { key: 't', ifname: 'eth0', family: 4, srcAddr: '192.0.2.2', throwOnce: true });
  const p1 = advertV3([v4('192.0.2.101')], { src: v4('192.0.2.1'), dst: v4('224.0.0.18') });
  const p2 = advertV3([v4('192.0.2.102')], { src: v4('192.0.2.1'), dst: v4('224.0.0.18') });
  await a.call('vrrpSend', { key: 't', payloadHex: p1.toString('hex') });
  const uncaught = await b.waitEvent((e) => e.event === 'uncaught');
  assert.equal(uncaught.message, 'vrrp eth0 receive handler: handler boom');
  // The pitfall being guarded: an exception left pending inside koffi is re-thrown by the next koffi
  // call. b's next koffi calls (sendto here, recvmsg below) must succeed.
  assert.deepEqual(await b.call('vrrpSend', { key: 't', payloadHex: p1.toString('hex') }), { ok: true });
  const got = received(b, 't', p2);
  await a.call('vrrpSend', { key: 't', payloadHex: p2.toString('hex') });
  await got;
  assert.equal(b.events.filter((e) => e.event === 'uncaught').length, 1);
  await Promise.all([a.call('close', { key: 't' }), b.call('close', { key: 't' })]);
});

test('closing the socket from inside its handler stops delivery mid-burst without crashing', {
  skip,
}, async () => {
  await open(a, { key: 'c', ifname: 'eth0', family: 6, srcAddr: '2001:db8::1' });
  await open(b, { key: 'c', ifname: 'eth0', family: 6, closeOnFirst: true });
  const pkt = advertV3([Buffer.from('20010db8000000000000000000000100', 'hex')]);
  for (let i = 0; i < 20; i++) await a.call('vrrpSend', { key: 'c', payloadHex: pkt.toString('hex') });
  await b.waitEvent((e) => e.event === 'vrrp' && e.key === 'c');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(b.events.filter((e) => e.event === 'vrrp' && e.key === 'c').length, 1);
  // Still alive and answering.
  assert.deepEqual(await b.call('close', { key: 'c' }), { ok: true, value: null });
  await a.call('close', { key: 'c' });
});

test('socket lifecycle: close is idempotent, everything after it is KA_SOCKET_CLOSED', { skip }, async () => {
  const r = await a.call<Record<string, { error?: { code: string } } | boolean>>('lifecycle');
  assert.equal(r.before, false);
  assert.equal(r.after, true);
  for (const k of ['send', 'opt', 'listen']) {
    assert.equal((r[k] as { error: { code: string } }).error.code, 'KA_SOCKET_CLOSED', k);
  }
  assert.equal(
    (r.frames as { error: { code: string } }).error.code,
    'KA_SOCKET_EINVAL',
    'onFrame on an IP socket',
  );
  assert.equal(
    b.events.some((e) => e.event === 'uncaught' && !String(e.message).endsWith('handler boom')) ||
      a.events.some((e) => e.event === 'uncaught'),
    false,
  );
});
