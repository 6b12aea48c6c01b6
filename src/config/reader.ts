// The line reader: turns files into logical lines, applying keepalived's preprocessing in its order —
// physical line checks, comments, `include`, `@ID` conditionals, `$NAME=` definitions and their
// expansion, `~SEQ`/`~LST` repetition, and splitting at braces. Each logical line keeps the file and
// line number it came from, which is what every diagnostic points at.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Diagnostics, SourcePos } from './diagnostics.js';
import { globWithBraces } from './glob.js';
import { decomment, MAX_LINE_BYTES, splitBraces } from './lexer.js';
import { isRepeatLine, parseRepeat } from './repeat.js';
import { Definitions } from './substitute.js';

export interface LogicalLine extends SourcePos {
  /** Decommented text of the logical line: a lone brace, or text without braces outside quotes. */
  text: string;
}

export interface ReaderOptions {
  /** The config id for `@ID` lines (`-i`), default the short host name. */
  configId: string;
  env?: Record<string, string | undefined>;
  /** Seed for `${_RANDOM}`; keepalived's `random_seed`. */
  randomSeed?: number;
}

/** A file being read: the innermost file on the source stack gives `${_PWD}` and include bases. */
interface FileSource {
  kind: 'file';
  path: string;
  realPath: string;
  lines: string[];
  /** Read as UTF-8 (else latin1): line lengths are counted in bytes either way. */
  utf8: boolean;
  next: number;
}

/** Lines produced from one line (brace-split remainder, substitution, ~SEQ/~LST), made lazily. */
interface ExpansionSource {
  kind: 'expansion';
  lines: Iterator<PendingLine>;
}

/** The files an include matched, opened one at a time as the previous one is finished. */
interface IncludeSource {
  kind: 'includes';
  paths: string[];
  next: number;
  from: SourcePos;
}

type Source = FileSource | ExpansionSource | IncludeSource;

interface PendingLine extends SourcePos {
  text: string;
  /** Lines produced by expansion have already been decommented and conditional-checked. */
  expanded: boolean;
  /** Lines produced by substitution are final: their remaining `$` are literal. */
  substituted?: boolean;
}

const INCLUDE_KEYWORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
/** How deep includes may nest before we call it runaway (keepalived has no limit but a cycle check). */
const MAX_INCLUDE_DEPTH = 64;
/**
 * Bound on lines produced by ~SEQ/~LST and definitions, so a hostile file cannot exhaust memory or
 * time: half a million lines is about 2 s of parsing here, and tens of thousands of instances.
 */
export const MAX_EXPANDED_LINES = 500_000;

export class LineReader {
  readonly #diag: Diagnostics;
  readonly #opts: ReaderOptions;
  /**
   * One stack for files and expansions, so that whatever a line produces — the files it includes,
   * the lines it expands to — is read before the lines after it, in order, without copying.
   */
  readonly #stack: Source[] = [];
  readonly #defs: Definitions;
  #expandedCount = 0;

  constructor(mainFile: string, diag: Diagnostics, opts: ReaderOptions) {
    this.#diag = diag;
    this.#opts = opts;
    this.#defs = new Definitions({
      configId: opts.configId,
      env: opts.env ?? process.env,
      seed: opts.randomSeed ?? 0,
      currentDir: () => {
        const top = this.#currentFile();
        return top ? dirname(top.realPath) : process.cwd();
      },
    });
    const abs = resolve(mainFile);
    if (!this.#open(abs, { file: abs, line: 0 })) {
      diag.fatal('CONFIG_FILE_NOT_FOUND', `Configuration file '${mainFile}' cannot be read`);
    }
  }

  /** The next logical line, or null at the end of all input. */
  next(): LogicalLine | null {
    for (;;) {
      const p = this.#nextPending();
      if (!p) return null;
      const out = this.#process(p);
      if (out) return out;
    }
  }

  #currentFile(): FileSource | undefined {
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const s = this.#stack[i]!;
      if (s.kind === 'file') return s;
    }
    return undefined;
  }

  #open(path: string, from: SourcePos): boolean {
    let buf: Buffer;
    let realPath: string;
    try {
      realPath = realpathSync(path);
      const st = statSync(realPath);
      if (!st.isFile()) return false;
      buf = readFileSync(realPath);
    } catch {
      return false;
    }
    const files = this.#stack.filter((s): s is FileSource => s.kind === 'file');
    if (files.some((f) => f.realPath === realPath)) {
      this.#diag.error(
        'CONFIG_INCLUDE_CYCLE',
        `include of '${path}' would loop back into itself - skipping`,
        from,
      );
      return true;
    }
    if (files.length >= MAX_INCLUDE_DEPTH) {
      this.#diag.error(
        'CONFIG_INCLUDE_DEPTH',
        `includes nested deeper than ${MAX_INCLUDE_DEPTH} - skipping '${path}'`,
        from,
      );
      return true;
    }
    this.#diag.files.add(path);
    const { lines, utf8 } = splitLines(buf);
    this.#stack.push({ kind: 'file', path, realPath, lines, utf8, next: 0 });
    return true;
  }

  #nextPending(): PendingLine | null {
    for (;;) {
      const top = this.#stack.at(-1);
      if (!top) return null;
      if (top.kind === 'expansion') {
        const r = top.lines.next();
        if (r.done) this.#stack.pop();
        else return r.value;
        continue;
      }
      if (top.kind === 'includes') {
        if (top.next >= top.paths.length) this.#stack.pop();
        else {
          const path = top.paths[top.next++]!;
          if (!this.#open(path, top.from))
            this.#diag.error('CONFIG_FILE_NOT_FOUND', `Unable to open config file '${path}'`, top.from);
        }
        continue;
      }
      if (top.next >= top.lines.length) {
        this.#stack.pop();
        continue;
      }
      const lineNo = top.next + 1;
      let raw = top.lines[top.next++]!;
      if (
        raw.length >= MAX_LINE_BYTES / 3 &&
        (top.utf8 ? Buffer.byteLength(raw) : raw.length) >= MAX_LINE_BYTES
      ) {
        this.#diag.error('CONFIG_LINE_TOO_LONG', 'Configuration line too long - ignoring', {
          file: top.path,
          line: lineNo,
        });
        continue;
      }
      const nul = raw.indexOf('\0');
      if (nul >= 0) {
        this.#diag.note('CONFIG_EMBEDDED_NUL', 'embedded NUL byte: the rest of the line is ignored', {
          file: top.path,
          line: lineNo,
        });
        raw = raw.slice(0, nul);
      }
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      return { file: top.path, line: lineNo, text: raw, expanded: false };
    }
  }

  /** Pushes lazily produced lines; they are read next, before anything already on the stack. */
  #expand(lines: Iterable<PendingLine>, pos: SourcePos): void {
    const self = this;
    function* counted(): Generator<PendingLine> {
      for (const l of lines) {
        if (++self.#expandedCount > MAX_EXPANDED_LINES) {
          self.#diag.fatal(
            'CONFIG_EXPANSION_LIMIT',
            `expansion produced more than ${MAX_EXPANDED_LINES} lines - stopping`,
            pos,
          );
          self.#stack.length = 0;
          return;
        }
        yield l;
      }
    }
    this.#stack.push({ kind: 'expansion', lines: counted() });
  }

  #process(p: PendingLine): LogicalLine | null {
    const pos = { file: p.file, line: p.line };
    let text = p.text;
    if (!p.expanded) {
      // A multi-line definition swallows raw lines until one does not end in a backslash.
      if (this.#defs.collecting) {
        this.#defs.continueMultiline(decomment(text).text);
        return null;
      }
      const dc = decomment(text);
      if (dc.unterminatedQuote)
        this.#diag.error('CONFIG_UNMATCHED_QUOTE', `Unterminated quote '${dc.text}'`, pos);
      text = dc.text;
      if (!text) return null;
      // keepalived 2.2.7 applies conditionals and definitions before it looks for `include`
      // (the 2.4 man page says otherwise; the reference binary is what we match).
      const cond = this.#conditional(text);
      if (cond === null) return null;
      text = cond;
      if (text.startsWith('$')) {
        const def = this.#defs.tryDefine(text);
        if (def === 'defined') return null;
      }
    }
    if (isRepeatLine(text)) {
      const r = parseRepeat(text);
      if (!r.ok) {
        this.#diag.error('CONFIG_BAD_REPEAT', r.error, pos);
        return null;
      }
      if (r.count > MAX_EXPANDED_LINES) {
        this.#diag.error(
          'CONFIG_EXPANSION_LIMIT',
          `repetition of ${r.count} lines exceeds ${MAX_EXPANDED_LINES} - ignoring`,
          pos,
        );
        return null;
      }
      const defs = this.#defs;
      const diag = this.#diag;
      const produce = function* (): Generator<PendingLine> {
        for (let i = 0; i < r.count; i++) {
          const sub = defs.withBindings(r.vars, r.tuple(i), () => defs.substitute(r.rest));
          if (!sub.ok) {
            diag.error('CONFIG_DEFINITION_LIMIT', sub.error, pos);
            return;
          }
          for (const l of sub.lines) yield { ...pos, text: l, expanded: true, substituted: true };
        }
      };
      this.#expand(produce(), pos);
      return null;
    }
    if (!p.substituted && text.includes('$')) {
      const sub = this.#defs.substitute(text);
      if (!sub.ok) {
        this.#diag.error('CONFIG_DEFINITION_LIMIT', sub.error, pos);
        return null;
      }
      if (sub.lines.length !== 1 || sub.lines[0] !== text) {
        const again: PendingLine[] = [];
        for (const l of sub.lines) {
          const t = this.#defs.restoreLiterals(decomment(l).text);
          const c = t ? this.#conditional(t) : null;
          if (c) again.push({ ...pos, text: c, expanded: true, substituted: true });
        }
        this.#expand(again, pos);
        return null;
      }
    }
    const first = text.split(/\s+/, 1)[0]!;
    if (INCLUDE_KEYWORDS.has(first) && text.length > first.length) {
      this.#include(first, text.slice(first.length).trim(), pos);
      return null;
    }
    const parts = splitBraces(text);
    if (parts.length === 0) return null;
    if (parts.length > 1) {
      this.#stack.push({
        kind: 'expansion',
        lines: parts
          .slice(1)
          .map((t) => ({ ...pos, text: t, expanded: true, substituted: true }))
          [Symbol.iterator](),
      });
    }
    return { file: p.file, line: p.line, text: parts[0]! };
  }

  /**
   * Applies `@ID` / `@^ID`: returns the line without its prefix, or null if it is not for us.
   * keepalived drops a conditional with nothing after the id silently, and so do we.
   */
  #conditional(text: string): string | null {
    if (!text.startsWith('@')) return text;
    const m = /^@(\^?)(\S*)(?:\s+(.*))?$/.exec(text);
    if (!m?.[2] || m[3] === undefined) return null;
    const matches = m[2] === this.#opts.configId;
    const negated = m[1] === '^';
    return matches !== negated ? m[3].trim() : null;
  }

  /**
   * `include GLOB`. What keepalived 2.2.7 reports: a plain include that matches nothing, or a brace
   * alternative that matches nothing, is an error ("Config files missing"); for the checked variants
   * (includer/m/w/b/a) a failed check is a security error (config-test exit 6).
   */
  #include(keyword: string, arg: string, pos: SourcePos): void {
    // keepalived 2.2.7 takes the rest of the line as the pattern, spaces and quotes included.
    const pattern = arg;
    const here = this.#currentFile();
    const base = here ? dirname(here.realPath) : process.cwd();
    const abs = isAbsolute(pattern) ? pattern : resolve(base, pattern);
    const severity = keyword === 'include' ? 'error' : 'security';
    const globbed = globWithBraces(abs);
    if (!globbed.ok) {
      this.#diag.add(severity, 'CONFIG_BAD_INCLUDE', `${globbed.error} in include '${pattern}'`, pos);
      return;
    }
    const matches = globbed.matches;
    const all = matches.flatMap((m) => m.paths);
    if (all.length === 0) {
      this.#diag.add(severity, 'CONFIG_FILE_NOT_FOUND', `Config files missing '${pattern}'.`, pos);
      return;
    }
    if (matches.length > 1 && matches.some((m) => m.paths.length === 0))
      this.#diag.add(severity, 'CONFIG_FILE_NOT_FOUND', `Some config files missing: "${pattern}".`, pos);
    const toOpen: string[] = [];
    for (const p of all) {
      try {
        const st = statSync(p);
        if (st.isDirectory()) {
          this.#diag.error(
            'CONFIG_INCLUDE_DIRECTORY',
            `Configuration file '${p}' is a directory - skipping`,
            pos,
          );
          continue;
        }
        if (st.mode & 0o111) {
          this.#diag.error(
            'CONFIG_INCLUDE_EXECUTABLE',
            `Configuration file '${p}' is executable - skipping`,
            pos,
          );
          continue;
        }
      } catch {
        continue;
      }
      toOpen.push(p);
    }
    // Opened one by one, so that the include chain (for cycle detection) holds only open files.
    this.#stack.push({ kind: 'includes', paths: toOpen, next: 0, from: pos });
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits file bytes into lines. A file that is valid UTF-8 (ASCII included) is read as UTF-8, so text such
 * as Chinese comments and names reads as written, in messages and dumps alike; a file that is not is read
 * as latin1, one character per byte, so that no byte is lost or rejected.
 */
function splitLines(buf: Buffer): { lines: string[]; utf8: boolean } {
  let text: string;
  let utf8 = true;
  try {
    text = UTF8.decode(buf);
  } catch {
    text = buf.toString('latin1');
    utf8 = false;
  }
  const lines = text.split('\n');
  if (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return { lines, utf8 };
}
