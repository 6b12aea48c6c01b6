// warmUpTakeover (src/daemon/warm-up.ts): rehearses the takeover path on a scratch copy — every instance
// (IPv4, IPv6, unicast) reaches MASTER and sends in the rehearsal, and the engine it was given is untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rehearseInstanceTakeover, warmUpTakeover } from '../../src/daemon/warm-up.js';
import { resolveInstanceParams } from '../../src/vrrp/instance-params.js';
import { VrrpEngine } from '../../src/vrrp/instance-set.js';

const params = (
  name: string,
  vrid: number,
  family: 4 | 6,
  addr: string,
  vip: string,
  unicast: string[] = [],
) =>
  resolveInstanceParams({
    name,
    vrid,
    version: 3,
    family,
    interface: 'eth0',
    basePriority: 100,
    advertIntervalCs: 1,
    primaryAddress: addr,
    vips: [{ address: vip, prefixLen: family === 4 ? 24 : 64 }],
    unicastPeers: unicast,
  }).params;

test('the rehearsal leaves the real engine as it was', () => {
  const config = {
    instances: [
      params('A', 1, 4, '192.0.2.1', '192.0.2.100'),
      params('B', 2, 6, 'fe80::1', '2001:db8::100'),
      params('C', 3, 4, '192.0.2.1', '192.0.2.101', ['192.0.2.2']),
    ],
    syncGroups: [],
  };
  const engine = new VrrpEngine(config);
  const before = JSON.stringify(engine.instances().map((i) => i.status()));
  // Each round takes every instance to MASTER, so each sends at least its first advert.
  assert.ok(warmUpTakeover(engine.config) >= 3 * 3, 'the rehearsal reached MASTER for every instance');
  assert.equal(JSON.stringify(engine.instances().map((i) => i.status())), before);
  assert.ok(engine.instances().every((i) => i.status().state === 'INIT'));
});

test('rehearsing one instance before its deadline reads its params and changes nothing', () => {
  const p = params('A', 1, 4, '192.0.2.1', '192.0.2.100');
  const engine = new VrrpEngine({ instances: [p], syncGroups: [] });
  const before = structuredClone(p);
  const status = JSON.stringify(engine.instances().map((i) => i.status()));
  assert.equal(rehearseInstanceTakeover(p), true, 'the rehearsal reached MASTER');
  assert.deepEqual(p, before);
  assert.equal(JSON.stringify(engine.instances().map((i) => i.status())), status);
});
