// The checker's one-off memory releases (src/check/memory.ts): each must give memory back where the ordinary
// path keeps it, and the data plane's first programming must be announced once.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CheckerCore } from '../../src/check/core/index.js';
import { LvsSink } from '../../src/check/lvs-sink.js';
import { compactHeap, trimMalloc } from '../../src/check/memory.js';
import { loadConfig } from '../../src/config/load.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { libcLibrary } from '../../src/net/libc.js';
import { quietLog } from '../helpers/quiet-log.js';

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

  it('the sink announces its first successful programming once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kats-ckmem-'));
    writeFileSync(
      join(dir, 'k.conf'),
      'virtual_server 198.51.100.1 80 {\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 192.0.2.11 80 {\n  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n}\n',
    );
    const { config } = loadConfig(join(dir, 'k.conf'), { env: {} });
    rmSync(dir, { recursive: true, force: true });
    const core = new CheckerCore(config, { seed: 1 });
    let fail = true;
    const dp = new NftDataplane({
      route: 'cli',
      close() {},
      run: async () => (fail ? { ok: false, message: 'refused' } : { ok: true }),
    });
    let programmed = 0;
    const sink = new LvsSink(config, dp, {
      log: quietLog,
      respawned: false,
      keepOnStop: false,
      status: () => core.status(),
      onProgrammed: () => programmed++,
    });
    core.start(1_000_000);
    sink.apply(core.snapshot());
    await sink.settled();
    assert.equal(programmed, 0, 'a failed programming is not announced');
    fail = false;
    sink.apply(core.snapshot());
    await sink.settled();
    sink.apply(core.snapshot());
    await sink.settled();
    assert.equal(programmed, 1);
  });
});
