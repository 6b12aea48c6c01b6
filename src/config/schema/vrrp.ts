// VRRP-side blocks: vrrp_instance, vrrp_sync_group, vrrp_script, track_file, vrrp_track_process,
// garp_group, static_ipaddress/routes/rules.
import type { SourcePos } from '../diagnostics.js';
import type {
  GarpGroup,
  KeepalivedConfig,
  NotifyScripts,
  SyncGroup,
  TrackFile,
  TrackProcess,
  TrackRef,
  VipConfig,
  VrrpInstanceConfig,
  VrrpScript,
} from '../model.js';
import type { KeywordDef, KeywordTable, ParseCtx } from '../parser.js';

import { groupExists, userExists } from '../script-security.js';
import { readInt, readIp, readTimerUs, readUnsigned } from '../values.js';
import { parseRouteLine, parseRuleLine, parseVirtualAddress, type RuleDefaults } from './addresses.js';
import { boolFlag, carry, deprecated, flag, garpExtraIf, int, script, str, timerUs } from './builders.js';

/** keepalived's VRRP_PRIO_DFL: what an invalid `priority` becomes. */
const DEFAULT_PRIORITY = 100;

/** The parser needs the whole config for parse-time lookups (track_script must be defined first). */
export interface VrrpParseEnv {
  config: KeepalivedConfig;
  rules: RuleDefaults;
}

function newInstance(name: string, pos: SourcePos): VrrpInstanceConfig {
  return {
    name,
    pos,
    nopreempt: false,
    virtualIpaddresses: [],
    virtualIpaddressesExcluded: [],
    virtualRoutes: [],
    virtualRules: [],
    unicastPeers: [],
    vmacXmitBase: false,
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    trackBfds: [],
    dontTrackPrimary: false,
    notify: {},
    promoteSecondaries: false,
    other: {},
  };
}

/**
 * An instance's address family is fixed by the first address it is given (source, peer or VIP);
 * keepalived rejects later addresses of the other family where they are read.
 */
function claimFamily(i: VrrpInstanceConfig, family: 4 | 6): boolean {
  if (i.family === undefined) {
    i.family = family;
    return true;
  }
  return i.family === family;
}

const addressBlock = (pick: (i: any) => VipConfig[], checkFamily: boolean): KeywordDef => ({
  values: {
    open: (i) => i,
    value: (i: VrrpInstanceConfig, tokens, pos, ctx) => {
      const v = parseVirtualAddress(tokens, pos, ctx);
      if (!v) return;
      if (checkFamily && !claimFamily(i, v.family)) {
        ctx.diag.error(
          'CONFIG_VIP_FAMILY',
          `(${i.name}): address family must match VRRP instance [${v.address}] - ignoring`,
          pos,
        );
        return;
      }
      pick(i).push(v);
    },
  },
});

const routeBlock: KeywordDef = {
  values: {
    open: (i) => i,
    value: (i: VrrpInstanceConfig, tokens, pos, ctx) => {
      const r = parseRouteLine(tokens, pos, ctx);
      if (r) i.virtualRoutes.push(r);
    },
  },
};

const ruleBlock = (rules: RuleDefaults): KeywordDef => ({
  values: {
    open: (i) => i,
    value: (i: VrrpInstanceConfig, tokens, pos, ctx) => {
      const r = parseRuleLine(tokens, pos, ctx, rules);
      if (r) i.virtualRules.push(r);
    },
  },
});

/**
 * A track_* block entry, read as keepalived 2.2.7's alloc_track_* do: `NAME [weight N [reverse|noreverse]]`.
 * A second word other than `weight` drops the entry with a warning (so `chk_nginx // 注释` is not tracked);
 * `weight` without a value drops it too; an invalid weight keeps the entry with its default weight; a fourth
 * word other than reverse/noreverse is reported and ignored. `defaults` gives the tracked object's own
 * weight and reverse (vrrp_script, vrrp_track_process), which an entry without them inherits.
 */
function trackBlock(
  pick: (i: any) => TrackRef[],
  what: string,
  dupWhat: string,
  weightMin: number,
  weightMax: number,
  resolve?: (name: string) => boolean,
  defaults?: (name: string) => { weight: number; reverse: boolean } | undefined,
): KeywordDef {
  // keepalived names track_interface by its keyword in these messages and track scripts in words.
  const label = dupWhat === 'track_interface' ? 'track_interface' : what;
  return {
    values: {
      open: (i) => i,
      value: (i, tokens, pos, ctx: ParseCtx) => {
        const name = tokens[0]!;
        if (pick(i).some((r: TrackRef) => r.name === name)) {
          ctx.diag.error(
            'CONFIG_DUPLICATE_TRACK',
            `(${i.name}) duplicate ${dupWhat} ${name} - ignoring`,
            pos,
          );
          return;
        }
        if (resolve && !resolve(name)) {
          ctx.diag.error('CONFIG_TRACK_NOT_FOUND', `(${i.name}) ${what} ${name} not found, ignoring...`, pos);
          return;
        }
        const own = defaults?.(name);
        const ref: TrackRef = own ? { name, reverse: own.reverse, pos } : { name, reverse: false, pos };
        if (tokens.length >= 2) {
          if (tokens[1] !== 'weight') {
            const option =
              dupWhat === 'track_interface'
                ? `unknown track_interface ${name} option ${tokens[1]}`
                : `unknown ${what} option ${tokens[1]}`;
            ctx.diag.error('CONFIG_UNKNOWN_KEYWORD', `(${i.name}) ${option} - ignoring`, pos);
            return;
          }
          if (tokens.length === 2) {
            ctx.diag.error(
              'CONFIG_MISSING_PARAMETER',
              `(${i.name}) weight without value specified for ${label} ${name} - ignoring`,
              pos,
            );
            return;
          }
          // keepalived reads ±254 even where the limit is ±253, and clamps it with an error.
          const r = readInt(tokens[2], Math.min(weightMin, -254), Math.max(weightMax, 254));
          if (!r.ok) {
            ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
            ctx.diag.error(
              'CONFIG_INVALID_VALUE',
              dupWhat === 'track_interface'
                ? `(${i.name}) weight ${tokens[2]} for ${name} must be between [-253..253] inclusive. Ignoring...`
                : `(${i.name}) ${what} ${name}: weight must be between [${weightMin}..${weightMax}] inclusive, ignoring...`,
              pos,
            );
            if (dupWhat === 'track_interface') ref.weight = 0;
          } else if (r.value > weightMax || r.value < weightMin) {
            ref.weight = r.value > 0 ? weightMax : weightMin;
            ctx.diag.error(
              'CONFIG_INVALID_VALUE',
              `(${i.name}) weight for ${name} cannot be +/-254. Setting to +/-253`,
              pos,
            );
          } else ref.weight = r.value;
          const w3 = tokens[3];
          if (w3 === 'reverse') ref.reverse = true;
          else if (w3 === 'noreverse' && dupWhat !== 'track_interface') ref.reverse = false;
          else if (w3 !== undefined)
            ctx.diag.error(
              'CONFIG_UNKNOWN_KEYWORD',
              `(${i.name}) unknown ${dupWhat === 'track_interface' ? 'track_interace' : dupWhat} ${name} weight option ${w3} - ignoring`,
              pos,
            );
        }
        if (own && ref.weight === undefined) ref.weight = own.weight;
        pick(i).push(ref);
      },
    },
  };
}

/** The notify scripts an instance and a sync group both have: keyword → their `notify` field. */
const NOTIFY_SCRIPTS = [
  ['notify_master', 'master'],
  ['notify_backup', 'backup'],
  ['notify_fault', 'fault'],
  ['notify_stop', 'stop'],
  ['notify', 'generic'],
] as const;

function notifyScripts(): Record<string, KeywordDef> {
  return Object.fromEntries(
    NOTIFY_SCRIPTS.map(([keyword, field]) => [
      keyword,
      script((x: { notify: NotifyScripts }, sc) => {
        x.notify[field] = sc;
      }),
    ]),
  );
}

/** track_bfd names: keepalived's VRRP process knows only the BFD instances that report to it (not `checker` alone). */
const bfdLookup = (cfg: KeepalivedConfig) => ({
  known: (n: string) => cfg.bfdInstances.some((s) => s.name === n && s.toVrrp),
  defaults: (n: string) => cfg.bfdInstances.find((s) => s.name === n),
});

/** keepalived's tracker blocks, alike in an instance and a sync group: keyword, model list, words, |weight| bound. */
const TRACKERS = [
  ['track_interface', 'trackInterfaces', 'tracked interface', 253],
  ['track_script', 'trackScripts', 'track script', 253],
  ['track_file', 'trackFiles', 'track file', 254],
  ['track_process', 'trackProcesses', 'track process', 254],
  ['track_bfd', 'trackBfds', 'track bfd', 253],
] as const;
type TrackList = (typeof TRACKERS)[number][1];

/**
 * The five tracker blocks; `lookup` gives, per list, whether a name is known now and the tracked
 * object's own weight and reverse (where the context resolves names: an instance more than a group).
 */
function trackBlocks(
  lookup: Partial<
    Record<
      TrackList,
      {
        known: (name: string) => boolean;
        defaults?: (name: string) => { weight: number; reverse: boolean } | undefined;
      }
    >
  >,
): Record<string, KeywordDef> {
  return Object.fromEntries(
    TRACKERS.map(([keyword, list, what, bound]) => [
      keyword,
      trackBlock(
        (x: Record<TrackList, TrackRef[]>) => x[list],
        what,
        keyword,
        -bound,
        bound,
        lookup[list]?.known,
        lookup[list]?.defaults,
      ),
    ]),
  );
}

export function vrrpInstanceKeywords(env: VrrpParseEnv): KeywordTable<VrrpInstanceConfig> {
  const cfg = env.config;
  const t: KeywordTable<VrrpInstanceConfig> = {
    state: {
      doc: { args: 'MASTER|BACKUP', field: 'state' },
      line: (i, tokens, pos, ctx) => {
        const s = tokens[1];
        if (s === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        i.statePos = pos;
        if (s === 'MASTER' || s === 'BACKUP') i.state = s;
        else {
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `(${i.name}) unknown state '${s ?? ''}', defaulting to BACKUP`,
            pos,
          );
          i.state = 'BACKUP';
        }
      },
    },
    interface: {
      doc: { args: 'INTERFACE' },
      line: (i, tokens, pos, ctx) => {
        const v = tokens[1];
        if (v === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        if (v === 'lo')
          return ctx.diag.error(
            'CONFIG_BAD_IF',
            `(${i.name}) cannot use a loopback interface (lo) for vrrp - ignoring`,
            pos,
          );
        i.interface = v;
        i.interfacePos = pos;
      },
    },
    virtual_router_id: int(
      (i: VrrpInstanceConfig, v: number, pos: SourcePos) => {
        i.vrid = v;
        i.vridPos = pos;
      },
      1,
      255,
    ),
    // keepalived 2.2.7: an invalid priority (0, 256, `abc`, `-5`) is reported and replaced by the default
    // 100 — it does not stay unset, which would make a MASTER the address owner (docs/config-meaning.md).
    priority: {
      doc: { args: 'INTEGER', range: '1..255', field: 'priority' },
      line: (i: VrrpInstanceConfig, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const r = readUnsigned(tokens[1], 1, 255);
        i.priorityPos = pos;
        if (r.ok) {
          i.priority = r.value;
          return;
        }
        ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
        ctx.diag.error(
          'CONFIG_INVALID_PRIORITY',
          `(${i.name}) Priority not valid! must be between 1 & 255. Using default ${DEFAULT_PRIORITY}`,
          pos,
        );
        i.priority = DEFAULT_PRIORITY;
      },
    },
    advert_int: timerUs(
      (i: VrrpInstanceConfig, v: number, pos: SourcePos) => {
        i.advertIntervalUs = v;
        i.advertIntPos = pos;
      },
      0.01,
      255,
    ),
    version: int(
      (i: VrrpInstanceConfig, v: number, pos: SourcePos) => {
        i.version = v as 2 | 3;
        i.versionPos = pos;
      },
      2,
      3,
    ),
    nopreempt: flag((i: VrrpInstanceConfig, v: boolean, pos: SourcePos) => {
      i.nopreempt = v;
      i.nopreemptPos = pos;
    }),
    preempt: flag((i: VrrpInstanceConfig) => {
      i.nopreempt = false;
    }),
    preempt_delay: timerUs(
      (i: VrrpInstanceConfig, v: number, pos: SourcePos) => {
        i.preemptDelayUs = v;
        i.preemptDelayPos = pos;
      },
      0,
      1000,
    ),
    down_timer_adverts: int('downTimerAdverts', 1, 100),
    virtual_ipaddress: addressBlock((i: VrrpInstanceConfig) => i.virtualIpaddresses, true),
    virtual_ipaddress_excluded: addressBlock((i: VrrpInstanceConfig) => i.virtualIpaddressesExcluded, false),
    virtual_routes: routeBlock,
    virtual_rules: ruleBlock(env.rules),
    promote_secondaries: flag('promoteSecondaries'),
    accept: flag((i: VrrpInstanceConfig, v: boolean, pos: SourcePos) => {
      i.accept = v;
      i.acceptPos = pos;
    }),
    no_accept: flag((i: VrrpInstanceConfig, v: boolean, pos: SourcePos) => {
      i.accept = !v;
      i.acceptPos = pos;
    }),
    skip_check_adv_addr: boolFlag('skipCheckAdvAddr'),
    strict_mode: boolFlag('strictMode'),
    unicast_src_ip: srcIp(),
    mcast_src_ip: srcIp(),
    unicast_peer: {
      values: {
        open: (i: VrrpInstanceConfig, _t, pos) => {
          i.unicastPeerPos = pos;
          i.unicastConfigured = true;
          return i;
        },
        value: (i: VrrpInstanceConfig, tokens, pos, ctx) => {
          const a = readIp(tokens[0]);
          if (!a.ok) {
            ctx.diag.error(
              'CONFIG_INVALID_ADDRESS',
              `Configuration error: VRRP instance[${i.name}] malformed unicast peer address[${tokens[0]}]. Skipping...`,
              pos,
            );
            return;
          }
          if (!claimFamily(i, a.value.family)) {
            ctx.diag.error(
              'CONFIG_PEER_FAMILY',
              `Configuration error: VRRP instance[${i.name}] and unicast peer address[${tokens[0]}] MUST be of the same family !!! Skipping...`,
              pos,
            );
            return;
          }
          const peer = { address: a.value.address, pos } as VrrpInstanceConfig['unicastPeers'][number];
          // keepalived 2.2.7 reads the words in pairs: a pair whose value is not a number is reported and
          // skipped, an unknown name with a number stops the reading; the peer is kept in every case
          // (so `192.0.2.2 // peer` is a peer, with "invalid number 'peer'").
          for (let k = 1; k < tokens.length; k += 2) {
            if (k + 1 >= tokens.length) {
              ctx.diag.error('CONFIG_MISSING_PARAMETER', `(${i.name}) ${tokens[k]} is missing a value`, pos);
              break;
            }
            const r = readUnsigned(tokens[k + 1], 0, 255);
            if (!r.ok) {
              ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
              continue;
            }
            if (tokens[k] === 'min_ttl') peer.minTtl = r.value;
            else if (tokens[k] === 'max_ttl') peer.maxTtl = r.value;
            else {
              ctx.diag.error(
                'CONFIG_INVALID_VALUE',
                `(${i.name}) unknown unicast_peer option ${tokens[k]}`,
                pos,
              );
              break;
            }
            i.checkUnicastSrc = true;
          }
          i.unicastPeers.push(peer);
        },
      },
    },
    unicast_ttl: int('unicastTtl', 0, 255),
    // Bytes this instance adds to its socket's receive buffer (docs/linux-sockets.md, 'Receive buffers').
    kernel_rx_buf_size: {
      doc: { args: 'BYTES', range: '0..4294967295', field: 'kernelRxBufSize' },
      line: (i, tokens, pos, ctx) => {
        const r = tokens.length === 2 ? readUnsigned(tokens[1], 0, 0xffffffff) : undefined;
        if (r?.ok) {
          if (r.value > 0) i.kernelRxBufSize = r.value;
          else delete i.kernelRxBufSize;
          return;
        }
        if (r) ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
        ctx.diag.error('CONFIG_INVALID_VALUE', `(${i.name}) invalid kernel_rx_buf_size specified`, pos);
      },
    },
    mcast_dst_ip: {
      line: (i, tokens, pos, ctx) => {
        const a = readIp(tokens[1]);
        if (!a.ok)
          return ctx.diag.error(
            'CONFIG_INVALID_ADDRESS',
            `(${i.name}) invalid mcast_dst_ip ${tokens[1] ?? ''}`,
            pos,
          );
        i.mcastDstIp = a.value.address;
      },
    },
    check_unicast_src: unicastWord(flag('checkUnicastSrc')),
    unicast_fault_no_peer: unicastWord(flag('unicastFaultNoPeer')),
    old_unicast_checksum: unicastWord({
      doc: { args: '[never]', field: 'oldUnicastChecksum' },
      line: (i, tokens, pos, ctx) => {
        if (tokens[1] === undefined) i.oldUnicastChecksum = 'config';
        else if (tokens[1] === 'never') i.oldUnicastChecksum = 'never';
        else
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `(${i.name}) Unknown old_unicast_chksum mode ${tokens[1]} - ignoring`,
            pos,
          );
      },
    }),
    track_src_ip: flag('trackSrcIp'),
    // An IPv6 (so VRRPv3) instance even without an IPv6 address to say so (keepalived 2.2.7's native_ipv6).
    native_ipv6: {
      doc: { field: 'family' },
      line: (i, _tokens, pos, ctx) => {
        if (i.family === 4)
          return ctx.diag.error(
            'CONFIG_VIP_FAMILY',
            `(${i.name}) Cannot specify native_ipv6 with IPv4 addresses`,
            pos,
          );
        i.family = 6;
      },
    },
    use_vmac: {
      line: (i, tokens, pos) => {
        i.useVmac = {};
        i.useVmacPos = pos;
        for (const w of tokens.slice(1)) {
          if (/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(w)) i.useVmac.mac = w.toLowerCase();
          else if (w !== 'netlink_notify_msg' && !i.useVmac.name) i.useVmac.name = w;
        }
      },
    },
    vmac_xmit_base: flag('vmacXmitBase'),
    ...trackBlocks({
      trackScripts: {
        known: (n) => cfg.vrrpScripts.some((s) => s.name === n),
        defaults: (n) => cfg.vrrpScripts.find((s) => s.name === n),
      },
      trackFiles: { known: (n) => cfg.trackFiles.some((s) => s.name === n) },
      trackProcesses: { known: (n) => cfg.trackProcesses.some((s) => s.name === n) },
      trackBfds: bfdLookup(cfg),
    }),
    dont_track_primary: flag('dontTrackPrimary'),
    ...notifyScripts(),
    notify_deleted: {
      quoted: true,
      line: (i, tokens, pos) => {
        i.notify.deleted = { argv: tokens.slice(1), pos };
      },
    },
    notify_master_rx_lower_pri: script((i: VrrpInstanceConfig, s) => {
      i.notify.masterRxLowerPri = s;
    }),
    notify_priority_changes: boolFlag('notifyPriorityChanges'),
    smtp_alert: boolFlag('smtpAlert'),
    garp_master_delay: int('garpMasterDelayS', 0, 86400),
    garp_master_repeat: int('garpMasterRepeat', 0, 2147483647),
    garp_master_refresh: int('garpMasterRefreshS', 0, 86400),
    garp_master_refresh_repeat: int('garpMasterRefreshRepeat', 0, 2147483647),
    garp_lower_prio_delay: int('garpLowerPrioDelayS', 0, 86400),
    garp_lower_prio_repeat: int('garpLowerPrioRepeat', 0, 2147483647),
    garp_extra_if: instanceGarpExtraIf(false),
    // Deprecated since 2.2.2 (its first spelling), same meaning.
    vmac_garp_intvl: instanceGarpExtraIf(true),
    lower_prio_no_advert: boolFlag('lowerPrioNoAdvert'),
    higher_prio_send_advert: boolFlag('higherPrioSendAdvert'),
    owner_ignore_adverts: flag('ownerIgnoreAdverts'),
    authentication: {
      block: {
        keywords: authKeywords,
        open: (i: VrrpInstanceConfig, _t, pos) => {
          i.auth = { type: 'PASS', pos };
          return i;
        },
      },
    },
    lvs_sync_daemon_interface: {
      line: (i, tokens, pos, ctx) => {
        ctx.diag.warn(
          'CONFIG_DEPRECATED',
          `(${i.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`,
          pos,
        );
        ctx.diag.warn('CONFIG_DEPRECATED', '        Please use global lvs_sync_daemon', pos);
        i.other.lvs_sync_daemon_interface = tokens.slice(1);
      },
    },
    linkbeat_use_polling: deprecated(
      'linkbeat_use_polling in vrrp_instance is deprecated; use linkbeat_interfaces',
      carry(),
    ),
  };
  for (const [kw, min] of Object.entries({
    vrf: 1,
    debug: 0,
    timer_expired_backup: 0,
    no_virtual_ipaddress: 0,
    use_vmac_addr: 0,
    use_ipvlan: 0,
  }))
    t[kw] ??= carry(min);
  return t;
}

/** garp_extra_if SECONDS [all]: over global_defs' vrrp_garp_extra_if (0 turns it off for this instance). */
function instanceGarpExtraIf(isDeprecated: boolean): KeywordDef<VrrpInstanceConfig> {
  return garpExtraIf({
    min: 0,
    current: 'garp_extra_if',
    prefix: (i: VrrpInstanceConfig) => `(${i.name}): `,
    field: 'garpExtraIfS',
    allField: 'garpExtraIfAll',
    deprecated: isDeprecated,
  });
}

/** A keyword keepalived 2.2.7 counts as "unicast configured", whatever its value (model.ts `unicastConfigured`). */
function unicastWord(def: KeywordDef<VrrpInstanceConfig>): KeywordDef<VrrpInstanceConfig> {
  return {
    ...def,
    line: (i, tokens, pos, ctx) => {
      i.unicastConfigured = true;
      def.line!(i, tokens, pos, ctx);
    },
  };
}

function srcIp(): KeywordDef<VrrpInstanceConfig> {
  return {
    doc: { args: 'ADDRESS' },
    line: (i, tokens, pos, ctx) => {
      if (tokens[0] === 'unicast_src_ip') i.unicastConfigured = true;
      if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      const a = readIp(tokens[1]);
      if (!a.ok)
        return ctx.diag.error(
          'CONFIG_INVALID_ADDRESS',
          `Configuration error: VRRP instance[${i.name}] malformed src address[${tokens[1]}]. Skipping...`,
          pos,
        );
      if (!claimFamily(i, a.value.family))
        return ctx.diag.error(
          'CONFIG_SRC_FAMILY',
          `(${i.name}) unicast_src_ip ${tokens[1]} is not of the instance's address family - ignoring`,
          pos,
        );
      i.unicastSrcIp = a.value.address;
    },
  };
}

function authKeywords(): KeywordTable<VrrpInstanceConfig> {
  return {
    auth_type: {
      line: (i, tokens, pos, ctx) => {
        const v = tokens[1];
        if (v === 'PASS' || v === 'AH') i.auth = { ...i.auth!, type: v };
        else
          ctx.diag.error('CONFIG_INVALID_VALUE', `(${i.name}) unknown authentication type '${v ?? ''}'`, pos);
      },
    },
    auth_pass: {
      line: (i, tokens, pos, ctx) => {
        const v = tokens[1];
        if (v === undefined)
          return ctx.diag.error('CONFIG_MISSING_PARAMETER', `(${i.name}) auth_pass requires a password`, pos);
        if (Buffer.byteLength(v) > 8)
          ctx.diag.warn('CONFIG_TRUNCATED', `Truncating auth_pass to 8 characters`, pos);
        i.auth = { ...i.auth!, password: v.slice(0, 8) };
      },
    },
  };
}

export function syncGroupKeywords(cfg: KeepalivedConfig): KeywordTable<SyncGroup> {
  return {
    group: {
      values: {
        open: (g: SyncGroup, _t, pos) => {
          g.groupPos = pos;
          return g;
        },
        value: (g: SyncGroup, tokens, pos) => {
          for (const n of tokens) g.members.push({ name: n, pos });
        },
      },
    },
    ...trackBlocks({ trackBfds: bfdLookup(cfg) }),
    ...notifyScripts(),
    smtp_alert: boolFlag('smtpAlert'),
    notify_priority_changes: boolFlag('notifyPriorityChanges'),
    sync_group_tracking_weight: flag('syncGroupTrackingWeight'),
    global_tracking: flag('syncGroupTrackingWeight'),
  };
}

export function vrrpScriptKeywords(): KeywordTable<VrrpScript> {
  return {
    script: script('script', false),
    // keepalived 2.2.7 reads whole seconds here ("interval 1.5" is an error and the default 1 s stays);
    // 0 is taken as 1 with a message.
    interval: wholeSeconds('interval', 'intervalUs', 'must be between 1 and 4294 - ignoring'),
    timeout: wholeSeconds('timeout', 'timeoutUs', 'invalid - ignoring'),
    // keepalived 2.2.7's wording; a third word other than `reverse` is reported and the weight still applies.
    weight: {
      line: (s: VrrpScript, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const r = readInt(tokens[1], -253, 253);
        if (!r.ok)
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `vrrp_script ${s.name} weight ${tokens[1]} must be in [-253, 253]`,
            pos,
          );
        else s.weight = r.value;
        if (tokens[2] === 'reverse') s.reverse = true;
        else if (tokens[2] !== undefined)
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `vrrp_script ${s.name} unknown weight option ${tokens[2]}`,
            pos,
          );
      },
    },
    rise: int('rise', 1, 2147483647),
    fall: int('fall', 1, 2147483647),
    user: {
      line: (s, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const [user, group] = tokens[1].includes(':') ? tokens[1].split(':', 2) : [tokens[1], tokens[2]];
        if (!userExists(user!) || (group !== undefined && !groupExists(group))) {
          ctx.diag.error(
            'CONFIG_SCRIPT_USER',
            `Unable to set uid/gid for script '${s.script?.argv.join(' ') ?? ''}'`,
            pos,
          );
          s.invalid = true;
          return;
        }
        s.user = group ? { user: user!, group } : { user: user! };
      },
    },
    init_fail: flag('initFail'),
  };
}

/** A vrrp_script `interval` / `timeout`: unsigned whole seconds, 0 meaning 1, stored in µs. */
function wholeSeconds(kw: string, field: 'intervalUs' | 'timeoutUs', badTail: string): KeywordDef {
  return {
    line: (s: VrrpScript, tokens, pos, ctx) => {
      if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      const r = readUnsigned(tokens[1], 0, 4294);
      if (!r.ok) {
        ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
        ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `(${s.name}): vrrp script ${kw} '${tokens[1]}' ${badTail}`,
          pos,
        );
        // Departure (docs/config-meaning.md): a fraction of a second is run as written, and -t says so.
        const frac = /^\d*\.\d+$/.test(tokens[1]) ? readTimerUs(tokens[1], 0.000001) : null;
        if (frac?.ok) {
          s[field] = frac.value;
          ctx.diag.note(
            'CONFIG_DEPARTURE',
            `vrrp_script ${s.name}: keepalived-ts uses ${kw} ${tokens[1]} s as written; keepalived 2.2.7 ignores it`,
            pos,
          );
        }
        return;
      }
      if (r.value === 0)
        ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `(${s.name}): vrrp script ${kw} must be greater than 0, setting to 1`,
          pos,
        );
      s[field] = Math.max(1, r.value) * 1_000_000;
    },
  };
}

function weightWithReverse(min: number, max: number): KeywordDef {
  return {
    line: (s, tokens, pos, ctx) => {
      const r = readInt(tokens[1], min, max);
      if (!r.ok) return ctx.diag.error('CONFIG_INVALID_VALUE', `${s.name}: weight ${r.error}`, pos);
      s.weight = r.value;
      if (tokens[2] === 'reverse') s.reverse = true;
      else if (tokens[2] !== undefined && tokens[2] !== 'noreverse')
        ctx.diag.error('CONFIG_INVALID_VALUE', `${s.name}: unknown weight option '${tokens[2]}'`, pos);
    },
  };
}

export function trackFileKeywords(): KeywordTable<TrackFile> {
  return {
    file: str('file'),
    weight: weightWithReverse(-254, 254),
    init_file: {
      line: (f, tokens) => {
        const value = tokens[1] !== undefined && tokens[1] !== 'overwrite' ? Number(tokens[1]) : 0;
        f.initFile = { value, overwrite: tokens.includes('overwrite') };
      },
    },
  };
}

export function trackProcessKeywords(): KeywordTable<TrackProcess> {
  return {
    process: {
      quoted: true,
      line: (p, tokens, pos, ctx) => {
        if (tokens.length < 2)
          return ctx.diag.error('CONFIG_MISSING_PARAMETER', 'process requires a name', pos);
        p.process = tokens.slice(1);
      },
    },
    param_match: {
      line: (p, tokens, pos, ctx) => {
        if (tokens[1] === 'initial' || tokens[1] === 'partial') p.paramMatch = tokens[1];
        else ctx.diag.error('CONFIG_INVALID_VALUE', `invalid param_match '${tokens[1] ?? ''}'`, pos);
      },
    },
    weight: weightWithReverse(-254, 254),
    quorum: int('quorum', 1, 65535),
    quorum_max: int('quorumMax', 1, 65535),
    delay: timerUs('delayUs'),
    fork_delay: timerUs('forkDelayUs'),
    terminate_delay: timerUs('terminateDelayUs'),
    full_command: flag('fullCommand'),
  };
}

export function garpGroupKeywords(): KeywordTable<GarpGroup> {
  return {
    garp_interval: timerUs('garpIntervalUs', 0.000001),
    gna_interval: timerUs('gnaIntervalUs', 0.000001),
    interface: {
      line: (g, tokens) => {
        if (tokens[1]) g.interfaces.push(tokens[1]);
      },
    },
    interfaces: {
      values: {
        open: (g) => g,
        value: (g: GarpGroup, tokens) => {
          g.interfaces.push(...tokens);
        },
      },
    },
  };
}

export function newVrrpInstance(name: string, pos: SourcePos): VrrpInstanceConfig {
  return newInstance(name, pos);
}

export function newVrrpScript(name: string, pos: SourcePos): VrrpScript {
  return { name, pos, intervalUs: 1_000_000, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false };
}

/** At the closing brace: a vrrp_script without a script is dropped (keepalived blames that line). */
export function closeVrrpScript(cfg: KeepalivedConfig, s: VrrpScript, ctx: ParseCtx, pos: SourcePos): void {
  const gd = cfg.globalDefs;
  if (!s.script)
    ctx.diag.error('CONFIG_NO_SCRIPT', `No script set for vrrp_script ${s.name} - removing`, pos);
  else if (
    !s.invalid &&
    !s.user &&
    gd.enableScriptSecurity &&
    !gd.scriptUser &&
    !userExists('keepalived_script')
  ) {
    // With script security on, keepalived will not fall back to root for a script with no user.
    ctx.diag.error(
      'CONFIG_SCRIPT_USER',
      `Unable to set default user for vrrp script ${s.name} - removing`,
      pos,
    );
    s.invalid = true;
  }
  if (s.script && !s.invalid) return;
  cfg.vrrpScripts = cfg.vrrpScripts.filter((x) => x !== s);
}
