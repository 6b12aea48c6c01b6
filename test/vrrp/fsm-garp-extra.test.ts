// keepalived garp_extra_if (docs/keepalived-semantics.md 'GARP and unsolicited NA'): a master's one GARP/NA
// per extra interface, at the first advert it sends after the interval has run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEnginePlan } from '../../src/daemon/engine-plan/build.js';
import { InstanceDriver } from '../../src/sim/instance-driver.js';
import type { VrrpInstanceParamsInput } from '../../src/vrrp/instance-params.js';
import { configLoader } from '../helpers/config-text.js';

const EXTRA = ['198.51.100.7', '2001:db8::7'];

function owner(over: Partial<VrrpInstanceParamsInput> = {}): InstanceDriver {
  const d = new InstanceDriver({
    name: 'VI_1',
    vrid: 7,
    primaryAddress: '192.0.2.10',
    vips: [{ address: '192.0.2.100', prefixLen: 24 }],
    excludedVips: [
      { address: '198.51.100.7', prefixLen: 32, dev: 'eth1' },
      { address: '2001:db8::7', prefixLen: 64, dev: 'eth2' },
    ],
    basePriority: 255,
    initialState: 'MASTER',
    garpMasterDelayUs: 0,
    garpMasterRepeat: 1,
    garpExtraIfUs: 3_000_000,
    garpExtraAddresses: EXTRA,
    ...over,
  });
  d.send({ type: 'start' }, 1_000);
  return d;
}
/** The extra GARPs: the sendGarp actions after the one on becoming master. */
const extra = (d: InstanceDriver) =>
  d
    .all('sendGarp')
    .filter((g) => g.addresses.join() === EXTRA.join())
    .map((g) => ({ atUs: g.atUs, repeat: g.repeat }));

test('the extra GARP goes out at the first advert after the interval, not before, then every interval', () => {
  const d = owner();
  // Master at 1 ms, adverts every 1 s: the deadline 3.001 s is met by the advert due then; then 6.001 s, 9.001 s.
  d.advanceTo(3_000_000);
  assert.deepEqual(extra(d), []);
  d.advanceTo(10_500_000);
  assert.deepEqual(extra(d), [
    { atUs: 3_001_000, repeat: 1 },
    { atUs: 6_001_000, repeat: 1 },
    { atUs: 9_001_000, repeat: 1 },
  ]);
  assert.equal(d.instance.status().extraGarpAtUs, 12_001_000);
});

test('with a short advert interval it rides the first advert past the deadline', () => {
  const d = owner({ advertIntervalCs: 30, garpExtraIfUs: 1_000_000 });
  // Adverts at 1 ms + k × 300 ms: the first at or past 1.001 s is 1.201 s; then past 2.201 s: 2.401 s.
  d.advanceTo(1_200_000);
  assert.deepEqual(extra(d), []);
  d.advanceTo(2_500_000);
  assert.deepEqual(extra(d), [
    { atUs: 1_201_000, repeat: 1 },
    { atUs: 2_401_000, repeat: 1 },
  ]);
});

test('none without an interval or without extra addresses', () => {
  for (const over of [{ garpExtraIfUs: 0 }, { garpExtraAddresses: [] }]) {
    const d = owner(over);
    d.advanceTo(20_000_000);
    assert.deepEqual(
      d.all('sendGarp').map((g) => g.atUs),
      [1_000],
    );
  }
});

test('none while BACKUP; the interval restarts on becoming master again', () => {
  const d = owner({ basePriority: 100, initialState: 'BACKUP' });
  // Master after the down timer (3 × 1 s + skew 0.609375 s).
  d.advanceTo(3_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(d.instance.status().extraGarpAtUs, null);
  d.advanceTo(3_700_000);
  assert.equal(d.instance.state, 'MASTER');
  const since = d.all('sendGarp')[0]!.atUs;
  assert.equal(d.instance.status().extraGarpAtUs, since + 3_000_000);
  d.advanceTo(since + 3_500_000);
  assert.deepEqual(extra(d), [{ atUs: since + 3_000_000, repeat: 1 }]);
  // A higher priority takes over; no extra GARP while BACKUP; the old deadline stays (keepalived's dump).
  d.rx(200, '192.0.2.20', since + 5_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  const kept = d.instance.status().extraGarpAtUs;
  assert.equal(kept, since + 6_000_000);
  const count = extra(d).length;
  // The other goes quiet: master again after its down timer, then a full interval before the next one.
  d.advanceTo(since + 9_000_000);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(extra(d).length, count);
  const again = d
    .all('stateChange')
    .filter((s) => s.to === 'MASTER')
    .at(-1)!.atUs;
  assert.equal(d.instance.status().extraGarpAtUs, again + 3_000_000);
  d.advanceTo(again + 2_500_000);
  assert.equal(extra(d).length, count);
  d.advanceTo(again + 3_500_000);
  assert.deepEqual(extra(d).at(-1), { atUs: again + 3_000_000, repeat: 1 });
});

test('a reload clears the deadline: the next advert carries the extra GARP', () => {
  const d = owner();
  d.advanceTo(1_500_000);
  d.send({ type: 'reload', params: d.instance.params }, 1_600_000);
  assert.equal(d.instance.status().extraGarpAtUs, null);
  d.advanceTo(2_500_000);
  assert.deepEqual(extra(d), [{ atUs: 2_001_000, repeat: 1 }]);
});

// ----- from keepalived.conf: instance over global_defs, `all`, extra interfaces -----

const load = configLoader('kats-gx-', ['lo', 'eth0', 'eth1', 'eth2']);

function planned(globals: string, instance: string) {
  const { config } = load(`
global_defs {
${globals}
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 7
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101/24 dev eth1
    192.0.2.102/24 dev eth1
    192.0.2.103/24 dev eth0
  }
  virtual_ipaddress_excluded {
    2001:db8::7/64 dev eth2
  }
${instance}
}
`);
  const p = buildEnginePlan(config, { defaultSource: () => '192.0.2.1' }).engine.instances[0]!;
  return { us: p.garpExtraIfUs, addresses: p.garpExtraAddresses };
}

test('plan: the first address on each other interface; the instance keyword over global_defs', () => {
  const both = { us: 5_000_000, addresses: ['192.0.2.101', '2001:db8::7'] };
  assert.deepEqual(planned('', 'garp_extra_if 5 all'), both);
  assert.deepEqual(planned('', 'vmac_garp_intvl all 5'), both);
  assert.deepEqual(planned('vrrp_garp_extra_if 5 all', ''), both);
  assert.deepEqual(planned('vrrp_vmac_garp_intvl 9 all', 'garp_extra_if 5 all'), both);
  // The instance's time without `all` leaves the global `all` out (2.2.7 takes both from global_defs or none).
  const none = { us: 0, addresses: [] };
  assert.deepEqual(planned('vrrp_garp_extra_if 5 all', 'garp_extra_if 5'), none);
  assert.deepEqual(planned('vrrp_garp_extra_if 5 all', 'garp_extra_if 0 all'), none);
  // Without `all` only single-address VMACs count, which keepalived-ts does not make.
  assert.deepEqual(planned('vrrp_garp_extra_if 5', ''), none);
  // `all` on a rejected instance line still counts, with the global time.
  assert.deepEqual(planned('vrrp_garp_extra_if 5', 'garp_extra_if all'), both);
});

test('plan: no extra interface clears the interval', () => {
  const { config } = load(`
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 7
  garp_extra_if 5 all
  virtual_ipaddress { 192.0.2.100/24 dev eth0 }
}
`);
  const p = buildEnginePlan(config, { defaultSource: () => '192.0.2.1' }).engine.instances[0]!;
  assert.equal(p.garpExtraIfUs, 0);
  assert.deepEqual(p.garpExtraAddresses, []);
});
