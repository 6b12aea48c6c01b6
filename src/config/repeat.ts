// `~SEQ(var, [start,] [step,] end) rest`, `~SEQx(...)` (hex values) and `~LST(var, v1, v2, …)` /
// `~LST({a,b},{1,2},{3,4})` repeat `rest` once per value with `$var` replaced. Several on one line
// nest, because each produced line is read again and may itself start with a repetition.

const REPEAT_RE = /^~(SEQx?|LST)\(/;

export function isRepeatLine(text: string): boolean {
  return REPEAT_RE.test(text);
}

export type RepeatResult = { ok: true; lines: string[] } | { ok: false; error: string };

/** keepalived caps nothing, but a line must not become unbounded work: 10 million is far past real use. */
const MAX_VALUES = 10_000_000;

export function expandRepeat(text: string): RepeatResult {
  const m = REPEAT_RE.exec(text);
  if (!m) return { ok: false, error: 'not a repetition' };
  const kind = m[1]!;
  const open = m[0].length - 1;
  const close = matchingParen(text, open);
  if (close < 0) return { ok: false, error: `~${kind} missing ')'` };
  const inner = text.slice(open + 1, close);
  const rest = text.slice(close + 1).trim();
  if (!rest) return { ok: false, error: `~${kind} has nothing to repeat` };
  if (kind === 'LST') return expandList(inner, rest);
  return expandSeq(inner, rest, kind === 'SEQx');
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

function expandSeq(inner: string, rest: string, hex: boolean): RepeatResult {
  const args = inner.split(',').map((s) => s.trim());
  const name = args.shift();
  if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return { ok: false, error: `~SEQ invalid variable name '${name ?? ''}'` };
  const nums = args.map((a) => (/^-?\d+$/.test(a) ? Number.parseInt(a, 10) : Number.NaN));
  if (nums.length < 1 || nums.length > 3 || nums.some((n) => Number.isNaN(n)))
    return { ok: false, error: `~SEQ(${inner}) needs 1 to 3 integer arguments after the variable` };
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
  if (step === 0) return { ok: false, error: `~SEQ(${inner}) step cannot be 0` };
  if (hex && (start < 0 || end < 0)) return { ok: false, error: `~SEQx(${inner}) values must be positive` };
  const count = Math.floor((end - start) / step) + 1;
  if (count <= 0) return { ok: true, lines: [] };
  if (count > MAX_VALUES) return { ok: false, error: `~SEQ(${inner}) produces too many values` };
  const values: string[] = [];
  for (let v = start, i = 0; i < count; v += step, i++) values.push(hex ? v.toString(16) : String(v));
  return { ok: true, lines: values.map((v) => replaceVar(rest, name, v)) };
}

function expandList(inner: string, rest: string): RepeatResult {
  const trimmed = inner.trim();
  if (trimmed.startsWith('{')) {
    const groups = [...trimmed.matchAll(/\{([^}]*)\}/g)].map((g) => g[1]!.split(',').map((s) => s.trim()));
    const names = groups.shift();
    if (!names || names.some((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)))
      return { ok: false, error: `~LST(${inner}) invalid variable names` };
    const lines: string[] = [];
    for (const g of groups) {
      if (g.length !== names.length)
        return { ok: false, error: `~LST(${inner}) value group size differs from names` };
      let line = rest;
      names.forEach((n, i) => {
        line = replaceVar(line, n, g[i]!);
      });
      lines.push(line);
    }
    return { ok: true, lines };
  }
  const args = trimmed.split(',').map((s) => s.trim());
  const name = args.shift();
  if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return { ok: false, error: `~LST invalid variable name '${name ?? ''}'` };
  return { ok: true, lines: args.map((v) => replaceVar(rest, name, v)) };
}

/** Replaces `$name` (at a word boundary) and `${name}`. */
function replaceVar(text: string, name: string, value: string): string {
  const braced = text.replaceAll(`\${${name}}`, value);
  const re = new RegExp(`\\$${name}(?=$|[\\s,)])`, 'g');
  return braced.replace(re, () => value);
}
