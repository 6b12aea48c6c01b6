// One process-wide registry of what a lab run must undo: child processes to kill and network namespaces to
// delete. Undo runs on every exit path — normal end, an uncaught error, a rejected promise, SIGINT (Ctrl-C)
// and SIGTERM — synchronously, so even `process.exit()` leaves nothing behind.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const namespaces = new Set<string>();
const dirs = new Set<string>();
let installed = false;
let onInterrupt: ((signal: NodeJS.Signals) => void) | null = null;

/** Kills every registered child (SIGKILL), deletes every registered namespace and temporary directory. Safe to call twice. */
export function undoAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  children.clear();
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  namespaces.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/**
 * Installs the exit hooks once. `interrupted` (optional) is told about SIGINT/SIGTERM first, e.g. to print a
 * line; then everything is undone and the process exits 130.
 */
export function installCleanup(interrupted?: (signal: NodeJS.Signals) => void): void {
  if (interrupted) onInterrupt = interrupted;
  if (installed) return;
  installed = true;
  process.on('exit', undoAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      onInterrupt?.(sig);
      undoAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    console.error(e);
    undoAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    console.error(e);
    undoAll();
    process.exit(1);
  });
}

export function trackChild(c: ChildProcess): void {
  installCleanup();
  children.add(c);
  c.once('exit', () => children.delete(c));
}

export function trackNamespace(ns: string): void {
  installCleanup();
  namespaces.add(ns);
}

export function forgetNamespace(ns: string): void {
  namespaces.delete(ns);
}

/** A temporary directory (config and pid files) to remove at exit. */
export function trackDir(dir: string): void {
  installCleanup();
  dirs.add(dir);
}
