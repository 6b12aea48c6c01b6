// The files keepalived writes on signals, in keepalived 2.2.7's formats (captured from the Debian package):
//   SIGUSR2            → stats_dump_file (/tmp/keepalived.stats): per-instance counters, text (vrrp_print.c);
//   SIGRTMIN+2 (JSON)  → json_dump_file  (/tmp/keepalived.json):  [{data:{…}, stats:{…}}] (vrrp_json.c, v1);
//   SIGUSR1            → state_dump_file (/tmp/keepalived.data):  "------< VRRP Topology >------" text.
// The stats text is exactly keepalived's, line for line, because monitoring scripts parse it. The JSON carries
// keepalived's keys, then keepalived-ts's own (camelCase: the RFC 6527 counter names, the master's address)
// for what keepalived does not dump. The .data text is keepalived's "Format not stable" (man5) topology
// section with the fields we hold.
import { IPV6_LIFETIME_FOREVER, type KeepalivedConfig, type VrrpInstanceConfig } from '../config/model.js';
import { nftSettings } from '../daemon/strict-firewall.js';
import { addressOn, vipBroadcast } from '../net/inet.js';
import type { AuthTypeCode } from '../vrrp/advert.js';
import { AuthType } from '../vrrp/advert.js';
import type { InstanceStatus } from '../vrrp/fsm.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import {
  initialReading,
  type TrackerDef,
  type TrackerReading,
  trackerEffect,
  trackerKey,
} from '../vrrp/priority.js';
import type { VrrpStats } from '../vrrp/stats.js';
import { dumpRoute, dumpRule } from './dump-routes.js';
import {
  ctimeText,
  type DataDumpContext,
  garpDelaySection,
  globalSection,
  interfaceSection,
  notifyLines,
  readTimeoutText,
  scriptSection,
  sockpoolSection,
  staticSections,
  syncGroupSection,
  trackBfdSection,
  trackFileSection,
  trackProcessSection,
} from './dump-sections.js';

export type { DataDumpContext, HostFacts, InterfaceFacts, TrackerSnapshot } from './dump-sections.js';

export interface DumpedInstance {
  status: InstanceStatus;
  params: VrrpInstanceParams;
  stats: VrrpStats & { BecomeMaster: number; ReleasedMaster: number };
  authType: AuthTypeCode;
  authPassword: string;
  /** Wall-clock time of the last state change, in seconds (keepalived's last_transition); 0 before any. */
  lastTransitionS: number;
  /** `notify_deleted` is set: a reload that removes the instance notifies DELETED. */
  notifyDeleted: boolean;
  flags: DumpFlags;
  /** The instance's socket (its fd_in and fd_out): -1 while its interface is missing, absent without one. */
  fd?: number;
  /** Which socket it is on (the same for instances sharing one): the Sockpool section's entries. */
  socket?: string;
  /** The receive buffer its socket asked for (the instances' sum; 0: the kernel's default), its "Rx buf size". */
  rxBufSize?: number;
  /**
   * The VIPs (installedVipKey) the VIP installer holds as added for this instance: the data dump's `set`.
   * Absent (a snapshot without an installer): every VIP of a MASTER.
   */
  installedVips?: ReadonlySet<string>;
  /**
   * The VIPs (installedVipKey) the no_accept firewall drops for this instance: the dump's `nftable_set`.
   * Absent (a snapshot without a firewall): every VIP of a non-accepting MASTER, when a table is configured.
   */
  firewallVips?: ReadonlySet<string>;
  /** Switched to the old VRRPv3 unicast checksum on hearing a peer use it (the dump's compatibility "auto"). */
  oldChecksumAuto?: boolean;
}

type Vip = VrrpInstanceParams['vips'][number];

/**
 * Whether a VIP is `set` (added to the kernel) and `nftable_set` (in the no_accept firewall's set), per
 * address as keepalived 2.2.7 marks them (format_ipaddress): what the VIP installer and the firewall hold.
 */
function vipMarks(d: DumpedInstance, nftTable: boolean): (v: Vip) => { set: boolean; nft: boolean } {
  const master = d.status.state === 'MASTER';
  const p = d.params;
  const nftAll = master && !p.accept && p.basePriority !== 255 && nftTable;
  return (v) => {
    const key = installedVipKey(v, p);
    return {
      set: master && (d.installedVips?.has(key) ?? true),
      nft: d.firewallVips?.has(key) ?? nftAll,
    };
  };
}

/** A VIP's key in DumpedInstance.installedVips: its address and the interface it goes on. */
export function installedVipKey(v: VrrpInstanceParams['vips'][number], p: { interface: string }): string {
  return addressOn(v.address, v.dev ?? p.interface);
}

/** What keepalived's JSON says of an instance's configuration that the engine parameters do not carry. */
export interface DumpFlags {
  strictMode: boolean;
  skipCheckAdvAddr: boolean;
  promoteSecondaries: boolean;
  smtpAlert: boolean;
  /** The use_vmac interface, '' without one. */
  vmacIfname: string;
  /** `kernel_rx_buf_size` (0: not set): the dump's "Kernel rx buffer size". */
  kernelRxBufSize?: number;
}

/** DumpFlags of every instance, as keepalived resolves them (instance setting, else the global one). */
export function dumpFlagsOf(cfg: KeepalivedConfig, vmacNames: Map<string, string>): Map<string, DumpFlags> {
  const g = cfg.globalDefs;
  return new Map(
    cfg.vrrpInstances.map((i) => [
      i.name,
      {
        strictMode: i.strictMode ?? g.vrrpStrict,
        skipCheckAdvAddr: i.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr,
        promoteSecondaries: i.promoteSecondaries,
        smtpAlert: i.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false,
        vmacIfname: vmacNames.get(i.name) ?? '',
        kernelRxBufSize: i.kernelRxBufSize ?? 0,
      },
    ]),
  );
}

/** keepalived's VRRP_STATE_* numbers, as its JSON dump writes them. */
const STATE_NUMBER: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };

export function formatStatsText(instances: DumpedInstance[]): string {
  let out = '';
  for (const { status, stats: s } of instances) {
    out +=
      `VRRP Instance: ${status.name}\n` +
      '  Advertisements:\n' +
      `    Received: ${s.RcvdAdvertisements}\n` +
      `    Sent: ${s.SentAdvertisements}\n` +
      `  Became master: ${s.BecomeMaster}\n` +
      `  Released master: ${s.ReleasedMaster}\n` +
      '  Packet Errors:\n' +
      `    Length: ${s.PacketLengthErrors}\n` +
      `    TTL: ${s.IpTtlErrors}\n` +
      `    Invalid Type: ${s.RcvdInvalidTypePackets}\n` +
      `    Advertisement Interval: ${s.AdvIntervalErrors}\n` +
      `    Address List: ${s.AddressListErrors}\n` +
      '  Authentication Errors:\n' +
      `    Invalid Type: ${s.InvalidAuthType}\n` +
      `    Type Mismatch: ${s.AuthTypeMismatch}\n` +
      `    Failure: ${s.AuthFailures}\n` +
      '  Priority Zero:\n' +
      `    Received: ${s.RcvdPriZeroPackets}\n` +
      `    Sent: ${s.SentPriZeroPackets}\n`;
  }
  return out;
}

const seconds = (us: number) => us / 1_000_000;

/**
 * The JSON dump. `config`, when at hand, says whether a firewall table is configured (for a snapshot that does
 * not say which VIPs the firewall drops) and which VMAC's base each `dev VMAC@BASE` names.
 */
export function formatJson(instances: DumpedInstance[], config?: KeepalivedConfig): string {
  const nftTable = config !== undefined && nftSettings(config.globalDefs).table !== null;
  const list = instances.map((d) => {
    const { status: st, params: p, stats: s, authType, authPassword, ...more } = d;
    // keepalived's vipset: the instance set its VIPs on becoming MASTER (whether each add succeeded or not).
    const vipSet = st.state === 'MASTER';
    const f = more.flags;
    const marks = vipMarks(d, nftTable);
    const c = config?.vrrpInstances.find((i) => i.name === st.name);
    const vipString = (v: Vip) => {
      const m = marks(v);
      return vipDataText(v, p, m.set, m.nft, vmacSuffix(d, c, v));
    };
    return {
      data: {
        iname: st.name,
        dont_track_primary: p.dontTrackPrimary ? 1 : 0,
        skip_check_adv_addr: f.skipCheckAdvAddr ? 1 : 0,
        strict_mode: f.strictMode ? 1 : 0,
        vmac_ifname: f.vmacIfname,
        ifp_ifname: p.interface,
        master_priority: st.masterPriority,
        last_transition: more.lastTransitionS,
        garp_delay: seconds(p.garpMasterDelayUs),
        garp_refresh: seconds(p.garpMasterRefreshUs),
        garp_rep: p.garpMasterRepeat,
        garp_refresh_rep: p.garpMasterRefreshRepeat,
        garp_lower_prio_delay: seconds(p.garpLowerPrioDelayUs),
        garp_lower_prio_rep: p.garpLowerPrioRepeat,
        lower_prio_no_advert: p.lowerPrioNoAdvert ? 1 : 0,
        higher_prio_send_advert: p.higherPrioSendAdvert ? 1 : 0,
        vrid: p.vrid,
        base_priority: st.basePriority,
        effective_priority: st.effectivePriority,
        vipset: vipSet,
        promote_secondaries: f.promoteSecondaries,
        adver_int: p.advertIntervalCs / 100,
        master_adver_int: st.masterAdverIntervalCs / 100,
        accept: p.accept ? 1 : 0,
        nopreempt: p.nopreempt,
        preempt_delay: seconds(p.preemptDelayUs),
        state: STATE_NUMBER[st.state] ?? 0,
        wantstate: STATE_NUMBER[st.wantState] ?? 0,
        version: p.version,
        smtp_alert: f.smtpAlert,
        notify_deleted: more.notifyDeleted,
        vips: p.vips.map(vipString),
        evips: p.excludedVips.map(vipString),
        auth_type: authType,
        ...(authType === AuthType.pass ? { auth_data: authPassword } : {}),
        // keepalived-ts
        masterAddress: st.masterAddress,
      },
      stats: {
        advert_rcvd: s.RcvdAdvertisements,
        advert_sent: s.SentAdvertisements,
        become_master: s.BecomeMaster,
        release_master: s.ReleasedMaster,
        packet_len_err: s.PacketLengthErrors,
        advert_interval_err: s.AdvIntervalErrors,
        ip_ttl_err: s.IpTtlErrors,
        invalid_type_rcvd: s.RcvdInvalidTypePackets,
        addr_list_err: s.AddressListErrors,
        invalid_authtype: s.InvalidAuthType,
        authtype_mismatch: s.AuthTypeMismatch,
        auth_failure: s.AuthFailures,
        pri_zero_rcvd: s.RcvdPriZeroPackets,
        pri_zero_sent: s.SentPriZeroPackets,
        // keepalived-ts: every counter under its RFC 6527 / RFC 2787 name (stats.ts)
        ...s,
      },
    };
  });
  return `${JSON.stringify(list)}\n`;
}

const AUTH_NAME: Record<number, string> = { 0: 'NONE', 1: 'SIMPLE_PASSWORD', 2: 'IPSEC_AH' };

/**
 * The SIGUSR1 text, keepalived 2.2.7's sections line for line in its order and words (docs/notify-data-dump.md):
 * Global definitions, VRRP Topology, VRRP Sockpool, VRRP Sync groups, VRRP Scripts, VRRP Track files,
 * Interfaces. Without `ctx` (no configuration at hand) only the VRRP Topology section, with the lines the
 * instances alone give. Static Addresses / Routes / Rules come before the VRRP Topology, VRRP Track processes after
 * the Track files, Gratuitous ARP delays after the Global definitions. Not written yet: IPVLAN, Static Track groups
 * (docs/notify-data-dump.md).
 * Ours alone: "Master router" while MASTER, as the instance's last line.
 */
export function formatDataText(instances: DumpedInstance[], ctx?: DataDumpContext): string {
  const sections: string[][] = [];
  if (ctx) sections.push(globalSection(ctx), garpDelaySection(ctx, instances), ...staticSections(ctx));
  if (instances.length > 0)
    sections.push(['------< VRRP Topology >------', ...instances.flatMap((i) => topologyLines(i, ctx))]);
  if (ctx)
    sections.push(
      sockpoolSection(instances, ctx),
      syncGroupSection(ctx, instances),
      scriptSection(ctx, instances),
      trackFileSection(ctx, instances),
      trackProcessSection(ctx, instances),
      trackBfdSection(ctx, instances),
      interfaceSection(ctx, instances),
    );
  return sections
    .filter((s) => s.length > 0)
    .map((s) => `${s.join('\n')}\n`)
    .join('');
}

/** keepalived's VRRP_MS_DOWN_TIMER in µs: down_timer_adverts × master advert interval + skew. */
function masterDownTimerUs(d: DumpedInstance, inGroup: boolean): number {
  const p = d.params;
  // An address owner configured `state MASTER` (outside a sync group) starts as MASTER by timing out of BACKUP
  // at once: keepalived sets 1 µs and keeps it.
  if (p.basePriority === 255 && p.initialState === 'MASTER' && d.status.state === 'MASTER' && !inGroup)
    return 1;
  const eff = d.status.effectivePriority;
  const masterCs =
    p.version === 3 ? d.status.masterAdverIntervalCs || p.advertIntervalCs : p.advertIntervalCs;
  const skew =
    p.version === 3 ? Math.floor(((256 - eff) * masterCs * 625) / 16) : Math.floor(((256 - eff) * 1e6) / 256);
  return p.downTimerAdverts * masterCs * 10_000 + skew;
}

/** `@BASE` after a VIP on the instance's VMAC (keepalived's `dev VMAC@BASE`), else ''. */
function vmacSuffix(d: DumpedInstance, c: VrrpInstanceConfig | undefined, v: Vip): string {
  const f = d.flags;
  if (f.vmacIfname === '' || c?.useVmac === undefined) return '';
  return (v.dev ?? d.params.interface) === f.vmacIfname ? `@${c.interface}` : '';
}

/** One instance's lines of the VRRP Topology section. */
function topologyLines(d: DumpedInstance, ctx: DataDumpContext | undefined): string[] {
  const { status: st, params: p, authType, authPassword, lastTransitionS, notifyDeleted, flags: f } = d;
  const c = ctx?.config.vrrpInstances.find((i) => i.name === st.name);
  const g = ctx?.config.globalDefs;
  const unicast = p.unicastPeers.length > 0;
  const unicastConfigured = unicast || c?.unicastConfigured === true;
  const faultNoPeers = c?.unicastFaultNoPeer === true;
  const saddrFromConfig = c?.unicastSrcIp !== undefined;
  const checkUnicastSrc =
    (c?.checkUnicastSrc ?? g?.vrrpCheckUnicastSrc ?? false) ||
    (c?.unicastPeers.some((x) => x.minTtl !== undefined || x.maxTtl !== undefined) ?? false);
  // garp_extra_if's `all` is one of keepalived's instance flags (set from global_defs when the instance has no
  // garp_extra_if), so it makes "Flags:" without a line of its own, extra interface or not.
  const garpAllIf =
    c?.garpExtraIfAll === true ||
    (c !== undefined && c.garpExtraIfS === undefined && g?.vrrpGarpExtraIfAll === true);
  const anyFlag =
    garpAllIf ||
    unicastConfigured ||
    p.dontTrackPrimary ||
    f.skipCheckAdvAddr ||
    saddrFromConfig ||
    checkUnicastSrc ||
    f.promoteSecondaries ||
    p.nopreempt ||
    f.vmacIfname !== '';
  const group = ctx?.config.syncGroups.find((sg) => sg.members.some((m) => m.name === st.name));
  const marks = vipMarks(d, ctx !== undefined && nftSettings(ctx.config.globalDefs).table !== null);
  // A use_vmac instance runs on its VMAC; keepalived names the VMAC's VIPs `dev VMAC@BASE`.
  const vmac = f.vmacIfname !== '' && c?.useVmac !== undefined;
  const base = c?.interface ?? p.interface;
  // keepalived's `set` and `nftable_set` are per address: one whose interface was missing when the VIPs were
  // set, or that the kernel refused, is not `set`.
  const vipLine = (v: Vip) => {
    const m = marks(v);
    return `     ${vipDataText(v, p, m.set, m.nft, vmacSuffix(d, c, v))}`;
  };
  const routes = (c?.virtualRoutes ?? []).map(dumpRoute);
  const rules = (c?.virtualRules ?? []).flatMap((r) => dumpRule(r) ?? []);
  const ifindex = ctx?.host.interfaces.find((i) => i.name === p.interface)?.index ?? 0;
  const trackerFaults = ctx ? faultCount(d, ctx) : 0;
  const lines = [
    ` VRRP Instance = ${st.name}`,
    `   VRRP Version = ${p.version}`,
    ...(group ? [`   Sync group = ${group.name}`] : []),
    ...(p.family === 6 ? ['   Using Native IPv6'] : []),
    `   State = ${st.state}`,
    ...(st.state === 'BACKUP'
      ? [
          `   Master router = ${st.masterAddress ?? (p.family === 6 ? '::' : '0.0.0.0')}`,
          `   Master priority = ${st.masterPriority}`,
          ...(p.version === 3
            ? [`   Master advert int = ${(st.masterAdverIntervalCs / 100).toFixed(2)} sec`]
            : []),
        ]
      : []),
    ...(anyFlag
      ? [
          '   Flags:',
          ...(unicast
            ? ['     Using unicast']
            : unicastConfigured
              ? ['     Unicast config option specified but using multicast']
              : []),
          ...(faultNoPeers ? ['     If unicast go to fault state if no peers'] : []),
        ]
      : ['   Flags: none']),
    // keepalived sets the wanted state to FAULT with the state (down_instance, a sync group's fault).
    // A configuration fault (unicast_fault_no_peer) leaves it as configured.
    `   Wantstate = ${st.state === 'FAULT' && !p.configFault ? 'FAULT' : st.wantState}`,
    ...(ctx
      ? [
          `   Number of config faults = ${p.configFault ? 1 : 0}`,
          `   Number of interface and track script faults = ${trackerFaults}`,
          '   Number of track scripts init = 0',
        ]
      : []),
    ...(lastTransitionS > 0 ? [`   Last transition = ${transitionText(lastTransitionS)}`] : []),
    ...(ctx ? [`   Read timeout = ${readTimeoutText(st.timers, ctx.host)}`] : []),
    ...(ctx ? [`   Master down timer = ${masterDownTimerUs(d, group !== undefined)} usecs`] : []),
    ...(vmac
      ? [
          `   Use VMAC, i/f name ${f.vmacIfname}, is_up = true, xmit_base = ${c?.vmacXmitBase ? 'true' : 'false'}`,
          ...(c?.useVmac?.mac !== undefined ? [`     MAC = ${c.useVmac.mac.toLowerCase()}`] : []),
          `   Interface = ${f.vmacIfname}, vmac on ${base}${c?.vmacXmitBase ? ', xmit base i/f' : ''}`,
        ]
      : [`   Interface = ${p.interface}`]),
    ...(p.dontTrackPrimary ? ['   VRRP interface tracking disabled'] : []),
    ...(f.skipCheckAdvAddr ? ['   Skip checking advert IP addresses'] : []),
    ...(f.strictMode ? ['   Enforcing strict VRRP compliance'] : []),
    // keepalived clears the source when the interface has no address of the family (none yet, or deleted).
    `   Using src_ip = ${st.fault.address && !saddrFromConfig ? '(none)' : p.primaryAddress}${saddrFromConfig ? ' (from configuration)' : ''}`,
    ...(ctx && !unicast
      ? [
          p.family === 4
            ? `   Multicast address ${c?.mcastDstIp ?? ctx.config.globalDefs.vrrpMcastGroup4}`
            : `   Multicast address ${c?.mcastDstIp ?? ctx.config.globalDefs.vrrpMcastGroup6}, ifindex ${ifindex}`,
        ]
      : []),
    `   Gratuitous ARP delay = ${Math.floor(p.garpMasterDelayUs / 1_000_000)}`,
    `   Gratuitous ARP repeat = ${p.garpMasterRepeat}`,
    `   Gratuitous ARP refresh = ${Math.floor(p.garpMasterRefreshUs / 1_000_000)}`,
    `   Gratuitous ARP refresh repeat = ${p.garpMasterRefreshRepeat}`,
    `   Gratuitous ARP lower priority delay = ${Math.floor(p.garpLowerPrioDelayUs / 1_000_000)}`,
    `   Gratuitous ARP lower priority repeat = ${p.garpLowerPrioRepeat}`,
    `   Down timer adverts = ${p.downTimerAdverts}`,
    // garp_extra_if: only kept when `all` found an extra interface (instance-plan), hence always "i/f".
    ...(p.garpExtraIfUs > 0
      ? [
          `   Gratuitous ARP for each secondary i/f = ${p.garpExtraIfUs / 1_000_000}`,
          `   Next gratuitous ARP for such secondary = ${extraGarpText(st.extraGarpAtUs, ctx)}`,
        ]
      : []),
    `   Send advert after receive lower priority advert = ${!p.lowerPrioNoAdvert}`,
    `   Send advert after receive higher priority advert = ${p.higherPrioSendAdvert}`,
    `   Virtual Router ID = ${p.vrid}`,
    `   Priority = ${st.basePriority}`,
    `   Effective priority = ${st.effectivePriority}`,
    ...(ctx ? [`   Total priority = ${totalPriority(d, ctx)}`] : []),
    `   Advert interval = ${p.version === 2 ? `${p.advertIntervalCs / 100} sec` : `${p.advertIntervalCs * 10} milli-sec`}`,
    ...(ctx && st.state === 'BACKUP' && p.version === 3
      ? [`   Master advert interval = ${st.masterAdverIntervalCs * 10} milli-sec`]
      : []),
    `   Accept = ${p.accept ? 'enabled' : 'disabled'}`,
    `   Preempt = ${p.nopreempt ? 'disabled' : 'enabled'}`,
    ...(p.preemptDelayUs > 0 ? [`   Preempt delay = ${seconds(p.preemptDelayUs)} secs`] : []),
    `   Promote_secondaries = ${f.promoteSecondaries ? 'enabled' : 'disabled'}`,
    ...(authType !== AuthType.none
      ? [
          `   Authentication type = ${AUTH_NAME[authType] ?? authType}`,
          ...(authType === AuthType.pass ? [`   Password = ${authPassword}`] : []),
        ]
      : p.version === 2
        ? ['   Authentication type = none']
        : []),
    ...(f.kernelRxBufSize ? [`   Kernel rx buffer size = ${f.kernelRxBufSize}`] : []),
    ...(p.vips.length > 0 ? [`   Virtual IP (${p.vips.length}):`, ...p.vips.map(vipLine)] : []),
    ...(p.excludedVips.length > 0 ? ['   Virtual IP Excluded :', ...p.excludedVips.map(vipLine)] : []),
    ...(unicast
      ? [
          ...(ctx
            ? [
                `   Unicast TTL = ${c?.unicastTtl ?? 255}`,
                `   Check unicast src : ${checkUnicastSrc ? 'yes' : 'no'}`,
              ]
            : []),
          '   Unicast Peer :',
          ...p.unicastPeers.map((a) => {
            if (!ctx) return `     ${a}`;
            const cp = c?.unicastPeers.find((x) => x.address === a);
            return `     ${a} min_ttl ${cp?.minTtl ?? 0} max_ttl ${cp?.maxTtl ?? 255}`;
          }),
          ...(ctx ? [`   Unicast checksum compatibility = ${checksumCompat(c, d)}`] : []),
        ]
      : []),
    ...(ctx ? [d.fd !== undefined ? `   fd_in ${d.fd}, fd_out ${d.fd}` : '   No sockets allocated'] : []),
    ...(routes.length > 0 ? ['   Virtual Routes :', ...routes.map((r) => `     ${r.text}`)] : []),
    ...(rules.length > 0 ? ['   Virtual Rules :', ...rules.map((r) => `     ${r.text}`)] : []),
    ...trackedLines(p, 'interface', 'Tracked interfaces', '', undefined, (t) =>
      c?.trackInterfaces.some((r) => r.name === t.name && r.weightListedAsZero) ? 0 : t.weight,
    ),
    ...trackedLines(p, 'script', 'Tracked scripts', ''),
    ...trackedLines(p, 'file', 'Tracked files', ','),
    ...trackedLines(p, 'process', 'Tracked processes', ','),
    // A sync group's track_bfd is listed under the group only (keepalived), not under each member.
    ...trackedLines(p, 'bfd', 'Tracked BFDs', ':', c && ((t) => c.trackBfds.some((r) => r.name === t.name))),
    `   Using smtp notification = ${f.smtpAlert ? 'yes' : 'no'}`,
    `   Notify deleted = ${notifyDeleted ? 'Deleted' : 'Fault'}`,
    ...(ctx && c ? notifyLines(c.notify, ctx.host, true) : []),
    `   Notify priority changes = ${p.notifyPriorityChanges}`,
    // keepalived-ts: keepalived writes the master's address only while BACKUP.
    ...(st.state === 'MASTER' && st.masterAddress !== null ? [`   Master router = ${st.masterAddress}`] : []),
  ];
  return lines;
}

/** `old_unicast_checksum [never]` (keepalived's unicast_chksum_compat). */
function checksumCompat(c: VrrpInstanceConfig | undefined, d: DumpedInstance): string {
  return c?.oldUnicastChecksum ?? (d.oldChecksumAuto ? 'auto' : 'no');
}

/**
 * The readings the dump knows (by trackerKey): scripts and files from the daemon, interfaces from the host.
 */
function readings(d: DumpedInstance, ctx: DataDumpContext): Map<string, TrackerReading> {
  const r = new Map<string, TrackerReading>();
  for (const t of d.params.trackers) {
    if (t.kind === 'script') {
      const s = ctx.trackers.scripts.find((x) => x.name === t.name);
      if (s) r.set(trackerKey(t.kind, t.name), { up: s.up });
    } else if (t.kind === 'file') {
      const f = ctx.trackers.files.find((x) => x.name === t.name);
      if (f) r.set(trackerKey(t.kind, t.name), { value: f.value });
    } else if (t.kind === 'process') {
      const x = ctx.trackers.processes?.find((y) => y.name === t.name);
      if (x) r.set(trackerKey(t.kind, t.name), { up: x.up });
    } else if (t.kind === 'bfd') {
      const b = ctx.trackers.bfds?.find((y) => y.name === t.name);
      if (b) r.set(trackerKey(t.kind, t.name), { up: b.up });
    } else if (t.kind === 'interface') {
      // One that does not exist (dynamic_interfaces) is down.
      const i = ctx.host.interfaces.find((x) => x.name === t.name);
      r.set(trackerKey(t.kind, t.name), { up: i !== undefined && (i.flags & 1) !== 0 && i.running });
    }
  }
  return r;
}

/** keepalived's total_priority: the base plus every tracker's weight, before the 1..254 clamp. */
function totalPriority(d: DumpedInstance, ctx: DataDumpContext): number {
  if (d.params.basePriority === 255) return 255;
  const r = readings(d, ctx);
  let total = d.params.basePriority;
  for (const t of d.params.trackers)
    total += trackerEffect(t, r.get(trackerKey(t.kind, t.name)) ?? initialReading(t)).delta;
  return total;
}

/**
 * keepalived's num_script_if_fault: weight-0 trackers at fault, the instance's own interface when down, and no
 * address of the family on it.
 */
function faultCount(d: DumpedInstance, ctx: DataDumpContext): number {
  const r = readings(d, ctx);
  // 2.2.7 counts a configuration fault here too (besides its own "config faults" line).
  let n =
    (d.status.fault.interface ? 1 : 0) + (d.status.fault.address ? 1 : 0) + (d.status.fault.config ? 1 : 0);
  for (const t of d.params.trackers)
    if (trackerEffect(t, r.get(trackerKey(t.kind, t.name)) ?? initialReading(t)).fault) n++;
  return n;
}

/** keepalived's "Tracked …" blocks: NAME weight W [reverse] (files: "NAME, weight W"), in configuration order. */
function trackedLines(
  p: VrrpInstanceParams,
  kind: TrackerDef['kind'],
  title: string,
  /** What follows the name: nothing, ',' (files, processes) or ':' (BFDs), as keepalived writes each. */
  sep: '' | ',' | ':',
  own?: (t: TrackerDef) => boolean,
  /** The weight listed (a sync-group member's interface: 0, though it applies). */
  listed: (t: TrackerDef) => number = (t) => t.weight,
): string[] {
  const list = p.trackers.filter((t) => t.kind === kind && !t.implicit && (own === undefined || own(t)));
  if (list.length === 0) return [];
  return [
    `   ${title} :`,
    ...list.map((t) => `     ${t.name}${sep} weight ${listed(t)}${t.reverse ? ' reverse' : ''}`),
  ];
}

/** A VIP as keepalived's text dump writes it (format_ipaddress): the prefix length only when shorter. */
export function vipDataText(
  v: VrrpInstanceParams['vips'][number],
  p: { interface: string },
  set: boolean,
  nftSet: boolean,
  devSuffix = '',
): string {
  const o = v.options ?? {};
  const v6 = v.address.includes(':');
  const full = v6 ? 128 : 32;
  const addr = v.prefixLen === full ? v.address : `${v.address}/${v.prefixLen}`;
  let out = addr;
  const brd = typeof o.broadcast === 'string' ? vipBroadcast(o.broadcast, v.address, v.prefixLen) : null;
  if (!v6 && brd) out += ` brd ${brd}`;
  out += ` dev ${v.dev ?? p.interface}${devSuffix}`;
  out += ` scope ${typeof o.scope === 'string' ? o.scope : 'global'}`;
  if (typeof o.label === 'string') out += ` label ${o.label}`;
  if (typeof o.peer === 'string') out += ` peer ${o.peer}/${v.prefixLen}`;
  const flags = Array.isArray(o.flags) ? o.flags.map(String) : [];
  if (flags.includes('home')) out += ' home';
  if (o.noDad === true) out += ' -nodad';
  for (const f of ['mngtmpaddr', 'noprefixroute', 'autojoin']) if (flags.includes(f)) out += ` ${f}`;
  if (o.noTrack === true) out += ' no_track';
  if (v6) {
    const lft = typeof o.preferredLft === 'number' ? o.preferredLft : IPV6_LIFETIME_FOREVER;
    out +=
      lft === 0
        ? ' deprecated'
        : lft === IPV6_LIFETIME_FOREVER
          ? ' preferred_lft forever'
          : ` preferred_lft ${lft}`;
  }
  if (set) out += ' set';
  if (nftSet) out += ' nftable_set';
  return out;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The next garp_extra_if deadline as keepalived writes it, "SECONDS.MICROS (Www Mmm dd hh:mm:ss yyyy.MICROS)"
 * in wall-clock time; before the instance first became master (or after a reload) keepalived's is 0, the epoch.
 */
function extraGarpText(atUs: number | null, ctx: DataDumpContext | undefined): string {
  const wallUs = atUs === null || !ctx ? 0 : Math.round(ctx.host.nowS * 1e6 + (atUs - ctx.host.monoNowUs));
  const whole = Math.floor(wallUs / 1e6);
  const us = String(wallUs - whole * 1e6).padStart(6, '0');
  return `${whole}.${us} (${ctimeText(whole)}.${us})`;
}

/** keepalived's "SECONDS.MICROS (Www Mmm dd hh:mm:ss.micros yyyy)", local time as ctime writes it. */
function transitionText(s: number): string {
  const whole = Math.floor(s);
  const us = Math.round((s - whole) * 1e6) % 1e6;
  const d = new Date(whole * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const u6 = String(us).padStart(6, '0');
  const when =
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${u6} ${d.getFullYear()}`;
  return `${whole}.${u6} (${when})`;
}
