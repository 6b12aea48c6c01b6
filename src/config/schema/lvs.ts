// LVS side: virtual_server (address+port, fwmark, group), real_server, the checkers, and
// virtual_server_group. Deprecated aliases resolve to the same handler (lb_algo = lvs_sched,
// lb_kind = lvs_method; nb_get_retry = retry only inside HTTP_GET/SSL_GET, with a deprecation warning).
import type { SourcePos } from '../diagnostics.js';
import type {
  Checker,
  CheckerKind,
  HttpUrl,
  KeepalivedConfig,
  RealServer,
  TunnelOptions,
  VirtualServer,
  VirtualServerGroup,
  VirtualServerGroupEntry,
} from '../model.js';
import { exactArray, NO_OTHER } from '../model.js';
import type { KeywordDef, KeywordTable, ParseCtx } from '../parser.js';
import { canonicalIp, ipToBytes, readBool, readInt, readIp, readPrefix, readUnsigned } from '../values.js';
import { addressFamily, settledFamily, tunnelledFamily } from '../vs-family.js';
import {
  boolFlag,
  carry,
  deprecated,
  flag,
  int,
  parseScript,
  script,
  str,
  timerUs,
  userGroup,
  words,
} from './builders.js';

export const SCHEDULERS = new Set([
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'sh',
  'mh',
  'dh',
  'fo',
  'ovf',
  'lblcr',
  'sed',
  'nq',
  'twos',
]);
const METHODS = new Set(['NAT', 'DR', 'TUN']);

const sched: KeywordDef<VirtualServer> = {
  doc: { args: 'SCHEDULER', field: 'lbAlgo' },
  line: (vs, tokens, pos, ctx) => {
    const v = tokens[1];
    if (!v) return ctx.diag.error('CONFIG_MISSING_PARAMETER', 'lvs_sched requires a scheduler', pos);
    if (!SCHEDULERS.has(v))
      ctx.diag.warn('CONFIG_UNKNOWN_SCHEDULER', `Unknown scheduler '${v}' - kernel may not support it`, pos);
    vs.lbAlgo = v;
  },
};

const method: KeywordDef<VirtualServer | RealServer> = {
  doc: { args: 'NAT|DR|TUN' },
  line: (vs, tokens, pos, ctx) => {
    const v = tokens[1];
    if (v === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
    // Only the upper-case names are keepalived 2.2.7's; anything else falls back to NAT.
    let canonical = v;
    if (!METHODS.has(v)) {
      ctx.diag.error(
        'CONFIG_INVALID_VALUE',
        `PARSER : unknown [${v}] routing method for virtual server.`,
        pos,
      );
      canonical = 'NAT';
    }
    const tunnel = METHODS.has(v)
      ? tunnelOptions(tokens, 'realServers' in vs ? 'virtual' : 'real', pos, ctx)
      : undefined;
    if ('realServers' in vs) {
      vs.lbKind = canonical;
      vs.lbKindOptions = tokens.slice(2);
    } else vs.lvsMethod = canonical;
    // options that do not read leave the earlier ones (keepalived 2.2.7 returns before storing them)
    if (tunnel) vs.tunnel = tunnel;
  },
};

/** `sorry_server_lvs_method`: the same reading as a real server's lvs_method (keepalived's "sorry" server). */
const sorryMethod: KeywordDef<VirtualServer> = {
  doc: { args: 'NAT|DR|TUN', field: 'sorryServerLvsMethod' },
  line: (vs, tokens, pos, ctx) => {
    const v = tokens[1];
    if (v === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
    if (!vs.sorryServer)
      return ctx.diag.error('CONFIG_INVALID_VALUE', 'sorry_server forwarding used without sorry_server', pos);
    if (!METHODS.has(v))
      return ctx.diag.error(
        'CONFIG_INVALID_VALUE',
        `PARSER : unknown [${v}] routing method for sorry server.`,
        pos,
      );
    vs.sorryServerLvsMethod = v;
    const tunnel = tunnelOptions(tokens, 'sorry', pos, ctx);
    if (tunnel) vs.sorryServerTunnel = tunnel;
  },
};

/**
 * keepalived 2.2.7 reads every word after the method as a tunnel option (`type ipip|gue|gre`, `port N`,
 * `nocsum|csum|remcsum`), whatever the method, and reports the first it cannot read — so a trailing
 * `// comment` is "Invalid tunnel option //" (docs/config-meaning.md). The method stays set.
 */
function tunnelOptions(
  tokens: string[],
  sType: string,
  pos: SourcePos,
  ctx: ParseCtx,
): TunnelOptions | undefined {
  let type: TunnelOptions['type'] = 'ipip';
  let port = 0;
  let csum: TunnelOptions['csum'] = 'nocsum';
  const fail = (message: string): undefined => {
    ctx.diag.error('CONFIG_INVALID_VALUE', message, pos);
    return undefined;
  };
  for (let i = 2; i < tokens.length; i++) {
    const w = tokens[i]!;
    const next = tokens[i + 1];
    if (w === 'type') {
      if (next === undefined) return fail(`Missing tunnel type for ${sType} server.`);
      if (next !== 'ipip' && next !== 'gue' && next !== 'gre')
        return fail(`Unknown tunnel type ${next} for ${sType} server.`);
      type = next;
      i++;
    } else if (w === 'port') {
      if (next === undefined) return fail(`Missing port for ${sType} server gue tunnel.`);
      const n = /^\d+$/.test(next) ? Number(next) : 0;
      if (n < 1 || n > 65535) return fail(`Invalid gue tunnel port ${next} for ${sType} server.`);
      port = n;
      i++;
    } else if (w === 'nocsum' || w === 'csum' || w === 'remcsum') csum = w;
    else return fail(`Invalid tunnel option ${w} for ${sType} server.`);
  }
  if ((type === 'gue') !== (port !== 0)) return fail('gue tunnels require port, otherwise cannot have port.');
  if (type === 'ipip' && csum !== 'nocsum') return fail('ipip tunnels do not support checksum option.');
  if (type === 'gre' && csum === 'remcsum') return fail('gre tunnels do not support remote checksum option.');
  return { type, port, csum };
}

/**
 * MISC_CHECK's `misc_path`: every word is the command and its arguments (keepalived 2.2.7 has no user here;
 * `user` is its own keyword), so `misc_path "/bin/check.sh" // x` runs /bin/check.sh with `//` and `x`.
 */
const miscPath: KeywordDef<Checker> = {
  doc: { args: 'SCRIPT [ARG...]' },
  quoted: true,
  line: (c, tokens, pos, ctx) => {
    const s = parseScript(tokens.slice(0, 2), pos);
    if (!s) return ctx.diag.error('CONFIG_MISSING_PARAMETER', `${tokens[0]} requires a script`, pos);
    s.argv.push(...tokens.slice(2));
    c.miscPath = s;
  },
};

/** `misc_timeout`: whole seconds, 0..4294 (0: the delay loop, as unset); else "Invalid misc_timeout value". */
const miscTimeout: KeywordDef<Checker> = {
  doc: { args: 'SECONDS' },
  line: (c, tokens, pos, ctx) => {
    const r = readUnsigned(tokens[1], 0, 4294);
    if (!r.ok) {
      ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
      return ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid misc_timeout value '${tokens[1] ?? ''}'`, pos);
    }
    if (r.value > 0) c.miscTimeoutUs = r.value * 1_000_000;
    else delete c.miscTimeoutUs;
  },
};

/**
 * An IPv4 netmask as keepalived 2.2.7 reads persistence_granularity's (the C library's numeric IPv4 form:
 * one to four dot-separated parts in decimal, octal with a leading 0 or hex with 0x, the last part filling
 * the remaining bytes), in dotted-quad form; undefined when it is not one.
 */
export function numericIPv4(s: string): string | undefined {
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    const m = /^(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9]\d*))$/.exec(p);
    if (!m) return undefined;
    nums.push(
      m[1] !== undefined
        ? Number.parseInt(m[1], 16)
        : m[2] !== undefined
          ? Number.parseInt(m[2], 8)
          : Number(m[3]),
    );
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 2 ** (8 * (4 - nums.length))) return undefined;
  let v = last;
  nums.forEach((n, i) => {
    v += n * 2 ** (8 * (3 - i));
  });
  return [24, 16, 8, 0].map((sh) => Math.floor(v / 2 ** sh) % 256).join('.');
}

/**
 * persistence_granularity, as keepalived 2.2.7 reads it at its line (docs/lvs.md, "The address family"):
 * in the family settled so far, else IPv6 unless the value has a dot, an IPv6 prefix length 1..128 or an
 * IPv4 netmask; one that does not fit is refused there with keepalived's words. A valid one settles a
 * family nothing has settled yet and makes the service persistent (360 s) if persistence_timeout has not.
 */
const granularityText = str('persistenceGranularity') as KeywordDef<VirtualServer>;
const granularity: KeywordDef<VirtualServer> = {
  ...granularityText,
  line: (vs, tokens, pos, ctx) => {
    const g = tokens[1];
    if (g === undefined) return granularityText.line?.(vs, tokens, pos, ctx);
    const fam = settledFamily(vs) ?? (g.includes('.') ? 4 : 6);
    let value: string | undefined;
    if (fam === 6) {
      const r = readUnsigned(g, 1, 128);
      if (r.ok) value = String(r.value);
      else ctx.diag.error('CONFIG_INVALID_NUMBER', r.error, pos);
    } else value = numericIPv4(g);
    if (value === undefined)
      return ctx.diag.error(
        'CONFIG_INVALID_VALUE',
        `Invalid IPv${fam} persistence_granularity specified - ${g}`,
        pos,
      );
    vs.persistenceGranularity = value;
    if (settledFamily(vs) === undefined) vs.ipFamily = fam;
    vs.persistenceTimeoutS ??= 360;
  },
};

/** The checker each url block belongs to (to drop a url without a path). */
const urlOwners = new WeakMap<HttpUrl, Checker>();

/** Common timing/retry keywords on virtual servers, real servers and checkers. */
function common<T>(): KeywordTable<T> {
  return {
    delay_loop: timerUs('delayLoopUs', 0.000001),
    connect_timeout: timerUs('connectTimeoutUs', 0.000001),
    retry: int('retry', 0, 2147483647),
    delay_before_retry: timerUs('delayBeforeRetryUs'),
    warmup: timerUs('warmupUs'),
    alpha: boolFlag('alpha'),
    smtp_alert: boolFlag('smtpAlert'),
    virtualhost: str('virtualhost'),
    inhibit_on_failure: boolFlag('inhibitOnFailure'),
  };
}

/** The virtual server each real server belongs to, for checks made at the real server's close. */
const serverOf = new WeakMap<RealServer, VirtualServer>();

/** The configuration each virtual server is parsed into: BFD_CHECK looks up the bfd_instances before it. */
const configOf = new WeakMap<VirtualServer, KeepalivedConfig>();

/** Records the configuration a virtual server belongs to (the root block's opener calls it). */
export function virtualServerIn(vs: VirtualServer, cfg: KeepalivedConfig): void {
  configOf.set(vs, cfg);
}

/** The virtual server's lb_kind when its sorry_server line was read: the sorry server's method (keepalived's). */
const sorryMethodAt = new WeakMap<VirtualServer, string | undefined>();

/**
 * A server's address settles the virtual server's family if nothing has; false (with keepalived's message)
 * when it is of the other family, and the caller skips the server.
 */
function settleFamily(
  vs: VirtualServer,
  address: string,
  what: 'real server' | 'sorry server',
  ctx: ParseCtx,
  pos: SourcePos,
): boolean {
  const fam = addressFamily(address);
  const settled = settledFamily(vs);
  if (settled === undefined) vs.ipFamily = fam;
  else if (settled !== fam) {
    ctx.diag.error(
      'CONFIG_RS_FAMILY',
      `Address family of virtual server and ${what} ${address} don't match - skipping ${what}.`,
      pos,
    );
    return false;
  }
  return true;
}

/**
 * keepalived completes a virtual server at its closing brace: a sorry server that is not tunnelled settles
 * a family nothing has settled or, of the other family, is dropped; a fwmark virtual server still without
 * a family takes its (tunnelled) servers' when they agree, else IPv4 (docs/lvs.md, "The address family").
 */
export function closeVirtualServer(vs: VirtualServer, ctx: ParseCtx, pos: SourcePos): void {
  const sorry = vs.sorryServer;
  if (
    sorry &&
    (vs.sorryServerLvsMethod ?? sorryMethodAt.get(vs)) !== 'TUN' &&
    !settleFamily(vs, sorry.address, 'sorry server', ctx, pos)
  )
    delete vs.sorryServer;
  if (vs.key.kind === 'fwmark' && settledFamily(vs) === undefined) vs.ipFamily = tunnelledFamily(vs);
}

/**
 * A real server's `alpha` / `inhibit_on_failure`: an optional true/false (keepalived 2.2.7's
 * check_true_false); another word is refused with keepalived's `Invalid <keyword> parameter <word>` and the
 * line ignored.
 */
function rsBool(kw: string, set: 'alpha' | 'inhibitOnFailure'): KeywordDef<RealServer> {
  return {
    doc: { args: '[true|false]', field: set },
    line: (rs, tokens, pos, ctx) => {
      const v = tokens[1];
      if (v === undefined) {
        rs[set] = true;
        return;
      }
      const r = readBool(v);
      if (!r.ok) return ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid ${kw} parameter ${v}`, pos);
      rs[set] = r.value;
    },
  };
}

export function virtualServerKeywords(): KeywordTable<VirtualServer> {
  const t: KeywordTable<VirtualServer> = {
    ...common<VirtualServer>(),
    // keepalived 2.2.7 sets these two on a virtual server whatever follows them (vs_alpha_handler,
    // vs_inhibit_handler read no argument): `inhibit_on_failure false` or `inhibit_on_failure // note`
    // still inhibits (found by the IPVS differential: its real servers stayed at weight 0 there)
    alpha: flag('alpha'),
    inhibit_on_failure: flag('inhibitOnFailure'),
    lb_algo: sched,
    lvs_sched: sched,
    lb_kind: method as KeywordDef<VirtualServer>,
    lvs_method: method as KeywordDef<VirtualServer>,
    protocol: {
      doc: { args: 'TCP|UDP|SCTP', field: 'protocol' },
      line: (vs, tokens, pos, ctx) => {
        const p = tokens[1]?.toUpperCase();
        if (p !== 'TCP' && p !== 'UDP' && p !== 'SCTP')
          return ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Unknown protocol '${tokens[1] ?? ''}' - ignoring`,
            pos,
          );
        vs.protocol = p;
        vs.protocolPos = pos;
      },
    },
    persistence_timeout: {
      doc: { args: '[SECONDS]', range: '1..2678400 (360 when given without a value)' },
      line: (vs, tokens, pos, ctx) => {
        if (tokens[1] === undefined) {
          vs.persistenceTimeoutS = 360;
          return;
        }
        const r = readInt(tokens[1], 1, 2678400);
        // keepalived 2.2.7: the number reader's own line, then the handler's
        if (!r.ok) {
          ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
          return ctx.diag.error('CONFIG_INVALID_VALUE', 'persistence_timeout invalid', pos);
        }
        vs.persistenceTimeoutS = r.value;
      },
    },
    persistence_granularity: granularity,
    persistence_engine: str('persistenceEngine'),
    omega: flag('omega'),
    // keepalived 2.2.7: the number reader's line, then its own; a bad quorum is 1, a bad hysteresis ignored
    quorum: {
      doc: { args: 'N', field: 'quorum', range: '1..4294967295' },
      line: (vs, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const r = readUnsigned(tokens[1], 1, 4294967295);
        if (r.ok) vs.quorum = r.value;
        else {
          ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Quorum ${tokens[1]} must be in [1, 4294967295]. Setting to 1.`,
            pos,
          );
          vs.quorum = 1;
        }
      },
    },
    hysteresis: {
      doc: { args: 'N', field: 'hysteresis', range: '0..4294967295' },
      line: (vs, tokens, pos, ctx) => {
        if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
        const r = readUnsigned(tokens[1], 0, 4294967295);
        if (r.ok) vs.hysteresis = r.value;
        else {
          ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
          ctx.diag.error(
            'CONFIG_INVALID_VALUE',
            `Hysteresis ${tokens[1]} must be in [0, 4294967295] - ignoring`,
            pos,
          );
        }
      },
    },
    quorum_up: script('quorumUp'),
    quorum_down: script('quorumDown'),
    sorry_server: {
      line: (vs, tokens, pos, ctx) => {
        const a = readIp(tokens[1]);
        if (!a.ok)
          return ctx.diag.error(
            'CONFIG_INVALID_ADDRESS',
            `Invalid sorry_server address ${tokens[1] ?? ''}`,
            pos,
          );
        const port = tokens[2] === undefined ? undefined : readInt(tokens[2], 0, 65535);
        if (port && !port.ok)
          return ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid sorry_server port ${tokens[2]}`, pos);
        vs.sorryServer = port
          ? { address: a.value.address, port: port.value, pos }
          : { address: a.value.address, pos };
        sorryMethodAt.set(vs, vs.lbKind);
      },
    },
    sorry_server_inhibit: flag('sorryServerInhibit'),
    sorry_server_lvs_method: sorryMethod,
    ha_suspend: flag('haSuspend'),
    ip_family: {
      line: (vs, tokens, pos, ctx) => {
        const fam = tokens[1] === 'inet' ? 4 : tokens[1] === 'inet6' ? 6 : undefined;
        if (fam === undefined)
          return ctx.diag.error('CONFIG_INVALID_VALUE', `unknown address family ${tokens[1] ?? ''}`, pos);
        // A family already settled (the address's, or an earlier server's) wins over a later ip_family.
        const settled = settledFamily(vs);
        if (settled !== undefined && settled !== fam)
          return ctx.diag.error(
            'CONFIG_VS_FAMILY',
            `Virtual server specified family ${tokens[1]} conflicts with server family`,
            pos,
          );
        vs.ipFamily = fam;
      },
    },
    real_server: {
      block: {
        keywords: realServerKeywords,
        open: (vs, tokens, pos, ctx) => {
          const a = readIp(tokens[1]);
          if (!a.ok) {
            ctx.diag.error(
              'CONFIG_INVALID_ADDRESS',
              `Invalid real server ip address/port ${tokens[1] ?? ''}`,
              pos,
            );
            return null;
          }
          const rs: RealServer = { address: a.value.address, pos, checkers: [], other: NO_OTHER };
          // keepalived 2.2.7 copies the virtual server's forwarding method and tunnel options into a real
          // server when its line is read (alloc_rs): an lb_kind written later does not reach it, unless
          // none was set yet (then the final one applies)
          if (vs.lbKind !== undefined) rs.lvsMethod = vs.lbKind;
          if (vs.tunnel) rs.tunnel = { ...vs.tunnel };
          if (tokens[2] !== undefined) {
            const p = readInt(tokens[2], 0, 65535);
            if (!p.ok) {
              ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid real server port ${tokens[2]}`, pos);
              return null;
            }
            rs.port = p.value;
          }
          vs.realServers.push(rs);
          serverOf.set(rs, vs);
          return rs;
        },
        // keepalived checks the families when it completes the real server, at its closing brace: the
        // first server that is not tunnelled settles an unsettled family (fwmark, group), a later one of
        // the other family is dropped; a tunnelled one may differ (docs/lvs.md, "The address family").
        close: (rs: RealServer, ctx, pos) => {
          rs.checkers = exactArray(rs.checkers);
          const vs = serverOf.get(rs)!;
          if ((rs.lvsMethod ?? vs.lbKind) === 'TUN') return;
          if (!settleFamily(vs, rs.address, 'real server', ctx, pos))
            vs.realServers = vs.realServers.filter((r) => r !== rs);
        },
      },
    },
  };
  t.snmp_name = carry();
  for (const kw of SCHEDULER_FLAGS) t[kw] = schedulerFlag(kw);
  t.weight = {
    doc: { args: 'INTEGER', range: '1..2147483647', field: 'weight' },
    line: (vs, tokens, pos, ctx) => {
      if (tokens[1] === undefined) return ctx.diag.missingParameter(tokens[0]!, pos);
      const r = readInt(tokens[1], 1, 2147483647);
      if (!r.ok) ctx.diag.error('CONFIG_INVALID_VALUE', r.error, pos);
      if (!r.ok)
        return ctx.diag.error(
          'CONFIG_INVALID_VALUE',
          `Virtual server weight ${tokens[1]} is outside range 1-2147483647`,
          pos,
        );
      vs.weight = r.value;
    },
  };
  return t;
}

/** Scheduler flags written as keywords of their own inside a virtual_server block. */
const SCHEDULER_FLAGS = [
  'ops',
  'hashed',
  'flag-1',
  'flag-2',
  'flag-3',
  'sh-port',
  'sh-fallback',
  'mh-port',
  'mh-fallback',
] as const;

/**
 * keepalived 2.2.7 (lbflags_handler) reads a flag against the scheduler set so far: `ops` and `flag-N`
 * always count; `sh-port`/`sh-fallback` only under `sh` and `mh-port`/`mh-fallback` only under `mh` (the
 * other pair, and `hashed`, are then dropped silently); under any other scheduler, or before `lb_algo`, every
 * other flag is dropped with `<flag> only applies to sh scheduler - ignoring`. So `lb_algo lc` then
 * `sh-port` programs no flag, and `sh-port` before `lb_algo sh` neither.
 */
function schedulerFlag(kw: string): KeywordDef<VirtualServer> {
  return {
    doc: { field: 'schedulerFlags' },
    line: (vs, _tokens, pos, ctx) => {
      const always = kw === 'ops' || kw.startsWith('flag-');
      if (!always) {
        const sched = vs.lbAlgo ?? '';
        if (sched !== 'sh' && sched !== 'mh')
          return ctx.diag.error('CONFIG_INVALID_VALUE', `${kw} only applies to sh scheduler - ignoring`, pos);
        if (!kw.startsWith(`${sched}-`)) return;
      }
      if (!vs.schedulerFlags.includes(kw)) vs.schedulerFlags.push(kw);
    },
  };
}

export function realServerKeywords(): KeywordTable<RealServer> {
  const t: KeywordTable<RealServer> = {
    ...common<RealServer>(),
    alpha: rsBool('alpha', 'alpha'),
    inhibit_on_failure: rsBool('inhibit_on_failure', 'inhibitOnFailure'),
    weight: int('weight', 0, 65535),
    lvs_method: method as KeywordDef<RealServer>,
    notify_up: script('notifyUp'),
    notify_down: script('notifyDown'),
    uthreshold: int('uthreshold', 0, 2147483647),
    lthreshold: int('lthreshold', 0, 2147483647),
    snmp_name: carry(1),
  };
  for (const kind of CHECKER_KINDS) t[kind] = checkerBlock(kind);
  return t;
}

const CHECKER_KINDS: CheckerKind[] = [
  'HTTP_GET',
  'SSL_GET',
  'TCP_CHECK',
  'MISC_CHECK',
  'SMTP_CHECK',
  'DNS_CHECK',
  'UDP_CHECK',
  'PING_CHECK',
  'FILE_CHECK',
  'BFD_CHECK',
];

/** Each checker remembers its real server so that an incomplete one can be dropped at its close. */
const owners = new WeakMap<Checker, RealServer>();

function newChecker(kind: CheckerKind, pos: SourcePos): Checker {
  return { kind, pos, urls: [], other: NO_OTHER };
}

/** Checkers dropped before their close (a bad BFD_CHECK name): the rest of the block is not looked at. */
const droppedEarly = new WeakSet<Checker>();

function dropChecker(c: Checker): void {
  const rs = owners.get(c);
  if (rs) rs.checkers = rs.checkers.filter((x) => x !== c);
}

/** keepalived's real-server label in checker messages: `[ADDRESS]:PROTOCOL:PORT` ('none' before `protocol`). */
function rsLabel(c: Checker): string {
  const rs = owners.get(c);
  const vs = rs && serverOf.get(rs);
  return `[${rs?.address ?? ''}]:${vs?.protocol?.toLowerCase() ?? 'none'}:${rs?.port ?? 0}`;
}

/**
 * BFD_CHECK `name`: keepalived 2.2.7 drops the whole checker at this line (docs/bfd.md, 'BFD_CHECK') when the
 * line has no name or several, when no bfd_instance of that name reporting to checkers is configured above it,
 * when the checker already has a name, or when its real server already has a BFD_CHECK on that session.
 */
const bfdCheckName: KeywordDef<Checker> = {
  doc: { args: 'STRING', field: 'name' },
  line: (c, tokens, pos, ctx) => {
    if (droppedEarly.has(c)) return;
    const name = tokens[1];
    const rs = owners.get(c);
    const vs = rs && serverOf.get(rs);
    const cfg = vs && configOf.get(vs);
    const why =
      tokens.length !== 2 || name === undefined
        ? (['CONFIG_MISSING_PARAMETER', 'No or too many names specified - skipping checker'] as const)
        : !cfg?.bfdInstances.some((b) => b.name === name && b.toChecker)
          ? (['CONFIG_TRACK_NOT_FOUND', `BFD ${name} not configured`] as const)
          : c.name !== undefined
            ? (['CONFIG_DUPLICATE_TRACK', `BFD ${name} already specified as ${c.name}`] as const)
            : rs?.checkers.some((x) => x !== c && x.kind === 'BFD_CHECK' && x.name === name)
              ? (['CONFIG_DUPLICATE_TRACK', `RS already monitoring ${name}`] as const)
              : undefined;
    if (why === undefined) {
      c.name = name;
      return;
    }
    ctx.diag.error(why[0], `(${rsLabel(c)}) BFD_CHECK - ${why[1]}`, pos);
    droppedEarly.add(c);
    dropChecker(c);
  },
};

function checkerBlock(kind: CheckerKind): KeywordDef<RealServer> {
  return {
    block: {
      keywords: () => checkerKeywords(kind),
      open: (rs, _tokens, pos) => {
        const c = newChecker(kind, pos);
        rs.checkers.push(c);
        owners.set(c, rs);
        return c;
      },
      // keepalived completes a checker at its closing brace and blames that line.
      close: (c: Checker, ctx, pos) => {
        c.urls = exactArray(c.urls);
        if (droppedEarly.has(c)) return;
        if (kind === 'BFD_CHECK' && c.name === undefined) {
          ctx.diag.error(
            'CONFIG_MISSING_PARAMETER',
            `(${rsLabel(c)}) No name has been specified for BFD_CHECKER - skipping`,
            pos,
          );
          dropChecker(c);
        } else if (kind === 'MISC_CHECK' && !c.miscPath) {
          ctx.diag.error(
            'CONFIG_NO_MISC_PATH',
            'No script path has been specified for MISC_CHECKER - skipping',
            pos,
          );
          dropChecker(c);
        } else if ((kind === 'HTTP_GET' || kind === 'SSL_GET') && c.urls.length === 0) {
          ctx.diag.error('CONFIG_NO_URL', 'HTTP/SSL_GET checker has no urls specified - ignoring', pos);
          dropChecker(c);
        }
      },
    },
  };
}

function connectionKeywords(): KeywordTable<Checker> {
  return {
    connect_ip: {
      line: (c, tokens, pos, ctx) => {
        const a = readIp(tokens[1]);
        if (!a.ok)
          return ctx.diag.error('CONFIG_INVALID_ADDRESS', `invalid connect_ip ${tokens[1] ?? ''}`, pos);
        c.connectIp = a.value.address;
      },
    },
    connect_port: int('connectPort', 0, 65535),
    bindto: str('bindTo'),
    bind_port: int('bindPort', 0, 65535),
    bind_if: str('bindIf'),
    connect_timeout: timerUs('connectTimeoutUs', 0.000001),
    fwmark: int('fwmark', 0, 4294967295),
  };
}

function checkerKeywords(kind: CheckerKind): KeywordTable<Checker> {
  const all: KeywordTable<Checker> = {
    retry: int('retry', 0, 2147483647),
    delay_before_retry: timerUs('delayBeforeRetryUs'),
    warmup: timerUs('warmupUs'),
    delay_loop: timerUs('delayLoopUs', 0.000001),
    alpha: boolFlag('alpha'),
    log_all_failures: boolFlag('logAllFailures'),
  };
  switch (kind) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return {
        ...all,
        ...connectionKeywords(),
        url: {
          block: {
            keywords: urlKeywords,
            open: (c, _t, pos) => {
              const u: HttpUrl = { statusCodes: [], regexNoMatch: false, pos };
              c.urls.push(u);
              urlOwners.set(u, c);
              return u;
            },
            // keepalived drops a url without a path at its closing brace (and blames that line).
            close: (u: HttpUrl, ctx, pos) => {
              u.statusCodes = exactArray(u.statusCodes);
              if (u.path !== undefined) return;
              ctx.diag.error('CONFIG_NO_URL', 'HTTP/SSL_GET checker url has no path - ignoring', pos);
              const c = urlOwners.get(u);
              if (c) c.urls = c.urls.filter((x) => x !== u);
            },
          },
        },
        // The deprecated alias lives only in HTTP_GET/SSL_GET, as in keepalived 2.2.7.
        nb_get_retry: deprecated(
          "nb_get_retry is deprecated - please use 'retry'",
          int('retry', 0, 2147483647),
        ),
        http_protocol: str('httpProtocol'),
        virtualhost: str('virtualhost'),
        fast_recovery: flag('fastRecovery'),
        enable_sni: flag('enableSni'),
        sni_name: str('sniName'),
        tls_compliant: flag('tlsCompliant'),
      };
    case 'TCP_CHECK':
    case 'PING_CHECK':
      return { ...all, ...connectionKeywords() };
    case 'MISC_CHECK':
      return {
        ...all,
        misc_path: miscPath,
        misc_timeout: miscTimeout,
        misc_dynamic: flag('miscDynamic'),
        user: userGroup('user'),
      };
    case 'SMTP_CHECK':
      return {
        ...all,
        ...connectionKeywords(),
        helo_name: str('heloName'),
        host: {
          block: {
            keywords: connectionKeywords,
            open: (c) => c,
          },
        },
      };
    case 'DNS_CHECK':
      return {
        ...all,
        ...connectionKeywords(),
        type: {
          line: (c, tokens, pos, ctx) => {
            const v = tokens[1]?.toUpperCase();
            if (!v || !['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'].includes(v))
              return ctx.diag.error(
                'CONFIG_INVALID_VALUE',
                `DNS_CHECK: unknown type '${tokens[1] ?? ''}'`,
                pos,
              );
            c.dnsType = v;
          },
        },
        name: str('dnsName'),
      };
    case 'UDP_CHECK':
      return {
        ...all,
        ...connectionKeywords(),
        payload: hexField('payloadHex'),
        require_reply: {
          line: (c, tokens, pos, ctx) => {
            c.requireReply = true;
            if (tokens[1] !== undefined) {
              if (!/^([0-9a-fA-FxX]{2})+$/.test(tokens[1]))
                return ctx.diag.error(
                  'CONFIG_INVALID_VALUE',
                  `UDP_CHECK: invalid require_reply '${tokens[1]}'`,
                  pos,
                );
              c.requireReplyHex = tokens[1].toLowerCase();
            }
          },
        },
        min_reply_length: int('minReplyLength', 0, 65535),
        max_reply_length: int('maxReplyLength', 0, 65535),
      };
    case 'FILE_CHECK':
      return {
        ...all,
        track_file: str('trackFile'),
        weight: {
          line: (c, tokens, pos, ctx) => {
            const r = readInt(tokens[1], -254, 254);
            if (!r.ok) return ctx.diag.error('CONFIG_INVALID_VALUE', `FILE_CHECK weight ${r.error}`, pos);
            c.weight = r.value;
            c.reverse = tokens[2] === 'reverse';
          },
        },
        dynamic: flag('dynamic'),
      };
    case 'BFD_CHECK':
      return { ...all, name: bfdCheckName };
  }
}

function hexField(name: keyof Checker): KeywordDef<Checker> {
  return {
    line: (c, tokens, pos, ctx) => {
      const v = tokens[1];
      if (!v || !/^([0-9a-fA-F]{2})+$/.test(v))
        return ctx.diag.error('CONFIG_INVALID_VALUE', `${tokens[0]}: invalid hex string '${v ?? ''}'`, pos);
      (c as unknown as Record<string, string>)[name] = v.toLowerCase();
    },
  };
}

function urlKeywords(): KeywordTable<HttpUrl> {
  return {
    path: str('path'),
    digest: {
      line: (u, tokens, pos, ctx) => {
        const d = tokens[1];
        if (!d || !/^[0-9a-fA-F]{32}$/.test(d))
          return ctx.diag.error('CONFIG_INVALID_VALUE', `digest '${d ?? ''}' is not an MD5 hex string`, pos);
        u.digest = d.toLowerCase();
      },
    },
    status_code: {
      line: (u, tokens, pos, ctx) => {
        for (const w of tokens.slice(1)) {
          const m = /^(\d{3})(?:-(\d{3}))?$/.exec(w);
          const from = m ? Number(m[1]) : Number.NaN;
          const to = m?.[2] ? Number(m[2]) : from;
          if (!m || from < 100 || to > 599 || to < from) {
            ctx.diag.error('CONFIG_INVALID_VALUE', `Invalid HTTP_GET status code '${w}'`, pos);
            continue;
          }
          u.statusCodes.push({ from, to });
        }
      },
    },
    virtualhost: str('virtualhost'),
    regex: str('regex'),
    regex_no_match: flag('regexNoMatch'),
    regex_options: words('regexOptions'),
    regex_min_offset: words('regexMinOffset', 1),
    regex_max_offset: words('regexMaxOffset', 1),
    regex_stack: words('regexStack', 1),
    tls_compliant: flag('tlsCompliant'),
  };
}

/** The range's last IPv6 address: the first with its final 16-bit group replaced. */
function lastOfV6Range(first: Uint8Array, lastGroup: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 14; i += 2) groups.push(((first[i]! << 8) | first[i + 1]!).toString(16));
  groups.push(lastGroup.toString(16));
  return canonicalIp(groups.join(':'))!;
}

/** `IP[-LAST_OCTET|/LEN] [PORT]` or `fwmark N [inet|inet6]` lines of a virtual_server_group. */
export function parseVsGroupEntry(
  tokens: string[],
  pos: SourcePos,
  g: VirtualServerGroup,
  ctx: { diag: any },
): void {
  if (tokens[0] === 'fwmark') {
    const r = readInt(tokens[1], 0, 4294967295);
    if (!r.ok)
      return ctx.diag.error('CONFIG_INVALID_VALUE', `virtual server group ${g.name}: invalid fwmark`, pos);
    const e: VirtualServerGroupEntry = { kind: 'fwmark', fwmark: r.value, pos };
    if (tokens[2] === 'inet6') e.family = 6;
    else if (tokens[2] === 'inet') e.family = 4;
    g.entries.push(e);
    return;
  }
  const first = tokens[0]!;
  const port = tokens[1] === undefined ? undefined : readInt(tokens[1], 0, 65535);
  if (port && !port.ok)
    return ctx.diag.error(
      'CONFIG_INVALID_VALUE',
      `virtual server group ${g.name}: invalid port ${tokens[1]}`,
      pos,
    );
  const range = /^(.*)-([0-9a-fA-F]+)$/.exec(first);
  if (range && !first.includes('/')) {
    const a = readIp(range[1]);
    if (!a.ok)
      return ctx.diag.error(
        'CONFIG_INVALID_ADDRESS',
        `virtual server group ${g.name}: invalid address ${first}`,
        pos,
      );
    const bytes = ipToBytes(a.value.address);
    const lastPart = Number.parseInt(range[2]!, a.value.family === 4 ? 10 : 16);
    const startPart = a.value.family === 4 ? bytes[3]! : (bytes[14]! << 8) | bytes[15]!;
    if (lastPart < startPart || lastPart > (a.value.family === 4 ? 255 : 0xffff))
      return ctx.diag.error(
        'CONFIG_INVALID_ADDRESS',
        `virtual server group ${g.name}: invalid range ${first}`,
        pos,
      );
    const last =
      a.value.family === 4
        ? a.value.address.replace(/\d+$/, String(lastPart))
        : lastOfV6Range(bytes, lastPart);
    const e: VirtualServerGroupEntry = {
      kind: 'range',
      first: a.value.address,
      last,
      family: a.value.family,
      pos,
    };
    if (port) e.port = port.value;
    g.entries.push(e);
    return;
  }
  const p = readPrefix(first);
  if (!p.ok)
    return ctx.diag.error(
      'CONFIG_INVALID_ADDRESS',
      `virtual server group ${g.name}: invalid address ${first}`,
      pos,
    );
  const e: VirtualServerGroupEntry = {
    kind: 'range',
    first: p.value.address,
    last: p.value.address,
    family: p.value.family,
    pos,
  };
  if (port) e.port = port.value;
  g.entries.push(e);
}
