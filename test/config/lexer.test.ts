// The lexical rules of keepalived.conf, one table per rule: comments, word splitting, quoted script
// words with escapes, brace splitting, include brace alternatives, ~SEQ/~LST parsing, and $NAME
// definitions with the predefined ${_…} names. Expected values come from keepalived.conf(5) and the
// facts in docs/keepalived-config-syntax.md, not from running the code under test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { expandBraces } from '../../src/config/glob.js';
import { decomment, splitBraces, tokenize, tokenizeQuoted } from '../../src/config/lexer.js';
import { parseRepeat } from '../../src/config/repeat.js';
import type { SubstituteResult } from '../../src/config/substitute.js';
import { Definitions, type DefinitionsEnv } from '../../src/config/substitute.js';

/** The lines of a substitution that must succeed. */
function subLines(r: SubstituteResult): string[] {
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.lines;
}

describe('decomment', () => {
  const cases: [string, string, boolean][] = [
    ['vrrp_instance VI_1 # a comment', 'vrrp_instance VI_1', false],
    ['priority 100 ! bang comment', 'priority 100', false],
    ['# whole line', '', false],
    ['   ! whole line', '', false],
    ['notify "/bin/x # not a comment"', 'notify "/bin/x # not a comment"', false],
    // Single quotes do not protect: keepalived only toggles on `"`.
    ["notify '/bin/x # cut here'", "notify '/bin/x", false],
    ['auth_pass a\\#b\\!c # tail', 'auth_pass a#b!c', false],
    ['  \ttrimmed\t  ', 'trimmed', false],
    ['x "open # still quoted', 'x "open # still quoted', true],
    ['x "a" "b', 'x "a" "b', true],
  ];
  for (const [input, text, unterminated] of cases)
    test(JSON.stringify(input), () => {
      assert.deepEqual(decomment(input), { text, unterminatedQuote: unterminated });
    });
});

describe('tokenize (ordinary keywords)', () => {
  const cases: [string, string[], boolean][] = [
    ['a b\tc', ['a', 'b', 'c'], false],
    ['  lead  and  trail  ', ['lead', 'and', 'trail'], false],
    ['a "b c" d', ['a', 'b c', 'd'], false],
    // Text glued to a quoted run joins the same word.
    ['ab"c d"e f', ['abc de', 'f'], false],
    ['x ""', ['x', ''], false],
    // No escape processing for ordinary keywords.
    ['x "a\\tb"', ['x', 'a\\tb'], false],
    ['"open and never closed', ['open and never closed'], true],
    // A lone trailing backslash belongs to the word before it.
    ['virtual_router_id 51 \\', ['virtual_router_id', '51\\'], false],
    ['', [], false],
  ];
  for (const [input, tokens, unmatched] of cases)
    test(JSON.stringify(input), () => {
      assert.deepEqual(tokenize(input), { tokens, unmatchedQuote: unmatched });
    });
});

describe('tokenizeQuoted (script keywords)', () => {
  const cases: [string, string[]][] = [
    ['notify "/bin/a b" c', ['notify', '/bin/a b', 'c']],
    ["notify '/bin/a b' c", ['notify', '/bin/a b', 'c']],
    // Adjacent pieces concatenate, whatever their quoting.
    ['abcd" efg"', ['abcd efg']],
    ['\'a\'"b"c', ['abc']],
    // Escapes: hex, octal, simple letters, control characters, and \C = C.
    ['\\x41', ['A']],
    ['\\101', ['A']],
    ['\\7', ['\x07']],
    ['a\\tb', ['a\tb']],
    ['\\n\\r\\f\\v\\a\\b\\E', ['\n\r\f\v\x07\b\x1b']],
    ['\\cA\\cz', ['\x01\x1a']],
    ['\\q\\\\\\"', ['q\\"']],
    ['"\\x41\\t"', ['A\t']],
    // No escapes inside single quotes.
    ["'\\x41\\t'", ['\\x41\\t']],
    // An escaped blank does not split the word.
    ['a\\ b c', ['a b', 'c']],
    // An escaped quote is a literal quote, not the start of a quoted run.
    ['\\"a b', ['"a', 'b']],
  ];
  for (const [input, tokens] of cases)
    test(JSON.stringify(input), () => {
      assert.deepEqual(tokenizeQuoted(input), { tokens, unmatchedQuote: false });
    });

  test('an unterminated quote of either kind is reported', () => {
    assert.equal(tokenizeQuoted('notify "/bin/x').unmatchedQuote, true);
    assert.equal(tokenizeQuoted("notify '/bin/x").unmatchedQuote, true);
    assert.equal(tokenizeQuoted('notify "it\'s"').unmatchedQuote, false);
  });
});

describe('splitBraces', () => {
  const cases: [string, string[]][] = [
    ['vrrp_instance VI_1 {', ['vrrp_instance VI_1', '{']],
    ['virtual_ipaddress { 192.0.2.1 }', ['virtual_ipaddress', '{', '192.0.2.1', '}']],
    ['}', ['}']],
    ['}{', ['}', '{']],
    ['kw{', ['kw', '{']],
    ['notify "{ not a brace }" {', ['notify "{ not a brace }"', '{']],
    ['plain words', ['plain words']],
    ['   ', []],
  ];
  for (const [input, parts] of cases)
    test(JSON.stringify(input), () => {
      assert.deepEqual(splitBraces(input), parts);
    });
});

describe('expandBraces (include patterns)', () => {
  const cases: [string, string[]][] = [
    ['a{b,c}d', ['abd', 'acd']],
    ['a{b,c{d,e}}f', ['abf', 'acdf', 'acef']],
    ['{a,b}{1,2}', ['a1', 'a2', 'b1', 'b2']],
    ['/etc/keepalived/{vrrp,lvs}/*.conf', ['/etc/keepalived/vrrp/*.conf', '/etc/keepalived/lvs/*.conf']],
    ['no-braces.conf', ['no-braces.conf']],
    // Unbalanced or escaped braces are literal.
    ['a{b', ['a{b']],
    ['a\\{b,c}', ['a\\{b,c}']],
  ];
  for (const [input, out] of cases)
    test(JSON.stringify(input), () => {
      assert.deepEqual(expandBraces(input), out);
    });
});

describe('parseRepeat (~SEQ, ~SEQx, ~LST)', () => {
  const seq = (vars: string[], values: string[][], rest: string) => ({
    ok: true,
    vars,
    tuples: values,
    rest,
  });
  const cases: [string, ReturnType<typeof seq>][] = [
    ['~SEQ(i, 1, 3) 192.0.2.$i', seq(['i'], [['1'], ['2'], ['3']], '192.0.2.$i')],
    // One bound: start at ±1 with step ±1.
    ['~SEQ(i, 3) x', seq(['i'], [['1'], ['2'], ['3']], 'x')],
    ['~SEQ(i, -3) x', seq(['i'], [['-1'], ['-2'], ['-3']], 'x')],
    // Two bounds: step follows the direction.
    ['~SEQ(i, 2, 0) x', seq(['i'], [['2'], ['1'], ['0']], 'x')],
    ['~SEQ(i, 5, 2, 9) x', seq(['i'], [['5'], ['7'], ['9']], 'x')],
    ['~SEQ(i, 3, -1, 1) x', seq(['i'], [['3'], ['2'], ['1']], 'x')],
    // A step pointing away from the end yields nothing.
    ['~SEQ(i, 1, -1, 3) x', seq(['i'], [], 'x')],
    ['~SEQx(i, 9, 11) 2001:db8::$i', seq(['i'], [['9'], ['a'], ['b']], '2001:db8::$i')],
    ['~SEQx(n, 254, 256) x', seq(['n'], [['fe'], ['ff'], ['100']], 'x')],
    ['~LST(v, eth0, eth1) interface $v', seq(['v'], [['eth0'], ['eth1']], 'interface $v')],
    [
      '~LST({a,b},{1,2},{3,4}) $a-$b',
      seq(
        ['a', 'b'],
        [
          ['1', '2'],
          ['3', '4'],
        ],
        '$a-$b',
      ),
    ],
    // Nesting: the rest is itself a repetition, expanded when the produced line is read again.
    ['~SEQ(i, 2) ~SEQ(j, 2) $i.$j', seq(['i'], [['1'], ['2']], '~SEQ(j, 2) $i.$j')],
  ];
  for (const [input, expected] of cases)
    test(JSON.stringify(input), () => {
      const r = parseRepeat(input);
      // Values are produced on demand; read them all to compare.
      const read = r.ok
        ? {
            ok: true,
            vars: r.vars,
            tuples: Array.from({ length: r.count }, (_, i) => r.tuple(i)),
            rest: r.rest,
          }
        : r;
      assert.deepEqual(read, expected);
    });

  const bad: [string, RegExp][] = [
    ['~SEQ(i, 1, 3 x', /Invalid ~SEQ specification/],
    ['~SEQ(i, 1, x) y', /Invalid ~SEQ specification/],
    ['~SEQ(i, 1, 0, 3) x', /Invalid ~SEQ specification/],
    ['~SEQ(i j, 3) x', /Invalid ~SEQ specification/],
    ['~SEQ(i) x', /Invalid ~SEQ specification/],
    ['~SEQx(i, -1, 3) x', /Invalid ~SEQ specification/],
    ['~LST(v) x', /Invalid ~LST specification/],
    ['~LST({a,b},{1}) x', /Invalid ~LST specification/],
    ['~SEQ(i, 0, 1, 99999999999) x', /too many values/],
  ];
  for (const [input, message] of bad)
    test(`rejects ${JSON.stringify(input)}`, () => {
      const r = parseRepeat(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, message);
    });
});

describe('Definitions', () => {
  const env = (over: Partial<DefinitionsEnv> = {}): DefinitionsEnv => ({
    configId: 'lb1',
    env: { KATS_IF: 'eth7' },
    seed: 12345,
    currentDir: () => '/etc/keepalived/conf.d',
    ...over,
  });

  test('$NAME and ${NAME} expand; a use ends at a blank, comma, closing parenthesis or end of line', () => {
    const d = new Definitions(env());
    assert.equal(d.tryDefine('$IF=eth0'), 'defined');
    const cases: [string, string][] = [
      ['interface $IF', 'interface eth0'],
      ['a${IF}b', 'aeth0b'],
      ['$IF,$IF)', 'eth0,eth0)'],
      ['$IF\tx', 'eth0\tx'],
      // Glued to other name characters it is a different (undefined) name and stays as written.
      ['$IFb', '$IFb'],
      // `.` is not a boundary: `$IF.x` is not a use (write `${IF}.x`).
      ['$IF.x ${IF}.x', '$IF.x eth0.x'],
      ['$UNDEFINED ${UNDEFINED}', '$UNDEFINED ${UNDEFINED}'],
    ];
    for (const [input, out] of cases)
      assert.deepEqual(d.substitute(input), { ok: true, lines: [out] }, input);
  });

  test('definitions are expanded again at use, so a later definition is seen', () => {
    const d = new Definitions(env());
    d.tryDefine('$OUTER=$INNER');
    d.tryDefine('$INNER=eth1');
    assert.deepEqual(d.substitute('interface $OUTER'), { ok: true, lines: ['interface eth1'] });
    d.tryDefine('$INNER=eth2');
    assert.deepEqual(d.substitute('interface $OUTER'), { ok: true, lines: ['interface eth2'] });
  });

  test('what counts as a definition', () => {
    const d = new Definitions(env());
    assert.equal(d.tryDefine('$A=1'), 'defined');
    assert.equal(d.tryDefine('$_x9=1'), 'defined');
    assert.equal(d.tryDefine('$1A=x'), 'bad');
    assert.equal(d.tryDefine('$A-B=x'), 'bad');
    assert.equal(d.tryDefine('$A B=x'), 'not-a-definition');
    assert.equal(d.tryDefine('$NOEQUALS'), 'not-a-definition');
  });

  test('a multi-line definition: alone on a line it yields its lines, inline they join with spaces', () => {
    const d = new Definitions(env());
    assert.equal(d.tryDefine('$VIPS=192.0.2.1 \\'), 'defined');
    assert.equal(d.collecting, true);
    d.continueMultiline('  192.0.2.2 \\');
    assert.equal(d.collecting, true);
    d.continueMultiline('192.0.2.3');
    assert.equal(d.collecting, false);
    assert.deepEqual(d.substitute('$VIPS'), { ok: true, lines: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] });
    assert.deepEqual(d.substitute('${VIPS}'), { ok: true, lines: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] });
    assert.deepEqual(d.substitute('x $VIPS y'), { ok: true, lines: ['x 192.0.2.1 192.0.2.2 192.0.2.3 y'] });
  });

  test('a multi-line definition whose first line is empty', () => {
    const d = new Definitions(env());
    d.tryDefine('$BLOCK=\\');
    d.continueMultiline('a \\');
    d.continueMultiline('b');
    assert.deepEqual(d.substitute('$BLOCK'), { ok: true, lines: ['a', 'b'] });
  });

  test('${_HASH} and ${_BANG} survive re-decommenting and are restored to # and !', () => {
    const d = new Definitions(env());
    const [line] = subLines(d.substitute('auth_pass a${_HASH}b${_BANG}c'));
    assert.ok(!line!.includes('#') && !line!.includes('!'), 'marks, not comment characters');
    assert.equal(d.restoreLiterals(line!), 'auth_pass a#b!c');
  });

  test('${_ENV VAR}, ${_PWD}, ${_INSTANCE}', () => {
    const d = new Definitions(env());
    assert.deepEqual(d.substitute('interface ${_ENV KATS_IF}'), { ok: true, lines: ['interface eth7'] });
    assert.deepEqual(d.substitute('x${_ENV KATS_NOT_SET}y'), { ok: true, lines: ['xy'] });
    assert.deepEqual(d.substitute('include ${_PWD}/vrrp.conf'), {
      ok: true,
      lines: ['include /etc/keepalived/conf.d/vrrp.conf'],
    });
    assert.deepEqual(d.substitute('router_id ${_INSTANCE}'), { ok: true, lines: ['router_id lb1'] });
  });

  test('${_RANDOM MIN MAX} stays in range and is reproducible for a seed', () => {
    const draw = (seed: number, spec: string) => {
      const d = new Definitions(env({ seed }));
      return Array.from({ length: 200 }, () => Number(subLines(d.substitute(`\${_RANDOM${spec}}`))[0]));
    };
    assert.deepEqual(draw(1, ' 5 5'), Array(200).fill(5));
    const small = draw(7, ' 3 9');
    assert.ok(small.every((v) => Number.isInteger(v) && v >= 3 && v <= 9));
    assert.ok(new Set(small).size > 3, 'values vary');
    const dflt = draw(7, '');
    assert.ok(dflt.every((v) => v >= 0 && v <= 32767));
    assert.deepEqual(draw(99, ' 0 1000'), draw(99, ' 0 1000'));
    assert.notDeepEqual(draw(99, ' 0 1000'), draw(100, ' 0 1000'));
  });

  test('an inverted ${_RANDOM} range is left as written', () => {
    const d = new Definitions(env());
    assert.deepEqual(d.substitute('${_RANDOM 7 3}'), { ok: true, lines: ['${_RANDOM 7 3}'] });
  });

  test('withBindings binds loop variables and restores what they shadowed', () => {
    const d = new Definitions(env());
    d.tryDefine('$i=outer');
    const inner = d.withBindings(['i', 'j'], ['1', '2'], () => subLines(d.substitute('${i}.$j'))[0]);
    assert.equal(inner, '1.2');
    assert.deepEqual(d.substitute('$i $j'), { ok: true, lines: ['outer $j'] });
  });

  test('a definition that names itself does not expand forever', () => {
    const d = new Definitions(env());
    d.tryDefine('$A=$A');
    assert.deepEqual(d.substitute('$A'), { ok: true, lines: ['$A'] });
  });
});

describe('properties', () => {
  const blank = fc.constantFrom(' ', '\t', '  ');
  const plainWord = fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,12}$/);

  test('tokenize splits quote-free text on blanks, and tokenizeQuoted agrees there', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(plainWord, blank)), (parts) => {
        const text = parts.map(([w, b]) => w + b).join('');
        const words = parts.map(([w]) => w);
        assert.deepEqual(tokenize(text), { tokens: words, unmatchedQuote: false });
        assert.deepEqual(tokenizeQuoted(text), { tokens: words, unmatchedQuote: false });
      }),
      { seed: 1123, numRuns: 300 },
    );
  });

  test('a double-quoted run is one token whatever blanks and braces it holds', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9 {}\t#!]{0,20}$/), plainWord, (inner, before) => {
        assert.deepEqual(tokenize(`${before} "${inner}"`).tokens, [before, inner]);
        const parts = splitBraces(`${before} "${inner}" {`);
        assert.deepEqual(parts, [`${before} "${inner}"`, '{']);
      }),
      { seed: 1123, numRuns: 300 },
    );
  });

  test('splitBraces keeps every non-blank character, in order, and isolates each brace', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9 {}\t]{0,40}$/), (text) => {
        const parts = splitBraces(text);
        const squash = (s: string) => s.replace(/\s+/g, '');
        assert.equal(parts.map(squash).join(''), squash(text));
        for (const p of parts) {
          assert.ok(p === '{' || p === '}' || !/[{}]/.test(p), JSON.stringify(p));
          assert.equal(p, p.trim());
          assert.notEqual(p, '');
        }
      }),
      { seed: 1123, numRuns: 500 },
    );
  });

  test('decomment leaves no comment character outside quotes and never grows the line', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z "#!\\]{0,30}$/), (line) => {
        const { text } = decomment(line);
        assert.ok(text.length <= line.length);
        let inQuote = false;
        for (let i = 0; i < text.length; i++) {
          if (text[i] === '"') inQuote = !inQuote;
          // A surviving # or ! outside quotes can only come from an escaped \# or \!.
          if (!inQuote && (text[i] === '#' || text[i] === '!')) assert.ok(line.includes(`\\${text[i]}`));
        }
      }),
      { seed: 1123, numRuns: 500 },
    );
  });

  test('expandBraces yields the product of the alternatives, brace-free, first group outermost', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.stringMatching(/^[a-z0-9]{0,3}$/), { minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 4,
        }),
        (groups) => {
          const pattern = groups.map((g) => `x{${g.join(',')}}`).join('');
          let expected = [''];
          for (const g of groups) expected = expected.flatMap((head) => g.map((alt) => `${head}x${alt}`));
          assert.deepEqual(expandBraces(pattern), expected);
        },
      ),
      { seed: 1123, numRuns: 300 },
    );
  });

  test('~SEQ(v, start, step, end) counts and values follow the arithmetic', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: -7, max: 7 }).filter((s) => s !== 0),
        fc.integer({ min: -50, max: 50 }),
        (start, step, end) => {
          const r = parseRepeat(`~SEQ(v, ${start}, ${step}, ${end}) x$v`);
          assert.ok(r.ok);
          const expected: string[] = [];
          for (let v = start; step > 0 ? v <= end : v >= end; v += step) expected.push(String(v));
          assert.deepEqual(
            Array.from({ length: r.count }, (_, i) => r.tuple(i)[0]),
            expected,
          );
          assert.equal(r.rest, 'x$v');
        },
      ),
      { seed: 1123, numRuns: 500 },
    );
  });

  test('parseRepeat never throws on text after ~SEQ( / ~SEQx( / ~LST(', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('~SEQ(', '~SEQx(', '~LST('),
        fc.stringMatching(/^[a-z0-9 ,(){}-]{0,30}$/),
        (head, rest) => {
          const r = parseRepeat(head + rest);
          if (r.ok)
            assert.ok(
              Array.from({ length: Math.min(r.count, 50) }, (_, i) => r.tuple(i)).every(
                (t) => t.length === r.vars.length,
              ),
            );
          else assert.equal(typeof r.error, 'string');
        },
      ),
      { seed: 1123, numRuns: 1000 },
    );
  });
});
