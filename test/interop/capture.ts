// tcpdump on a test interface, so a test can time events against the packet that caused them (for example a
// takeover against the priority-0 advert of a graceful stop), whichever implementation sent it. Packets are
// read from tcpdump's one-line VRRP decode: `1795438653.971278 IP 192.0.2.1 > 224.0.0.18: VRRPv3,
// Advertisement, vrid 5, prio 0, intvl 10cs, length 12`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

export interface CapturedAdvert {
  /** Capture time, ms since the epoch (kernel timestamp, µs resolution). */
  atMs: number;
  src: string;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  vrid: number;
  priority: number;
}

/** A gratuitous ARP (sender = target) or an unsolicited neighbour advertisement, as captured. */
export interface CapturedAnnouncement {
  atMs: number;
  /** The address announced. */
  address: string;
}

// tcpdump inserts `(ttl N), ` when the TTL / hop limit is not 255 (keepalived 2.2.7 sends IPv6 unicast
// adverts with hop limit 64), and `AH(spi=…,seq=…,icv=…): ` before an AH-authenticated VRRPv2 advert.
const LINE =
  /^(\d+\.\d+) IP6? ([0-9a-f.:]+) > [0-9a-f.:]+: (?:AH\([^)]*\): )?VRRPv[23], Advertisement, (?:\(ttl (\d+)\), )?vrid (\d+), prio (\d+)/;

// `1795438653.971301 ARP, Request who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100, length 28` (gratuitous: who-has =
// tell) and `… IP6 fe80::1 > ff02::1: ICMP6, neighbor advertisement, tgt is 2001:db8::100, length 32`.
const GARP = /^(\d+\.\d+) ARP, Request who-has ([0-9.]+)(?: \([0-9a-f:]+\))? tell ([0-9.]+)/;
const UNA = /^(\d+\.\d+) IP6 [0-9a-f:]+ > [0-9a-f:]+: ICMP6, neighbor advertisement, tgt is ([0-9a-f:]+)/;

export const tcpdumpInstalled = (): boolean => spawnSync('tcpdump', ['--version']).status === 0;

/** tcpdump with `args` inside namespace `ns`; stdout and stderr as `stdio` says (stdin ignored). */
export function tcpdumpIn(ns: string, args: string[], out: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, 'tcpdump', ...args], { stdio: ['ignore', out, 'pipe'] });
}

/** Captures still running, SIGKILLed if the test process exits without stopping them. */
const liveCaptures = new Set<ChildProcess>();
let exitHooked = false;

export class VrrpCapture {
  readonly adverts: CapturedAdvert[] = [];
  /** Gratuitous ARPs and unsolicited NAs, when constructed with `announcements`. */
  readonly announcements: CapturedAnnouncement[] = [];
  readonly #proc: ChildProcess;
  readonly #ready: Promise<void>;

  /**
   * Starts tcpdump on `ifname` in namespace `ns` (a host's eth0, or a lab bridge's br0); with `announcements`
   * it also records gratuitous ARPs and neighbour advertisements.
   */
  constructor(ns: string, ifname: string, opts: { announcements?: boolean } = {}) {
    const vrrp = 'ip proto 112 or ip6 proto 112 or ip proto 51';
    this.#proc = tcpdumpIn(ns, [
      '-i',
      ifname,
      '-n',
      '-tt',
      '-l',
      '-p',
      // VRRP, and VRRPv2 behind an IPsec AH header (protocol 51); ICMPv6 type 136 is a neighbour advert.
      opts.announcements ? `${vrrp} or arp or (icmp6 and ip6[40] == 136)` : vrrp,
    ]);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const p of liveCaptures) p.kill('SIGKILL');
      });
    }
    liveCaptures.add(this.#proc);
    this.#proc.on('exit', () => liveCaptures.delete(this.#proc));
    let partial = '';
    this.#proc.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        const m = LINE.exec(l);
        if (m) {
          this.adverts.push({
            atMs: Number(m[1]) * 1000,
            src: m[2]!,
            ttl: m[3] === undefined ? 255 : Number(m[3]),
            vrid: Number(m[4]),
            priority: Number(m[5]),
          });
          continue;
        }
        const g = GARP.exec(l);
        if (g && g[2] === g[3]) this.announcements.push({ atMs: Number(g[1]) * 1000, address: g[2]! });
        const n = UNA.exec(l);
        if (n) this.announcements.push({ atMs: Number(n[1]) * 1000, address: n[2]! });
      }
    });
    this.#ready = new Promise((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
      this.#proc.stderr?.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        if (/listening on/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
      this.#proc.on('exit', () => {
        clearTimeout(t);
        reject(new Error(`tcpdump exited: ${err}`));
      });
    });
    // Only ready() callers care about a failed start; a later exit must not be an unhandled rejection.
    this.#ready.catch(() => {});
  }

  /** Resolves once tcpdump is capturing. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The first advert captured at or after `sinceMs` that matches; waits up to `timeoutMs` for tcpdump's line. */
  async first(
    pred: (a: CapturedAdvert) => boolean,
    sinceMs: number,
    timeoutMs = 1000,
  ): Promise<CapturedAdvert | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.adverts.find((a) => a.atMs >= sinceMs && pred(a));
      if (hit || Date.now() > deadline) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * For a failure message: per source (priority > 0), the silences between its adverts longer than `gapMs`
   * and its last advert, in wall-clock time like the daemons' logs — whether a peer's adverts reached this
   * interface when a backup declared the master dead.
   */
  silences(gapMs: number): string {
    const out: string[] = [];
    const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);
    for (const src of new Set(this.adverts.map((a) => a.src))) {
      const seen = this.adverts.filter((a) => a.src === src && a.priority > 0);
      if (seen.length === 0) continue;
      const gaps: string[] = [];
      for (let k = 1; k < seen.length; k++) {
        const d = seen[k]!.atMs - seen[k - 1]!.atMs;
        if (d > gapMs) gaps.push(`${d.toFixed(0)} ms before ${clock(seen[k]!.atMs)}`);
      }
      out.push(
        `${src}: ${seen.length} adverts ${clock(seen[0]!.atMs)}–${clock(seen.at(-1)!.atMs)}, ` +
          `silences over ${gapMs} ms: ${gaps.length ? gaps.join(', ') : 'none'}`,
      );
    }
    return out.join('\n');
  }

  /** Stops capturing; with KATS_SHOW_CAPTURE set, prints every advert seen (to read a failed run). */
  stop(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
    if (!process.env.KATS_SHOW_CAPTURE) return;
    for (const a of this.adverts)
      console.log(
        `  [capture] ${new Date(a.atMs).toISOString()} ${a.src} ttl ${a.ttl} vrid ${a.vrid} prio ${a.priority}`,
      );
  }
}
