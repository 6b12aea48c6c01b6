// Rate limiting of per-packet log messages, and held (batched) log lines (src/common/logger.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimited, withHolding } from '../../src/common/logger.js';

test('each key is logged at most once per interval; held-back messages are counted', () => {
  let t = 0;
  const out: string[] = [];
  const log = rateLimited(
    (m) => out.push(m),
    1000,
    () => t,
  );
  log('a', 'first a');
  log('a', 'second a');
  log('b', 'first b');
  t = 999;
  log('a', 'third a');
  t = 1000;
  log('a', 'fourth a');
  log('a', 'fifth a');
  t = 2500;
  log('a', 'sixth a');
  assert.deepEqual(out, [
    'first a',
    'first b',
    'fourth a (2 more since last report)',
    'sixth a (1 more since last report)',
  ]);
});

test('held(): lines logged inside are written after it, in order, with the time they were logged', async () => {
  const out: [string, number][] = [];
  const log = withHolding(
    (line, atMs) => out.push([line, atMs]),
    false,
    () => {},
  );
  log.info('before');
  const t0 = Date.now();
  const r = log.held(() => {
    log.info('one');
    log.detail('hidden without -D');
    log.held(() => log.warn('nested'));
    assert.equal(out.length, 1, 'nothing written while held, nested holds included');
    const until = Date.now() + 5;
    while (Date.now() < until) {
      /* time passes before the flush */
    }
    return 42;
  });
  assert.equal(r, 42);
  assert.deepEqual(
    out.map(([l]) => l),
    ['before', 'one', 'WARNING - nested'],
  );
  assert.ok(out[1]![1] - t0 < 5, 'a held line keeps the time it was logged at, not the flush time');
  assert.throws(() =>
    log.held(() => {
      log.error('then it threw');
      throw new Error('boom');
    }),
  );
  assert.equal(out.at(-1)![0], 'ERROR - then it threw', 'held lines are written even when fn throws');
});
