// vrrp_track_process matching (src/track/process-match.ts) and the /proc scanner over a proc-like directory
// (src/track/process-trackers.ts): name vs comm or argv[0], param_match, quorum bounds, delays.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrackProcess } from '../../src/config/model.js';
import {
  countMatching,
  type ProcessView,
  parseCmdline,
  processMatches,
  quorumMet,
} from '../../src/track/process-match.js';
import { ProcessTrackers } from '../../src/track/process-trackers.js';
import { quietLog } from '../helpers/quiet-log.js';

const def = (process: string[], o: Partial<TrackProcess> = {}): TrackProcess => ({
  name: 'p',
  pos: { file: 'k.conf', line: 1 },
  process,
  weight: 0,
  reverse: false,
  quorum: 1,
  fullCommand: false,
  ...o,
});
const proc = (comm: string, argv: string[], pid = 1): ProcessView => ({ pid, comm, argv });

test('the name is compared with comm (15 characters), or with argv[0] under full_command', () => {
  assert.ok(processMatches(def(['nginx']), proc('nginx', ['nginx: master process'])));
  assert.ok(!processMatches(def(['nginx']), proc('nginx-helper', ['x'])));
  // comm is cut at 15 characters; a longer configured name matches its first 15.
  assert.ok(
    processMatches(
      def(['a-very-long-daemon-name']),
      proc('a-very-long-dae', ['/usr/bin/a-very-long-daemon-name']),
    ),
  );
  assert.ok(
    processMatches(
      def(['/usr/sbin/haproxy'], { fullCommand: true }),
      proc('haproxy', ['/usr/sbin/haproxy', '-f', 'x']),
    ),
  );
  assert.ok(!processMatches(def(['haproxy'], { fullCommand: true }), proc('haproxy', ['/usr/sbin/haproxy'])));
  assert.ok(!processMatches(def([]), proc('x', ['x'])));
});

test('param_match: exact (default), initial, partial', () => {
  const p = proc('haproxy', ['haproxy', '-f', '/etc/haproxy.cfg', '-D']);
  assert.ok(processMatches(def(['haproxy', '-f', '/etc/haproxy.cfg', '-D']), p));
  assert.ok(!processMatches(def(['haproxy', '-f', '/etc/haproxy.cfg']), p), 'exact: all arguments');
  assert.ok(processMatches(def(['haproxy', '-f', '/etc/haproxy.cfg'], { paramMatch: 'initial' }), p));
  assert.ok(!processMatches(def(['haproxy', '/etc/haproxy.cfg'], { paramMatch: 'initial' }), p));
  assert.ok(processMatches(def(['haproxy', '/etc/haproxy.cfg', '-D'], { paramMatch: 'partial' }), p));
  assert.ok(!processMatches(def(['haproxy', '-f', '-D'], { paramMatch: 'partial' }), p), 'consecutive');
});

test('quorum and quorum_max bound the count; cmdline parsing', () => {
  const procs = [proc('w', ['w']), proc('w', ['w']), proc('x', ['x'])];
  assert.equal(countMatching(def(['w']), procs), 2);
  assert.ok(quorumMet(def(['w'], { quorum: 2 }), 2));
  assert.ok(!quorumMet(def(['w'], { quorum: 3 }), 2));
  assert.ok(!quorumMet(def(['w'], { quorum: 1, quorumMax: 1 }), 2));
  assert.ok(!quorumMet(def(['w']), 0));
  assert.deepEqual(parseCmdline('a\0-b\0c d\0'), ['a', '-b', 'c d']);
  assert.deepEqual(parseCmdline(''), []);
});

function fakeProc(): {
  dir: string;
  add(pid: number, comm: string, argv: string[]): void;
  remove(pid: number): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'kats-proc-'));
  mkdirSync(join(dir, 'self'));
  return {
    dir,
    add(pid, comm, argv) {
      mkdirSync(join(dir, String(pid)));
      writeFileSync(join(dir, String(pid), 'comm'), `${comm}\n`);
      writeFileSync(join(dir, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    },
    remove(pid) {
      rmSync(join(dir, String(pid)), { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('scanner: startup state, then changes reported once each, a terminate_delay holding a short gap back', async () => {
  const fp = fakeProc();
  try {
    fp.add(100, 'svc', ['svc', '--serve']);
    const events: string[] = [];
    const t = new ProcessTrackers(
      [def(['svc']), { ...def(['svc', '--serve'], { terminateDelayUs: 150_000 }), name: 'slow' }],
      (name, up) => events.push(`${name} ${up ? 'up' : 'down'}`),
      quietLog,
      { intervalMs: 10, procDir: fp.dir },
    );
    assert.deepEqual(t.states(), [
      { name: 'p', up: true, count: 1 },
      { name: 'slow', up: true, count: 1 },
    ]);
    t.start();
    const until = async (cond: () => boolean, what: string) => {
      const deadline = Date.now() + 5000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${events.join(', ')}`);
        await sleep(5);
      }
    };
    await until(() => t.scans > 0, 'the worker’s first scan');
    assert.deepEqual(events, [], 'nothing changed since the startup scan');
    fp.remove(100);
    await until(() => events.length > 0, 'p down');
    assert.deepEqual(events, ['p down'], 'p at once; slow waits out its terminate_delay');
    fp.add(101, 'svc', ['svc', '--serve']);
    await until(() => events.length > 1, 'p up');
    assert.deepEqual(events, ['p down', 'p up'], 'back before the delay ran out: slow never went down');
    fp.remove(101);
    await until(() => events.length > 3, 'slow down');
    assert.deepEqual(events, ['p down', 'p up', 'p down', 'slow down']);
    t.stop();
  } finally {
    rmSync(fp.dir, { recursive: true, force: true });
  }
});

test('a reload: an unchanged tracker keeps its state, a new or changed one is counted at once, a dropped one is gone', async () => {
  const fp = fakeProc();
  try {
    fp.add(100, 'svc', ['svc']);
    fp.add(101, 'db', ['db']);
    const events: string[] = [];
    const t = new ProcessTrackers(
      [def(['svc']), { ...def(['db']), name: 'q' }],
      (name, up) => events.push(`${name} ${up ? 'up' : 'down'}`),
      quietLog,
      { intervalMs: 10, procDir: fp.dir },
    );
    t.start();
    // p: only its weight changes (kept); q: now needs two db processes (recounted: down); r: new.
    t.reconfigure([
      def(['svc'], { weight: -10 }),
      { ...def(['db'], { quorum: 2 }), name: 'q' },
      { ...def(['cache']), name: 'r' },
    ]);
    assert.deepEqual(t.states(), [
      { name: 'p', up: true, count: 1 },
      { name: 'q', up: false, count: 1 },
      { name: 'r', up: false, count: 0 },
    ]);
    const scansBefore = t.scans;
    fp.add(102, 'cache', ['cache']);
    const deadline = Date.now() + 5000;
    while (!events.includes('r up')) {
      if (Date.now() > deadline) throw new Error(`r never came up: ${events.join(', ')}`);
      await sleep(5);
    }
    assert.ok(t.scans > scansBefore, 'the scanner runs on with the new set');
    assert.deepEqual(events, ['r up'], 'no report for the kept or the recounted tracker');
    t.reconfigure([]);
    assert.deepEqual(t.states(), []);
    t.stop();
  } finally {
    rmSync(fp.dir, { recursive: true, force: true });
  }
});
