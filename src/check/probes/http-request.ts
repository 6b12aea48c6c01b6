// Pure parts of HTTP_GET / SSL_GET: the request bytes exactly as keepalived 2.2.7 sends them, which
// virtualhost applies, which name goes into SNI, the status-code set. No I/O. Facts: docs/probes-http.md.
import type { Checker, HttpUrl } from '../../config/model.js';

export type HttpProtocol = '1.0' | '1.0C' | '1.1';

/** Where inherited virtualhosts come from (url > checker > real_server > virtual_server). */
export interface VirtualhostSources {
  realServer?: { virtualhost?: string | undefined } | undefined;
  virtualServer?: { virtualhost?: string | undefined } | undefined;
}

/** `http_protocol` as keepalived reads it ("1.0c" is accepted too); anything else is an error. */
export function parseHttpProtocol(v: string | undefined): HttpProtocol | null {
  if (v === undefined || v === '1.0') return '1.0';
  if (v === '1.1') return '1.1';
  if (v === '1.0C' || v === '1.0c') return '1.0C';
  return null;
}

/** The Host header's virtualhost: the url's, else the checker's, else the real server's, else the VS's. */
export function effectiveVirtualhost(
  url: HttpUrl,
  checker: Checker,
  src: VirtualhostSources,
): string | undefined {
  return (
    url.virtualhost ?? checker.virtualhost ?? src.realServer?.virtualhost ?? src.virtualServer?.virtualhost
  );
}

/**
 * The SNI name when `enable_sni` is set: `sni_name`, else the url's virtualhost, else the checker's,
 * else the virtual server's (keepalived skips the real server's here). Undefined: no SNI extension.
 */
export function sniName(url: HttpUrl, checker: Checker, src: VirtualhostSources): string | undefined {
  if (!checker.enableSni) return undefined;
  return checker.sniName ?? url.virtualhost ?? checker.virtualhost ?? src.virtualServer?.virtualhost;
}

/**
 * `GET <path> HTTP/1.x`, `User-Agent: KeepAliveClient`, `Connection: close` for 1.0C and 1.1, then
 * `Host:` — the virtualhost as given, or the target address with `:port` (IPv6 in brackets).
 */
export function buildRequest(
  path: string,
  protocol: HttpProtocol,
  vhost: string | undefined,
  address: string,
  port: number,
): Buffer {
  const host =
    vhost !== undefined ? vhost : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const text =
    `GET ${path} HTTP/1.${protocol === '1.1' ? 1 : 0}\r\n` +
    'User-Agent: KeepAliveClient\r\n' +
    (protocol === '1.0' ? '' : 'Connection: close\r\n') +
    `Host: ${host}\r\n\r\n`;
  return Buffer.from(text, 'latin1');
}

/** A 500-entry table of accepted status codes (100–599); no configured code means 200–299. */
export function statusTable(url: HttpUrl): Uint8Array {
  const t = new Uint8Array(500);
  const ranges = url.statusCodes.length > 0 ? url.statusCodes : [{ from: 200, to: 299 }];
  for (const r of ranges) for (let c = Math.max(100, r.from); c <= Math.min(599, r.to); c++) t[c - 100] = 1;
  return t;
}

/** PCRE2 option names keepalived accepts in `regex_options`, with the JavaScript flag each maps to. */
const REGEX_FLAGS: Record<string, string | null> = {
  caseless: 'i',
  multiline: 'm',
  dotall: 's',
  // Optimisation hints and limits that change nothing for the patterns JavaScript accepts.
  no_auto_capture: '',
  no_auto_possess: '',
  no_start_optimize: '',
  never_ucp: '',
  never_utf: '',
  never_backslash_c: '',
  use_offset_limit: '',
  alt_verbnames: '',
  // No JavaScript equivalent: refused when the probe is built rather than silently ignored.
  allow_empty_class: null,
  alt_bsux: null,
  alt_circumflex: null,
  auto_callout: null,
  dollar_endonly: null,
  dupnames: null,
  extended: null,
  firstline: null,
  match_unset_backref: null,
  ucp: null,
  ungreedy: null,
  utf: null,
};

export interface UrlRegex {
  re: RegExp;
  noMatch: boolean;
  /** Byte offset of the body where matching starts (0: start of body). */
  minOffset: number;
  /** The last body offset a match may start at, or -1 for no limit. */
  maxOffset: number;
}

function offset(v: string[] | undefined): number | null {
  if (v === undefined) return 0;
  const s = v[0];
  if (v.length !== 1 || s === undefined || !/^\d+$/.test(s)) return null;
  return Number(s);
}

/** The url's regex, or undefined when it has none; a string is a configuration error. */
export function compileUrlRegex(url: HttpUrl): UrlRegex | undefined | string {
  if (url.regex === undefined) return undefined;
  let flags = '';
  for (const o of url.regexOptions ?? []) {
    const f = REGEX_FLAGS[o];
    if (f === undefined) continue; // keepalived ignores unknown option names
    if (f === null) return `regex_options '${o}' is not supported by keepalived-ts (JavaScript regex)`;
    if (!flags.includes(f)) flags += f;
  }
  const min = offset(url.regexMinOffset);
  const max = offset(url.regexMaxOffset);
  if (min === null || max === null) return 'invalid regex_min_offset / regex_max_offset';
  const hasMax = url.regexMaxOffset !== undefined;
  let re: RegExp;
  try {
    // 'g' so that lastIndex starts the search at the minimum offset while lookbehind still sees before it.
    re = new RegExp(url.regex, `${flags}g`);
  } catch (e) {
    return `Invalid regex: '${url.regex}': ${(e as Error).message}`;
  }
  // keepalived drops both offsets when min ≥ max+1 ("regex min offset > regex_max_offset - ignoring").
  if (hasMax && min > max) return { re, noMatch: url.regexNoMatch, minOffset: 0, maxOffset: -1 };
  return { re, noMatch: url.regexNoMatch, minOffset: min, maxOffset: hasMax ? max : -1 };
}

/** Whether `body` (latin1: one char per byte) matches the url's regex within its offsets. */
export function regexMatches(r: UrlRegex, body: string): boolean {
  r.re.lastIndex = r.minOffset;
  const m = r.re.exec(body);
  if (m === null) return false;
  return r.maxOffset < 0 || m.index <= r.maxOffset;
}
