// addressesFirst (src/daemon/vrrp-runtime.ts): an instance taking over installs its addresses and announces
// them before its first advert goes out; every other action keeps the engine's order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressesFirst } from '../../src/daemon/vrrp-runtime.js';
import type { AdvertToSend, VrrpAction } from '../../src/vrrp/actions.js';

const advert = { priority: 100 } as AdvertToSend;
const send = (instance: string): VrrpAction => ({ type: 'sendAdvert', instance, advert });
const add = (instance: string): VrrpAction => ({
  type: 'addVips',
  instance,
  vips: [],
  routes: [],
  rules: [],
});
const garp = (instance: string): VrrpAction =>
  ({ type: 'sendGarp', instance, addresses: [], repeat: 1 }) as unknown as VrrpAction;
const names = (as: VrrpAction[]) => as.map((a) => `${a.type}:${a.instance}`);

test('a takeover: addresses and GARP before the advert; other instances untouched', () => {
  const batch = [send('A'), add('A'), garp('A'), send('B')];
  assert.deepEqual(names(addressesFirst(batch)), ['addVips:A', 'sendGarp:A', 'sendAdvert:B', 'sendAdvert:A']);
});

test('no addresses installed: the batch is returned as it is', () => {
  const batch = [send('A'), send('B')];
  assert.equal(addressesFirst(batch), batch);
});
