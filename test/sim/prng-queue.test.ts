// The simulator's building blocks: the seeded PRNG and the event queue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventQueue } from '../../src/sim/event-queue.js';
import { MasterLog } from '../../src/sim/master-log.js';
import { Prng } from '../../src/sim/prng.js';

test('the PRNG replays from its seed and differs between seeds', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const sa = Array.from({ length: 100 }, () => a.nextU32());
  const sb = Array.from({ length: 100 }, () => b.nextU32());
  const sc = Array.from({ length: 100 }, () => c.nextU32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  assert.ok(sa.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
});

test('PRNG output is roughly uniform', () => {
  const r = new Prng(1);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) buckets[r.int(10)]!++;
  for (const n of buckets) assert.ok(n > 9_500 && n < 10_500, `bucket ${n}`);
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (r.chance(0.25)) hits++;
  assert.ok(hits > 24_000 && hits < 26_000, `chance(0.25) hit ${hits}`);
});

test('the queue pops by time, and by insertion order at equal times', () => {
  const q = new EventQueue<string>();
  const r = new Prng(9);
  const pushed: Array<[number, string]> = [];
  for (let i = 0; i < 500; i++) {
    const t = r.int(50);
    q.push(t, `e${i}`);
    pushed.push([t, `e${i}`]);
  }
  const expected = pushed
    .map(([t, id], i) => ({ t, id, i }))
    .sort((x, y) => x.t - y.t || x.i - y.i)
    .map((x) => x.id);
  const got: string[] = [];
  for (let e = q.pop(); e; e = q.pop()) got.push(e.item);
  assert.deepEqual(got, expected);
});

test('MasterLog reports overlapping masterships, not hand-overs at the same instant', () => {
  const log = new MasterLog();
  log.begin('k', 'a', 0);
  log.end('k', 'a', 100);
  log.begin('k', 'b', 100);
  log.begin('k', 'a', 150);
  log.end('k', 'b', 180);
  assert.deepEqual(log.overlaps('k', 1_000), [{ fromUs: 150, toUs: 180, routers: ['a', 'b'] }]);
  assert.deepEqual(log.currentMasters('k'), ['a']);
});
