// One-off memory releases of the checker process (docs/decisions/checker-scale.md, "Start-up memory").
// Reading a large configuration fills V8's old space with the parse's garbage, and V8 keeps those pages
// committed for the life of the process (the daemon runs with --no-memory-reducer, and an ordinary full
// collection frees objects, not partly used pages); programming 10,000 destinations through libnftables grows
// glibc's heap, which glibc does not give back while free chunks sit below live ones. Both are released once,
// after the event that caused them: a compacting full collection after the configuration is read, malloc_trim
// once every checker has run and the data plane holds their verdicts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { libcLibrary } from '../net/libc.js';

/**
 * A full collection that also compacts (moves the survivors off fragmented pages, so the emptied pages are
 * released). `--expose-gc` is switched on only to fetch `gc` into a fresh context, and compaction only for
 * this one collection; both are V8 flags that take effect at run time. Returns the pause in milliseconds.
 */
export function compactHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  const t0 = performance.now();
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return performance.now() - t0;
}

let trim: ((pad: number) => number) | null | undefined;

/**
 * glibc's malloc_trim(0): returns the free pages of the C heap (anywhere in it, not only at its top) to the
 * kernel. False where it does not exist (a C library other than glibc).
 */
export function trimMalloc(): boolean {
  if (trim === undefined) {
    try {
      trim = libcLibrary().func('int malloc_trim(size_t)') as (pad: number) => number;
    } catch {
      trim = null;
    }
  }
  if (trim === null) return false;
  trim(0);
  return true;
}
