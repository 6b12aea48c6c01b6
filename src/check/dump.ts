// The checker's SIGUSR1 data dump (/tmp/keepalived_check.data), in keepalived 2.2.7's format (its checker
// process's dump: Global definitions, SSL definitions, LVS Topology with the virtual server groups and each
// virtual and real server, Health checkers, Checker track files), line for line; the format was taken from
// keepalived running in a VM with IPVS, since it does not start its checker without IPVS
// (docs/notify-data-dump.md, test/config/check-dump.test.ts). Pure: the clock comes in with the context.
// Not written: "Last errno" under a checker's connection (we keep no errno), BFD_CHECK's lines and the
// Checker track BFDs section (no BFD in the checker). Ours alone: "Check latency" under each real server.
import type { KeepalivedConfig, ScriptSpec, VirtualServerGroupEntry } from '../config/model.js';
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
  /** Now on the wall clock and on the checker core's clock (µs), for MISC_CHECK's "Last ran". */
  clock?: { wallUs: number; coreUs: number };
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
  // keepalived queues FILE_CHECKs after every other checker, when the configuration has been read.
  const fileCheckers: string[] = [];
  const tracking = new Map<string, string[]>();
  const fileValues = new Map<string, number>();
  const usesSsl = resolved.some((vs) =>
    vs.realServers.some((rs) => rs.checkers.some((k) => k.kind === 'SSL_GET')),
  );
  if (cfg.ssl || usesSsl) out.push('------< SSL definitions >------', ...sslLines(cfg));
  if (resolved.length > 0) {
    out.push('------< LVS Topology >------', ' System is compiled with LVS v1.2.1');
    out.push(...groupLines(cfg, resolved, views));
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
          `   previous effective_weight = ${st?.previousEffectiveWeight ?? 0}`,
          `   alive = ${alive ? 1 : 0}`,
          `   num failed checkers = ${st?.failedCheckers ?? rs.checkers.length}`,
          `   RS set = ${alive || rs.inhibit ? 1 : 0}`,
          `   reloaded = ${st?.reloaded ? 1 : 0}`,
        );
        const files = rs.checkers.filter((k) => k.kind === 'FILE_CHECK');
        if (files.length > 0) {
          out.push('   Tracked Files');
          for (const k of files) {
            const w = fileWeight(cfg, k);
            out.push(`     ${k.config.trackFile}, weight ${w.weight}${w.reverse ? ' reverse' : ''}`);
          }
        }
        const l = st?.latency;
        if (l && l.count > 0)
          // keepalived-ts
          out.push(
            `   Check latency = last ${ms(l.lastUs)} ms, mean ${ms(l.ewmaUs)} ms, max ${ms(l.maxUs)} ms, ${l.count} checks`,
          );
        rs.checkers.forEach((k, i) => {
          const lines = checkerLines(vs.id, rs.id, k, st?.checkers[i], ctx, st?.reloaded ?? false);
          if (k.kind !== 'FILE_CHECK') {
            checkers.push(...lines);
            return;
          }
          fileCheckers.push(...lines);
          const name = k.config.trackFile ?? '';
          const w = fileWeight(cfg, k);
          const l = tracking.get(name) ?? [];
          l.push(`     ${vs.id} -> ${rs.id}, weight ${w.weight}${w.reverse ? ' reverse' : ''}`);
          tracking.set(name, l);
          const v = st?.checkers[i]?.lastStatus;
          if (v !== undefined) fileValues.set(name, v);
        });
      }
    }
  }
  checkers.push(...fileCheckers);
  if (checkers.length > 0) out.push('------< Health checkers >------', ...checkers);
  const tracked = cfg.trackFiles.filter((f) => tracking.has(f.name));
  if (tracked.length > 0) {
    out.push('------< Checker track files >------');
    for (const f of tracked)
      out.push(
        ` Track file = ${f.name}`,
        `   File = ${f.file ?? ''}`,
        `   Status = ${fileValues.get(f.name) ?? f.initFile?.value ?? 0}`,
        `   Weight = ${f.weight}${f.reverse ? ' reverse' : ''}`,
        '   Tracking instances :',
        ...(tracking.get(f.name) ?? []),
      );
  }
  return `${out.join('\n')}\n`;
}

/** keepalived's dump_ssl: the SSL block's files, or the context it makes itself. */
function sslLines(cfg: KeepalivedConfig): string[] {
  const s = cfg.ssl;
  if (
    !s ||
    (s.password === undefined && s.ca === undefined && s.certificate === undefined && s.key === undefined)
  )
    return [' Using autogen SSL context'];
  return [
    ...(s.password !== undefined ? [` Password : ${s.password}`] : []),
    ...(s.ca !== undefined ? [` CA-file : ${s.ca}`] : []),
    ...(s.certificate !== undefined ? [` Certificate file : ${s.certificate}`] : []),
    ...(s.key !== undefined ? [` Key file : ${s.key}`] : []),
  ];
}

/** A FILE_CHECK's weight: its own, else its track file's. */
function fileWeight(cfg: KeepalivedConfig, k: ResolvedChecker): { weight: number; reverse: boolean } {
  if (k.config.weight !== undefined) return { weight: k.config.weight, reverse: k.config.reverse ?? false };
  const f = cfg.trackFiles.find((t) => t.name === k.config.trackFile);
  return { weight: f?.weight ?? 1, reverse: f?.reverse ?? false };
}

/**
 * keepalived's virtual server groups (those a virtual server uses): address ranges, then fwmarks, each with
 * the count of live virtual servers on it per protocol (fwmarks: per family).
 */
function groupLines(
  cfg: KeepalivedConfig,
  resolved: ResolvedVirtualServer[],
  views: VirtualServerView[],
): string[] {
  const out: string[] = [];
  for (const grp of cfg.virtualServerGroups) {
    const users = resolved.filter((v) => v.config.key.kind === 'group' && v.config.key.group === grp.name);
    if (users.length === 0) continue;
    const live = users.filter((v) => views.find((w) => w.vs === v.id)?.quorumUp);
    const reloaded = users.some((v) => views.find((w) => w.vs === v.id)?.reloaded);
    const v6 = (e: VirtualServerGroupEntry) => e.family === 6 || (e.first ?? '').includes(':');
    out.push(
      ' ------< Virtual server group >------',
      ` Virtual Server Group = ${grp.name}, IPv4 = ${yesNo(grp.entries.some((e) => !v6(e) && (e.kind === 'range' || e.family !== 6)))}, IPv6 = ${yesNo(grp.entries.some(v6))}`,
    );
    const count = (p: string) => live.filter((v) => (v.config.protocol ?? 'TCP') === p).length;
    for (const e of grp.entries.filter((x) => x.kind === 'range')) {
      const range = e.last !== undefined && e.last !== e.first;
      out.push(
        range
          ? `   VIP Range = ${e.first}-${e.last}, VPORT = ${e.port ?? 0}`
          : `   VIP = ${e.first}, VPORT = ${e.port ?? 0}`,
        `     Alive: ${count('TCP')} tcp, ${count('UDP')} udp, ${count('SCTP')} sctp`,
        `     reloaded = ${reloaded ? 'True' : 'False'}`,
      );
    }
    for (const e of grp.entries.filter((x) => x.kind === 'fwmark')) {
      const fam = e.family === 4 ? ' IPv4' : e.family === 6 ? ' IPv6' : '';
      const n4 = live.filter((v) => (v.config.ipFamily ?? 4) === 4).length;
      const n6 = live.length - n4;
      out.push(
        `   FWMARK = ${e.fwmark}${fam}`,
        `     Alive: ${e.family === 6 ? 0 : n4} IPv4, ${e.family === 4 ? 0 : n6} IPv6`,
        `     reloaded = ${reloaded ? 'True' : 'False'}`,
      );
    }
  }
  return out;
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
  const has = (f: string) => flags.includes(f) || c.schedulerFlags.includes(f);
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
  lines.push(
    `   alive = ${up ? 1 : 0}`,
    `   quorum_state_up = ${up ? 1 : 0}`,
    `   reloaded = ${view?.reloaded ? 1 : 0}`,
  );
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
  ctx: CheckerDumpContext,
  reloaded: boolean,
): string[] {
  const host = ctx.host;
  const c = k.config;
  // DNS_CHECK's is 0: its delay_before_retry then defaults to its delay_loop.
  const defaultDbr = k.kind === 'HTTP_GET' || k.kind === 'SSL_GET' ? 3 * US : k.kind === 'DNS_CHECK' ? 0 : US;
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
    if (st?.lastErrno) lines.push(`     Last errno = ${st.lastErrno}`);
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
      if (st?.failedUrl !== undefined) lines.push(`   Failed URL = ${st.failedUrl}`);
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
        `   Last ran = ${lastRan(st?.lastRanUs, ctx.clock)}`,
        `   Last status = ${st?.lastStatus ?? 0}`,
      );
      break;
    }
    case 'SMTP_CHECK':
      lines.push(
        '   Keepalive method = SMTP_CHECK',
        `   helo = ${c.heloName ?? 'smtpchecker.keepalived.org'}`,
      );
      break;
    case 'DNS_CHECK':
      lines.push(
        '   Keepalive method = DNS_CHECK',
        `   Type = ${(c.dnsType ?? 'SOA').toUpperCase()}`,
        `   Name = ${c.dnsName ?? ''}`,
      );
      break;
    case 'UDP_CHECK': {
      const reply = c.requireReply === true || c.requireReplyHex !== undefined;
      const payload = c.payloadHex !== undefined ? hexBytes(c.payloadHex) : 0;
      lines.push(
        '   Keepalive method = UDP_CHECK',
        payload > 0 ? `   Payload len = ${payload}` : '   Payload specified = no',
        `   Require reply = ${yesNo(reply)}`,
      );
      if (reply) {
        const data = c.requireReplyHex;
        lines.push(
          `     Min reply length = ${c.minReplyLength ?? 0}`,
          `     Max reply length = ${c.maxReplyLength ?? 255}`,
          `     Reply data len = ${data !== undefined ? hexBytes(data) : 0}`,
        );
        if (data !== undefined && hexBytes(data) > 0)
          lines.push(`     Reply data mask = ${yesNo(/[xX]/.test(data))}`);
      }
      break;
    }
    case 'FILE_CHECK':
      lines.push(
        '   Keepalive method = FILE_CHECK',
        `     Tracked file = ${c.trackFile ?? ''}`,
        // The track file was there before the last reload (as the real server is).
        `     Reloaded = ${reloaded ? 'Yes' : 'No'}`,
      );
      break;
    default:
      lines.push(`   Keepalive method = ${k.kind}`);
  }
  return lines;
}

/** Bytes in a hex string as keepalived reads it (two digits a byte; spaces allowed). */
function hexBytes(hex: string): number {
  return hex.replace(/\s/g, '').length >> 1;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** keepalived's "SECONDS.USEC (ctime.USEC)" of a script's last start; the epoch before the first. */
function lastRan(coreUs: number | undefined, clock: CheckerDumpContext['clock']): string {
  const wallUs = coreUs !== undefined && clock ? Math.round(clock.wallUs - (clock.coreUs - coreUs)) : 0;
  const sec = Math.floor(wallUs / US);
  const usec = String(wallUs - sec * US).padStart(6, '0');
  // ctime(3) is local time; the daemon's TZ is the host's.
  const d = new Date(sec * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const ctime = `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
  return `${sec}.${usec} (${ctime}.${usec})`;
}
