// `keepalived-ts status [--json] [--url http://ADDRESS:PORT] [-f FILE] [--token TOKEN]`: reads the running
// daemon's /status (its metrics_listen listener, found in the configuration given with -f, default
// /etc/keepalived/keepalived.conf; --url names another) and prints it as a table, or as the JSON itself.
// The token comes from --token, else KEEPALIVED_TS_TOKEN, else the configuration's metrics_token.
// Exit codes: 0 shown, 1 cannot reach or read it, 2 bad usage.
import { loadConfig } from '../config/load.js';
import { DEFAULT_CONFIG_FILE } from '../daemon/cli.js';
import type { StatusDocument, StatusInstance } from './model.js';

export const STATUS_USAGE = `Usage: keepalived-ts status [--json] [--url http://ADDRESS:PORT] [-f FILE] [--token TOKEN]
  Prints the running daemon's state from its status listener (global_defs metrics_listen).
  --json         print the /status document (schema/status.schema.json) instead of tables
  --url URL      the listener (default: metrics_listen of the configuration file)
  -f FILE        the configuration file (default ${DEFAULT_CONFIG_FILE})
  --token TOKEN  bearer token (default: KEEPALIVED_TS_TOKEN, else the configuration's metrics_token)
`;

const TIMEOUT_MS = 5000;

interface Args {
  json: boolean;
  url?: string;
  file: string;
  token?: string;
}

function parse(argv: string[]): Args | string {
  const a: Args = { json: false, file: DEFAULT_CONFIG_FILE };
  for (let k = 0; k < argv.length; k++) {
    const x = argv[k]!;
    const [name, inline] =
      x.startsWith('--') && x.includes('=')
        ? [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]
        : [x, undefined];
    const value = () => inline ?? argv[++k];
    if (name === '--json') a.json = true;
    else if (name === '--url') a.url = value();
    else if (name === '-f' || name === '--use-file') a.file = value() ?? '';
    else if (name === '--token') a.token = value();
    else if (name === '-h' || name === '--help') return '';
    else return `unknown argument ${x}`;
  }
  if (a.url !== undefined && !/^https?:\/\/[^/]+/.test(a.url))
    return `--url wants http://ADDRESS:PORT, not ${a.url}`;
  return a;
}

export async function statusMain(argv: string[]): Promise<number> {
  const a = parse(argv);
  if (typeof a === 'string') {
    process.stderr.write(a ? `keepalived-ts status: ${a}\n${STATUS_USAGE}` : STATUS_USAGE);
    return a ? 2 : 0;
  }
  let url = a.url;
  let token = a.token ?? process.env.KEEPALIVED_TS_TOKEN;
  if (url === undefined) {
    const { config, diag } = loadConfig(a.file);
    const g = config.globalDefs;
    if (!g.metricsListen) {
      const why = diag.exitCode() === 0 ? 'has no metrics_listen in global_defs' : 'cannot be read';
      process.stderr.write(`keepalived-ts status: ${a.file} ${why}; give --url\n`);
      return 1;
    }
    const h = g.metricsListen.host;
    url = `http://${h.includes(':') ? `[${h}]` : h}:${g.metricsListen.port}`;
    token ??= g.metricsToken;
  }
  const base = url.replace(/\/+$/, '').replace(/\/status$/, '');
  let doc: StatusDocument;
  try {
    const res = await fetch(`${base}/status`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (res.status === 401) {
      process.stderr.write(`keepalived-ts status: ${base} wants a token (--token or KEEPALIVED_TS_TOKEN)\n`);
      return 1;
    }
    if (!res.ok) {
      process.stderr.write(`keepalived-ts status: ${base}/status answered ${res.status}\n`);
      return 1;
    }
    const text = await res.text();
    if (a.json) {
      process.stdout.write(`${text}\n`);
      return 0;
    }
    doc = JSON.parse(text) as StatusDocument;
  } catch (e) {
    process.stderr.write(`keepalived-ts status: cannot read ${base}/status: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(formatStatus(doc, Date.parse(doc.generatedAt)));
  return 0;
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) for (const [k, c] of r.entries()) widths[k] = Math.max(widths[k] ?? 0, c.length);
  return rows
    .map((r) => r.map((c, k) => (k === r.length - 1 ? c : c.padEnd(widths[k]!))).join('  '))
    .join('\n');
}

const ago = (iso: string, nowMs: number) => {
  const s = Math.max(0, (nowMs - Date.parse(iso)) / 1000);
  return s < 90
    ? `${s.toFixed(0)}s ago`
    : s < 5400
      ? `${(s / 60).toFixed(0)}m ago`
      : `${(s / 3600).toFixed(1)}h ago`;
};

function trackers(i: StatusInstance): string {
  if (i.trackers.length === 0) return '-';
  return i.trackers
    .map((t) => `${t.name}:${t.up === null ? (t.value === null ? '?' : t.value) : t.up ? 'up' : 'DOWN'}`)
    .join(',');
}

export function formatStatus(doc: StatusDocument, nowMs: number): string {
  const out: string[] = [];
  const age = doc.snapshotAt ? `snapshot ${ago(doc.snapshotAt, nowMs)}` : 'no snapshot yet';
  out.push(
    `keepalived-ts ${doc.daemon.version}, pid ${doc.daemon.pid}, up since ${doc.daemon.startedAt}; ${age}${doc.up ? '' : ' (VRRP process NOT reporting)'}`,
    '',
  );
  if (doc.instances.length > 0) {
    const rows = [['INSTANCE', 'STATE', 'PRIO', 'MASTER', 'IF', 'VRID', 'VIPS', 'TRACKERS', 'LAST CHANGE']];
    for (const i of doc.instances) {
      const vips = i.vips.map((v) => `${v.address}/${v.prefixLen}`);
      const l = i.lastTransition;
      rows.push([
        i.name,
        i.state,
        i.priority.effective === i.priority.base
          ? `${i.priority.base}`
          : `${i.priority.effective}/${i.priority.base}`,
        i.state === 'MASTER' ? '(self)' : (i.masterAddress ?? '-'),
        i.interface,
        `${i.vrid}`,
        vips.length > 2 ? `${vips.slice(0, 2).join(',')} +${vips.length - 2}` : vips.join(',') || '-',
        trackers(i),
        l ? `${ago(l.at, nowMs)} ${l.from ?? '?'}->${l.to}${l.reason ? ` (${l.reason})` : ''}` : '-',
      ]);
    }
    out.push(table(rows), '');
  }
  for (const vs of doc.virtualServers) {
    const rows = [['REAL SERVER', 'STATE', 'WEIGHT', 'LATENCY', 'CHECKS', 'FAILED']];
    for (const r of vs.realServers)
      rows.push([
        r.name,
        r.alive ? 'UP' : 'DOWN',
        `${r.weight.effective}/${r.weight.configured}`,
        `${r.latency.ewmaMs.toFixed(1)} ms`,
        `${r.latency.checks}`,
        `${r.latency.failures}`,
      ]);
    out.push(`virtual server ${vs.name}`, table(rows), '');
  }
  if (doc.instances.length === 0 && doc.virtualServers.length === 0) out.push('nothing running', '');
  return `${out.join('\n')}\n`.replace(/\n\n$/, '\n');
}
