// glob(3) with GLOB_BRACE as keepalived's `include` uses it: csh brace alternatives expanded first,
// then `*`, `?` and `[…]` matched per path segment; a leading dot is matched only explicitly; each
// pattern's matches come sorted, patterns in brace order.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** More alternatives than any real include needs; a pattern past it is refused, not expanded. */
export const MAX_BRACE_ALTERNATIVES = 4096;

/** `a{b,c{d,e}}f` → `abf`, `acdf`, `acef`. Unbalanced braces are taken literally. */
export function expandBraces(pattern: string, limit = MAX_BRACE_ALTERNATIVES): string[] | null {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const inner = pattern.slice(open + 1, i);
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const alternatives = splitTopLevelCommas(inner);
        const out: string[] = [];
        for (const alt of alternatives) {
          const sub = expandBraces(head + alt + tail, limit);
          if (sub === null || out.length + sub.length > limit) return null;
          for (const x of sub) out.push(x);
        }
        return out;
      }
    }
  }
  return [pattern];
}

function splitTopLevelCommas(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

export function hasWildcard(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/** A segment's matcher; an invalid class such as `[z-a]` matches nothing, as glob(3) treats it. */
function segmentRegex(segment: string): RegExp | null {
  let re = '^';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = segment.slice(i + 1, end);
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (ch === '\\' && i + 1 < segment.length) {
      re += segment[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  try {
    return new RegExp(`${re}$`);
  } catch {
    return null;
  }
}

/** Matches one absolute or cwd-relative pattern (no braces) against the file system. */
function globOne(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s.length > 0);
  let bases = [absolute ? '/' : '.'];
  for (const seg of segments) {
    const next: string[] = [];
    for (const base of bases) {
      if (!hasWildcard(seg)) {
        next.push(join(base, seg));
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(base);
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      if (!re) continue;
      for (const e of entries.sort()) {
        if (e.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(e)) next.push(join(base, e));
      }
    }
    bases = next;
  }
  const out: string[] = [];
  for (const p of bases) {
    try {
      statSync(p);
      out.push(absolute || pattern.startsWith('./') ? p : p.replace(/^\.\//, ''));
    } catch {
      /* a literal path that does not exist is no match */
    }
  }
  return out;
}

export interface GlobMatch {
  /** The brace alternative this match came from. */
  alternative: string;
  paths: string[];
}

export type GlobResult = { ok: true; matches: GlobMatch[] } | { ok: false; error: string };

/** Expands braces, then matches each alternative. */
export function globWithBraces(pattern: string): GlobResult {
  const alternatives = expandBraces(pattern);
  if (alternatives === null)
    return { ok: false, error: `more than ${MAX_BRACE_ALTERNATIVES} brace alternatives` };
  return {
    ok: true,
    matches: alternatives.map((alternative) => ({ alternative, paths: globOne(alternative) })),
  };
}
