// The line reader end to end: files on disk in, logical lines (text, file, line) out. Covers the order
// of keepalived's preprocessing — physical line checks, comments, @ID conditionals, definitions,
// ~SEQ/~LST, include, brace splitting — and that every produced line keeps the place it came from.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { LineReader, type ReaderOptions } from '../../src/config/reader.js';

let root = '';
let caseNo = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'kats-reader-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

interface Read {
  /** `basename:line text` per logical line. */
  lines: string[];
  texts: string[];
  diag: Diagnostics;
  dir: string;
}

/** Writes the files (the first is the main file) and reads every logical line. */
function read(files: Record<string, string | Buffer>, opts: Partial<ReaderOptions> = {}): Read {
  const dir = join(root, `case-${caseNo++}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const diag = new Diagnostics();
  const reader = new LineReader(join(dir, Object.keys(files)[0]!), diag, {
    configId: 'lb1',
    env: {},
    ...opts,
  });
  const lines: string[] = [];
  const texts: string[] = [];
  for (let l = reader.next(); l; l = reader.next()) {
    lines.push(`${basename(l.file)}:${l.line} ${l.text}`);
    texts.push(l.text);
  }
  return { lines, texts, diag, dir };
}

const codes = (d: Diagnostics) => d.list.map((x) => `${x.code}@${x.pos ? x.pos.line : '-'}`);

describe('physical lines', () => {
  test('braces split a line into logical lines that keep its number', () => {
    const r = read({ 'k.conf': '# c\nvrrp_instance VI_1 {\n  virtual_ipaddress { 192.0.2.1 }\n}\n' });
    assert.deepEqual(r.lines, [
      'k.conf:2 vrrp_instance VI_1',
      'k.conf:2 {',
      'k.conf:3 virtual_ipaddress',
      'k.conf:3 {',
      'k.conf:3 192.0.2.1',
      'k.conf:3 }',
      'k.conf:4 }',
    ]);
    assert.deepEqual(r.diag.list, []);
  });

  test('CR LF endings, blank and comment-only lines', () => {
    const r = read({ 'k.conf': 'a\r\n\r\n   \r\n! x\r\nb # y\r\n' });
    assert.deepEqual(r.lines, ['k.conf:1 a', 'k.conf:5 b']);
  });

  test('a last line without a newline is read', () => {
    assert.deepEqual(read({ 'k.conf': 'a\nb' }).lines, ['k.conf:1 a', 'k.conf:2 b']);
  });

  test('a NUL byte ends the line (noted), the next line is unaffected', () => {
    const r = read({ 'k.conf': Buffer.from('keep\0drop\nnext\n') });
    assert.deepEqual(r.lines, ['k.conf:1 keep', 'k.conf:2 next']);
    assert.deepEqual(codes(r.diag), ['CONFIG_EMBEDDED_NUL@1']);
  });

  test('a line of 1024 bytes or more is dropped with an error; 1023 bytes is fine', () => {
    const r = read({ 'k.conf': `a ${'x'.repeat(1021)}\nb ${'y'.repeat(1022)}\nc\n` });
    assert.deepEqual(r.lines, [`k.conf:1 a ${'x'.repeat(1021)}`, 'k.conf:3 c']);
    assert.deepEqual(codes(r.diag), ['CONFIG_LINE_TOO_LONG@2']);
  });

  test('a file that is not valid UTF-8 passes through byte for byte (latin1, nothing rejected)', () => {
    const r = read({ 'k.conf': Buffer.from([0x61, 0x20, 0xff, 0xc3, 0xa9, 0x0a]) });
    assert.deepEqual(r.texts, ['a \xff\xc3\xa9']);
  });

  test('a UTF-8 file reads as written (Chinese names and words, no mojibake)', () => {
    const r = read({ 'k.conf': 'router_id 主节点 // 标识\nvrrp_instance 实例_1\n' });
    assert.deepEqual(r.texts, ['router_id 主节点 // 标识', 'vrrp_instance 实例_1']);
  });

  test('line length counts UTF-8 bytes: 341 three-byte characters fit, 342 do not', () => {
    const r = read({ 'k.conf': `a ${'中'.repeat(340)}\nb ${'中'.repeat(341)}\nc\n` });
    // 2 + 1020 = 1022 bytes fits; 2 + 1023 = 1025 bytes is over keepalived's 1023.
    assert.deepEqual(r.lines, [`k.conf:1 a ${'中'.repeat(340)}`, 'k.conf:3 c']);
    assert.deepEqual(codes(r.diag), ['CONFIG_LINE_TOO_LONG@2']);
  });

  test('an unterminated double quote is reported at its line', () => {
    const r = read({ 'k.conf': 'ok\nnotify "/bin/x\n' });
    assert.deepEqual(codes(r.diag), ['CONFIG_UNMATCHED_QUOTE@2']);
  });

  test('a missing main file is fatal', () => {
    const diag = new Diagnostics();
    const reader = new LineReader(join(root, 'does-not-exist.conf'), diag, { configId: 'x' });
    assert.equal(reader.next(), null);
    assert.deepEqual(
      diag.list.map((d) => [d.severity, d.code]),
      [['fatal', 'CONFIG_FILE_NOT_FOUND']],
    );
  });
});

describe('@ID conditionals', () => {
  const text = '@lb1 mine\n@lb2 theirs\n@^lb1 not_mine\n@^lb2 not_theirs\n@lb1\n@lb1   spaced  out\n';
  test('with config id lb1', () => {
    assert.deepEqual(read({ 'k.conf': text }).lines, [
      'k.conf:1 mine',
      'k.conf:4 not_theirs',
      'k.conf:6 spaced  out',
    ]);
  });
  test('with config id lb2', () => {
    assert.deepEqual(read({ 'k.conf': text }, { configId: 'lb2' }).texts, ['theirs', 'not_mine']);
  });
});

describe('definitions', () => {
  test('a definition line yields nothing; uses expand in place', () => {
    const r = read({ 'k.conf': '$IF=eth0\ninterface $IF\ninterface ${IF}x\n' });
    assert.deepEqual(r.lines, ['k.conf:2 interface eth0', 'k.conf:3 interface eth0x']);
  });

  test('a definition that expands to a block: braces split, all lines blame the use', () => {
    const r = read({ 'k.conf': '$VIPS=virtual_ipaddress { 192.0.2.1 }\n\n$VIPS\n' });
    assert.deepEqual(r.lines, [
      'k.conf:3 virtual_ipaddress',
      'k.conf:3 {',
      'k.conf:3 192.0.2.1',
      'k.conf:3 }',
    ]);
  });

  test('a multi-line definition used alone yields one logical line per defined line', () => {
    const r = read({ 'k.conf': '$B=a \\\n b \\\n c\nx\n$B\n' });
    assert.deepEqual(r.lines, ['k.conf:4 x', 'k.conf:5 a', 'k.conf:5 b', 'k.conf:5 c']);
  });

  test('${_HASH} and ${_BANG} become literal characters, not comments', () => {
    const r = read({ 'k.conf': 'auth_pass a${_HASH}b${_BANG}c # real comment\n' });
    assert.deepEqual(r.texts, ['auth_pass a#b!c']);
  });

  test('a value that carries a comment character is re-decommented after substitution', () => {
    const r = read({ 'k.conf': '$V=x \\# y\nkw $V\n' });
    assert.deepEqual(r.texts, ['kw x']);
  });

  test('${_ENV}, ${_INSTANCE} and ${_PWD} (the directory of the file being read)', () => {
    const r = read(
      {
        'k.conf': 'a ${_ENV KATS_T} ${_INSTANCE} ${_PWD}\ninclude sub/inner.conf\n',
        'sub/inner.conf': 'b ${_PWD}\n',
      },
      { env: { KATS_T: 'from-env' } },
    );
    assert.deepEqual(r.texts, [`a from-env lb1 ${r.dir}`, `b ${join(r.dir, 'sub')}`]);
  });

  test('a conditional produced by a definition is applied', () => {
    const r = read({ 'k.conf': '$C=@lb2 theirs\n$D=@lb1 mine\n$C\n$D\n' });
    assert.deepEqual(r.texts, ['mine']);
  });

  test('${_RANDOM} is reproducible for a random seed', () => {
    const files = { 'k.conf': '~SEQ(i, 20) r ${_RANDOM 0 1000000}\n' };
    const a = read(files, { randomSeed: 42 }).texts;
    assert.deepEqual(read(files, { randomSeed: 42 }).texts, a);
    assert.notDeepEqual(read(files, { randomSeed: 43 }).texts, a);
    assert.ok(a.every((t) => /^r \d+$/.test(t) && Number(t.slice(2)) <= 1_000_000));
  });
});

describe('~SEQ and ~LST', () => {
  test('every produced line blames the ~ line', () => {
    const r = read({ 'k.conf': 'a\n~SEQ(i, 1, 3) 192.0.2.$i\nb\n' });
    assert.deepEqual(r.lines, [
      'k.conf:1 a',
      'k.conf:2 192.0.2.1',
      'k.conf:2 192.0.2.2',
      'k.conf:2 192.0.2.3',
      'k.conf:3 b',
    ]);
  });

  test('nested ~SEQ and ~LST multiply out in order', () => {
    const r = read({ 'k.conf': '~SEQ(a, 1, 2) ~LST(b, x, y) ${a}${b}\n' });
    assert.deepEqual(r.texts, ['1x', '1y', '2x', '2y']);
  });

  test('~SEQx gives hex values', () => {
    assert.deepEqual(read({ 'k.conf': '~SEQx(i, 9, 11) 2001:db8::${i}\n' }).texts, [
      '2001:db8::9',
      '2001:db8::a',
      '2001:db8::b',
    ]);
  });

  test('a multi-line definition repeated by ~SEQ, itself containing a ~SEQ', () => {
    const r = read({
      'k.conf': '$INST=inst ${i} { \\\n~SEQ(j, 1, 2) vip ${i}.${j} \\\n}\n~SEQ(i, 1, 2) $INST\n',
    });
    assert.deepEqual(r.texts, [
      'inst 1',
      '{',
      'vip 1.1',
      'vip 1.2',
      '}',
      'inst 2',
      '{',
      'vip 2.1',
      'vip 2.2',
      '}',
    ]);
    assert.ok(r.lines.every((l) => l.startsWith('k.conf:4 ')));
  });

  test('the loop variable does not outlive its line', () => {
    assert.deepEqual(read({ 'k.conf': '~SEQ(i, 1) x$i\ny $i\n' }).texts, ['x1', 'y $i']);
  });

  test('a malformed repetition is an error at its line and produces nothing', () => {
    const r = read({ 'k.conf': 'a\n~SEQ(i, 1, x) y\n~LST(v) z\n' });
    assert.deepEqual(r.texts, ['a']);
    assert.deepEqual(codes(r.diag), ['CONFIG_BAD_REPEAT@2', 'CONFIG_BAD_REPEAT@3']);
  });
});

describe('include', () => {
  test('included lines come in place, name their own file, and the include line is consumed', () => {
    const r = read({ 'main.conf': 'before\ninclude part.conf\nafter\n', 'part.conf': 'p1\n\np3\n' });
    assert.deepEqual(r.lines, [
      'main.conf:1 before',
      'part.conf:1 p1',
      'part.conf:3 p3',
      'main.conf:3 after',
    ]);
  });

  test('relative paths resolve against the including file, nested', () => {
    const r = read({
      'main.conf': 'include d1/a.conf\n',
      'd1/a.conf': 'a\ninclude d2/b.conf\n',
      'd1/d2/b.conf': 'b\n',
    });
    assert.deepEqual(r.lines, ['a.conf:1 a', 'b.conf:1 b']);
  });

  test('a glob includes matches in sorted order, hidden files only when named', () => {
    const r = read({
      'main.conf': 'include conf.d/*.conf\n',
      'conf.d/20-b.conf': 'b\n',
      'conf.d/10-a.conf': 'a\n',
      'conf.d/.hidden.conf': 'hidden\n',
      'conf.d/30-c.txt': 'not matched\n',
    });
    assert.deepEqual(r.texts, ['a', 'b']);
  });

  test('brace alternatives include in brace order', () => {
    const r = read({ 'main.conf': 'include {z,a}.conf\n', 'z.conf': 'z\n', 'a.conf': 'a\n' });
    assert.deepEqual(r.texts, ['z', 'a']);
  });

  test('an include inside a block reads the file at that point of the block', () => {
    const r = read({ 'main.conf': 'blk {\ninclude in.conf\n}\n', 'in.conf': 'x\n' });
    assert.deepEqual(r.texts, ['blk', '{', 'x', '}']);
  });

  test('a missing file is an error at the include line and reading goes on', () => {
    const r = read({ 'main.conf': 'a\ninclude nothing-here.conf\nb\n' });
    assert.deepEqual(r.texts, ['a', 'b']);
    assert.deepEqual(codes(r.diag), ['CONFIG_FILE_NOT_FOUND@2']);
  });

  test('a cycle is cut at the include that would loop', () => {
    const r = read({ 'a.conf': 'a1\ninclude b.conf\na3\n', 'b.conf': 'b1\ninclude a.conf\nb3\n' });
    assert.deepEqual(r.lines, ['a.conf:1 a1', 'b.conf:1 b1', 'b.conf:3 b3', 'a.conf:3 a3']);
    assert.deepEqual(
      r.diag.list.map((d) => `${d.code}@${basename(d.pos!.file)}:${d.pos!.line}`),
      ['CONFIG_INCLUDE_CYCLE@b.conf:2'],
    );
  });

  test('directories and executable files are skipped with errors', () => {
    const r = read({
      'main.conf': 'include sub\ninclude run.sh\nz\n',
      'sub/x.conf': 'x\n',
      'run.sh': 'exec\n',
    });
    chmodSync(join(r.dir, 'run.sh'), 0o755);
    const again = new Diagnostics();
    const reader = new LineReader(join(r.dir, 'main.conf'), again, { configId: 'lb1' });
    const texts: string[] = [];
    for (let l = reader.next(); l; l = reader.next()) texts.push(l.text);
    assert.deepEqual(texts, ['z']);
    assert.deepEqual(codes(again), ['CONFIG_INCLUDE_DIRECTORY@1', 'CONFIG_INCLUDE_EXECUTABLE@2']);
  });

  test('an include path built from a definition', () => {
    const r = read({ 'main.conf': '$F=part.conf\ninclude $F\n', 'part.conf': 'p\n' });
    assert.deepEqual(r.texts, ['p']);
  });
});
