// The parser never drops input silently: a line holding a word that is no keyword, inserted anywhere in a
// configuration that loads without a diagnostic, is reported at that very line. The two places where
// keepalived itself takes any word as a value are left out: `notification_email` (any text is an address) and
// a sync group's `group` list (an unknown member is reported when the groups are resolved, without a line,
// as keepalived 2.2.7 reports it). Seeds: the keepalived sample corpus and our own config cases.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { CORPUS_DIR } from '../helpers/keepalived-ref.js';

const CASES_DIR = join(import.meta.dirname, '..', 'data', 'config-cases');
const HOST = { interfaces: new Set(['lo', 'eth0']) };
const WORD = 'zz_not_a_keyword';
const VALUE_LISTS = new Set(['notification_email', 'group']);

const dir = mkdtempSync(join(tmpdir(), 'kats-no-silent-loss-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function load(file: string) {
  const r = loadConfig(file, { configId: 'fuzz', env: {} });
  validateConfig(r.config, r.diag, { host: HOST });
  return r;
}

/** The keyword of the innermost block open before line `at` (0-based), or '' at the top level. */
function enclosingBlock(lines: readonly string[], at: number): string {
  const stack: string[] = [];
  for (const raw of lines.slice(0, at)) {
    const text = raw.replace(/[#!].*$/, '').trim();
    const head = text.split(/\s+/)[0] ?? '';
    for (const ch of text) {
      if (ch === '{') stack.push(head);
      else if (ch === '}') stack.pop();
    }
  }
  return stack.at(-1) ?? '';
}

/** Files that load clean (no diagnostic at all), with their lines. */
const clean = [
  ...(existsSync(CORPUS_DIR) ? readdirSync(CORPUS_DIR).map((n) => join(CORPUS_DIR, n)) : []),
  ...readdirSync(CASES_DIR)
    .filter((n) => n.endsWith('.conf'))
    .map((n) => join(CASES_DIR, n)),
]
  .sort()
  .filter((f) => load(f).diag.list.length === 0)
  .map((f) => ({ name: f, lines: readFileSync(f, 'latin1').split('\n') }));

test('an unknown word inserted on a line of its own is reported at that line', () => {
  assert.ok(clean.length >= 20, `only ${clean.length} clean seed files`);
  let checked = 0;
  fc.assert(
    fc.property(fc.nat({ max: clean.length - 1 }), fc.nat(), (which, pos) => {
      const { name, lines } = clean[which]!;
      const at = pos % (lines.length + 1);
      if (VALUE_LISTS.has(enclosingBlock(lines, at))) return;
      // After a line ending in a backslash the word would continue a multi-line definition.
      if (at > 0 && lines[at - 1]!.trimEnd().endsWith('\\')) return;
      const file = join(dir, 'keepalived.conf');
      writeFileSync(file, [...lines.slice(0, at), `  ${WORD}`, ...lines.slice(at)].join('\n'), 'latin1');
      const r = load(file);
      const here = r.diag.list.filter((d) => d.pos?.file === file && d.pos.line === at + 1);
      assert.ok(
        here.length > 0,
        `${name}: nothing reported at line ${at + 1} (${r.diag.list.length} others)`,
      );
      checked++;
    }),
    { seed: 20261206, numRuns: 400 },
  );
  assert.ok(checked > 300, `only ${checked} insertions checked`);
});
