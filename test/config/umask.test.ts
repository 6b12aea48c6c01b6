// global_defs `umask` and `-u`: the values keepalived 2.2.7 takes and its words for those it refuses (each
// seen with `keepalived -t`; docs/keepalived-semantics.md, "File modes and umask"). The daemon side (the
// modes of the files it creates, beside 2.2.7's) is test/daemon/umask.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readCNumber, readNumericMask } from '../../src/common/file-mask.js';
import { loadConfig } from '../../src/config/load.js';
import { parseArgs } from '../../src/daemon/cli.js';

const dir = mkdtempSync(join(tmpdir(), `kats-umask-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** `umask ARGS` in global_defs (line 2): the mask read, the messages, the -t exit code. */
function read(args: string, umaskFromCli = false) {
  const file = join(dir, `u${n++}.conf`);
  writeFileSync(file, `global_defs {\n  umask ${args}\n}\n`);
  const { config, diag } = loadConfig(file, {
    configId: 'x',
    env: {},
    ...(umaskFromCli ? { umaskFromCli } : {}),
  });
  return {
    umask: config.globalDefs.umask,
    messages: diag.list.map((d) => diag.format(d)),
    exit: diag.exitCode(),
  };
}

describe('global_defs umask', () => {
  test('numbers: octal with a leading 0, decimal, hex; 0 to 0777', () => {
    for (const [arg, want] of [
      ['022', 0o22],
      ['0022', 0o22],
      ['18', 0o22],
      ['0x12', 0o22],
      ['0', 0],
      ['0777', 0o777],
      ['077', 0o77],
    ] as const) {
      const r = read(arg);
      assert.deepEqual(r, { umask: want, messages: [], exit: 0 }, arg);
    }
  });

  test('bits joined by |, in one word or several', () => {
    for (const [arg, want] of [
      ['IWGRP|IWOTH', 0o22],
      ['IWGRP | IWOTH', 0o22],
      ['IWGRP |IWOTH', 0o22],
      ['IXUSR|IRWXG', undefined],
      ['IRUSR|IWUSR|IXUSR|IRGRP|IWGRP|IXGRP|IROTH|IWOTH|IXOTH', 0o777],
      ['IXOTH', 0o1],
    ] as const) {
      const r = read(arg);
      if (want === undefined) assert.equal(r.exit, 5, arg);
      else assert.deepEqual(r, { umask: want, messages: [], exit: 0 }, arg);
    }
  });

  test("refused values: 2.2.7's message on the line, exit 5, no mask", () => {
    for (const [arg, message] of [
      ['01000', 'invalid umask value 01000'],
      ['08', 'invalid umask value 08'],
      ['022x', 'invalid umask value 022x'],
      ['022 033', 'Extra parameter(s) to umask option'],
      ['abc', 'Unknown umask bit abc'],
      ['-1', 'Unknown umask bit -1'],
      ['iwgrp', 'Unknown umask bit iwgrp'],
      ['IRWXG', 'Unknown umask bit IRWXG'],
      ['|IWGRP', 'Unknown umask bit |IWGRP'],
      ['IWGRP||IWOTH', 'Unknown umask bit |IWOTH'],
      ['IWGRP IWOTH', 'Invalid umask syntax IWOTH'],
      ['IWGRPX', 'Invalid umask syntax IWGRPX'],
      ['IWGRP|', 'umask missing bit value'],
    ] as const) {
      const r = read(arg);
      assert.deepEqual(r, { umask: undefined, messages: [`(Line 2) ${message}`], exit: 5 }, arg);
    }
  });

  test('without a value: the parse stops (exit 2)', () => {
    const r = read('');
    assert.equal(r.exit, 2);
    assert.match(r.messages[0]!, /missing a parameter after keyword `umask`/);
  });

  test('with -u the keyword is not read: a note, even for a value it would refuse', () => {
    for (const arg of ['022', 'bogus']) {
      const r = read(arg, true);
      assert.equal(r.umask, undefined);
      assert.equal(r.exit, 0);
      assert.match(
        r.messages[0]!,
        /^note: .*:2: umask command line option specified, ignoring config option$/,
      );
    }
  });
});

describe('-u / --umask', () => {
  test('a number as strtol reads it, 0 to 0777', () => {
    for (const [argv, want] of [
      [['-u', '022'], 0o22],
      [['-u022'], 0o22],
      [['--umask=0x1ff'], 0o777],
      [['--umask', '18'], 0o22],
      [['-u', '0'], 0],
    ] as const) {
      const r = parseArgs([...argv]);
      assert.ok(r.ok);
      assert.equal(r.options.umask, want, argv.join(' '));
      assert.equal(r.options.umaskError, undefined);
    }
  });

  test("a refused value: 2.2.7's message, the run goes on without a mask from the command line", () => {
    for (const v of ['bad', '0999', '01000', '-1', 'IWGRP']) {
      const r = parseArgs(['-u', v, '-t']);
      assert.ok(r.ok);
      assert.equal(r.options.umask, undefined);
      assert.equal(r.options.umaskError, `Invalid --umask option ${v}`);
      assert.equal(r.options.configTest, true);
    }
  });

  test('without its argument: an error', () => {
    const r = parseArgs(['-u']);
    assert.equal(r.ok, false);
  });

  test('readCNumber: whole-string strtol, base 0', () => {
    assert.equal(readCNumber(' 022'), 0o22);
    assert.equal(readCNumber('+18'), 18);
    assert.equal(readCNumber('-7'), -7);
    assert.equal(readCNumber(''), 0);
    assert.equal(readCNumber('0x'), null);
    assert.equal(readCNumber('09'), null);
    assert.equal(readNumericMask('1000'), null);
    assert.equal(readNumericMask('511'), 0o777);
  });
});
