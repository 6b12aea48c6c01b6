// rtnetlink change requests (addresses, routes, rules) written inside the call that makes them, on a socket
// of our own (koffi, like the VRRP sockets). The kernel applies a request within the sendto() that carries
// it, so once write() returns the change is made — for every request, not only the first: the `netlink`
// package writes its first request at once but queues the next ones behind the first's completion, until a
// later turn of the event loop. A takeover adds its VIPs and routes and then sends gratuitous ARPs; with the
// package the second VIP was installed after its GARP had left (test/net/netlink.test.ts). The answers
// (NLMSG_ERROR, errno 0 for success) come back on the socket and settle the promise write() returned.
import { errnoName, fail, type NetError, type NetResult, ok } from './net-error.js';
import { netlinkErrnoError } from './netlink-messages.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from './nlmsg.js';
import type { DatagramSink } from './prepared-write.js';
import type { RawSocket } from './raw-socket.js';
import { forEachKernelMessage, openRtnlSocket } from './rtnl-socket.js';
import { sockaddrNl } from './sockaddr.js';

/** Room for the answers of a few thousand requests written in one turn (a big sync group's takeover). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
const ENOBUFS = 105;

interface Pending {
  what: string;
  settle: (r: NetResult<void>) => void;
  timer: NodeJS.Timeout;
}

/** One rtnetlink message of an answer: nlmsg_type and the payload after the 16-byte header (a copy). */
export interface NetlinkMessage {
  type: number;
  data: Buffer;
}

/** A request whose answer carries messages (a dump, or a change echoed back): collected until it ends. */
interface PendingQuery {
  what: string;
  messages: NetlinkMessage[];
  /** A dump ends with NLMSG_DONE; any other request with its NLMSG_ERROR (errno 0 for success). */
  dump: boolean;
  settle: (r: NetResult<NetlinkMessage[]>) => void;
  timer: NodeJS.Timeout;
}

export class RtnlWriter {
  readonly #sock: RawSocket;
  readonly #kernel = sockaddrNl(0);
  readonly #pending = new Map<number, Pending>();
  readonly #queries = new Map<number, PendingQuery>();
  #seq = 0;

  private constructor(sock: RawSocket) {
    this.#sock = sock;
  }

  static open(): NetResult<RtnlWriter> {
    let w: RtnlWriter | undefined;
    const r = openRtnlSocket({
      label: 'rtnetlink',
      groups: 0,
      receiveBufferBytes: RECEIVE_BUFFER_BYTES,
      capAck: true,
      onDatagram: (bytes, source) => {
        if (w) w.#onDatagram(bytes, source);
      },
      onError: (e) => {
        if (w) w.#onReceiveError(e);
      },
    });
    if (!r.ok) return r;
    w = new RtnlWriter(r.value);
    return ok(w);
  }

  /**
   * Writes one request (`payload` follows the 16-byte header) and resolves with the kernel's answer; never
   * rejects. `what` names the request in error messages ("add address 192.0.2.100/24 on 3"). Written to a
   * `sink` (a rehearsal, prepared-write.ts), the same code runs, through the same answer bookkeeping, and the
   * write settles at once since no kernel will answer it: a takeover's first real write then runs nothing
   * for the first time (measured: ~0.5 ms of first calls between the VIP write and the GARP when the
   * rehearsal skipped it).
   */
  write(
    type: number,
    flags: number,
    payload: readonly Uint8Array[],
    what: string,
    timeoutMs: number,
    sink?: DatagramSink,
  ): Promise<NetResult<void>> {
    if (this.#sock.closed)
      return Promise.resolve(fail('KA_NETLINK_CLOSED', `${what}: netlink socket closed`));
    const seq = this.#nextSeq();
    const msg = message(type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, payload);
    const sent = (sink ?? this.#sock).sendTo(msg, this.#kernel);
    if (!sent.ok) return Promise.resolve({ ok: false, error: this.#refused(what, sent.error.errno) });
    const answer = new Promise<NetResult<void>>((settle) => {
      const timer = setTimeout(() => {
        this.#settle(seq, fail('KA_NETLINK_TIMEOUT', `${what}: no answer`));
      }, timeoutMs);
      this.#hold();
      this.#pending.set(seq, { what, settle, timer });
    });
    if (sink) this.#settle(seq, ok(undefined));
    return answer;
  }

  /**
   * A request whose answer is a list of messages: a dump (`dump`, NLM_F_DUMP, collected until NLMSG_DONE)
   * or a change whose answer echoes objects back. Resolves with the messages (without the DONE / ACK);
   * never rejects. Not for a takeover's path: that is write().
   */
  query(
    type: number,
    flags: number,
    payload: readonly Uint8Array[],
    what: string,
    timeoutMs: number,
    dump: boolean,
  ): Promise<NetResult<NetlinkMessage[]>> {
    if (this.#sock.closed)
      return Promise.resolve(fail('KA_NETLINK_CLOSED', `${what}: netlink socket closed`));
    const seq = this.#nextSeq();
    const all = flags | NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0);
    const sent = this.#sock.sendTo(message(type, all, seq, payload), this.#kernel);
    if (!sent.ok) return Promise.resolve({ ok: false, error: this.#refused(what, sent.error.errno) });
    return new Promise<NetResult<NetlinkMessage[]>>((settle) => {
      const timer = setTimeout(() => {
        this.#settleQuery(seq, fail('KA_NETLINK_TIMEOUT', `${what}: no answer`));
      }, timeoutMs);
      this.#hold();
      this.#queries.set(seq, { what, messages: [], dump, settle, timer });
    });
  }

  #nextSeq(): number {
    this.#seq = (this.#seq % 0xffffffff) + 1;
    return this.#seq;
  }

  /** The socket keeps the process alive only while an answer is awaited. */
  #hold(): void {
    if (this.#pending.size === 0 && this.#queries.size === 0) this.#sock.ref();
  }

  #release(): void {
    if (this.#pending.size === 0 && this.#queries.size === 0 && !this.#sock.closed) this.#sock.unref();
  }

  #settleQuery(seq: number, r: NetResult<NetlinkMessage[]>): void {
    const q = this.#queries.get(seq);
    if (!q) return;
    this.#queries.delete(seq);
    clearTimeout(q.timer);
    this.#release();
    q.settle(r);
  }

  #refused(what: string, errno: string | undefined): NetError {
    return netlinkErrnoError(what, errno ?? 'EIO');
  }

  #settle(seq: number, r: NetResult<void>): void {
    const p = this.#pending.get(seq);
    if (!p) return;
    this.#pending.delete(seq);
    clearTimeout(p.timer);
    this.#release();
    p.settle(r);
  }

  #onDatagram(bytes: Uint8Array, source: Uint8Array): void {
    // Only the kernel (port 0) answers our requests.
    forEachKernelMessage(bytes, source, (type, seq, off, len, v) => {
      const q = this.#queries.get(seq);
      if (type === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4) {
        const errno = -v.getInt32(off + NLMSG_HDRLEN, true);
        const p = this.#pending.get(seq);
        if (p)
          this.#settle(
            seq,
            errno === 0 ? ok(undefined) : { ok: false, error: this.#refused(p.what, errnoName(errno)) },
          );
        else if (q && (errno !== 0 || !q.dump))
          this.#settleQuery(
            seq,
            errno === 0 ? ok(q.messages) : { ok: false, error: this.#refused(q.what, errnoName(errno)) },
          );
      } else if (q) {
        if (type === NLMSG_DONE) this.#settleQuery(seq, ok(q.messages));
        else q.messages.push({ type, data: Buffer.from(bytes.subarray(off + NLMSG_HDRLEN, off + len)) });
      }
      return true;
    });
  }

  #onReceiveError(e: NetError): void {
    // ENOBUFS: answers were dropped for want of room. The requests were applied or refused, we cannot tell
    // which; say so rather than wait out the timeout.
    if (e.errno !== errnoName(ENOBUFS)) return;
    for (const [seq, p] of [...this.#pending]) {
      this.#settle(seq, fail('KA_NETLINK_OS', `${p.what}: answer lost (netlink receive buffer overrun)`));
    }
    for (const [seq, q] of [...this.#queries]) {
      this.#settleQuery(
        seq,
        fail('KA_NETLINK_OS', `${q.what}: answer lost (netlink receive buffer overrun)`),
      );
    }
  }

  close(): void {
    for (const [seq] of [...this.#pending])
      this.#settle(seq, fail('KA_NETLINK_CLOSED', 'netlink socket closed'));
    for (const [seq] of [...this.#queries])
      this.#settleQuery(seq, fail('KA_NETLINK_CLOSED', 'netlink socket closed'));
    this.#sock.close();
  }
}

/** One netlink message: the 16-byte header (port 0: the kernel fills ours in) and the payload pieces. */
function message(type: number, flags: number, seq: number, payload: readonly Uint8Array[]): Uint8Array {
  let length = NLMSG_HDRLEN;
  for (const p of payload) length += p.length;
  const msg = new Uint8Array(length);
  const v = new DataView(msg.buffer);
  v.setUint32(0, length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  let off = NLMSG_HDRLEN;
  for (const p of payload) {
    msg.set(p, off);
    off += p.length;
  }
  return msg;
}
