// One BFD session in asynchronous mode (RFC 5880 §6): the state machine Down → Init → Up (and AdminDown),
// negotiated intervals, the detection time, poll/final for timer changes, the slow idle rate while not Up,
// and the passive role. Pure: no I/O and no clock — every input carries `nowUs`, and the adapter calls
// timers(nowUs) at nextDeadlineUs(). Outputs are actions: packets to send and state changes
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
  readonly cfg: SessionConfig;
  readonly localDiscr: number;
  readonly #random: () => number;
  state: BfdState = 'Down';
  remoteState: BfdState = 'Down';
  remoteDiscr = 0;
  localDiag: number = DIAG.none;
  remoteDiag: number = DIAG.none;
  /** bfd.RemoteMinRxInterval: 1 µs until heard (RFC 5880 §6.8.1). */
  remoteMinRxUs = 1;
  remoteMinTxUs = 0;
  remoteMult = 0;
  /** A Poll Sequence is running: our packets carry P until a Final arrives. */
  poll = false;
  /** Detection time in force (0 until the neighbour is heard). */
  detectUs = 0;
  #nextTxAt = NEVER;
  #detectAt = NEVER;
  #lastRxAt = NEVER;

  /** `random()` in [0, 1) for the transmit jitter (injected: tests are reproducible). */
  constructor(cfg: SessionConfig, localDiscr: number, random: () => number = Math.random) {
    if (localDiscr === 0) throw new RangeError('BFD local discriminator must be non-zero');
    this.cfg = cfg;
    this.localDiscr = localDiscr >>> 0;
    this.#random = random;
  }

  /** Starts the session: an active one sends its first packet now. */
  start(nowUs: number): SessionAction[] {
    if (this.#maySend()) this.#nextTxAt = nowUs;
    return this.timers(nowUs);
  }

  /** The Desired Min TX Interval we advertise now. */
  get desiredMinTxUs(): number {
    return this.state === 'Up' ? this.cfg.minTxUs : Math.max(this.cfg.idleTxUs, MIN_IDLE_TX_US);
  }

  /** The interval between our periodic packets before jitter (RFC 5880 §6.8.7), or NEVER. */
  get txIntervalUs(): number {
    if (this.remoteMinRxUs === 0) return NEVER;
    return Math.max(this.desiredMinTxUs, this.remoteMinRxUs);
  }

  /** The earliest time timers() has work to do. */
  nextDeadlineUs(): number {
    return Math.min(this.#nextTxAt, this.#detectAt);
  }

  /** Administratively disables the session: one AdminDown packet is sent (RFC 5880 §6.8.16). */
  adminDown(): SessionAction[] {
    if (this.state === 'AdminDown') return [];
    const out: SessionAction[] = [];
    const heard = !(this.cfg.passive && this.remoteDiscr === 0);
    this.#setState('AdminDown', DIAG.adminDown, out);
    this.#detectAt = NEVER;
    this.#nextTxAt = NEVER;
    if (heard) out.push(this.#packet(false));
    return out;
  }

  /**
   * A decoded packet from the neighbour (decodeControl passed it), with the TTL / hop limit it arrived with
   * (−1 when unknown). Applies RFC 5880 §6.8.6 from the TTL check on.
   */
  receive(p: BfdControl, ttl: number, nowUs: number): ReceiveResult {
    const { maxHops, ttl: sentTtl } = this.cfg;
    // RFC 5881 §5 (GTSM), widened by max_hops as keepalived does; RFC 5883 multihop sessions set max_hops.
    if (maxHops < 255 && (ttl < 0 || ttl + maxHops < sentTtl))
      return { actions: [], dropped: `TTL ${ttl} below ${sentTtl - maxHops}` };
    if (p.yourDiscr !== 0 && p.yourDiscr !== this.localDiscr)
      return { actions: [], dropped: `your discriminator ${p.yourDiscr} is not ours` };
    if (this.state === 'AdminDown') return { actions: [], dropped: 'session is AdminDown' };
    const out: SessionAction[] = [];
    const oldTx = this.txIntervalUs;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteMinTxUs = p.desiredMinTxUs;
    this.remoteMult = p.detectMult;
    if (p.final) this.poll = false;
    // Asynchronous mode: Detect Mult received × the agreed interval (RFC 5880 §6.8.4).
    this.detectUs = p.detectMult * Math.max(this.cfg.minRxUs, p.desiredMinTxUs);

    if (p.state === 'AdminDown') {
      if (this.state !== 'Down') this.#setState('Down', DIAG.neighborDown, out);
    } else if (this.state === 'Down') {
      if (p.state === 'Down') this.#setState('Init', DIAG.none, out);
      else if (p.state === 'Init') this.#setState('Up', DIAG.none, out);
    } else if (this.state === 'Init') {
      if (p.state === 'Init' || p.state === 'Up') this.#setState('Up', DIAG.none, out);
    } else if (this.state === 'Up' && p.state === 'Down') this.#setState('Down', DIAG.neighborDown, out);

    this.#lastRxAt = nowUs;
    this.#detectAt = nowUs + this.detectUs;
    // Periodic transmission: a passive session starts now that it has heard the neighbour; a shorter
    // interval takes effect at once (a longer one at the next packet).
    const tx = this.txIntervalUs;
    if (tx === NEVER) this.#nextTxAt = NEVER;
    else if (this.#nextTxAt === NEVER || (tx < oldTx && this.#nextTxAt > nowUs + tx)) this.#nextTxAt = nowUs;
    // A Poll is answered at once with a Final (RFC 5880 §6.5), apart from the periodic packets.
    if (p.poll) out.push(this.#packet(true));
    out.push(...this.timers(nowUs));
    return { actions: out };
  }

  /** Whatever is due at `nowUs`: the detection timer, then the periodic packet. */
  timers(nowUs: number): SessionAction[] {
    const out: SessionAction[] = [];
    if (nowUs >= this.#detectAt) {
      this.#detectAt = NEVER;
      // RFC 5880 §6.8.1: no valid packet for a Detection Time ⇒ RemoteDiscr is zeroed; Init/Up go Down.
      this.remoteDiscr = 0;
      this.remoteState = 'Down';
      this.remoteMinRxUs = 1;
      this.poll = false;
      if (this.state === 'Init' || this.state === 'Up') this.#setState('Down', DIAG.expired, out);
      if (!this.#maySend()) this.#nextTxAt = NEVER;
      else if (this.#nextTxAt === NEVER) this.#nextTxAt = nowUs;
    }
    if (nowUs >= this.#nextTxAt) {
      if (this.#maySend()) {
        out.push(this.#packet(false));
        this.#nextTxAt = nowUs + this.#jittered(this.txIntervalUs);
      } else this.#nextTxAt = NEVER;
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

  /** Time since the neighbour was last heard (for dumps), or undefined. */
  sinceLastRxUs(nowUs: number): number | undefined {
    return this.#lastRxAt === NEVER ? undefined : nowUs - this.#lastRxAt;
  }

  #maySend(): boolean {
    if (this.state === 'AdminDown') return false;
    // RFC 5880 §6.8.7: a passive system sends nothing while RemoteDiscr is zero.
    if (this.cfg.passive && this.remoteDiscr === 0) return false;
    return this.remoteMinRxUs !== 0;
  }

  /** RFC 5880 §6.8.7: reduced by 0–25 %, and by at least 10 % when Detect Mult is 1. */
  #jittered(intervalUs: number): number {
    if (intervalUs === NEVER) return NEVER;
    const min = this.cfg.multiplier === 1 ? 0.1 : 0;
    return Math.max(1, Math.round(intervalUs * (1 - (min + (0.25 - min) * this.#random()))));
  }

  #setState(to: BfdState, diag: number, out: SessionAction[]): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.localDiag = diag;
    // Entering Up changes Desired Min TX from the idle rate: a Poll Sequence tells the neighbour (§6.8.3).
    if (to === 'Up' && this.cfg.minTxUs !== Math.max(this.cfg.idleTxUs, MIN_IDLE_TX_US)) this.poll = true;
    if (to !== 'Up') this.poll = false;
    const notify = to === 'Up' || (from === 'Up' && this.remoteState !== 'AdminDown');
    out.push({ type: 'state', from, to, diag, notify });
  }

  #packet(final: boolean): SessionAction {
    const packet: BfdControl = {
      diag: this.localDiag,
      state: this.state,
      // Poll and Final never together: a Final answers, the Poll goes in the next periodic packet.
      poll: this.poll && !final,
      final,
      cpi: false,
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
