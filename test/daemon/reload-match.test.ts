// Which running instances a SIGHUP reload keeps (src/daemon/reload-match.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EnginePlan, InstanceWiring } from '../../src/daemon/engine-plan/types.js';
import { matchReload } from '../../src/daemon/reload-match.js';
import { instanceParams, type VrrpInstanceParams } from '../../src/vrrp/instance-params.js';

function wiring(name: string, unicast = false, group = '224.0.0.18'): InstanceWiring {
  return {
    name,
    fixedSource: false,
    socket: { ifname: 'eth0', family: 4, unicast, group, protocol: 112 },
    rxPolicy: {} as InstanceWiring['rxPolicy'],
    tx: { authType: 0, authPassword: '', checksumForm: 'pseudo-header' },
    notify: {},
  };
}

function plan(items: { p: VrrpInstanceParams; w: InstanceWiring }[]): EnginePlan {
  return {
    engine: { instances: items.map((x) => x.p), syncGroups: [] },
    wiring: new Map(items.map((x) => [x.p.name, x.w])),
    groupNotify: new Map(),
    notifyFifos: [],
    fifoScripts: [],
    scripts: [],
    files: [],
    processes: [],
    statics: { addresses: [], routes: [], rules: [] },
    pacing: { garpIntervalUs: 0, gnaIntervalUs: 0 },
    startupDelayUs: 0,
    warnings: [],
    errors: [],
  };
}

const P = (name: string, extra: Partial<VrrpInstanceParams> = {}) =>
  instanceParams({ name, vrid: 1, primaryAddress: '192.0.2.1', interface: 'eth0', ...extra });

test('same name and keys: kept with the new parameters; others stopped, new definitions added', () => {
  const running = [
    { params: P('A', { vrid: 1 }), wiring: wiring('A') },
    { params: P('B', { vrid: 2 }), wiring: wiring('B') },
    { params: P('C', { vrid: 3 }), wiring: wiring('C') },
    { params: P('D', { vrid: 4 }), wiring: wiring('D') },
    { params: P('E', { vrid: 5, family: 6, primaryAddress: 'fe80::1' }), wiring: wiring('E') },
  ];
  const next = plan([
    { p: P('A', { vrid: 1, basePriority: 200 }), w: wiring('A') }, // new priority: kept
    { p: P('B', { vrid: 9 }), w: wiring('B') }, // VRID changed: stopped
    { p: P('C', { vrid: 3 }), w: wiring('C', true) }, // became unicast: stopped
    // D is gone: stopped
    { p: P('E', { vrid: 5, family: 6, primaryAddress: 'fe80::2' }), w: wiring('E') }, // IPv6 source moved
    { p: P('F', { vrid: 6 }), w: wiring('F') }, // new
  ]);
  const m = matchReload(running, next);
  assert.deepEqual(
    m.keep.map((k) => [k.name, k.params.basePriority]),
    [['A', 200]],
  );
  assert.deepEqual(m.stop, ['B', 'C', 'D', 'E']);
  // A changed key stops the old instance and starts the new definition (D is gone for good).
  assert.deepEqual(m.added, ['B', 'C', 'E', 'F']);
});

test('an IPv4 source change alone keeps the instance (the header is ours to write)', () => {
  const m = matchReload(
    [{ params: P('A'), wiring: wiring('A') }],
    plan([{ p: P('A', { primaryAddress: '192.0.2.9' }), w: wiring('A') }]),
  );
  assert.equal(m.keep.length, 1);
});
