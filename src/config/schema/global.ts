import { spawnSync } from 'node:child_process';
// global_defs { … } keywords (keepalived's core/global_parser.c keyword set; behaviour from man5).
import { type GlobalDefs, NFT_DEFAULT_TABLE } from '../model.js';
import type { KeywordDef, KeywordTable } from '../parser.js';
import { groupExists, userExists } from '../script-security.js';
import { isMulticast, readIp } from '../values.js';

/**
 * keepalived resolves smtp_server with getaddrinfo while parsing; `getent ahosts` is the same lookup
 * (hosts file, then DNS as nsswitch says) without writing a resolver of our own.
 */
function resolvesHost(s: string): boolean {
  if (readIp(s).ok) return true;
  if (!/^[A-Za-z0-9.-]+$/.test(s)) return false;
  const r = spawnSync('getent', ['ahosts', s], { timeout: 5000, stdio: 'ignore' });
  return r.status === 0;
}

import { availableParallelism } from 'node:os';
import { readNumericMask } from '../../common/file-mask.js';
import { readInt, readUnsigned } from '../values.js';
import {
  boolFlag,
  carry,
  deprecated,
  flag,
  garpExtraIf,
  int,
  script,
  seconds,
  str,
  timerUs,
} from './builders.js';

/** vrrp_garp_extra_if SECONDS [all]: the default for instances without garp_extra_if. */
function globalGarpExtraIf(isDeprecated: boolean): KeywordDef<GlobalDefs> {
  return garpExtraIf({
    min: 1,
    current: 'vrrp_garp_extra_if',
    prefix: () => '',
    field: 'vrrpGarpExtraIfS',
    allField: 'vrrpGarpExtraIfAll',
    deprecated: isDeprecated,
  });
}

/** Keywords accepted and carried in `other`, with the minimum argument count. */
const CARRIED: Record<string, number> = {
  set_supplementary_groups: 0,
  vrrp_delay_after_boot: 0,
  disable_local_igmp: 0,
  vmac_addr_prefix: 1,
  vrrp_iptables: 0,
  vrrp_ipsets: 0,
  nftables_ipvs: 0,
  nftables_ipvs_priority: 1,
  nftables_ipvs_start_fwmark: 1,
  process_names: 0,
  process_name: 1,
  vrrp_process_name: 1,
  checker_process_name: 1,
  lvs_process_name: 1,
  bfd_process_name: 1,
  min_auto_priority_delay: 1,
  snmp_socket: 1,
  enable_traps: 0,
  enable_snmp_vrrp: 0,
  enable_snmp_keepalived: 0,
  enable_snmp_checker: 0,
  enable_snmp_rfc: 0,
  enable_snmp_rfcv2: 0,
  enable_snmp_rfcv3: 0,
  snmp_vs_stats_update_interval: 1,
  snmp_rs_stats_update_interval: 1,
  enable_dbus: 0,
  dbus_service_name: 1,
  dbus_no_interface_name: 0,
  reload_check_config: 0,
  reload_time_file: 1,
  reload_repeat: 0,
  reload_file: 0,
  include_check: 0,
  config_save_dir: 1,
  tmp_config_directory: 1,
  data_use_instance: 0,
  json_version: 1,
  iproute_usr_dir: 1,
  iproute_etc_dir: 1,
  linkbeat_use_polling: 0,
  network_namespace: 1,
};

for (const p of [
  'vrrp_netlink_cmd',
  'vrrp_netlink_monitor',
  'lvs_netlink_cmd',
  'lvs_netlink_monitor',
  'process_monitor',
]) {
  CARRIED[`${p}_rcv_bufs`] = 1;
  CARRIED[`${p}_rcv_bufs_force`] = 0;
}

/** `lvs_flush_on_stop [VS]`: alone, the whole IPVS table is flushed on stop; with VS, each of ours is deleted. */
function lvsFlushOnStop(): KeywordDef<GlobalDefs> {
  return {
    doc: { args: '[VS]', field: 'lvsFlushOnStop' },
    line: (g, tokens, pos, ctx) => {
      const v = tokens[1];
      if (v === undefined) g.lvsFlushOnStop = 'all';
      else if (v === 'VS') g.lvsFlushOnStop = 'vs';
      else ctx.diag.error('CONFIG_INVALID_VALUE', `${tokens[0]}: unknown option ${v}`, pos);
    },
  };
}

/**
 * `vrrp_rx_bufs_policy MTU|ADVERT|BYTES …`, as 2.2.7 reads it: the words of every such line add up; a size
 * beats MTU/ADVERT and MTU beats ADVERT, each conflict reported. A word that is neither MTU nor ADVERT is
 * taken as a size, but 2.2.7 reads the number from the first word whatever the position (so `MTU 4096` is
 * refused as "Invalid vrrp_rx_bufs_policy 4096"); kept, as -t reports the same lines.
 */
function rxBufsPolicy(): KeywordDef<GlobalDefs> {
  return {
    doc: { args: 'MTU|ADVERT|BYTES', field: 'vrrpRxBufsPolicy' },
    line: (g, tokens, pos, ctx) => {
      const bad = (m: string) => ctx.diag.error('CONFIG_INVALID_VALUE', m, pos);
      if (tokens.length < 2) return bad('vrrp_rx_bufs_policy missing');
      let mtu = g.vrrpRxBufsPolicy === 'MTU';
      let advert = g.vrrpRxBufsPolicy === 'ADVERT';
      let size = typeof g.vrrpRxBufsPolicy === 'number' ? g.vrrpRxBufsPolicy : undefined;
      for (const word of tokens.slice(1)) {
        if (word.toUpperCase() === 'MTU') mtu = true;
        else if (word.toUpperCase() === 'ADVERT') advert = true;
        else {
          const r = readUnsigned(tokens[1], 0, 0xffffffff);
          if (r.ok) size = r.value;
          else {
            ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
            bad(`Invalid vrrp_rx_bufs_policy ${word}`);
          }
        }
      }
      if (size !== undefined && (mtu || advert)) {
        bad('Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy');
        mtu = advert = false;
      } else if (mtu && advert) {
        bad('Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT');
        advert = false;
      }
      const policy = size ?? (mtu ? 'MTU' : advert ? 'ADVERT' : undefined);
      if (policy !== undefined) g.vrrpRxBufsPolicy = policy;
    },
  };
}

/** `vrrp_rx_bufs_multiplier N`: exactly one number, 1..4294967295 (2.2.7's words when not). */
function rxBufsMultiplier(): KeywordDef<GlobalDefs> {
  return {
    doc: { args: 'INTEGER', range: '1..4294967295', field: 'vrrpRxBufsMultiplier' },
    line: (g, tokens, pos, ctx) => {
      if (tokens.length !== 2)
        return ctx.diag.error('CONFIG_INVALID_VALUE', 'Invalid vrrp_rx_bufs_multiplier', pos);
      const r = readUnsigned(tokens[1], 1, 0xffffffff);
      if (r.ok) g.vrrpRxBufsMultiplier = r.value;
      else {
        ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
        ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid vrrp_rx_bufs_multiplier ${tokens[1]}`, pos);
      }
    },
  };
}

/** The symbolic bits of `umask` (IRUSR … IXOTH), as stat.h names them. */
const UMASK_BITS: Record<string, number> = {
  IRUSR: 0o400,
  IWUSR: 0o200,
  IXUSR: 0o100,
  IRGRP: 0o040,
  IWGRP: 0o020,
  IXGRP: 0o010,
  IROTH: 0o004,
  IWOTH: 0o002,
  IXOTH: 0o001,
};

/**
 * `umask MASK`: a number (`022`, `18`, `0x12`; 0 to 0777) or bits joined by `|` (`IWGRP|IWOTH`, or
 * `IWGRP | IWOTH` over several words), with 2.2.7's messages for what it refuses; a refused value leaves the
 * mask as it was. With `-u`, the keyword is not read at all (docs/keepalived-semantics.md, "File modes and
 * umask").
 */
function umaskKeyword(): KeywordDef<GlobalDefs> {
  return {
    doc: { args: 'MASK', range: '0..0777, or IRUSR|IWUSR|IXUSR|IRGRP|…|IXOTH', field: 'umask' },
    line: (g, tokens, pos, ctx) => {
      const first = tokens[1];
      if (first === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      if (ctx.umaskFromCli)
        return ctx.diag.note(
          'CONFIG_NO_EFFECT',
          'umask command line option specified, ignoring config option',
          pos,
        );
      const bad = (m: string) => ctx.diag.error('CONFIG_INVALID_VALUE', m, pos);
      if (/^[0-9]/.test(first)) {
        if (tokens.length > 2) return bad('Extra parameter(s) to umask option');
        const v = readNumericMask(first);
        if (v === null) return bad(`invalid umask value ${first}`);
        g.umask = v;
        return;
      }
      // Five-letter bit names, each after a `|` but the first; a `|` may stand alone or touch a name.
      let bits = 0;
      let needOr = false;
      for (const word of tokens.slice(1)) {
        for (let p = 0; p < word.length; ) {
          if (needOr) {
            if (word[p] !== '|') return bad(`Invalid umask syntax ${word}`);
            needOr = false;
            p++;
            continue;
          }
          const bit = UMASK_BITS[word.slice(p, p + 5)];
          if (bit === undefined) return bad(`Unknown umask bit ${word.slice(p)}`);
          bits |= bit;
          p += 5;
          needOr = true;
        }
      }
      if (!needOr) return bad('umask missing bit value');
      g.umask = bits;
    },
  };
}

/** Largest IPVS connection timeout keepalived accepts (31 days, in seconds). */
const LVS_MAX_TIMEOUT = 86400 * 31;

/** `lvs_timeouts [tcp S] [tcpfin S] [udp S]`: at least one. */
function lvsTimeouts(): KeywordDef<GlobalDefs> {
  return {
    doc: {
      args: '[tcp SECS] [tcpfin SECS] [udp SECS]',
      range: `0..${LVS_MAX_TIMEOUT}`,
      field: 'lvsTimeouts',
    },
    line: (g, tokens, pos, ctx) => {
      const t: NonNullable<GlobalDefs['lvsTimeouts']> = {};
      for (let i = 1; i < tokens.length; i += 2) {
        const k = tokens[i]!;
        if (k !== 'tcp' && k !== 'tcpfin' && k !== 'udp')
          return ctx.diag.error('CONFIG_INVALID_VALUE', `lvs_timeouts: unknown option ${k}`, pos);
        const r = readInt(tokens[i + 1], 0, LVS_MAX_TIMEOUT);
        if (!r.ok) return ctx.diag.error('CONFIG_INVALID_VALUE', `lvs_timeouts ${k}: ${r.error}`, pos);
        t[k] = r.value;
      }
      if (Object.keys(t).length === 0)
        return ctx.diag.error('CONFIG_MISSING_PARAMETER', 'lvs_timeouts requires a parameter', pos);
      g.lvsTimeouts = t;
    },
  };
}

function mcastGroup(family: 4 | 6): KeywordDef<GlobalDefs> {
  return {
    line: (g, tokens, pos, ctx) => {
      if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      const r = readIp(tokens[1]);
      if (!r.ok || r.value.family !== family || !isMulticast(r.value.address, family))
        return ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `${tokens[0]} [${tokens[1]}] is not multicast. Skipping`,
          pos,
        );
      if (family === 4) g.vrrpMcastGroup4 = r.value.address;
      else g.vrrpMcastGroup6 = r.value.address;
    },
  };
}

/**
 * The vrrp, checker and bfd process keywords (`vrrp_priority`, `checker_priority`, …), with keepalived 2.2.7's
 * messages: a bad nice value or CPU id is skipped with an error, a real-time priority out of 1..99 is clamped
 * with a warning. `P_rlimit_rtime` is keepalived's older spelling of `P_rlimit_rttime`.
 */
function processKeywords(p: 'vrrp' | 'checker' | 'bfd'): KeywordTable<GlobalDefs> {
  const tuning = (g: GlobalDefs) =>
    p === 'vrrp' ? g.vrrpProcess : p === 'checker' ? g.checkerProcess : g.bfdProcess;
  const rlimit: KeywordDef<GlobalDefs> = {
    doc: { args: 'MICROSECONDS', range: '1..4294967295' },
    line: (g, tokens, pos, ctx) => {
      const v = tokens[1];
      if (v === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      const r = /^-\d+$/.test(v)
        ? { ok: false as const, error: `negative number '${v}'` }
        : readInt(v, 1, 4294967295);
      if (!r.ok) {
        ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
        return ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid ${p} real-time limit - ${v}`, pos);
      }
      tuning(g).rlimitRttimeUs = r.value;
    },
  };
  return {
    [`${p}_priority`]: {
      doc: { args: 'NICE', range: '-20..19' },
      line: (g, tokens, pos, ctx) => {
        if (tokens[1] === undefined)
          return ctx.diag.error('CONFIG_MISSING_PARAMETER', `No ${p} process priority specified`, pos);
        const r = readInt(tokens[1], -20, 19);
        if (!r.ok) {
          ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
          return ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid ${p} process priority specified`, pos);
        }
        tuning(g).nice = r.value;
      },
    },
    [`${p}_rt_priority`]: {
      doc: { args: 'INTEGER', range: '1..99 (clamped)' },
      line: (g, tokens, pos, ctx) => {
        const v = tokens[1];
        if (v === undefined)
          return ctx.diag.error(
            'CONFIG_MISSING_PARAMETER',
            `No ${p} process real-time priority specified`,
            pos,
          );
        const r = readInt(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        if (!r.ok) {
          ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `${p} process real-time priority '${v}' invalid`,
            pos,
          );
        }
        const clamped = Math.min(99, Math.max(1, r.value));
        if (r.value < 1)
          ctx.diag.warn(
            'CONFIG_VALUE_CLAMPED',
            `${p} process real-time priority ${r.value} less than minimum 1 - setting to minimum`,
            pos,
          );
        else if (r.value > 99)
          ctx.diag.warn(
            'CONFIG_VALUE_CLAMPED',
            `${p} process real-time priority ${r.value} greater than maximum 99 - setting to maximum`,
            pos,
          );
        tuning(g).rtPriority = clamped;
      },
    },
    [`${p}_rlimit_rttime`]: rlimit,
    [`${p}_rlimit_rtime`]: { ...rlimit, doc: { ...rlimit.doc, deprecated: true } },
    [`${p}_no_swap`]: {
      line: (g) => {
        tuning(g).noSwap = true;
      },
    },
    [`${p}_cpu_affinity`]: {
      doc: { args: 'CPU...' },
      line: (g, tokens, pos, ctx) => {
        if (tokens.length < 2)
          return ctx.diag.error('CONFIG_MISSING_PARAMETER', `No ${p} cpu_id set specified`, pos);
        const cpus: number[] = [];
        const lastCpu = availableParallelism() - 1;
        for (const t of tokens.slice(1)) {
          const r = readInt(t, 0, lastCpu);
          if (!r.ok) {
            ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
            // keepalived names the id it failed to read as a number (0 for a word).
            const id = /^\d+$/.test(t) ? t : '0';
            return ctx.diag.error(
              'CONFIG_INVALID_VALUE',
              `Invalid cpu_id:${id} specified for ${p} process`,
              pos,
            );
          }
          if (!cpus.includes(r.value)) cpus.push(r.value);
        }
        tuning(g).cpuAffinity = cpus;
      },
    },
  };
}

/** `ADDRESS:PORT` (IPv6 in brackets: `[2001:db8::1]:9650`); an address is required, never a bare port. */
export function readListen(s: string): { ok: true; value: { host: string; port: number } } | { ok: false } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return { ok: false };
  const ip = readIp(m[1]!);
  const port = Number(m[2]);
  if (!ip.ok || port < 1 || port > 65535) return { ok: false };
  return { ok: true, value: { host: ip.value.address, port } };
}

/** keepalived-ts's own: the status listener (src/status/, docs/operating.md 'Watching it run'). */
function statusListenerKeywords(): KeywordTable<GlobalDefs> {
  return {
    metrics_listen: {
      doc: { args: 'ADDRESS:PORT', range: 'an IPv4 or [IPv6] address and a port 1..65535; off when absent' },
      line: (g, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const r = readListen(tokens[1]);
        if (!r.ok)
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `metrics_listen: '${tokens[1]}' is not ADDRESS:PORT (e.g. 127.0.0.1:9650 or [2001:db8::1]:9650)`,
            pos,
          );
        g.metricsListen = r.value;
      },
    },
    metrics_token: {
      doc: { args: 'TOKEN', range: '16 to 256 printable characters', field: 'metricsToken' },
      line: (g, tokens, pos, ctx) => {
        const t = tokens[1];
        if (t === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        if (t.length < 16 || t.length > 256 || !/^[\x21-\x7e]+$/.test(t))
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            'metrics_token: the token must be 16 to 256 printable characters without spaces',
            pos,
          );
        g.metricsToken = t;
      },
    },
    metrics_max_requests: {
      doc: {
        args: 'N',
        range: '0..100000 a second (0: no limit); default 20',
        field: 'metricsMaxRequests',
      },
      line: (g, tokens, pos, ctx) => {
        const t = tokens[1];
        if (t === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const n = Number(t);
        if (!/^\d+$/.test(t) || n > 100_000)
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `metrics_max_requests: '${t}' is not a number of requests a second from 0 to 100000`,
            pos,
          );
        g.metricsMaxRequests = n;
      },
    },
  };
}

export function globalDefsKeywords(): KeywordTable<GlobalDefs> {
  const t: KeywordTable<GlobalDefs> = {
    router_id: {
      doc: { args: 'STRING', field: 'routerId' },
      line: (g, tokens, pos, ctx) => {
        if (tokens[1] === undefined)
          ctx.diag.error('CONFIG_MISSING_PARAMETER', 'routerid name missing - ignoring', pos);
        else g.routerId = tokens[1];
      },
    },
    notification_email: {
      values: {
        open: (g) => g,
        value: (g: GlobalDefs, tokens) => {
          g.notificationEmails.push(...tokens);
        },
      },
    },
    notification_email_from: str('notificationEmailFrom'),
    smtp_server: {
      doc: { args: 'HOST [PORT]', range: 'port 1..65535, default 25' },
      line: (g, tokens, pos, ctx) => {
        const host = tokens[1];
        if (!host) return ctx.diag.missingParameter(tokens[0]!, pos);
        const port = tokens[2] === undefined ? 25 : Number(tokens[2]);
        if (!Number.isInteger(port) || port < 1 || port > 65535 || !resolvesHost(host))
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Invalid smtp server ${host} ${tokens[2] ?? 25}`,
            pos,
          );
        g.smtpServer = { host, port };
      },
    },
    smtp_helo_name: str('smtpHeloName'),
    smtp_connect_timeout: {
      // keepalived takes 0..4294 (seconds in its µs timer) and turns 0 into 1 with an error.
      doc: { args: 'SECONDS', range: '1..4294 (0 means 1)', field: 'smtpConnectTimeoutS' },
      line: (g: GlobalDefs, tokens, pos, ctx) => {
        const r = readInt(tokens[1], 0, 4294);
        if (!r.ok) {
          // keepalived reports the number's own problem, then its keyword's.
          ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `smtp_connect_timeout '${tokens[1] ?? ''}' must be in [0, 4294] - ignoring`,
            pos,
          );
        }
        if (r.value === 0)
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            'smtp_conect_timeout must be greater than 0, setting to 1',
            pos,
          );
        g.smtpConnectTimeoutS = Math.max(1, r.value);
      },
    },
    smtp_alert: boolFlag('smtpAlert'),
    smtp_alert_vrrp: boolFlag('smtpAlertVrrp'),
    smtp_alert_checker: boolFlag('smtpAlertChecker'),
    no_email_faults: flag('noEmailFaults'),
    no_checker_emails: flag('noCheckerEmails'),
    script_user: {
      line: (g, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const [user, group] = tokens[1].includes(':') ? tokens[1].split(':', 2) : [tokens[1], tokens[2]];
        // keepalived takes a second word as the group, so `script_user root // x` fails on group '//'.
        if (!userExists(user!) || (group !== undefined && !groupExists(group))) {
          // keepalived then has no default script user (its data dump leaves the line out).
          g.scriptUserInvalid = true;
          return ctx.diag.error('CONFIG_SCRIPT_USER', 'Error setting global script uid/gid', pos);
        }
        g.scriptUser = group ? { user: user!, group } : { user: user! };
      },
    },
    enable_script_security: flag('enableScriptSecurity'),
    vrrp_version: int('vrrpVersion', 2, 3),
    vrrp_mcast_group4: mcastGroup(4),
    vrrp_mcast_group6: mcastGroup(6),
    vrrp_garp_master_delay: int('vrrpGarpMasterDelayS', 0, 86400),
    vmac_prefix: {
      doc: { args: 'PREFIX', field: 'vmacPrefix' },
      line: (g, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        // keepalived 2.2.7 keeps the first one.
        if (g.vmacPrefix !== undefined)
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `vmac prefix has already been specified - ignoring ${tokens[1]}`,
            pos,
          );
        g.vmacPrefix = tokens[1];
      },
    },
    vrrp_garp_master_repeat: int('vrrpGarpMasterRepeat', 0, 2147483647),
    vrrp_garp_master_refresh: int('vrrpGarpMasterRefreshS', 0, 86400),
    vrrp_garp_master_refresh_repeat: int('vrrpGarpMasterRefreshRepeat', 0, 2147483647),
    vrrp_garp_lower_prio_delay: int('vrrpGarpLowerPrioDelayS', 0, 86400),
    vrrp_garp_lower_prio_repeat: int('vrrpGarpLowerPrioRepeat', 0, 2147483647),
    vrrp_garp_extra_if: globalGarpExtraIf(false),
    // Deprecated since 2.2.2 (its first spelling), same meaning.
    vrrp_vmac_garp_intvl: globalGarpExtraIf(true),
    // keepalived 2.2.7 rejects 0 here: "number '0' outside range [0.000001, 4294.967295]".
    vrrp_garp_interval: timerUs('vrrpGarpIntervalUs', 0.000001),
    vrrp_gna_interval: timerUs('vrrpGnaIntervalUs', 0.000001),
    vrrp_min_garp: boolFlag('vrrpMinGarp'),
    vrrp_down_timer_adverts: int('vrrpDownTimerAdverts', 1, 100),
    vrrp_lower_prio_no_advert: boolFlag('vrrpLowerPrioNoAdvert'),
    vrrp_higher_prio_send_advert: boolFlag('vrrpHigherPrioSendAdvert'),
    // keepalived 2.2.7 takes no argument here and ignores one if given.
    vrrp_check_unicast_src: {
      line: (g) => {
        g.vrrpCheckUnicastSrc = true;
      },
    },
    vrrp_skip_check_adv_addr: flag('vrrpSkipCheckAdvAddr'),
    vrrp_strict: flag('vrrpStrict'),
    v3_checksum_as_v2: flag('v3ChecksumAsV2'),
    vrrp_owner_ignore_adverts: flag('vrrpOwnerIgnoreAdverts'),
    notify_fifo: str('notifyFifo'),
    notify_fifo_script: script('notifyFifoScript'),
    vrrp_notify_fifo: str('vrrpNotifyFifo'),
    vrrp_notify_fifo_script: script('vrrpNotifyFifoScript'),
    lvs_notify_fifo: str('lvsNotifyFifo'),
    lvs_notify_fifo_script: script('lvsNotifyFifoScript'),
    lvs_sync_daemon: {
      line: (g, tokens, pos, ctx) => {
        const iface = tokens[1];
        if (!iface)
          return ctx.diag.error('CONFIG_MISSING_PARAMETER', 'lvs_sync_daemon requires an interface', pos);
        g.lvsSyncDaemon = { interface: iface };
        if (tokens[2] && tokens[2] !== 'id') g.lvsSyncDaemon.instance = tokens[2];
        const idAt = tokens.indexOf('id');
        if (idAt > 0) g.lvsSyncDaemon.syncId = Number(tokens[idAt + 1]);
      },
    },
    lvs_flush: flag('lvsFlush'),
    lvs_flush_on_stop: lvsFlushOnStop(),
    lvs_flush_onstop: deprecated('lvs_flush_onstop is deprecated, use lvs_flush_on_stop', lvsFlushOnStop()),
    lvs_timeouts: lvsTimeouts(),
    lvs_dataplane: {
      doc: { args: 'auto|ipvs|nftables', field: 'lvsDataplane' },
      line: (g, tokens, pos, ctx) => {
        const v = tokens[1];
        if (v === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        if (v !== 'auto' && v !== 'ipvs' && v !== 'nftables')
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `lvs_dataplane: ${v} is not auto, ipvs or nftables`,
            pos,
          );
        g.lvsDataplane = v;
      },
    },
    max_auto_priority: int('maxAutoPriority', -1, 99),
    random_seed: int('randomSeed', 0, 4294967295),
    state_dump_file: str('stateDumpFile'),
    stats_dump_file: str('statsDumpFile'),
    json_dump_file: str('jsonDumpFile'),
    dynamic_interfaces: {
      doc: { args: '[allow_if_changes]', field: 'dynamicInterfaces' },
      // keepalived turns dynamic interfaces on before it looks at the option, even a wrong one.
      line: (g, tokens, pos, ctx) => {
        const opt = tokens[1];
        g.dynamicInterfaces = true;
        if (opt === 'allow_if_changes') g.dynamicInterfacesAllowIfChanges = true;
        else if (opt !== undefined)
          ctx.diag.error('CONFIG_INVALID_VALUE', `Unknown dynamic_interfaces option '${opt}'`, pos);
      },
    },
    checker_log_all_failures: boolFlag('checkerLogAllFailures'),
    log_unknown_vrids: flag('logUnknownVrids'),
    vrrp_rx_bufs_policy: rxBufsPolicy(),
    vrrp_rx_bufs_multiplier: rxBufsMultiplier(),
    umask: umaskKeyword(),
    default_interface: str('defaultInterface'),
    fifo_write_vrrp_states_on_reload: flag('fifoWriteVrrpStatesOnReload'),
    startup_script: script('startupScript'),
    startup_script_timeout: int('startupScriptTimeoutS', 1, 1000),
    shutdown_script: script('shutdownScript'),
    shutdown_script_timeout: int('shutdownScriptTimeoutS', 1, 1000),
    rs_init_notifies: boolFlag('rsInitNotifies'),
    use_symlink_paths: flag('useSymlinkPaths'),
    vrrp_notify_priority_changes: boolFlag('vrrpNotifyPriorityChanges'),
    nftables: {
      doc: { args: '[TABLE]', field: 'nftablesTable' },
      line: (g, tokens) => {
        g.nftablesTable = tokens[1] ?? NFT_DEFAULT_TABLE;
      },
    },
    nftables_priority: int('nftablesPriority', -2147483648, 2147483647),
    nftables_ifindex: flag('nftablesIfindex'),
    nftables_counters: flag('nftablesCounters'),
    vrrp_startup_delay: seconds('vrrpStartupDelayS', 6, 0, 4294.967295),
    ...processKeywords('vrrp'),
    ...processKeywords('checker'),
    ...processKeywords('bfd'),
    ...statusListenerKeywords(),
  };
  for (const [kw, min] of Object.entries(CARRIED)) t[kw] ??= carry(min);
  return t;
}
