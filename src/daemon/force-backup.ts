// Stop-gap until the engine has an event for "leave MASTER now" (requested from the src/vrrp owner): an advert
// at priority 255 from the instance's own address, which a non-owner MASTER takes for a higher-priority master
// and so goes to BACKUP (dropping the VIPs, notifying BACKUP); with nobody else advertising, its down timer
// makes it MASTER again and the VIPs are re-added — keepalived's observable behaviour when a VIP is deleted
// behind its back (notes §3.3). Not for address owners (they ignore it: same priority, same address).
import type { RxMeta, VrrpAdvert } from '../vrrp/advert.js';
import { PRIORITY_OWNER, VRRP_TYPE_ADVERTISEMENT } from '../vrrp/advert.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import type { EngineEvent } from '../vrrp/instance-set.js';

export function forceBackupEvent(
  p: Pick<VrrpInstanceParams, 'name' | 'version' | 'vrid' | 'advertIntervalCs' | 'primaryAddress' | 'family'>,
): EngineEvent {
  const advert: VrrpAdvert = {
    version: p.version,
    type: VRRP_TYPE_ADVERTISEMENT,
    vrid: p.vrid,
    priority: PRIORITY_OWNER,
    advertIntervalCs: p.advertIntervalCs,
    authType: 0,
    authDataHex: '',
    addresses: [],
    checksum: 0,
  };
  const meta: RxMeta = {
    family: p.family,
    srcAddr: p.primaryAddress,
    dstAddr: p.primaryAddress,
    ttl: 255,
    ifindex: 0,
  };
  return { type: 'instance', instance: p.name, event: { type: 'advertRx', advert, meta } };
}
