// tuneV8ForDaemon (src/daemon/v8-tuning.ts) relies on V8 reading --semi-space-growth-factor at
// each growth, after start-up. This checks that it still does on the Node in use: the same allocation
// pattern grows the young generation without the call and leaves it at its initial size with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

function newSpaceGrowth(tuned: boolean): { before: number; after: number } {
  const mod = JSON.stringify(new URL('../../src/daemon/v8-tuning.ts', import.meta.url).href);
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { tuneV8ForDaemon } from ${mod};
    const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const before = size();
    if (${tuned}) tuneV8ForDaemon();
    // Objects that live a little while: enough survives each scavenge that V8 wants to grow.
    let keep = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 50_000) keep = [];
    }
    console.log(JSON.stringify({ before, after: size() }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { before: number; after: number };
}

test('the young generation grows under V8 defaults and stays at its start size once tuned', () => {
  const plain = newSpaceGrowth(false);
  assert.ok(plain.after > plain.before, `control: V8 grew new space (${plain.before} → ${plain.after})`);
  const tuned = newSpaceGrowth(true);
  assert.ok(tuned.after <= tuned.before, `tuned: new space ${tuned.before} → ${tuned.after} bytes`);
});

test('bin/keepalived-ts starts node with DAEMON_NODE_FLAGS, which node accepts', async () => {
  const { DAEMON_NODE_FLAGS } = await import('../../src/daemon/v8-tuning.js');
  const { readFileSync } = await import('node:fs');
  const bin = new URL('../../bin/keepalived-ts', import.meta.url);
  // A shell/JavaScript polyglot (docs/hostile-network.md): its shell lines exec node with the flags.
  const lines = readFileSync(bin, 'utf8').split('\n');
  assert.equal(lines[0], '#!/bin/sh');
  const exec = lines.filter((l) => l.startsWith('":" //; exec node '));
  assert.deepEqual(exec, [`":" //; exec node ${DAEMON_NODE_FLAGS.join(' ')} $F "$0" "$@"`]);
  const r = spawnSync(process.execPath, [...DAEMON_NODE_FLAGS, '-e', 'process.exit(0)'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});

// The two memory flags in DAEMON_NODE_FLAGS, observed in a node started with them: the young generation
// stays at 1 MiB per semi-space under an allocation pattern that grows it to 32 MiB by default, and V8 keeps
// one helper thread in place of four.
test('DAEMON_NODE_FLAGS cap the young generation and V8 helper threads', async () => {
  const { DAEMON_NODE_FLAGS } = await import('../../src/daemon/v8-tuning.js');
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { readdirSync } from 'node:fs';
    let keep = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 50_000) keep = [];
    }
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    console.log(JSON.stringify({ newSpace, threads: readdirSync('/proc/self/task').length }));
  `;
  const run = (flags: readonly string[]) => {
    const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { newSpace: number; threads: number };
  };
  const plain = run([]);
  const daemon = run(DAEMON_NODE_FLAGS);
  assert.ok(plain.newSpace > 4 * 1024 * 1024, `control: new space grew to ${plain.newSpace} bytes`);
  assert.ok(daemon.newSpace <= 2 * 1024 * 1024, `daemon flags: new space ${daemon.newSpace} bytes`);
  assert.equal(
    plain.threads - daemon.threads,
    3,
    `threads: ${plain.threads} plain, ${daemon.threads} daemon`,
  );
});

test('every flag tuneV8ForDaemon sets is one this V8 knows (setFlagsFromString would ignore it silently)', async () => {
  const { DAEMON_RUNTIME_FLAGS } = await import('../../src/daemon/v8-tuning.js');
  const r = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const known = new Set([...r.stdout.matchAll(/^\s+--([\w-]+)/gm)].map((m) => m[1]!));
  assert.ok(known.size > 100, `read ${known.size} flags from --v8-options`);
  for (const flag of DAEMON_RUNTIME_FLAGS) {
    // --no-X is the negation of the boolean flag --X; --X=value names --X.
    const name = flag.replace(/^--(no-)?/, '').replace(/=.*$/, '');
    assert.ok(known.has(name), `${flag}: this V8 has no flag --${name}`);
  }
});
