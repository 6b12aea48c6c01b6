// Configuration diagnostics: every message carries a stable code, a severity class that maps onto
// keepalived's config-test exit codes, and the place (file and line) it concerns.

/**
 * keepalived's classes: `abort` is a keyword missing its required parameter, which stops keepalived
 * 2.2.7's parser on the spot (exit 2); a fatal error means the daemon cannot run (exit 4), a plain error or warning
 * means it would run with the offending part dropped or defaulted (exit 5), and a script-security error
 * exits 6.
 */
export type Severity = 'abort' | 'fatal' | 'error' | 'warning' | 'security' | 'info';

/**
 * Every diagnostic's stable code: tools and tests match on these, so a code is never reused for another
 * meaning; a new message gets a new member here.
 */
export type DiagnosticCode =
  | 'CONFIG_ADVERT_INT'
  | 'CONFIG_AUTH'
  | 'CONFIG_BAD_IF'
  | 'CONFIG_BAD_INCLUDE'
  | 'CONFIG_BAD_REPEAT'
  | 'CONFIG_DEFINITION_LIMIT'
  | 'CONFIG_DEPARTURE'
  | 'CONFIG_DEPRECATED'
  | 'CONFIG_DUPLICATE_INSTANCE'
  | 'CONFIG_DUPLICATE_TRACK'
  | 'CONFIG_DUPLICATE_VRID'
  | 'CONFIG_EMBEDDED_NUL'
  | 'CONFIG_EXPANSION_LIMIT'
  | 'CONFIG_EXTRA_PARAMETERS'
  | 'CONFIG_FILE_NOT_FOUND'
  | 'CONFIG_IGNORED_WEIGHT'
  | 'CONFIG_INCLUDE_CYCLE'
  | 'CONFIG_INCLUDE_DEPTH'
  | 'CONFIG_INCLUDE_DIRECTORY'
  | 'CONFIG_INCLUDE_EXECUTABLE'
  | 'CONFIG_INVALID_ADDRESS'
  | 'CONFIG_INVALID_NUMBER'
  | 'CONFIG_INVALID_PREFIX'
  | 'CONFIG_INVALID_PRIORITY'
  | 'CONFIG_INVALID_VALUE'
  | 'CONFIG_LINE_TOO_LONG'
  | 'CONFIG_MISSING_BOB'
  | 'CONFIG_MISSING_EOB'
  | 'CONFIG_MISSING_PARAMETER'
  | 'CONFIG_NOT_RUN'
  /** A keyword accepted for compatibility whose effect this version does not implement. */
  | 'CONFIG_NO_EFFECT'
  | 'CONFIG_NO_MISC_PATH'
  | 'CONFIG_NO_SCRIPT'
  | 'CONFIG_NO_URL'
  | 'CONFIG_NO_VIP'
  | 'CONFIG_NO_VRID'
  | 'CONFIG_PEER_FAMILY'
  | 'CONFIG_PREEMPT'
  | 'CONFIG_ROUTE_FAMILY'
  | 'CONFIG_ROUTE_UNTRACKED'
  | 'CONFIG_RS_FAMILY'
  | 'CONFIG_RULE_PREFERENCE'
  | 'CONFIG_SCRIPT_NOT_FOUND'
  | 'CONFIG_SCRIPT_SECURITY'
  | 'CONFIG_SCRIPT_USER'
  | 'CONFIG_SRC_FAMILY'
  | 'CONFIG_STRICT'
  | 'CONFIG_SYNC_GROUP'
  | 'CONFIG_TOO_MANY_ERRORS'
  | 'CONFIG_TRACK_NOT_FOUND'
  | 'CONFIG_TRUNCATED'
  | 'CONFIG_UNEXPECTED_BOB'
  | 'CONFIG_UNEXPECTED_EOB'
  | 'CONFIG_UNKNOWN_KEYWORD'
  | 'CONFIG_UNKNOWN_SCHEDULER'
  | 'CONFIG_UNKNOWN_TABLE'
  | 'CONFIG_UNMATCHED_QUOTE'
  | 'CONFIG_VALUE_CLAMPED'
  | 'CONFIG_VIPS_EXCEED_PACKET'
  /** A VRRPv3 or strict instance without a VIP: keepalived 2.2.7's VRRP process stops (VRRP_STOPPING_CODES). */
  | 'CONFIG_VIP_REQUIRED'
  | 'CONFIG_VIP_FAMILY'
  | 'CONFIG_VSG_FAMILY'
  | 'CONFIG_VS_FAMILY'
  | 'CONFIG_VS_GROUP'
  | 'CONFIG_VS_METHOD'
  | 'CONFIG_VS_NO_REAL'
  | 'CONFIG_VS_OPS'
  | 'CONFIG_VS_PORT'
  | 'CONFIG_VS_PROTOCOL'
  | 'CONFIG_VS_QUORUM'
  /** Where the `protocol` keepalived ignores in a fwmark virtual server is (a note after its warning). */
  | 'CONFIG_VS_PROTOCOL_IGNORED'
  | 'CONFIG_VS_SCHEDULER';

/**
 * Diagnostics on which keepalived 2.2.7's VRRP process stops with a configuration error and the daemon exits 2,
 * though `-t` exits 5 (docs/config-meaning.md, 'Instances keepalived refuses to run'): an instance without
 * an interface, or with one this host lacks; without a VRID; VRRPv3 or strict without a VIP.
 */
export const VRRP_STOPPING_CODES: ReadonlySet<DiagnosticCode> = new Set([
  'CONFIG_BAD_IF',
  'CONFIG_NO_VRID',
  'CONFIG_VIP_REQUIRED',
]);

export interface SourcePos {
  file: string;
  line: number;
}

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  /** Absent for messages that concern the whole configuration. */
  pos?: SourcePos;
  /** Said while reading a piece of a first-pass line that keepalived reads in its second pass (named). */
  named?: boolean;
}

/** Enough for any real file's problems; a hostile one gets this many and a note. */
export const MAX_DIAGNOSTICS = 100_000;

export const ExitCode = {
  ok: 0,
  parseAborted: 2,
  cannotRun: 4,
  errorsButRuns: 5,
  scriptSecurity: 6,
} as const;

export class Diagnostics {
  readonly list: Diagnostic[] = [];
  /** Files that took part in the configuration; with more than one, messages name the file. */
  readonly files = new Set<string>();

  add(severity: Severity, code: DiagnosticCode, message: string, pos?: SourcePos): void {
    if (severity === 'abort') this.#aborted = true;
    this.#seen.add(severity);
    // A hostile file can produce a diagnostic per line; past the cap only the exit code keeps track.
    if (this.list.length >= MAX_DIAGNOSTICS) {
      if (this.list.length === MAX_DIAGNOSTICS)
        this.list.push({
          code: 'CONFIG_TOO_MANY_ERRORS',
          severity: 'info',
          message: `more than ${MAX_DIAGNOSTICS} messages; the rest are not shown`,
        });
      return;
    }
    const cur = this.secondPassPiece;
    const named =
      severity !== 'info' &&
      pos !== undefined &&
      cur !== undefined &&
      cur.file === pos.file &&
      cur.line === pos.line;
    this.list.push(
      pos ? { code, severity, message, pos, ...(named ? { named: true } : {}) } : { code, severity, message },
    );
  }
  /**
   * Set by the parser while it reads the rest of a top-level line after its `{` (`virtual_server … { // x`):
   * keepalived reads that piece in its checker's or VRRP process's pass, whose messages name the file.
   */
  secondPassPiece: SourcePos | undefined;
  error(code: DiagnosticCode, message: string, pos?: SourcePos): void {
    this.add('error', code, message, pos);
  }
  warn(code: DiagnosticCode, message: string, pos?: SourcePos): void {
    this.add('warning', code, message, pos);
  }
  note(code: DiagnosticCode, message: string, pos?: SourcePos): void {
    this.add('info', code, message, pos);
  }
  /** keepalived 2.2.7 stops parsing when a keyword lacks its required parameter. */
  missingParameter(keyword: string, pos: SourcePos): void {
    this.add(
      'abort',
      'CONFIG_MISSING_PARAMETER',
      `*** Configuration line starting \`${keyword}\` is missing a parameter after keyword \`${keyword}\` at word position 2`,
      pos,
    );
  }
  fatal(code: DiagnosticCode, message: string, pos?: SourcePos): void {
    this.add('fatal', code, message, pos);
  }

  #aborted = false;
  readonly #seen = new Set<Severity>();
  /** The top-level keyword (`virtual_server`, `vrrp_instance` …) in whose block parsing stopped. */
  abortedIn: string | undefined;

  /** True once a diagnostic has stopped parsing (checked once per line, so kept, not searched). */
  get aborted(): boolean {
    return this.#aborted;
  }

  exitCode(): number {
    if (this.aborted) return ExitCode.parseAborted;
    if (this.#seen.has('fatal')) return ExitCode.cannotRun;
    if (this.#seen.has('security')) return ExitCode.scriptSecurity;
    if (this.#seen.has('error') || this.#seen.has('warning')) return ExitCode.errorsButRuns;
    return ExitCode.ok;
  }

  /** The main file: its absolute path, and the name it was given by (`-f`), which keepalived prints. */
  mainFile: { abs: string; given: string } | undefined;
  readonly #firstPass = new Set<string>();

  /**
   * A line keepalived 2.2.7 reads in its first pass over the file (the top level and global_defs): its
   * messages there say `(Line N)` for a single file; its checker and VRRP processes read the file again
   * from a copy that names it, and say `(FILE: Line N)` (docs/config-meaning.md, 'Where a message points').
   */
  firstPass(pos: SourcePos): void {
    this.#firstPass.add(`${pos.file}:${pos.line}`);
  }

  /** keepalived's format: `(FILE: Line N) msg`, or `(Line N) msg` for the main file in its first pass. */
  format(d: Diagnostic): string {
    // Notes are our own additions where keepalived is silent; they name the place in a form that is
    // not keepalived's, so tools that read keepalived's report see what keepalived would say.
    if (d.severity === 'info')
      return d.pos ? `note: ${d.pos.file}:${d.pos.line}: ${d.message}` : `note: ${d.message}`;
    if (!d.pos) return d.message;
    // Bare only for the main file in the first pass (even when it includes others, which are named).
    const main = this.mainFile === undefined ? this.files.size <= 1 : d.pos.file === this.mainFile.abs;
    const named = d.named || !main || !this.#firstPass.has(`${d.pos.file}:${d.pos.line}`);
    const file = d.pos.file === this.mainFile?.abs ? this.mainFile.given : d.pos.file;
    return `(${named ? `${file}: Line ${d.pos.line}` : `Line ${d.pos.line}`}) ${d.message}`;
  }
}
