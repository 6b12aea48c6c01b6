// Recorded conformance cases (issue 16): each folder here holds a run of keepalived-ts's VRRP engine recorded
// with --record-events (README.md says which run); the inputs are fed to a fresh engine and every output must
// be the recorded one. KATS_REWRITE_CONFORMANCE=1 rewrites each case's outputs from the engine as it is now —
// on purpose, when a change of behaviour is meant; the diff of the files is then the change to review.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rerecord } from '../../src/sim/event-recorder.js';
import { parseJsonLines, type ReplayRecord, replay, toJsonLines } from '../../src/vrrp/fsm-replay.js';

const HERE = import.meta.dirname;
const REWRITE = process.env.KATS_REWRITE_CONFORMANCE === '1';

function load(file: string): ReplayRecord[] {
  const parsed = parseJsonLines(readFileSync(file, 'utf8'));
  assert.ok(parsed.ok, `${file}: ${parsed.ok ? '' : `${parsed.code} at line ${parsed.line}`}`);
  return parsed.records;
}

const cases = readdirSync(HERE, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(HERE, d.name, 'events.jsonl')))
  .map((d) => d.name)
  .sort();

describe('recorded conformance cases replay exactly', () => {
  test('there are cases', () => assert.ok(cases.length >= 3, cases.join(', ')));
  for (const name of cases)
    test(name, () => {
      const file = join(HERE, name, 'events.jsonl');
      const records = load(file);
      if (REWRITE) {
        writeFileSync(file, toJsonLines(rerecord(records)));
        return;
      }
      const r = replay(records);
      assert.ok(
        r.ok,
        r.ok
          ? ''
          : `${r.code} at record ${r.index + 1}\n  recorded: ${JSON.stringify(r.expected)}\n  now:      ${JSON.stringify(r.actual)}`,
      );
      assert.ok(r.inputs > 3);
    });

  test('a changed output is caught', () => {
    const records = load(join(HERE, 'keepalived-v2-takeover', 'events.jsonl'));
    const k = records.findIndex((x) => x.kind === 'out' && x.actions.some((a) => a.type === 'stateChange'));
    const out = records[k] as Extract<ReplayRecord, { kind: 'out' }>;
    records[k] = { kind: 'out', actions: out.actions.slice(1) };
    const r = replay(records);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? -1 : r.index, k);
  });
});
