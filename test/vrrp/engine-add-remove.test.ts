// Instances added and removed at runtime (SIGHUP reload, docs/keepalived-semantics.md): a new instance starts
// like any other; a removed one stops as keepalived stops an unmatched old instance (priority 0 if master,
// VIPs removed, DELETED with notify_deleted else FAULT) and leaves its sync group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VrrpAction } from '../../src/vrrp/actions.js';
import { type EngineRecord, VrrpEngine } from '../../src/vrrp/engine.js';
import { replay } from '../../src/vrrp/fsm-replay.js';
import { instanceParams } from '../../src/vrrp/instance-params.js';

const vi = (name: string, vrid: number, prio: number, ifname = 'eth0') =>
  instanceParams({
    name,
    vrid,
    basePriority: prio,
    primaryAddress: '192.0.2.10',
    interface: ifname,
    vips: [{ address: `198.51.100.${vrid}`, prefixLen: 32 }],
  });
const notifies = (acts: VrrpAction[]) =>
  acts
    .filter((a) => a.type === 'notify')
    .map((a) => a.type === 'notify' && `${a.scope} ${a.name} ${a.state}`);

/** Priority 100, advert_int 1 s: Master_Down_Interval = 3 s + 609375 µs. */
const DOWN_US = 3_609_375;

test('addInstance: the new instance waits in INIT, starts on `start`, and becomes master on its own', () => {
  const e = new VrrpEngine({ instances: [vi('VI_1', 1, 100)], syncGroups: [] });
  e.handle({ type: 'startAll' }, 0);
  assert.deepEqual(e.handle({ type: 'addInstance', params: vi('VI_2', 2, 100) }, 1_000_000), []);
  assert.equal(e.instance('VI_2')!.state, 'INIT');
  assert.deepEqual(
    e.config.instances.map((p) => p.name),
    ['VI_1', 'VI_2'],
  );
  const acts = e.handle({ type: 'instance', instance: 'VI_2', event: { type: 'start' } }, 1_000_000);
  assert.deepEqual(notifies(acts), ['INSTANCE VI_2 BACKUP']);
  assert.deepEqual(e.nextDeadline(), { instance: 'VI_1', timer: 'masterDown', atUs: DOWN_US });
  e.handleTimers(DOWN_US);
  assert.equal(e.instance('VI_2')!.state, 'BACKUP');
  const later = e.handleTimers(1_000_000 + DOWN_US);
  assert.equal(e.instance('VI_2')!.state, 'MASTER');
  assert.ok(later.some((a) => a.type === 'addVips' && a.instance === 'VI_2'));
  // Link events reach it like the others.
  e.handle({ type: 'link', ifname: 'eth0', up: false }, 5_000_000);
  assert.equal(e.instance('VI_2')!.state, 'FAULT');
});

test('addInstance with an existing name is ignored', () => {
  const e = new VrrpEngine({ instances: [vi('VI_1', 1, 100)], syncGroups: [] });
  const before = e.instance('VI_1');
  e.handle({ type: 'addInstance', params: vi('VI_1', 9, 50) }, 0);
  assert.equal(e.instance('VI_1'), before);
  assert.equal(e.instance('VI_1')!.params.vrid, 1);
  assert.equal(e.config.instances.length, 1);
});

test('removeInstance of a MASTER: priority 0, VIPs removed, STOP, FAULT notify; then forgotten', () => {
  const e = new VrrpEngine({ instances: [vi('VI_1', 1, 100), vi('VI_2', 2, 100)], syncGroups: [] });
  e.handle({ type: 'startAll' }, 0);
  e.handleTimers(DOWN_US);
  assert.equal(e.instance('VI_1')!.state, 'MASTER');
  const acts = e.handle({ type: 'removeInstance', instance: 'VI_1', notifyDeleted: false }, 5_000_000);
  const sent = acts.filter((a) => a.type === 'sendAdvert');
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.type === 'sendAdvert' && sent[0]!.advert.priority, 0);
  assert.ok(acts.some((a) => a.type === 'removeVips' && a.instance === 'VI_1'));
  assert.ok(
    acts.some(
      (a) => a.type === 'stateChange' && a.to === 'STOP' && a.reason === 'removed from the configuration',
    ),
  );
  assert.deepEqual(notifies(acts), ['INSTANCE VI_1 FAULT']);
  assert.ok(acts.every((a) => !('instance' in a) || a.instance === 'VI_1'));
  assert.equal(e.instance('VI_1'), undefined);
  assert.deepEqual(
    e.instances().map((i) => i.name),
    ['VI_2'],
  );
  assert.deepEqual(
    e.config.instances.map((p) => p.name),
    ['VI_2'],
  );
  // Its timers are gone: the next deadline is VI_2's advert timer.
  assert.equal(e.nextDeadline()!.instance, 'VI_2');
  // Events for it are now ignored.
  assert.deepEqual(e.handle({ type: 'instance', instance: 'VI_1', event: { type: 'start' } }, 6_000_000), []);
});

test('removeInstance with notify_deleted reports DELETED; a BACKUP sends no advert; unknown names do nothing', () => {
  const e = new VrrpEngine({ instances: [vi('VI_1', 1, 100)], syncGroups: [] });
  e.handle({ type: 'startAll' }, 0);
  const acts = e.handle({ type: 'removeInstance', instance: 'VI_1', notifyDeleted: true }, 1_000_000);
  assert.deepEqual(notifies(acts), ['INSTANCE VI_1 DELETED']);
  assert.ok(acts.every((a) => a.type !== 'sendAdvert' && a.type !== 'removeVips'));
  assert.deepEqual(
    e.handle({ type: 'removeInstance', instance: 'VI_1', notifyDeleted: true }, 2_000_000),
    [],
  );
});

test('removeInstance of a sync-group member: it leaves the group, whose fault no longer holds the others', () => {
  const e = new VrrpEngine({
    instances: [vi('VI_1', 1, 100, 'eth0'), vi('VI_2', 2, 100, 'eth1'), vi('VI_3', 3, 100, 'eth2')],
    syncGroups: [{ name: 'G', members: ['VI_1', 'VI_2'] }],
  });
  e.handle({ type: 'startAll' }, 0);
  e.handle({ type: 'link', ifname: 'eth1', up: false }, 1_000_000);
  assert.equal(e.instance('VI_1')!.state, 'FAULT');
  const acts = e.handle({ type: 'removeInstance', instance: 'VI_2', notifyDeleted: false }, 2_000_000);
  // VI_2 stops; VI_1, no longer held, starts again as BACKUP; the group (VI_1 alone) reports BACKUP.
  assert.deepEqual(notifies(acts), ['INSTANCE VI_2 FAULT', 'INSTANCE VI_1 BACKUP', 'GROUP G BACKUP']);
  assert.equal(e.instance('VI_1')!.state, 'BACKUP');
  assert.equal(e.instance('VI_1')!.group, e.groups()[0]);
  assert.deepEqual(e.config.syncGroups, [{ name: 'G', members: ['VI_1'] }]);
  // The last member gone: the group goes too.
  e.handle({ type: 'removeInstance', instance: 'VI_1', notifyDeleted: false }, 3_000_000);
  assert.deepEqual(e.groups(), []);
  assert.deepEqual(e.config.syncGroups, []);
});

test('addSyncGroup: new instances form a group before they start, and go MASTER together', () => {
  const e = new VrrpEngine({ instances: [vi('VI_1', 1, 100)], syncGroups: [] });
  e.handle({ type: 'startAll' }, 0);
  e.handle({ type: 'addInstance', params: vi('VI_2', 2, 100, 'eth1') }, 1_000_000);
  e.handle({ type: 'addInstance', params: vi('VI_3', 3, 200, 'eth2') }, 1_000_000);
  // Refused: a started member, an unknown member, an empty group.
  const refused = [
    { name: 'G', members: ['VI_1', 'VI_2'] },
    { name: 'G', members: ['VI_2', 'VI_9'] },
    { name: 'G', members: [] },
  ];
  for (const group of refused) e.handle({ type: 'addSyncGroup', group }, 1_000_000);
  assert.deepEqual(e.groups(), []);
  e.handle({ type: 'addSyncGroup', group: { name: 'G', members: ['VI_2', 'VI_3'] } }, 1_000_000);
  assert.deepEqual(
    e.groups().map((g) => [g.name, g.members.map((m) => m.name)]),
    [['G', ['VI_2', 'VI_3']]],
  );
  assert.deepEqual(e.config.syncGroups, [{ name: 'G', members: ['VI_2', 'VI_3'] }]);
  // A member cannot be in two groups.
  e.handle({ type: 'addSyncGroup', group: { name: 'H', members: ['VI_3'] } }, 1_000_000);
  assert.equal(e.groups().length, 1);
  for (const n of ['VI_2', 'VI_3'])
    e.handle({ type: 'instance', instance: n, event: { type: 'start' } }, 1_000_000);
  // VI_3 (200) expires first, at 1 s + 3 s + 218750 µs, but waits for VI_2 (keepalived: every member must
  // want MASTER); VI_2 expires at 1 s + 3609375 µs and both go MASTER in that step.
  e.handleTimers(1_000_000 + 3_218_750);
  assert.equal(e.instance('VI_3')!.state, 'BACKUP');
  assert.equal(e.instance('VI_3')!.wantState, 'MASTER');
  assert.deepEqual(e.handleTimers(1_000_000 + 3_609_374), []);
  const acts = e.handleTimers(1_000_000 + 3_609_375);
  assert.equal(e.instance('VI_2')!.state, 'MASTER');
  assert.equal(e.instance('VI_3')!.state, 'MASTER');
  assert.ok(acts.some((a) => a.type === 'notify' && a.scope === 'GROUP' && a.state === 'MASTER'));
});

test('a run with added and removed instances replays to the same outputs', () => {
  const records: EngineRecord[] = [];
  const e = new VrrpEngine({ instances: [vi('VI_1', 1, 100)], syncGroups: [] });
  const header = { kind: 'config' as const, config: structuredClone(e.config) };
  e.recorder = (r) => records.push(structuredClone(r));
  e.handle({ type: 'startAll' }, 0);
  e.handleTimers(DOWN_US);
  e.handle({ type: 'addInstance', params: vi('VI_2', 2, 100) }, 4_000_000);
  e.handle({ type: 'instance', instance: 'VI_2', event: { type: 'start' } }, 4_000_000);
  e.handle({ type: 'removeInstance', instance: 'VI_1', notifyDeleted: false }, 5_000_000);
  e.handleTimers(4_000_000 + DOWN_US);
  assert.equal(e.instance('VI_2')!.state, 'MASTER');
  const r = replay([header, ...records]);
  assert.deepEqual(r, { ok: true, inputs: records.filter((x) => x.kind === 'in').length });
});
