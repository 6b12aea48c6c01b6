// track_file: the value parser, the config mapping, and a daemon whose priority follows the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrackFile } from '../../src/config/model.js';
import { FileTrackers, parseTrackValue } from '../../src/track/file-trackers.js';
import { quietLog } from '../helpers/quiet-log.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, jsonDumpLine, loneRouter, needsRoot, untilDumped } from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

test('file values: a leading integer, else 0', () => {
  assert.equal(parseTrackValue('42\n'), 42);
  assert.equal(parseTrackValue('  -7 trailing'), -7);
  assert.equal(parseTrackValue('+3'), 3);
  assert.equal(parseTrackValue('x1'), 0);
  assert.equal(parseTrackValue(''), 0);
});

test('the priority follows the tracked file; a big negative value is a FAULT', {
  skip,
  timeout: 20_000,
}, async () => {
  const { r } = loneRouter(
    'dtf',
    'tf',
    (dir) => `
global_defs {
  ${jsonDumpLine(dir)}
}
track_file tf {
  file ${join(dir, 'value')}
  weight 10
  init_file 2
}
${vrrpInstanceConf({ extra: 'track_file { tf }' })}`,
    cleanups,
  );
  const valueFile = join(r.dir, 'value');
  const status = (pred: (s: { effectivePriority: number }) => boolean, what: string) =>
    untilDumped(r, (i) => pred({ effectivePriority: i.data.effective_priority }), 3000, what);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  assert.equal(readFileSync(valueFile, 'utf8').trim(), '2', 'init_file wrote the initial value');
  await status((s) => s.effectivePriority === 120, 'priority 100 + 2 × 10');
  writeFileSync(valueFile, '5\n');
  await status((s) => s.effectivePriority === 150, 'priority 150');
  // Replaced by rename (how most tools write files atomically): still seen.
  writeFileSync(`${valueFile}.tmp`, '-3\n');
  renameSync(`${valueFile}.tmp`, valueFile);
  await status((s) => s.effectivePriority === 70, 'priority 70');
  const m = r.mark();
  writeFileSync(valueFile, '-30\n'); // −300 < −253: FAULT (man5 track_file)
  await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, m);
  writeFileSync(valueFile, '0\n');
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, m);
  await status((s) => s.effectivePriority === 100, 'priority 100');
});

test('a reload of track_files: a kept file keeps being watched, a new one is read and watched, a dropped one is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-tf-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, path: string): TrackFile => ({
    name,
    pos: { file: 'k.conf', line: 1 },
    file: join(dir, path),
    weight: 1,
    reverse: false,
  });
  writeFileSync(join(dir, 'a'), '1\n');
  writeFileSync(join(dir, 'b'), '2\n');
  writeFileSync(join(dir, 'c'), '3\n');
  const seen: string[] = [];
  const t = new FileTrackers(
    [file('a', 'a'), file('b', 'b')],
    (name, value) => seen.push(`${name}=${value}`),
    quietLog,
  );
  try {
    t.start();
    t.reconfigure([
      file('a', 'a'),
      file('c', 'c'),
      { ...file('new', 'n'), initFile: { value: 7, overwrite: false } },
    ]);
    assert.deepEqual(t.values(), [
      { name: 'a', value: 1 },
      { name: 'c', value: 3 },
      { name: 'new', value: 7 },
    ]);
    assert.equal(readFileSync(join(dir, 'n'), 'utf8'), '7\n', 'init_file written for the new tracker');
    writeFileSync(join(dir, 'a'), '10\n');
    writeFileSync(join(dir, 'b'), '20\n');
    writeFileSync(join(dir, 'c'), '30\n');
    const deadline = Date.now() + 3000;
    while (!(seen.includes('a=10') && seen.includes('c=30'))) {
      if (Date.now() > deadline) throw new Error(`no change seen: ${seen.join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!seen.some((s) => s.startsWith('b=')), `the dropped file is not watched: ${seen.join(', ')}`);
  } finally {
    t.stop();
  }
});
