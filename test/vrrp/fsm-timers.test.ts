// Skew_Time and Master_Down_Interval in integer microseconds (RFC 3768 §6.1, RFC 9568 §6.1, keepalived
// VRRP_TIMER_SKEW / VRRP_MS_DOWN_TIMER). Expected values are worked out by hand in the comments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { earliestTimer, emptyTimerTable, masterDownIntervalUs, skewTimeUs } from '../../src/vrrp/timers.js';

test('v2 skew is (256 − p)/256 s whatever the advert interval', () => {
  // (256 − 100) × 1e6 / 256 = 609375 exactly.
  assert.equal(skewTimeUs(2, 100, 100), 609_375);
  assert.equal(skewTimeUs(2, 100, 500), 609_375);
  // (256 − 254) × 1e6 / 256 = 7812.5 → floored to 7812 µs (integer division, as keepalived).
  assert.equal(skewTimeUs(2, 254, 100), 7_812);
  // (256 − 1) × 1e6 / 256 = 996093.75 → 996093.
  assert.equal(skewTimeUs(2, 1, 100), 996_093);
  // The owner: (256 − 255) × 1e6 / 256 = 3906.25 → 3906.
  assert.equal(skewTimeUs(2, 255, 100), 3_906);
});

test('v3 skew scales with Master_Adver_Interval', () => {
  // (256 − 100) × 100 cs × 10000 µs/cs / 256 = 609375.
  assert.equal(skewTimeUs(3, 100, 100), 609_375);
  // 10 cs: 156 × 100000 / 256 = 60937.5 → 60937.
  assert.equal(skewTimeUs(3, 100, 10), 60_937);
  // 1 cs, priority 254: 2 × 10000 / 256 = 78.125 → 78.
  assert.equal(skewTimeUs(3, 254, 1), 78);
  // 4095 cs (the 12-bit maximum), priority 1: 255 × 40950000 / 256 = 40790039.0625 → 40790039.
  assert.equal(skewTimeUs(3, 1, 4095), 40_790_039);
});

test('Master_Down_Interval = down_timer_adverts × interval + skew', () => {
  // v2, 1 s, priority 100: 3 s + 609375 µs.
  assert.equal(masterDownIntervalUs(2, 100, 100, 3), 3_609_375);
  // v3, 10 ms, priority 200: 3 × 10000 + 56 × 100000/256 (= 21875) = 51875.
  assert.equal(masterDownIntervalUs(3, 200, 1, 3), 30_000 + 2_187);
  assert.equal(masterDownIntervalUs(3, 200, 10, 3), 300_000 + 21_875);
  // keepalived down_timer_adverts 5 (a deviation from the RFC value 3).
  assert.equal(masterDownIntervalUs(2, 100, 200, 5), 10_000_000 + 609_375);
});

test('earliestTimer picks the smallest deadline, ties in a fixed order', () => {
  const t = emptyTimerTable();
  assert.equal(earliestTimer(t), null);
  t.garpRefresh = 50;
  t.advert = 50;
  t.garpDelay = 70;
  assert.deepEqual(earliestTimer(t), { timer: 'advert', atUs: 50 });
  t.masterDown = 10;
  assert.deepEqual(earliestTimer(t), { timer: 'masterDown', atUs: 10 });
});
