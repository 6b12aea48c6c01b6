// Lexical rules of keepalived.conf, one function per rule, all pure.
// Facts from keepalived's lib/parser.c (docs/keepalived-config-syntax.md); code is our own.

/** keepalived reads lines with fgets into a 1024-byte buffer: 1023 characters plus the newline fit. */
export const MAX_LINE_BYTES = 1024;

const WHITESPACE = new Set([' ', '\t', '\f', '\n', '\r', '\v']);

export function isBlank(ch: string | undefined): boolean {
  return ch !== undefined && WHITESPACE.has(ch);
}

export interface DecommentResult {
  text: string;
  unterminatedQuote: boolean;
}

/**
 * Removes a comment and surrounding blanks. A `!` or `#` starts a comment anywhere outside double
 * quotes; single quotes do not protect (keepalived only toggles on `"`). `\!` and `\#` outside quotes
 * stand for the literal character.
 */
export function decomment(line: string): DecommentResult {
  // Most lines have no quote, escape or comment character: trimming is all there is to do.
  if (!/["\\!#]/.test(line)) return { text: line.trim(), unterminatedQuote: false };
  let inQuote = false;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"') {
      inQuote = !inQuote;
      out += ch;
      continue;
    }
    if (!inQuote) {
      if (ch === '\\' && (line[i + 1] === '!' || line[i + 1] === '#')) {
        out += line[i + 1];
        i++;
        continue;
      }
      if (ch === '!' || ch === '#') break;
    }
    out += ch;
  }
  return { text: out.trim(), unterminatedQuote: inQuote };
}

/**
 * Splits a decommented line on blanks; a `"…"` run is one token with its quotes removed and no escapes.
 * Text glued to a quote (`ab"c d"`) joins the same token, as keepalived's word splitter does.
 */
export function tokenize(text: string): { tokens: string[]; unmatchedQuote: boolean } {
  if (!text.includes('"') && !text.endsWith('\\')) {
    const t = text.trim();
    return { tokens: t === '' ? [] : t.split(/[ \t\f\n\r\v]+/), unmatchedQuote: false };
  }
  const { tokens, unmatchedQuote } = splitWords(text, readPlainWord);
  // keepalived reads a lone trailing backslash as part of the word before it ("51 \\" is "51\\"),
  // so a stray continuation mark makes that value invalid rather than silently vanishing.
  if (tokens.length > 1 && tokens.at(-1) === '\\') {
    tokens.pop();
    tokens[tokens.length - 1] += '\\';
  }
  return { tokens, unmatchedQuote };
}

/** One word read at `start`: its text, the index after it, and whether it left a quote open. */
interface Word {
  text: string;
  end: number;
  unmatchedQuote: boolean;
}

/** Splits `text` on blanks, each word read by `readWord` (the two tokenisers differ only there). */
function splitWords(
  text: string,
  readWord: (text: string, start: number) => Word,
): { tokens: string[]; unmatchedQuote: boolean } {
  const tokens: string[] = [];
  let i = 0;
  let unmatchedQuote = false;
  while (i < text.length) {
    while (i < text.length && isBlank(text[i])) i++;
    if (i >= text.length) break;
    const w = readWord(text, i);
    tokens.push(w.text);
    if (w.unmatchedQuote) unmatchedQuote = true;
    i = w.end;
  }
  return { tokens, unmatchedQuote };
}

/** A word of tokenize(): up to a blank; a `"…"` run is taken as it is, without its quotes. */
function readPlainWord(text: string, start: number): Word {
  let tok = '';
  let i = start;
  while (i < text.length && !isBlank(text[i])) {
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return { text: tok + text.slice(i + 1), end: text.length, unmatchedQuote: true };
      tok += text.slice(i + 1, end);
      i = end + 1;
    } else {
      tok += text[i];
      i++;
    }
  }
  return { text: tok, end: i, unmatchedQuote: false };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * Tokeniser for script-like keywords (notify*, script, misc_path, …): both `"` and `'` quote,
 * adjacent pieces concatenate, and backslash escapes are decoded outside single quotes
 * (`\a \b \E \f \n \r \t \v`, `\nnn` octal, `\xXX` hex, `\cC` control, `\C` = C).
 */
export function tokenizeQuoted(text: string): { tokens: string[]; unmatchedQuote: boolean } {
  return splitWords(text, readScriptWord);
}

/** A word of tokenizeQuoted(): `"` and `'` quote, pieces concatenate, escapes decoded outside `'…'`. */
function readScriptWord(text: string, start: number): Word {
  let i = start;
  let tok = '';
  let quote: string | null = null;
  while (i < text.length) {
    const ch = text[i]!;
    if (quote === null && isBlank(ch)) break;
    if (quote === null && (ch === '"' || ch === "'")) {
      quote = ch;
      i++;
      continue;
    }
    if (quote !== null && ch === quote) {
      quote = null;
      i++;
      continue;
    }
    if (ch === '\\' && quote !== "'" && i + 1 < text.length) {
      const [decoded, used] = decodeEscape(text, i + 1);
      tok += decoded;
      i += 1 + used;
      continue;
    }
    tok += ch;
    i++;
  }
  return { text: tok, end: i, unmatchedQuote: quote !== null };
}

/** Decodes the escape whose letter starts at `at`; returns the text and how many characters it used. */
function decodeEscape(text: string, at: number): [string, number] {
  const c = text[at]!;
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return [simple, 1];
  if (c >= '0' && c <= '7') {
    const m = /^[0-7]{1,3}/.exec(text.slice(at))![0];
    return [String.fromCharCode(Number.parseInt(m, 8) & 0xff), m.length];
  }
  if (c === 'x') {
    const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(at + 1));
    if (m) return [String.fromCharCode(Number.parseInt(m[0], 16)), 1 + m[0].length];
    return ['x', 1];
  }
  if (c === 'c' && at + 1 < text.length) {
    return [String.fromCharCode(text.charCodeAt(at + 1) & 0x1f), 2];
  }
  return [c, 1];
}

/**
 * Splits a line at every `{` and `}` outside double quotes: the text before a brace is one logical
 * line and each brace stands alone, so `virtual_ipaddress { 192.0.2.1 }` reads as four lines.
 */
export function splitBraces(text: string): string[] {
  if (!text.includes('{') && !text.includes('}')) {
    const t = text.trim();
    return t ? [t] : [];
  }
  const parts: string[] = [];
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') inQuote = !inQuote;
    else if (!inQuote && (ch === '{' || ch === '}')) {
      const before = text.slice(start, i).trim();
      if (before) parts.push(before);
      parts.push(ch);
      start = i + 1;
    }
  }
  const rest = text.slice(start).trim();
  if (rest) parts.push(rest);
  return parts;
}
