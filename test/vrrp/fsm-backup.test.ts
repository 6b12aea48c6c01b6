// Backup-side rules: startup, the down timer, accepting/discarding adverts, preemption, nopreempt,
// preempt_delay, priority 0, v3 interval adoption, priority changes. Timings to the microsecond.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionTypes, findAction, InstanceDriver } from '../../src/sim/instance-driver.js';
import type { VrrpInstanceParamsInput } from '../../src/vrrp/instance-params.js';
import { masterDownIntervalUs, skewTimeUs } from '../../src/vrrp/timers.js';

const VIP = [{ address: '192.0.2.100', prefixLen: 24 }];
const base = (over: Partial<VrrpInstanceParamsInput> = {}): VrrpInstanceParamsInput => ({
  name: 'VI_1',
  vrid: 51,
  primaryAddress: '192.0.2.10',
  vips: VIP,
  ...over,
});
const started = (over: Partial<VrrpInstanceParamsInput> = {}, atUs = 0): InstanceDriver => {
  const d = new InstanceDriver(base(over));
  d.send({ type: 'start' }, atUs);
  return d;
};

test('startup: a backup arms Master_Down_Interval and becomes master when it expires (RFC 3768 §6.4.1)', () => {
  const d = started({ basePriority: 100 }, 1_000);
  assert.equal(d.instance.state, 'BACKUP');
  const mdi = 3 * 1_000_000 + 609_375;
  assert.equal(d.instance.timerDeadline('masterDown'), 1_000 + mdi);
  assert.deepEqual(d.advanceTo(1_000 + mdi - 1), []);
  const acts = d.advanceTo(1_000 + mdi);
  assert.equal(d.instance.state, 'MASTER');
  // keepalived vrrp_goto_master order: advert first, then addresses, GARPs, timers, notify.
  assert.deepEqual(actionTypes(acts).slice(0, 5), [
    'stateChange',
    'sendAdvert',
    'stat',
    'addVips',
    'sendGarp',
  ]);
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 100);
  assert.deepEqual(findAction(acts, 'notify'), {
    type: 'notify',
    scope: 'INSTANCE',
    name: 'VI_1',
    state: 'MASTER',
    priority: 100,
  });
  // Adverts then follow every advert interval.
  assert.equal(d.instance.timerDeadline('advert'), 1_000 + mdi + 1_000_000);
  const next = d.advanceTo(1_000 + mdi + 1_000_000);
  assert.equal(findAction(next, 'sendAdvert')!.advert.priority, 100);
});

test('keepalived ≠ RFC: `state MASTER` below 255 still starts as BACKUP and waits the full down timer', () => {
  const d = started({ basePriority: 200, initialState: 'MASTER' });
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(d.instance.timerDeadline('masterDown'), masterDownIntervalUs(2, 200, 100, 3));
});

test('the address owner (255) wanting MASTER goes master at once', () => {
  const d = started({ basePriority: 255, initialState: 'MASTER' }, 5);
  assert.equal(d.instance.state, 'MASTER');
  const acts = d.log[0]!.actions;
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 255);
  assert.ok(findAction(acts, 'addVips'));
});

test('keepalived ≠ RFC 3768 §6.4.1: an owner configured `state BACKUP` waits its (short) down timer', () => {
  const d = started({ basePriority: 255, initialState: 'BACKUP' });
  assert.equal(d.instance.state, 'BACKUP');
  // 3 s + (256 − 255) × 1e6/256 = 3003906 µs.
  assert.equal(d.instance.timerDeadline('masterDown'), 3_003_906);
});

test('a valid advert of higher or equal priority resets the down timer', () => {
  const d = started({ basePriority: 100 });
  d.rx(150, '192.0.2.20', 2_000_000);
  assert.equal(d.instance.timerDeadline('masterDown'), 2_000_000 + 3_609_375);
  d.rx(100, '192.0.2.1', 4_000_000); // equal priority, lower address: still accepted (">= local priority")
  assert.equal(d.instance.timerDeadline('masterDown'), 4_000_000 + 3_609_375);
  assert.equal(d.instance.status().masterAddress, '192.0.2.1');
});

test('preemption: a lower-priority advert is discarded and the timer keeps running', () => {
  const d = started({ basePriority: 100 });
  d.rx(150, '192.0.2.20', 1_000_000);
  const deadline = d.instance.timerDeadline('masterDown');
  const acts = d.rx(50, '192.0.2.20', 2_000_000);
  assert.deepEqual(acts, []);
  assert.equal(d.instance.timerDeadline('masterDown'), deadline);
  d.advanceTo(deadline!);
  assert.equal(d.instance.state, 'MASTER');
});

test('nopreempt: a lower-priority master is accepted, so the backup never preempts', () => {
  const d = started({ basePriority: 200, nopreempt: true });
  for (let t = 1_000_000; t <= 20_000_000; t += 1_000_000) d.rx(50, '192.0.2.20', t);
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(d.instance.timerDeadline('masterDown'), 20_000_000 + masterDownIntervalUs(2, 200, 100, 3));
});

test('preempt_delay: a lower-priority master is tolerated for the delay, then preempted', () => {
  const delayUs = 2_000_000;
  const d = started({ basePriority: 200, preemptDelayUs: delayUs });
  const mdi = masterDownIntervalUs(2, 200, 100, 3); // 3.21875 s
  // Adverts at 1 s, 2 s … from a priority-50 master. The startup window runs until 2 s: adverts at 1 s and 2 s?
  // The one at 1 s is inside the window (accepted); at 2 s the window has ended (2 s is not < 2 s): discarded.
  d.rx(50, '192.0.2.20', 1_000_000);
  assert.equal(d.instance.timerDeadline('masterDown'), 1_000_000 + mdi);
  d.rx(50, '192.0.2.20', 2_000_000);
  assert.equal(d.instance.timerDeadline('masterDown'), 1_000_000 + mdi);
  d.rx(50, '192.0.2.20', 3_000_000);
  d.rx(50, '192.0.2.20', 4_000_000);
  d.advanceTo(1_000_000 + mdi);
  assert.equal(d.instance.state, 'MASTER');
});

test('preempt_delay also starts when a lower-priority master is first seen after a higher one', () => {
  const d = started({ basePriority: 200, preemptDelayUs: 2_500_000 });
  const mdi = masterDownIntervalUs(2, 200, 100, 3);
  for (let t = 1_000_000; t <= 10_000_000; t += 1_000_000) d.rx(250, '192.0.2.20', t); // higher master
  d.rx(50, '192.0.2.20', 11_000_000); // its priority drops: window 11 s … 13.5 s
  d.rx(50, '192.0.2.20', 12_000_000);
  d.rx(50, '192.0.2.20', 13_000_000); // last accepted
  d.rx(50, '192.0.2.20', 14_000_000); // discarded
  assert.equal(d.instance.timerDeadline('masterDown'), 13_000_000 + mdi);
  d.advanceTo(13_000_000 + mdi);
  assert.equal(d.instance.state, 'MASTER');
});

test('priority 0 from the master: the backup takes over after Skew_Time (RFC 3768 §6.4.2)', () => {
  const d = started({ basePriority: 100 });
  d.rx(200, '192.0.2.20', 1_000_000);
  d.rx(0, '192.0.2.20', 1_500_000);
  assert.equal(d.instance.timerDeadline('masterDown'), 1_500_000 + 609_375);
  d.advanceTo(1_500_000 + 609_375);
  assert.equal(d.instance.state, 'MASTER');
});

test('v3: a backup adopts the master advert interval, and resets to its own on becoming master', () => {
  const d = started({ version: 3, basePriority: 100, advertIntervalCs: 100 });
  d.rx(200, '192.0.2.20', 1_000_000, 50);
  assert.equal(d.instance.masterAdverIntervalCs, 50);
  // 3 × 0.5 s + 156 × 500000/256 (= 304687.5 → 304687)
  assert.equal(d.instance.timerDeadline('masterDown'), 1_000_000 + 1_500_000 + 304_687);
  d.rx(0, '192.0.2.20', 2_000_000);
  assert.equal(d.instance.timerDeadline('masterDown'), 2_000_000 + skewTimeUs(3, 100, 50));
  const acts = d.advanceTo(2_000_000 + 304_687);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(d.instance.masterAdverIntervalCs, 100);
  assert.equal(findAction(acts, 'sendAdvert')!.advert.advertIntervalCs, 100);
  assert.equal(d.instance.timerDeadline('advert'), 2_304_687 + 1_000_000);
});

test('v2 keeps its own interval (a mismatched v2 advert never reaches the FSM: rx-validate drops it)', () => {
  const d = started({ version: 2, basePriority: 100 });
  d.rx(200, '192.0.2.20', 1_000_000, 200);
  assert.equal(d.instance.masterAdverIntervalCs, 100);
});

test('keepalived: a priority change while BACKUP shifts the pending expiry by the skew delta', () => {
  const d = started({ basePriority: 100 });
  d.rx(200, '192.0.2.20', 1_000_000);
  const before = d.instance.timerDeadline('masterDown')!;
  const acts = d.send({ type: 'priority', priority: 228 }, 1_500_000);
  // skew(100) = 609375, skew(228) = 28 × 1e6/256 = 109375 → 500000 µs earlier.
  assert.equal(d.instance.timerDeadline('masterDown'), before - 500_000);
  assert.deepEqual(findAction(acts, 'armTimer'), {
    type: 'armTimer',
    instance: 'VI_1',
    timer: 'masterDown',
    atUs: before - 500_000,
  });
  d.send({ type: 'priority', priority: 1 }, 1_600_000);
  // skew(1) = 996093 → 886718 later than with 228.
  assert.equal(d.instance.timerDeadline('masterDown'), before - 500_000 + (996_093 - 109_375));
});

test('down_timer_adverts changes the multiplier (keepalived extension)', () => {
  const d = started({ basePriority: 100, downTimerAdverts: 5 });
  assert.equal(d.instance.timerDeadline('masterDown'), 5_000_000 + 609_375);
});

test('adverts are ignored in FAULT, INIT and STOP', () => {
  const d = new InstanceDriver(base());
  assert.deepEqual(d.rx(200, '192.0.2.20', 10), []);
  d.send({ type: 'start' });
  d.send({ type: 'interfaceDown' }, 20);
  assert.equal(d.instance.state, 'FAULT');
  assert.deepEqual(d.rx(0, '192.0.2.20', 30), []);
  d.send({ type: 'shutdown' }, 40);
  assert.equal(d.instance.state, 'STOP');
  assert.deepEqual(d.rx(0, '192.0.2.20', 50), []);
  assert.equal(d.instance.nextDeadline(), null);
});
