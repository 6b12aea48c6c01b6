// Configuration diagnostics: every message carries a stable code, a severity class that maps onto
// keepalived's config-test exit codes, and the place (file and line) it concerns.

/**
 * keepalived's classes: `abort` is a keyword missing its required parameter, which stops keepalived
 * 2.2.7's parser on the spot (exit 2); a fatal error means the daemon cannot run (exit 4), a plain error or warning
 * means it would run with the offending part dropped or defaulted (exit 5), and a script-security error
 * exits 6.
 */
export type Severity = 'abort' | 'fatal' | 'error' | 'warning' | 'security' | 'info';

export interface SourcePos {
  file: string;
  line: number;
}

export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  /** Absent for messages that concern the whole configuration. */
  pos?: SourcePos;
}

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

  add(severity: Severity, code: string, message: string, pos?: SourcePos): void {
    this.list.push(pos ? { code, severity, message, pos } : { code, severity, message });
  }
  error(code: string, message: string, pos?: SourcePos): void {
    this.add('error', code, message, pos);
  }
  warn(code: string, message: string, pos?: SourcePos): void {
    this.add('warning', code, message, pos);
  }
  note(code: string, message: string, pos?: SourcePos): void {
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
  fatal(code: string, message: string, pos?: SourcePos): void {
    this.add('fatal', code, message, pos);
  }

  /** True once a diagnostic has stopped parsing. */
  get aborted(): boolean {
    return this.list.some((d) => d.severity === 'abort');
  }

  exitCode(): number {
    let code: number = ExitCode.ok;
    if (this.aborted) return ExitCode.parseAborted;
    for (const d of this.list) {
      if (d.severity === 'fatal') return ExitCode.cannotRun;
      if (d.severity === 'security') code = ExitCode.scriptSecurity;
      else if ((d.severity === 'error' || d.severity === 'warning') && code === ExitCode.ok)
        code = ExitCode.errorsButRuns;
    }
    return code;
  }

  /** keepalived's format: `(FILE: Line N) msg` when several files are involved, else `(Line N) msg`. */
  format(d: Diagnostic): string {
    // Notes are our own additions where keepalived is silent; they name the place in a form that is
    // not keepalived's, so tools that read keepalived's report see what keepalived would say.
    if (d.severity === 'info')
      return d.pos ? `note: ${d.pos.file}:${d.pos.line}: ${d.message}` : `note: ${d.message}`;
    if (!d.pos) return d.message;
    const where = this.files.size > 1 ? `${d.pos.file}: Line ${d.pos.line}` : `Line ${d.pos.line}`;
    return `(${where}) ${d.message}`;
  }
}
