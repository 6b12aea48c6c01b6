// A prepared write: what a socket write needs — bytes encoded, destination built, socket open — made ahead,
// with one write(). A backup prepares what its takeover writes (advert, VIP requests, GARP/NA frames) before
// its deadline, and the takeover only writes. To rehearse a write, it is written to a sink instead of its
// socket: the same code runs and nothing reaches the network or the kernel's tables, so that a takeover's
// first real write runs nothing for the first time (docs/decisions/takeover-warm-up.md).
import { type NetResult, ok } from './net-error.js';

/** Where a datagram goes: a socket (RawSocketPort is one), or a sink that keeps it from the kernel. */
export interface DatagramSink {
  sendTo(data: Uint8Array, sockaddr: Uint8Array): NetResult<number>;
}

export interface PreparedWrite<R = NetResult<void>> {
  /**
   * Writes to the socket the write was prepared for; given `sink`, the same bytes go to the sink instead, and
   * nothing else changes that only a real write should change (what is installed, AH sequence numbers,
   * pacing). A write that cannot be rehearsed without such a change writes nothing to a sink.
   */
  write(sink?: DatagramSink): R;
}

/** A sink that keeps nothing but counts: what a rehearsal writes. */
export class CountingSink implements DatagramSink {
  writes = 0;
  bytes = 0;

  sendTo(data: Uint8Array, _sockaddr?: Uint8Array): NetResult<number> {
    this.writes++;
    this.bytes += data.length;
    return ok(data.length);
  }
}

/** A sink that keeps copies of what is written to it (tests: a rehearsal writes the bytes the real write does). */
export class RecordingSink implements DatagramSink {
  readonly written: { data: Uint8Array; sockaddr: Uint8Array }[] = [];

  sendTo(data: Uint8Array, sockaddr: Uint8Array): NetResult<number> {
    this.written.push({ data: data.slice(), sockaddr: sockaddr.slice() });
    return ok(data.length);
  }
}

/** A write that writes nothing (nothing to write, or nothing that can be rehearsed) and reports `result`. */
export function nothingToWrite<R>(result: R): PreparedWrite<R> {
  return { write: () => result };
}
