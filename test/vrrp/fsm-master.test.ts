// Master-side rules: lower/higher/equal-priority adverts, tie-break on the address, priority 0, shutdown,
// FAULT, keepalived's extensions (re-advertising on lower priority, higher_prio_send_advert, MASTER_RX_LOWER_PRI).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionTypes, findAction, InstanceDriver } from '../../src/sim/instance-driver.js';
import type { VrrpAction } from '../../src/vrrp/actions.js';
import { compareAddresses } from '../../src/vrrp/fsm-address.js';
import type { VrrpInstanceParamsInput } from '../../src/vrrp/instance-params.js';

const VIP = [{ address: '192.0.2.100', prefixLen: 24 }];
/** A master from time 0: an owner wanting MASTER goes master at once; `priority` then sets the effective one. */
function master(over: Partial<VrrpInstanceParamsInput> = {}, priority = 100): InstanceDriver {
  const d = new InstanceDriver({
    name: 'VI_1',
    vrid: 51,
    primaryAddress: '192.0.2.10',
    vips: VIP,
    basePriority: 255,
    initialState: 'MASTER',
    ...over,
  });
  d.send({ type: 'start' }, 0);
  if (priority !== 255) d.send({ type: 'priority', priority }, 0);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(d.instance.effectivePriority, priority);
  return d;
}
const adverts = (acts: VrrpAction[]) => acts.filter((a) => a.type === 'sendAdvert');

test('keepalived ≠ RFC 3768 §6.4.3: a master answers a lower-priority advert with its own at once', () => {
  const d = master();
  const acts = d.rx(50, '192.0.2.20', 100_000);
  assert.equal(d.instance.state, 'MASTER');
  assert.equal(adverts(acts).length, 1);
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 100);
  assert.deepEqual(
    acts.find((a) => a.type === 'notify'),
    { type: 'notify', scope: 'INSTANCE', name: 'VI_1', state: 'MASTER_RX_LOWER_PRI', priority: 100 },
  );
});

test('lower_prio_no_advert restores RFC 3768 (discard, no advert)', () => {
  const d = master({ lowerPrioNoAdvert: true, garpLowerPrioRepeat: 0 });
  const acts = d.rx(50, '192.0.2.20', 100_000);
  assert.equal(adverts(acts).length, 0);
  assert.deepEqual(actionTypes(acts), ['notify']);
});

test('a higher-priority advert sends the master to BACKUP: VIPs removed, down timer armed', () => {
  const d = master();
  const acts = d.rx(150, '192.0.2.20', 2_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(adverts(acts).length, 0);
  assert.ok(findAction(acts, 'removeVips'));
  assert.deepEqual(findAction(acts, 'cancelTimer'), {
    type: 'cancelTimer',
    instance: 'VI_1',
    timer: 'advert',
  });
  assert.equal(d.instance.timerDeadline('masterDown'), 2_000_000 + 3_609_375);
  assert.equal(d.instance.timerDeadline('advert'), null);
  assert.ok(acts.some((a) => a.type === 'stat' && a.counter === 'ReleasedMaster'));
  assert.ok(acts.some((a) => a.type === 'notify' && a.state === 'BACKUP'));
});

test('higher_prio_send_advert: one advert with our priority before going BACKUP', () => {
  const d = master({ higherPrioSendAdvert: true });
  const acts = d.rx(150, '192.0.2.20', 2_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 100);
  assert.ok(acts.findIndex((a) => a.type === 'sendAdvert') < acts.findIndex((a) => a.type === 'removeVips'));
});

test('v3: a master yielding to a higher one adopts its interval for the down timer', () => {
  const d = master({ version: 3, advertIntervalCs: 100 });
  d.rx(150, '192.0.2.20', 1_000_000, 20);
  assert.equal(d.instance.masterAdverIntervalCs, 20);
  // 3 × 200000 + 156 × 200000/256 (121875) = 721875
  assert.equal(d.instance.timerDeadline('masterDown'), 1_000_000 + 721_875);
});

test('equal priority: the higher primary address wins (compared as unsigned bytes)', () => {
  const lower = master({}, 100);
  lower.rx(100, '192.0.2.9', 1_000);
  assert.equal(lower.instance.state, 'MASTER', 'sender .9 < own .10: we stay master');
  const higher = master({}, 100);
  higher.rx(100, '192.0.2.11', 1_000);
  assert.equal(higher.instance.state, 'BACKUP', 'sender .11 > own .10: we yield');
  // String comparison would say "192.0.2.9" > "192.0.2.10"; byte comparison must not.
  const byteOrder = master({ primaryAddress: '192.0.2.9' }, 100);
  byteOrder.rx(100, '192.0.2.10', 1_000);
  assert.equal(byteOrder.instance.state, 'BACKUP');
});

test('equal priority over IPv6 compares the 16 address bytes', () => {
  assert.equal(compareAddresses('2001:db8::1:0', '2001:db8::ffff', 6), 1);
  assert.equal(compareAddresses('fe80::2', 'fe80::10', 6), -1);
  assert.equal(compareAddresses('2001:db8::a', '2001:db8:0:0::a', 6), 0);
  const d = master({
    family: 6,
    primaryAddress: 'fe80::2',
    vips: [{ address: '2001:db8::100', prefixLen: 64 }],
  });
  d.rx(100, 'fe80::10', 1_000);
  assert.equal(d.instance.state, 'BACKUP');
});

test('our own advert looped back is ignored', () => {
  const d = master();
  assert.deepEqual(d.rx(100, '192.0.2.10', 1_000), []);
  assert.equal(d.instance.state, 'MASTER');
});

test('priority 0 from another master: advertise at once and restart the advert timer (RFC 3768 §6.4.3)', () => {
  const d = master();
  const acts = d.rx(0, '192.0.2.20', 400_000);
  assert.equal(adverts(acts).length, 1);
  assert.equal(d.instance.timerDeadline('advert'), 1_400_000);
  assert.equal(d.instance.state, 'MASTER');
});

test('shutdown while MASTER: priority-0 advert, VIPs removed, STOP notify', () => {
  const d = master();
  const acts = d.send({ type: 'shutdown' }, 500_000);
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 0);
  assert.ok(acts.some((a) => a.type === 'stat' && a.counter === 'SentPriZeroPackets'));
  assert.ok(findAction(acts, 'removeVips'));
  assert.equal(d.instance.state, 'STOP');
  assert.deepEqual(acts.at(-1), {
    type: 'notify',
    scope: 'INSTANCE',
    name: 'VI_1',
    state: 'STOP',
    priority: 100,
  });
  assert.equal(d.instance.nextDeadline(), null);
});

test('shutdown while BACKUP sends nothing', () => {
  const d = master();
  d.rx(200, '192.0.2.20', 1_000);
  const acts = d.send({ type: 'shutdown' }, 2_000);
  assert.equal(adverts(acts).length, 0);
  assert.equal(d.instance.state, 'STOP');
});

test('MASTER → FAULT on interface down sends priority 0 and removes VIPs; up again → BACKUP', () => {
  const e = new InstanceDriver({ name: 'VI_1', vrid: 51, primaryAddress: '192.0.2.10', vips: VIP });
  e.send({ type: 'start' }, 0);
  e.advanceTo(3_609_375);
  assert.equal(e.instance.state, 'MASTER');
  const acts = e.send({ type: 'interfaceDown' }, 4_000_000);
  assert.equal(e.instance.state, 'FAULT');
  assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 0);
  assert.ok(findAction(acts, 'removeVips'));
  assert.ok(acts.some((a) => a.type === 'notify' && a.state === 'FAULT'));
  const up = e.send({ type: 'interfaceUp' }, 5_000_000);
  assert.equal(e.instance.state, 'BACKUP');
  assert.equal(e.instance.timerDeadline('masterDown'), 5_000_000 + 3_609_375);
  assert.ok(up.some((a) => a.type === 'notify' && a.state === 'BACKUP'));
});

test('dont_track_primary: the own interface going down does not cause FAULT', () => {
  const d = master({ dontTrackPrimary: true });
  d.send({ type: 'interfaceDown' }, 10);
  assert.equal(d.instance.state, 'MASTER');
});

test('trackers: weight-0 failure → FAULT, recovery → BACKUP; weights move the advertised priority', () => {
  const d = new InstanceDriver({
    name: 'VI_1',
    vrid: 51,
    primaryAddress: '192.0.2.10',
    vips: VIP,
    basePriority: 100,
    trackers: [
      { name: 'chk', kind: 'script', weight: 0, reverse: false },
      { name: 'web', kind: 'script', weight: -30, reverse: false },
    ],
  });
  d.send({ type: 'start' }, 0);
  d.advanceTo(3_609_375);
  assert.equal(d.instance.state, 'MASTER');
  d.send({ type: 'tracker', kind: 'script', name: 'web', up: false }, 3_700_000);
  assert.equal(d.instance.effectivePriority, 70);
  const next = d.advanceTo(4_609_375);
  assert.equal(findAction(next, 'sendAdvert')!.advert.priority, 70);
  d.send({ type: 'tracker', kind: 'script', name: 'chk', up: false }, 5_000_000);
  assert.equal(d.instance.state, 'FAULT');
  d.send({ type: 'tracker', kind: 'script', name: 'chk', up: true }, 6_000_000);
  assert.equal(d.instance.state, 'BACKUP');
  // Effective priority 70: 3 s + 186 × 1e6/256 (726562.5 → 726562).
  assert.equal(d.instance.timerDeadline('masterDown'), 6_000_000 + 3_726_562);
});

test('the owner leaving FAULT goes straight back to MASTER', () => {
  const d = master();
  d.send({ type: 'priority', priority: 255 }, 0);
  d.send({ type: 'interfaceDown' }, 100);
  assert.equal(d.instance.state, 'FAULT');
  d.send({ type: 'interfaceUp' }, 200);
  assert.equal(d.instance.state, 'MASTER');
});

test('notify_priority_changes reports MASTER_PRIORITY', () => {
  const d = master({ notifyPriorityChanges: true });
  const acts = d.send({ type: 'priority', priority: 90 }, 10);
  assert.deepEqual(acts, [
    { type: 'notify', scope: 'INSTANCE', name: 'VI_1', state: 'MASTER_PRIORITY', priority: 90 },
  ]);
});

test('owner_ignore_adverts: an owner ignores every advert', () => {
  const d = master({ ownerIgnoreAdverts: true }, 255);
  assert.deepEqual(d.rx(255, '192.0.2.200', 10), []);
  assert.equal(d.instance.state, 'MASTER');
});

test('rogue owner: two 255s — the lower address yields at once; the higher yields (254) only to a persistent rogue', () => {
  const low = master({}, 255);
  low.rx(255, '192.0.2.20', 1_000);
  assert.equal(low.instance.state, 'BACKUP', 'lower address backs off (equal-priority tie-break)');

  const high = master({ primaryAddress: '192.0.2.30' }, 255);
  // The rogue (.20) keeps advertising 255 every second despite our answers. Wait = 3.2 × 1 s.
  for (const t of [1_000_000, 2_000_000, 3_000_000, 4_000_000]) {
    const acts = high.rx(255, '192.0.2.20', t);
    assert.equal(high.instance.state, 'MASTER', `still master at ${t}`);
    assert.equal(findAction(acts, 'sendAdvert')!.advert.priority, 255);
  }
  const acts = high.rx(255, '192.0.2.20', 4_200_000);
  assert.equal(high.instance.state, 'BACKUP');
  assert.equal(high.instance.effectivePriority, 254);
  assert.ok(findAction(acts, 'removeVips'));
  // While the rogue keeps advertising we stay backup; when it goes quiet we take 255 back as master.
  high.rx(255, '192.0.2.20', 5_200_000);
  const deadline = high.instance.timerDeadline('masterDown')!;
  assert.equal(deadline, 5_200_000 + 3_000_000 + 7_812);
  const back = high.advanceTo(deadline);
  assert.equal(high.instance.state, 'MASTER');
  assert.equal(findAction(back, 'sendAdvert')!.advert.priority, 255);
});

test('a rogue episode restarts when the other owner was silent for longer than the wait', () => {
  const high = master({ primaryAddress: '192.0.2.30' }, 255);
  high.rx(255, '192.0.2.20', 1_000_000);
  high.rx(255, '192.0.2.20', 2_000_000);
  high.rx(255, '192.0.2.20', 10_000_000); // silent 8 s: a new episode starts here
  high.rx(255, '192.0.2.20', 13_000_000);
  assert.equal(high.instance.state, 'MASTER');
  high.rx(255, '192.0.2.20', 13_200_000);
  assert.equal(high.instance.state, 'BACKUP');
});
