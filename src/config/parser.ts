// The block parser: walks logical lines against keyword tables, as keepalived's keyword tree does.
// It is iterative (an explicit frame stack), so 10,000 nested braces cost memory, not call stack.
import type { Diagnostics, SourcePos } from './diagnostics.js';
import { tokenize, tokenizeQuoted } from './lexer.js';
import type { LogicalLine } from './reader.js';

export interface ParseCtx {
  diag: Diagnostics;
  /** `-u` was given: global_defs `umask` is not read (keepalived 2.2.7 ignores it then). */
  umaskFromCli?: boolean;
}

/** A keyword with a plain handler: gets the tokens (keyword first). */
export type LineHandler<T> = (target: T, tokens: string[], pos: SourcePos, ctx: ParseCtx) => void;

export interface KeywordDef<T = any> {
  /** Handles `keyword args…` on one line. */
  line?: LineHandler<T>;
  /** Opens a block of keywords: returns the block's target, or null to skip the block. */
  block?: {
    keywords: () => KeywordTable<any>;
    open: (parent: T, tokens: string[], pos: SourcePos, ctx: ParseCtx) => unknown | null;
    close?: (target: any, ctx: ParseCtx, pos: SourcePos) => void;
  };
  /** Opens a block whose lines are values (e.g. virtual_ipaddress): each line goes to `value`. */
  values?: {
    open: (parent: T, tokens: string[], pos: SourcePos, ctx: ParseCtx) => unknown | null;
    /** How many arguments the keyword line takes (a group name, say); more is an error. */
    args?: number;
    value: (target: any, tokens: string[], pos: SourcePos, ctx: ParseCtx) => void;
    close?: (target: any, ctx: ParseCtx, pos: SourcePos) => void;
  };
  /** Re-tokenise with both quote kinds and escapes (script-like keywords). */
  quoted?: boolean;
  /** What the manual page says of the keyword (scripts/gen-man.ts); the builders in schema/builders.ts fill it. */
  doc?: KeywordDoc;
}

export interface KeywordDoc {
  /** The arguments, as the manual shows them (e.g. `INTEGER`, `SECONDS`). */
  args?: string;
  /** The accepted range of the value. */
  range?: string;
  /** The model field the value goes to: its value in a fresh block is the default. */
  field?: string;
  /** The field holds microseconds while the keyword takes seconds. */
  fieldInUs?: boolean;
  /** Accepted and carried in `other`: this version does nothing with it. */
  carried?: boolean;
  deprecated?: boolean;
}

export type KeywordTable<T = any> = Record<string, KeywordDef<T>>;

type Frame =
  | {
      kind: 'keywords';
      table: KeywordTable;
      target: unknown;
      close?: (target: any, ctx: ParseCtx, pos: SourcePos) => void;
      awaitingBrace: boolean;
      openPos: SourcePos;
    }
  | {
      kind: 'values';
      target: unknown;
      value: (target: any, tokens: string[], pos: SourcePos, ctx: ParseCtx) => void;
      close?: (target: any, ctx: ParseCtx, pos: SourcePos) => void;
      awaitingBrace: boolean;
      openPos: SourcePos;
    }
  | { kind: 'skip'; depth: number; awaitingBrace: boolean; openPos: SourcePos };

export interface LineSource {
  next(): LogicalLine | null;
}

export function parseBlocks(
  source: LineSource,
  root: KeywordTable,
  rootTarget: unknown,
  ctx: ParseCtx,
): void {
  const stack: Frame[] = [
    {
      kind: 'keywords',
      table: root,
      target: rootTarget,
      awaitingBrace: false,
      openPos: { file: '', line: 0 },
    },
  ];
  // A block's keyword table is built once per parse, not every time the block opens: a config with
  // ten thousand instances would otherwise rebuild (and collect) ten thousand tables.
  const tables = new WeakMap<object, KeywordTable>();
  const tableOf = (block: NonNullable<KeywordDef['block']>): KeywordTable => {
    let t = tables.get(block);
    if (!t) {
      t = block.keywords();
      tables.set(block, t);
    }
    return t;
  };
  let line: LogicalLine | null = source.next();
  let lastPos: SourcePos = { file: '', line: 0 };
  // keepalived counts braces as it reads lines, apart from the blocks it parses (a block opened without
  // its '{' is not counted): a '}' with no '{' open is "Extra '}' found", and the count left at the end
  // is the missing '}'s. `counted` keeps a line read again from being counted twice.
  let braceDepth = 0;
  let counted: LogicalLine | null = null;
  // The top-level keyword whose block (or line) is being read: where an abort happened (Diagnostics.abortedIn).
  let top = '';
  while (line && !ctx.diag.aborted) {
    const pos = { file: line.file, line: line.line };
    lastPos = pos;
    const frame = stack.at(-1)!;
    const text = line.text;
    if (stack.length === 1) top = tokenize(text).tokens[0] ?? '';
    if (stack.length === 1 || top === 'global_defs') {
      ctx.diag.firstPass(pos);
      ctx.diag.secondPassPiece = undefined;
    } else ctx.diag.secondPassPiece = pos;
    if (counted !== line) {
      counted = line;
      if (text === '{') braceDepth++;
      else if (text === '}' && braceDepth-- < 1) {
        ctx.diag.error('CONFIG_UNEXPECTED_EOB', "Extra '}' found", pos);
        braceDepth = 0;
      }
    }

    if (frame.awaitingBrace) {
      if (text === '{') {
        frame.awaitingBrace = false;
        if (frame.kind === 'skip') frame.depth = 1;
        line = source.next();
        continue;
      }
      // A value block (virtual_ipaddress …) without its '{' takes the next line as its only value,
      // silently, as keepalived 2.2.7 does.
      if (frame.kind === 'values') {
        stack.pop();
        const { tokens } = tokenize(text);
        frame.value(frame.target, tokens, pos, ctx);
        frame.close?.(frame.target, ctx, pos);
        line = source.next();
        continue;
      }
      // keepalived: "Missing '{' at beginning of configuration block"; the block stays open and this
      // line is its first (so `real_server A` then `real_server B {` is server A, the second line an
      // unknown keyword in it). A block skipped for a bad opening line is done, the line read again outside.
      ctx.diag.error('CONFIG_MISSING_BOB', "Missing '{' at beginning of configuration block", pos);
      if (frame.kind === 'skip') stack.pop();
      else frame.awaitingBrace = false;
      continue;
    }

    if (frame.kind === 'skip') {
      if (text === '{') frame.depth++;
      else if (text === '}') {
        frame.depth--;
        if (frame.depth === 0) stack.pop();
      }
      line = source.next();
      continue;
    }

    if (text === '}') {
      // At the top level keepalived looks '}' up as a keyword (after the count's "Extra '}' found").
      if (stack.length === 1) ctx.diag.error('CONFIG_UNKNOWN_KEYWORD', "Unknown keyword '}'", pos);
      else {
        stack.pop();
        frame.close?.(frame.target, ctx, pos);
      }
      line = source.next();
      continue;
    }
    if (text === '{') {
      // keepalived ignores the brace and reads what follows at the current level; the block's
      // closing brace then ends the enclosing block. Odd, but it is what existing configs meet.
      ctx.diag.error('CONFIG_UNEXPECTED_BOB', "Unexpected '{' - ignoring", pos);
      line = source.next();
      continue;
    }

    if (frame.kind === 'values') {
      const { tokens, unmatchedQuote } = tokenize(text);
      if (unmatchedQuote) ctx.diag.error('CONFIG_UNMATCHED_QUOTE', 'Unmatched quote', pos);
      frame.value(frame.target, tokens, pos, ctx);
      line = source.next();
      continue;
    }

    const first = tokenize(text).tokens[0] ?? '';
    const def = Object.hasOwn(frame.table, first) ? frame.table[first] : undefined;
    if (!def) {
      ctx.diag.error('CONFIG_UNKNOWN_KEYWORD', `Unknown keyword '${first}'`, pos);
      line = source.next();
      continue;
    }
    const t = def.quoted ? tokenizeQuoted(text) : tokenize(text);
    if (t.unmatchedQuote && def.quoted) {
      // A script line whose quote never closes is dropped, not run in a guessed form.
      ctx.diag.error('CONFIG_UNMATCHED_QUOTE', `String '${text}': missing terminating quote`, pos);
      line = source.next();
      continue;
    }
    if (t.unmatchedQuote) ctx.diag.error('CONFIG_UNMATCHED_QUOTE', `Unmatched quote: '${text}'`, pos);
    const tokens = t.tokens;
    if (def.line) def.line(frame.target, tokens, pos, ctx);
    if (def.block) {
      const target = def.block.open(frame.target, tokens, pos, ctx);
      if (target === null || target === undefined)
        stack.push({ kind: 'skip', depth: 0, awaitingBrace: true, openPos: pos });
      else
        stack.push({
          kind: 'keywords',
          table: tableOf(def.block),
          target,
          close: def.block.close,
          awaitingBrace: true,
          openPos: pos,
        });
    } else if (def.values) {
      if (tokens.length > 1 + (def.values.args ?? 0))
        ctx.diag.error(
          'CONFIG_EXTRA_PARAMETERS',
          `Block ${tokens[0]} has extra parameters ${tokens.slice(1 + (def.values.args ?? 0)).join(' ')} ...`,
          pos,
        );
      const target = def.values.open(frame.target, tokens, pos, ctx);
      if (target === null || target === undefined)
        stack.push({ kind: 'skip', depth: 0, awaitingBrace: true, openPos: pos });
      else
        stack.push({
          kind: 'values',
          target,
          value: def.values.value,
          close: def.values.close,
          awaitingBrace: true,
          openPos: pos,
        });
    }
    line = source.next();
  }
  ctx.diag.secondPassPiece = undefined;
  if (ctx.diag.aborted) ctx.diag.abortedIn ??= top;
  // A skip frame waiting for its '{' at EOF counts as opened: fix awaiting frames first.
  const open = stack.length - 1;
  if (open > 0 && !ctx.diag.aborted) {
    ctx.diag.error('CONFIG_MISSING_EOB', `There are ${open} missing '}'s or extra '{'s`);
    while (stack.length > 1) {
      const f = stack.pop()!;
      if (f.kind !== 'skip' && !f.awaitingBrace) f.close?.(f.target, ctx, lastPos);
    }
  }
}
