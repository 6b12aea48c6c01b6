// The receive buffer (SO_RCVBUF, as getsockopt reports it: the kernel's doubled value) of another process's
// raw IP sockets. `ss -m` would show it as rb…, but only on kernels with raw_diag (CONFIG_INET_RAW_DIAG);
// without it ss falls back to /proc/net/raw, which has no memory columns. So the socket is borrowed instead:
// pidfd_getfd(2) (Linux 5.6, root) gives us a descriptor of the same socket, and getsockopt reads it.
// Which of the process's descriptors are raw sockets: their inodes against /proc/PID/net/raw{,6}.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import koffi from 'koffi';

// Same numbers on x86-64 and arm64 (syscalls added since 5.1 share one table).
const SYS_pidfd_open = 434;
const SYS_pidfd_getfd = 438;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;

let calls:
  | {
      syscall3: (n: number, a: number, b: number, c: number) => number;
      getsockopt: (fd: number, level: number, name: number, val: Int32Array, len: Uint32Array) => number;
      close: (fd: number) => number;
    }
  | undefined;

function libc(): NonNullable<typeof calls> {
  if (calls) return calls;
  const lib = koffi.load('libc.so.6');
  const syscall3 = lib.func('long syscall(long, long, long, long)');
  const getsockopt = lib.func('int getsockopt(int, int, int, _Out_ int32_t *, _Inout_ uint32_t *)');
  const close = lib.func('int close(int)');
  calls = {
    syscall3: (n, a, b, c) => Number(syscall3(n, a, b, c)),
    getsockopt: (fd, level, name, val, len) => getsockopt(fd, level, name, val, len) as number,
    close: (fd) => close(fd) as number,
  };
  return calls;
}

/** Raw socket inodes of the namespace `pid` is in, with the IP protocol each is for (112 VRRP, 51 AH). */
function rawInodes(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of ['raw', 'raw6']) {
    const lines = readFileSync(`/proc/${pid}/net/${f}`, 'utf8').trim().split('\n').slice(1);
    for (const l of lines) {
      const cols = l.trim().split(/\s+/);
      // local_address is ADDR:PROTO (hex); the inode is the tenth column.
      const proto = Number.parseInt(cols[1]!.split(':')[1]!, 16);
      out.set(cols[9]!, proto);
    }
  }
  return out;
}

/** One raw socket of a process: its descriptor there, IP protocol, and SO_RCVBUF. */
export interface RawSocketBuffer {
  fd: number;
  protocol: number;
  rcvbuf: number;
}

/** The SO_RCVBUF of every raw IP socket `pid` holds (receiving or sending), by its descriptor number. */
export function rawSocketBuffers(pid: number): RawSocketBuffer[] {
  const inodes = rawInodes(pid);
  const c = libc();
  const pidfd = c.syscall3(SYS_pidfd_open, pid, 0, 0);
  if (pidfd < 0) throw new Error(`pidfd_open(${pid}) failed`);
  const out: RawSocketBuffer[] = [];
  try {
    for (const name of readdirSync(`/proc/${pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${name}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      const protocol = m ? inodes.get(m[1]!) : undefined;
      if (protocol === undefined) continue;
      const fd = c.syscall3(SYS_pidfd_getfd, pidfd, Number(name), 0);
      if (fd < 0) throw new Error(`pidfd_getfd(${pid}, ${name}) failed`);
      try {
        const val = new Int32Array(1);
        const len = new Uint32Array([4]);
        if (c.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, val, len) !== 0) throw new Error('getsockopt failed');
        out.push({ fd: Number(name), protocol, rcvbuf: val[0]! });
      } finally {
        c.close(fd);
      }
    }
  } finally {
    c.close(pidfd);
  }
  return out.sort((a, b) => a.fd - b.fd);
}
