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

interface OpenFile {
  path: string;
  realPath: string;
  lines: string[];
  next: number;
}

interface PendingLine extends SourcePos {
  text: string;
  /** Lines produced by expansion have already been decommented and conditional-checked. */
  expanded: boolean;
}

const INCLUDE_KEYWORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
/** How deep includes may nest before we call it runaway (keepalived has no limit but a cycle check). */
const MAX_INCLUDE_DEPTH = 64;
/** Bound on lines produced by ~SEQ/~LST/multi-line expansion, so a hostile file cannot exhaust memory. */
const MAX_EXPANDED_LINES = 5_000_000;

export class LineReader {
  readonly #diag: Diagnostics;
  readonly #opts: ReaderOptions;
  readonly #files: OpenFile[] = [];
  readonly #pending: PendingLine[] = [];
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
        const top = this.#files.at(-1);
        return top ? dirname(top.realPath) : process.cwd();
      },
    });
    const abs = resolve(mainFile);
    if (!this.#open(abs, { file: abs, line: 0 }, true)) {
      diag.fatal('CONFIG_FILE_NOT_FOUND', `Configuration file '${mainFile}' cannot be read`);
    }
  }

  /** The next logical line, or null at the end of all input. */
  next(): LogicalLine | null {
    for (;;) {
      const p = this.#pending.shift() ?? this.#readPhysical();
      if (!p) return null;
      const out = this.#process(p);
      if (out) return out;
    }
  }

  #open(path: string, from: SourcePos, isMain: boolean): boolean {
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
    if (this.#files.some((f) => f.realPath === realPath)) {
      this.#diag.error(
        'CONFIG_INCLUDE_CYCLE',
        `include of '${path}' would loop back into itself - skipping`,
        from,
      );
      return true;
    }
    if (this.#files.length >= MAX_INCLUDE_DEPTH) {
      this.#diag.error(
        'CONFIG_INCLUDE_DEPTH',
        `includes nested deeper than ${MAX_INCLUDE_DEPTH} - skipping '${path}'`,
        from,
      );
      return true;
    }
    this.#diag.files.add(path);
    if (!isMain) this.#diag.files.add(path);
    this.#files.push({ path, realPath, lines: splitLines(buf), next: 0 });
    return true;
  }

  #readPhysical(): PendingLine | null {
    for (;;) {
      const f = this.#files.at(-1);
      if (!f) return null;
      if (f.next >= f.lines.length) {
        this.#files.pop();
        continue;
      }
      const lineNo = f.next + 1;
      let raw = f.lines[f.next++]!;
      const pos = { file: f.path, line: lineNo };
      if (Buffer.byteLength(raw, 'latin1') >= MAX_LINE_BYTES) {
        this.#diag.error('CONFIG_LINE_TOO_LONG', 'Configuration line too long - ignoring', pos);
        continue;
      }
      const nul = raw.indexOf('\0');
      if (nul >= 0) {
        this.#diag.note('CONFIG_EMBEDDED_NUL', 'embedded NUL byte: the rest of the line is ignored', pos);
        raw = raw.slice(0, nul);
      }
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      return { ...pos, text: raw, expanded: false };
    }
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
      const produced: PendingLine[] = [];
      for (const values of r.tuples) {
        const lines = this.#defs.withBindings(r.vars, values, () => this.#defs.substitute(r.rest).lines);
        for (const l of lines) produced.push({ ...pos, text: l, expanded: true });
      }
      this.#queue(produced, pos);
      return null;
    }
    if (text.includes('$')) {
      const sub = this.#defs.substitute(text);
      if (sub.lines.length !== 1 || sub.lines[0] !== text) {
        const again: PendingLine[] = [];
        for (const l of sub.lines) {
          const t = this.#defs.restoreLiterals(decomment(l).text);
          const c = t ? this.#conditional(t) : null;
          if (c) again.push({ ...pos, text: c, expanded: true });
        }
        this.#queue(again, pos);
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
      this.#pending.unshift(...parts.slice(1).map((t) => ({ ...pos, text: t, expanded: true })));
    }
    return { ...pos, text: parts[0]! };
  }

  #queue(lines: PendingLine[], pos: SourcePos): boolean {
    this.#expandedCount += lines.length;
    if (this.#expandedCount > MAX_EXPANDED_LINES) {
      this.#diag.fatal(
        'CONFIG_EXPANSION_LIMIT',
        `expansion produced more than ${MAX_EXPANDED_LINES} lines - stopping`,
        pos,
      );
      this.#files.length = 0;
      this.#pending.length = 0;
      return false;
    }
    this.#pending.unshift(...lines);
    return true;
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
    const here = this.#files.at(-1);
    const base = here ? dirname(here.realPath) : process.cwd();
    const abs = isAbsolute(pattern) ? pattern : resolve(base, pattern);
    const severity = keyword === 'include' ? 'error' : 'security';
    const matches = globWithBraces(abs);
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
    // The file stack is LIFO: push in reverse so that the first match is read first. Lines already
    // queued from the include line itself belong after the included files.
    const pendingHere = this.#pending.splice(0);
    for (const p of toOpen.reverse()) {
      if (!this.#open(p, pos, false))
        this.#diag.error('CONFIG_FILE_NOT_FOUND', `Unable to open config file '${p}'`, pos);
    }
    this.#pending.push(...pendingHere);
  }
}

/** Splits file bytes into lines; bytes are read as latin1 so that no byte is lost or rejected. */
function splitLines(buf: Buffer): string[] {
  const text = buf.toString('latin1');
  const lines = text.split('\n');
  if (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
