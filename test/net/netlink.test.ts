// The rtnetlink wrapper inside a namespace: changes made through it are checked with `ip -j`, changes made
// with `ip` (or by the kernel) must show up as events. Each observation is something the daemon acts on:
// carrier loss → FAULT, a VIP deleted behind our back → BACKUP, IPv6 VIPs flushed on link down.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { Agent, type AgentEvent } from './agent-client.js';

const skip = !isRoot() && 'needs root for network namespaces';
let lab: Lab;
let ns: string;
let agent: Agent;
let eth0: number;

type R<T = unknown> = { ok: boolean; value?: T; error?: { code: string; message: string } };
const nl = <T = unknown>(method: string, arg?: unknown, arg2?: unknown) =>
  agent.call<R<T>>('nl', { method, arg, arg2 });
const ipj = (...args: string[]) => JSON.parse(ip('-n', ns, '-j', ...args) || '[]');
const isEv = (e: AgentEvent, fields: Record<string, unknown>) =>
  e.event === 'netlink' && Object.entries(fields).every(([k, v]) => e[k] === v);
/** Waits for an event matching `fields` that arrives after index `from` in the agent's event log. */
function nextEvent(from: number, fields: Record<string, unknown>, timeoutMs = 5000) {
  return agent.waitEvent((e) => agent.events.indexOf(e) >= from && isEv(e, fields), timeoutMs);
}

before(async () => {
  if (skip) return;
  lab = new Lab('nl');
  ns = lab.addHost('a');
  lab.addHost('b');
  ip('-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  agent = await Agent.start(ns);
  assert.deepEqual(await agent.call('monitor'), { ok: true });
  eth0 = ipj('link', 'show', 'eth0')[0].ifindex;
});

after(async () => {
  await agent?.stop();
  lab?.close();
});

test('listLinks reports eth0 as ip does: index, up, carrier, MAC, MTU', { skip }, async () => {
  const r =
    await nl<{ name: string; index: number; up: boolean; carrier: boolean; mac: string; mtu: number }[]>(
      'listLinks',
    );
  assert.equal(r.ok, true);
  const l = r.value!.find((x) => x.name === 'eth0');
  const ref = ipj('link', 'show', 'eth0')[0];
  assert.deepEqual(l, {
    index: ref.ifindex,
    name: 'eth0',
    up: true,
    carrier: true,
    mac: ref.address,
    mtu: ref.mtu,
    linkKind: 'veth',
    // ip shows the veth peer as eth0@ifN: IFLA_LINK.
    parentIndex: ref.link_index,
  });
  assert.ok(r.value!.some((x) => x.name === 'lo'));
});

test('IPv4 address with label and broadcast, IPv6 with nodad: added, seen, evented, deleted', {
  skip,
}, async () => {
  const from = agent.events.length;
  const v4 = {
    ifindex: eth0,
    address: '192.0.2.100',
    prefixLen: 24,
    label: 'eth0:vip',
    broadcast: '192.0.2.255',
  };
  assert.deepEqual(await nl('addAddress', v4), { ok: true });
  assert.deepEqual(
    await nl('addAddress', { ifindex: eth0, address: '2001:db8::100', prefixLen: 64, nodad: true }),
    {
      ok: true,
    },
  );
  const addrs = ipj('addr', 'show', 'dev', 'eth0')[0].addr_info as Record<string, unknown>[];
  const a4 = addrs.find((x) => x.local === '192.0.2.100');
  assert.equal(a4?.prefixlen, 24);
  assert.equal(a4?.label, 'eth0:vip');
  assert.equal(a4?.broadcast, '192.0.2.255');
  const a6 = addrs.find((x) => x.local === '2001:db8::100');
  assert.equal(a6?.prefixlen, 64);
  assert.equal(a6?.tentative, undefined, 'nodad: usable at once');
  await nextEvent(from, {
    kind: 'address',
    action: 'add',
    address: '192.0.2.100',
    label: 'eth0:vip',
    index: eth0,
  });
  await nextEvent(from, {
    kind: 'address',
    action: 'add',
    address: '2001:db8::100',
    family: 6,
    prefixLen: 64,
  });

  const list = await nl<{ address: string }[]>('listAddresses', 6);
  assert.ok(list.value!.some((x) => x.address === '2001:db8::100'));
  assert.ok(
    list.value!.every((x) => !x.address.includes('.')),
    'family filter',
  );

  const dup = await nl('addAddress', v4);
  assert.equal(dup.error?.code, 'KA_NETLINK_EEXIST');

  assert.deepEqual(await nl('deleteAddress', v4), { ok: true });
  assert.deepEqual(await nl('deleteAddress', { ifindex: eth0, address: '2001:db8::100', prefixLen: 64 }), {
    ok: true,
  });
  await nextEvent(from, { kind: 'address', action: 'del', address: '192.0.2.100' });
  await nextEvent(from, { kind: 'address', action: 'del', address: '2001:db8::100' });
  const after = ipj('addr', 'show', 'dev', 'eth0')[0].addr_info as Record<string, unknown>[];
  assert.ok(!after.some((x) => x.local === '192.0.2.100' || x.local === '2001:db8::100'));

  const gone = await nl('deleteAddress', v4);
  assert.equal(gone.error?.code, 'KA_NETLINK_EADDRNOTAVAIL');
  const bad = await nl('addAddress', { ...v4, address: '192.0.2.300' });
  assert.equal(bad.error?.code, 'KA_NETLINK_BAD_ADDRESS');
});

test('an encoded add request is written again and again: added, EEXIST while present, added after a delete', {
  skip,
}, async () => {
  const spec = { ifindex: eth0, address: '192.0.2.102', prefixLen: 24, label: 'eth0:vip' };
  const r = await agent.call<R<Record<'first' | 'again' | 'deleted' | 'third', R>>>('nlEncodedReplay', {
    spec,
  });
  assert.equal(r.ok, true, JSON.stringify(r));
  const { first, again, deleted, third } = r.value!;
  assert.equal(first.ok, true);
  assert.equal(again.error?.code, 'KA_NETLINK_EEXIST');
  assert.equal(deleted.ok, true);
  assert.equal(third.ok, true);
  const held = ipj('addr', 'show', 'dev', 'eth0')[0].addr_info.filter(
    (x: { local: string }) => x.local === '192.0.2.102',
  );
  assert.deepEqual(
    held.map((x: { prefixlen: number; label: string }) => [x.prefixlen, x.label]),
    [[24, 'eth0:vip']],
  );
  ip('-n', ns, 'addr', 'del', '192.0.2.102/24', 'dev', 'eth0');
});

test('a rehearsed add request reaches nothing: answered at once, the address not in the kernel', {
  skip,
}, async () => {
  const spec = { ifindex: eth0, address: '192.0.2.103', prefixLen: 24 };
  const r = await agent.call<
    R<{ rehearsed: R; heldAfterRehearsal: boolean; real: R; heldAfterWrite: boolean }>
  >('nlRehearsedAdd', { spec });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.value, {
    rehearsed: { ok: true },
    heldAfterRehearsal: false,
    real: { ok: true },
    heldAfterWrite: true,
  });
});

test('address adds made in one turn are all in the kernel when the last call returns (before any GARP)', {
  skip,
}, async () => {
  const addresses = ['192.0.2.110', '192.0.2.111', '192.0.2.112', '2001:db8::110'];
  const specs = addresses.map((address) => ({
    ifindex: eth0,
    address,
    prefixLen: address.includes(':') ? 64 : 24,
    nodad: address.includes(':'),
  }));
  const r = await agent.call<R<{ present: string[]; answers: R[] }>>('nlAddsInOneTurn', { specs });
  assert.equal(r.ok, true, JSON.stringify(r));
  for (const a of addresses) assert.ok(r.value!.present.includes(a), `${a} not yet in the kernel`);
  assert.deepEqual(
    r.value!.answers.map((x) => x.ok),
    addresses.map(() => true),
  );
  for (const s of specs) ip('-n', ns, 'addr', 'del', `${s.address}/${s.prefixLen}`, 'dev', 'eth0');
});

test('a request in flight when the socket closes settles as closed (it was applied all the same)', {
  skip,
}, async () => {
  const spec = { ifindex: eth0, address: '192.0.2.103', prefixLen: 24 };
  const r = await agent.call<R<R>>('nlCloseWithPending', { spec });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value!.error?.code, 'KA_NETLINK_CLOSED');
  const held = ipj('addr', 'show', 'dev', 'eth0')[0].addr_info.map((x: { local: string }) => x.local);
  assert.ok(held.includes('192.0.2.103'));
  ip('-n', ns, 'addr', 'del', '192.0.2.103/24', 'dev', 'eth0');
});

test('an address removed with ip is seen as a delete event (VIP deleted behind our back)', {
  skip,
}, async () => {
  ip('-n', ns, 'addr', 'add', '192.0.2.101/32', 'dev', 'eth0');
  const from = agent.events.length;
  ip('-n', ns, 'addr', 'del', '192.0.2.101/32', 'dev', 'eth0');
  await nextEvent(from, { kind: 'address', action: 'del', address: '192.0.2.101', prefixLen: 32 });
});

test('peer down → carrier loss event with the link still up; peer up → carrier back', { skip }, async () => {
  const port = lab.portOf('a');
  let from = agent.events.length;
  ip('-n', lab.bridgeNs, 'link', 'set', port, 'down');
  await nextEvent(from, { kind: 'link', name: 'eth0', up: true, carrier: false });
  from = agent.events.length;
  ip('-n', lab.bridgeNs, 'link', 'set', port, 'up');
  await nextEvent(from, { kind: 'link', name: 'eth0', up: true, carrier: true });
});

test('link set down flushes a global IPv6 address: observed as a delete event', { skip }, async () => {
  assert.deepEqual(
    await nl('addAddress', { ifindex: eth0, address: '2001:db8::5', prefixLen: 64, nodad: true }),
    {
      ok: true,
    },
  );
  const from = agent.events.length;
  assert.deepEqual(await nl('setLinkUp', eth0, false), { ok: true });
  await nextEvent(from, { kind: 'address', action: 'del', address: '2001:db8::5' });
  await nextEvent(from, { kind: 'link', name: 'eth0', up: false });
  assert.deepEqual(await nl('setLinkUp', eth0, true), { ok: true });
  await nextEvent(from, { kind: 'link', name: 'eth0', up: true });
  // The IPv4 address survives a down/up; the IPv6 one does not (keep_addr_on_down=0).
  const addrs = ipj('addr', 'show', 'dev', 'eth0')[0].addr_info as Record<string, unknown>[];
  assert.ok(addrs.some((x) => x.local === '192.0.2.1'));
  assert.ok(!addrs.some((x) => x.local === '2001:db8::5'));
});

test('macvlan VMAC 00:00:5e:00:01:07 on eth0, private and bridge modes', { skip }, async () => {
  for (const mode of ['private', 'bridge'] as const) {
    const from = agent.events.length;
    const r = await nl<number>('createMacvlan', {
      parentIndex: eth0,
      name: 'vrrp.7',
      mac: '00:00:5e:00:01:07',
      mode,
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    const l = ipj('-d', 'link', 'show', 'vrrp.7')[0];
    assert.equal(l.ifindex, r.value);
    assert.equal(l.address, '00:00:5e:00:01:07');
    assert.equal(l.link, 'eth0');
    assert.equal(l.linkinfo.info_kind, 'macvlan');
    assert.equal(l.linkinfo.info_data.mode, mode);
    await nextEvent(from, { kind: 'link', action: 'new', name: 'vrrp.7', mac: '00:00:5e:00:01:07' });
    const listed = (await nl<{ name: string; linkKind?: string; parentIndex?: number }[]>('listLinks'))
      .value!;
    const vmac = listed.find((x) => x.name === 'vrrp.7');
    assert.equal(vmac?.linkKind, 'macvlan');
    assert.equal(vmac?.parentIndex, eth0);
    const dup = await nl('createMacvlan', {
      parentIndex: eth0,
      name: 'vrrp.7',
      mac: '00:00:5e:00:01:07',
      mode,
    });
    assert.equal(dup.error?.code, 'KA_NETLINK_EEXIST');
    assert.deepEqual(await nl('deleteLink', r.value), { ok: true });
    await nextEvent(from, { kind: 'link', action: 'del', name: 'vrrp.7' });
    assert.equal(
      ipj('link', 'show').some((x: { ifname: string }) => x.ifname === 'vrrp.7'),
      false,
    );
  }
});

test('routes and rules: added, seen with ip, deleted', { skip }, async () => {
  const viaGw = { family: 4, dst: '198.51.100.0', dstLen: 24, gateway: '192.0.2.254' };
  const inTable = { family: 4, dst: '198.51.100.128', dstLen: 25, oif: eth0, table: 100 };
  const blackhole = { family: 6, dst: '2001:db8:1::', dstLen: 48, type: 'blackhole', table: 1000 };
  for (const r of [viaGw, inTable, blackhole])
    assert.deepEqual(await nl('addRoute', r), { ok: true }, JSON.stringify(r));
  assert.equal((await nl('addRoute', viaGw)).error?.code, 'KA_NETLINK_EEXIST');
  const main = ipj('route', 'show', '198.51.100.0/24')[0];
  assert.equal(main.gateway, '192.0.2.254');
  assert.equal(main.dev, 'eth0');
  const t100 = ipj('route', 'show', 'table', '100')[0];
  assert.equal(t100.dst, '198.51.100.128/25');
  assert.equal(t100.scope, 'link');
  const t1000 = ipj('-6', 'route', 'show', 'table', '1000')[0];
  assert.equal(t1000.type, 'blackhole');
  assert.equal(t1000.dst, '2001:db8:1::/48');

  const rule = { family: 4, table: 100, priority: 100, from: '192.0.2.100' };
  assert.deepEqual(await nl('addRule', rule), { ok: true });
  const seen = ipj('rule', 'show').find((x: { priority: number }) => x.priority === 100);
  assert.equal(seen?.src, '192.0.2.100');
  assert.equal(seen?.table, '100');
  assert.deepEqual(await nl('deleteRule', rule), { ok: true });
  assert.equal(
    ipj('rule', 'show').some((x: { priority: number }) => x.priority === 100),
    false,
  );

  for (const r of [viaGw, inTable, blackhole]) assert.deepEqual(await nl('deleteRoute', r), { ok: true });
  assert.deepEqual(ipj('route', 'show', 'table', '100'), []);
  assert.equal((await nl('deleteRoute', viaGw)).error?.code, 'KA_NETLINK_ENOENT', 'ESRCH maps to ENOENT');
});
