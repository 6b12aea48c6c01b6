// One BFD session in asynchronous mode (RFC 5880 §6) with keepalived 2.2.7's timers and corner cases: the
// state machine Down → Init → Up (and AdminDown while the send socket is missing), the transmit interval and
// detection time it keeps as variables, poll/final, the reset a detection time after going Down, the
// neighbour's Demand bit, and the passive role. Pure: no I/O and no clock — every input carries `nowUs`, and
// the adapter calls timers(nowUs) at nextDeadlineUs(). Outputs are actions: packets to send and state changes
// (docs/bfd.md, 'The session').
import type { BfdInstance } from '../config/model.js';
import { type BfdControl, type BfdState, DIAG, encodeControl } from './packet.js';

/** What a session runs by: the bfd_instance's timers and TTL rules (src/config/model.ts, BfdInstance). */
export type SessionConfig = Pick<
  BfdInstance,
  'name' | 'minRxUs' | 'minTxUs' | 'idleTxUs' | 'multiplier' | 'passive' | 'ttl' | 'maxHops'
>;

export type SessionAction =
  | { type: 'send'; bytes: Uint8Array; packet: BfdControl }
  | {
      type: 'state';
      from: BfdState;
      to: BfdState;
      diag: number;
      /**
       * Whether trackers hear it (keepalived's rule): entering Up, and leaving Up — unless the neighbour
       * signalled AdminDown, which RFC 5880 §6.8.16 says is not a path failure.
       */
      notify: boolean;
    };

export interface ReceiveResult {
  actions: SessionAction[];
  /** Why the packet was discarded (undefined: it was taken). */
  dropped?: string;
}

const NEVER = Number.POSITIVE_INFINITY;
/** RFC 5880 §6.8.3: not Up ⇒ Desired Min TX at least one second. */
const MIN_IDLE_TX_US = 1_000_000;

export class BfdSession {
  cfg: SessionConfig;
  /** Ours; a new one is drawn each time the session leaves Up (keepalived does). */
  localDiscr: number;
  readonly #random: () => number;
  readonly #newDiscr: () => number;
  state: BfdState = 'Down';
  remoteState: BfdState = 'Down';
  remoteDiscr = 0;
  localDiag: number = DIAG.none;
  remoteDiag: number = DIAG.none;
  /** bfd.RemoteMinRxInterval: 1 µs until heard (RFC 5880 §6.8.1), and again after the reset. */
  remoteMinRxUs = 1;
  remoteMinTxUs = 0;
  remoteMult = 0;
  /** The neighbour's Demand (D) bit, as last received. */
  remoteDemand = false;
  /** A Poll Sequence is running: our packets carry P until a Final arrives. */
  poll = false;
  /** The interval between our periodic packets before jitter (keepalived's local tx intv). */
  localTxUs: number;
  /** The neighbour's interval as we reckon it: max(our Required Min RX, its Desired Min TX); 0 until heard. */
  remoteTxUs = 0;
  /** Detection time in force: the neighbour's Detect Mult × remoteTxUs (0 until the neighbour is heard). */
  detectUs = 0;
  /** The neighbour's detection time as we reckon it: our Detect Mult × localTxUs (0 until heard). */
  remoteDetectUs = 0;
  #nextTxAt = NEVER;
  #detectAt = NEVER;
  #resetAt = NEVER;
  #lastRxAt = NEVER;

  /**
   * `random()` in [0, 1) for the transmit jitter (injected: tests are reproducible); `newDiscr()` draws a
   * fresh non-zero local discriminator, unique among the process's sessions, when the session leaves Up.
   */
  constructor(
    cfg: SessionConfig,
    localDiscr: number,
    random: () => number = Math.random,
    newDiscr?: () => number,
  ) {
    if (localDiscr === 0) throw new RangeError('BFD local discriminator must be non-zero');
    this.cfg = cfg;
    this.localDiscr = localDiscr >>> 0;
    this.#random = random;
    this.#newDiscr = newDiscr ?? (() => (Math.floor(random() * 0xfffffffe) + 1) >>> 0);
    this.localTxUs = this.#idleTxUs;
  }

  /** Starts the session: an active one sends its first packet now; a passive one waits to be heard. */
  start(nowUs: number): SessionAction[] {
    if (this.state !== 'AdminDown' && !this.cfg.passive) this.#nextTxAt = nowUs;
    return this.timers(nowUs);
  }

  /**
   * A reload changed the instance's settings: the session keeps its state, timers and discriminators
   * (keepalived copies them to the reloaded instance of the same name), and a changed `min_rx` or `min_tx`
   * starts a Poll Sequence so that the neighbour takes the new values (RFC 5880 §6.8.3). The rest applies
   * from the next packet on.
   */
  reconfigure(cfg: SessionConfig): void {
    const timersChanged = cfg.minRxUs !== this.cfg.minRxUs || cfg.minTxUs !== this.cfg.minTxUs;
    this.cfg = cfg;
    if (timersChanged) this.poll = true;
  }

  /** The Desired Min TX Interval we advertise now. */
  get desiredMinTxUs(): number {
    return this.state === 'Up' ? this.cfg.minTxUs : this.#idleTxUs;
  }

  /** The interval between our periodic packets before jitter. */
  get txIntervalUs(): number {
    return this.localTxUs;
  }

  /** The earliest time timers() has work to do. */
  nextDeadlineUs(): number {
    return Math.min(this.#nextTxAt, this.#detectAt, this.#resetAt);
  }

  /**
   * The send socket could not be opened: the session is disabled (AdminDown, diag 7) and sends nothing —
   * keepalived enters AdminDown only for this, silently, and trackers are not told.
   */
  adminDown(): SessionAction[] {
    if (this.state === 'AdminDown') return [];
    const out: SessionAction[] = [];
    const from = this.state;
    this.state = 'AdminDown';
    this.localDiag = DIAG.adminDown;
    this.#nextTxAt = NEVER;
    this.#resetAt = NEVER;
    this.#fall();
    out.push({ type: 'state', from, to: 'AdminDown', diag: DIAG.adminDown, notify: false });
    return out;
  }

  /**
   * The send socket is open again. By the minute's retry: back to Down, silently, and an active session
   * resumes sending one interval later. Because a packet arrived (`byPacket`): to Init, and the packet is
   * then given to receive() (keepalived's order).
   */
  reopened(nowUs: number, byPacket: boolean): SessionAction[] {
    if (this.state !== 'AdminDown') return [];
    if (byPacket) {
      this.state = 'Init';
      this.localDiag = DIAG.none;
      return [{ type: 'state', from: 'AdminDown', to: 'Init', diag: DIAG.none, notify: false }];
    }
    this.state = 'Down';
    if (!this.cfg.passive) this.#nextTxAt = nowUs + this.#jittered(this.localTxUs);
    return [];
  }

  /**
   * A decoded packet from the neighbour (decodeControl passed it), with the TTL / hop limit it arrived with
   * (0 or −1 when unknown). Applies RFC 5880 §6.8.6 from the TTL check on, in keepalived's way.
   */
  receive(p: BfdControl, ttl: number, nowUs: number): ReceiveResult {
    const { maxHops, ttl: sentTtl } = this.cfg;
    // RFC 5881 §5 (GTSM), widened by max_hops as keepalived does; a TTL the kernel did not report passes.
    if (maxHops < 255 && ttl > 0 && ttl + maxHops < sentTtl)
      return { actions: [], dropped: `TTL ${ttl} below ${sentTtl - maxHops}` };
    if (p.yourDiscr !== 0 && p.yourDiscr !== this.localDiscr)
      return { actions: [], dropped: `your discriminator ${p.yourDiscr} is not ours` };
    if (p.auth) return { actions: [], dropped: 'authentication bit set, but no authentication is in use' };
    if (this.state === 'AdminDown') return { actions: [], dropped: 'session is AdminDown' };
    const out: SessionAction[] = [];
    const oldTx = this.localTxUs;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteMinTxUs = p.desiredMinTxUs;
    this.remoteDemand = p.demand;
    this.remoteMult = p.detectMult;
    if (p.final) this.poll = false;
    // The intervals are recomputed while not Up, and while Up only on a Poll or a Final (a Poll Sequence
    // announces every change). The Up rate needs the neighbour Up too: until then, the idle rate.
    if (this.state !== 'Up' || p.poll || p.final) {
      const fast = p.state === 'Up' && (this.state === 'Init' || this.state === 'Up');
      this.localTxUs = Math.max(fast ? this.cfg.minTxUs : this.#idleTxUs, this.remoteMinRxUs);
      this.remoteTxUs = Math.max(this.cfg.minRxUs, p.desiredMinTxUs);
    }
    // Asynchronous mode: Detect Mult received × the agreed interval (RFC 5880 §6.8.4).
    this.detectUs = p.detectMult * this.remoteTxUs;
    this.remoteDetectUs = this.cfg.multiplier * this.localTxUs;
    // A shorter interval: the next packet is rescheduled one (new) interval from now.
    if (this.localTxUs < oldTx && this.#nextTxAt !== NEVER)
      this.#nextTxAt = nowUs + this.#jittered(this.localTxUs);

    if (p.state === 'AdminDown') {
      if (this.state !== 'Down') this.#down(DIAG.neighborDown, nowUs, out);
    } else if (this.state === 'Down') {
      if (p.state === 'Down') this.#init(nowUs, out);
      else if (p.state === 'Init') this.#up(nowUs, out);
    } else if (this.state === 'Init') {
      if (p.state === 'Init' || p.state === 'Up') this.#up(nowUs, out);
    } else if (this.state === 'Up' && p.state === 'Down') this.#down(DIAG.neighborDown, nowUs, out);

    // The neighbour in Demand mode, both Up: no periodic packets (RFC 5880 §6.6). Otherwise they run, and
    // any packet heard starts them (a passive session's first one leaves one interval later).
    if (this.remoteDemand && this.state === 'Up' && this.remoteState === 'Up') this.#nextTxAt = NEVER;
    else if (this.#nextTxAt === NEVER) this.#nextTxAt = nowUs + this.#jittered(this.localTxUs);
    // A Poll is answered at once with a Final, which carries our parameters: a Poll of ours still pending
    // is dropped rather than sent later (RFC 5880 §6.5 allows that).
    if (p.poll) {
      this.poll = false;
      out.push(this.#packet(true));
    }
    this.#lastRxAt = nowUs;
    // Only Up pushes the detection timer back: an Init session must reach Up within one detection time.
    if (this.state === 'Up' && this.#detectAt !== NEVER) this.#detectAt = nowUs + this.detectUs;
    else if (this.state === 'Init' && this.#detectAt === NEVER) this.#detectAt = nowUs + this.detectUs;
    out.push(...this.timers(nowUs));
    return { actions: out };
  }

  /** Whatever is due at `nowUs`: the reset, the detection timer, then the periodic packet. */
  timers(nowUs: number): SessionAction[] {
    const out: SessionAction[] = [];
    if (nowUs >= this.#resetAt) {
      this.#resetAt = NEVER;
      this.#reset();
    }
    if (nowUs >= this.#detectAt) {
      this.#detectAt = NEVER;
      // RFC 5880 §6.8.1: no valid packet for a Detection Time ⇒ RemoteDiscr is zeroed; Init/Up go Down.
      this.remoteDiscr = 0;
      if (this.state === 'Init' || this.state === 'Up') this.#down(DIAG.expired, nowUs, out);
    }
    if (nowUs >= this.#nextTxAt) {
      // RFC 5880 §6.8.7: nothing periodic while the neighbour asks for a Required Min RX of 0.
      if (this.remoteMinRxUs !== 0) out.push(this.#packet(false));
      this.#nextTxAt = nowUs + this.#jittered(this.localTxUs);
    }
    return out;
  }

  /** A periodic packet is scheduled (for dumps). */
  get sending(): boolean {
    return this.#nextTxAt !== NEVER;
  }

  /** The detection timer runs (for dumps). */
  get expiring(): boolean {
    return this.#detectAt !== NEVER;
  }

  /** The reset timer runs (for dumps). */
  get resetting(): boolean {
    return this.#resetAt !== NEVER;
  }

  /** Time since the neighbour was last heard (for dumps), or undefined. */
  sinceLastRxUs(nowUs: number): number | undefined {
    return this.#lastRxAt === NEVER ? undefined : nowUs - this.#lastRxAt;
  }

  get #idleTxUs(): number {
    return Math.max(this.cfg.idleTxUs, MIN_IDLE_TX_US);
  }

  /**
   * Each interval is shortened by a random 10–25 % (keepalived's jitter, whatever Detect Mult: within RFC
   * 5880 §6.8.7's 0–25 %, and its 75–90 % rule for Detect Mult 1).
   */
  #jittered(intervalUs: number): number {
    return Math.max(1, Math.round(intervalUs * (1 - (0.1 + 0.15 * this.#random()))));
  }

  /** Down or AdminDown: the idle rate, no detection timer. */
  #fall(): void {
    this.localTxUs = Math.max(this.#idleTxUs, this.remoteMinRxUs);
    this.#detectAt = NEVER;
  }

  #down(diag: number, nowUs: number, out: SessionAction[]): void {
    const from = this.state;
    if (from === 'Up') this.localDiscr = this.#newDiscr() >>> 0;
    this.state = 'Down';
    this.localDiag = diag;
    // What was learnt of the neighbour is forgotten a detection time later, unless it is heard again.
    this.#resetAt = nowUs + this.detectUs;
    if (this.cfg.passive) this.#nextTxAt = NEVER;
    // Stopped by the neighbour's Demand mode: periodic packets resume at once, so that it hears of the
    // failure (RFC 5880 §6.6; keepalived stays silent until the neighbour is heard again).
    else if (this.#nextTxAt === NEVER) this.#nextTxAt = nowUs;
    this.#fall();
    const notify = from === 'Up' && this.remoteState !== 'AdminDown';
    out.push({ type: 'state', from, to: 'Down', diag, notify });
  }

  /** Init and Up: no diagnostic, no reset pending, the detection timer runs. */
  #rise(to: 'Init' | 'Up', nowUs: number, out: SessionAction[]): void {
    const from = this.state;
    this.state = to;
    this.localDiag = DIAG.none;
    this.#resetAt = NEVER;
    if (this.#detectAt === NEVER) this.#detectAt = nowUs + this.detectUs;
    out.push({ type: 'state', from, to, diag: DIAG.none, notify: to === 'Up' });
  }

  #init(nowUs: number, out: SessionAction[]): void {
    this.#rise('Init', nowUs, out);
    if (this.cfg.passive && this.#nextTxAt === NEVER) this.#nextTxAt = nowUs + this.#jittered(this.localTxUs);
  }

  #up(nowUs: number, out: SessionAction[]): void {
    this.#rise('Up', nowUs, out);
    // Entering Up changes Desired Min TX from the idle rate: a Poll Sequence tells the neighbour (§6.8.3).
    if (this.cfg.minTxUs !== this.#idleTxUs) this.poll = true;
  }

  /**
   * A detection time after going Down: the neighbour's state, discriminator, diagnostic, Demand bit and
   * our Poll are forgotten (keepalived), and its Required Min RX returns to 1 (RFC 5880 §6.8.18; keepalived
   * keeps the last value) so we send at our own idle rate.
   */
  #reset(): void {
    this.remoteState = 'Down';
    this.remoteDiscr = 0;
    this.remoteDiag = DIAG.none;
    this.remoteDemand = false;
    this.poll = false;
    this.remoteMinRxUs = 1;
    this.localTxUs = Math.max(this.#idleTxUs, this.remoteMinRxUs);
  }

  #packet(final: boolean): SessionAction {
    const packet: BfdControl = {
      diag: this.localDiag,
      state: this.state,
      poll: this.poll && !final,
      final,
      cpi: false,
      // keepalived sends neither authentication, nor Demand mode of its own, nor Echo.
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: this.cfg.multiplier,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTxUs: this.desiredMinTxUs,
      requiredMinRxUs: this.cfg.minRxUs,
      requiredMinEchoRxUs: 0,
    };
    return { type: 'send', bytes: encodeControl(packet), packet };
  }
}
