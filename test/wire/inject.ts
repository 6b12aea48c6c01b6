// Helpers for wire tests: send hand-built packets from a namespace (send-raw.py), and read a daemon's
// counters through its SIGUSR2 stats dump (stats_dump_file in the daemon's directory).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { dumpJson, jsonDumpLine, type Router } from '../daemon/router.js';

const SENDER = resolve(import.meta.dirname, 'send-raw.py');

/**
 * The real interpreter behind `python3`: a version-manager shim (pyenv here) costs ~150 ms per start, which
 * matters to tests that time what a packet causes.
 */
const PYTHON = (() => {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  const exe = r.status === 0 ? r.stdout.trim() : '';
  return exe === '' ? 'python3' : exe;
})();

/** The global_defs line for a config: the JSON dump goes to the router's own directory. */
export const statsDumpLine = jsonDumpLine;

export type Stats = Record<string, Record<string, number>>;

/**
 * keepalived's JSON signal, then the counters of each instance under their RFC 6527 / RFC 2787 names (the
 * dump's capitalised keys; keepalived's own snake_case keys repeat some of them).
 */
export async function dumpStats(r: Router): Promise<Stats> {
  const rfcNames = (stats: Record<string, number>) =>
    Object.fromEntries(Object.entries(stats).filter(([k]) => /^[A-Z]/.test(k)));
  return Object.fromEntries((await dumpJson(r)).map((x) => [x.data.iname, rfcNames(x.stats)]));
}

export function delta(before: Stats, now: Stats): Stats {
  const d: Stats = {};
  for (const [inst, s] of Object.entries(now)) {
    d[inst] = {};
    for (const [k, v] of Object.entries(s))
      if (v !== before[inst]?.[k]) d[inst]![k] = v - (before[inst]?.[k] ?? 0);
  }
  return d;
}

export interface Wire {
  family: 4 | 6;
  hex: string;
  dst?: string;
  hops?: number;
  kernelChecksum?: boolean;
}

export interface SendResult {
  /** When the process given as `stopPid` was SIGSTOPped (epoch ms), or null. */
  stoppedAtMs: number | null;
  /** When the first packet left (epoch ms). */
  firstSentAtMs: number;
}

/** Sends `packets` from namespace `ns` (eth0), in order, 5 ms apart; `stopPid` is SIGSTOPped just before. */
export function send(ns: string, packets: Wire[], stopPid?: number): SendResult {
  const input = packets.map((p) => JSON.stringify(p)).join('\n');
  const args = [
    'netns',
    'exec',
    ns,
    PYTHON,
    SENDER,
    'eth0',
    ...(stopPid === undefined ? [] : [String(stopPid)]),
  ];
  const r = spawnSync('ip', args, { input, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `send-raw.py failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim()) as SendResult & { sent: number };
  assert.equal(out.sent, packets.length, 'every packet sent');
  return out;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
