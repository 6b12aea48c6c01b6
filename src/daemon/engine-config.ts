// The validated keepalived.conf model → what the daemon runs: the VRRP engine's parameters (one
// VrrpInstanceParams per vrrp_instance, one SyncGroupParams per vrrp_sync_group) and, beside them, the
// per-instance wiring the Linux runtime needs and the engine does not (socket key, receive policy, transmit
// options, notify scripts). Pure: facts about the host come in through `HostAddressing`.
//
// Defaults follow keepalived (man5 keepalived.conf; docs/keepalived-semantics.md, 'Defaults'): instance
// keywords fall back to their global_defs counterparts (vrrp_garp_*, vrrp_lower_prio_no_advert …), strict
// mode forces lower_prio_no_advert and turns accept off for non-owners, vrrp_min_garp means one GARP and no
// second block.
import type {
  KeepalivedConfig,
  ScriptSpec,
  TrackFile,
  TrackProcess,
  TrackRef,
  VirtualAddress,
  VrrpInstance,
  VrrpScript,
} from '../config/model.js';
import type { AuthTypeCode, IpFamily, VrrpVersion } from '../vrrp/advert.js';
import { AuthType, VRRP_PROTOCOL } from '../vrrp/advert.js';
import type { ChecksumForm } from '../vrrp/checksum.js';
import {
  type VirtualAddress as EngineVip,
  type JsonValue,
  resolveInstanceParams,
  type VrrpInstanceParams,
} from '../vrrp/instance-params.js';
import type { EngineConfig } from '../vrrp/instance-set.js';
import { IPPROTO_AH } from '../vrrp/packet-ip.js';
import type { TrackerDef } from '../vrrp/priority.js';
import type { RxPolicy } from '../vrrp/rx-validate.js';
import type { SyncGroupParams } from '../vrrp/sync-group.js';
import type { AnnouncePacing } from './announcers.js';
import { parseRouteWords, parseRuleWords } from './route-spec.js';
import { vmacSpecs } from './vmac.js';

const US_PER_S = 1_000_000;
const US_PER_CS = 10_000;

/** What the mapping needs to know about this host. */
export interface HostAddressing {
  /**
   * Source an instance uses without unicast_src_ip/mcast_src_ip: primary IPv4, or link-local IPv6 — never one
   * of the `exclude`d addresses (the configured VIPs, which may be on the interface already).
   */
  defaultSource(ifname: string, family: IpFamily, exclude: ReadonlySet<string>): string | undefined;
}

/** notify_* scripts of an instance or sync group (keepalived's argv after quoting). */
export interface NotifyScripts {
  master?: ScriptSpec;
  backup?: ScriptSpec;
  fault?: ScriptSpec;
  stop?: ScriptSpec;
  /** `notify`: run with 4 more args (INSTANCE|GROUP, name, state, priority). */
  generic?: ScriptSpec;
  masterRxLowerPri?: ScriptSpec;
  /** `notify_deleted SCRIPT`: run when a reload removes the instance (the keyword alone only changes the state). */
  deleted?: ScriptSpec;
}

/** The sockets an instance shares: one per (interface, family, multicast|unicast). */
export interface SocketKey {
  ifname: string;
  family: IpFamily;
  unicast: boolean;
  /** Multicast group (ignored for unicast sockets). */
  group: string;
  /**
   * The IP protocol the socket receives: 112 (VRRP), or 51 for VRRPv2 with auth_type AH, whose packets carry
   * the AH header first (as keepalived's sockpool: "proto(51)").
   */
  protocol: typeof VRRP_PROTOCOL | typeof IPPROTO_AH;
}

export function socketKeyString(k: SocketKey): string {
  const proto = k.protocol === IPPROTO_AH ? '/ah' : '';
  return `${k.ifname}/${k.family}/${k.unicast ? 'unicast' : `mcast:${k.group}`}${proto}`;
}

/** How an instance's adverts are put on the wire besides what AdvertToSend carries. */
export interface TxOptions {
  authType: AuthTypeCode;
  authPassword: string;
  /** v3 over IPv4 only (v3_checksum_as_v2 → 'vrrp-only'). */
  checksumForm: ChecksumForm;
  /** keepalived `unicast_ttl`. */
  unicastTtl?: number;
}

export interface InstanceWiring {
  name: string;
  socket: SocketKey;
  /** unicast_src_ip / mcast_src_ip given: the source never follows the interface's addresses. */
  fixedSource: boolean;
  rxPolicy: RxPolicy;
  tx: TxOptions;
  notify: NotifyScripts;
}

export interface EnginePlan {
  engine: EngineConfig;
  /** By instance name. */
  wiring: Map<string, InstanceWiring>;
  /** By sync group name. */
  groupNotify: Map<string, NotifyScripts>;
  /** notify_fifo and vrrp_notify_fifo (deduplicated: the same path is written once, as keepalived does). */
  notifyFifos: string[];
  /** notify_fifo_script / vrrp_notify_fifo_script: started with their FIFO's path as last argument. */
  fifoScripts: { fifo: string; script: ScriptSpec }[];
  /** vrrp_script blocks some instance or sync group tracks: the daemon runs these. */
  scripts: VrrpScript[];
  /** track_file blocks some instance or sync group tracks: the daemon watches these. */
  files: TrackFile[];
  /** vrrp_track_process blocks some instance or sync group tracks: the daemon counts these processes. */
  processes: TrackProcess[];
  /** static_ipaddress / static_routes / static_rules (routes and rules as `{ words, family }`). */
  statics: { addresses: EngineVip[]; routes: JsonValue[]; rules: JsonValue[] };
  /** vrrp_garp_interval / vrrp_gna_interval and garp_group overrides. */
  pacing: AnnouncePacing;
  /** global_defs script_user: who scripts run as when they do not say. */
  scriptUser?: { user: string; group?: string };
  /** global_defs vrrp_startup_delay: wait this long before starting the instances. */
  startupDelayUs: number;
  /** Things the daemon does differently from keepalived or ignores, one line each, for the log. */
  warnings: string[];
  /** Instances that cannot run (the daemon refuses to start while there are any). */
  errors: string[];
}

/** Announcement pacing: the global intervals, with garp_group blocks overriding them per interface. */
export function announcePacing(cfg: KeepalivedConfig): AnnouncePacing {
  const perInterface = new Map<string, { garpIntervalUs?: number; gnaIntervalUs?: number }>();
  for (const gg of cfg.garpGroups) {
    for (const ifname of gg.interfaces) {
      const o: { garpIntervalUs?: number; gnaIntervalUs?: number } = {};
      if (gg.garpIntervalUs !== undefined) o.garpIntervalUs = gg.garpIntervalUs;
      if (gg.gnaIntervalUs !== undefined) o.gnaIntervalUs = gg.gnaIntervalUs;
      perInterface.set(ifname, o);
    }
  }
  return {
    garpIntervalUs: cfg.globalDefs.vrrpGarpIntervalUs,
    gnaIntervalUs: cfg.globalDefs.vrrpGnaIntervalUs,
    perInterface,
  };
}

/** Every virtual address of every instance (never a source address). */
export function configuredVips(cfg: KeepalivedConfig): Set<string> {
  const out = new Set<string>();
  for (const i of cfg.vrrpInstances) {
    for (const v of [...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded]) out.add(v.address);
  }
  return out;
}

function authCode(t: 'PASS' | 'AH' | undefined): AuthTypeCode {
  return t === 'PASS' ? AuthType.pass : t === 'AH' ? AuthType.ah : AuthType.none;
}

/** A config VIP line as the engine's plain data; the netlink layer reads the options. */
export function engineVip(v: VirtualAddress): EngineVip {
  const options: { [key: string]: JsonValue } = { family: v.family, noDad: v.noDad, noTrack: v.noTrack };
  if (v.label !== undefined) options.label = v.label;
  if (v.broadcast !== undefined) options.broadcast = v.broadcast;
  if (v.scope !== undefined) options.scope = v.scope;
  if (v.peer !== undefined) options.peer = v.peer;
  if (v.flags.length > 0) options.flags = [...v.flags];
  const out: EngineVip = { address: v.address, prefixLen: v.prefixLength, options };
  if (v.dev !== undefined) out.dev = v.dev;
  return out;
}

function trackerOf(ref: TrackRef, kind: TrackerDef['kind'], defaultWeight: number): TrackerDef {
  return { name: ref.name, kind, weight: ref.weight ?? defaultWeight, reverse: ref.reverse };
}

function notifyOf(n: VrrpInstance['notify']): NotifyScripts {
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

/**
 * Builds the engine parameters and runtime wiring. Call after validateConfig (which settles version,
 * family, priority and the advert interval the way keepalived's vrrp_complete_instance does).
 */
export function buildEnginePlan(cfg: KeepalivedConfig, host: HostAddressing): EnginePlan {
  const g = cfg.globalDefs;
  const warnings: string[] = [];
  const errors: string[] = [];
  const instances: VrrpInstanceParams[] = [];
  const wiring = new Map<string, InstanceWiring>();

  // A sync group's track_interface / track_script entries apply to each member (keepalived vrrp_sync.c).
  const groupTracks = new Map<string, TrackRef[]>();
  const groupScripts = new Map<string, TrackRef[]>();
  const groupFiles = new Map<string, TrackRef[]>();
  const groupProcesses = new Map<string, TrackRef[]>();
  for (const sg of cfg.syncGroups) {
    for (const m of sg.members) {
      groupTracks.set(m.name, sg.trackInterfaces);
      groupScripts.set(m.name, sg.trackScripts);
      groupFiles.set(m.name, sg.trackFiles);
      groupProcesses.set(m.name, sg.trackProcesses);
    }
  }
  const processByName = new Map(
    cfg.trackProcesses.filter((p) => (p.process?.length ?? 0) > 0).map((p) => [p.name, p]),
  );
  const usedProcesses = new Map<string, TrackProcess>();
  const fileByName = new Map(cfg.trackFiles.filter((f) => f.file).map((f) => [f.name, f]));
  const usedFiles = new Map<string, TrackFile>();
  const allVips = configuredVips(cfg);
  const scriptByName = new Map(cfg.vrrpScripts.filter((v) => v.script && !v.invalid).map((v) => [v.name, v]));
  const usedScripts = new Map<string, VrrpScript>();
  const vmacByInstance = new Map(vmacSpecs(cfg).map((v) => [v.instance, v]));

  for (const i of cfg.vrrpInstances) {
    const name = `(${i.name})`;
    if (i.vrid === undefined) {
      errors.push(`${name} has no virtual_router_id`);
      continue;
    }
    if (i.interface === undefined) {
      errors.push(`${name} has no interface`);
      continue;
    }
    const family: IpFamily = i.family ?? i.virtualIpaddresses[0]?.family ?? 4;
    let version: VrrpVersion = i.version ?? g.vrrpVersion;
    if (family === 6) version = 3;
    const strict = i.strictMode ?? g.vrrpStrict;
    const basePriority = i.priority ?? (i.state === 'MASTER' ? 255 : 100);
    const advertIntervalCs = Math.max(1, Math.round((i.advertIntervalUs ?? US_PER_S) / US_PER_CS));

    const src = i.unicastSrcIp ?? host.defaultSource(i.interface, family, allVips);
    if (src === undefined) {
      errors.push(
        `${name} no IPv${family} ${family === 4 ? 'address' : 'link-local address'} on ${i.interface} to send from`,
      );
      continue;
    }
    // use_vmac (vmac.ts): the instance runs on its VMAC — VIPs, GARP/NA and (unless vmac_xmit_base) adverts —
    // while its default source stays the configured interface's (copied onto an IPv6 VMAC at setup).
    const vmac = vmacByInstance.get(i.name);
    const runIf = vmac?.name ?? i.interface;
    if (i.trackBfds.length > 0) warnings.push(`${name} track_bfd is not run yet; ignored`);
    // virtual_routes / virtual_rules travel through the engine as opaque JSON ({ words, family }), checked here.
    const routeFamily = (r: { family?: IpFamily }) => r.family ?? family;
    const virtualRoutes: JsonValue[] = [];
    for (const r of i.virtualRoutes) {
      const parsed = parseRouteWords(r.words, routeFamily(r));
      if (parsed.ok) virtualRoutes.push({ words: [...r.words], family: routeFamily(r) });
      else warnings.push(`${name} virtual_route '${r.words.join(' ')}' skipped: ${parsed.error}`);
    }
    const virtualRules: JsonValue[] = [];
    for (const r of i.virtualRules) {
      const parsed = parseRuleWords(r.words, routeFamily(r));
      if (parsed.ok) virtualRules.push({ words: [...r.words], family: routeFamily(r) });
      else warnings.push(`${name} virtual_rule '${r.words.join(' ')}' skipped: ${parsed.error}`);
    }

    // track_interface: weight 0 (the default) means FAULT while down (man5 track_interface).
    const trackers: TrackerDef[] = [];
    for (const ref of [...i.trackInterfaces, ...(groupTracks.get(i.name) ?? [])]) {
      if (ref.name === i.interface) continue; // the instance's own interface is tracked anyway
      if (trackers.some((t) => t.name === ref.name)) continue;
      trackers.push(trackerOf(ref, 'interface', 0));
    }
    // track_file, track_script, track_process: the entry's weight (and reverse) override the block's own
    // (man5 track_script); weight 0 means FAULT while down (not for track_file: a value).
    const fromBlocks = <D extends { name: string; weight: number; reverse: boolean }>(
      refs: TrackRef[],
      byName: Map<string, D>,
      used: Map<string, D>,
      kind: TrackerDef['kind'],
      missing: string,
      extra: (d: D) => Partial<TrackerDef> = () => ({}),
    ) => {
      for (const ref of refs) {
        const def = byName.get(ref.name);
        if (!def) {
          warnings.push(`${name} ${missing.replace('%s', ref.name)}; ignored`);
          continue;
        }
        if (trackers.some((t) => t.name === ref.name)) continue;
        used.set(def.name, def);
        trackers.push({
          name: ref.name,
          kind,
          weight: ref.weight ?? def.weight,
          reverse: ref.weight !== undefined ? ref.reverse : def.reverse || ref.reverse,
          ...extra(def),
        });
      }
    };
    fromBlocks(
      [...i.trackFiles, ...(groupFiles.get(i.name) ?? [])],
      fileByName,
      usedFiles,
      'file',
      'track_file %s has no file',
    );
    fromBlocks(
      [...i.trackScripts, ...(groupScripts.get(i.name) ?? [])],
      scriptByName,
      usedScripts,
      'script',
      'track_script %s is not a runnable vrrp_script',
      (def) => ({ initialUp: !def.initFail }),
    );
    fromBlocks(
      [...i.trackProcesses, ...(groupProcesses.get(i.name) ?? [])],
      processByName,
      usedProcesses,
      'process',
      'track_process %s names no process to track',
    );

    const minGarp = g.vrrpMinGarp;
    const garpMasterDelayUs = minGarp ? 0 : (i.garpMasterDelayS ?? g.vrrpGarpMasterDelayS) * US_PER_S;
    const garpMasterRepeat = minGarp ? 1 : (i.garpMasterRepeat ?? g.vrrpGarpMasterRepeat);
    // vrrp_strict: no lower-priority GARPs at all (keepalived resets both to 0; docs/notify-data-dump.md).
    // Unset, they are the global ones, which default to the global (not the instance's) master delay and repeat.
    const lowerDelayS = strict
      ? 0
      : (i.garpLowerPrioDelayS ?? g.vrrpGarpLowerPrioDelayS ?? g.vrrpGarpMasterDelayS);
    const lowerRepeat = strict
      ? 0
      : (i.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat);

    const input: Parameters<typeof resolveInstanceParams>[0] = {
      name: i.name,
      vrid: i.vrid,
      version,
      family,
      interface: runIf,
      basePriority,
      advertIntervalCs,
      initialState: i.state ?? 'BACKUP',
      nopreempt: i.nopreempt,
      preemptDelayUs: i.preemptDelayUs ?? 0,
      downTimerAdverts: i.downTimerAdverts ?? g.vrrpDownTimerAdverts,
      primaryAddress: src,
      vips: i.virtualIpaddresses.map(engineVip),
      excludedVips: i.virtualIpaddressesExcluded.map(engineVip),
      virtualRoutes,
      virtualRules,
      unicastPeers: i.unicastPeers.map((p) => p.address),
      // vrrp_strict forces RFC 3768 behaviour: no advert in reply to a lower priority
      // (docs/keepalived-semantics.md, 'Defaults').
      lowerPrioNoAdvert: strict || (i.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert),
      higherPrioSendAdvert: i.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert,
      ownerIgnoreAdverts: i.ownerIgnoreAdverts ?? g.vrrpOwnerIgnoreAdverts,
      garpMasterDelayUs,
      garpMasterRepeat,
      garpMasterRefreshUs: (i.garpMasterRefreshS ?? g.vrrpGarpMasterRefreshS) * US_PER_S,
      garpMasterRefreshRepeat: i.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat,
      trackers,
      dontTrackPrimary: i.dontTrackPrimary,
      accept: i.accept ?? (!strict || basePriority === 255),
      notifyPriorityChanges: i.notifyPriorityChanges,
    };
    if (lowerDelayS !== undefined) input.garpLowerPrioDelayUs = minGarp ? 0 : lowerDelayS * US_PER_S;
    else if (minGarp) input.garpLowerPrioDelayUs = 0;
    if (lowerRepeat !== undefined) input.garpLowerPrioRepeat = minGarp ? 1 : lowerRepeat;
    else if (minGarp) input.garpLowerPrioRepeat = 1;
    const resolved = resolveInstanceParams(input);
    for (const n of resolved.notes) warnings.push(`${name} ${n}`);
    instances.push(resolved.params);

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
    const tx: TxOptions = {
      authType,
      authPassword,
      checksumForm: (i.v3ChecksumAsV2 ?? g.v3ChecksumAsV2) ? 'vrrp-only' : 'pseudo-header',
    };
    if (i.unicastTtl !== undefined) tx.unicastTtl = i.unicastTtl;
    wiring.set(i.name, {
      name: i.name,
      fixedSource: i.unicastSrcIp !== undefined,
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
    });
  }

  const syncGroups: SyncGroupParams[] = [];
  const groupNotify = new Map<string, NotifyScripts>();
  for (const sg of cfg.syncGroups) {
    const members = sg.members.map((m) => m.name).filter((n) => wiring.has(n));
    if (members.length === 0) continue;
    syncGroups.push({ name: sg.name, members, trackingWeight: sg.syncGroupTrackingWeight });
    groupNotify.set(sg.name, notifyOf(sg.notify));
  }

  // static_ipaddress / static_routes / static_rules: installed at startup whatever the VRRP state.
  const staticAddresses: EngineVip[] = [];
  for (const a of cfg.staticIpaddresses) {
    if (a.dev === undefined) warnings.push(`static_ipaddress ${a.address} has no dev; ignored`);
    else staticAddresses.push(engineVip(a));
  }
  const staticRoutes: JsonValue[] = [];
  for (const r of cfg.staticRoutes) {
    const fam = r.family ?? 4;
    const parsed = parseRouteWords(r.words, fam);
    if (parsed.ok) staticRoutes.push({ words: [...r.words], family: fam });
    else warnings.push(`static_route '${r.words.join(' ')}' skipped: ${parsed.error}`);
  }
  const staticRules: JsonValue[] = [];
  for (const r of cfg.staticRules) {
    const fam = r.family ?? 4;
    const parsed = parseRuleWords(r.words, fam);
    if (parsed.ok) staticRules.push({ words: [...r.words], family: fam });
    else warnings.push(`static_rule '${r.words.join(' ')}' skipped: ${parsed.error}`);
  }
  const notifyFifos = [...new Set([g.notifyFifo, g.vrrpNotifyFifo].filter((f): f is string => !!f))];
  const fifoScripts: EnginePlan['fifoScripts'] = [];
  if (g.notifyFifo && g.notifyFifoScript)
    fifoScripts.push({ fifo: g.notifyFifo, script: g.notifyFifoScript });
  if (g.vrrpNotifyFifo && g.vrrpNotifyFifoScript && g.vrrpNotifyFifo !== g.notifyFifo) {
    fifoScripts.push({ fifo: g.vrrpNotifyFifo, script: g.vrrpNotifyFifoScript });
  }
  const out: EnginePlan = {
    engine: { instances, syncGroups },
    wiring,
    groupNotify,
    notifyFifos,
    fifoScripts,
    statics: { addresses: staticAddresses, routes: staticRoutes, rules: staticRules },
    pacing: announcePacing(cfg),
    scripts: [...usedScripts.values()],
    files: [...usedFiles.values()],
    processes: [...usedProcesses.values()],
    startupDelayUs: Math.round(g.vrrpStartupDelayS * US_PER_S),
    warnings,
    errors,
  };
  if (g.scriptUser) out.scriptUser = g.scriptUser;
  return out;
}
