// VRRP adverts as seen on the wire from one namespace (tcpdump, kernel timestamps in µs): per source, the
// longest gap between two adverts. A backup flips to MASTER when the master's adverts stop for a
// Master_Down_Interval, so this tells "the master sent late" apart from "the backup reacted wrongly".
import { type ChildProcess, spawn } from 'node:child_process';
import { trackChild } from './cleanup.js';

const ADVERT = /^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+) > [\d.]+: VRRPv\d, Advertisement, vrid (\d+), prio (\d+)/;

export interface SeenAdvert {
  atMs: number;
  src: string;
  vrid: number;
  priority: number;
}

export class AdvertCapture {
  readonly adverts: SeenAdvert[] = [];
  readonly #proc: ChildProcess;

  constructor(ns: string, ifname = 'eth0') {
    this.#proc = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'tcpdump',
        '-i',
        ifname,
        '-n',
        '-l',
        '-tt',
        '--time-stamp-precision=micro',
        'ip proto 112',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    trackChild(this.#proc);
    let partial = '';
    this.#proc.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const m = ADVERT.exec(line);
        if (m?.[1] && m[2] && m[3] && m[4])
          this.adverts.push({
            atMs: Number(m[1]) * 1000,
            src: m[2],
            vrid: Number(m[3]),
            priority: Number(m[4]),
          });
      }
    });
  }

  /** The longest gap between consecutive adverts from `src` within [fromMs, toMs], or null if fewer than 2. */
  longestGapMs(
    src: string,
    fromMs: number,
    toMs: number,
  ): { gapMs: number; atMs: number; count: number } | null {
    let prev: number | null = null;
    let best: { gapMs: number; atMs: number } | null = null;
    let count = 0;
    for (const a of this.adverts) {
      if (a.src !== src || a.atMs < fromMs || a.atMs > toMs) continue;
      count++;
      if (prev !== null && (!best || a.atMs - prev > best.gapMs)) best = { gapMs: a.atMs - prev, atMs: prev };
      prev = a.atMs;
    }
    return best ? { ...best, count } : null;
  }

  stop(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
  }
}
