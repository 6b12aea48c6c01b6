// One vrrp_instance → the engine's VrrpInstanceParams and the runtime's InstanceWiring (socket, receive
// policy, transmit options, notify scripts). Defaults follow keepalived (man5 keepalived.conf;
// docs/keepalived-semantics.md, 'Defaults'): instance keywords fall back to their global_defs counterparts
// (vrrp_garp_*, vrrp_lower_prio_no_advert …), strict mode forces lower_prio_no_advert and turns accept off
// for non-owners, vrrp_min_garp means one GARP and no second block.
import { US_PER_CS, US_PER_S } from '../../common/units.js';
import type { GlobalDefs, NotifyScripts, SyncGroup, VrrpInstanceConfig } from '../../config/model.js';
import type { AuthTypeCode, IpFamily, VrrpVersion } from '../../vrrp/advert.js';
import { AuthType, VRRP_PROTOCOL } from '../../vrrp/advert.js';
import { resolveInstanceParams, type VrrpInstanceParams } from '../../vrrp/instance-params.js';
import { IPPROTO_AH } from '../../vrrp/packet-ip.js';
import type { RxPolicy } from '../../vrrp/rx-validate.js';
import { planRoutes, planRules } from '../route-spec.js';
import { type RuntimeError, runtimeError } from '../runtime-error.js';
import type { VmacSpec } from '../vmac.js';
import { engineVip } from './statics.js';
import type { TrackerCatalog } from './trackers.js';
import type { HostAddressing, InstanceWiring, RxBufShare, TxOptions } from './types.js';

/** What every instance's plan reads besides its own block. */
export interface InstanceContext {
  globals: GlobalDefs;
  host: HostAddressing;
  /** Every configured VIP (never a default source). */
  allVips: ReadonlySet<string>;
  vmacs: ReadonlyMap<string, VmacSpec>;
  trackers: TrackerCatalog;
  /** Collects what the daemon ignores or does differently, one line each. */
  warnings: string[];
  /** The sync group each grouped instance belongs to. */
  groupOf: ReadonlyMap<string, SyncGroup>;
}

function authCode(t: 'PASS' | 'AH' | undefined): AuthTypeCode {
  return t === 'PASS' ? AuthType.pass : t === 'AH' ? AuthType.ah : AuthType.none;
}

/** The configured notify scripts; `notify_deleted` without a script only changes the state (not run). */
export function notifyOf(n: NotifyScripts): NotifyScripts {
  const out: NotifyScripts = {};
  if (n.master) out.master = n.master;
  if (n.backup) out.backup = n.backup;
  if (n.fault) out.fault = n.fault;
  if (n.stop) out.stop = n.stop;
  if (n.generic) out.generic = n.generic;
  if (n.masterRxLowerPri) out.masterRxLowerPri = n.masterRxLowerPri;
  if (n.deleted && n.deleted.argv.length > 0) out.deleted = n.deleted;
  return out;
}

/** The GARP/NA timing keywords, instance over global_defs; vrrp_min_garp: one GARP, no second block. */
function garpTiming(i: VrrpInstanceConfig, g: GlobalDefs) {
  const minGarp = g.vrrpMinGarp;
  // vrrp_strict: no lower-priority GARPs at all (keepalived resets both to 0; docs/notify-data-dump.md).
  // Unset, they are the global ones, which default to the global (not the instance's) master delay and repeat.
  const strict = i.strictMode ?? g.vrrpStrict;
  const lowerDelayS = strict
    ? 0
    : (i.garpLowerPrioDelayS ?? g.vrrpGarpLowerPrioDelayS ?? g.vrrpGarpMasterDelayS);
  const lowerRepeat = strict
    ? 0
    : (i.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat);
  const out: {
    garpMasterDelayUs: number;
    garpMasterRepeat: number;
    garpMasterRefreshUs: number;
    garpMasterRefreshRepeat: number;
    garpLowerPrioDelayUs?: number;
    garpLowerPrioRepeat?: number;
  } = {
    garpMasterDelayUs: minGarp ? 0 : (i.garpMasterDelayS ?? g.vrrpGarpMasterDelayS) * US_PER_S,
    garpMasterRepeat: minGarp ? 1 : (i.garpMasterRepeat ?? g.vrrpGarpMasterRepeat),
    garpMasterRefreshUs: (i.garpMasterRefreshS ?? g.vrrpGarpMasterRefreshS) * US_PER_S,
    garpMasterRefreshRepeat: i.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat,
  };
  if (lowerDelayS !== undefined) out.garpLowerPrioDelayUs = minGarp ? 0 : lowerDelayS * US_PER_S;
  else if (minGarp) out.garpLowerPrioDelayUs = 0;
  if (lowerRepeat !== undefined) out.garpLowerPrioRepeat = minGarp ? 1 : lowerRepeat;
  else if (minGarp) out.garpLowerPrioRepeat = 1;
  return out;
}

/**
 * keepalived garp_extra_if (instance over global_defs; docs/keepalived-semantics.md, 'GARP and unsolicited
 * NA'): the interval and the first address on each "extra" interface — one other than the instance's own that
 * holds a VIP or excluded VIP (`dev`). 2.2.7 also counts VMACs it makes for single addresses (use_vmac_addr,
 * not implemented here), so without `all` nothing is extra and the interval is cleared, as it is when no
 * interface is extra. The instance's own interface gets one too with vmac_xmit_base, as in 2.2.7.
 */
function garpExtra(
  i: VrrpInstanceConfig,
  g: GlobalDefs,
  runIf: string,
  xmitBase: boolean,
): { garpExtraIfUs: number; garpExtraAddresses: string[] } {
  const own = i.garpExtraIfS !== undefined;
  const seconds = own ? i.garpExtraIfS! : g.vrrpGarpExtraIfS;
  // `all` from a rejected instance line still counts (2.2.7 sets its flag before judging the time).
  const all = i.garpExtraIfAll === true || (!own && g.vrrpGarpExtraIfAll);
  const vips = [...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded];
  const anyExtra = vips.some((v) => (v.dev ?? runIf) !== runIf);
  if (seconds <= 0 || !all || !anyExtra) return { garpExtraIfUs: 0, garpExtraAddresses: [] };
  const seen = new Set<string>();
  const addresses: string[] = [];
  for (const v of vips) {
    const ifname = v.dev ?? runIf;
    if (seen.has(ifname) || (ifname === runIf && !xmitBase)) continue;
    seen.add(ifname);
    addresses.push(v.address);
  }
  return { garpExtraIfUs: seconds * US_PER_S, garpExtraAddresses: addresses };
}

/**
 * The engine parameters and wiring of one instance, or why it cannot run. Call after validateConfig (which
 * settles version, family, priority and the advert interval the way keepalived's vrrp_complete_instance does).
 */
export function planInstance(
  i: VrrpInstanceConfig,
  ctx: InstanceContext,
): { params: VrrpInstanceParams; wiring: InstanceWiring } | { error: RuntimeError } {
  const g = ctx.globals;
  const name = `(${i.name})`;
  if (i.vrid === undefined)
    return { error: runtimeError('VRRP_NO_VRID', `${name} has no virtual_router_id`, i.name) };
  if (i.interface === undefined) {
    return { error: runtimeError('VRRP_NO_INTERFACE', `${name} has no interface`, i.name) };
  }
  const family: IpFamily = i.family ?? i.virtualIpaddresses[0]?.family ?? 4;
  let version: VrrpVersion = i.version ?? g.vrrpVersion;
  if (family === 6) version = 3;
  const strict = i.strictMode ?? g.vrrpStrict;
  const basePriority = i.priority ?? (i.state === 'MASTER' ? 255 : 100);
  const advertIntervalCs = Math.max(1, Math.round((i.advertIntervalUs ?? US_PER_S) / US_PER_CS));

  // No address to send from (none on the interface yet, or no interface yet under dynamic_interfaces): keepalived
  // 2.2.7 runs the instance in FAULT, "(no IPv4 address for interface)", with no source ("Using src_ip =
  // (none)"), until one is added (docs/config-meaning.md, 'An interface without an address'). The family's
  // any-address stands in for the source meanwhile; the runtime starts the instance in that fault.
  const found = i.unicastSrcIp ?? ctx.host.defaultSource(i.interface, family, ctx.allVips);
  const src = found ?? (family === 4 ? '0.0.0.0' : '::');
  // use_vmac (vmac.ts): the instance runs on its VMAC — VIPs, GARP/NA and (unless vmac_xmit_base) adverts —
  // while its default source stays the configured interface's (copied onto an IPv6 VMAC at setup).
  const vmac = ctx.vmacs.get(i.name);
  const runIf = vmac?.name ?? i.interface;
  const trackers = ctx.trackers.forInstance(i, name, ctx.warnings);

  // unicast_fault_no_peer with no peer: FAULT for as long as this configuration is loaded (keepalived's
  // configuration fault), instead of 2.2.7's default fall-back to multicast (validate-vrrp.ts warns of that).
  const noPeerFault = i.unicastFaultNoPeer === true && i.unicastPeers.length === 0;
  if (noPeerFault) ctx.warnings.push(`${name} Cannot use unicast without any peers - going to fault state`);
  const resolved = resolveInstanceParams({
    name: i.name,
    vrid: i.vrid,
    version,
    family,
    interface: runIf,
    basePriority,
    advertIntervalCs,
    // Without `state` keepalived wants MASTER for the address owner (it becomes MASTER at once).
    initialState: i.state ?? (basePriority === 255 ? 'MASTER' : 'BACKUP'),
    nopreempt: i.nopreempt,
    preemptDelayUs: i.preemptDelayUs ?? 0,
    downTimerAdverts: i.downTimerAdverts ?? g.vrrpDownTimerAdverts,
    primaryAddress: src,
    vips: i.virtualIpaddresses.map(engineVip),
    excludedVips: i.virtualIpaddressesExcluded.map(engineVip),
    // virtual_routes / virtual_rules travel through the engine as opaque JSON (route-spec.ts).
    virtualRoutes: planRoutes(i.virtualRoutes, family),
    virtualRules: planRules(i.virtualRules, family),
    unicastPeers: i.unicastPeers.map((p) => p.address),
    // vrrp_strict forces RFC 3768 behaviour: no advert in reply to a lower priority
    // (docs/keepalived-semantics.md, 'Defaults').
    lowerPrioNoAdvert: strict || (i.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert),
    higherPrioSendAdvert: i.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert,
    ownerIgnoreAdverts: i.ownerIgnoreAdverts ?? g.vrrpOwnerIgnoreAdverts,
    ...garpTiming(i, g),
    // vmac_xmit_base counts only with use_vmac and without strict mode (2.2.7 clears it otherwise).
    ...garpExtra(i, g, runIf, vmac?.xmitBase === true && !strict),
    trackers,
    dontTrackPrimary: i.dontTrackPrimary,
    configFault: noPeerFault,
    accept: i.accept ?? (!strict || basePriority === 255),
    // Unset on the instance: its sync group's, else global_defs' (keepalived's vrrp_complete_instance).
    notifyPriorityChanges:
      i.notifyPriorityChanges ??
      ctx.groupOf.get(i.name)?.notifyPriorityChanges ??
      g.vrrpNotifyPriorityChanges,
  });
  for (const n of resolved.notes) ctx.warnings.push(`${name} ${n}`);

  const unicast = i.unicastPeers.length > 0;
  const authType = version === 2 ? authCode(i.auth?.type) : AuthType.none;
  const authPassword = version === 2 ? (i.auth?.password ?? '') : '';
  const rxPolicy: RxPolicy = {
    version,
    family,
    vrid: i.vrid,
    authType,
    authPassword,
    advertIntervalCs: resolved.params.advertIntervalCs,
    unicast,
    unicastPeers: i.unicastPeers.map((p) => {
      const peer: RxPolicy['unicastPeers'][number] = { addr: p.address };
      if (p.minTtl !== undefined) peer.minTtl = p.minTtl;
      if (p.maxTtl !== undefined) peer.maxTtl = p.maxTtl;
      return peer;
    }),
    checkUnicastSrc: i.checkUnicastSrc ?? g.vrrpCheckUnicastSrc,
    priority: basePriority,
    ownerIgnoreAdverts: resolved.params.ownerIgnoreAdverts,
    vips: i.virtualIpaddresses.map((v) => v.address),
    skipCheckAdvAddr: i.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr,
    withIpHeader: family === 4,
  };
  // VRRPv3 IPv4 unicast with keepalived 1.3.6 and older (docs/vrrp-adverts.md, 'Checksums'): their adverts are
  // accepted unless `old_unicast_checksum never`, and `old_unicast_checksum` sends that form from the start
  // (without it the socket pool switches at the first such advert, as 2.2.7 does).
  const oldChecksum = unicast && version === 3 && family === 4;
  if (oldChecksum && i.oldUnicastChecksum !== 'never') rxPolicy.oldChecksumGroup = g.vrrpMcastGroup4;
  const tx: TxOptions = {
    authType,
    authPassword,
    checksumForm:
      oldChecksum && i.oldUnicastChecksum === 'config'
        ? 'pseudo-header-group'
        : (i.v3ChecksumAsV2 ?? g.v3ChecksumAsV2)
          ? 'vrrp-only'
          : 'pseudo-header',
    checksumGroup: g.vrrpMcastGroup4,
  };
  if (i.unicastTtl !== undefined) tx.unicastTtl = i.unicastTtl;
  const wiring: InstanceWiring = {
    name: i.name,
    fixedSource: i.unicastSrcIp !== undefined,
    unsourced: found === undefined,
    // keepalived clears track_src_ip on an instance without unicast_src_ip / mcast_src_ip. Its IPv4 source
    // is looked for on the configured interface even under use_vmac; an IPv6 one on the VMAC (vmac.ts).
    trackedSource:
      i.trackSrcIp && i.unicastSrcIp !== undefined
        ? { address: i.unicastSrcIp, ifname: family === 4 ? i.interface : runIf }
        : null,
    socket: {
      // keepalived 2.2.7 (seen in netns): multicast sockets on the VMAC, unicast ones on the parent, as with
      // vmac_xmit_base (a peer answers our ARP with its parent's MAC, so unicast adverts arrive there).
      ifname: vmac && !vmac.xmitBase && !unicast ? vmac.name : i.interface,
      family,
      unicast,
      group: i.mcastDstIp ?? (family === 4 ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6),
      protocol: authType === AuthType.ah ? IPPROTO_AH : VRRP_PROTOCOL,
    },
    rxPolicy,
    tx,
    notify: notifyOf(i.notify),
    rxBuf: rxBufShare(i, g, { family, version, ah: authType === AuthType.ah, ifname: runIf }),
  };
  return { params: resolved.params, wiring };
}

/**
 * An instance's share of its socket's receive buffer, in 2.2.7's order: its kernel_rx_buf_size, else the
 * vrrp_rx_bufs_policy size, else the multiplier times its advert's length (ADVERT) or its interface's MTU (MTU),
 * else nothing (docs/linux-sockets.md, 'Receive buffers').
 */
export function rxBufShare(
  i: VrrpInstanceConfig,
  g: GlobalDefs,
  o: { family: IpFamily; version: VrrpVersion; ah: boolean; ifname: string },
): RxBufShare {
  const policy = g.vrrpRxBufsPolicy;
  if (i.kernelRxBufSize) return { bytes: i.kernelRxBufSize };
  if (typeof policy === 'number') return { bytes: policy };
  if (policy === 'ADVERT') return { bytes: g.vrrpRxBufsMultiplier * advertLength(i, o) };
  if (policy === 'MTU') return { mtuTimes: g.vrrpRxBufsMultiplier, ifname: o.ifname };
  return { bytes: 0 };
}

/**
 * The length of the instance's advert as its socket reads it (2.2.7's vrrp_adv_len): the VRRP header, VRRPv2's
 * authentication data, the addresses, and for IPv4 the IP header (and the AH header under auth_type AH).
 */
function advertLength(
  i: VrrpInstanceConfig,
  o: { family: IpFamily; version: VrrpVersion; ah: boolean },
): number {
  const n = i.virtualIpaddresses.length;
  if (o.family === 6) return 8 + 16 * n;
  return 8 + (o.version === 2 ? 8 : 0) + 4 * n + 20 + (o.ah ? 24 : 0);
}
