// src/daemon/v8-tuning.ts leans on two V8 behaviours that a Node upgrade could change, checked here on the
// Node in use:
// - tuneHeapForDaemon: V8 reads --semi-space-growth-factor at each growth, after start-up. The same
//   allocation pattern grows the young generation without the call and leaves it at its start size with it.
// - compileAheadOfUse (bin/keepalived-ts): the daemon's functions are compiled to baseline code as their
//   modules load, not on first call. V8's function-event log tells: a lazily compiled function is pre-parsed
//   at load and parsed again when first called ("preparse-*", "parse-function"); an eager one has one
//   "full-parse" and a "baseline" event at load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

function newSpaceGrowth(tuned: boolean): { before: number; after: number } {
  const mod = JSON.stringify(new URL('../../src/daemon/v8-tuning.ts', import.meta.url).href);
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { tuneHeapForDaemon } from ${mod};
    const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const before = size();
    if (${tuned}) tuneHeapForDaemon();
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

interface FunctionEvents {
  /** Events per `file:function` (file name without its directory), for the daemon's own modules (dist/). */
  byName: Map<string, Set<string>>;
  /** Every event kind seen in those modules. */
  kinds: Set<string>;
}

/** Runs `args` under node with V8's function-event log and collects the events of dist/ functions. */
function functionEvents(args: string[]): FunctionEvents {
  const dir = mkdtempSync(join(tmpdir(), 'kats-v8log-'));
  try {
    const log = join(dir, 'v8.log');
    const r = spawnSync(
      process.execPath,
      ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate', ...args],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(log, 'utf8').split('\n');
    const distScripts = new Map<string, string>();
    const distUrl = new URL('dist/', `file://${ROOT}/`).href;
    for (const l of lines) {
      const f = l.split(',');
      // v8-tuning.js itself loads before its flags are set, by design.
      if (f[0] === 'script-details' && f[2]?.startsWith(distUrl) && !f[2].endsWith('/v8-tuning.js'))
        distScripts.set(f[1]!, f[2].split('/').at(-1)!);
    }
    const out: FunctionEvents = { byName: new Map(), kinds: new Set() };
    for (const l of lines) {
      // function,<event>,<scriptId>,<start>,<end>,<time>,<timestamp>,<name>
      const f = l.split(',');
      if (f[0] !== 'function' || !distScripts.has(f[2]!)) continue;
      out.kinds.add(f[1]!);
      const name = `${distScripts.get(f[2]!)}:${f.slice(7).join(',')}`;
      const set = out.byName.get(name) ?? new Set<string>();
      set.add(f[1]!);
      out.byName.set(name, set);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("bin/keepalived-ts compiles the daemon's functions to baseline code as they load", () => {
  // Control: loading the same modules without the launcher leaves functions to be compiled on first call.
  const plain = functionEvents(['--input-type=module', '-e', "await import('./dist/daemon/main.js')"]);
  assert.ok(
    [...plain.kinds].some((k) => k.startsWith('preparse')),
    `control: lazily compiled functions are pre-parsed (${[...plain.kinds].join(' ')})`,
  );
  // `-v` loads every module (main.js imports the runtime statically) and runs almost nothing.
  const eager = functionEvents(['bin/keepalived-ts', '-v']);
  const lazy = [...eager.kinds].filter((k) => k.startsWith('preparse') || k === 'parse-function');
  assert.deepEqual(lazy, [], 'no function of the daemon is left to compile on its first call');
  // A takeover's first calls, never run by a backup before: they have baseline code already.
  for (const name of ['vip-installer.js:add', 'rtnl-writer.js:write', 'announcers.js:announce']) {
    const ev = eager.byName.get(name) ?? new Set();
    assert.ok(ev.has('baseline'), `${name}: ${[...ev].join(' ') || 'no events'}`);
  }
});
