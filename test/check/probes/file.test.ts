// FILE_CHECK: the strtol-like reading of the file, keepalived's weight / reverse rules, and the watch (a
// write, a rename over the file, a removal reach onChange without polling; close() stops it).
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ProbeOutcome } from '../../../src/check/probe.js';
import { FileProbe, fileVerdict, parseFileValue } from '../../../src/check/probes/file.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('FILE_CHECK reading and verdict (pure)', () => {
  it('reads numbers as strtol(text, NULL, 0) does', () => {
    const cases: [string, number | null][] = [
      ['12', 12],
      [' \t-3\n', -3],
      ['+7 trailing', 7],
      ['0x10', 16],
      ['010', 8],
      ['08', 0],
      ['0x', 0],
      ['abc', 0],
      ['', 0],
      ['2147483648', 2147483648],
      ['-2147483648', -2147483648],
      ['2147483649', null],
      ['99999999999999999999', null],
    ];
    for (const [text, want] of cases) assert.equal(parseFileValue(text), want, JSON.stringify(text));
  });

  it("applies keepalived's weight and reverse rules", () => {
    assert.deepEqual(fileVerdict(0, 0, false), { up: true, weight: 0 });
    assert.deepEqual(fileVerdict(5, 0, false), { up: false });
    assert.deepEqual(fileVerdict(0, 0, true), { up: false });
    assert.deepEqual(fileVerdict(5, 0, true), { up: true, weight: 0 });
    assert.deepEqual(fileVerdict(3, 10, false), { up: true, weight: 30 });
    assert.deepEqual(fileVerdict(3, 10, true), { up: true, weight: -30 });
    assert.deepEqual(fileVerdict(-2147483648, 1, false), { up: false });
    assert.deepEqual(fileVerdict(2147483648, 254, true), { up: false });
    assert.deepEqual(fileVerdict(2147483648, 254, false), { up: true, weight: 2147483647 });
  });
});

function nextChange(p: FileProbe, ms = 3000): Promise<ProbeOutcome> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no change seen')), ms);
    p.onChange((o) => {
      clearTimeout(t);
      resolve(o);
    });
  });
}

describe('FILE_CHECK probe', () => {
  it('follows writes, renames and removal of the file as they happen', async () => {
    const path = join(dir, 'state');
    writeFileSync(path, '0\n');
    const p = new FileProbe('tf', path, 0, false);
    assert.ok(p.watching);
    assert.equal((await p.run(1)).ok, true);

    let change = nextChange(p);
    writeFileSync(path, '1\n');
    const down = await change;
    assert.ok(!down.ok && down.code === 'file-fault' && /tf/.test(down.reason), JSON.stringify(down));
    assert.equal((await p.run(1)).ok, false);

    change = nextChange(p);
    writeFileSync(join(dir, 'state.new'), '0\n');
    renameSync(join(dir, 'state.new'), path);
    assert.equal((await change).ok, true);

    writeFileSync(path, '99999999999999\n'); // out of range: ignored, the last value stays
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(p.value, 0);

    writeFileSync(path, '4');
    const end = Date.now() + 3000;
    while ((p.value as number) !== 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(p.value, 4);
    change = nextChange(p);
    unlinkSync(path); // a missing file reads as 0
    assert.equal((await change).ok, true);
    p.close();
  });

  it('reports the weight to add (value × weight, reversed), and nothing after close()', async () => {
    const path = join(dir, 'weight');
    writeFileSync(path, '3');
    const p = new FileProbe('w', path, 10, true);
    const r = await p.run(1);
    assert.ok(r.ok && r.weight === -30, JSON.stringify(r));
    p.close();
    let seen = false;
    p.onChange(() => {
      seen = true;
    });
    writeFileSync(path, '5');
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(seen, false);
    assert.ok(!(await p.run(1)).ok);
  });
});
