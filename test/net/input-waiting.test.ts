// InputWaiting (src/net/input-waiting.ts): one poll(2) over descriptors says whether anything waits to be
// read — the check the engine timer makes before firing a due deadline without a loop turn.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodePollfds, InputWaiting } from '../../src/net/input-waiting.js';

test('struct pollfd layout: fd, POLLIN, revents zero, 8 bytes each', () => {
  const b = encodePollfds([3, 70000]);
  assert.equal(b.length, 16);
  const v = new DataView(b.buffer);
  assert.equal(v.getInt32(0, true), 3);
  assert.equal(v.getInt16(4, true), 1);
  assert.equal(v.getInt16(6, true), 0);
  assert.equal(v.getInt32(8, true), 70000);
  assert.equal(v.getInt16(12, true), 1);
});

test('reports data waiting on any descriptor, and nothing once it is read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-poll-'));
  const fifo = join(dir, 'f');
  execFileSync('mkfifo', [fifo]);
  // O_RDWR on a FIFO opens without waiting for a peer (Linux); both ends in one descriptor.
  const a = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const fifo2 = join(dir, 'g');
  execFileSync('mkfifo', [fifo2]);
  const b = openSync(fifo2, constants.O_RDWR | constants.O_NONBLOCK);
  try {
    let fds = [a, b];
    const waiting = new InputWaiting(() => fds);
    assert.equal(waiting.any(), false, 'nothing written yet');
    writeSync(b, 'x');
    assert.equal(waiting.any(), true, 'a byte waits on the second descriptor');
    readSync(b, Buffer.alloc(1));
    assert.equal(waiting.any(), false, 'read again');
    writeSync(a, 'y');
    fds = [b];
    assert.equal(waiting.any(), false, 'a new list is followed: only b is asked');
    fds = [];
    assert.equal(waiting.any(), false, 'no descriptors: nothing waits');
  } finally {
    closeSync(a);
    closeSync(b);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a descriptor the kernel rejects counts as input waiting (the safe answer)', () => {
  // poll(2) reports POLLNVAL for a closed descriptor: a nonzero count.
  const waiting = new InputWaiting(() => [987_654]);
  assert.equal(waiting.any(), true);
});
