// global_defs startup_script and shutdown_script, run by the supervisor as keepalived's parent runs them: the
// startup script before any subsystem starts, the shutdown script after every subsystem has stopped; each is
// waited for up to its timeout (default 10 s), then killed, and the daemon goes on either way. The log lines
// are 2.2.7's, "script script" included (docs/operating.md, "Startup and shutdown scripts").
import type { Logger } from '../common/logger.js';
import { ownUser, ScriptRunner, terminateScript } from '../common/script-runner.js';
import type { GlobalDefs, ScriptSpec } from '../config/model.js';

export type LifecycleKind = 'startup' | 'shutdown';

/** The script of `kind` that `g` configures, with its timeout in ms; null when there is none. */
export function lifecycleScript(
  g: GlobalDefs,
  kind: LifecycleKind,
): { spec: ScriptSpec; timeoutMs: number } | null {
  const spec = kind === 'startup' ? g.startupScript : g.shutdownScript;
  if (spec === undefined) return null;
  return {
    spec,
    timeoutMs: 1000 * (kind === 'startup' ? g.startupScriptTimeoutS : g.shutdownScriptTimeoutS),
  };
}

/**
 * Runs the script and resolves once it has ended or its timeout has passed (it is then killed, with its
 * process group). `cut` ends the wait at once (a stop requested meanwhile): the script is killed as on timeout.
 */
export function runLifecycleScript(
  g: GlobalDefs,
  kind: LifecycleKind,
  log: Logger,
  cut?: AbortSignal,
): Promise<void> {
  const s = lifecycleScript(g, kind);
  if (s === null) return Promise.resolve();
  log.info(`Running ${kind} script ${s.spec.argv[0] ?? ''}`);
  const runner = new ScriptRunner(g.scriptUser);
  const child = runner.start(s.spec.argv, ownUser(s.spec));
  if (typeof child === 'string') {
    log.error(`${kind} script ${s.spec.argv[0] ?? ''} not run: ${child}`);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let done = false;
    const end = (line: string | null, kill: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cut?.removeEventListener('abort', onCut);
      if (kill) terminateScript(child);
      if (line !== null) log.info(line);
      resolve();
    };
    const onCut = () => end(`${kind} script cut short: the daemon is stopping`, true);
    const timer = setTimeout(() => end(`${kind} script timed out`, true), s.timeoutMs);
    cut?.addEventListener('abort', onCut);
    child.once('error', (e) => end(`${kind} script ${s.spec.argv[0] ?? ''} not run: ${e.message}`, false));
    child.once('exit', (code, signal) =>
      end(
        code === 0
          ? `${kind} script script succeeded`
          : code !== null
            ? `${kind} script script failed, status ${code}`
            : `${kind} script script failed, signal ${signal}`,
        false,
      ),
    );
  });
}
