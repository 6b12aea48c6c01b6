// Errors of the Linux I/O adapters as values: every failure carries a stable code the daemon can match
// on and log, plus the OS errno name when one exists. Nothing on a packet or event path throws.
import { constants as osConstants } from 'node:os';

export type NetErrorCode =
  | 'KA_SOCKET_EPERM'
  | 'KA_SOCKET_ENODEV'
  | 'KA_SOCKET_EADDRNOTAVAIL'
  | 'KA_SOCKET_EINVAL'
  | 'KA_SOCKET_EAGAIN'
  | 'KA_SOCKET_ENETUNREACH'
  | 'KA_SOCKET_EMSGSIZE'
  | 'KA_SOCKET_CLOSED'
  | 'KA_SOCKET_BAD_ADDRESS'
  | 'KA_SOCKET_NO_SOURCE'
  | 'KA_SOCKET_OS'
  | 'KA_NETLINK_EEXIST'
  | 'KA_NETLINK_ENOENT'
  | 'KA_NETLINK_EADDRNOTAVAIL'
  | 'KA_NETLINK_ENODEV'
  | 'KA_NETLINK_EPERM'
  | 'KA_NETLINK_EINVAL'
  | 'KA_NETLINK_EOPNOTSUPP'
  | 'KA_NETLINK_TIMEOUT'
  | 'KA_NETLINK_CLOSED'
  | 'KA_NETLINK_BAD_ADDRESS'
  | 'KA_NETLINK_COMMAND'
  | 'KA_NETLINK_OS';

export interface NetError {
  code: NetErrorCode;
  /** One line, human readable, names the operation and the object (interface, address). */
  message: string;
  /** OS errno name (EPERM, EEXIST...) when the failure came from the kernel. */
  errno?: string;
}

export type NetResult<T> = { ok: true; value: T } | { ok: false; error: NetError };

export function ok<T>(value: T): NetResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: NetErrorCode, message: string, errno?: string): NetResult<T> {
  return { ok: false, error: errno === undefined ? { code, message } : { code, message, errno } };
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}
// Linux aliases: prefer the names people grep for.
errnoNames.set(osConstants.errno.EAGAIN, 'EAGAIN');

/** errno number → name ('EPERM'); unknown numbers become `E<number>`. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

const socketCodes: Record<string, NetErrorCode> = {
  EPERM: 'KA_SOCKET_EPERM',
  EACCES: 'KA_SOCKET_EPERM',
  ENODEV: 'KA_SOCKET_ENODEV',
  ENXIO: 'KA_SOCKET_ENODEV',
  EADDRNOTAVAIL: 'KA_SOCKET_EADDRNOTAVAIL',
  EINVAL: 'KA_SOCKET_EINVAL',
  EAGAIN: 'KA_SOCKET_EAGAIN',
  ENOBUFS: 'KA_SOCKET_EAGAIN',
  ENETUNREACH: 'KA_SOCKET_ENETUNREACH',
  ENETDOWN: 'KA_SOCKET_ENETUNREACH',
  EMSGSIZE: 'KA_SOCKET_EMSGSIZE',
  EBADF: 'KA_SOCKET_CLOSED',
};

/**
 * A socket-call failure as a value. EPERM/EACCES name the missing capability, because that is the one
 * failure an operator must fix outside the daemon (raw and packet sockets need CAP_NET_RAW).
 */
export function socketError(op: string, errno: number, subject = ''): NetError {
  const name = errnoName(errno);
  const code = socketCodes[name] ?? 'KA_SOCKET_OS';
  const where = subject ? ` (${subject})` : '';
  const hint =
    code === 'KA_SOCKET_EPERM'
      ? ': permission denied; raw and packet sockets need CAP_NET_RAW (run as root or grant cap_net_raw,cap_net_admin)'
      : '';
  return { code, message: `${op}${where} failed: ${name}${hint}`, errno: name };
}
