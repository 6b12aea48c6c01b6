// FILE_CHECK (keepalived check_file.c / track_file.c semantics for checkers): the named track_file's number
// N (read as strtol base 0 does: decimal, 0x hex, 0 octal; a missing or empty file is 0; a value outside the
// 32-bit range is ignored, keeping the previous one) decides the checker:
// - weight 0: N ≠ 0 is down (reverse: N = 0 is down);
// - otherwise N × weight (× −1 with reverse) is added to the real server's weight, and a product at or below
//   −2^31 is down.
// The file is watched (fs.watch on its directory, inotify underneath), never polled: run() answers at once
// from the last reading, and onChange() tells a caller the moment the state changes. docs/probes.md.
import { closeSync, type FSWatcher, openSync, readSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Probe, ProbeOutcome } from '../probe.js';
import { down, nowUs, up } from './outcome.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The leading number of a track file's text as C's strtol(text, NULL, 0) reads it; null when out of range
 * (keepalived then ignores the reading). No digits at all read as 0.
 */
export function parseFileValue(text: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?/.exec(text);
  const body = m?.[2];
  if (!body) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  const v =
    body.length > 1 && (body[1] === 'x' || body[1] === 'X')
      ? Number.parseInt(body.slice(2), 16)
      : body.length > 1 && body[0] === '0'
        ? Number.parseInt(body, 8)
        : Number.parseInt(body, 10);
  const n = sign * v;
  // keepalived accepts INT32_MIN..INT32_MAX + 1.
  if (!Number.isFinite(n) || n < INT32_MIN || n > INT32_MAX + 1) return null;
  return n;
}

/** The checker's state for file value `n` (pure): down, or up with the weight to add. */
export function fileVerdict(
  n: number,
  weight: number,
  reverse: boolean,
): { up: false } | { up: true; weight: number } {
  if (weight === 0) return (n !== 0) !== reverse ? { up: false } : { up: true, weight: 0 };
  const product = n * weight * (reverse ? -1 : 1);
  if (product <= INT32_MIN) return { up: false };
  return { up: true, weight: Math.min(product, INT32_MAX) };
}

/** Reads at most 127 bytes, as keepalived does; a missing file reads as 0. */
export function readFileValue(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  try {
    const buf = Buffer.alloc(127);
    const n = readSync(fd, buf, 0, 127, null);
    return n > 0 ? parseFileValue(buf.toString('latin1', 0, n)) : 0;
  } catch {
    return 0;
  } finally {
    closeSync(fd);
  }
}

export class FileProbe implements Probe {
  readonly #path: string;
  readonly #weight: number;
  readonly #reverse: boolean;
  readonly #name: string;
  #value = 0;
  #watcher: FSWatcher | undefined;
  #listeners: ((o: ProbeOutcome) => void)[] = [];
  #closed = false;

  constructor(name: string, path: string, weight: number, reverse: boolean) {
    this.#name = name;
    this.#path = path;
    this.#weight = weight;
    this.#reverse = reverse;
    this.#value = readFileValue(path) ?? 0;
    try {
      this.#watcher = watch(dirname(path), { persistent: false }, (_ev, f) => {
        if (f === null || f === basename(path)) this.#reread();
      });
      this.#watcher.on('error', () => this.#stopWatching());
    } catch {
      this.#watcher = undefined;
    }
  }

  /** The file's last reading. */
  get value(): number {
    return this.#value;
  }

  /** Whether the directory is being watched (false: it did not exist; run() then re-reads each time). */
  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  /** Calls `listener` with the new outcome whenever a change of the file changes the value. */
  onChange(listener: (o: ProbeOutcome) => void): void {
    this.#listeners.push(listener);
  }

  #stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #reread(): void {
    if (this.#closed) return;
    const v = readFileValue(this.#path);
    if (v === null || v === this.#value) return;
    this.#value = v;
    const o = this.#outcome(nowUs());
    for (const l of this.#listeners) l(o);
  }

  #outcome(start: number): ProbeOutcome {
    const v = fileVerdict(this.#value, this.#weight, this.#reverse);
    const o = v.up
      ? up(start, v.weight)
      : down(start, 'file-fault', `track_file ${this.#name} (${this.#path}) value ${this.#value} means down`);
    return { ...o, fileValue: this.#value };
  }

  run(_timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    if (this.#closed) return Promise.resolve(down(start, 'closed', 'probe closed'));
    // Without a watch (the directory did not exist), fall back to reading now.
    if (!this.#watcher) this.#value = readFileValue(this.#path) ?? this.#value;
    return Promise.resolve(this.#outcome(start));
  }

  close(): void {
    this.#closed = true;
    this.#listeners = [];
    this.#stopWatching();
  }
}
