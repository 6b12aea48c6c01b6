// The typed channel between the daemon's main process and the BFD process (Node's IPC pipe, JSON messages):
// commands go down; session states come back, which the main process turns into tracker events for VRRP
// (track_bfd). Small on purpose, as the checker's (src/check/channel.ts).

export type ToBfd = { type: 'reload' } | { type: 'dump'; file: string } | { type: 'stop' };

export type FromBfd =
  | { type: 'ready'; pid: number }
  /** A session's state as trackers see it; `vrrp` / `checker`: which processes the instance reports to. */
  | { type: 'state'; name: string; up: boolean; vrrp: boolean; checker: boolean }
  | { type: 'stopped' };

/** The argument that makes bin/keepalived-ts run as the BFD process (followed by the daemon's argv). */
export const BFD_CHILD_ARG = '--bfd-child';

export function isToBfd(m: unknown): m is ToBfd {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'reload' || t === 'dump' || t === 'stop';
}

export function isFromBfd(m: unknown): m is FromBfd {
  if (typeof m !== 'object' || m === null) return false;
  const x = m as { type?: unknown; name?: unknown; up?: unknown };
  if (x.type === 'state') return typeof x.name === 'string' && typeof x.up === 'boolean';
  return x.type === 'ready' || x.type === 'stopped';
}
