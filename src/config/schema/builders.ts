// Small builders for keyword definitions, so the tables read as a schema: name → type, range, field.
import type { SourcePos } from '../diagnostics.js';
import { NO_OTHER, type ScriptSpec } from '../model.js';
import type { KeywordDef, KeywordDoc, ParseCtx } from '../parser.js';
import { groupExists, userExists } from '../script-security.js';
import { type Read, readBool, readDecimalScaled, readInt, readTimerUs, readUnsigned } from '../values.js';

type Setter<T> = (target: any, value: T, pos: SourcePos) => void;

function field<T>(name: string): Setter<T> {
  return (target, value) => {
    target[name] = value;
  };
}

function report(ctx: ParseCtx, kw: string, r: { ok: false; error: string }, pos: SourcePos): void {
  ctx.diag.error('CONFIG_INVALID_VALUE', `${kw}: ${r.error}`, pos);
}

/** The manual's entry for a keyword: the field is named only when the builder got its name. */
function doc(set: unknown, d: KeywordDoc): KeywordDoc {
  return typeof set === 'string' ? { ...d, field: set } : d;
}

function withValue<T>(
  read: (s: string | undefined) => Read<T>,
  set: Setter<T> | string,
  d: KeywordDoc,
): KeywordDef {
  const setter = typeof set === 'string' ? field<T>(set) : set;
  return {
    doc: doc(set, d),
    line: (target, tokens, pos, ctx) => {
      if (tokens[1] === undefined) {
        ctx.diag.missingParameter(tokens[0]!, pos);
        return;
      }
      const r = read(tokens[1]);
      if (!r.ok) report(ctx, tokens[0]!, r, pos);
      else setter(target, r.value, pos);
    },
  };
}

export const int = (set: Setter<number> | string, min: number, max: number): KeywordDef =>
  withValue((s) => readInt(s, min, max), set, { args: 'INTEGER', range: `${min}..${max}` });

/** Decimal seconds → integer microseconds. */
export const timerUs = (set: Setter<number> | string, minS = 0, maxS = 4294.967295): KeywordDef =>
  withValue((s) => readTimerUs(s, minS, maxS), set, {
    args: 'SECONDS',
    range: `${minS}..${maxS} s`,
    fieldInUs: true,
  });

/** Decimal seconds with `decimals` places → seconds as a float (for options we only carry). */
export const seconds = (
  set: Setter<number> | string,
  decimals: number,
  minS: number,
  maxS: number,
): KeywordDef =>
  withValue(
    (s) => {
      const r = readDecimalScaled(s, decimals, minS, maxS);
      return r.ok ? { ok: true, value: r.value / 10 ** decimals } : r;
    },
    set,
    { args: 'SECONDS', range: `${minS}..${maxS} s, ${decimals} decimal places` },
  );

export const str = (set: Setter<string> | string): KeywordDef =>
  withValue(
    (s) => (s === undefined ? { ok: false, error: 'missing parameter' } : { ok: true, value: s }),
    set,
    { args: 'STRING' },
  );

/**
 * A flag keyword as most of keepalived 2.2.7's are: present means set, and whatever follows on the line is
 * ignored — `nopreempt // 非抢占` disables preemption, `nopreempt false` too (docs/config-meaning.md).
 */
export function flag(set: Setter<boolean> | string, value = true): KeywordDef {
  const setter = typeof set === 'string' ? field<boolean>(set) : set;
  return {
    doc: doc(set, {}),
    line: (target, _tokens, pos) => {
      setter(target, value, pos);
    },
  };
}

/**
 * A flag keyword that keepalived reads an optional boolean for (true/on/yes, false/off/no): present alone
 * means set; anything else after it is an error and the keyword is ignored.
 */
export function boolFlag(set: Setter<boolean> | string, value = true): KeywordDef {
  const setter = typeof set === 'string' ? field<boolean>(set) : set;
  return {
    doc: doc(set, { args: '[true|false]' }),
    line: (target, tokens, pos, ctx) => {
      if (tokens[1] === undefined) {
        setter(target, value, pos);
        return;
      }
      const r = readBool(tokens[1]);
      if (!r.ok) report(ctx, tokens[0]!, r, pos);
      else setter(target, value ? r.value : !r.value, pos);
    },
  };
}

/**
 * The keyword's words after it, as given, into a typed `string[]` field: for values whose reading keepalived
 * defers to where they are used (a regex option list, an offset checked when the regex is compiled).
 * Presence alone means set. `minArgs` as carry().
 */
export function words(set: string, minArgs = 0): KeywordDef {
  return {
    doc: doc(set, minArgs > 0 ? { args: 'ARG...' } : {}),
    line: (target, tokens, pos, ctx) => {
      if (tokens.length - 1 < minArgs) {
        ctx.diag.error('CONFIG_MISSING_PARAMETER', `${tokens[0]} requires a parameter`, pos);
        return;
      }
      target[set] = tokens.slice(1);
    },
  };
}

/** What serves instead, for the families of carried keywords that have an alternative here. */
function insteadOf(keyword: string): string {
  if (/snmp|traps/.test(keyword))
    return '; metrics_listen serves the same states and counters as Prometheus metrics and JSON (docs/operating.md)';
  if (/dbus/.test(keyword))
    return '; the status API (metrics_listen, docs/operating.md) shows the instances and their states';
  return '';
}

/**
 * Accepted and carried in `other` (keywords whose effect the daemon does not model yet): `-t` and the daemon's
 * start say so on a `note:` line, so that an operator never takes silence for the setting taking effect.
 */
export function carry(minArgs = 0): KeywordDef {
  return {
    doc: { carried: true, ...(minArgs > 0 ? { args: 'ARG...' } : {}) },
    line: (target, tokens, pos, ctx) => {
      if (tokens.length - 1 < minArgs) {
        ctx.diag.error('CONFIG_MISSING_PARAMETER', `${tokens[0]} requires a parameter`, pos);
        return;
      }
      ctx.diag.note(
        'CONFIG_NO_EFFECT',
        `${tokens[0]} is accepted for compatibility but not implemented by keepalived-ts: it has no effect${insteadOf(tokens[0]!)}`,
        pos,
      );
      // A block starts with the shared, frozen NO_OTHER (model.ts): its own object at the first write.
      if (!target.other || target.other === NO_OTHER) target.other = {};
      target.other[tokens[0]!] = tokens.slice(1);
    },
  };
}

/** `KEYWORD "CMD ARGS" [user [group]]` or `KEYWORD CMD` (quoted re-tokenising already applied). */
export function parseScript(tokens: string[], pos: SourcePos): ScriptSpec | null {
  const cmd = tokens[1];
  if (cmd === undefined || cmd === '') return null;
  const spec: ScriptSpec = { argv: splitCommand(cmd), pos };
  if (tokens[2] !== undefined) {
    const [user, group] = tokens[2].includes(':') ? tokens[2].split(':', 2) : [tokens[2], tokens[3]];
    spec.user = user!;
    if (group) spec.group = group;
  }
  return spec;
}

/** Splits a command string as keepalived does for execution: blanks separate, quotes group. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

/**
 * A script keyword. Notify scripts take `[user [group]]` after the command; a vrrp_script's `script` takes
 * the command alone (`withUser` false) and keepalived 2.2.7 ignores every word after it, so
 * `script "/path/check.sh" // 检测脚本` runs /path/check.sh (docs/config-meaning.md).
 */
export function script(set: Setter<ScriptSpec> | string, withUser = true): KeywordDef {
  const setter = typeof set === 'string' ? field<ScriptSpec>(set) : set;
  return {
    doc: doc(set, { args: withUser ? 'SCRIPT [USER [GROUP]]' : 'SCRIPT' }),
    quoted: true,
    line: (target, tokens, pos, ctx) => {
      const s = parseScript(withUser ? tokens : tokens.slice(0, 2), pos);
      if (!s) ctx.diag.error('CONFIG_MISSING_PARAMETER', `${tokens[0]} requires a script`, pos);
      else if (
        (s.user !== undefined && !userExists(s.user)) ||
        (s.group !== undefined && !groupExists(s.group))
      )
        // keepalived 2.2.7 drops a notify script whose user or group does not exist (so a trailing
        // `// comment` drops it: `//` is read as the user); it logs this, it is not a -t error.
        ctx.diag.note(
          'CONFIG_SCRIPT_USER',
          `Invalid user/group for notify script ${s.argv[0] ?? ''} - ignoring`,
          pos,
        );
      else setter(target, s, pos);
    },
  };
}

export function userGroup(set: Setter<{ user: string; group?: string }> | string): KeywordDef {
  const setter = typeof set === 'string' ? field<{ user: string; group?: string }>(set) : set;
  return {
    doc: doc(set, { args: 'USER [GROUP]' }),
    line: (target, tokens, pos, ctx) => {
      const u = tokens[1];
      if (!u) {
        ctx.diag.error('CONFIG_MISSING_PARAMETER', `${tokens[0]} requires a user`, pos);
        return;
      }
      const [user, group] = u.includes(':') ? u.split(':', 2) : [u, tokens[2]];
      setter(target, group ? { user: user!, group } : { user: user! }, pos);
    },
  };
}

/** A keyword that is valid but only logs a deprecation. */
export function deprecated(message: string, then?: KeywordDef): KeywordDef {
  return {
    ...then,
    doc: { ...then?.doc, deprecated: true },
    line: (target, tokens, pos, ctx) => {
      ctx.diag.warn('CONFIG_DEPRECATED', message, pos);
      then?.line?.(target, tokens, pos, ctx);
    },
  };
}

/**
 * garp_extra_if / vrrp_garp_extra_if `SECONDS [all]` and their deprecated spellings (vmac_garp_intvl,
 * vrrp_vmac_garp_intvl), read as keepalived 2.2.7 reads them: words in any order, the last number wins, `all`
 * sticks even when the line is then rejected; a bad word or no number ignores the line's time
 * (docs/keepalived-semantics.md, 'GARP and unsolicited NA').
 */
export function garpExtraIf(opts: {
  min: number;
  /** The keyword's current spelling, named by the deprecated one's warning. */
  current: string;
  /** "(VI_1): " for an instance, "" in global_defs. */
  prefix: (target: any) => string;
  /** The fields set: the seconds, and `all` (true). */
  field: string;
  allField: string;
  deprecated?: boolean;
}): KeywordDef {
  return {
    doc: {
      args: 'SECONDS [all]',
      range: `${opts.min}..86400`,
      field: opts.field,
      deprecated: opts.deprecated,
    },
    line: (target, tokens, pos, ctx) => {
      const kw = tokens[0]!;
      if (opts.deprecated)
        ctx.diag.warn(
          'CONFIG_DEPRECATED',
          `Keyword "${kw}" is deprecated - please use "${opts.current}"`,
          pos,
        );
      let seconds: number | undefined;
      for (const word of tokens.slice(1)) {
        if (word === 'all') {
          target[opts.allField] = true;
          continue;
        }
        const r = readUnsigned(word, opts.min, 86400);
        if (!r.ok) {
          ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `${opts.prefix(target)}${kw} '${word}' invalid - ignoring`,
            pos,
          );
          return;
        }
        seconds = r.value;
      }
      // The global keyword takes 0 as "no time" too (its range starts at 1).
      if (seconds === undefined || (opts.min > 0 && seconds === 0))
        return ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `${opts.prefix(target)}${kw} specified without time - ignoring`,
          pos,
        );
      target[opts.field] = seconds;
    },
  };
}
