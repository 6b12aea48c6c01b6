import assert from 'node:assert/strict';
import { test } from 'node:test';

test('toolchain runs TypeScript tests', () => {
  assert.equal(typeof structuredClone, 'function');
});
