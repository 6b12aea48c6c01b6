// The µs wake source (src/net/timerfd.ts) and DeadlineTimer on it: absolute CLOCK_MONOTONIC deadlines in the
// daemon's clock, one expiry per arm, disarm, and a precision setTimeout cannot give (ms resolution, rounded up).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { monotonicUs } from '../../src/common/clock.js';
import { DeadlineTimer } from '../../src/daemon/deadline-timer.js';
import { encodeItimerspec, Timerfd } from '../../src/net/timerfd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until `n` expiries were seen (at most 2 s): on a loaded machine the loop may run the sleep's
 * timer before it polls the timerfd, so a fixed sleep would not prove the expiry missing. */
async function expiries(fired: number[], n: number): Promise<number> {
  for (let i = 0; i < 200 && fired.length < n; i++) await sleep(10);
  return fired.length;
}

test('itimerspec encodes an absolute µs deadline as a one-shot {0,0},{sec,nsec}', () => {
  const b = encodeItimerspec(12_345_678_901, new Uint8Array(32));
  const v = new DataView(b.buffer);
  assert.deepEqual(
    [0, 8, 16, 24].map((o) => v.getBigInt64(o, true)),
    [0n, 0n, 12_345n, 678_901_000n],
  );
});

test('timerfd: one expiry per arm, at or after the deadline on the daemon clock; disarm and re-arm', async () => {
  const fired: number[] = [];
  const t = new Timerfd(() => fired.push(monotonicUs()));
  try {
    const at = monotonicUs() + 5_000;
    t.arm(at);
    assert.equal(await expiries(fired, 1), 1);
    assert.ok(fired[0]! >= at, `fired ${at - fired[0]!} µs early`);
    t.arm(monotonicUs() + 5_000);
    t.disarm();
    await sleep(20);
    assert.equal(fired.length, 1, 'a disarmed timer does not fire');
    t.arm(monotonicUs() + 200_000);
    const rearmed = monotonicUs();
    t.arm(rearmed + 3_000); // re-arming replaces the deadline
    assert.equal(await expiries(fired, 2), 2);
    assert.ok(fired[1]! - rearmed < 150_000, 'the new deadline, not the replaced one');
    t.arm(monotonicUs() - 10_000); // already past: fires at once
    assert.equal(await expiries(fired, 3), 3);
  } finally {
    t.close();
  }
  t.arm(monotonicUs()); // after close: ignored, no throw
});

test('DeadlineTimer on the real clock wakes within a fraction of a millisecond, unlike setTimeout', async () => {
  // setTimeout wakes 0–2 ms late (ms resolution, rounded up); that lateness is a slower VRRP failover.
  // Both run interleaved under the same load, so a busy CI machine slows both alike.
  // A statistical figure: up to three rounds, the first that shows the difference passes (a loaded
  // machine can blur one round of 40 wakes; a timerfd path that lost its precision fails all three).
  let last = '';
  for (let round = 0; round < 3; round++) {
    const r = await lateness();
    if (r.ok) return;
    last = r.msg;
  }
  assert.fail(last);
});

async function lateness(): Promise<{ ok: boolean; msg: string }> {
  const lateUs = { timerfd: [] as number[], timeout: [] as number[] };
  for (let i = 0; i < 40; i++) {
    const kind = i % 2 === 0 ? 'timerfd' : 'timeout';
    let at = 0;
    await new Promise<void>((done) => {
      const fire = (now: number) => {
        lateUs[kind].push(now - at);
        t.close();
        done();
      };
      // An injected clock makes DeadlineTimer use setTimeout; the default clock gives it the timerfd.
      const t = kind === 'timerfd' ? new DeadlineTimer(fire) : new DeadlineTimer(fire, { now: monotonicUs });
      at = monotonicUs() + 2_300 + ((i * 137) % 1000);
      t.arm(at);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  assert.ok(Math.min(...lateUs.timerfd) >= 0, 'never early');
  const fd = median(lateUs.timerfd);
  const to = median(lateUs.timeout);
  return { ok: fd < 300 || fd + 150 < to, msg: `median lateness: timerfd ${fd} µs, setTimeout ${to} µs` };
}

test('an idle (disarmed) timerfd does not keep the process alive; an armed one does until it fires', () => {
  const script = `
    import { Timerfd } from ${JSON.stringify(new URL('../../src/net/timerfd.ts', import.meta.url).href)};
    const idle = new Timerfd(() => {});
    const t = new Timerfd(() => { console.log('fired'); });
    t.arm(Number(process.hrtime.bigint() / 1000n) + 50_000);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'fired');
});
