// The log output is a bounded buffer (src/common/logger.ts boundedWriter, docs/hostile-network.md): when
// nobody reads it, lines beyond the bound are dropped and counted — never queued in memory without limit —
// and the count is written once the output drains. Checked on a Writable that holds its writes, and on a
// real daemon logger writing to a pipe that its reader stops reading.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { boundedWriter, LOG_BUFFER_BYTES } from '../../src/common/logger.js';

/** A Writable whose writes complete only when the test releases them (a reader that stalled). */
function stalledStream(): { stream: Writable; written: string[]; release: () => void } {
  const written: string[] = [];
  let held: (() => void)[] = [];
  let stalled = true;
  const stream = new Writable({
    highWaterMark: 1024,
    decodeStrings: false,
    write(chunk: string, _enc, cb) {
      written.push(chunk);
      if (stalled) held.push(() => cb());
      else cb();
    },
  });
  return {
    stream,
    written,
    release: () => {
      stalled = false;
      const h = held;
      held = [];
      for (const cb of h) cb();
    },
  };
}

test('beyond the bound lines are dropped and counted; the count is written when the stream drains', async () => {
  const { stream, written, release } = stalledStream();
  const w = boundedWriter(stream, 4096, (n) => `dropped ${n}\n`);
  const line = `${'x'.repeat(99)}\n`;
  for (let k = 0; k < 1000; k++) w.write(line);
  // The stream holds the first write in progress and buffers the rest up to just over the bound.
  assert.ok(stream.writableLength <= 4096 + line.length, `${stream.writableLength}`);
  const kept = Math.ceil(4097 / line.length);
  assert.equal(w.droppedTotal, 1000 - kept);
  release();
  await new Promise((r) => setImmediate(r));
  assert.equal(written.filter((c) => c === line).length, kept);
  assert.equal(written.at(-1), `dropped ${1000 - kept}\n`);
  // Flowing again: nothing more is dropped, and the report is not repeated.
  w.write(line);
  await new Promise((r) => setImmediate(r));
  assert.equal(written.at(-1), line);
  assert.equal(w.droppedTotal, 1000 - kept);
});

test('a stream that keeps up never drops', () => {
  const written: string[] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  const w = boundedWriter(stream, 4096, (n) => `dropped ${n}\n`);
  for (let k = 0; k < 10_000; k++) w.write('line\n');
  assert.equal(w.droppedTotal, 0);
  assert.equal(written.length, 10_000);
});

// The daemon's console logger (-l) in a child whose stderr pipe the test stops reading: 40,000 lines of
// ~200 bytes (8 MB). Unbounded, the child queued all of it (measured before the bound: 20 MB unwritten
// after 100,000 lines); now it holds at most LOG_BUFFER_BYTES and reports what it dropped once read again.
test('the console logger writing to a pipe nobody reads holds a bounded amount and reports the drop', {
  timeout: 30_000,
}, async () => {
  const script = `
    import { createLogger } from ${JSON.stringify(resolve(import.meta.dirname, '../../src/common/logger.ts'))};
    const log = createLogger({ console: true, detail: false });
    let most = 0;
    for (let k = 0; k < 40000; k++) {
      log.info('line ' + k + ' ' + 'y'.repeat(180));
      most = Math.max(most, process.stderr.writableLength);
    }
    process.stdout.write(JSON.stringify({ most }) + '\\n');
    const wait = () => (process.stderr.writableLength > 0 ? setTimeout(wait, 10) : process.exit(0));
    wait();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    child.stderr.pause();
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // Not reading stderr until the child has logged everything.
    while (!out.includes('\n')) {
      if (child.exitCode !== null) throw new Error(`child exited early: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { most } = JSON.parse(out) as { most: number };
    assert.ok(most <= LOG_BUFFER_BYTES + 512, `unwritten bytes peaked at ${most}`);
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stderr.resume();
    await new Promise((r) => child.once('exit', r));
    const lines = err.split('\n').filter((l) => / line \d+ /.test(l));
    const report = /WARNING - (\d+) log line\(s\) dropped/.exec(err);
    assert.ok(report, err.slice(-500));
    assert.ok(lines.length < 40_000, `${lines.length} lines arrived`);
    assert.equal(Number(report[1]), 40_000 - lines.length);
  } finally {
    child.kill('SIGKILL');
  }
});
