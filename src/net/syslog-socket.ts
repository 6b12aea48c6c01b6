// Messages to the local syslog daemon the way glibc's syslog(3) sends them: one AF_UNIX datagram per message
// to /dev/log, "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE" (RFC 3164 without the host name), PRI = facility × 8
// + severity — so each line keeps its own severity (keepalived logs errors as LOG_ERR, most as LOG_INFO), which
// a single logger(1) child could not do. Node has no AF_UNIX datagram sockets; koffi gives us socket/sendto.
// The socket is non-blocking: a stalled syslog daemon loses lines rather than stalling VRRP.
import { AF_UNIX, AF_UNIX_PATH_MAX, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from './libc.js';

export const LOG_DAEMON = 3;
export const LOG_LOCAL0 = 16;
export type Severity = 'error' | 'warning' | 'info' | 'debug';
const SEVERITY: Record<Severity, number> = { error: 3, warning: 4, info: 6, debug: 7 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The RFC 3164 timestamp glibc writes: local time, day padded with a space. */
export function syslogStamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function syslogLine(
  facility: number,
  severity: Severity,
  ident: string,
  pid: number,
  msg: string,
  at: Date,
) {
  return `<${facility * 8 + SEVERITY[severity]}>${syslogStamp(at)} ${ident}[${pid}]: ${msg}`;
}

function sockaddrUn(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  const out = new Uint8Array(2 + AF_UNIX_PATH_MAX);
  new DataView(out.buffer).setUint16(0, AF_UNIX, true);
  out.set(bytes.subarray(0, AF_UNIX_PATH_MAX - 1), 2);
  return out;
}

export class SyslogSocket {
  readonly #fd: number;
  readonly #addr: Uint8Array;
  #closed = false;

  private constructor(fd: number, addr: Uint8Array) {
    this.#fd = fd;
    this.#addr = addr;
  }

  /** Opens a datagram socket towards `path`; null when the FFI or the socket is unavailable. */
  static open(path = '/dev/log'): SyslogSocket | null {
    try {
      const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      return fd < 0 ? null : new SyslogSocket(fd, sockaddrUn(path));
    } catch {
      return null;
    }
  }

  /** Sends one line; false when it could not be delivered (no listener, buffer full). */
  send(line: string): boolean {
    if (this.#closed) return false;
    const bytes = new TextEncoder().encode(line);
    return libc().sendto(this.#fd, bytes, bytes.length, 0, this.#addr, this.#addr.length) >= 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
  }
}
