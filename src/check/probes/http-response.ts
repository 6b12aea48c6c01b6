// Incremental reading of an HTTP response the way keepalived 2.2.7 judges it (docs/probes-http.md): the
// headers end at the first CRLFCRLF, which must lie in the first 4095 bytes; the status code is the three
// digits after the first space; `Content-Length:` (case-sensitive) bounds the bytes hashed; the body runs
// to EOF (no chunked decoding). Pure: bytes in, verdict out; the only state is this object's.
import { createHash, type Hash } from 'node:crypto';
import type { UrlRegex } from './http-request.js';
import { regexMatches } from './http-request.js';

/** keepalived's receive buffer is 4096 bytes with one kept for a terminating NUL. */
export const HEADER_LIMIT = 4095;
/** Default cap on a whole response (headers + body), see docs/probes-http.md. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface ResponseFailure {
  code: string;
  reason: string;
  /** connect() failed at once for a local reason: keepalived's last_errno (outcome.ts withErrno). */
  errno?: string;
}

export interface ReaderOptions {
  /** Accepted status codes (index code-100), or null to accept any (genhash). */
  status: Uint8Array | null;
  /** Expected MD5 (lower-case hex), or '' to compute it without comparing (genhash), or undefined. */
  digest?: string | undefined;
  regex?: UrlRegex | undefined;
  maxBytes: number;
  /** Verbose genhash: sees the header block and each hashed body piece. */
  onHeader?: ((head: Buffer) => void) | undefined;
  onBody?: ((piece: Buffer) => void) | undefined;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = Buffer.from('Content-Length:', 'latin1');

export class HttpResponseReader {
  readonly #o: ReaderOptions;
  #head: Buffer | null = null;
  #headerDone = false;
  statusCode = 0;
  /** -1 when absent or unreadable (keepalived's SIZE_MAX). */
  contentLength = -1;
  /** Response bytes seen (headers + body). */
  total = 0;
  /** Body bytes seen. */
  bodyBytes = 0;
  #hash: Hash | null = null;
  #bodyParts: Buffer[] | null = null;
  digestHex = '';

  constructor(o: ReaderOptions) {
    this.#o = o;
    if (o.digest !== undefined) this.#hash = createHash('md5');
    if (o.regex) this.#bodyParts = [];
  }

  get headerDone(): boolean {
    return this.#headerDone;
  }

  /** Takes the next chunk; a failure ends the attempt early (cap, header limit, refused status). */
  feed(chunk: Buffer): ResponseFailure | null {
    this.total += chunk.length;
    if (this.total > this.#o.maxBytes)
      return {
        code: 'too-large',
        reason: `response larger than ${this.#o.maxBytes} bytes (read cap)`,
      };
    if (this.#headerDone) {
      this.#body(chunk);
      return null;
    }
    const buf = this.#head === null ? chunk : Buffer.concat([this.#head, chunk]);
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0 || end + 4 > HEADER_LIMIT) {
      if (buf.length >= HEADER_LIMIT)
        return { code: 'bad-response', reason: `no end of HTTP headers in the first ${HEADER_LIMIT} bytes` };
      this.#head = buf === chunk ? Buffer.from(chunk) : buf;
      return null;
    }
    this.#headerDone = true;
    this.#head = null;
    // keepalived reads the status and Content-Length from what it holds when the headers complete.
    const held = buf.length > HEADER_LIMIT ? buf.subarray(0, HEADER_LIMIT) : buf;
    this.statusCode = statusCodeOf(held);
    this.contentLength = contentLengthOf(held);
    this.#o.onHeader?.(buf.subarray(0, end + 4));
    const st = this.#o.status;
    if (st !== null && !this.#statusOk(st)) return this.#statusFailure(held);
    if (this.contentLength > this.#o.maxBytes)
      return {
        code: 'too-large',
        reason: `Content-Length ${this.contentLength} exceeds the read cap of ${this.#o.maxBytes} bytes`,
      };
    if (buf.length > end + 4) this.#body(buf.subarray(end + 4));
    return null;
  }

  /** The verdict at EOF; null means the url passed. */
  finish(): ResponseFailure | null {
    if (!this.#headerDone)
      return this.total === 0
        ? { code: 'no-data', reason: 'no data received (connection closed before any response)' }
        : {
            code: 'bad-response',
            reason: `connection closed after ${this.total} bytes without an HTTP header`,
          };
    if (this.#hash) this.digestHex = this.#hash.digest('hex');
    const want = this.#o.digest;
    if (want && want !== this.digestHex)
      return { code: 'digest', reason: `MD5 digest ${this.digestHex} of the body, expected ${want}` };
    const re = this.#o.regex;
    if (re && this.#bodyParts) {
      const body = Buffer.concat(this.#bodyParts).toString('latin1');
      if (regexMatches(re, body) === re.noMatch)
        return {
          code: 'regex',
          reason: re.noMatch
            ? `body matches regex /${re.re.source}/`
            : `body does not match regex /${re.re.source}/`,
        };
    }
    return null;
  }

  #statusOk(st: Uint8Array): boolean {
    const c = this.statusCode;
    return c >= 100 && c <= 599 && st[c - 100] === 1;
  }

  #statusFailure(held: Buffer): ResponseFailure {
    if (this.statusCode === 0) {
      const line = held.subarray(0, Math.min(60, held.indexOf(13) < 0 ? 60 : held.indexOf(13)));
      return {
        code: 'bad-response',
        reason: `not an HTTP status line: ${JSON.stringify(line.toString('latin1'))}`,
      };
    }
    return { code: 'status', reason: `HTTP status code ${this.statusCode} not accepted` };
  }

  #body(piece: Buffer): void {
    const before = this.bodyBytes;
    this.bodyBytes += piece.length;
    if (this.#hash) {
      // Only the first Content-Length bytes of the body are hashed (when the header is present).
      const cl = this.contentLength;
      const n = cl < 0 ? piece.length : Math.max(0, Math.min(piece.length, cl - before));
      if (n > 0) {
        const part = n === piece.length ? piece : piece.subarray(0, n);
        this.#hash.update(part);
        this.#o.onBody?.(part);
      }
    }
    if (this.#bodyParts) this.#bodyParts.push(Buffer.from(piece));
  }
}

/** The three digits after the first space of the response, or 0 (keepalived's extract_status_code). */
export function statusCodeOf(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] !== 0x20 && b[i] !== 0x0d) i++;
  if (b[i] !== 0x20) return 0;
  i++;
  if (i + 3 >= b.length || b[i + 3] !== 0x20) return 0;
  let code = 0;
  for (let k = 0; k < 3; k++) {
    const d = b[i + k]! - 0x30;
    if (d < 0 || d > 9) return 0;
    code = code * 10 + d;
  }
  return code;
}

/** `Content-Length:` (exact case) anywhere before the first NUL, its decimal value, or -1. */
export function contentLengthOf(b: Buffer): number {
  const nul = b.indexOf(0);
  const view = nul < 0 ? b : b.subarray(0, nul);
  const at = view.indexOf(CONTENT_LENGTH);
  if (at < 0) return -1;
  let i = at + CONTENT_LENGTH.length;
  const start = i;
  // strtoul: leading white space, an optional sign, digits; the value must end the line.
  while (i < view.length && (view[i] === 0x20 || (view[i]! >= 0x09 && view[i]! <= 0x0d))) i++;
  let neg = false;
  if (view[i] === 0x2b || view[i] === 0x2d) {
    neg = view[i] === 0x2d;
    i++;
  }
  let digits = 0;
  let v = 0;
  while (i < view.length && view[i]! >= 0x30 && view[i]! <= 0x39) {
    v = v * 10 + (view[i]! - 0x30);
    i++;
    digits++;
  }
  const end = digits === 0 ? start : i;
  const c = end < view.length ? view[end] : 0;
  if (c !== 0 && c !== 0x0d && c !== 0x0a) return -1;
  if (digits === 0) return 0;
  return neg && v !== 0 ? Number.MAX_SAFE_INTEGER : v;
}
