// What a client sees of the VIP: `ping -D -i INTERVAL` from the client namespace (sub-200 ms intervals need
// root, which labs have anyway). Each echo reply carries the kernel-side receive time (-D, wall clock), so
// the outage around an event is the longest silence between two replies, independent of pipe delays.
import { type ChildProcess, spawn } from 'node:child_process';
import { trackChild } from './cleanup.js';

export interface Reply {
  seq: number;
  /** Wall-clock receive time in ms (ping -D). */
  atMs: number;
}

export interface Outage {
  /** Longest silence between replies minus one probe interval: the time no reply came back. */
  outageMs: number;
  /** Echo requests that got no reply inside that silence. */
  lostProbes: number;
  /** Last reply before and first reply after the silence (wall clock ms). */
  lastBeforeMs: number;
  firstAfterMs: number;
}

const REPLY = /^\[(\d+\.\d+)\] .* icmp_seq=(\d+) /;

export class PingProbe {
  readonly intervalMs: number;
  readonly replies: Reply[] = [];
  readonly #proc: ChildProcess;
  #waiters: (() => void)[] = [];

  constructor(ns: string, target: string, intervalMs: number) {
    this.intervalMs = intervalMs;
    this.#proc = spawn(
      'ip',
      ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(intervalMs / 1000), target],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    trackChild(this.#proc);
    let partial = '';
    this.#proc.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const m = REPLY.exec(line);
        if (m?.[1] && m[2]) this.replies.push({ seq: Number(m[2]), atMs: Number(m[1]) * 1000 });
      }
      for (const w of this.#waiters.splice(0)) w();
    });
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
    for (const r of this.replies) {
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
      lostProbes: Math.max(0, worst.b.seq - worst.a.seq - 1),
      lastBeforeMs: worst.a.atMs,
      firstAfterMs: worst.b.atMs,
    };
  }

  stop(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
  }
}
