// Start-up under a small open-files limit (src/daemon/module-preload.ts, docs/hostile-network.md): the
// daemon's modules are imported one at a time, dependencies first, so that no import has more than one file
// open. The daemon itself under `ulimit -n 32` is in hostile.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOrder, openFilesLimit, preloadSequentially } from '../../src/daemon/module-preload.js';

test('modules come after everything they import, each once, cycles included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-preload-'));
  try {
    const mod = (name: string, text: string) => writeFileSync(join(dir, name), text);
    mod(
      'main.js',
      "import { b } from './b.js';\nimport './side.js';\nexport { c } from './sub/c.js';\nglobalThis.__order.push('main');\n",
    );
    mod('b.js', "import { c } from './sub/c.js';\nexport const b = 1;\nglobalThis.__order.push('b');\n");
    mod('side.js', "import 'node:fs';\nglobalThis.__order.push('side');\n");
    rmSync(join(dir, 'sub'), { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(join(dir, 'sub'));
    mod('sub/c.js', "import { b } from '../b.js';\nexport const c = 2;\nglobalThis.__order.push('c');\n");
    const order = loadOrder(join(dir, 'main.js')).map((f) => f.slice(dir.length + 1));
    assert.deepEqual(order, ['sub/c.js', 'b.js', 'side.js', 'main.js']);
    (globalThis as { __order?: string[] }).__order = [];
    await preloadSequentially(new URL(`file://${join(dir, 'main.js')}`).href);
    assert.deepEqual((globalThis as { __order?: string[] }).__order, ['b', 'c', 'side', 'main']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the open-files limit is read from /proc/self/limits', () => {
  const text =
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            32                   1024                 files\n';
  assert.equal(openFilesLimit(text), 32);
  assert.equal(
    openFilesLimit('Max open files            unlimited            unlimited            files\n'),
    null,
  );
});
