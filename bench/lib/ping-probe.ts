// What a client sees of the VIP: `ping -D` from the client namespace (sub-200 ms intervals need root, which
// labs have anyway). Each echo reply carries its receive time (-D, wall clock), so the outage around an event
// is the longest silence between two replies, independent of pipe delays.
//
// iputils ping cannot probe faster than every 10 ms while replies are missing: with an interval at or under
// 1000/HZ and a reply in flight it sleeps MININTERVAL (10 ms) — measured here: -i 0.002 sends every ~10 ms
// during an outage, which quantises outages in 10 ms steps. So a probe interval under 10 ms runs several
// ping "lanes" of 10 ms each, started `intervalMs` apart, and merges their replies.
import { type ChildProcess, spawn } from 'node:child_process';
import { trackChild } from './cleanup.js';

export interface Reply {
  lane: number;
  seq: number;
  /** Wall-clock receive time in ms (ping -D). */
  atMs: number;
}

export interface Outage {
  /** Longest silence between replies minus one probe interval: the time no reply came back. */
  outageMs: number;
  /** Last reply before and first reply after the silence (wall clock ms). */
  lastBeforeMs: number;
  firstAfterMs: number;
}

const REPLY = /^\[(\d+\.\d+)\] .* icmp_seq=(\d+) /;
/** ping's own floor while waiting for replies (iputils MININTERVAL). */
const PING_FLOOR_MS = 10;

export class PingProbe {
  readonly intervalMs: number;
  readonly replies: Reply[] = [];
  readonly #procs: ChildProcess[] = [];
  #waiters: (() => void)[] = [];
  #sorted = true;

  /** Starts the probe; resolves once every lane is running. */
  static async start(ns: string, target: string, intervalMs: number): Promise<PingProbe> {
    const p = new PingProbe(intervalMs);
    const lanes = Math.max(1, Math.round(PING_FLOOR_MS / intervalMs));
    for (let lane = 0; lane < lanes; lane++) {
      if (lane > 0) await new Promise((r) => setTimeout(r, intervalMs));
      p.#lane(ns, target, lane, (intervalMs * lanes) / 1000);
    }
    return p;
  }

  private constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  #lane(ns: string, target: string, lane: number, laneIntervalS: number): void {
    const proc = spawn('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(laneIntervalS), target], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    trackChild(proc);
    this.#procs.push(proc);
    let partial = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const m = REPLY.exec(line);
        if (!m?.[1] || !m[2]) continue;
        const atMs = Number(m[1]) * 1000;
        const last = this.replies.at(-1);
        if (last && last.atMs > atMs) this.#sorted = false;
        this.replies.push({ lane, seq: Number(m[2]), atMs });
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  #inOrder(): Reply[] {
    if (!this.#sorted) {
      this.replies.sort((a, b) => a.atMs - b.atMs);
      this.#sorted = true;
    }
    return this.replies;
  }

  /** Resolves once `count` replies have arrived after wall time `sinceMs`; false on timeout. */
  async waitReplies(sinceMs: number, count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.replies.filter((r) => r.atMs > sinceMs).length >= count) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /**
   * The longest silence among replies received in [fromMs, toMs], counting from the last reply before
   * `fromMs`. Null if there was no reply before or none after.
   */
  outage(fromMs: number, toMs: number): Outage | null {
    let prev: Reply | undefined;
    let worst: { a: Reply; b: Reply } | null = null;
    for (const r of this.#inOrder()) {
      if (r.atMs < fromMs) {
        prev = r;
        continue;
      }
      if (r.atMs > toMs) break;
      if (prev && (!worst || r.atMs - prev.atMs > worst.b.atMs - worst.a.atMs)) worst = { a: prev, b: r };
      prev = r;
    }
    if (!worst) return null;
    const gapMs = worst.b.atMs - worst.a.atMs;
    return {
      outageMs: Math.max(0, gapMs - this.intervalMs),
      lastBeforeMs: worst.a.atMs,
      firstAfterMs: worst.b.atMs,
    };
  }

  stop(): void {
    for (const p of this.#procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
