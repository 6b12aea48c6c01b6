// `$NAME=value` definitions and their expansion (keepalived.conf(5), "ADVANCED CONFIGURATION").
// A use is `$NAME` followed by a blank, `,`, `)` or end of line, or `${NAME}`; undefined names stay
// as written; expansion is recursive. Multi-line definitions end each line but the last in `\`.
// Predefined: ${_PWD} ${_INSTANCE} ${_RANDOM [MIN [MAX]]} ${_ENV VAR} ${_HASH} ${_BANG}.

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Bound on what one line may expand to; keepalived's own lines are at most 1 KiB. */
const MAX_EXPANDED_CHARS = 1 << 20;
const PREDEFINED = new Set(['_PWD', '_INSTANCE', '_HASH', '_BANG', '_ENV', '_RANDOM']);

class ExpansionTooLarge extends Error {}

export type SubstituteResult = { ok: true; lines: string[] } | { ok: false; error: string };
/** `${_HASH}`/`${_BANG}` must survive the re-decommenting of a substituted line. */
const HASH_MARK = '\u0001';
const BANG_MARK = '\u0002';

export interface DefinitionsEnv {
  configId: string;
  env: Record<string, string | undefined>;
  seed: number;
  currentDir: () => string;
}

export class Definitions {
  readonly #values = new Map<string, string[]>();
  readonly #env: DefinitionsEnv;
  #collectingName: string | null = null;
  #rng: number;

  constructor(env: DefinitionsEnv) {
    this.#env = env;
    this.#rng = env.seed >>> 0 || 1;
  }

  get collecting(): boolean {
    return this.#collectingName !== null;
  }

  /** Handles a line starting with `$`: a definition, a bad definition, or not a definition at all. */
  tryDefine(text: string): 'defined' | 'bad' | 'not-a-definition' {
    const eq = text.indexOf('=');
    if (eq < 0) return 'not-a-definition';
    const name = text.slice(1, eq);
    if (!NAME_RE.test(name)) return /\s/.test(name) ? 'not-a-definition' : 'bad';
    let value = text.slice(eq + 1).trim();
    if (value.endsWith('\\')) {
      value = value.slice(0, -1).trim();
      this.#values.set(name, value ? [value] : []);
      this.#collectingName = name;
    } else {
      this.#values.set(name, [value]);
    }
    return 'defined';
  }

  /** Feeds the next raw line of a multi-line definition. */
  continueMultiline(text: string): void {
    const name = this.#collectingName!;
    const lines = this.#values.get(name)!;
    let t = text.trim();
    const more = t.endsWith('\\');
    if (more) t = t.slice(0, -1).trim();
    if (t) lines.push(t);
    if (!more) this.#collectingName = null;
  }

  /**
   * Expands every use in `text`. A multi-line definition standing alone on the line yields its lines;
   * elsewhere its lines are joined by spaces. A definition is never expanded inside its own value (so
   * `$A=$A x` terminates), and the result is bounded in size.
   */
  substitute(text: string): SubstituteResult {
    try {
      const lines = this.#substitute(text, new Set(), { chars: 0 });
      return { ok: true, lines };
    } catch (e) {
      if (e instanceof ExpansionTooLarge) return { ok: false, error: e.message };
      throw e;
    }
  }

  #substitute(text: string, active: ReadonlySet<string>, budget: { chars: number }): string[] {
    const alone = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(text);
    if (alone) {
      const name = alone[1] ?? alone[2]!;
      const v = this.#values.get(name);
      if (v && v.length !== 1 && !active.has(name)) {
        const inner = new Set(active).add(name);
        return v.flatMap((l) => this.#substitute(l, inner, budget));
      }
    }
    return [this.#expand(text, active, budget)];
  }

  /** Runs `fn` with `names` temporarily defined as `values` (the loop variables of ~SEQ/~LST). */
  withBindings<T>(names: string[], values: string[], fn: () => T): T {
    const saved = names.map((n) => this.#values.get(n));
    names.forEach((n, i) => {
      this.#values.set(n, [values[i] ?? '']);
    });
    try {
      return fn();
    } finally {
      names.forEach((n, i) => {
        const old = saved[i];
        if (old === undefined) this.#values.delete(n);
        else this.#values.set(n, old);
      });
    }
  }

  /** Puts back the literal `#` and `!` of ${_HASH}/${_BANG} after re-decommenting. */
  restoreLiterals(text: string): string {
    return text.replaceAll(HASH_MARK, '#').replaceAll(BANG_MARK, '!');
  }

  #expand(text: string, active: ReadonlySet<string>, budget: { chars: number }): string {
    if (!text.includes('$')) return this.#charge(text, budget);
    let out = '';
    const user = (name: string): string | undefined => {
      if (active.has(name)) return undefined;
      const v = this.#values.get(name);
      return v === undefined ? undefined : this.#expand(v.join(' '), new Set(active).add(name), budget);
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '$' && text[i + 1] === '{') {
        const end = text.indexOf('}', i + 2);
        if (end > 0) {
          const inner = text.slice(i + 2, end).trim();
          const v = PREDEFINED.has(inner.split(/\s+/, 1)[0]!) ? this.#predefined(inner) : user(inner);
          if (v !== undefined) {
            out += v;
            i = end;
            continue;
          }
        }
      } else if (ch === '$') {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1, i + 130));
        if (m) {
          const after = text[i + 1 + m[0].length];
          const boundary =
            after === undefined || after === ' ' || after === '\t' || after === ',' || after === ')';
          const v = boundary ? user(m[0]) : undefined;
          if (v !== undefined) {
            out += v;
            i += m[0].length;
            continue;
          }
        }
      }
      out += ch;
    }
    return this.#charge(out, budget);
  }

  /** Counts produced characters against the bound; past it the expansion is abandoned. */
  #charge(text: string, budget: { chars: number }): string {
    budget.chars += text.length;
    if (budget.chars > MAX_EXPANDED_CHARS)
      throw new ExpansionTooLarge(
        `definition expansion exceeds ${MAX_EXPANDED_CHARS} characters - ignoring line`,
      );
    return text;
  }

  #predefined(inner: string): string | undefined {
    const [name, ...args] = inner.split(/\s+/);
    switch (name) {
      case '_PWD':
        return this.#env.currentDir();
      case '_INSTANCE':
        return this.#env.configId;
      case '_HASH':
        return HASH_MARK;
      case '_BANG':
        return BANG_MARK;
      case '_ENV':
        return args[0] ? (this.#env.env[args[0]] ?? '') : '';
      case '_RANDOM': {
        const min = args[0] !== undefined ? Number.parseInt(args[0], 10) : 0;
        const max = args[1] !== undefined ? Number.parseInt(args[1], 10) : 32767;
        if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) return undefined;
        return String(min + (this.#nextRandom() % (max - min + 1)));
      }
      default:
        return undefined;
    }
  }

  /** xorshift32: reproducible for a given random_seed, which is all keepalived promises. */
  #nextRandom(): number {
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x >>> 0;
    return this.#rng;
  }
}
