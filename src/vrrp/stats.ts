// Per-instance VRRP packet counters. Names follow the VRRPv3 MIB (RFC 6527 vrrpv3StatisticsEntry, without
// the prefix) and, for v2 authentication, the VRRP MIB (RFC 2787 vrrpStatsEntry). A few keepalived-ts
// extensions (marked below) count drops that neither MIB names, and which checksum form v3/IPv4 peers use.
import type { RxValidateResult } from './rx-validate.js';

export interface VrrpStats {
  // RFC 6527
  RcvdAdvertisements: number;
  AdvIntervalErrors: number;
  IpTtlErrors: number;
  RcvdPriZeroPackets: number;
  SentPriZeroPackets: number;
  RcvdInvalidTypePackets: number;
  AddressListErrors: number;
  PacketLengthErrors: number;
  ChecksumErrors: number;
  VersionErrors: number;
  VrIdErrors: number;
  // RFC 2787 (v2 authentication)
  AuthFailures: number;
  InvalidAuthType: number;
  AuthTypeMismatch: number;
  // keepalived-ts extensions
  /** Sent adverts (RFC 6527 has no "sent" counter besides SentPriZeroPackets). */
  SentAdvertisements: number;
  /** Multicast destination on a unicast instance, or unicast destination on a multicast one. */
  DstAddrErrors: number;
  /** Source not among the unicast peers (check_unicast_src). */
  UnicastSrcErrors: number;
  /** Dropped because this instance owns the addresses and has owner_ignore_adverts. */
  OwnerIgnoredAdverts: number;
  /** Accepted v3/IPv4 adverts whose checksum included the IPv4 pseudo-header (RFC 5798, keepalived/FRR default). */
  RcvdV3ChecksumWithPseudoHeader: number;
  /** Accepted v3/IPv4 adverts whose checksum covered VRRP only (RFC 9568, Cisco/Juniper, v3_checksum_as_v2). */
  RcvdV3ChecksumWithoutPseudoHeader: number;
}

/** The counters object newRxStats() returns (receive and send counters of one instance). */
export type RxStats = VrrpStats;

/** Counters that a rejected packet increments (one per rejection). */
export type RxCounterName =
  | 'AdvIntervalErrors'
  | 'IpTtlErrors'
  | 'RcvdInvalidTypePackets'
  | 'PacketLengthErrors'
  | 'ChecksumErrors'
  | 'VersionErrors'
  | 'VrIdErrors'
  | 'AuthFailures'
  | 'InvalidAuthType'
  | 'AuthTypeMismatch'
  | 'DstAddrErrors'
  | 'UnicastSrcErrors'
  | 'OwnerIgnoredAdverts'
  | 'AddressListErrors';

export function newRxStats(): RxStats {
  return {
    RcvdAdvertisements: 0,
    AdvIntervalErrors: 0,
    IpTtlErrors: 0,
    RcvdPriZeroPackets: 0,
    SentPriZeroPackets: 0,
    RcvdInvalidTypePackets: 0,
    AddressListErrors: 0,
    PacketLengthErrors: 0,
    ChecksumErrors: 0,
    VersionErrors: 0,
    VrIdErrors: 0,
    AuthFailures: 0,
    InvalidAuthType: 0,
    AuthTypeMismatch: 0,
    SentAdvertisements: 0,
    DstAddrErrors: 0,
    UnicastSrcErrors: 0,
    OwnerIgnoredAdverts: 0,
    RcvdV3ChecksumWithPseudoHeader: 0,
    RcvdV3ChecksumWithoutPseudoHeader: 0,
  };
}

/**
 * Applies one validateAdvert() result to the counters: a rejection bumps its counter (and RcvdAdvertisements
 * when keepalived counts it as received: a VIP missing from its address list); an accepted advert bumps
 * RcvdAdvertisements, RcvdPriZeroPackets and the v3/IPv4 checksum-form counters when they apply.
 */
export function countRxResult(stats: VrrpStats, result: RxValidateResult): void {
  if (!result.ok) {
    stats[result.counter]++;
    if (result.received) stats.RcvdAdvertisements++;
    return;
  }
  stats.RcvdAdvertisements++;
  if (result.advert.priority === 0) stats.RcvdPriZeroPackets++;
  if (result.advert.version === 3 && result.packet.family === 4) {
    if (result.checksumForm !== 'vrrp-only') stats.RcvdV3ChecksumWithPseudoHeader++;
    else stats.RcvdV3ChecksumWithoutPseudoHeader++;
  }
}

/** Counts one sent advert (priority 0 ones also in SentPriZeroPackets). */
export function countTx(stats: VrrpStats, priority: number): void {
  stats.SentAdvertisements++;
  if (priority === 0) stats.SentPriZeroPackets++;
}
