// Plain data exchanged with the rtnetlink wrapper: what the daemon asks for and what it is told.
import type { AddressFamily } from './inet.js';

export interface LinkInfo {
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  carrier: boolean;
  /** "aa:bb:cc:dd:ee:ff", '' for links without one. */
  mac: string;
  mtu: number;
  /** IFLA_INFO_KIND: 'veth', 'macvlan', 'bridge'...; absent for plain devices. */
  linkKind?: string;
  /** IFLA_LINK: the parent of a macvlan/vlan/veth (index in the link's own namespace or its peer's). */
  parentIndex?: number;
}

export interface AddressInfo {
  index: number;
  family: AddressFamily;
  address: string;
  prefixLen: number;
  label?: string;
  /** RT_SCOPE: 0 global, 200 site, 253 link, 254 host. */
  scope: number;
  tentative: boolean;
  secondary: boolean;
}

export type AddressScope = 'global' | 'site' | 'link' | 'host' | number;

export interface AddressSpec {
  ifindex: number;
  address: string;
  prefixLen: number;
  /** IPv4 label (keepalived `label`), must start with the interface name. */
  label?: string;
  scope?: AddressScope;
  /** IPv4 broadcast address. */
  broadcast?: string;
  /** IPv6: skip duplicate address detection, so the address is usable at once (keepalived adds VIPs so). */
  nodad?: boolean;
  /** Do not create the prefix route (keepalived `noprefixroute`). */
  noprefixroute?: boolean;
  /** IPv6: preferred lifetime in seconds (0: deprecated); valid stays forever. Absent: both forever. */
  preferredLft?: number;
}

export interface RouteSpec {
  family: AddressFamily;
  /** Destination prefix; omit for a default route. */
  dst?: string;
  dstLen?: number;
  gateway?: string;
  oif?: number;
  /** Routing table id; default main (254). */
  table?: number;
  metric?: number;
  scope?: AddressScope;
  prefsrc?: string;
  /** 'unicast' (default), 'blackhole', 'unreachable', 'prohibit', 'local'. */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';
}

export interface RuleSpec {
  family: AddressFamily;
  table: number;
  priority?: number;
  from?: string;
  fromLen?: number;
  to?: string;
  toLen?: number;
  fwmark?: number;
  iifname?: string;
  oifname?: string;
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru';

export interface MacvlanSpec {
  parentIndex: number;
  name: string;
  /** e.g. 00:00:5e:00:01:VRID for an IPv4 VMAC (RFC 5798 §7.3). */
  mac: string;
  /** keepalived's default is private. */
  mode?: MacvlanMode;
}

export type NetlinkEvent =
  | ({ kind: 'link'; action: 'new' | 'del' } & LinkInfo)
  | ({ kind: 'address'; action: 'add' | 'del' } & AddressInfo);
