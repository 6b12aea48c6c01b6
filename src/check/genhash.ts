// keepalived's genhash (`keepalived --genhash`, `-T`): fetch one URL the way HTTP_GET/SSL_GET does and print
// the MD5 of the body, the value a `digest` line expects. Output, messages and flags follow keepalived
// 2.2.7 (docs/probes-http.md §genhash): the digest in lower-case hex on stdout; failures print keepalived's
// one-line message; the exit code is 0 once the options parse, 1 (with the usage text) when they do not.
import { isIP } from 'node:net';
import type { Family } from '../config/model.js';
import { type AttemptFailure, secureContextFor, type TlsPlan, UrlAttempt } from './probes/http.js';
import { DeadlineWheel } from './probes/http-deadline.js';
import { buildRequest, type HttpProtocol } from './probes/http-request.js';
import { HttpResponseReader } from './probes/http-response.js';

export interface GenhashRequest {
  server: string;
  port: number;
  path: string;
  ssl?: boolean;
  /** Sent as Host (and as SNI with `sni`). */
  virtualhost?: string | undefined;
  sni?: boolean;
  protocol?: HttpProtocol;
  /** Seconds; keepalived's default is its largest timer (about 71 minutes). */
  timeoutS?: number;
  verbose?: boolean;
}

export interface GenhashResult {
  /** The digest, when the response had an HTTP header. */
  digest?: string;
  stdout: string;
  stderr: string;
}

/** keepalived's genhash with no -t waits UINT_MAX microseconds. */
const DEFAULT_TIMEOUT_S = 4294967295 / 1e6;

const DELIM = (s: string) => `-----------------------[${s}]-----------------------\n`;
const HTTP_HEADER_HEXA = DELIM('    HTTP Header Buffer    ');
const HTTP_HEADER_ASCII = DELIM(' HTTP Header Ascii Buffer ');
const HTML_HEADER_HEXA = DELIM('        HTML Buffer        ');
const HTML_HASH = DELIM('    HTML hash resulting    ');
const HTML_HASH_FINAL = DELIM(' HTML hash final resulting ');

/** keepalived's hex dump: decimal offsets, 16 bytes a line, " -" after eight, then printable ASCII. */
export function dumpBuffer(b: Uint8Array): string {
  let out = '';
  const c = b.length % 16 ? b.length + (16 - (b.length % 16)) : b.length;
  for (let i = 0; i < c; i++) {
    if (i % 16 === 0) out += `${String(i & 0xffff).padStart(4, '0')} `;
    out += i < b.length ? ` ${b[i]!.toString(16).padStart(2, '0')}` : '   ';
    if ((i + 1) % 8 === 0) {
      if ((i + 1) % 16) out += ' -';
      else {
        out += '   ';
        for (let j = i - 15; j <= i; j++)
          out += j < b.length ? (b[j]! >= 0x20 && b[j]! <= 0x7e ? String.fromCharCode(b[j]!) : '.') : ' ';
        out += '\n';
      }
    }
  }
  return out;
}

/** genhash's message for a failed fetch (what keepalived's timeout_epilog prints in genhash mode). */
function messageFor(f: AttemptFailure, ssl: boolean): string {
  switch (f.code) {
    case 'refused':
      return 'Connection failed';
    case 'unreachable':
      return 'HTTP_CHECK - network unreachable';
    case 'tls':
    case 'tls-cert':
      return 'SSL handshake/communication error connecting to';
    case 'timeout':
      if (f.phase === 'connect' || f.phase === 'handshake') return 'Timeout connecting';
      if (f.phase === 'wait') return 'Timeout WEB read';
      return ssl ? 'Timeout SSL read' : 'Timeout HTTP read';
    default:
      return f.phase === 'connect' ? 'Error connecting' : ssl ? 'SSL read error from' : 'Read error with';
  }
}

/** Fetches one URL and returns what genhash prints; never rejects. */
export function genhash(req: GenhashRequest): Promise<GenhashResult> {
  const ssl = req.ssl === true;
  const family: Family = isIP(req.server) === 6 ? 6 : 4;
  const t0 = performance.now();
  let out = '';
  let err = '';
  const verbose = req.verbose === true;
  let headerSeen = false;
  let fedHeaderNow = false;
  let bodyDumpStarted = false;
  const reader = new HttpResponseReader({
    status: null,
    digest: '',
    maxBytes: Number.POSITIVE_INFINITY,
    onHeader: verbose
      ? (head) => {
          out += dumpBuffer(head) + HTTP_HEADER_ASCII + `${head.toString('latin1')}\n`;
          fedHeaderNow = true;
        }
      : undefined,
    onBody: verbose
      ? (piece) => {
          // keepalived labels the body dump only when it arrives with the end of the headers.
          if (fedHeaderNow && !bodyDumpStarted) out += HTML_HEADER_HEXA;
          bodyDumpStarted = true;
          out += dumpBuffer(piece);
        }
      : undefined,
  });
  let tlsPlan: TlsPlan | undefined;
  if (ssl) {
    const ctx = secureContextFor(undefined);
    if (typeof ctx === 'string') return Promise.resolve({ stdout: '', stderr: `${ctx}\n` });
    tlsPlan = { context: ctx, verify: false };
  }
  const request = buildRequest(req.path, req.protocol ?? '1.0', req.virtualhost, req.server, req.port);
  const wheel = new DeadlineWheel();
  return new Promise<GenhashResult>((resolve) => {
    let attempt: UrlAttempt | undefined;
    const finish = (f: AttemptFailure | null): void => {
      deadline.cancel();
      let digest: string | undefined;
      if (f === null) {
        if (!reader.headerDone) err += 'no data received from remote webserver\n';
        else {
          digest = reader.digestHex;
          if (verbose) out += `\n${HTML_HASH}${dumpBuffer(Buffer.from(digest, 'hex'))}${HTML_HASH_FINAL}`;
          out += `${digest}\n`;
        }
      } else out += `${messageFor(f, ssl)}\n`;
      if (verbose)
        out += `\nGlobal response time for [${req.path}] = ${Math.round((performance.now() - t0) * 1000)} usecs\n`;
      resolve(digest === undefined ? { stdout: out, stderr: err } : { digest, stdout: out, stderr: err });
    };
    const timeoutS = req.timeoutS ?? DEFAULT_TIMEOUT_S;
    const deadline = wheel.after(timeoutS * 1000, () => attempt?.timeout(timeoutS * 1000));
    try {
      attempt = new UrlAttempt(
        { address: req.server, port: req.port, family },
        {
          request,
          servername: req.sni ? req.virtualhost : undefined,
        },
        tlsPlan,
        reader,
        {
          attemptDone: (_tag, f) => {
            // Genhash hashes whatever arrived; a missing header shows as "no data received".
            if (f?.code === 'bad-response' || f?.code === 'no-data') finish(null);
            else finish(f);
          },
        },
        0,
        verbose
          ? (headerDone: boolean) => {
              fedHeaderNow = false;
              if (!headerDone) {
                if (!headerSeen) out += HTTP_HEADER_HEXA;
              }
              headerSeen = headerSeen || headerDone;
            }
          : undefined,
      );
    } catch (e) {
      finish({ code: 'error', reason: (e as Error).message, phase: 'connect' });
    }
  });
}

const USAGE = (prog: string) =>
  `Usage: ${prog} --genhash COMMAND [OPTIONS]\n` +
  'Commands:\n' +
  '   -s server-address -p port -u url\n' +
  '   -S -s server-address -p port -u url\n' +
  '   -h\n\n' +
  'Options:\n' +
  'Either long or short options are allowed.\n' +
  '   --use-ssl         -S       Use SSL connection to remote server.\n' +
  '   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).\n' +
  '   --server          -s       Use the specified remote server address.\n' +
  '   --port            -p       Use the specified remote server port.\n' +
  '   --url             -u       Use the specified remote server url.\n' +
  '   --use-virtualhost -V       Use the specified virtualhost in GET query.\n' +
  '   --verbose         -v       Use verbose mode output.\n' +
  '   --help            -h       Display this short inlined help screen.\n' +
  '   --fwmark          -m       Use the specified FW mark.\n' +
  "   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.\n" +
  "                                1.0c means 1.0 with 'Connection: close'\n" +
  '   --timeout         -t       Timeout in seconds\n';

const LONG: Record<string, string> = {
  help: 'h',
  verbose: 'v',
  'use-ssl': 'S',
  'use-sni': 'I',
  server: 's',
  'use-virtualhost': 'V',
  port: 'p',
  url: 'u',
  fwmark: 'm',
  protocol: 'P',
  timeout: 't',
};
const WITH_ARG = new Set(['s', 'V', 'p', 'u', 'm', 'P', 't']);

export interface GenhashIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  prog?: string;
}

/** Parses genhash's options (getopt-style, short and long) into a request, or an error line. */
export function parseGenhashArgs(
  argv: string[],
): { ok: true; req: GenhashRequest } | { ok: false; error: string } {
  const req: Partial<GenhashRequest> & { verbose?: boolean } = {};
  let server: string | undefined;
  let port: number | undefined;
  let path: string | undefined;
  let bad = '';
  const set = (opt: string, val: string | undefined): string | null => {
    switch (opt) {
      case 'h':
        return '';
      case 'v':
        req.verbose = true;
        return null;
      case 'S':
        req.ssl = true;
        return null;
      case 'I':
        req.sni = true;
        return null;
      case 's':
        if (isIP(val!) === 0) return `server should be an IP, not ${val}`;
        server = val!;
        return null;
      case 'V':
        req.virtualhost = val!;
        return null;
      case 'p': {
        const n = /^-?\d+$/.test(val!) ? Number(val) : Number.NaN;
        if (!(n > 0 && n <= 65535)) return `invalid port number '${val}'`;
        port = n;
        return null;
      }
      case 'u':
        path = val!;
        return null;
      case 'm':
        return 'fwmark (-m) is not supported by keepalived-ts genhash yet';
      case 'P':
        if (val === '1.0') req.protocol = '1.0';
        else if (val === '1.0c' || val === '1.0C') req.protocol = '1.0C';
        else if (val === '1.1') req.protocol = '1.1';
        else return `invalid HTTP protocol version '${val}'`;
        return null;
      case 't': {
        const v = val!.replace(/^[ \t]+/, '');
        if (!/^\d+$/.test(v)) return `invalid timeout '${val}'`;
        req.timeoutS = Number(v);
        return null;
      }
    }
    return `Unknown option -${opt}`;
  };
  if (argv.length < 2) return { ok: false, error: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let r: string | null;
    if (a.startsWith('--') && a.length > 2) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const opt = LONG[name];
      if (!opt) {
        bad ||= `Unknown option ${a}`;
        continue;
      }
      let val = inline;
      if (WITH_ARG.has(opt) && val === undefined) {
        val = argv[++i];
        if (val === undefined) return { ok: false, error: `Missing parameter for option --${name}` };
      }
      r = set(opt, val);
    } else if (a.startsWith('-') && a.length > 1) {
      let k = 1;
      r = null;
      while (k < a.length && r === null) {
        const opt = a[k]!;
        if (!(opt in { h: 1, v: 1, S: 1, I: 1 }) && !WITH_ARG.has(opt)) {
          bad ||= `Unknown option -${opt}`;
          k++;
          continue;
        }
        if (WITH_ARG.has(opt)) {
          let val = a.slice(k + 1);
          if (val === '') {
            const next = argv[++i];
            if (next === undefined) return { ok: false, error: `Missing parameter for option -${opt}` };
            val = next;
          }
          r = set(opt, val);
          break;
        }
        r = set(opt, undefined);
        k++;
      }
    } else return { ok: false, error: `Unexpected argument(s): ${argv.slice(i).join(' ')}` };
    if (r === '') bad ||= ' ';
    else if (r !== null) return { ok: false, error: r };
  }
  if (bad) return { ok: false, error: bad.trim() };
  if (server === undefined || port === undefined || path === undefined) return { ok: false, error: '' };
  return { ok: true, req: { ...req, server, port, path } as GenhashRequest };
}

/** `keepalived-ts --genhash ARGS`: prints like keepalived's genhash; resolves to the exit code. */
export async function genhashMain(argv: string[], io?: GenhashIo): Promise<number> {
  const stdout = io?.stdout ?? ((s: string) => process.stdout.write(s));
  const stderr = io?.stderr ?? ((s: string) => process.stderr.write(s));
  const parsed = parseGenhashArgs(argv);
  if (!parsed.ok) {
    if (parsed.error) stderr(`${parsed.error}\n`);
    stderr(USAGE(io?.prog ?? 'keepalived-ts'));
    return 1;
  }
  const r = await genhash(parsed.req);
  if (r.stdout) stdout(r.stdout);
  if (r.stderr) stderr(r.stderr);
  return 0;
}
