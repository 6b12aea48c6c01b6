// The files keepalived writes on signals, in keepalived 2.2.7's formats (captured from the Debian package):
//   SIGUSR2            → stats_dump_file (/tmp/keepalived.stats): per-instance counters, text (vrrp_print.c);
//   SIGRTMIN+2 (JSON)  → json_dump_file  (/tmp/keepalived.json):  [{data:{…}, stats:{…}}] (vrrp_json.c, v1);
//   SIGUSR1            → state_dump_file (/tmp/keepalived.data):  "------< VRRP Topology >------" text.
// The stats text is exactly keepalived's, line for line, because monitoring scripts parse it. The JSON carries
// keepalived's keys, then keepalived-ts's own (camelCase: the RFC 6527 counter names, the master's address)
// for what keepalived does not dump. The .data text is keepalived's "Format not stable" (man5) topology
// section with the fields we hold.
import type { KeepalivedConfig } from '../config/model.js';
import type { AuthTypeCode } from '../vrrp/advert.js';
import { AuthType } from '../vrrp/advert.js';
import type { InstanceStatus } from '../vrrp/fsm.js';
import type { VrrpInstanceParams } from '../vrrp/instance-params.js';
import type { VrrpStats } from '../vrrp/stats.js';

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
}

/** What keepalived's JSON says of an instance's configuration that the engine parameters do not carry. */
export interface DumpFlags {
  strictMode: boolean;
  skipCheckAdvAddr: boolean;
  promoteSecondaries: boolean;
  smtpAlert: boolean;
  /** The use_vmac interface, '' without one. */
  vmacIfname: string;
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

/** A VIP as keepalived's dumps print it: `192.0.2.100/24 dev eth0 scope global[ set]`. */
function vipText(v: VrrpInstanceParams['vips'][number], p: VrrpInstanceParams, set: boolean): string {
  const scope = typeof v.options?.scope === 'string' ? v.options.scope : 'global';
  return `${v.address}/${v.prefixLen} dev ${v.dev ?? p.interface} scope ${scope}${set ? ' set' : ''}`;
}

const seconds = (us: number) => us / 1_000_000;

export function formatJson(instances: DumpedInstance[]): string {
  const list = instances.map(({ status: st, params: p, stats: s, authType, authPassword, ...more }) => {
    const vipSet = st.state === 'MASTER';
    const f = more.flags;
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
        vips: p.vips.map((v) => vipText(v, p, vipSet)),
        evips: p.excludedVips.map((v) => vipText(v, p, vipSet)),
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
 * The SIGUSR1 text: keepalived 2.2.7's "VRRP Topology" section, line for line in its order and words, for every
 * line whose value this process holds exactly (docs/notify-data-dump.md). Lines keepalived writes that this
 * dump leaves out, because the runtime does not hand this dump such a value or it belongs to the moment:
 * Number of config faults, Number of interface and track script faults, Number of track scripts init, Read
 * timeout, Master down timer, Multicast address, Total priority, last rx/tx checksum, fd_in/fd_out, Tracked
 * interfaces, Unicast TTL, Check unicast src, Unicast checksum compatibility, each peer's "min_ttl N max_ttl M",
 * and the other sections (Global definitions, Sockpool, Scripts, Interfaces). The last line, "Master router"
 * while MASTER, is ours alone.
 */
export function formatDataText(instances: DumpedInstance[]): string {
  let out = '------< VRRP Topology >------\n';
  for (const {
    status: st,
    params: p,
    authType,
    authPassword,
    lastTransitionS,
    notifyDeleted,
    flags: f,
  } of instances) {
    const vipSet = st.state === 'MASTER';
    const unicast = p.unicastPeers.length > 0;
    const lines = [
      ` VRRP Instance = ${st.name}`,
      `   VRRP Version = ${p.version}`,
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
      '   Flags:',
      ...(unicast ? ['     Using unicast'] : []),
      `   Wantstate = ${st.wantState}`,
      ...(lastTransitionS > 0 ? [`   Last transition = ${transitionText(lastTransitionS)}`] : []),
      `   Interface = ${p.interface}`,
      ...(p.dontTrackPrimary ? ['   VRRP interface tracking disabled'] : []),
      ...(f.skipCheckAdvAddr ? ['   Skip checking advert IP addresses'] : []),
      ...(f.strictMode ? ['   Enforcing strict VRRP compliance'] : []),
      `   Using src_ip = ${p.primaryAddress}`,
      `   Gratuitous ARP delay = ${Math.floor(p.garpMasterDelayUs / 1_000_000)}`,
      `   Gratuitous ARP repeat = ${p.garpMasterRepeat}`,
      `   Gratuitous ARP refresh = ${Math.floor(p.garpMasterRefreshUs / 1_000_000)}`,
      `   Gratuitous ARP refresh repeat = ${p.garpMasterRefreshRepeat}`,
      `   Gratuitous ARP lower priority delay = ${Math.floor(p.garpLowerPrioDelayUs / 1_000_000)}`,
      `   Gratuitous ARP lower priority repeat = ${p.garpLowerPrioRepeat}`,
      `   Down timer adverts = ${p.downTimerAdverts}`,
      `   Send advert after receive lower priority advert = ${!p.lowerPrioNoAdvert}`,
      `   Send advert after receive higher priority advert = ${p.higherPrioSendAdvert}`,
      `   Virtual Router ID = ${p.vrid}`,
      `   Priority = ${st.basePriority}`,
      `   Effective priority = ${st.effectivePriority}`,
      `   Advert interval = ${p.version === 2 ? `${p.advertIntervalCs / 100} sec` : `${p.advertIntervalCs * 10} milli-sec`}`,
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
      ...(p.vips.length > 0
        ? [`   Virtual IP (${p.vips.length}):`, ...p.vips.map((v) => `     ${vipDataText(v, p, vipSet)}`)]
        : []),
      ...(p.excludedVips.length > 0
        ? ['   Virtual IP Excluded :', ...p.excludedVips.map((v) => `     ${vipDataText(v, p, vipSet)}`)]
        : []),
      ...(unicast ? ['   Unicast Peer :', ...p.unicastPeers.map((a) => `     ${a}`)] : []),
      ...trackedScripts(p),
      `   Using smtp notification = ${f.smtpAlert ? 'yes' : 'no'}`,
      `   Notify deleted = ${notifyDeleted ? 'Deleted' : 'Fault'}`,
      `   Notify priority changes = ${p.notifyPriorityChanges}`,
      // keepalived-ts: keepalived writes the master's address only while BACKUP.
      ...(st.state === 'MASTER' && st.masterAddress !== null
        ? [`   Master router = ${st.masterAddress}`]
        : []),
    ];
    out += `${lines.join('\n')}\n`;
  }
  return out;
}

/** keepalived's "Tracked scripts :" block: NAME weight W [reverse], in configuration order. */
function trackedScripts(p: VrrpInstanceParams): string[] {
  const scripts = p.trackers.filter((t) => t.kind === 'script');
  if (scripts.length === 0) return [];
  return [
    '   Tracked scripts :',
    ...scripts.map((t) => `     ${t.name} weight ${t.weight}${t.reverse ? ' reverse' : ''}`),
  ];
}

/** A VIP as keepalived's text dump writes it: the prefix length only when shorter than the address. */
function vipDataText(v: VrrpInstanceParams['vips'][number], p: VrrpInstanceParams, set: boolean): string {
  const full = v.address.includes(':') ? 128 : 32;
  const scope = typeof v.options?.scope === 'string' ? v.options.scope : 'global';
  const addr = v.prefixLen === full ? v.address : `${v.address}/${v.prefixLen}`;
  return `${addr} dev ${v.dev ?? p.interface} scope ${scope}${set ? ' set' : ''}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

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
