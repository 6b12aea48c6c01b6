// The IPv4 header of an outgoing VRRP packet, built by us and sent with IP_HDRINCL (RFC 791 §3.1).
// Why we build it instead of letting the kernel: keepalived does (TOS 0xc0 = DSCP CS6 "network control",
// TTL 255 per RFC 5798 §5.1.1.3, an incrementing identification), and a v3 checksum covers a pseudo-header
// with the source address, so the sender must fix the source itself anyway; writing it into the header
// makes the packet on the wire exactly the one whose checksum was computed.

import { IPV4_MIN_HEADER_LENGTH, IPV4_TOS_NETWORK_CONTROL, writeIpv4Header } from '../vrrp/packet-ip.js';

export interface Ipv4HeaderFields {
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  payloadLength: number;
  ttl: number;
  /** Default 0xc0, as keepalived. */
  tos?: number;
  id?: number;
}

/** A 20-byte header: version 4, IHL 5, no options, DF clear, fragment offset 0, header checksum filled. */
export function buildIpv4Header(f: Ipv4HeaderFields): Uint8Array {
  const h = new Uint8Array(IPV4_MIN_HEADER_LENGTH);
  writeIpv4Header(h, 0, {
    tos: f.tos ?? IPV4_TOS_NETWORK_CONTROL,
    totalLength: IPV4_MIN_HEADER_LENGTH + f.payloadLength,
    id: f.id ?? 0,
    fragmentField: 0,
    ttl: f.ttl,
    protocol: f.protocol,
    src: f.src.subarray(0, 4),
    dst: f.dst.subarray(0, 4),
  });
  return h;
}
