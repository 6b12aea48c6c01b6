// The little of the DNS wire format (RFC 1035 §4.1) DNS_CHECK needs, pure: one query with RD set, and the
// header fields of a reply. keepalived's check reads nothing past the reply header (docs/probes.md).

/** QTYPE values of the types DNS_CHECK accepts (RFC 1035 §3.2.2, RFC 3596 for AAAA). */
export const DNS_TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };

export const DNS_HEADER_LEN = 12;

/**
 * The query for `name` (labels split on '.'; "" and "." are the root) of type `qtype`, class IN, with
 * `id` and RD=1. Labels longer than 63 bytes or a name longer than 255 are an error.
 */
export function encodeQuery(id: number, name: string, qtype: number): Uint8Array | string {
  const labels = name === '.' || name === '' ? [] : name.replace(/\.$/, '').split('.');
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let nameLen = 1;
  for (const l of labels) {
    const b = enc.encode(l);
    if (b.length === 0 || b.length > 63) return `bad label '${l}' in ${name}`;
    parts.push(b);
    nameLen += 1 + b.length;
  }
  if (nameLen > 255) return `name ${name} is longer than 255 bytes`;
  const out = new Uint8Array(DNS_HEADER_LEN + nameLen + 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, id & 0xffff);
  v.setUint16(2, 0x0100); // RD
  v.setUint16(4, 1); // QDCOUNT
  let p = DNS_HEADER_LEN;
  for (const b of parts) {
    out[p++] = b.length;
    out.set(b, p);
    p += b.length;
  }
  out[p++] = 0;
  v.setUint16(p, qtype);
  v.setUint16(p + 2, 1); // IN
  return out;
}

export interface DnsHeader {
  id: number;
  /** QR: 1 for a response. */
  response: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
}

/** The header of a message, or undefined when it is shorter than a header. */
export function decodeHeader(msg: Uint8Array): DnsHeader | undefined {
  if (msg.length < DNS_HEADER_LEN) return undefined;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = v.getUint16(2);
  return {
    id: v.getUint16(0),
    response: (flags & 0x8000) !== 0,
    rcode: flags & 0xf,
    qdcount: v.getUint16(4),
    ancount: v.getUint16(6),
  };
}

/** RCODE names (RFC 1035 §4.1.1, RFC 2136) for the failure reason. */
export function rcodeName(rcode: number): string {
  return (
    [
      'NOERROR',
      'FORMERR',
      'SERVFAIL',
      'NXDOMAIN',
      'NOTIMP',
      'REFUSED',
      'YXDOMAIN',
      'YXRRSET',
      'NXRRSET',
      'NOTAUTH',
    ][rcode] ?? `RCODE${rcode}`
  );
}
