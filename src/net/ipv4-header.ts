// The IPv4 header of an outgoing VRRP packet, built by us and sent with IP_HDRINCL (RFC 791 §3.1).
// Why we build it instead of letting the kernel: keepalived does (TOS 0xc0 = DSCP CS6 "network control",
// TTL 255 per RFC 5798 §5.1.1.3, an incrementing identification), and a v3 checksum covers a pseudo-header
// with the source address, so the sender must fix the source itself anyway; writing it into the header
// makes the packet on the wire exactly the one whose checksum was computed.

export const IPV4_HEADER_LEN = 20;
export const VRRP_IPV4_TOS = 0xc0;

export interface Ipv4HeaderFields {
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  payloadLength: number;
  ttl: number;
  tos?: number;
  id?: number;
}

/** RFC 1071 ones'-complement sum of 16-bit words, folded and complemented. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (bytes.length % 2 === 1) sum += (bytes[bytes.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A 20-byte header: version 4, IHL 5, no options, DF clear, fragment offset 0, header checksum filled. */
export function buildIpv4Header(f: Ipv4HeaderFields): Uint8Array {
  const h = new Uint8Array(IPV4_HEADER_LEN);
  const v = new DataView(h.buffer);
  h[0] = 0x45;
  h[1] = f.tos ?? VRRP_IPV4_TOS;
  v.setUint16(2, IPV4_HEADER_LEN + f.payloadLength, false);
  v.setUint16(4, (f.id ?? 0) & 0xffff, false);
  v.setUint16(6, 0, false);
  h[8] = f.ttl;
  h[9] = f.protocol;
  h.set(f.src.subarray(0, 4), 12);
  h.set(f.dst.subarray(0, 4), 16);
  v.setUint16(10, internetChecksum(h), false);
  return h;
}
