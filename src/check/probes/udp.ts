// UDP_CHECK (keepalived check_udp.c / layer4.c semantics). One connected UDP socket per attempt with
// IP(V6)_RECVERR set, so an ICMP destination-unreachable answer reaches recv() as an error; `payload` is sent
// (without one, keepalived's 32-byte filler "keepalived check - keepa…"). Then:
// - without require_reply: an ICMP error is a failure, silence until the timeout is a success, any reply a
//   success;
// - with require_reply: silence is a failure; a reply succeeds, and when require_reply carries hex data the
//   reply must also be min_reply_length..max_reply_length bytes long (default 0..255) and match that data on
//   the first min(reply length, data length) bytes, X nibbles matching anything.
// docs/probes.md, "UDP_CHECK".
import type { Checker } from '../../config/model.js';
import { SOCK_DGRAM } from '../../net/libc.js';
import type { Probe, ProbeOutcome, ProbeTarget } from '../probe.js';
import { PendingReply, sendDatagram, sockaddrOf } from './native-socket.js';
import { connectCode, down, ms, nowUs, up, where, withErrno } from './outcome.js';

/** The reply rule compiled from the configuration. */
export interface ReplySpec {
  requireReply: boolean;
  /** Expected bytes and mask (1 bits must match), when require_reply has hex data. */
  data?: Uint8Array;
  mask?: Uint8Array;
  minLength: number;
  maxLength: number;
}

/** keepalived's filler when no payload is configured: "keepalived check - " repeated over 32 bytes. */
export function defaultPayload(): Uint8Array {
  const text = 'keepalived check - ';
  return new TextEncoder().encode(text.repeat(2).slice(0, 32));
}

/** Hex with X/x nibble wildcards → expected bytes and a mask of the bits that must match. */
export function parseReplyHex(hex: string): { data: Uint8Array; mask: Uint8Array } {
  const n = hex.length >> 1;
  const data = new Uint8Array(n);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    let m = 0;
    for (const c of [hex[2 * i]!, hex[2 * i + 1]!]) {
      d <<= 4;
      m <<= 4;
      if (c !== 'x' && c !== 'X') {
        d |= Number.parseInt(c, 16);
        m |= 0xf;
      }
    }
    data[i] = d;
    mask[i] = m;
  }
  return { data, mask };
}

export function replySpecOf(c: Checker): ReplySpec {
  const spec: ReplySpec = {
    requireReply: c.requireReply === true || c.requireReplyHex !== undefined,
    minLength: c.minReplyLength ?? 0,
    maxLength: c.maxReplyLength ?? 255,
  };
  if (c.requireReplyHex) Object.assign(spec, parseReplyHex(c.requireReplyHex));
  return spec;
}

/** Why a reply does not satisfy `spec`, or null when it does (pure). */
export function replyMismatch(reply: Uint8Array, spec: ReplySpec): string | null {
  if (!spec.data || !spec.mask) return null;
  if (reply.length < spec.minLength || reply.length > spec.maxLength)
    return `reply length ${reply.length} outside ${spec.minLength}..${spec.maxLength}`;
  const n = Math.min(reply.length, spec.data.length);
  for (let i = 0; i < n; i++)
    if (((reply[i]! ^ spec.data[i]!) & spec.mask[i]!) !== 0) return `reply data mismatch at byte ${i}`;
  return null;
}

export class UdpProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array | undefined;
  readonly #payload: Uint8Array;
  readonly #spec: ReplySpec;
  /** One byte more than the longest acceptable reply, so that a longer one shows as longer. */
  readonly #buf: Uint8Array;
  readonly #pending = new PendingReply();

  constructor(target: ProbeTarget, payload: Uint8Array | undefined, spec: ReplySpec) {
    this.#target = target;
    this.#sa = sockaddrOf(target.address, target.port, target.family);
    this.#payload = payload ?? defaultPayload();
    this.#spec = spec;
    this.#buf = new Uint8Array(Math.max(spec.maxLength, 0) + 1);
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    return new Promise((resolve) => {
      if (this.#pending.closed) return resolve(down(start, 'closed', 'probe closed'));
      if (!this.#sa) return resolve(down(start, 'local-error', `bad address ${this.#target.address}`));
      const t = this.#target;
      // keepalived's UDP_CHECK binds (bindto/bind_port) and marks, but does not bind to a device.
      const fd = sendDatagram(
        { ...t, bindIf: undefined },
        { type: SOCK_DGRAM, recvErr: true },
        this.#sa,
        this.#payload,
      );
      if (typeof fd !== 'number') {
        const why =
          fd.step === 'open'
            ? `${fd.op} failed: ${fd.errno}`
            : `UDP ${fd.step} to ${where(t)} failed: ${fd.error}`;
        const o = down(start, 'local-error', why);
        return resolve(fd.step !== 'open' && typeof fd.error === 'string' ? withErrno(o, fd.error) : o);
      }
      this.#pending.wait(
        fd,
        this.#buf,
        ms(timeoutUs),
        {
          datagram: (n) => {
            const why = replyMismatch(this.#buf.subarray(0, n), this.#spec);
            return why ? down(start, 'reply-mismatch', `UDP check to ${where(t)}: ${why}`) : up(start);
          },
          error: (n) =>
            down(start, connectCode(n, true), `UDP check to ${where(t)} failed: ${n} (ICMP error)`),
          // Without require_reply, silence is success (keepalived).
          timeout: () =>
            this.#spec.requireReply
              ? down(start, 'timeout', `UDP check to ${where(t)}: no reply within the timeout`)
              : up(start),
        },
        () => down(start, 'closed', 'probe closed'),
        resolve,
      );
    });
  }

  close(): void {
    this.#pending.close();
  }
}
