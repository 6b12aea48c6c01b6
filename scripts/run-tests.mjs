#!/usr/bin/env node
// Finds every test/**/*.test.ts and runs them with node's built-in test runner through tsx.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
// The spec reporter is for people; a TAP copy is read back so that the very last line is the
// summary CI looks for ("N passed, N failed"), even though the spec reporter prints its list of
// failing (and todo) tests after its own summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrerequisites } from './prerequisites.mjs';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name === 'data' || name === 'fixtures') continue;
      out.push(...findTests(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// Debian packages the network tests need: installed here when missing and we are root (prerequisites.mjs).
ensurePrerequisites();

const filters = process.argv.slice(2);
const files = findTests('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const tapDir = mkdtempSync(join(tmpdir(), 'kats-tap-'));
const tapFile = join(tapDir, 'run.tap');
// Network-namespace tests are heavy and share the kernel: run files two at a time.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
let summary = null;
try {
  const tap = readFileSync(tapFile, 'utf8');
  const num = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tap)?.[1] ?? Number.NaN);
  summary = { pass: num('pass'), fail: num('fail'), skipped: num('skipped'), todo: num('todo') };
} catch {
  /* no TAP: the runner died; the exit status says so */
}
rmSync(tapDir, { recursive: true, force: true });
if (summary) {
  console.log(`\ntodo ${summary.todo}, skipped ${summary.skipped}`);
  console.log(`${summary.pass} passed, ${summary.fail} failed`);
}
process.exit(r.status ?? 1);
