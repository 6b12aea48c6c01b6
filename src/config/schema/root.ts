// Top-level keywords: the blocks that make up keepalived.conf.
import type {
  BfdInstance,
  KeepalivedConfig,
  SslConfig,
  SyncGroup,
  VirtualServer,
  VirtualServerGroup,
} from '../model.js';
import type { KeywordDef, KeywordTable, ParseCtx } from '../parser.js';
import { readInt, readIp } from '../values.js';
import { bfdKeywords, closeBfdInstance, openBfdInstance } from './bfd.js';
import { str } from './builders.js';
import { globalDefsKeywords } from './global.js';
import { closeVirtualServer, parseVsGroupEntry, virtualServerIn, virtualServerKeywords } from './lvs.js';
import { addressRouteKeywords } from './static.js';
import {
  closeVrrpScript,
  garpGroupKeywords,
  newVrrpInstance,
  newVrrpScript,
  syncGroupKeywords,
  trackFileKeywords,
  trackProcessKeywords,
  vrrpInstanceKeywords,
  vrrpScriptKeywords,
} from './vrrp.js';

function named<T>(
  what: string,
  make: (name: string, cfg: KeepalivedConfig, pos: { file: string; line: number }, ctx: ParseCtx) => T | null,
  keywords: () => KeywordTable<T>,
  close?: (target: T, ctx: ParseCtx, pos: { file: string; line: number }) => void,
): KeywordDef<KeepalivedConfig> {
  return {
    block: {
      keywords,
      close,
      open: (cfg, tokens, pos, ctx) => {
        const name = tokens[1];
        if (!name) {
          ctx.diag.missingParameter(what, pos);
          return null;
        }
        return make(name, cfg, pos, ctx);
      },
    },
  };
}

export function rootKeywords(cfg: KeepalivedConfig): KeywordTable<KeepalivedConfig> {
  const rules = { nextPreference: { 4: 16384, 6: 16384 } };
  const instanceNames = new Set<string>();
  const t: KeywordTable<KeepalivedConfig> = {
    global_defs: {
      block: { keywords: globalDefsKeywords, open: (c) => c.globalDefs },
    },
    vrrp_instance: named(
      'vrrp_instance',
      (name, c, pos, ctx) => {
        if (instanceNames.has(name)) {
          ctx.diag.error('CONFIG_DUPLICATE_INSTANCE', `vrrp instance ${name} already defined`, pos);
          return null;
        }
        const i = newVrrpInstance(name, pos);
        instanceNames.add(name);
        c.vrrpInstances.push(i);
        return i;
      },
      () => vrrpInstanceKeywords({ config: cfg, rules }),
    ),
    vrrp_script: named(
      'vrrp_script',
      (name, c, pos) => {
        const s = newVrrpScript(name, pos);
        c.vrrpScripts.push(s);
        return s;
      },
      vrrpScriptKeywords,
      (s, ctx, pos) => closeVrrpScript(cfg, s, ctx, pos),
    ),
    vrrp_sync_group: named(
      'vrrp_sync_group',
      (name, c, pos) => {
        const g: SyncGroup = {
          name,
          pos,
          members: [],
          trackInterfaces: [],
          trackScripts: [],
          trackFiles: [],
          trackProcesses: [],
          trackBfds: [],
          notify: {},
          syncGroupTrackingWeight: false,
        };
        c.syncGroups.push(g);
        return g;
      },
      () => syncGroupKeywords(cfg),
    ),
    track_file: named(
      'track_file',
      (name, c, pos) => {
        const f = { name, pos, weight: 1, reverse: false };
        c.trackFiles.push(f);
        return f;
      },
      trackFileKeywords,
    ),
    vrrp_track_process: named(
      'vrrp_track_process',
      (name, c, pos) => {
        const p = { name, pos, weight: 0, reverse: false, quorum: 1, fullCommand: false };
        c.trackProcesses.push(p);
        return p;
      },
      trackProcessKeywords,
    ),
    garp_group: {
      block: {
        keywords: garpGroupKeywords,
        open: (c, _t, pos) => {
          const g = { pos, interfaces: [] };
          c.garpGroups.push(g);
          return g;
        },
      },
    },
    ...addressRouteKeywords(rules),
    virtual_server: {
      block: {
        keywords: virtualServerKeywords,
        close: closeVirtualServer,
        open: (c, tokens, pos, ctx) => {
          if (tokens[1] === undefined) {
            ctx.diag.missingParameter('virtual_server', pos);
            return null;
          }
          const vs = openVirtualServer(tokens, pos, ctx);
          if (vs) {
            c.virtualServers.push(vs);
            virtualServerIn(vs, c);
          }
          return vs;
        },
      },
    },
    virtual_server_group: {
      values: {
        args: 1,
        open: (c, tokens, pos, ctx) => {
          const name = tokens[1];
          if (!name) {
            ctx.diag.error('CONFIG_MISSING_PARAMETER', 'virtual_server_group requires a name', pos);
            return null;
          }
          const g: VirtualServerGroup = { name, pos, entries: [] };
          c.virtualServerGroups.push(g);
          return g;
        },
        value: (g: VirtualServerGroup, tokens, pos, ctx) => parseVsGroupEntry(tokens, pos, g, ctx),
        // keepalived completes the group at its closing brace: an fwmark without a family cannot
        // serve a group that holds both IPv4 and IPv6 addresses.
        close: (g: VirtualServerGroup, ctx, pos) => {
          const has = (f: 4 | 6) => g.entries.some((e) => e.kind === 'range' && e.family === f);
          const bareFwmark = g.entries.some((e) => e.kind === 'fwmark' && e.family === undefined);
          if (has(4) && has(6) && bareFwmark) {
            ctx.diag.error(
              'CONFIG_VSG_FAMILY',
              `virtual server group ${g.name} cannot have IPv4, IPv6 and fwmark without family - removing`,
              pos,
            );
            cfg.virtualServerGroups = cfg.virtualServerGroups.filter((x) => x !== g);
          }
        },
      },
    },
    bfd_instance: {
      block: {
        keywords: bfdKeywords,
        open: (c, tokens, pos, ctx) => openBfdInstance(c, tokens, pos, ctx),
        close: (b: BfdInstance, ctx, pos) => closeBfdInstance(cfg, b, ctx, pos),
      },
    },
    SSL: {
      block: {
        keywords: () => ({
          password: str('password'),
          ca: str('ca'),
          certificate: str('certificate'),
          key: str('key'),
        }),
        open: (c, _t, pos) => {
          const s: SslConfig = { pos };
          c.ssl = s;
          return s;
        },
      },
    },
  };
  for (const kw of [
    'net_namespace',
    'net_namespace_ipvs',
    'namespace_with_ipsets',
    'use_pid_dir',
    'instance',
    'child_wait_time',
    'linkbeat_use_polling',
  ])
    t[kw] = {
      line: (c, tokens) => {
        c.root[kw] = tokens.slice(1);
      },
    };
  for (const kw of ['vrrp_track_file', 'track_group', 'linkbeat_interfaces', 'interface_up_down_delays'])
    t[kw] = {
      values: {
        open: (c) => c,
        value: () => {},
      },
    };
  t.vrrp_track_file = t.track_file!;
  return t;
}

function openVirtualServer(
  tokens: string[],
  pos: { file: string; line: number },
  ctx: { diag: any },
): VirtualServer | null {
  const base = {
    pos,
    lbKindOptions: [],
    schedulerFlags: [],
    alpha: false,
    omega: false,
    quorum: 1,
    hysteresis: 0,
    sorryServerInhibit: false,
    haSuspend: false,
    realServers: [],
    other: {},
  };
  if (tokens[1] === 'fwmark') {
    const r = readInt(tokens[2], 1, 4294967295);
    if (!r.ok) {
      ctx.diag.error(
        'CONFIG_INVALID_VALUE',
        `virtual server fwmark '${tokens[2] ?? ''}' must be in [0, 4294967295] - ignoring`,
        pos,
      );
      return null;
    }
    return { ...base, key: { kind: 'fwmark', fwmark: r.value } };
  }
  if (tokens[1] === 'group') {
    if (!tokens[2]) {
      ctx.diag.error('CONFIG_MISSING_PARAMETER', 'virtual_server group requires a name', pos);
      return null;
    }
    return { ...base, key: { kind: 'group', group: tokens[2] } };
  }
  const a = readIp(tokens[1]);
  if (!a.ok) {
    ctx.diag.error('CONFIG_INVALID_ADDRESS', `Invalid virtual server ip address ${tokens[1] ?? ''}`, pos);
    return null;
  }
  const port = tokens[2] === undefined ? undefined : readInt(tokens[2], 0, 65535);
  if (port && !port.ok) {
    ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid virtual server port ${tokens[2]}`, pos);
    return null;
  }
  const key = port
    ? { kind: 'address' as const, address: a.value.address, family: a.value.family, port: port.value }
    : { kind: 'address' as const, address: a.value.address, family: a.value.family };
  return { ...base, key };
}
