// The manual pages are generated from the code (scripts/gen-man.ts): the checked-in pages must equal a fresh
// generation, cover every option and keyword, and render without a single groff warning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMAND_USAGES, MAN_FILES, manPage5, manPage8 } from '../../scripts/gen-man.js';
import { emptyConfig } from '../../src/config/model.js';
import type { KeywordTable } from '../../src/config/parser.js';
import { rootKeywords } from '../../src/config/schema/root.js';
import { SPECS, USAGE } from '../../src/daemon/cli.js';

const ROOT = join(import.meta.dirname, '../..');
const hasMan = spawnSync('man', ['--version'], { stdio: 'ignore' }).status === 0;

test('the checked-in man pages are what scripts/gen-man.ts generates now (npm run man)', () => {
  for (const [file, make] of Object.entries(MAN_FILES))
    assert.equal(readFileSync(join(ROOT, file), 'utf8'), make(), `${file} is stale: run npm run man`);
});

test('keepalived-ts(8) names every option of the command-line table', () => {
  const page = manPage8();
  for (const s of SPECS) {
    assert.ok(page.includes(`\\-\\-${s.long.replace(/-/g, '\\-')}`), `--${s.long} missing`);
    if (s.short) assert.ok(page.includes(`\\fB\\-${s.short}\\fR`), `-${s.short} missing`);
  }
  // An option that only exists for keepalived's command lines and changes nothing says so.
  assert.match(page, /\\-\\-snmp\\fR\n[^\n]*changes nothing/);
});

test('keepalived-ts(8) has every command --help names, with its options', () => {
  const page = manPage8();
  const roff = (x: string) => x.replace(/-/g, '\\-');
  // Every `keepalived-ts NAME` of the daemon's usage text has a usage text of its own that the page is made from.
  const named = [...USAGE.matchAll(/^\s+keepalived-ts (\w+)/gm)].map((m) => m[1]!);
  assert.ok(named.includes('status'), 'USAGE no longer names keepalived-ts status');
  for (const name of named) {
    const usage = COMMAND_USAGES.find((u) => u.startsWith(`Usage: keepalived-ts ${name} `));
    assert.ok(usage, `keepalived-ts ${name}: no usage text in COMMAND_USAGES (scripts/gen-man.ts)`);
    assert.ok(page.includes(`.B keepalived\\-ts ${roff(name)}\n`), `keepalived-ts ${name} not in SYNOPSIS`);
    assert.ok(page.includes(`.SS keepalived\\-ts ${roff(name)}\n`), `keepalived-ts ${name} has no section`);
    for (const opt of usage.matchAll(/^\s+(--?[\w-]+)/gm))
      assert.ok(page.includes(`\\fB${roff(opt[1]!)}`), `keepalived-ts ${name} ${opt[1]} missing`);
  }
});

test('keepalived-ts.conf(5) has every keyword of every block, with ranges, defaults and what is not run', () => {
  const page = manPage5();
  // Walk the schema independently of the generator and look for every keyword in its section.
  const sections = page.split('\n.SS ');
  const sectionOf = (path: string[]) =>
    sections.find((s) => s.startsWith(`${path.length === 0 ? 'Top level' : path.join(' > ')}\n`));
  let count = 0;
  const visit = (table: KeywordTable, path: string[]) => {
    const text = sectionOf(path);
    assert.ok(text, `no section for ${path.join(' > ') || 'the top level'}`);
    for (const [name, def] of Object.entries(table)) {
      count++;
      const n = `\\fB${name.replace(/-/g, '\\-')}`;
      assert.ok(
        text.includes(`${n} `) || text.includes(`${n}\\fR`),
        `${[...path, name].join(' > ')} missing`,
      );
      if (def.block && !path.includes(name)) visit(def.block.keywords(), [...path, name]);
    }
  };
  visit(rootKeywords(emptyConfig()), []);
  assert.ok(count > 300, `only ${count} keywords`);
  // A range and a default read from the schema (the int builder; the field of a fresh vrrp_script).
  assert.match(sectionOf(['vrrp_script']) ?? '', /\\fBrise \\fIINTEGER\\fR\nRange: 1\.\.\d+\.\nDefault: 1\./);
  assert.match(sectionOf(['global_defs']) ?? '', /\\fBenable_snmp_vrrp[^\n]*\n[^\n]*not implemented/);
  assert.match(sectionOf([]) ?? '', /\\fBbfd_instance[^\n]*\nImplemented\./);
  assert.match(
    sectionOf(['bfd_instance']) ?? '',
    /\\fBmin_rx \\fIMILLISECONDS\\fR\nRange: 1\.\.4294967 ms, 3 decimal places\.\nDefault: 0\.01 s\./,
  );
});

test('both pages render with man -l without a warning', {
  skip: hasMan ? false : 'man is not installed',
}, () => {
  for (const file of Object.keys(MAN_FILES)) {
    const r = spawnSync('man', ['--warnings', '-l', join(ROOT, file)], {
      encoding: 'utf8',
      env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100', LC_ALL: 'C.UTF-8' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `${file}: ${r.stderr}`);
    assert.ok(r.stdout.length > 1000, `${file} rendered to almost nothing`);
  }
});
