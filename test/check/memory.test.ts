// The checker's one-off memory releases (src/check/memory.ts): each must give memory back where the ordinary
// path keeps it; the checker process (child.ts) runs them once, at start-up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compactHeap, trimMalloc } from '../../src/check/memory.js';
import { libcLibrary } from '../../src/net/libc.js';

const MiB = 2 ** 20;
const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_size;
const rssAnon = () =>
  Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;

describe('checker memory releases', () => {
  it('compactHeap gives back the fragmented old-space pages a plain full collection keeps', () => {
    // ~40 MiB of objects that survive into the old space, then every other one dropped: each page stays half
    // full, above what V8's own heuristics compact (the configuration's parse leaves its pages like this).
    let all: { a: number; b: string; c: number[] }[] = [];
    for (let i = 0; i < 400_000; i++) all.push({ a: i, b: `x${i}`, c: [i, i + 1] });
    const keep = all.filter((_, i) => i % 2 === 0);
    all = [];
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
    gc();
    const plain = oldSpace();
    const ms = compactHeap();
    const compacted = oldSpace();
    assert.equal(keep.length, 200_000);
    assert.ok(ms >= 0);
    assert.ok(
      compacted < plain - 10 * MiB,
      `old space ${(plain / MiB).toFixed(1)} MiB after a plain collection, ${(compacted / MiB).toFixed(1)} after compactHeap`,
    );
  });

  it('trimMalloc gives back free pages in the middle of the C heap', () => {
    const lib = libcLibrary();
    const malloc = lib.func('void *malloc(size_t)');
    const free = lib.func('void free(void *)');
    // ~40 MiB of small blocks, then all but one in 50 freed: the free chunks sit between live ones.
    const blocks: unknown[] = [];
    for (let i = 0; i < 200_000; i++) blocks.push(malloc(160 + (i % 5) * 32));
    for (let i = 0; i < blocks.length; i++) if (i % 50 !== 0) free(blocks[i]);
    const before = rssAnon();
    assert.equal(trimMalloc(), true);
    const after = rssAnon();
    for (let i = 0; i < blocks.length; i += 50) free(blocks[i]);
    assert.ok(
      before - after > 10 * MiB,
      `RssAnon ${(before / MiB).toFixed(1)} → ${(after / MiB).toFixed(1)} MiB`,
    );
  });
});
