// VRRP adverts as seen on the wire from one namespace: the tests' tcpdump capture (test/interop/capture.ts,
// kernel timestamps in µs, VRRP and AH-wrapped VRRP, IPv4 and IPv6), plus what the benchmarks ask of it. A
// backup flips to MASTER when the master's adverts stop for a Master_Down_Interval, so the longest gap between
// a master's adverts tells "the master sent late" apart from "the backup reacted wrongly".
import { VrrpCapture } from '../../test/interop/capture.js';

export class AdvertCapture extends VrrpCapture {
  /**
   * tcpdump on `ifname` (default eth0) in namespace `ns`; killed on exit like every test capture. With
   * `announcements` it also keeps gratuitous ARPs and neighbour advertisements.
   */
  constructor(ns: string, ifname = 'eth0', opts: { announcements?: boolean } = {}) {
    super(ns, ifname, opts);
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
}
