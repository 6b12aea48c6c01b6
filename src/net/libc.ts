// The few libc calls the socket layer needs, bound through koffi (pinned 3.3.4; why koffi:
// docs/linux-sockets.md). Bound lazily on first use so that importing a module that only builds frames never
// loads the FFI. Constants are Linux values (identical on x86-64 and arm64).
import koffi from 'koffi';

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
/** sizeof(sockaddr_un.sun_path) on Linux. */
export const AF_UNIX_PATH_MAX = 108;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const MSG_CTRUNC = 0x08;

export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
/** SO_SNDBUF / SO_RCVBUF past the rmem_max / wmem_max caps (needs CAP_NET_ADMIN). */
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_BINDTODEVICE = 25;
/** Kernel receive timestamps as struct timespec (CLOCK_REALTIME) in an SCM_TIMESTAMPNS cmsg (same number). */
export const SO_TIMESTAMPNS = 35;

export const SOL_NETLINK = 270;
/** Acknowledgements without a copy of the request. */
export const NETLINK_CAP_ACK = 10;

export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_PKTINFO = 8;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;

export const IPV6_CHECKSUM = 7;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_DROP_MEMBERSHIP = 21;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;

export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

export const EINTR = 4;
export const EAGAIN = 11;
export const EADDRINUSE = 98;
export const EINPROGRESS = 115;

/** A native memory block and an ArrayBuffer view over it, for msghdr/iovec/cmsg built in JS. */
export interface NativeBlock {
  ptr: unknown;
  bytes: Uint8Array;
  address: bigint;
}

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array | null,
    alen: number,
  ): number;
  /** `msg` is the native block holding a struct msghdr at offset 0. */
  recvmsg(fd: number, msg: unknown, flags: number): number;
  close(fd: number): number;
  if_nametoindex(name: string): number;
  errno(): number;
  /** clock_gettime(CLOCK_REALTIME) in µs: the clock kernel receive timestamps use. */
  realtimeUs(): number;
  alloc(size: number): NativeBlock;
  free(block: NativeBlock): void;
  poll(fd: number, onReadable: () => void): PollHandle;
}

export interface PollHandle {
  close(): void;
  unref(): void;
  ref(): void;
}

/** Poll errors in a row (each after a read) before a handle is left stopped. */
const MAX_POLL_ERRORS_IN_A_ROW = 100;

let bound: Libc | undefined;
let library: ReturnType<typeof koffi.load> | undefined;

/** The C library loaded once, for modules that bind calls of their own (timerfd.ts). */
export function libcLibrary(): ReturnType<typeof koffi.load> {
  library ??= koffi.load('libc.so.6');
  return library;
}

export function libc(): Libc {
  if (bound) return bound;
  const lib = libcLibrary();
  const socket = lib.func('int socket(int, int, int)');
  const setsockopt = lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
  const bind = lib.func('int bind(int, const void *, uint32_t)');
  const sendto = lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const recvmsg = lib.func('intptr_t recvmsg(int, void *, int)');
  const close = lib.func('int close(int)');
  const ifNameToIndex = lib.func('unsigned int if_nametoindex(const char *)');
  const clockGettime = lib.func('int clock_gettime(int, void *)');
  const timespec = new BigInt64Array(2);
  bound = {
    socket: (d, t, p) => socket(d, t, p) as number,
    setsockopt: (fd, level, name, value, len) => setsockopt(fd, level, name, value, len) as number,
    bind: (fd, addr, len) => bind(fd, addr, len) as number,
    sendto: (fd, buf, len, flags, addr, alen) => Number(sendto(fd, buf, len, flags, addr, alen)),
    recvmsg: (fd, msg, flags) => Number(recvmsg(fd, msg, flags)),
    close: (fd) => close(fd) as number,
    if_nametoindex: (name) => ifNameToIndex(name) as number,
    errno: () => koffi.errno(),
    realtimeUs: () => {
      clockGettime(0 /* CLOCK_REALTIME */, timespec);
      return Number(timespec[0]!) * 1_000_000 + Math.floor(Number(timespec[1]!) / 1000);
    },
    alloc: (size) => {
      const ptr = koffi.alloc('uint8_t', size);
      const bytes = new Uint8Array(koffi.view(ptr, size));
      bytes.fill(0);
      return { ptr, bytes, address: koffi.address(ptr) };
    },
    free: (block) => koffi.free(block.ptr),
    poll: (fd, onReadable) => {
      // koffi invokes this with napi Call (not MakeCallback): anything thrown here would stay pending and
      // be re-thrown by the next unrelated koffi call, so callers must pass a function that never throws.
      // The real signature is (status, events), unlike koffi's .d.ts. On an error flagged on the fd
      // (EPOLLERR: a netlink receive-buffer overrun, an ICMP error) libuv stops the handle and calls with a
      // negative status; the read that follows collects the error (recvmsg returns it once) and the handle
      // is started again — else the socket would go deaf (docs/netlink.md). An error that stays after the
      // read (a closed fd) is not restarted forever.
      let errorsInARow = 0;
      const opts = { readable: true };
      const onPoll = (status: unknown) => {
        if (typeof status === 'number' && status < 0) {
          errorsInARow++;
          onReadable();
          if (errorsInARow <= MAX_POLL_ERRORS_IN_A_ROW) {
            try {
              h.start(opts, onPoll as never);
            } catch {
              /* the handle was closed by the reader */
            }
          }
          return;
        }
        errorsInARow = 0;
        onReadable();
      };
      const h = koffi.node.poll(fd, opts, onPoll as never);
      if (!h) throw new Error('koffi.node.poll returned no handle');
      return h;
    },
  };
  return bound;
}

/** Interface name → index, 0 when there is no such interface. */
export function ifNameToIndex(name: string): number {
  return libc().if_nametoindex(name);
}
