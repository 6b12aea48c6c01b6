// What a client sees of the VIP, at a fixed cadence: a UDP echo responder (port 7) runs in every router
// namespace, and a sender in the client namespace sends a numbered datagram to VIP:7 every `intervalMs`,
// whether or not earlier ones were answered. Each answered probe is reported with its SEND time, so the
// outage around an event is the longest run of unanswered sends — independent of reply delivery delays.
//
// Why not ping: iputils ping cannot probe faster than every 10 ms while replies are missing (with an
// interval at or under 1000/HZ and a reply in flight it sleeps MININTERVAL = 10 ms; measured here: -i 0.002
// sent every ~10 ms during an outage), which quantises outages in 10 ms steps.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { trackChild } from './cleanup.js';

export const ECHO_PORT = 7;

export interface Reply {
  seq: number;
  /** Wall-clock ms when the answered probe was SENT (performance.timeOrigin + now(), sub-ms). */
  atMs: number;
  /** How long after its point on the sender's grid the probe left (the sender's own delay). */
  lateUs: number;
  /** Label of the router that answered. */
  from: string;
}

export interface Outage {
  /** Longest run of unanswered sends, as time: (next answered send − last answered send) − one interval. */
  outageMs: number;
  /** Send times of the last answered probe before and the first answered probe after the silence. */
  lastBeforeMs: number;
  firstAfterMs: number;
  /** The sender's own delay (µs past its grid point) in sending the first answered probe after the silence. */
  firstAfterLateUs: number;
}

// Runs in each router namespace: echo every datagram back with this router's label appended.
const RESPONDER = `
const dgram = require('node:dgram');
const label = Buffer.from(' ' + process.argv[1]);
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.concat([m, label]), r.port, r.address));
s.bind(${ECHO_PORT}, () => console.log('ready'));
`;

// The sender runs in the client namespace: udp-probe-sender-main.ts (a timerfd grid, batched output).
const SENDER_MAIN = resolvePath(import.meta.dirname, 'udp-probe-sender-main.ts');
// The sender stands for a client on another machine, whose clock the routers' load does not move. Here it
// shares two cores with three routers, their echo responders and the capture: at the default nice the first
// probe after a 1 s takeover left a median 0.26–1.5 ms past its grid point (per row, event and
// implementation, 5 repetitions), which put that much of the client's own scheduling into the measured
// outage; at nice −10, 0.05–0.93 ms (two runs). It then preempts ordinary tasks on waking; it does not
// preempt real-time ones (a takeover boosted to SCHED_RR stays ahead of it).
const SENDER_NICE = -10;

function spawnReady(
  ns: string,
  nodeArgs: string[],
  onLine: (line: string) => void,
  nice = 0,
): Promise<ChildProcess> {
  const niced = nice === 0 ? [] : ['nice', '-n', String(nice)];
  const proc = spawn('ip', ['netns', 'exec', ns, ...niced, process.execPath, ...nodeArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  trackChild(proc);
  return new Promise((resolve, reject) => {
    let partial = '';
    let ready = false;
    proc.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (!ready && line === 'ready') {
          ready = true;
          resolve(proc);
        } else onLine(line);
      }
    });
    proc.once('exit', (code) => {
      if (!ready) reject(new Error(`probe process in ${ns} exited (${code}) before it was ready`));
    });
  });
}

export class UdpProbe {
  readonly intervalMs: number;
  readonly replies: Reply[] = [];
  readonly #procs: ChildProcess[] = [];
  #waiters: (() => void)[] = [];
  #sorted = true;

  private constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** Starts the responders in `routers` (namespace + label) and the sender in `clientNs`. */
  static async start(
    clientNs: string,
    routers: { ns: string; label: string }[],
    target: string,
    intervalMs: number,
  ): Promise<UdpProbe> {
    const p = new UdpProbe(intervalMs);
    const responders = await Promise.all(
      routers.map((r) => spawnReady(r.ns, ['-e', RESPONDER, r.label], () => {})),
    );
    p.#procs.push(...responders);
    const sender = await spawnReady(
      clientNs,
      ['--import', 'tsx', SENDER_MAIN, target, String(ECHO_PORT), String(Math.round(intervalMs * 1000))],
      (line) => p.#onReply(line),
      SENDER_NICE,
    );
    p.#procs.push(sender);
    return p;
  }

  #onReply(line: string): void {
    const [seq, at, late, from] = line.split(' ');
    const atMs = Number(at);
    if (!Number.isFinite(atMs)) return;
    const last = this.replies.at(-1);
    if (last && last.atMs > atMs) this.#sorted = false;
    this.replies.push({ seq: Number(seq), atMs, lateUs: Number(late), from: from ?? '?' });
    for (const w of this.#waiters.splice(0)) w();
  }

  #inOrder(): Reply[] {
    if (!this.#sorted) {
      this.replies.sort((a, b) => a.atMs - b.atMs);
      this.#sorted = true;
    }
    return this.replies;
  }

  /** Resolves once `count` probes sent after wall time `sinceMs` were answered; false on timeout. */
  async waitReplies(sinceMs: number, count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let n = 0;
      for (let k = this.replies.length - 1; k >= 0 && n < count; k--)
        if (this.replies[k]!.atMs > sinceMs) n++;
      if (n >= count) return true;
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
   * The longest run of unanswered probes among those sent in [fromMs, toMs], counting from the last answered
   * probe sent before `fromMs`. Null if none was answered before or none after.
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
    return {
      outageMs: Math.max(0, worst.b.atMs - worst.a.atMs - this.intervalMs),
      lastBeforeMs: worst.a.atMs,
      firstAfterMs: worst.b.atMs,
      firstAfterLateUs: worst.b.lateUs,
    };
  }

  /** The router that answered the most recent probe. */
  lastResponder(): string | null {
    return this.#inOrder().at(-1)?.from ?? null;
  }

  stop(): void {
    for (const p of this.#procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}
