// Runs a configuration test (`-t -f FILE`) with the reference keepalived (Debian 2.2.7) or with ours,
// inside a namespace whose only interfaces are `lo` and `eth0`, and reduces the stderr to the set of
// source locations the messages flag, so the two implementations can be compared line-for-line.
//
// Normalisation of locations (decided from real 2.2.7 output, see test/data/config-cases/SURVEY.md):
// * `(FILE: Line N) text` → key `basename(FILE):N`. keepalived prints FILE as the path it opened: the main
//   file as given on the command line, included files as written in the include line (often relative),
//   so only the basename is comparable between implementations.
// * `(Line N) text` → key `basename(mainFile):N`. keepalived 2.2.7 uses this bare form only during its
//   first (global_defs) pass and only for lines of the main file (included files are named even there).
// * Lines without a location (post-parse validation such as "(VI_1) State MASTER must match being address
//   owner") are kept in `unlocated` but are not part of `flaggedLines`.
// keepalived parses the file once per subsystem, so the same message may repeat; a set hides that.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REFERENCE_KEEPALIVED = '/usr/sbin/keepalived';
/** Ours; KATS_OURS_BIN may point at another node entry script (e.g. to check the harness itself). */
export const OURS_BIN = process.env.KATS_OURS_BIN ?? join(REPO_ROOT, 'bin', 'keepalived-ts');
export const CASES_DIR = join(REPO_ROOT, 'test', 'data', 'config-cases');
/**
 * Where keepalived's sample configurations (its doc/samples, GPL-2.0, not copied into this repository) are
 * found at run time: shared/corpus/keepalived-samples beside the repository, here and in CI's fresh clone;
 * KATS_SHARED_DIR overrides.
 */
export const SHARED_DIR = process.env.KATS_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');
export const CORPUS_DIR = join(SHARED_DIR, 'corpus', 'keepalived-samples');

/** Per-run options; cases declare them in header comments (see readCaseOptions). */
export interface ConfigTestOptions {
  /** `-i ID`: the config id that `@ID` / `@^ID` lines are matched against. */
  configId?: string;
  /** Extra environment variables for `${_ENV NAME}`. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /**
   * Set (from `# kats-reference-crashes: WHY`) when the reference keepalived 2.2.7 segfaults or hangs on
   * the case, so there is no reference behaviour to conform to.
   */
  referenceCrashes?: string;
  /**
   * Set (from `# kats-reference-differs: WHY`) where keepalived-ts deliberately departs from 2.2.7: a
   * feature 2.2.7 lacks (`${_ENV}`), or a 2.2.7 defect (no include-cycle detection, line numbers that
   * drift after an over-long line). Such a case states its own oracle with `# kats-expect-exit: N`
   * and `# kats-expect-lines: a b …` (basename:line keys, or bare numbers for the main file).
   */
  referenceDiffers?: string;
  expectExit?: number;
  expectLines?: string[];
}

export interface LocatedMessage {
  /** The file exactly as printed, or null for the bare `(Line N)` form. */
  file: string | null;
  line: number;
  text: string;
}

export interface ConfigTestResult {
  /** Process exit status; null if it was killed (timeout or signal). */
  exitCode: number | null;
  /** Signal that ended the process (SIGSEGV, or SIGTERM when the timeout killed it), else null. */
  signal: string | null;
  /** Normalised `basename:line` keys of every located message. */
  flaggedLines: Set<string>;
  rawStderr: string;
  messages: LocatedMessage[];
  unlocated: string[];
}

const LOCATED = /^\((?:(.+): )?Line (\d+)\) ?(.*)$/;

/** Splits config-test stderr into located and unlocated messages and the normalised location keys. */
export function parseConfigTestStderr(
  stderr: string,
  mainFile: string,
): Pick<ConfigTestResult, 'flaggedLines' | 'messages' | 'unlocated'> {
  const messages: LocatedMessage[] = [];
  const unlocated: string[] = [];
  const flaggedLines = new Set<string>();
  for (const raw of stderr.split('\n')) {
    const text = raw.replace(/\r$/, '');
    if (text.trim() === '') continue;
    const m = LOCATED.exec(text);
    if (!m) {
      unlocated.push(text);
      continue;
    }
    const file = m[1] ?? null;
    const line = Number(m[2]);
    messages.push({ file, line, text: m[3] ?? '' });
    flaggedLines.add(`${basename(file ?? mainFile)}:${line}`);
  }
  return { flaggedLines, messages, unlocated };
}

/** Reads the `# kats-…:` directives (config id, env, reference crashes/differences, own oracle) from a case file's header. */
export function readCaseOptions(file: string): ConfigTestOptions {
  const opts: ConfigTestOptions = {};
  const head = readFileSync(file, 'latin1').split('\n').slice(0, 15);
  for (const line of head) {
    const id = /^# kats-config-id: (\S+)/.exec(line);
    if (id?.[1]) opts.configId = id[1];
    const crash = /^# kats-reference-crashes: (.+)$/.exec(line);
    if (crash?.[1]) opts.referenceCrashes = crash[1];
    const differs = /^# kats-reference-differs: (.+)$/.exec(line);
    if (differs?.[1]) opts.referenceDiffers = differs[1];
    const exit = /^# kats-expect-exit: (\d+)$/.exec(line);
    if (exit?.[1]) opts.expectExit = Number(exit[1]);
    const lines = /^# kats-expect-lines:(.*)$/.exec(line);
    if (lines) {
      const main = basename(file);
      opts.expectLines = (lines[1] ?? '')
        .trim()
        .split(/\s+/)
        .filter((w) => w.length > 0)
        .map((w) => (/^\d+$/.test(w) ? `${main}:${w}` : w));
    }
    const env = /^# kats-env: ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (env?.[1]) {
      opts.env ??= {};
      opts.env[env[1]] = env[2] ?? '';
    }
  }
  return opts;
}

export interface ConformanceCase {
  /** `corpus/<sample>` or `case/<name>`. */
  name: string;
  /** Absolute path of the main config file. */
  file: string;
  options: ConfigTestOptions;
}

/** Corpus samples, then our cases: `NAME.conf`, or `NAME/keepalived.conf` for multi-file cases. */
export function listConformanceCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  if (existsSync(CORPUS_DIR)) {
    for (const f of readdirSync(CORPUS_DIR).sort()) {
      const file = join(CORPUS_DIR, f);
      out.push({ name: `corpus/${f}`, file, options: {} });
    }
  }
  for (const entry of readdirSync(CASES_DIR).sort()) {
    const p = join(CASES_DIR, entry);
    let file: string | undefined;
    if (statSync(p).isDirectory()) {
      const main = join(p, 'keepalived.conf');
      if (existsSync(main)) file = main;
    } else if (entry.endsWith('.conf')) file = p;
    if (file)
      out.push({ name: `case/${entry.replace(/\.conf$/, '')}`, file, options: readCaseOptions(file) });
  }
  return out;
}

export function referenceAvailable(): boolean {
  return existsSync(REFERENCE_KEEPALIVED);
}

const NOFILE_LIMIT = 1024;

interface RunOutcome {
  code: number | null;
  signal: string | null;
  stderr: string;
}

function run(
  ns: string,
  argv: string[],
  opts: ConfigTestOptions,
  defaultTimeoutMs: number,
): Promise<RunOutcome> {
  return new Promise((resolveRun) => {
    execFile(
      'ip',
      // RLIMIT_NOFILE pinned: include cycles recurse until EMFILE, and node raises its own soft limit
      // (inherited by children) to the hard limit, which would make those runs huge and slow.
      ['netns', 'exec', ns, 'prlimit', `--nofile=${NOFILE_LIMIT}`, '--', ...argv],
      {
        cwd: '/',
        encoding: 'latin1',
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? defaultTimeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const signal = err?.signal ?? null;
        resolveRun({ code, signal, stderr: String(stderr) });
      },
    );
  });
}

function toResult(outcome: RunOutcome, file: string): ConfigTestResult {
  const { code, signal, stderr } = outcome;
  return { exitCode: code, signal, rawStderr: stderr, ...parseConfigTestStderr(stderr, file) };
}

/**
 * Real keepalived: `-t -f FILE -n -l`, plus pid-file paths in a throw-away directory. (strace of 2.2.7
 * `-t` shows it writes no pid file at all; the paths are only a guard should that ever change.)
 */
export async function runReferenceConfigTest(
  ns: string,
  file: string,
  opts: ConfigTestOptions = {},
): Promise<ConfigTestResult> {
  const pidDir = mkdtempSync(join(tmpdir(), 'kats-ref-'));
  try {
    const argv = [REFERENCE_KEEPALIVED, '-t', '-f', file, '-n', '-l'];
    argv.push('-p', join(pidDir, 'k.pid'), '-r', join(pidDir, 'v.pid'));
    argv.push('-c', join(pidDir, 'c.pid'), '-b', join(pidDir, 'b.pid'));
    if (opts.configId !== undefined) argv.push('-i', opts.configId);
    // keepalived -t answers in ~15 ms; a few cases make 2.2.7 hang, so do not wait long.
    return toResult(await run(ns, argv, opts, 5_000), file);
  } finally {
    rmSync(pidDir, { recursive: true, force: true });
  }
}

/** Ours: `node bin/keepalived-ts -t -f FILE [-i ID]`. */
export async function runOursConfigTest(
  ns: string,
  file: string,
  opts: ConfigTestOptions = {},
): Promise<ConfigTestResult> {
  const argv = [process.execPath, OURS_BIN, '-t', '-f', file];
  if (opts.configId !== undefined) argv.push('-i', opts.configId);
  return toResult(await run(ns, argv, opts, 20_000), file);
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping input order in the result. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}
