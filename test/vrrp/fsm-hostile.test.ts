// FSM rules for what a hostile network or a careless operator does (docs/hostile-network.md): the answer to
// lower-priority adverts rate-limited to one per advert interval, the interface losing its last address
// (FAULT until one returns), the master a backup follows (for skip_check_adv_addr), and a VIP deleted in a
// sync group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findAction, InstanceDriver } from '../../src/sim/instance-driver.js';
import type { VrrpAction } from '../../src/vrrp/actions.js';
import { VrrpEngine } from '../../src/vrrp/engine.js';
import { instanceParams, type VrrpInstanceParamsInput } from '../../src/vrrp/instance-params.js';

const VIP = [{ address: '192.0.2.100', prefixLen: 24 }];
const adverts = (acts: VrrpAction[]) => acts.filter((a) => a.type === 'sendAdvert');

/** Priority 150, advert_int 1 s, not started. */
function driver(over: Partial<VrrpInstanceParamsInput> = {}): InstanceDriver {
  return new InstanceDriver({
    name: 'VI_1',
    vrid: 51,
    primaryAddress: '192.0.2.10',
    vips: VIP,
    basePriority: 150,
    garpLowerPrioRepeat: 0,
    ...over,
  });
}

/** Priority 150, advert_int 1 s, master after its first down timer (3 s + 414062 µs). */
function master(over: Partial<VrrpInstanceParamsInput> = {}): InstanceDriver {
  const d = driver(over);
  d.send({ type: 'start' }, 0);
  d.advanceTo(3_414_062);
  assert.equal(d.instance.state, 'MASTER');
  return d;
}

test('a flood of lower-priority adverts is answered at most once per advert interval', () => {
  const d = master();
  const t0 = 4_000_000;
  let answers = 0;
  const answeredAt: number[] = [];
  // 2,200 adverts a second for 3 s, 454 µs apart.
  for (let k = 0; k < 6600; k++) {
    const at = t0 + k * 454;
    const n = adverts(d.rx(100, '192.0.2.20', at)).length;
    if (n > 0) answeredAt.push(at);
    answers += n;
  }
  assert.equal(d.instance.state, 'MASTER');
  // One answer per 1 s interval: at t0, t0 + 1 s, t0 + 2 s (the first advert at or after each).
  assert.equal(answers, 3, answeredAt.join());
  for (let k = 1; k < answeredAt.length; k++)
    assert.ok(answeredAt[k]! - answeredAt[k - 1]! >= 1_000_000, answeredAt.join());
  // So are its GARPs and the MASTER_RX_LOWER_PRI notify: one block per answer, not per advert.
  const notifies = d.all('notify').filter((n) => n.state === 'MASTER_RX_LOWER_PRI');
  assert.deepEqual(
    notifies.map((n) => n.atUs),
    answeredAt,
  );
  // The periodic adverts still go out once a second (from the advert timer, not from the flood).
  const periodic = d.all('sendAdvert').filter((a) => a.atUs > t0 && !answeredAt.includes(a.atUs));
  assert.ok(periodic.length >= 2, JSON.stringify(periodic.map((a) => a.atUs)));
});

test('lower-priority GARPs come with the answer only', () => {
  const d = master({ garpLowerPrioRepeat: 2, garpLowerPrioDelayUs: 0 });
  let garps = 0;
  for (let k = 0; k < 100; k++)
    garps += d.rx(100, '192.0.2.20', 5_000_000 + k * 1000).filter((a) => a.type === 'sendGarp').length;
  assert.equal(garps, 1);
});

test('the first lower-priority advert after a quiet interval is answered at once (keepalived behaviour kept)', () => {
  const d = master();
  assert.equal(adverts(d.rx(100, '192.0.2.20', 5_000_000)).length, 1);
  assert.equal(adverts(d.rx(100, '192.0.2.20', 5_500_000)).length, 0);
  assert.equal(adverts(d.rx(100, '192.0.2.20', 6_000_000)).length, 1);
});

test('the rate limit does not touch higher-priority or priority-0 adverts', () => {
  const d = master();
  d.rx(100, '192.0.2.20', 5_000_000);
  // Priority 0 from another master: still answered at once.
  assert.equal(adverts(d.rx(0, '192.0.2.20', 5_000_100)).length, 1);
  // A higher priority still wins at once.
  d.rx(200, '192.0.2.20', 5_000_200);
  assert.equal(d.instance.state, 'BACKUP');
});

test('the interface losing its last address: a master sends priority 0, drops its VIPs, FAULT', () => {
  const d = master();
  const acts = d.send({ type: 'sourceAddress', address: null }, 5_000_000);
  assert.equal(d.instance.state, 'FAULT');
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 0);
  assert.ok(findAction(acts, 'removeVips'));
  assert.deepEqual(d.instance.status().fault, {
    interface: false,
    tracker: false,
    group: false,
    address: true,
    config: false,
  });
  // Nothing is armed: FAULT waits for the address.
  assert.equal(d.instance.nextDeadline(), null);
  assert.deepEqual(d.advanceTo(60_000_000), []);
  // A repeated "no address" changes nothing.
  assert.deepEqual(d.send({ type: 'sourceAddress', address: null }), []);
});

test('an address returning: it becomes the source, BACKUP with a full down timer, then MASTER', () => {
  const d = master();
  d.send({ type: 'sourceAddress', address: null }, 5_000_000);
  const acts = d.send({ type: 'sourceAddress', address: '192.0.2.11' }, 6_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(d.instance.params.primaryAddress, '192.0.2.11');
  assert.equal(d.instance.timerDeadline('masterDown'), 6_000_000 + 3_414_062);
  assert.ok(acts.some((a) => a.type === 'stateChange' && a.to === 'BACKUP'));
  const up = d.advanceTo(6_000_000 + 3_414_062);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(findAction(up, 'sendAdvert')!.advert.srcAddr, '192.0.2.11');
});

test('a backup losing its address goes to FAULT without sending anything; another fault keeps it there', () => {
  const d = new InstanceDriver({ name: 'VI_1', vrid: 51, primaryAddress: '192.0.2.10', vips: VIP });
  d.send({ type: 'start' }, 0);
  const acts = d.send({ type: 'sourceAddress', address: null }, 1_000);
  assert.equal(d.instance.state, 'FAULT');
  assert.equal(adverts(acts).length, 0);
  d.send({ type: 'interfaceDown' }, 2_000);
  d.send({ type: 'sourceAddress', address: '192.0.2.10' }, 3_000);
  assert.equal(d.instance.state, 'FAULT', 'the link is still down');
  d.send({ type: 'interfaceUp' }, 4_000);
  assert.equal(d.instance.state, 'BACKUP');
});

test('a new source while running changes the source only (no state change)', () => {
  const d = master();
  const acts = d.send({ type: 'sourceAddress', address: '192.0.2.12' }, 5_000_000);
  assert.deepEqual(acts, []);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(findAction(d.advanceTo(5_000_000 + 1_000_000), 'sendAdvert')!.advert.srcAddr, '192.0.2.12');
});

test('followedMaster: the source of the last advert accepted, while BACKUP only', () => {
  const d = new InstanceDriver({ name: 'VI_1', vrid: 51, primaryAddress: '192.0.2.10', vips: VIP });
  d.send({ type: 'start' }, 0);
  assert.equal(d.instance.followedMaster, null, 'nothing accepted yet');
  d.rx(200, '192.0.2.20', 1_000);
  assert.equal(d.instance.followedMaster, '192.0.2.20');
  // A lower priority is not accepted (preempting backup): the master followed stays.
  d.rx(50, '192.0.2.30', 2_000);
  assert.equal(d.instance.followedMaster, '192.0.2.20');
  d.advanceTo(10_000_000);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(d.instance.followedMaster, null, 'a master checks every advert');
});

test('a VIP deleted in a sync group: every master member sends priority 0; the group is back after Skew_Time', () => {
  const inst = (name: string, vrid: number, addr: string) => ({
    name,
    vrid,
    primaryAddress: '192.0.2.10',
    vips: [{ address: addr, prefixLen: 24 }],
    basePriority: 150,
  });
  const engine = new VrrpEngine({
    instances: [
      instanceParams(inst('VI_1', 51, '192.0.2.100')),
      instanceParams(inst('VI_2', 52, '192.0.2.101')),
    ],
    syncGroups: [{ name: 'G', members: ['VI_1', 'VI_2'] }],
  });
  engine.handle({ type: 'startAll' }, 0);
  engine.handleTimers(3_414_062);
  assert.deepEqual(
    engine.instances().map((i) => i.state),
    ['MASTER', 'MASTER'],
  );
  const acts = engine.handle(
    { type: 'instance', instance: 'VI_1', event: { type: 'vipDeleted', address: '192.0.2.100' } },
    5_000_000,
  );
  const zeros = acts.flatMap((a) => (a.type === 'sendAdvert' && a.advert.priority === 0 ? [a.instance] : []));
  assert.deepEqual(zeros.sort(), ['VI_1', 'VI_2']);
  assert.deepEqual(
    engine.instances().map((i) => i.state),
    ['BACKUP', 'BACKUP'],
  );
  // Skew_Time at 150: 414062 µs.
  engine.handleTimers(5_414_061);
  assert.deepEqual(
    engine.instances().map((i) => i.state),
    ['BACKUP', 'BACKUP'],
  );
  engine.handleTimers(5_414_062);
  assert.deepEqual(
    engine.instances().map((i) => i.state),
    ['MASTER', 'MASTER'],
  );
});

test('a configuration fault (unicast_fault_no_peer without a peer): FAULT from the start, for good', () => {
  const d = driver({ configFault: true });
  d.send({ type: 'start' }, 0);
  assert.equal(d.instance.state, 'FAULT');
  // Neither the link nor the address coming (back) nor time brings it up.
  d.send({ type: 'interfaceUp' }, 1_000_000);
  d.send({ type: 'sourceAddress', address: '192.0.2.10' }, 1_000_000);
  d.advanceTo(20_000_000);
  assert.equal(d.instance.state, 'FAULT');
  assert.equal(d.instance.status().fault.config, true);
  assert.equal(d.instance.status().wantState, 'BACKUP');
});
