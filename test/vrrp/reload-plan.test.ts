// SIGHUP as a pure plan (src/vrrp/reload-plan.ts): which running instances are kept, stopped, added, in
// which order. The simulator performs such plans under a running network in test/sim/reload.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instanceParams, type VrrpInstanceParams } from '../../src/vrrp/instance-params.js';
import { planReload, type ReloadStep } from '../../src/vrrp/reload-plan.js';

const P = (name: string, extra: Partial<VrrpInstanceParams> = {}) =>
  instanceParams({ name, vrid: 1, primaryAddress: '192.0.2.1', interface: 'eth0', ...extra });
const S = (unicast = false, group = '224.0.0.18') => ({ unicast, group });

const show = (steps: ReloadStep[]) =>
  steps.map((s) =>
    'instance' in s
      ? `${s.step} ${s.instance}`
      : s.step === 'formSyncGroup'
        ? `form ${s.group.name}`
        : s.step,
  );

test('same name and keys: kept with the new parameters; others stopped first, new definitions added', () => {
  const steps = planReload({
    running: [
      { params: P('A', { vrid: 1 }), socket: S(), state: 'MASTER' },
      { params: P('B', { vrid: 2 }), socket: S(), state: 'BACKUP' },
      { params: P('C', { vrid: 3 }), socket: S(), state: 'BACKUP' },
      { params: P('D', { vrid: 4 }), socket: S(), state: 'BACKUP' },
      { params: P('E', { vrid: 5, family: 6, primaryAddress: 'fe80::1' }), socket: S(), state: 'BACKUP' },
    ],
    notifyDeleted: new Set(['D']),
    next: {
      instances: [
        { params: P('A', { vrid: 1, basePriority: 200 }), socket: S() }, // new priority: kept
        { params: P('B', { vrid: 9 }), socket: S() }, // VRID changed: stopped
        { params: P('C', { vrid: 3 }), socket: S(true) }, // became unicast: stopped
        // D is gone: stopped, with its notify_deleted
        { params: P('E', { vrid: 5, family: 6, primaryAddress: 'fe80::2' }), socket: S() }, // IPv6 source moved
        { params: P('F', { vrid: 6 }), socket: S() }, // new
      ],
      syncGroups: [],
    },
  });
  assert.deepEqual(show(steps), [
    'stop B',
    'stop C',
    'stop D',
    'stop E',
    'update A',
    // A changed key stops the old instance and starts the new definition (D is gone for good).
    'add B',
    'add C',
    'add E',
    'add F',
    'compareSyncGroups',
    'trackers',
    'followLinks',
    'start B',
    'start C',
    'start E',
    'start F',
  ]);
  const upd = steps.find((s) => s.step === 'update');
  assert.equal(upd?.step === 'update' && upd.params.basePriority, 200);
  assert.equal(upd?.step === 'update' && upd.start, false);
  const stopD = steps.find((s) => s.step === 'stop' && s.instance === 'D');
  assert.equal(stopD?.step === 'stop' && stopD.notifyDeleted, true);
});

test('an IPv4 source change alone keeps the instance (the header is ours to write); a stopped one restarts', () => {
  const steps = planReload({
    running: [{ params: P('A'), socket: S(), state: 'STOP' }],
    notifyDeleted: new Set(),
    next: { instances: [{ params: P('A', { primaryAddress: '192.0.2.9' }), socket: S() }], syncGroups: [] },
  });
  assert.deepEqual(show(steps), ['update A', 'compareSyncGroups', 'trackers', 'followLinks']);
  assert.equal(steps[0]?.step === 'update' && steps[0].start, true);
});

test('a sync group forms only when all its members are new', () => {
  const steps = planReload({
    running: [{ params: P('A'), socket: S(), state: 'BACKUP' }],
    notifyDeleted: new Set(),
    next: {
      instances: [
        { params: P('A'), socket: S() },
        { params: P('B', { vrid: 2 }), socket: S() },
        { params: P('C', { vrid: 3 }), socket: S() },
      ],
      syncGroups: [
        { name: 'G_OLD', members: ['A', 'B'] },
        { name: 'G_NEW', members: ['B', 'C'] },
      ],
    },
  });
  assert.deepEqual(show(steps), [
    'update A',
    'add B',
    'add C',
    'form G_NEW',
    'compareSyncGroups',
    'trackers',
    'followLinks',
    'start B',
    'start C',
  ]);
});
