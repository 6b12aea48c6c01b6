// The pure BFD core (src/bfd): packet encoding and the receive checks of RFC 5880 §6.8.6, and sessions
// driven by simulated time — two peers come Up, negotiate their rates with a Poll Sequence, and a lost
// peer is detected within the detection time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type BfdControl, DIAG, decodeControl, encodeControl } from '../../src/bfd/packet.js';
import { BfdSession, type SessionAction, type SessionConfig } from '../../src/bfd/session.js';
import { rng } from '../helpers/rng.js';
import { control } from './fixtures.js';

const base = control();

test('a Control packet encodes to the RFC 5880 layout and decodes back', () => {
  const p: BfdControl = { ...base, state: 'Up', poll: true, diag: 3, yourDiscr: 0xfffffffe };
  const b = encodeControl(p);
  assert.equal(b.length, 24);
  assert.equal(b[0], (1 << 5) | 3); // version 1, diag 3
  assert.equal(b[1], (3 << 6) | 0x20); // Up, P
  assert.equal(b[2], 3);
  assert.equal(b[3], 24);
  assert.deepEqual([...b.subarray(4, 8)], [1, 2, 3, 4]);
  assert.deepEqual(decodeControl(b), { ok: true, packet: p });
});

test('the receive checks of RFC 5880 §6.8.6 refuse what they must', () => {
  const reason = (p: Partial<BfdControl>, edit?: (b: Uint8Array) => void) => {
    const b = encodeControl({ ...base, ...p });
    edit?.(b);
    const r = decodeControl(b);
    return r.ok ? null : r.reason;
  };
  assert.equal(reason({}), null);
  assert.match(reason({}, (b) => (b[0] = (2 << 5) | 0)) ?? '', /version 2/);
  assert.match(reason({}, (b) => (b[3] = 23)) ?? '', /length field 23 is not the 24-byte payload/);
  assert.match(reason({}, (b) => (b[3] = 30)) ?? '', /length field 30/);
  assert.match(reason({ detectMult: 0 }) ?? '', /multiplier is zero/);
  assert.match(reason({ multipoint: true }) ?? '', /multipoint/);
  assert.match(reason({ myDiscr: 0 }) ?? '', /my discriminator/);
  assert.match(reason({ state: 'Init' }) ?? '', /your discriminator is zero in state Init/);
  assert.equal(reason({ state: 'AdminDown' }), null);
  assert.match(reason({ poll: true, final: true }) ?? '', /poll and final/);
  assert.match(decodeControl(new Uint8Array(10)).ok ? '' : 'short', /short/);
  // keepalived's own checks: the Length field must be the datagram's size (no trailing bytes), and the
  // diagnostic a known one (0–8).
  const longer = new Uint8Array(30);
  longer.set(encodeControl(base));
  assert.match(decodeControl(longer).ok ? '' : 'refused', /refused/);
  longer[3] = 30;
  assert.equal(decodeControl(longer).ok, true);
  assert.equal(reason({ diag: 8 }), null);
  assert.match(reason({ diag: 9 }) ?? '', /invalid diagnostic 9/);
  // The A bit is the session's to refuse (after its TTL check, as keepalived does).
  assert.equal(reason({ auth: true }), null);
});

test('random bytes never make the decoder throw, and what it accepts re-encodes to the same 24 bytes', () => {
  // Half the inputs get version 1 and a length field equal to their size, or next to none would decode (1 in
  // 2,048 of 24-byte strings) and the re-encoding would go unchecked. A longer datagram whose length field
  // says so is accepted (keepalived's check); its first 24 bytes are the packet.
  let accepted = 0;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 64, size: 'max' }), fc.boolean(), (raw, shaped) => {
      const bytes = Uint8Array.from(raw);
      if (shaped && bytes.length >= 4) {
        bytes[0] = (1 << 5) | (bytes[0]! & 0x1f);
        bytes[3] = bytes.length;
      }
      const r = decodeControl(bytes);
      if (!r.ok) return;
      accepted++;
      assert.deepEqual(
        encodeControl(r.packet),
        bytes.subarray(0, 24).map((x, i) => (i === 3 ? 24 : x)),
      );
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 50, `only ${accepted} packets decoded`);
});

test('random packets fed to a session never throw and never break its invariants', () => {
  const arbPacket = fc.record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom('AdminDown', 'Down', 'Init', 'Up') as fc.Arbitrary<BfdControl['state']>,
    poll: fc.boolean(),
    final: fc.boolean(),
    cpi: fc.boolean(),
    auth: fc.constant(false),
    demand: fc.boolean(),
    multipoint: fc.constant(false),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscr: fc.constantFrom(0, 7, 8),
    desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
  });
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(arbPacket, fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: -1, max: 255 })),
      ),
      (steps) => {
        const s = new BfdSession(cfg('s'), 7, rng(1));
        let now = 0;
        s.start(now);
        for (const [p, dt, ttl] of steps) {
          now += dt;
          s.timers(now);
          s.receive(p, ttl, now);
          assert.ok(s.nextDeadlineUs() >= now || s.nextDeadlineUs() === Number.POSITIVE_INFINITY);
          assert.ok(!(s.state === 'Up' && s.remoteDiscr === 0));
        }
      },
    ),
    { numRuns: 300 },
  );
});

function cfg(name: string, o: Partial<SessionConfig> = {}): SessionConfig {
  return {
    name,
    minRxUs: 10_000,
    minTxUs: 10_000,
    idleTxUs: 1_000_000,
    multiplier: 5,
    passive: false,
    ttl: 255,
    maxHops: 0,
    ...o,
  };
}

interface Peer {
  s: BfdSession;
  log: { at: number; to: string; notify: boolean; diag: number }[];
  sent: BfdControl[];
  alive: boolean;
}

/**
 * Two sessions joined by a lossless wire with a fixed delay, driven by an event loop over their deadlines.
 * Returns a function running the simulation until `untilUs`.
 */
function simulate(a: Peer, b: Peer, delayUs = 200) {
  const inFlight: { at: number; to: Peer; bytes: Uint8Array }[] = [];
  let now = 0;
  const apply = (from: Peer, actions: SessionAction[]) => {
    const to = from === a ? b : a;
    for (const x of actions) {
      if (x.type === 'send') {
        from.sent.push(x.packet);
        if (from.alive) inFlight.push({ at: now + delayUs, to, bytes: x.bytes });
      } else from.log.push({ at: now, to: x.to, notify: x.notify, diag: x.diag });
    }
  };
  apply(a, a.s.start(0));
  apply(b, b.s.start(0));
  return (untilUs: number) => {
    for (let steps = 0; ; steps++) {
      assert.ok(steps < 1_000_000, `simulation stuck at ${now} µs`);
      inFlight.sort((x, y) => x.at - y.at);
      const nextRx = inFlight[0]?.at ?? Number.POSITIVE_INFINITY;
      const next = Math.min(
        nextRx,
        a.alive ? a.s.nextDeadlineUs() : Infinity,
        b.alive ? b.s.nextDeadlineUs() : Infinity,
      );
      if (next > untilUs) {
        now = untilUs;
        return;
      }
      // A peer brought back to life has deadlines in the past: they fire now (time never runs backwards).
      now = Math.max(now, next);
      if (nextRx <= now) {
        const m = inFlight.shift()!;
        if (!m.to.alive) continue;
        const d = decodeControl(m.bytes);
        assert.ok(d.ok);
        const r = m.to.s.receive(d.packet, 255, now);
        assert.equal(r.dropped, undefined);
        apply(m.to, r.actions);
        continue;
      }
      for (const p of [a, b]) if (p.alive && p.s.nextDeadlineUs() <= now) apply(p, p.s.timers(now));
    }
  };
}

const peer = (name: string, o: Partial<SessionConfig>, discr: number, seed: number): Peer => ({
  s: new BfdSession(cfg(name, o), discr, rng(seed)),
  log: [],
  sent: [],
  alive: true,
});

test('two peers come Up, speed up with a Poll Sequence, and detect the loss of the other within the detection time', () => {
  const a = peer('a', { minTxUs: 50_000, minRxUs: 50_000, multiplier: 3 }, 1111, 1);
  const b = peer('b', { minTxUs: 20_000, minRxUs: 100_000, multiplier: 4 }, 2222, 2);
  const run = simulate(a, b);
  run(3_000_000);
  assert.equal(a.s.state, 'Up');
  assert.equal(b.s.state, 'Up');
  assert.deepEqual(
    a.log.map((l) => l.to),
    ['Init', 'Up'],
  );
  assert.ok(a.log.find((l) => l.to === 'Up')!.notify);
  assert.ok(!a.log.find((l) => l.to === 'Init')!.notify);
  // Both Up within a few packets of the first one (sent at once): well under one idle interval.
  assert.ok(a.log.at(-1)!.at < 1_000_000, `a Up at ${a.log.at(-1)!.at}`);
  // The Poll Sequence ended: a Final came back, no P bit any more.
  assert.equal(a.s.poll, false);
  assert.ok(a.sent.some((p) => p.poll) && b.sent.some((p) => p.final));
  // Negotiated: a sends every max(50 ms, b's 100 ms min rx) = 100 ms; b every max(20, 50) = 50 ms.
  assert.equal(a.s.txIntervalUs, 100_000);
  assert.equal(b.s.txIntervalUs, 50_000);
  // a's detection time: b's mult 4 × max(a's min rx 50 ms, b's tx 20 ms) = 200 ms; b's: 3 × max(100, 50) = 300.
  assert.equal(a.s.detectUs, 200_000);
  assert.equal(b.s.detectUs, 300_000);
  // The Up rate is kept (with jitter: 75–100 % of the interval).
  const before = a.sent.length;
  run(4_000_000);
  const rate = a.sent.length - before;
  assert.ok(rate >= 10 && rate <= 14, `a sent ${rate} packets in a second at 100 ms`);

  // b dies at 4 s: a goes Down (diag 1, notified) within its detection time.
  b.alive = false;
  run(5_000_000);
  const down = a.log.at(-1)!;
  assert.equal(down.to, 'Down');
  assert.equal(down.diag, DIAG.expired);
  assert.ok(down.notify);
  assert.ok(down.at - 4_000_000 <= a.s.detectUs + 200, `detected after ${down.at - 4_000_000} µs`);
  assert.equal(a.s.remoteDiscr, 0);
  // Down again: back to the idle rate (1 s), and b comes back: Up again.
  const idleStart = a.sent.length;
  run(7_000_000);
  assert.ok(a.sent.length - idleStart <= 3, 'idle rate while Down');
  assert.equal(a.s.txIntervalUs, 1_000_000);
  b.alive = true;
  run(10_000_000);
  assert.equal(a.s.state, 'Up');
  assert.equal(b.s.state, 'Up');
});

test('a passive peer sends nothing until it hears the other; AdminDown is not reported as a failure', () => {
  const a = peer('a', { passive: true }, 5, 3);
  const b = peer('b', {}, 6, 4);
  b.alive = false; // b not started yet: a alone stays silent
  const run = simulate(a, b);
  run(3_000_000);
  assert.equal(a.sent.length, 0);
  b.alive = true;
  // b only started its timers at 0: its next packet leaves within a second.
  run(6_000_000);
  assert.equal(a.s.state, 'Up');
  assert.ok(a.sent.length > 0);
  // b says AdminDown: a goes Down (diag 3) but does not notify.
  const adminPacket: BfdControl = {
    ...base,
    state: 'AdminDown',
    diag: DIAG.adminDown,
    myDiscr: b.s.localDiscr,
    yourDiscr: a.s.localDiscr,
  };
  const r = a.s.receive(adminPacket, 255, 6_000_100);
  const change = r.actions.find((x) => x.type === 'state');
  assert.ok(change && change.type === 'state');
  assert.equal(change.to, 'Down');
  assert.equal(change.diag, DIAG.neighborDown);
  assert.equal(change.notify, false);
});

test('the TTL check follows ttl and max_hops; a packet for another discriminator is dropped', () => {
  const s = new BfdSession(cfg('t', { ttl: 255, maxHops: 0 }), 9, rng(5));
  s.start(0);
  assert.match(s.receive(base, 254, 10).dropped ?? '', /TTL 254 below 255/);
  // A TTL the kernel did not report (0 or −1) passes, as in keepalived.
  assert.equal(s.receive(base, -1, 10).dropped, undefined);
  assert.equal(s.receive(base, 0, 10).dropped, undefined);
  assert.equal(s.receive(base, 255, 10).dropped, undefined);
  const m = new BfdSession(cfg('m', { ttl: 255, maxHops: 2 }), 9, rng(5));
  assert.equal(m.receive(base, 253, 10).dropped, undefined);
  assert.match(m.receive(base, 252, 10).dropped ?? '', /below 253/);
  const any = new BfdSession(cfg('x', { maxHops: 255 }), 9, rng(5));
  assert.equal(any.receive(base, 1, 10).dropped, undefined);
  assert.match(s.receive({ ...base, yourDiscr: 10 }, 255, 20).dropped ?? '', /not ours/);
});

test('Detect Mult 1: each interval is 75–90 % of the negotiated one', () => {
  const s = new BfdSession(cfg('j', { multiplier: 1 }), 3, rng(9));
  const times: number[] = [];
  let now = 0;
  for (const x of s.start(0)) if (x.type === 'send') times.push(now);
  for (let i = 0; i < 200; i++) {
    now = s.nextDeadlineUs();
    for (const x of s.timers(now)) if (x.type === 'send') times.push(now);
  }
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    assert.ok(gap >= 750_000 && gap <= 900_000, `gap ${gap}`);
  }
});
