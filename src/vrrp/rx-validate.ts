// Receive validation of a VRRP advert for one instance, as a pure function of (bytes, socket metadata,
// instance policy). The checks run in keepalived's order (docs/keepalived-semantics.md, 'Receive validation
// order'), each rejection naming the RFC 6527 / RFC 2787 counter to bump; stats.ts countRxResult() applies
// the result to counters.
//
// Order (rule numbers of that section):
//   1  AH header present ⇔ v2 instance with auth_type AH           → AuthTypeMismatch
//   2  lengths (IP total length, AH, count × address size, auth)    → PacketLengthErrors
//      (Ethernet padding of short frames tolerated, packet.ts MAX_PADDED_IP_LENGTH)
//   3  TTL / hop limit 255 (RFC 9568 §7.1); unicast: the peer's min_ttl/max_ttl if set, else any → IpTtlErrors
//   4  version == configured (and a version nibble of 2/3)          → VersionErrors
//      VRID == configured (the demultiplexing keepalived does before vrrp_check_packet) → VrIdErrors
//   6  v2 auth type known (0/1/2) → InvalidAuthType; == configured → AuthTypeMismatch;
//      PASS 8-byte constant-time compare / AH HMAC-MD5-96          → AuthFailures
//      v2 advert interval == configured (else drop, "to prevent concurrent VRID") → AdvIntervalErrors
//   7  type == 1 (RFC 9568 §7.1)                                     → RcvdInvalidTypePackets
//  13a address count == number of configured VIPs (unless skipped)  → AddressListErrors
//   9  v3 advert interval mismatch is accepted (the FSM adopts it, RFC 9568 §6.4.2) — reported, not dropped
//  10  checksum: v2 VRRP-only; v3/IPv6 pseudo-header; v3/IPv4 either form, the matching one reported → ChecksumErrors
//  11  destination multicast ⇔ instance not unicast                 → DstAddrErrors (extension)
//  12  owner (priority 255) with owner_ignore_adverts drops          → OwnerIgnoredAdverts (extension)
//  13b every configured VIP present in the advert (unless skipped)  → AddressListErrors (counted as received)
//  14  unicast source must be a configured peer (check_unicast_src, unless skipped) → UnicastSrcErrors (ext.)
// Rule 5 (keepalived 2.4's auth_hmac trailer) does not exist in 2.2.7 and is not implemented.
// Rules 13 and 14 are skipped only for a backup with skip_check_adv_addr, for an advert from the master it
// already follows (docs/hostile-network.md): an advert for our VRID with another address list — another
// cluster reusing the VRID, or a forger — is dropped, so it cannot take the VIPs from our master.
import type { AuthTypeCode, IpFamily, RxMeta, VrrpAdvert, VrrpVersion } from './advert.js';
import { AuthType, PRIORITY_OWNER, VRRP_TTL, VRRP_TYPE_ADVERTISEMENT } from './advert.js';
import { AUTH_DATA_LENGTH, authKeyBytes, passAuthMatches } from './auth.js';
import { readU32, verifyAhIcv } from './auth-ah.js';
import { type ChecksumForm, verifyVrrpChecksum } from './checksum.js';
import { type DecodedPacket, decodeAdvert } from './packet.js';
import { canonicalIp, isMulticastAddr, parseIpShared } from './packet-addr.js';
import { IPPROTO_AH, IPV4_OFF_PROTOCOL, IPV4_OFF_SRC } from './packet-ip.js';
import type { RxCounterName } from './stats.js';

export interface UnicastPeer {
  addr: string;
  /** keepalived `unicast_peer { ADDR min_ttl N max_ttl N }`: accepted TTL range for this peer's adverts. */
  minTtl?: number;
  maxTtl?: number;
}

/** What the receiving instance is configured with. */
export interface RxPolicy {
  version: VrrpVersion;
  family: IpFamily;
  vrid: number;
  /** v2 only (ignored for v3, as keepalived does). */
  authType: AuthTypeCode;
  /** `auth_pass` (first 8 bytes are used) for PASS and AH. */
  authPassword: string;
  advertIntervalCs: number;
  unicast: boolean;
  unicastPeers: UnicastPeer[];
  checkUnicastSrc: boolean;
  /** Configured (base) priority: 255 makes the instance the address owner. */
  priority: number;
  ownerIgnoreAdverts: boolean;
  /** Configured virtual addresses (any textual form; compared canonically). */
  vips: string[];
  /**
   * keepalived `skip_check_adv_addr` (or global `vrrp_skip_check_adv_addr`): a backup does not check the
   * address list (nor the unicast source) of an advert from the master it already follows.
   */
  skipCheckAdvAddr?: boolean;
  /** The bytes start with the IP header (IPv4 raw socket) rather than the VRRP header. */
  withIpHeader: boolean;
  /**
   * v3/IPv4 unicast: the multicast group whose pseudo-header keepalived 1.3.6 and older summed (checksum.ts
   * 'pseudo-header-group'); such adverts are accepted. Absent: not accepted (old_unicast_checksum never).
   */
  oldChecksumGroup?: string;
  /**
   * AH anti-replay, opt-in: when set, an AH sequence number below it fails authentication. The caller keeps the
   * last accepted `ahSeq` + 1 here.
   */
  ahMinSeq?: number;
}

export type RxValidateResult =
  | {
      ok: true;
      advert: VrrpAdvert;
      /**
       * Which checksum form matched ('vrrp-only' for v2, 'pseudo-header' for v3/IPv6, either for v3/IPv4, or
       * 'pseudo-header-group' for an old keepalived's v3/IPv4 unicast).
       */
      checksumForm: ChecksumForm;
      /**
       * Advertised addresses differ from the configured VIPs, accepted because the check was skipped
       * (skip_check_adv_addr and the advert came from the master followed); not counted, as keepalived.
       */
      addressListMismatch: boolean;
      /** v3 advert interval differs from the configured one (the FSM adopts the master's). */
      intervalMismatch: boolean;
      /** AH sequence number, when the packet carried AH. */
      ahSeq: number | null;
      packet: DecodedPacket;
    }
  | {
      ok: false;
      counter: RxCounterName;
      reason: string;
      /** Counted as a received advert too (keepalived counts an advert before checking its addresses). */
      received?: true;
    };

function reject(counter: RxCounterName, reason: string): RxValidateResult {
  return { ok: false, counter, reason };
}

/**
 * Validates one received packet for one instance. Pure; never throws. `followedMaster`: the address of the
 * master this instance follows as BACKUP (VrrpInstance.followedMaster), null otherwise; with
 * `policy.skipCheckAdvAddr` an advert from that address skips the address-list and unicast-source checks.
 */
export function validateAdvert(
  bytes: Uint8Array,
  meta: RxMeta,
  policy: RxPolicy,
  followedMaster: string | null = null,
): RxValidateResult {
  const family = policy.family;
  const wantAuth = policy.version === 2 ? policy.authType : AuthType.none;

  // 1. AH present ⇔ auth_type AH. Only visible when the IPv4 header is in front.
  if (family === 4 && policy.withIpHeader && bytes.length > IPV4_OFF_PROTOCOL && bytes[0]! >> 4 === 4) {
    const hasAh = bytes[IPV4_OFF_PROTOCOL] === IPPROTO_AH;
    if (hasAh !== (wantAuth === AuthType.ah)) {
      return reject(
        'AuthTypeMismatch',
        hasAh ? 'AH header but auth_type is not AH' : 'auth_type AH but no AH header',
      );
    }
  } else if (wantAuth === AuthType.ah) {
    return reject('AuthTypeMismatch', 'auth_type AH needs the IPv4 header to check the AH');
  }

  // 2. Lengths.
  const decoded = decodeAdvert(bytes, { family, withIpHeader: policy.withIpHeader });
  if (!decoded.ok && decoded.error !== 'vrrp-version') {
    if (decoded.error === 'ah-header') return reject('AuthFailures', 'malformed AH header');
    return reject('PacketLengthErrors', `malformed packet: ${decoded.error}`);
  }
  const pkt = decoded.ok ? decoded.packet : null;
  const srcText = pkt?.ipv4?.src ?? pkt?.ipv6?.src ?? meta.srcAddr;
  const dstText = pkt?.ipv4?.dst ?? pkt?.ipv6?.dst ?? meta.dstAddr;

  // 3. TTL / hop limit.
  const ttl = pkt?.ipv4?.ttl ?? pkt?.ipv6?.hopLimit ?? meta.ttl;
  if (policy.unicast) {
    const peer = findPeer(policy, srcText);
    if (peer?.minTtl !== undefined && ttl < peer.minTtl) {
      return reject('IpTtlErrors', `TTL ${ttl} below min_ttl ${peer.minTtl} of peer ${srcText}`);
    }
    if (peer?.maxTtl !== undefined && ttl > peer.maxTtl) {
      return reject('IpTtlErrors', `TTL ${ttl} above max_ttl ${peer.maxTtl} of peer ${srcText}`);
    }
  } else if (ttl !== VRRP_TTL) {
    return reject('IpTtlErrors', `TTL/hop limit ${ttl}, expected ${VRRP_TTL}`);
  }

  // 4. Version, then VRID.
  if (!decoded.ok) return reject('VersionErrors', 'VRRP version is not 2 or 3 (or v2 over IPv6)');
  const { advert, packet } = decoded;
  if (advert.version !== policy.version) {
    return reject('VersionErrors', `version ${advert.version}, configured ${policy.version}`);
  }
  if (advert.vrid !== policy.vrid)
    return reject('VrIdErrors', `VRID ${advert.vrid}, configured ${policy.vrid}`);

  // 6. v2 authentication and interval.
  if (advert.version === 2) {
    const t = advert.authType;
    if (t !== AuthType.none && t !== AuthType.pass && t !== AuthType.ah) {
      return reject('InvalidAuthType', `unknown auth type ${t}`);
    }
    if (t !== wantAuth) return reject('AuthTypeMismatch', `auth type ${t}, configured ${wantAuth}`);
    if (t === AuthType.pass) {
      const at = packet.vrrpOffset + packet.vrrpLength - AUTH_DATA_LENGTH;
      if (!passAuthMatches(bytes, at, policy.authPassword))
        return reject('AuthFailures', 'PASS data mismatch');
    } else if (t === AuthType.ah) {
      const key = authKeyBytes(policy.authPassword);
      // keepalived leaves the TTL out of the ICV for unicast instances (auth-ah.ts).
      if (!verifyAhIcv(bytes, packet.ahOffset, key, packet.packetLength, policy.unicast)) {
        return reject('AuthFailures', 'AH HMAC-MD5-96 mismatch');
      }
      if (packet.ah!.spi !== readU32(bytes, IPV4_OFF_SRC)) {
        return reject('AuthFailures', `AH SPI ${packet.ah!.spi} is not the sender's address`);
      }
      if (policy.ahMinSeq !== undefined && packet.ah!.seq < policy.ahMinSeq) {
        return reject(
          'AuthFailures',
          `AH sequence ${packet.ah!.seq} replayed (expected ≥ ${policy.ahMinSeq})`,
        );
      }
    }
    if (advert.advertIntervalCs !== policy.advertIntervalCs) {
      return reject(
        'AdvIntervalErrors',
        `advert interval ${advert.advertIntervalCs} cs, configured ${policy.advertIntervalCs} cs`,
      );
    }
  }

  // 7. Type.
  if (advert.type !== VRRP_TYPE_ADVERTISEMENT) return reject('RcvdInvalidTypePackets', `type ${advert.type}`);

  // 13a. The number of addresses (keepalived checks it here, before the checksum).
  const checkAddresses = !(
    policy.skipCheckAdvAddr === true &&
    followedMaster !== null &&
    canonicalIp(followedMaster, family) === canonicalIp(srcText, family)
  );
  const wantCount = policy.vips.length;
  if (checkAddresses && advert.addresses.length !== wantCount) {
    return reject(
      'AddressListErrors',
      `received an unexpected ip number count ${advert.addresses.length}, expected ${wantCount}!`,
    );
  }

  // 9. v3 interval mismatch: accepted.
  const intervalMismatch = advert.advertIntervalCs !== policy.advertIntervalCs;

  // 10. Checksum.
  const src = parseIpShared(srcText, family);
  const dst = parseIpShared(dstText, family);
  if (!src || !dst)
    return reject('ChecksumErrors', `cannot form the pseudo-header from ${srcText} → ${dstText}`);
  const group =
    policy.oldChecksumGroup === undefined ? undefined : parseIpShared(policy.oldChecksumGroup, family);
  const checksumForm = verifyVrrpChecksum(
    bytes,
    { version: advert.version, family, src, dst, ...(group ? { group } : {}) },
    packet.vrrpOffset,
    packet.vrrpLength,
  );
  if (!checksumForm) return reject('ChecksumErrors', `bad checksum 0x${advert.checksum.toString(16)}`);

  // 11. Destination kind.
  const dstIsMulticast = isMulticastAddr(dst, family);
  if (dstIsMulticast === policy.unicast) {
    return reject(
      'DstAddrErrors',
      policy.unicast
        ? `multicast ${dstText} to a unicast instance`
        : `unicast ${dstText} to a multicast instance`,
    );
  }

  // 12. Owner ignoring adverts.
  if (policy.priority === PRIORITY_OWNER && policy.ownerIgnoreAdverts) {
    return reject('OwnerIgnoredAdverts', 'address owner with owner_ignore_adverts');
  }

  // 13b. Every configured VIP in the advert (keepalived logs the first missing one).
  const addressListMismatch = !sameAddressSet(advert.addresses, policy.vips, family);
  if (checkAddresses && addressListMismatch) {
    const got = new Set(advert.addresses);
    const missing =
      policy.vips.find((v) => !got.has(canonicalIp(stripPrefix(v), family) ?? '')) ?? policy.vips[0] ?? '';
    return {
      ok: false,
      counter: 'AddressListErrors',
      reason: `ip address associated with VRID ${policy.vrid} not present in MASTER advert: ${stripPrefix(missing)}`,
      received: true,
    };
  }

  // 14. Unicast source.
  if (checkAddresses && policy.unicast && policy.checkUnicastSrc && !findPeer(policy, srcText)) {
    return reject('UnicastSrcErrors', `source ${srcText} is not a configured unicast peer`);
  }

  return {
    ok: true,
    advert,
    checksumForm,
    addressListMismatch,
    intervalMismatch,
    ahSeq: packet.ah ? packet.ah.seq : null,
    packet,
  };
}

function findPeer(policy: RxPolicy, srcText: string): UnicastPeer | undefined {
  const src = canonicalIp(srcText, policy.family);
  if (src === null) return undefined;
  return policy.unicastPeers.find((p) => canonicalIp(p.addr, policy.family) === src);
}

/** Same addresses regardless of order; advertised addresses are already canonical (decoder output). */
function sameAddressSet(advertised: string[], configured: string[], family: IpFamily): boolean {
  if (advertised.length !== configured.length) return false;
  const want = new Set(configured.map((a) => canonicalIp(stripPrefix(a), family)));
  const got = new Set(advertised);
  if (got.size !== want.size) return false;
  for (const a of got) if (!want.has(a)) return false;
  return true;
}

/** Config VIPs may carry a prefix length (192.0.2.1/24). */
function stripPrefix(a: string): string {
  const slash = a.indexOf('/');
  return slash >= 0 ? a.slice(0, slash) : a;
}
