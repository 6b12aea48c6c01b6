// The GARP / unsolicited-NA schedule (keepalived garp_master_*, garp_lower_prio_*;
// docs/keepalived-semantics.md 'GARP and unsolicited NA') and reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InstanceDriver } from '../../src/sim/instance-driver.js';
import type { VrrpAction } from '../../src/vrrp/actions.js';
import { instanceParams, type VrrpInstanceParamsInput } from '../../src/vrrp/instance-params.js';

const VIPS = [
  { address: '192.0.2.100', prefixLen: 24 },
  { address: '192.0.2.101', prefixLen: 24 },
];
const EXCLUDED = [{ address: '198.51.100.7', prefixLen: 32 }];

function owner(over: Partial<VrrpInstanceParamsInput> = {}): InstanceDriver {
  const d = new InstanceDriver({
    name: 'VI_1',
    vrid: 7,
    primaryAddress: '192.0.2.10',
    vips: VIPS,
    excludedVips: EXCLUDED,
    basePriority: 255,
    initialState: 'MASTER',
    ...over,
  });
  d.send({ type: 'start' }, 1_000);
  return d;
}
const garps = (d: InstanceDriver) =>
  d.all('sendGarp').map((g) => ({ atUs: g.atUs, repeat: g.repeat, n: g.addresses.length }));

test('defaults: 5 GARPs per address on becoming master, 5 more after garp_master_delay (5 s), no refresh', () => {
  const d = owner();
  const first = d.all('sendGarp')[0]!;
  assert.deepEqual(first.addresses, ['192.0.2.100', '192.0.2.101', '198.51.100.7']);
  assert.equal(first.family, 4);
  d.advanceTo(60_000_000);
  assert.deepEqual(garps(d), [
    { atUs: 1_000, repeat: 5, n: 3 },
    { atUs: 5_001_000, repeat: 5, n: 3 },
  ]);
});

test('garp_master_delay 0 means no second block; refresh repeats every interval', () => {
  const d = owner({
    garpMasterDelayUs: 0,
    garpMasterRepeat: 2,
    garpMasterRefreshUs: 10_000_000,
    garpMasterRefreshRepeat: 3,
  });
  d.advanceTo(35_000_000);
  assert.deepEqual(garps(d), [
    { atUs: 1_000, repeat: 2, n: 3 },
    { atUs: 10_001_000, repeat: 3, n: 3 },
    { atUs: 20_001_000, repeat: 3, n: 3 },
    { atUs: 30_001_000, repeat: 3, n: 3 },
  ]);
});

test('a lower-priority advert while master: garp_lower_prio_repeat now and again after garp_lower_prio_delay', () => {
  const d = owner({ garpMasterDelayUs: 0, garpLowerPrioRepeat: 2, garpLowerPrioDelayUs: 3_000_000 });
  d.send({ type: 'priority', priority: 200 }, 2_000);
  d.rx(100, '192.0.2.20', 2_000_000);
  d.advanceTo(9_000_000);
  assert.deepEqual(garps(d), [
    { atUs: 1_000, repeat: 5, n: 3 },
    { atUs: 2_000_000, repeat: 2, n: 3 },
    { atUs: 5_000_000, repeat: 2, n: 3 },
  ]);
});

test('garp_lower_prio_* default to the garp_master_* values (man5)', () => {
  const p = instanceParams({
    name: 'x',
    vrid: 1,
    primaryAddress: '192.0.2.1',
    garpMasterDelayUs: 7,
    garpMasterRepeat: 3,
  });
  assert.equal(p.garpLowerPrioDelayUs, 7);
  assert.equal(p.garpLowerPrioRepeat, 3);
});

test('leaving MASTER cancels the pending GARP blocks', () => {
  const d = owner({ garpMasterRefreshUs: 10_000_000 });
  d.send({ type: 'priority', priority: 100 }, 2_000);
  d.rx(200, '192.0.2.20', 3_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  // The second block was due at 5.001 s; the down timer (no more adverts) fires at 6.609375 s.
  d.advanceTo(6_000_000);
  assert.deepEqual(garps(d), [{ atUs: 1_000, repeat: 5, n: 3 }]);
  assert.equal(d.instance.timerDeadline('garpDelay'), null);
  assert.equal(d.instance.timerDeadline('garpRefresh'), null);
});

test('IPv6 instances emit unsolicited NAs (family 6) for their addresses', () => {
  const d = owner({
    family: 6,
    primaryAddress: 'fe80::1',
    vips: [{ address: '2001:db8::100', prefixLen: 64 }],
    excludedVips: [],
  });
  const g = d.all('sendGarp')[0]!;
  assert.equal(g.family, 6);
  assert.deepEqual(g.addresses, ['2001:db8::100']);
  assert.equal(d.all('sendAdvert')[0]!.advert.version, 3);
});

test('reload while MASTER: removed VIPs deleted, added ones installed and GARPed alone; state kept', () => {
  const d = owner({ garpMasterDelayUs: 0 });
  const p = instanceParams({
    name: 'VI_1',
    vrid: 7,
    primaryAddress: '192.0.2.10',
    vips: [VIPS[0]!, { address: '192.0.2.102', prefixLen: 24 }],
    excludedVips: EXCLUDED,
    basePriority: 255,
    initialState: 'MASTER',
    garpMasterDelayUs: 0,
    virtualRoutes: [{ dst: '198.51.100.0/24', via: '192.0.2.1' }],
  });
  const acts: VrrpAction[] = d.send({ type: 'reload', params: p }, 2_000_000);
  assert.equal(d.instance.state, 'MASTER');
  assert.deepEqual(acts, [
    { type: 'removeVips', instance: 'VI_1', vips: [VIPS[1]!], routes: [], rules: [] },
    {
      type: 'addVips',
      instance: 'VI_1',
      vips: [{ address: '192.0.2.102', prefixLen: 24 }],
      routes: [{ dst: '198.51.100.0/24', via: '192.0.2.1' }],
      rules: [],
    },
    { type: 'sendGarp', instance: 'VI_1', family: 4, addresses: ['192.0.2.102'], repeat: 5 },
  ]);
  const adv = d.advanceTo(2_001_000).find((a) => a.type === 'sendAdvert');
  assert.deepEqual(adv?.type === 'sendAdvert' && adv.advert.addresses, ['192.0.2.100', '192.0.2.102']);
});

test('reload with a new priority while BACKUP re-times the down timer by the skew delta', () => {
  const d = new InstanceDriver({ name: 'VI_1', vrid: 7, primaryAddress: '192.0.2.10', vips: VIPS });
  d.send({ type: 'start' }, 0);
  d.rx(200, '192.0.2.20', 1_000_000);
  const before = d.instance.timerDeadline('masterDown')!;
  d.send(
    {
      type: 'reload',
      params: instanceParams({
        name: 'VI_1',
        vrid: 7,
        primaryAddress: '192.0.2.10',
        vips: VIPS,
        basePriority: 228,
      }),
    },
    1_100_000,
  );
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(d.instance.timerDeadline('masterDown'), before - 500_000);
});
