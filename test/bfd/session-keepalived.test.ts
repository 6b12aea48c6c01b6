// The BFD session's corner cases as keepalived 2.2.7 has them (docs/bfd.md, 'The session'): the reset a
// detection time after going Down, a new discriminator on leaving Up, Init's detection timer, the neighbour's
// Demand bit, the A bit, Echo, Poll/Final, the jitter, the passive start and the AdminDown of a session
// without a send socket. Time is simulated: every call carries nowUs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BfdControl, DIAG, decodeControl, encodeControl } from '../../src/bfd/packet.js';
import { BfdSession, type SessionAction, type SessionConfig } from '../../src/bfd/session.js';
import { rng } from '../helpers/rng.js';
import { control } from './fixtures.js';

const PEER = 0x55;
const ME = 7;

function cfg(o: Partial<SessionConfig> = {}): SessionConfig {
  return {
    name: 's',
    minRxUs: 100_000,
    minTxUs: 100_000,
    idleTxUs: 1_000_000,
    multiplier: 3,
    passive: false,
    ttl: 255,
    maxHops: 0,
    ...o,
  };
}

/** A packet from the neighbour. */
const from = (o: Partial<BfdControl>): BfdControl =>
  control({ myDiscr: PEER, requiredMinRxUs: 100_000, ...o });

const sent = (a: SessionAction[]) => a.flatMap((x) => (x.type === 'send' ? [x.packet] : []));
const states = (a: SessionAction[]) => a.flatMap((x) => (x.type === 'state' ? [x] : []));

/** Runs the session's timers up to `untilUs`, collecting what they do. */
function runUntil(s: BfdSession, untilUs: number): { at: number; action: SessionAction }[] {
  const out: { at: number; action: SessionAction }[] = [];
  for (let at = s.nextDeadlineUs(); at <= untilUs; at = s.nextDeadlineUs())
    for (const action of s.timers(at)) out.push({ at, action });
  return out;
}

/** A session brought Up at 2 ms, at the fast rate (100 ms each way, detection time 300 ms) from 3 ms. */
function upSession(o: Partial<SessionConfig> = {}, newDiscr = () => 99): BfdSession {
  const s = new BfdSession(cfg(o), ME, rng(3), newDiscr);
  s.start(0);
  assert.equal(s.receive(from({}), 255, 1_000).dropped, undefined);
  assert.equal(s.state, 'Init');
  s.receive(from({ state: 'Up', yourDiscr: ME }), 255, 2_000);
  assert.equal(s.state, 'Up');
  s.receive(from({ state: 'Up', yourDiscr: ME, final: true, desiredMinTxUs: 100_000 }), 255, 3_000);
  assert.equal(s.poll, false);
  assert.equal(s.localTxUs, 100_000);
  assert.equal(s.detectUs, 300_000);
  return s;
}

test('detection timeout: Down (diag 1) with a new discriminator; a detection time later the neighbour is forgotten', () => {
  const s = upSession();
  const expiry = runUntil(s, 303_000);
  const down = states(expiry.map((x) => x.action));
  assert.deepEqual(
    down.map((x) => [x.from, x.to, x.diag, x.notify]),
    [['Up', 'Down', DIAG.expired, true]],
  );
  assert.equal(expiry.find((x) => x.action.type === 'state')!.at, 303_000);
  // RemoteDiscr is zeroed at once; leaving Up draws a new local discriminator (keepalived).
  assert.equal(s.remoteDiscr, 0);
  assert.equal(s.localDiscr, 99);
  // The rest of what was heard stays for one detection time: the reset timer runs.
  assert.equal(s.remoteState, 'Up');
  assert.equal(s.remoteMinRxUs, 100_000);
  assert.equal(s.localTxUs, 1_000_000);
  assert.ok(s.resetting);
  runUntil(s, 602_999);
  assert.equal(s.remoteState, 'Up');
  runUntil(s, 603_000);
  assert.equal(s.resetting, false);
  assert.equal(s.remoteState, 'Down');
  assert.equal(s.remoteDiag, DIAG.none);
  assert.equal(s.remoteMinRxUs, 1);
  assert.equal(s.state, 'Down');
  assert.equal(s.localDiag, DIAG.expired);
  // Our packets now: Down, diag 1, the new discriminator, Your Discriminator 0.
  const next = sent(runUntil(s, 3_000_000).map((x) => x.action))[0]!;
  assert.deepEqual([next.state, next.diag, next.myDiscr, next.yourDiscr], ['Down', DIAG.expired, 99, 0]);
});

test('the reset forgets a hold-down Required Min RX (RFC 5880 §6.8.18); a packet before it cancels it', () => {
  const s = upSession();
  // The neighbour goes Down and asks for one packet every 5 s.
  const r = s.receive(
    from({ state: 'Down', diag: DIAG.expired, yourDiscr: ME, requiredMinRxUs: 5_000_000 }),
    255,
    10_000,
  );
  assert.deepEqual(
    states(r.actions).map((x) => [x.to, x.diag, x.notify]),
    [['Down', DIAG.neighborDown, true]],
  );
  assert.equal(s.localTxUs, 5_000_000);
  // A detection time (300 ms) after going Down the reset returns to our idle rate.
  runUntil(s, 309_999);
  assert.equal(s.localTxUs, 5_000_000);
  runUntil(s, 310_000);
  assert.equal(s.localTxUs, 1_000_000);
  assert.equal(s.remoteDiscr, 0);

  // Another session: heard again before the reset, it goes Init and the reset is cancelled.
  const t = upSession({}, () => 98);
  t.receive(from({ state: 'Down', yourDiscr: ME }), 255, 10_000);
  assert.ok(t.resetting);
  // The neighbour learnt our new discriminator from our Down packets.
  t.receive(from({ state: 'Down', yourDiscr: 98 }), 255, 200_000);
  assert.equal(t.state, 'Init');
  assert.equal(t.resetting, false);
  assert.equal(t.remoteDiscr, PEER);
  // The old discriminator is no longer ours.
  assert.match(t.receive(from({ state: 'Down', yourDiscr: ME }), 255, 210_000).dropped ?? '', /not ours/);
});

test('Init must reach Up within one detection time: packets saying Down do not push the timer back', () => {
  const s = new BfdSession(cfg(), ME, rng(4), () => 99);
  s.start(0);
  s.receive(from({}), 255, 0); // detection time 3 × 1 s
  assert.equal(s.state, 'Init');
  for (const t of [1_000_000, 2_000_000, 2_900_000]) s.receive(from({}), 255, t);
  assert.equal(s.state, 'Init');
  const out = runUntil(s, 3_000_000);
  assert.deepEqual(
    states(out.map((x) => x.action)).map((x) => [x.from, x.to, x.diag, x.notify]),
    [['Init', 'Down', DIAG.expired, false]],
  );
  // Not leaving Up: the discriminator stays.
  assert.equal(s.localDiscr, ME);
});

test('the neighbour in Demand mode: no periodic packets while both are Up; Polls are still answered', () => {
  const s = upSession();
  const up = (o: Partial<BfdControl>) => from({ state: 'Up', yourDiscr: ME, desiredMinTxUs: 100_000, ...o });
  s.receive(up({ demand: true, desiredMinTxUs: 100_000 }), 255, 50_000);
  assert.equal(s.remoteDemand, true);
  assert.equal(s.sending, false);
  // The neighbour keeps sending (its own packets are not ruled by its D bit): we stay Up, silent.
  for (let t = 100_000; t <= 1_000_000; t += 50_000)
    assert.deepEqual(sent(s.receive(up({ demand: true }), 255, t).actions), []);
  assert.deepEqual(sent(runUntil(s, 1_050_000).map((x) => x.action)), []);
  const polled = sent(s.receive(up({ demand: true, poll: true }), 255, 1_100_000).actions);
  assert.equal(polled.length, 1);
  assert.equal(polled[0]!.final, true);
  assert.equal(polled[0]!.demand, false);
  // D cleared: periodic packets again.
  s.receive(up({}), 255, 1_150_000);
  assert.ok(s.sending);
  assert.ok(sent(runUntil(s, 1_400_000).map((x) => x.action)).length >= 2);
  // The detection timer ran throughout: silence from the neighbour still takes the session Down.
  s.receive(up({ demand: true }), 255, 1_500_000);
  assert.equal(s.sending, false);
  const expiry = runUntil(s, 1_800_000);
  assert.equal(s.state, 'Down');
  // Down: periodic packets again, the first at once (RFC 5880 §6.6; keepalived 2.2.7 stays silent here).
  const downPackets = expiry.filter((x) => x.action.type === 'send');
  assert.deepEqual(
    downPackets.map((x) => [x.at, x.action.type === 'send' && x.action.packet.state]),
    [[1_800_000, 'Down']],
  );
  assert.ok(s.sending);
});

test('a packet with the A bit is discarded after the TTL check and changes nothing', () => {
  const s = new BfdSession(cfg(), ME, rng(5));
  s.start(0);
  const bytes = encodeControl(from({ auth: true }));
  const d = decodeControl(bytes);
  assert.ok(d.ok);
  assert.match(s.receive(d.packet, 255, 10).dropped ?? '', /authentication/);
  assert.match(s.receive(d.packet, 254, 10).dropped ?? '', /TTL 254/);
  assert.equal(s.state, 'Down');
  assert.equal(s.remoteDiscr, 0);
});

test('what we send: no A bit, no D bit, Required Min Echo RX 0 — whatever the neighbour sends', () => {
  const s = new BfdSession(cfg(), ME, rng(6));
  const out = [...s.start(0)];
  const echoing = { demand: true, requiredMinEchoRxUs: 50_000 };
  out.push(...s.receive(from(echoing), 255, 1_000).actions);
  out.push(
    ...s.receive(from({ state: 'Up', yourDiscr: ME, poll: true, requiredMinEchoRxUs: 50_000 }), 255, 2_000)
      .actions,
  );
  for (const x of runUntil(s, 3_000_000)) out.push(x.action);
  const packets = sent(out);
  assert.ok(packets.length >= 4);
  for (const p of packets) {
    assert.equal(p.auth, false);
    assert.equal(p.demand, false);
    assert.equal(p.requiredMinEchoRxUs, 0);
    assert.equal(p.cpi, false);
  }
});

test('answering a Poll while our own is pending: the Final carries our parameters and the Poll is dropped', () => {
  const s = new BfdSession(cfg(), ME, rng(7));
  s.start(0);
  // Down + neighbour Init with P: we go Up (which wants a Poll Sequence) and answer with F at once.
  const r = s.receive(from({ state: 'Init', yourDiscr: ME, poll: true }), 255, 1_000);
  assert.equal(s.state, 'Up');
  const answer = sent(r.actions);
  assert.equal(answer.length, 1);
  assert.deepEqual([answer[0]!.final, answer[0]!.poll, answer[0]!.state], [true, false, 'Up']);
  assert.equal(answer[0]!.desiredMinTxUs, 100_000);
  assert.equal(s.poll, false);
  const later = sent(runUntil(s, 2_000_000).map((x) => x.action));
  assert.ok(later.length > 0 && later.every((p) => !p.poll));
});

test('while Up the intervals change only with a Poll or a Final; a shorter one reschedules one interval on', () => {
  const s = upSession();
  // A slower Required Min RX without P: ignored (a Poll Sequence announces every change).
  s.receive(from({ state: 'Up', yourDiscr: ME, requiredMinRxUs: 500_000 }), 255, 10_000);
  assert.equal(s.localTxUs, 100_000);
  s.receive(from({ state: 'Up', yourDiscr: ME, requiredMinRxUs: 500_000, poll: true }), 255, 20_000);
  assert.equal(s.localTxUs, 500_000);
  // Faster again (with P): the next packet leaves 75–90 % of the new interval from now, not at once.
  const at = 700_000;
  runUntil(s, at);
  const r = s.receive(from({ state: 'Up', yourDiscr: ME, requiredMinRxUs: 100_000, poll: true }), 255, at);
  assert.equal(s.localTxUs, 100_000);
  assert.equal(sent(r.actions).length, 1); // the Final only
  const next = s.nextDeadlineUs() - at;
  assert.ok(next >= 75_000 && next <= 90_000, `next packet after ${next} µs`);
});

test('jitter: every interval is 75–90 % of the negotiated one, whatever Detect Mult', () => {
  const s = new BfdSession(cfg({ multiplier: 5 }), ME, rng(8));
  s.start(0);
  let last = 0;
  for (let i = 0; i < 300; i++) {
    const at = s.nextDeadlineUs();
    assert.equal(sent(s.timers(at)).length, 1);
    if (i > 0) {
      const gap = at - last;
      assert.ok(gap >= 750_000 && gap <= 900_000, `gap ${gap}`);
    }
    last = at;
  }
});

test('passive: silent until heard, then the first packet one interval later; silent again after a timeout', () => {
  const s = new BfdSession(cfg({ passive: true }), ME, rng(9), () => 99);
  assert.deepEqual(s.start(0), []);
  assert.equal(s.nextDeadlineUs(), Number.POSITIVE_INFINITY);
  const r = s.receive(from({}), 255, 5_000_000);
  assert.equal(s.state, 'Init');
  assert.deepEqual(sent(r.actions), []);
  const first = s.nextDeadlineUs() - 5_000_000;
  assert.ok(first >= 750_000 && first <= 900_000, `first packet after ${first} µs`);
  s.receive(from({ state: 'Up', yourDiscr: ME }), 255, 5_100_000);
  assert.equal(s.state, 'Up');
  // No more packets: Down by timeout, and the passive session stops sending.
  runUntil(s, 9_000_000);
  assert.equal(s.state, 'Down');
  assert.equal(s.sending, false);
  assert.deepEqual(sent(runUntil(s, 20_000_000).map((x) => x.action)), []);
});

test('AdminDown (no send socket): silent, deaf, not reported; reopened by the minute or by a packet', () => {
  const s = new BfdSession(cfg(), ME, rng(10));
  const a = s.adminDown();
  assert.deepEqual(sent(a), []);
  assert.deepEqual(
    states(a).map((x) => [x.from, x.to, x.diag, x.notify]),
    [['Down', 'AdminDown', DIAG.adminDown, false]],
  );
  assert.equal(s.nextDeadlineUs(), Number.POSITIVE_INFINITY);
  assert.match(s.receive(from({}), 255, 10).dropped ?? '', /AdminDown/);
  // The minute's retry opened the socket: Down, silently, the first packet one interval later.
  assert.deepEqual(s.reopened(60_000_000, false), []);
  assert.equal(s.state, 'Down');
  const first = s.nextDeadlineUs() - 60_000_000;
  assert.ok(first >= 750_000 && first <= 900_000, `first packet after ${first} µs`);

  // Reopened because a packet arrived: Init, then the packet is taken (here the neighbour is Init: Up).
  const t = new BfdSession(cfg(), ME, rng(11));
  t.adminDown();
  assert.deepEqual(
    states(t.reopened(1_000, true)).map((x) => [x.from, x.to]),
    [['AdminDown', 'Init']],
  );
  const r = t.receive(from({ state: 'Init', yourDiscr: ME }), 255, 1_000);
  assert.deepEqual(
    states(r.actions).map((x) => [x.to, x.notify]),
    [['Up', true]],
  );
  // Or the neighbour is Down: Init, with its detection timer running.
  const u = new BfdSession(cfg(), ME, rng(12));
  u.adminDown();
  u.reopened(1_000, true);
  u.receive(from({}), 255, 1_000);
  assert.equal(u.state, 'Init');
  assert.ok(u.expiring);
  runUntil(u, 3_001_000);
  assert.equal(u.state, 'Down');
});

test('a reload that changes min_rx / min_tx keeps the session Up and polls the new values to the neighbour', () => {
  const s = upSession();
  s.reconfigure(cfg({ multiplier: 4 }));
  assert.equal(s.poll, false, 'Detect Mult alone: no Poll Sequence');
  s.reconfigure(cfg({ multiplier: 4, minTxUs: 200_000, minRxUs: 300_000 }));
  assert.equal(s.state, 'Up');
  assert.equal(s.localDiscr, ME);
  assert.equal(s.poll, true);
  const p = sent(runUntil(s, 200_000).map((x) => x.action))[0]!;
  assert.deepEqual(
    [p.state, p.poll, p.desiredMinTxUs, p.requiredMinRxUs, p.detectMult],
    ['Up', true, 200_000, 300_000, 4],
  );
  // The neighbour's Final ends the sequence and the new values take effect.
  s.receive(from({ state: 'Up', yourDiscr: ME, final: true, desiredMinTxUs: 100_000 }), 255, 210_000);
  assert.equal(s.poll, false);
  assert.equal(s.localTxUs, 200_000);
  assert.equal(s.detectUs, 3 * 300_000);
});
