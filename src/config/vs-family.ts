// The address family of a virtual server as keepalived 2.2.7 settles it (docs/lvs.md, "The address family
// of a virtual server"): the address's, `ip_family`, else the first real or sorry server that is not
// tunnelled, else (fwmark virtual servers only) the servers' family when they all agree, else IPv4.
import type { Family, VirtualServer } from './model.js';

/** The family of a server address (addresses in the model are canonical). */
export function addressFamily(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/** The family settled so far while the block is read: undefined until something decides it. */
export function settledFamily(vs: VirtualServer): Family | undefined {
  const k = vs.key;
  return k.kind === 'group' ? vs.ipFamily : (k.family ?? vs.ipFamily);
}

/**
 * The last resort at the end of a fwmark virtual server whose servers are all tunnelled (so none decided
 * the family): the sorry server's and real servers' family if they agree, IPv4 when they mix or are absent.
 */
export function tunnelledFamily(vs: VirtualServer): Family {
  const fams = new Set<Family>();
  if (vs.sorryServer) fams.add(addressFamily(vs.sorryServer.address));
  for (const rs of vs.realServers) fams.add(addressFamily(rs.address));
  return fams.size === 1 ? [...fams][0]! : 4;
}

/** A fwmark virtual server's family, for models the parser has not completed as well (tests, tools). */
export function fwmarkFamily(vs: VirtualServer): Family {
  return settledFamily(vs) ?? tunnelledFamily(vs);
}
