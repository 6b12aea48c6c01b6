// How many VIPs an advert can carry, and what keepalived does with the rest: they move to the excluded
// VIPs (installed and announced, not advertised) with "Number of VIPs (N) exceeds maximum/space available
// in packet (max M addresses) - excess moved to eVIPs" (docs/vrrp-adverts.md has the measurements).
// The room is the interface's MTU less an Ethernet header, the IP header, the VRRP header and, for
// VRRPv2, its 8 bytes of authentication data; at most 255 (the count field is one byte).
import type { Diagnostics } from './diagnostics.js';
import type { VrrpInstanceConfig } from './model.js';

const ETHERNET_HEADER = 14;
const VRRP_HEADER = 8;
const V2_AUTH_DATA = 8;
export const DEFAULT_MTU = 1500;

/** The most addresses of `family` an advert of `version` can carry on a link of `mtu` bytes. */
export function maxAdvertAddresses(version: 2 | 3, family: 4 | 6, mtu: number): number {
  const room =
    mtu - ETHERNET_HEADER - (family === 4 ? 20 : 40) - VRRP_HEADER - (version === 2 ? V2_AUTH_DATA : 0);
  return Math.max(0, Math.min(255, Math.floor(room / (family === 4 ? 4 : 16))));
}

/** Moves the VIPs past what fits to the end of the excluded VIPs, as keepalived completes an instance. */
export function moveExcessVips(
  i: VrrpInstanceConfig,
  version: 2 | 3,
  family: 4 | 6,
  mtu: number,
  diag: Diagnostics,
): void {
  const max = maxAdvertAddresses(version, family, mtu);
  const n = i.virtualIpaddresses.length;
  if (n <= max) return;
  diag.error(
    'CONFIG_VIPS_EXCEED_PACKET',
    `(${i.name}) Number of VIPs (${n}) exceeds maximum/space available in packet (max ${max} addresses) - excess moved to eVIPs`,
  );
  i.virtualIpaddressesExcluded.push(...i.virtualIpaddresses.splice(max));
}
