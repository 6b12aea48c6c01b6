// The checker's SIGUSR1 data dump (/tmp/keepalived_check.data), in keepalived 2.2.7's format (its checker
// process's dump: Global definitions, LVS Topology with each virtual and real server, Health checkers), line
// for line for what applies; the format was taken from keepalived running in a VM with IPVS, since it does not
// start its checker without IPVS (docs/notify-data-dump.md, test/check/check-dump.test.ts). Pure.
// Lines keepalived writes that this dump does not: the SSL definitions, Virtual server group and Checker
// track files sections, "Failed URL", MISC_CHECK's "Last ran" / "Last status", the per-type lines of
// SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK and SSL_GET's TLS settings. "previous
// effective_weight" is always 0 and "reloaded" 0 (we keep no previous weight). Ours alone: "Check latency"
// under each real server.
import type { KeepalivedConfig, ScriptSpec } from '../config/model.js';
import { cmdText, type DataDumpContext, globalSection, type HostFacts } from '../notify/dump-sections.js';
import type { RealServerStatus, VirtualServerView } from './core/index.js';
import { type ResolvedChecker, type ResolvedVirtualServer, resolveConfig } from './core/resolve.js';

const US = 1_000_000;
/** keepalived's format_decimal(us, 6): "5.000000". */
const decimal = (us: number) => (us / US).toFixed(6);
const onOff = (b: boolean) => (b ? 'ON' : 'OFF');
const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const method = (m: string | undefined) => (m === 'DR' ? 'DR' : m === 'TUN' ? 'TUN' : 'NAT');
const ms = (us: number) => (us / 1000).toFixed(3);

export interface CheckerDumpContext {
  config: KeepalivedConfig;
  host: HostFacts;
}

export function formatCheckerData(
  status: RealServerStatus[],
  views: VirtualServerView[],
  ctx: CheckerDumpContext,
): string {
  const cfg = ctx.config;
  const dctx: DataDumpContext = { config: cfg, host: ctx.host, trackers: { scripts: [], files: [] } };
  const out: string[] = globalSection(dctx, 'checker');
  const resolved = resolveConfig(cfg, { shareProbes: true }).virtualServers;
  const g = cfg.globalDefs;
  const checkers: string[] = [];
  if (resolved.length > 0) {
    out.push('------< LVS Topology >------', ' System is compiled with LVS v1.2.1');
    for (const vs of resolved) {
      const view = views.find((v) => v.vs === vs.id);
      out.push(...vsLines(vs, view, g.smtpAlertChecker ?? g.smtpAlert ?? false, ctx.host));
      for (const rs of vs.realServers) {
        const st = status.find((s) => s.vs === vs.id && s.rs === rs.id);
        const c = vs.config.realServers.find(
          (r) => r.address === rs.address && (r.port ?? rs.port) === rs.port,
        );
        const offsets = st ? st.checkers.reduce((a, k) => a + k.weightOffset, 0) : 0;
        const eff = rs.weight + offsets;
        const alive = st ? st.alive : false;
        const lvsMethod = method(c?.lvsMethod ?? vs.config.lbKind);
        const vc = vs.config;
        const retry = c?.retry ?? vc.retry;
        const dbr = c?.delayBeforeRetryUs ?? vc.delayBeforeRetryUs;
        const warmup = c?.warmupUs ?? vc.warmupUs;
        out.push(
          '   ------< Real server >------',
          `   RIP = ${rs.address}, RPORT = ${rs.port}, WEIGHT = ${Math.max(0, eff)} EFF WEIGHT = ${eff}`,
          `   forwarding method = ${lvsMethod}`,
          `   Alpha is ${onOff(c?.alpha ?? vc.alpha)}`,
          `   connection timeout = ${decimal(c?.connectTimeoutUs ?? vc.connectTimeoutUs ?? 5 * US)}`,
          `   connection limit range = ${c?.lthreshold ?? 0} -> ${c?.uthreshold ?? 0}`,
          `   Delay loop = ${decimal(c?.delayLoopUs ?? vc.delayLoopUs ?? 60 * US)}`,
          ...(retry !== undefined ? [`   Retry count = ${retry}`] : []),
          ...(dbr !== undefined ? [`   Retry delay = ${decimal(dbr)}`] : []),
          ...(warmup !== undefined ? [`   Warmup = ${decimal(warmup)}`] : []),
          `   Inhibit on failure is ${onOff(rs.inhibit)}`,
          ...scriptLine('     RS up notify script', rs.notifyUp, ctx.host),
          ...scriptLine('     RS down notify script', rs.notifyDown, ctx.host),
          ...(c?.virtualhost !== undefined ? [`    VirtualHost = '${c.virtualhost}'`] : []),
          // keepalived leaves an unset smtp_alert at -1 here, which it prints as "yes".
          `   Using smtp notification = ${c?.smtpAlert === false ? 'no' : 'yes'}`,
          `   initial weight = ${rs.weight}`,
          `   effective weight = ${eff}`,
          '   previous effective_weight = 0',
          `   alive = ${alive ? 1 : 0}`,
          `   num failed checkers = ${st?.failedCheckers ?? rs.checkers.length}`,
          `   RS set = ${alive || rs.inhibit ? 1 : 0}`,
          '   reloaded = 0',
        );
        const l = st?.latency;
        if (l && l.count > 0)
          // keepalived-ts
          out.push(
            `   Check latency = last ${ms(l.lastUs)} ms, mean ${ms(l.ewmaUs)} ms, max ${ms(l.maxUs)} ms, ${l.count} checks`,
          );
        rs.checkers.forEach((k, i) => {
          checkers.push(...checkerLines(vs.id, rs.id, k, st?.checkers[i], ctx.host));
        });
      }
    }
  }
  if (checkers.length > 0) out.push('------< Health checkers >------', ...checkers);
  return `${out.join('\n')}\n`;
}

function scriptLine(label: string, s: ScriptSpec | undefined, host: HostFacts): string[] {
  if (!s) return [];
  const own = s.user === undefined ? undefined : { user: s.user, ...(s.group ? { group: s.group } : {}) };
  return [`${label} = ${cmdText(s, host)}, uid:gid ${host.scriptUidGid(own) ?? '0:0'}`];
}

function vsLines(
  vs: ResolvedVirtualServer,
  view: VirtualServerView | undefined,
  smtpDefault: boolean,
  host: HostFacts,
): string[] {
  const c = vs.config;
  const k = c.key;
  const family = k.kind === 'group' ? (c.ipFamily ?? 4) : (k.family ?? c.ipFamily ?? 4);
  const sched = c.lbAlgo ?? 'wlc';
  const flags = c.lbKindOptions;
  const has = (f: string) => flags.includes(f) || c.other[f] !== undefined;
  const lines = [
    ' ------< Virtual server >------',
    k.kind === 'group'
      ? ` VS GROUP = ${vs.id}`
      : k.kind === 'fwmark'
        ? ` VS FWMARK = ${k.fwmark}`
        : ` VS VIP = ${k.address}, VPORT = ${k.port ?? 0}`,
    ...(c.virtualhost !== undefined ? [`   VirtualHost = ${c.virtualhost}`] : []),
    `   Address family = inet${family === 6 ? '6' : ''}`,
    `   connection timeout = ${decimal(c.connectTimeoutUs ?? 5 * US)}`,
    `   delay_loop = ${decimal(c.delayLoopUs ?? 60 * US)}`,
    `   lvs_sched = ${sched}`,
    '   Hashed = disabled',
    ...(sched === 'sh' || sched === 'mh'
      ? [
          `   ${sched}-port = ${has(`${sched}-port`) ? 'en' : 'dis'}abled`,
          `   ${sched}-fallback = ${has(`${sched}-fallback`) ? 'en' : 'dis'}abled`,
        ]
      : [
          `   flag-1 = ${has('flag-1') ? 'en' : 'dis'}abled`,
          `   flag-2 = ${has('flag-2') ? 'en' : 'dis'}abled`,
          `   flag-3 = ${has('flag-3') ? 'en' : 'dis'}abled`,
        ]),
    `   One packet scheduling = ${has('ops') ? 'en' : 'dis'}abled${has('ops') && c.protocol !== 'UDP' ? ' (inactive due to not UDP)' : ''}`,
    ...(c.persistenceTimeoutS ? [`   persistence timeout = ${c.persistenceTimeoutS}`] : []),
    ...(c.persistenceGranularity !== undefined
      ? [`   persistence granularity = ${c.persistenceGranularity}`]
      : []),
    `   protocol = ${k.kind === 'fwmark' && c.protocol === undefined ? 'none' : (c.protocol ?? 'UDP')}`,
    `   alpha is ${onOff(c.alpha)}`,
    `   omega is ${onOff(c.omega)}`,
    ...(c.retry !== undefined ? [`   Retry count = ${c.retry}`] : []),
    ...(c.delayBeforeRetryUs !== undefined ? [`   Retry delay = ${decimal(c.delayBeforeRetryUs)}`] : []),
    ...(c.warmupUs !== undefined ? [`   Warmup = ${decimal(c.warmupUs)}`] : []),
    `   Inhibit on failure is ${onOff(c.inhibitOnFailure ?? false)}`,
    `   quorum = ${vs.quorum}, hysteresis = ${vs.hysteresis}`,
    ...scriptLine('   Quorum up notify script', vs.quorumUp, host),
    ...scriptLine('   Quorum down notify script', vs.quorumDown, host),
    ...(c.haSuspend ? ['   Using HA suspend'] : []),
    `   Using smtp notification = ${yesNo(c.smtpAlert ?? smtpDefault)}`,
    `   default forwarding method = ${method(c.lbKind)}`,
  ];
  if (vs.sorry) {
    lines.push(
      `   sorry server = ${vs.sorry.id}`,
      `     forwarding method = ${method(c.sorryServerLvsMethod ?? c.lbKind)}`,
      `     Inhibit on failure is ${onOff(vs.sorry.inhibit)}`,
    );
  }
  const up = view?.quorumUp ?? false;
  lines.push(`   alive = ${up ? 1 : 0}`, `   quorum_state_up = ${up ? 1 : 0}`, '   reloaded = 0');
  return lines;
}

/** Checkers with a connection (keepalived's co): every kind but MISC_CHECK, FILE_CHECK and BFD_CHECK. */
const CONNECTED = new Set([
  'TCP_CHECK',
  'HTTP_GET',
  'SSL_GET',
  'SMTP_CHECK',
  'DNS_CHECK',
  'UDP_CHECK',
  'PING_CHECK',
]);

function checkerLines(
  vsId: string,
  rsId: string,
  k: ResolvedChecker,
  st: RealServerStatus['checkers'][number] | undefined,
  host: HostFacts,
): string[] {
  const c = k.config;
  const defaultDbr =
    k.kind === 'HTTP_GET' || k.kind === 'SSL_GET' ? 3 * US : k.kind === 'DNS_CHECK' ? k.delayLoopUs : US;
  const lines = [
    ` ${vsId} -> ${rsId}`,
    '   Enabled = yes',
    `   Up = ${yesNo(st?.up ?? false)}`,
    `   Has run = ${yesNo(st?.hasRun ?? false)}`,
    `   Current weight = ${st?.weightOffset ?? 0}`,
  ];
  if (k.kind !== 'FILE_CHECK')
    lines.push(
      `   Alpha = ${yesNo(k.alpha)}`,
      `   Delay loop = ${k.delayLoopUs} us`,
      `   Warmup = ${k.warmupUs} us`,
      `   Retries = ${k.retry}`,
      ...(k.retry > 0
        ? [
            `   Delay before retry = ${k.delayBeforeRetryUs} us`,
            `   Retries iterations = ${st?.retryIt ?? 0}`,
          ]
        : []),
      `   Default delay before retry = ${defaultDbr} us`,
    );
  lines.push(`   Log all failures = ${yesNo(k.logAllFailures)}`);
  if (CONNECTED.has(k.kind)) {
    const t = k.target;
    lines.push('   Connection', `     Dest = [${t.address}]:${t.port}`);
    if (t.bindTo !== undefined) lines.push(`     Bind to = [${t.bindTo}]:${t.bindPort ?? 0}`);
    if (t.bindIf !== undefined) lines.push(`     Bind i/f = ${t.bindIf}`);
    if (t.fwmark) lines.push(`     Mark = ${t.fwmark}`);
    lines.push(`     Timeout = ${(k.timeoutUs / US).toFixed(6)}`);
  }
  switch (k.kind) {
    case 'HTTP_GET':
    case 'SSL_GET':
      lines.push(
        `   Keepalive method = ${k.kind}, http protocol ${c.httpProtocol === '1.1' || c.httpProtocol === '1.0C' ? c.httpProtocol : '1.0'}`,
        ...(c.virtualhost !== undefined ? [`   Virtualhost = ${c.virtualhost}`] : []),
        `   Enable SNI ${c.enableSni ? '' : 'un'}set`,
        `   Fast recovery ${c.fastRecovery ? '' : 'un'}set`,
      );
      for (const u of c.urls) {
        lines.push(`   Checked url = ${u.path ?? '/'}`);
        if (u.digest) lines.push(`     digest = ${u.digest.toLowerCase()}`);
        lines.push('     HTTP Status Code(s)');
        const codes = u.statusCodes.length > 0 ? u.statusCodes : [{ from: 200, to: 299 }];
        for (const r of codes) lines.push(r.from === r.to ? `       ${r.from}` : `       ${r.from}-${r.to}`);
        if (u.virtualhost !== undefined) lines.push(`     Virtual host = ${u.virtualhost}`);
      }
      break;
    case 'MISC_CHECK': {
      const s = c.miscPath;
      const own =
        c.user ??
        (s?.user !== undefined ? { user: s.user, ...(s.group ? { group: s.group } : {}) } : undefined);
      lines.push(
        '   Keepalive method = MISC_CHECK',
        `   script = ${s ? cmdText(s, host) : ''}`,
        `   timeout = ${Math.floor((c.miscTimeoutUs ?? 0) / US)}`,
        `   dynamic = ${c.miscDynamic ? 'YES' : 'NO'}`,
        `   uid:gid = ${host.scriptUidGid(own) ?? '0:0'}`,
      );
      break;
    }
    default:
      lines.push(`   Keepalive method = ${k.kind}`);
  }
  return lines;
}
