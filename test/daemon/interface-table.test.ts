// The daemon's view of links and addresses (src/daemon/interface-table.ts), built from netlink events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InterfaceTable } from '../../src/daemon/interface-table.js';
import type { NetlinkEvent } from '../../src/net/netlink.js';

const link = (index: number, name: string, up: boolean, carrier: boolean): NetlinkEvent => ({
  kind: 'link',
  action: 'new',
  index,
  name,
  up,
  carrier,
  mac: '02:00:00:00:00:01',
  mtu: 1500,
});
const addr = (
  index: number,
  address: string,
  extra: Partial<{ secondary: boolean; tentative: boolean }> = {},
) =>
  ({
    kind: 'address',
    action: 'add',
    index,
    family: address.includes(':') ? 6 : 4,
    address,
    prefixLen: 24,
    scope: 0,
    tentative: extra.tentative ?? false,
    secondary: extra.secondary ?? false,
  }) as NetlinkEvent;

test('usable links need admin up and carrier', () => {
  const t = new InterfaceTable();
  t.apply(link(2, 'eth0', true, true));
  t.apply(link(3, 'eth1', true, false));
  assert.equal(t.isUp('eth0'), true);
  assert.equal(t.isUp('eth1'), false, 'no carrier');
  assert.equal(t.isUp('eth9'), false, 'unknown');
  t.apply({ ...link(2, 'eth0', false, false), action: 'del' } as NetlinkEvent);
  assert.equal(t.isUp('eth0'), false);
});

test('default source: primary IPv4 that is not a VIP; a non-tentative IPv6 link-local', () => {
  const t = new InterfaceTable();
  t.apply(link(2, 'eth0', true, true));
  t.apply(addr(2, '192.0.2.100'));
  t.apply(addr(2, '192.0.2.1'));
  t.apply(addr(2, '192.0.2.7', { secondary: true }));
  t.apply(addr(2, 'fe80::1', { tentative: true }));
  t.apply(addr(2, '2001:db8::1'));
  assert.equal(t.defaultSource('eth0', 4, new Set(['192.0.2.100'])), '192.0.2.1');
  assert.equal(t.defaultSource('eth0', 4), '192.0.2.100');
  assert.equal(t.defaultSource('eth0', 6), undefined, 'link-local still in DAD');
  t.apply(addr(2, 'fe80::1'));
  assert.equal(t.defaultSource('eth0', 6), 'fe80::1', 'the event replaced the tentative entry');
  t.apply({ ...(addr(2, '192.0.2.1') as object), action: 'del' } as NetlinkEvent);
  assert.equal(t.defaultSource('eth0', 4, new Set(['192.0.2.100'])), '192.0.2.7');
});

test('replaceWith takes over a fresh listing (the resync after lost events)', () => {
  const t = new InterfaceTable();
  t.apply(link(2, 'eth0', true, true));
  t.apply(addr(2, '192.0.2.1'));
  const fresh = new InterfaceTable();
  fresh.apply(link(2, 'eth0', true, false));
  fresh.apply(addr(2, '192.0.2.9'));
  t.replaceWith(fresh);
  assert.equal(t.isUp('eth0'), false);
  assert.equal(t.defaultSource('eth0', 4), '192.0.2.9');
  fresh.apply(addr(2, '192.0.2.1'));
  assert.deepEqual(
    t.addresses('eth0').map((a) => a.address),
    ['192.0.2.9'],
    'a copy, not shared',
  );
});
