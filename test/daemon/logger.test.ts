// Rate limiting of per-packet log messages (src/daemon/logger.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimited } from '../../src/daemon/logger.js';

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
