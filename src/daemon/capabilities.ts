// The two capabilities the daemon cannot run without, read from /proc/self/status (CapEff), so that a
// missing one is reported as one clear line before any socket is opened.
//   CAP_NET_RAW (13): raw IP sockets for VRRP (protocol 112) and AF_PACKET sockets for GARP / NA.
//   CAP_NET_ADMIN (12): adding and removing virtual addresses through rtnetlink, SO_BINDTODEVICE.
import { readFileSync } from 'node:fs';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

/** The effective capability set as a bigint mask, or null when /proc cannot tell. */
export function effectiveCapabilities(statusText?: string): bigint | null {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(text);
  return m?.[1] ? BigInt(`0x${m[1]}`) : null;
}

/** Names of the required capabilities missing from `mask` (empty when all are there or unknown). */
export function missingCapabilities(mask: bigint | null = effectiveCapabilities()): string[] {
  if (mask === null) return [];
  const out: string[] = [];
  if ((mask & (1n << BigInt(CAP_NET_RAW))) === 0n) out.push('CAP_NET_RAW');
  if ((mask & (1n << BigInt(CAP_NET_ADMIN))) === 0n) out.push('CAP_NET_ADMIN');
  return out;
}
