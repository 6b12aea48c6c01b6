// The BFD adapter: the configured sessions (session.ts) on real UDP sockets and one timer, in the BFD process
// (child.ts). Receive sockets listen on port 3784 (4784 for multihop sessions, RFC 5883), one per family in
// use; each session sends from its own socket, bound to its source_ip (or any address) on a port in
// 49152–65535 with its TTL / hop limit (255 for IPv4 and 64 for IPv6 unless configured: keepalived's defaults).
// A received packet finds its session by Your Discriminator, or, while that is zero, by its addresses.
// State changes are logged as keepalived logs them and reported through `onState` (docs/bfd.md).

import { monotonicUs } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { BfdInstance } from '../config/model.js';
import { canonicalIp } from '../config/values.js';
import type { BfdDumpView } from './dump.js';
import { DIAG, DIAG_TEXT, decodeControl } from './packet.js';
import { BfdSession, type SessionAction, type SessionConfig } from './session.js';
import { type Family, type UdpMeta, UdpSocket } from './udp.js';

export const BFD_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;
const SRC_PORT_MIN = 49152;
const SRC_PORT_MAX = 65535;
/** keepalived retries a session whose socket could not be opened once a minute. */
const REOPEN_MS = 60_000;

export interface BfdRunnerOptions {
  log: Logger;
  /** A session's state as trackers see it (keepalived's rule: session.ts `notify`). */
  onState: (instance: BfdInstance, up: boolean) => void;
  random?: () => number;
}

interface Running {
  cfg: BfdInstance;
  session: BfdSession;
  out: UdpSocket | null;
  reopen: NodeJS.Timeout | null;
  /** The last send failed (the data dump's `send error`). */
  sendError: boolean;
}

export class BfdRunner {
  readonly #o: BfdRunnerOptions;
  readonly #random: () => number;
  readonly #sessions = new Map<string, Running>();
  readonly #listeners = new Map<string, UdpSocket>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(o: BfdRunnerOptions) {
    this.#o = o;
    this.#random = o.random ?? Math.random;
  }

  /** Starts (or, on reload, adjusts to) these instances: unchanged ones keep their session and state. */
  apply(instances: readonly BfdInstance[]): void {
    const next = new Map(instances.map((b) => [b.name, b]));
    for (const [name, r] of this.#sessions) {
      const n = next.get(name);
      if (n && sameSession(n, r.cfg)) {
        r.cfg = n; // weight / vrrp / checker may change without touching the session
        continue;
      }
      if (n && samePeer(n, r.cfg)) {
        // Same name and neighbour, other timers / TTL / passive: the session keeps its state (keepalived).
        if (n.ttl !== r.cfg.ttl && r.out) {
          try {
            r.out.setTtl(n.ttl);
          } catch (e) {
            this.#o.log.error(`(${name}) Cannot set the TTL: ${(e as Error).message}`);
          }
        }
        r.cfg = n;
        r.session.reconfigure(sessionConfig(n));
        continue;
      }
      this.#drop(r);
      this.#sessions.delete(name);
    }
    const now = monotonicUs();
    for (const b of instances) {
      if (this.#sessions.has(b.name) || b.neighbor === undefined || b.family === undefined) continue;
      const r: Running = {
        cfg: b,
        session: new BfdSession(sessionConfig(b), this.#discriminator(), this.#random, () =>
          this.#discriminator(),
        ),
        out: null,
        reopen: null,
        sendError: false,
      };
      this.#sessions.set(b.name, r);
      this.#listen(b.family, b.multihop ? BFD_MULTIHOP_PORT : BFD_PORT);
      // No send socket: the session is AdminDown (silent) until one opens (keepalived).
      this.#perform(r, this.#openOut(r) ? r.session.start(now) : r.session.adminDown());
      // keepalived tells the other processes every session's state when it starts (Down until Up).
      this.#o.onState(b, r.session.state === 'Up');
    }
    this.#closeUnusedListeners();
    this.#arm();
  }

  /** Each session's state (for dumps and tests). */
  states(): { name: string; state: string; up: boolean; detectUs: number; txIntervalUs: number }[] {
    return [...this.#sessions.values()].map((r) => ({
      name: r.cfg.name,
      state: r.session.state,
      up: r.session.state === 'Up',
      detectUs: r.session.detectUs,
      txIntervalUs: r.session.txIntervalUs,
    }));
  }

  /** What the data dump shows of the sessions and sockets (dump.ts), in configuration order. */
  dumpView(): Pick<BfdDumpView, 'fdIn' | 'sessions' | 'nowUs' | 'wallNowUs'> {
    const first = this.#listeners.values().next();
    return {
      fdIn: first.done ? -1 : first.value.fd,
      sessions: [...this.#sessions.values()].map((r) => ({
        cfg: r.cfg,
        session: r.session,
        fdOut: r.out?.fd ?? -1,
        reopening: r.reopen !== null,
        sendError: r.sendError,
      })),
      nowUs: monotonicUs(),
      wallNowUs: Date.now() * 1000,
    };
  }

  /** Closes every socket and timer; keepalived sends nothing when it stops (the neighbour's timer expires). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const r of this.#sessions.values()) this.#drop(r);
    this.#sessions.clear();
    for (const s of this.#listeners.values()) s.close();
    this.#listeners.clear();
  }

  #discriminator(): number {
    const used = new Set([...this.#sessions.values()].map((r) => r.session.localDiscr));
    for (;;) {
      const d = Math.floor(this.#random() * 0xffffffff) + 1;
      if (!used.has(d)) return d;
    }
  }

  #listen(family: Family, port: number): void {
    const key = `${family}/${port}`;
    if (this.#listeners.has(key)) return;
    try {
      const s = UdpSocket.open(family);
      s.bind('', port);
      s.onMessage(
        (data, meta) => this.#received(data, meta, port),
        (e) => this.#o.log.error(`BFD receive (${key}): ${e.message}`),
      );
      this.#listeners.set(key, s);
    } catch (e) {
      this.#o.log.error(
        `Unable to open listening socket (IPv${family} port ${port}): ${(e as Error).message}`,
      );
    }
  }

  #closeUnusedListeners(): void {
    for (const [key, s] of this.#listeners) {
      const used = [...this.#sessions.values()].some(
        (r) => `${r.cfg.family}/${r.cfg.multihop ? BFD_MULTIHOP_PORT : BFD_PORT}` === key,
      );
      if (!used) {
        s.close();
        this.#listeners.delete(key);
      }
    }
  }

  /** Opens the session's send socket; on failure logs and retries once a minute (keepalived). */
  #openOut(r: Running): boolean {
    const b = r.cfg;
    const e = this.#tryOut(r);
    if (e === null) return true;
    this.#o.log.error(`(${b.name}) Unable to open output socket, disabling instance: ${e.message}`);
    this.#retryOut(r);
    return false;
  }

  #retryOut(r: Running): void {
    r.reopen = setTimeout(() => {
      r.reopen = null;
      if (this.#stopped || this.#sessions.get(r.cfg.name) !== r) return;
      const e = this.#tryOut(r);
      if (e === null) {
        this.#perform(r, r.session.reopened(monotonicUs(), false));
        this.#arm();
      } else {
        this.#o.log.error(`(${r.cfg.name}) Unable to open output socket: ${e.message}`);
        this.#retryOut(r);
      }
    }, REOPEN_MS);
  }

  /** The send socket, bound and with its TTL, or the error that prevented it. */
  #tryOut(r: Running): Error | null {
    const b = r.cfg;
    try {
      const s = UdpSocket.open(b.family!);
      try {
        s.bindInRange(b.source ?? '', SRC_PORT_MIN, SRC_PORT_MAX, this.#random);
        s.setTtl(b.ttl);
      } catch (e) {
        s.close();
        throw e;
      }
      r.out = s;
      return null;
    } catch (e) {
      return e as Error;
    }
  }

  #drop(r: Running): void {
    r.out?.close();
    r.out = null;
    if (r.reopen) clearTimeout(r.reopen);
    r.reopen = null;
  }

  #received(data: Uint8Array, meta: UdpMeta, port: number): void {
    if (this.#stopped) return;
    const d = decodeControl(data);
    const log = this.#o.log;
    if (!d.ok) {
      log.detail(`Discarding bogus packet from ${meta.src}:${meta.srcPort}: ${d.reason}`);
      return;
    }
    const p = d.packet;
    const multihop = port === BFD_MULTIHOP_PORT;
    const src = canonicalIp(meta.src) ?? meta.src;
    const dst = meta.dst === '' ? '' : (canonicalIp(meta.dst) ?? meta.dst);
    let r: Running | undefined;
    for (const x of this.#sessions.values()) {
      if (x.cfg.multihop !== multihop) continue;
      // By address: the neighbour, and source_ip if set — unless the kernel gave no destination (keepalived).
      if (
        p.yourDiscr !== 0
          ? x.session.localDiscr === p.yourDiscr
          : x.cfg.neighbor === src && (x.cfg.source === undefined || dst === '' || x.cfg.source === dst)
      ) {
        r = x;
        break;
      }
    }
    if (!r) {
      log.detail(
        `Discarding packet from ${meta.src}:${meta.srcPort} (no session; your discriminator 0x${p.yourDiscr.toString(16)})`,
      );
      return;
    }
    if (r.cfg.neighbor !== src) {
      log.detail(`(${r.cfg.name}) Discarding packet from ${meta.src}: not the neighbor`);
      return;
    }
    const now = monotonicUs();
    if (r.out === null) {
      // A disabled session (no send socket) tries to open one when its neighbour is heard (keepalived).
      const e = this.#tryOut(r);
      if (e !== null) {
        log.detail(`(${r.cfg.name}) Discarding packet from ${meta.src}: session is AdminDown (${e.message})`);
        return;
      }
      if (r.reopen) clearTimeout(r.reopen);
      r.reopen = null;
      this.#perform(r, r.session.reopened(now, true));
    }
    const detectBefore = r.session.detectUs;
    const res = r.session.receive(p, meta.ttl, now);
    // keepalived reports every change of the detection time, indented past the instance's name.
    if (r.session.detectUs !== detectBefore)
      log.info(
        `${' '.repeat(r.cfg.name.length + 2)} Detection time is ${r.session.detectUs} us (was ${detectBefore} us)`,
      );
    if (res.dropped) log.detail(`(${r.cfg.name}) Discarding packet from ${meta.src}: ${res.dropped}`);
    this.#perform(r, res.actions);
    this.#arm();
  }

  #perform(r: Running, actions: SessionAction[]): void {
    const b = r.cfg;
    for (const a of actions) {
      if (a.type === 'send') {
        const n = r.out?.sendTo(a.bytes, b.neighbor!, b.multihop ? BFD_MULTIHOP_PORT : BFD_PORT) ?? -1;
        // Logged once per run of failures, as keepalived does.
        if (n < 0 && !r.sendError) this.#o.log.error(`(${b.name}) Error sending packet (errno ${-n})`);
        r.sendError = n < 0;
        continue;
      }
      const log = this.#o.log;
      if (a.to === 'Up') log.info(`(${b.name}) Entering Up state`);
      else if (a.to === 'Down' && a.from === 'Up') {
        const since = r.session.sinceLastRxUs(monotonicUs());
        if (a.diag === DIAG.expired && since !== undefined)
          log.warn(
            `(${b.name}) Expired after ${Math.floor(since / 1000)} ms (${Math.max(0, since - r.session.detectUs)} usec overdue)`,
          );
        log.warn(
          `(${b.name}) Entering Down state (Local diagnostic - ${DIAG_TEXT[a.diag]}, Remote diagnostic - ${DIAG_TEXT[r.session.remoteDiag] ?? r.session.remoteDiag})`,
        );
      } else if (a.to === 'AdminDown') log.warn(`(${b.name}) Entering AdminDown state`);
      else log.detail(`(${b.name}) Entering ${a.to} state`);
      if (a.notify) this.#o.onState(b, a.to === 'Up');
    }
  }

  /** One timer for all sessions, at the earliest deadline. */
  #arm(): void {
    if (this.#stopped) return;
    let at = Number.POSITIVE_INFINITY;
    for (const r of this.#sessions.values()) if (r.out) at = Math.min(at, r.session.nextDeadlineUs());
    if (at === this.#timerAt && this.#timer) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    const delayMs = Math.max(0, (at - monotonicUs()) / 1000);
    this.#timer = setTimeout(() => this.#fire(), delayMs);
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = monotonicUs();
    for (const r of this.#sessions.values()) {
      if (!r.out || r.session.nextDeadlineUs() > now) continue;
      this.#perform(r, r.session.timers(now));
    }
    this.#arm();
  }
}

export function sessionConfig(b: BfdInstance): SessionConfig {
  return {
    name: b.name,
    minRxUs: b.minRxUs,
    minTxUs: b.minTxUs,
    idleTxUs: b.idleTxUs,
    multiplier: b.multiplier,
    passive: b.passive,
    ttl: b.ttl,
    maxHops: b.maxHops,
  };
}

/** Nothing of the session changed (weight, vrrp, checker may have). */
function sameSession(a: BfdInstance, b: BfdInstance): boolean {
  return JSON.stringify(sessionConfig(a)) === JSON.stringify(sessionConfig(b)) && samePeer(a, b);
}

/**
 * The same path: a reload that changes the neighbour, the source or the port starts the session afresh
 * (keepalived would carry the old state over even then); anything else is applied to the running session.
 */
function samePeer(a: BfdInstance, b: BfdInstance): boolean {
  return a.neighbor === b.neighbor && a.source === b.source && a.multihop === b.multihop;
}
