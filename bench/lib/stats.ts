// Small helpers for benchmark reports: means and medians, fixed-width tables, env-var knobs, the results directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function mean(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** A positive number from the environment, or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not ${raw}`);
  return n;
}

/** Left-aligned first column, right-aligned others. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const fmt = (r: string[]) =>
    r.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export const fmtMs = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

/** Writes `data` as JSON to .bench-out/NAME.json (git-ignored) and returns the path. */
export function saveResults(name: string, data: unknown): string {
  const dir = resolve(import.meta.dirname, '../../.bench-out');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** One line on the machine and its load, since these figures depend on both. */
export function machineLine(): string {
  const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
  return `node ${process.version}, ${availableParallelism()} CPUs, load average ${l1} ${l5} ${l15}`;
}
