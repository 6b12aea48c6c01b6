// Adverts crossing the simulated LAN go through the real codec: the sender's `sendAdvert` action is encoded
// with packet.ts encodeAdvert (one packet per destination, since the v3 checksum covers the destination),
// and each receiver runs rx-validate.ts validateAdvert with its own policy before the FSM sees the advert.
import type { AdvertToSend } from '../vrrp/actions.js';
import {
  AuthType,
  advertToEncode,
  type RxMeta,
  VRRP_MCAST_GROUP4,
  VRRP_MCAST_GROUP6,
  type VrrpAdvert,
} from '../vrrp/advert.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import { encodeAdvert } from '../vrrp/packet.js';
import { type RxPolicy, validateAdvert } from '../vrrp/rx-validate.js';

export function multicastGroup(family: 4 | 6): string {
  return family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6;
}

export function encodeForDestination(a: AdvertToSend, dstAddr: string): Uint8Array {
  return encodeAdvert(advertToEncode(a), { family: a.family, srcAddr: a.srcAddr, dstAddr });
}

export function rxPolicyOf(p: VrrpInstanceParams): RxPolicy {
  return {
    version: p.version,
    family: p.family,
    vrid: p.vrid,
    authType: AuthType.none,
    authPassword: '',
    advertIntervalCs: p.advertIntervalCs,
    unicast: p.unicastPeers.length > 0,
    unicastPeers: p.unicastPeers.map((addr) => ({ addr })),
    checkUnicastSrc: false,
    priority: p.basePriority,
    ownerIgnoreAdverts: p.ownerIgnoreAdverts,
    vips: p.vips.map((v) => v.address),
    withIpHeader: false,
  };
}

/** The receive path: bytes → validated advert, or null when the packet layer drops it. */
export function receiveBytes(bytes: Uint8Array, meta: RxMeta, policy: RxPolicy): VrrpAdvert | null {
  const r = validateAdvert(bytes, meta, policy);
  return r.ok ? r.advert : null;
}
