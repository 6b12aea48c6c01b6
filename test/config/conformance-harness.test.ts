// Checks the conformance harness itself: the stderr normaliser, the case-header directives, and (as root
// with keepalived installed) that the reference run really reports what a known case contains — so a
// broken harness cannot make the conformance test pass vacuously.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CASES_DIR,
  listConformanceCases,
  parseConfigTestStderr,
  readCaseOptions,
  referenceAvailable,
  runReferenceConfigTest,
} from '../helpers/keepalived-ref.js';
import { createLoEth0Netns, isRoot } from '../helpers/netns.js';

describe('parseConfigTestStderr', () => {
  const stderr = [
    "(Line 15) number '0' outside range [0.000001, 4294.967295]",
    "(/etc/keepalived/keepalived.conf: Line 5) Unknown keyword 'bogus'",
    "(parts/10-a.conf: Line 2) Unknown keyword 'x'",
    '(VI_1) State MASTER must match being address owner',
    '',
    'Non-existent interface specified in configuration',
  ].join('\n');
  const r = parseConfigTestStderr(stderr, '/tmp/case/keepalived.conf');

  test('maps bare (Line N) to the main file and FILE to its basename', () => {
    assert.deepEqual([...r.flaggedLines].sort(), ['10-a.conf:2', 'keepalived.conf:15', 'keepalived.conf:5']);
  });

  test('keeps message text and the file as printed', () => {
    assert.deepEqual(r.messages[0], {
      file: null,
      line: 15,
      text: "number '0' outside range [0.000001, 4294.967295]",
    });
    assert.deepEqual(r.messages[2], { file: 'parts/10-a.conf', line: 2, text: "Unknown keyword 'x'" });
  });

  test('collects messages without a location separately and skips blank lines', () => {
    assert.deepEqual(r.unlocated, [
      '(VI_1) State MASTER must match being address owner',
      'Non-existent interface specified in configuration',
    ]);
  });

  test('a message whose text merely contains "Line" is not located', () => {
    const x = parseConfigTestStderr('Warning (Line 3) later in text\n', '/a/k.conf');
    assert.equal(x.flaggedLines.size, 0);
    assert.equal(x.unlocated.length, 1);
  });
});

describe('case directives and listing', () => {
  test('reads config id and environment from the header', () => {
    assert.deepEqual(readCaseOptions(join(CASES_DIR, 'cond-at-id.conf')), { configId: 'high' });
    assert.deepEqual(readCaseOptions(join(CASES_DIR, 'def-env.conf')), {
      env: { KATS_IFACE: 'eth0', KATS_BAD: 'bogus_from_env' },
      referenceDiffers: 'keepalived 2.2.7 has no ${_ENV} (added in 2.3); it splits the line at its braces',
      expectExit: 5,
      expectLines: ['def-env.conf:11'],
    });
    assert.ok(readCaseOptions(join(CASES_DIR, 'ref-crash-http-get-no-url.conf')).referenceCrashes);
  });

  test('multi-file cases use NAME/keepalived.conf; every case name is unique', () => {
    const cases = listConformanceCases();
    const glob = cases.find((c) => c.name === 'case/inc-glob');
    assert.equal(glob?.file, join(CASES_DIR, 'inc-glob', 'keepalived.conf'));
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  });
});

const refSkip = !isRoot() ? 'needs root' : !referenceAvailable() ? 'keepalived not installed' : undefined;

describe('reference runs through the harness', { skip: refSkip }, () => {
  let ns = '';
  let close = (): void => {};
  before(() => {
    ({ ns, close } = createLoEth0Netns('confh'));
  });
  after(() => close());

  test('a clean configuration exits 0 with nothing flagged', async () => {
    const r = await runReferenceConfigTest(ns, join(CASES_DIR, 'lex-good-minimal.conf'));
    assert.equal(r.exitCode, 0, r.rawStderr);
    assert.equal(r.flaggedLines.size, 0);
  });

  test('unknown keywords are flagged at their lines, exit 5', async () => {
    const r = await runReferenceConfigTest(ns, join(CASES_DIR, 'lex-unknown-keyword-nested.conf'));
    assert.equal(r.exitCode, 5);
    const f = 'lex-unknown-keyword-nested.conf';
    assert.deepEqual([...r.flaggedLines].sort(), [3, 10, 14, 25, 28, 31].map((n) => `${f}:${n}`).sort());
  });

  test('-i selects @ID lines', async () => {
    const file = join(CASES_DIR, 'cond-at-id.conf');
    const withHigh = await runReferenceConfigTest(ns, file, { configId: 'high' });
    const withLow = await runReferenceConfigTest(ns, file, { configId: 'low' });
    assert.deepEqual([...withHigh.flaggedLines], ['cond-at-id.conf:10']);
    assert.deepEqual([...withLow.flaggedLines], ['cond-at-id.conf:9']);
  });

  test('the eth9 interface does not exist in the namespace but eth0 does', async () => {
    const r = await runReferenceConfigTest(ns, join(CASES_DIR, 'val-unknown-interface.conf'));
    assert.ok(
      r.messages.some((m) => m.line === 4 && m.text.includes('interface eth9')),
      r.rawStderr,
    );
    assert.ok(!r.rawStderr.includes('interface eth0 for'), r.rawStderr);
  });
});
