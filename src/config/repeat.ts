// `~SEQ(var, [start,] [step,] end) rest`, `~SEQx(...)` (hex values) and `~LST(var, v1, v2, …)` /
// `~LST({a,b},{1,2},{3,4})` repeat `rest` once per value with `$var` replaced. Several on one line
// nest, because each produced line is read again and may itself start with a repetition.

const REPEAT_RE = /^~(SEQx?|LST)\(/;

export function isRepeatLine(text: string): boolean {
  return REPEAT_RE.test(text);
}

export type RepeatParse =
  | { ok: true; vars: string[]; count: number; tuple: (i: number) => string[]; rest: string }
  | { ok: false; error: string };

/**
 * Parses a repetition line into its variables, the value tuples to bind in turn, and the text to
 * repeat. Binding and substitution are the reader's job, because the repeated text may use
 * definitions (even multi-line ones) that refer to the loop variable.
 */
export function parseRepeat(text: string): RepeatParse {
  const m = REPEAT_RE.exec(text);
  if (!m) return { ok: false, error: 'not a repetition' };
  const kind = m[1]!;
  const open = m[0].length - 1;
  const close = matchingParen(text, open);
  if (close < 0) return { ok: false, error: `Invalid ~${kind.slice(0, 3)} specification '${text}'` };
  const inner = text.slice(open + 1, close);
  const rest = text.slice(close + 1).trim();
  const r = kind === 'LST' ? parseList(inner, text) : parseSeq(inner, text, kind === 'SEQx');
  if (!r.ok) return r;
  return { ...r, rest };
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** No repetition may name more values than this; the reader also bounds the lines produced. */
const MAX_VALUES = 10_000_000;

/** Values are produced on demand: a ~SEQ of a million values costs nothing until it is read. */
type Bindings =
  | { ok: true; vars: string[]; count: number; tuple: (i: number) => string[] }
  | { ok: false; error: string };

function parseSeq(inner: string, line: string, hex: boolean): Bindings {
  const args = inner.split(',').map((s) => s.trim());
  const name = args.shift();
  const invalid = { ok: false as const, error: `Invalid ~SEQ specification '${line}'` };
  if (!name || /\s/.test(name)) return invalid;
  const nums = args.map((a) => (/^-?\d+$/.test(a) ? Number.parseInt(a, 10) : Number.NaN));
  if (nums.length < 1 || nums.length > 3 || nums.some((n) => Number.isNaN(n))) return invalid;
  let start: number;
  let step: number;
  let end: number;
  if (nums.length === 1) {
    end = nums[0]!;
    start = end < 0 ? -1 : 1;
    step = end < start ? -1 : 1;
  } else if (nums.length === 2) {
    [start, end] = nums as [number, number];
    step = end < start ? -1 : 1;
  } else {
    [start, step, end] = nums as [number, number, number];
  }
  if (step === 0 || (hex && (start < 0 || end < 0))) return invalid;
  const count = Math.max(0, Math.floor((end - start) / step) + 1);
  if (count > MAX_VALUES) return { ok: false, error: `~SEQ produces too many values '${line}'` };
  const value = (i: number) => start + i * step;
  return { ok: true, vars: [name], count, tuple: (i) => [hex ? value(i).toString(16) : String(value(i))] };
}

function parseList(inner: string, line: string): Bindings {
  const invalid = { ok: false as const, error: `Invalid ~LST specification '${line}'` };
  const trimmed = inner.trim();
  if (trimmed.startsWith('{')) {
    const groups = [...trimmed.matchAll(/\{([^}]*)\}/g)].map((g) => g[1]!.split(',').map((s) => s.trim()));
    const names = groups.shift();
    if (!names || names.some((n) => !n || /\s/.test(n)) || groups.length === 0) return invalid;
    if (groups.some((g) => g.length !== names.length)) return invalid;
    return { ok: true, vars: names, count: groups.length, tuple: (i) => groups[i]! };
  }
  const args = trimmed.split(',').map((s) => s.trim());
  const name = args.shift();
  if (!name || /\s/.test(name) || args.length === 0) return invalid;
  return { ok: true, vars: [name], count: args.length, tuple: (i) => [args[i]!] };
}
