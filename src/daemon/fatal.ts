// What a daemon that must die does: an exception no handler expected (escalated from a native callback by
// src/net/escalate.ts, or thrown anywhere else on the event loop) or a promise rejected with nobody
// listening. Carrying on in an unknown state could hold a VIP beside the new master; exiting without
// releasing would leave the VIPs on the interfaces while a backup takes them — the same address held twice.
// So: one line saying why, the VIPs (routes, rules, VMACs) released unless -V, exit code 1.
import { CallbackError } from '../net/escalate.js';

export const EXIT_FATAL = 1;
/** The release gets this long; then the process exits anyway. */
const RELEASE_TIMEOUT_MS = 4000;

export interface FatalHooks {
  /** Logs the one line (and flushes the log). */
  report: (line: string) => void;
  /** Releases what the daemon holds; may be slow or fail. */
  release: () => Promise<void>;
  /** Last words before exit (pid files, log close). */
  exit: (code: number) => never;
}

/** The one line for an error: where, what, and the first frame of the original stack. */
export function fatalLine(kind: string, e: unknown): string {
  const cause = e instanceof CallbackError ? e.cause : e;
  const where = e instanceof CallbackError ? ` in ${e.where}` : '';
  const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  const frame =
    cause instanceof Error
      ? cause.stack
          ?.split('\n')
          .find((l) => /^\s+at /.test(l))
          ?.trim()
      : '';
  return `Fatal ${kind}${where}: ${message}${frame ? ` (${frame})` : ''}; releasing addresses and exiting`;
}

/** Installs the process-wide handlers; returns the function that runs the same path on demand. */
export function installFatalHandler(hooks: FatalHooks): (kind: string, e: unknown) => void {
  let dying = false;
  const die = (kind: string, e: unknown) => {
    if (dying) {
      // A second error while releasing: said, but the release already under way goes on.
      hooks.report(fatalLine(`${kind} while stopping`, e).replace(/; releasing addresses and exiting$/, ''));
      return;
    }
    dying = true;
    hooks.report(fatalLine(kind, e));
    const deadline = setTimeout(() => hooks.exit(EXIT_FATAL), RELEASE_TIMEOUT_MS);
    hooks
      .release()
      .catch((err: unknown) => hooks.report(fatalLine('error while releasing', err)))
      .finally(() => {
        clearTimeout(deadline);
        hooks.exit(EXIT_FATAL);
      });
  };
  process.on('uncaughtException', (e) => die('error', e));
  process.on('unhandledRejection', (e) => die('unhandled rejection', e));
  return die;
}
