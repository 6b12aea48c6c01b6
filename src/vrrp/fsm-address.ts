// Address comparison for the equal-priority tie-break: "the higher IP address wins" (RFC 3768 §6.4.3,
// RFC 9568 §6.4.3; keepalived vrrp_saddr_cmp). Addresses compare as unsigned big-endian byte strings.
import type { IpFamily } from './advert.js';
import { parseIp } from './packet-addr.js';

/** Unparseable text sorts below every address (never wins a tie-break). */
function bytesOf(text: string, family: IpFamily): Uint8Array | null {
  return parseIp(text, family);
}

/** −1, 0 or 1 as `a` is lower than, equal to or higher than `b`. */
export function compareAddresses(a: string, b: string, family: IpFamily): -1 | 0 | 1 {
  const x = bytesOf(a, family);
  const y = bytesOf(b, family);
  if (x === null || y === null) {
    if (x === y) return 0;
    return x === null ? -1 : 1;
  }
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
