// Binary socket structures written from JS (Linux LP64, little-endian hosts: x86-64, arm64).
// Network-order fields are written big-endian explicitly; everything else is host order.
import { AF_INET, AF_INET6, AF_NETLINK, AF_PACKET } from './libc.js';

export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;
export const SOCKADDR_LL_LEN = 20;
export const SOCKADDR_NL_LEN = 12;

/** struct sockaddr_nl { nl_family; nl_pad; nl_pid; nl_groups }: port 0 is the kernel (or "assign me one"). */
export function sockaddrNl(portId = 0, groups = 0): Uint8Array {
  const b = new Uint8Array(SOCKADDR_NL_LEN);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(4, portId, true);
  v.setUint32(8, groups, true);
  return b;
}

/** A C int in host order, for integer socket options. */
export function int32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  return b;
}

/** struct sockaddr_in { sa_family_t; in_port_t (BE); struct in_addr; zero[8] }. */
export function sockaddrIn(addr: Uint8Array, port = 0): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN_LEN);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  b.set(addr.subarray(0, 4), 4);
  return b;
}

/** struct sockaddr_in6 { family; port (BE); flowinfo; in6_addr; scope_id }; scope needed for link-local. */
export function sockaddrIn6(addr: Uint8Array, scopeId = 0, port = 0): Uint8Array {
  const b = new Uint8Array(SOCKADDR_IN6_LEN);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET6, true);
  v.setUint16(2, port, false);
  b.set(addr.subarray(0, 16), 8);
  v.setUint32(24, scopeId, true);
  return b;
}

/** struct sockaddr_ll for AF_PACKET sendto/bind: protocol in network order, ifindex, hardware address. */
export function sockaddrLl(ifindex: number, protocol: number, mac?: Uint8Array): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_LEN);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, protocol, false);
  v.setInt32(4, ifindex, true);
  if (mac) {
    b[11] = mac.length; // sll_halen
    b.set(mac.subarray(0, 8), 12);
  }
  return b;
}

/** struct ip_mreqn { multiaddr; address; ifindex } — joins by interface index, not by address. */
export function ipMreqn(group: Uint8Array, ifindex: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set(group.subarray(0, 4), 0);
  new DataView(b.buffer).setInt32(8, ifindex, true);
  return b;
}

/** struct ipv6_mreq { in6_addr; int ifindex }. */
export function ipv6Mreq(group: Uint8Array, ifindex: number): Uint8Array {
  const b = new Uint8Array(20);
  b.set(group.subarray(0, 16), 0);
  new DataView(b.buffer).setInt32(16, ifindex, true);
  return b;
}
