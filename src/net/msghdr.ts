// recvmsg(2) from JS: one native block holds struct msghdr, one iovec, the source sockaddr, the control
// buffer and the data buffer, at fixed offsets (LP64 Linux layout, same on x86-64 and arm64):
//   struct msghdr { void *name @0; u32 namelen @8; iovec *iov @16; size_t iovlen @24;
//                   void *control @32; size_t controllen @40; int flags @48 }   (56 bytes)
//   struct iovec  { void *base @0; size_t len @8 }                               (16 bytes)
//   struct cmsghdr{ size_t len @0; int level @8; int type @12; data @16 }       (CMSG_ALIGN 8)
// A wrong offset here writes to the wrong native address, so the layout is fixed in one place.
import { type Libc, MSG_CTRUNC, MSG_DONTWAIT, MSG_TRUNC, type NativeBlock, type PollHandle } from './libc.js';

const MSGHDR_OFF = 0;
const IOVEC_OFF = 56;
const NAME_OFF = 72;
const NAME_LEN = 128;
const CONTROL_OFF = NAME_OFF + NAME_LEN;
const CONTROL_LEN = 512;
const DATA_OFF = CONTROL_OFF + CONTROL_LEN;

/**
 * The most datagrams one wake of a poll callback reads (about 0.6 ms of work): a flood cannot starve the
 * loop's timers, and the level-triggered poll fires again for the rest.
 */
export const MAX_PER_WAKE = 64;

export interface ControlMessage {
  level: number;
  type: number;
  data: Uint8Array;
}

export interface ReceivedDatagram {
  data: Uint8Array;
  /** The sender's sockaddr as returned in msg_name. */
  name: Uint8Array;
  control: ControlMessage[];
  /** Data or control was cut short (MSG_TRUNC / MSG_CTRUNC). */
  truncated: boolean;
}

/** The data of the first control message of `level` and `type`, if the kernel sent one. */
export function findCmsg(control: ControlMessage[], level: number, type: number): Uint8Array | undefined {
  return control.find((c) => c.level === level && c.type === type)?.data;
}

/** A reusable receive buffer for one socket. Not thread-safe; free() once, after the last receive. */
export class RecvBuffer {
  readonly #libc: Libc;
  readonly #block: NativeBlock;
  readonly #view: DataView;
  readonly #dataLen: number;
  #freed = false;

  constructor(libc: Libc, dataLen = 65536) {
    this.#libc = libc;
    this.#dataLen = dataLen;
    this.#block = libc.alloc(DATA_OFF + dataLen);
    const b = this.#block.bytes;
    this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const base = this.#block.address;
    const v = this.#view;
    v.setBigUint64(MSGHDR_OFF + 0, base + BigInt(NAME_OFF), true);
    v.setBigUint64(MSGHDR_OFF + 16, base + BigInt(IOVEC_OFF), true);
    v.setBigUint64(MSGHDR_OFF + 24, 1n, true);
    v.setBigUint64(MSGHDR_OFF + 32, base + BigInt(CONTROL_OFF), true);
    v.setBigUint64(IOVEC_OFF + 0, base + BigInt(DATA_OFF), true);
    v.setBigUint64(IOVEC_OFF + 8, BigInt(dataLen), true);
  }

  /** One non-blocking recvmsg: a datagram, or the errno (EAGAIN when nothing is queued). */
  receive(fd: number): { datagram: ReceivedDatagram } | { errno: number } {
    if (this.#freed) return { errno: 9 /* EBADF */ };
    const v = this.#view;
    // The kernel rewrites these three on every call.
    v.setUint32(MSGHDR_OFF + 8, NAME_LEN, true);
    // size_t msg_controllen as two 32-bit halves: avoids a BigInt per packet on the hot path.
    v.setUint32(MSGHDR_OFF + 40, CONTROL_LEN, true);
    v.setUint32(MSGHDR_OFF + 44, 0, true);
    v.setInt32(MSGHDR_OFF + 48, 0, true);
    const n = this.#libc.recvmsg(fd, this.#block.ptr, MSG_DONTWAIT);
    if (n < 0) return { errno: this.#libc.errno() };
    const b = this.#block.bytes;
    const flags = v.getInt32(MSGHDR_OFF + 48, true);
    const nameLen = Math.min(v.getUint32(MSGHDR_OFF + 8, true), NAME_LEN);
    const controlLen = Math.min(v.getUint32(MSGHDR_OFF + 40, true), CONTROL_LEN);
    const control: ControlMessage[] = [];
    for (let off = 0; off + 16 <= controlLen; ) {
      const len = v.getUint32(CONTROL_OFF + off, true); // high half of size_t is 0 for len <= 512
      if (len < 16 || off + len > controlLen) break;
      control.push({
        level: v.getInt32(CONTROL_OFF + off + 8, true),
        type: v.getInt32(CONTROL_OFF + off + 12, true),
        data: b.slice(CONTROL_OFF + off + 16, CONTROL_OFF + off + len),
      });
      off += (len + 7) & ~7;
    }
    return {
      datagram: {
        data: b.slice(DATA_OFF, DATA_OFF + Math.min(n, this.#dataLen)),
        name: b.slice(NAME_OFF, NAME_OFF + nameLen),
        control,
        truncated: (flags & (MSG_TRUNC | MSG_CTRUNC)) !== 0,
      },
    };
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#libc.free(this.#block);
  }
}

/**
 * Closes a polled socket: stops polling before closing the fd, so libuv never polls a closed descriptor,
 * and frees the receive buffer only after the loop that may be using it (the one that called us) unwinds.
 */
export function closePolled(
  lib: Libc,
  fd: number,
  poll: PollHandle | undefined,
  recv: RecvBuffer | undefined,
): void {
  poll?.close();
  lib.close(fd);
  if (recv) setImmediate(() => recv.free());
}
