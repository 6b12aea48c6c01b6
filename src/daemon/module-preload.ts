// Loads the daemon's own modules one file at a time, before the entry module imports them all.
//
// Node's ESM loader reads every module of an import graph concurrently: at start-up it held some 40 files
// open at once, and under `ulimit -n 32` start-up died with EMFILE while the running daemon needs 25
// descriptors (docs/hostile-network.md). Importing the modules leaves first, one after the other, means each
// import finds its dependencies loaded already and opens a single file. The order comes from the static
// `import … from './x.js'` lines of the compiled files (read synchronously, one at a time).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const IMPORT_RE = /^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+\.js)'/gm;
const BARE_IMPORT_RE = /^\s*import\s+'(\.{1,2}\/[^']+\.js)'/gm;

/** The relative (own) modules of `file`'s static imports, as absolute paths. */
function ownImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const re of [IMPORT_RE, BARE_IMPORT_RE]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(resolve(dirname(file), m[1]!));
  }
  return out;
}

/** The modules reachable from `entry`, dependencies before the modules that import them. */
export function loadOrder(entry: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  // Iterative depth-first post-order (a deep recursion is not needed for ~100 files, but costs nothing).
  const stack: { file: string; deps: string[] | null; next: number }[] = [
    { file: entry, deps: null, next: 0 },
  ];
  seen.add(entry);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.deps === null) top.deps = ownImports(top.file);
    if (top.next < top.deps.length) {
      const dep = top.deps[top.next++]!;
      if (!seen.has(dep)) {
        seen.add(dep);
        stack.push({ file: dep, deps: null, next: 0 });
      }
      continue;
    }
    order.push(top.file);
    stack.pop();
  }
  return order;
}

/** Imports the graph of the module at `entryUrl` one module at a time (leaves first). */
export async function preloadSequentially(entryUrl: string): Promise<void> {
  for (const file of loadOrder(fileURLToPath(entryUrl))) await import(pathToFileURL(file).href);
}

/** Below this soft limit on open files the modules are loaded one at a time. */
export const FEW_DESCRIPTORS = 256;
/** The documented minimum open-files limit (docs/hostile-network.md); bin/keepalived-ts refuses below it. */
export const MIN_DESCRIPTORS = 32;

/** The soft RLIMIT_NOFILE from /proc/self/limits; null if unreadable or unlimited. */
export function openFilesLimit(limitsText: string): number | null {
  const m = /^Max open files\s+(\d+)/m.exec(limitsText);
  return m ? Number(m[1]) : null;
}

/**
 * Start-up under a small open-files limit (`ulimit -n`): the daemon's modules are loaded one at a time, and
 * running out of descriptors while loading ends the process with one line instead of a stack trace.
 */
export async function preloadIfFewDescriptors(entryUrl: string): Promise<void> {
  let limit: number | null = null;
  try {
    limit = openFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return;
  }
  if (limit === null || limit >= FEW_DESCRIPTORS) return;
  try {
    await preloadSequentially(entryUrl);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EMFILE') throw e;
    process.stderr.write(
      `keepalived-ts: too many open files while loading (ulimit -n ${limit}); it needs at least ${MIN_DESCRIPTORS}\n`,
    );
    process.exit(1);
  }
}
