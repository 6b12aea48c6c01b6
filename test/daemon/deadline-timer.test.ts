// The single engine timer (src/daemon/deadline-timer.ts): fires once, never before its µs deadline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monotonicUs } from '../../src/daemon/clock.js';
import { DeadlineTimer } from '../../src/daemon/deadline-timer.js';

test('fires once at or after the deadline, with the time it fired', async () => {
  const fired: { atUs: number; nowUs: number }[] = [];
  let armed = 0;
  let done: () => void = () => {};
  const firedOnce = new Promise<void>((r) => {
    done = r;
  });
  const t = new DeadlineTimer((nowUs) => {
    fired.push({ atUs: armed, nowUs });
    done();
  });
  armed = monotonicUs() + 15_500;
  t.arm(armed);
  assert.equal(t.armedAtUs, armed);
  await firedOnce;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired.length, 1);
  assert.ok(fired[0]!.nowUs >= fired[0]!.atUs, 'never early');
  assert.equal(t.armedAtUs, null);
});

test('re-arming replaces the deadline; null disarms', async () => {
  let count = 0;
  const t = new DeadlineTimer(() => count++);
  t.arm(monotonicUs() + 10_000);
  t.arm(monotonicUs() + 200_000); // later deadline replaces the earlier one
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(count, 0);
  t.arm(null);
  assert.equal(t.armedAtUs, null);
  t.arm(monotonicUs() - 1000); // already due: fires on the next turn
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(count, 1);
  t.cancel();
});

test('an early wake (clock before the deadline) re-arms instead of firing', async () => {
  let fake = 0;
  let count = 0;
  const t = new DeadlineTimer(
    () => count++,
    () => fake,
  );
  t.arm(5_000); // 5 ms by the fake clock; the fake clock does not move
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(count, 0, 'the clock says 0 µs: not due');
  fake = 5_000;
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(count, 1);
});

test('after a stall, packets already waiting are handled before a due deadline fires', async () => {
  // A backup's down timer and its master's advert both become "ready" during a stall. The advert
  // must be read first (it re-arms the timer), or the backup would flap to MASTER for nothing.
  const { createSocket } = await import('node:dgram');
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const order: string[] = [];
  const t = new DeadlineTimer(() => order.push('timer fired'));
  sock.on('message', () => {
    order.push('packet');
    t.arm(monotonicUs() + 1_000_000); // the advert pushes the down timer out
  });
  t.arm(monotonicUs() + 5_000);
  sock.send(Buffer.from('advert'), sock.address().port, '127.0.0.1');
  const until = Date.now() + 40; // the stall: both the deadline and the packet are now due
  while (Date.now() < until) {
    /* busy */
  }
  await new Promise((r) => setTimeout(r, 30));
  t.cancel();
  sock.close();
  assert.deepEqual(order, ['packet']);
});
