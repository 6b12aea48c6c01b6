// VRRP checksums (RFC 1071 Internet checksum) in the three forms seen on real networks:
//  - v2 (RFC 3768 §5.3.8): over the VRRP message only (header + addresses + 8 auth bytes).
//  - v3 over IPv6 (RFC 9568 §5.2.8): with the IPv6 pseudo-header (RFC 8200 §8.1).
//  - v3 over IPv4: RFC 5798 §5.2.8 includes the IPv4 pseudo-header (keepalived's and FRR's default); RFC 9568 and
//    Cisco/Juniper compute it over the VRRP message only (keepalived 2.4's `v3_checksum_as_v2`).
//  - v3 over IPv4 unicast as keepalived 1.3.6 and older sent it: the pseudo-header with the multicast group as
//    its destination instead of the peer (2.2.7's `old_unicast_checksum`; docs/vrrp-adverts.md).
// Receivers of v3/IPv4 accept either of the first two and report which matched, so an operator can see what the
// peer uses; the third only when the caller gives the group (a unicast instance that allows it).
import type { IpFamily, VrrpVersion } from './advert.js';
import { VRRP_PROTOCOL } from './advert.js';

/** Offset of the 16-bit checksum inside the VRRP header (both versions). */
export const VRRP_CHECKSUM_OFFSET = 6;

/** How the checksum of a VRRP message was (or is to be) computed. */
export type ChecksumForm = 'pseudo-header' | 'vrrp-only' | 'pseudo-header-group';

export interface ChecksumContext {
  version: VrrpVersion;
  family: IpFamily;
  /** Source and destination addresses as bytes (4 or 16); only read for the pseudo-header form. */
  src: Uint8Array;
  dst: Uint8Array;
  /** The multicast group, for the 'pseudo-header-group' form (v3/IPv4 unicast only). */
  group?: Uint8Array;
}

/**
 * Adds the 16-bit big-endian words of bytes[start, end) to `sum` (not folded). A trailing odd byte is padded
 * with zero (RFC 1071). Bytes [skipAt, skipAt+2) are treated as zero, so a checksum field need not be cleared.
 */
export function sumWords(bytes: Uint8Array, start: number, end: number, sum = 0, skipAt = -1): number {
  let i = start;
  for (; i + 1 < end; i += 2) {
    if (i === skipAt) continue;
    sum += (bytes[i]! << 8) | bytes[i + 1]!;
  }
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds carries and returns the ones' complement, as written into a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 1071 checksum of bytes[start,end), treating the 2 bytes at `skipAt` as zero. */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length, skipAt = -1): number {
  return finishChecksum(sumWords(bytes, start, end, 0, skipAt));
}

/** Sum of the IPv4 (RFC 768 style) or IPv6 (RFC 8200 §8.1) pseudo-header for protocol 112. */
export function pseudoHeaderSum(family: IpFamily, src: Uint8Array, dst: Uint8Array, length: number): number {
  let sum = sumWords(src, 0, src.length) + sumWords(dst, 0, dst.length);
  if (family === 4) sum += VRRP_PROTOCOL + length;
  else sum += Math.floor(length / 0x10000) + (length & 0xffff) + VRRP_PROTOCOL;
  return sum;
}

/** The form a sender uses by default: v2 → vrrp-only; v3 → pseudo-header (IPv6 always; IPv4 as keepalived/FRR). */
export function defaultChecksumForm(version: VrrpVersion): ChecksumForm {
  return version === 2 ? 'vrrp-only' : 'pseudo-header';
}

/**
 * Checksum of the VRRP message vrrp[offset, offset+length) with its checksum field taken as zero. v2 and IPv6
 * ignore `form` (their form is fixed by the RFCs); it only chooses between the two v3/IPv4 variants.
 */
export function computeVrrpChecksum(
  vrrp: Uint8Array,
  ctx: ChecksumContext,
  form: ChecksumForm = defaultChecksumForm(ctx.version),
  offset = 0,
  length = vrrp.length - offset,
): number {
  const effective = effectiveForm(ctx, form);
  const base =
    effective === 'pseudo-header'
      ? pseudoHeaderSum(ctx.family, ctx.src, ctx.dst, length)
      : effective === 'pseudo-header-group'
        ? pseudoHeaderSum(ctx.family, ctx.src, ctx.group ?? ctx.dst, length)
        : 0;
  return finishChecksum(sumWords(vrrp, offset, offset + length, base, offset + VRRP_CHECKSUM_OFFSET));
}

function effectiveForm(ctx: ChecksumContext, form: ChecksumForm): ChecksumForm {
  if (ctx.version === 2) return 'vrrp-only';
  if (ctx.family === 6) return 'pseudo-header';
  return form;
}

/**
 * Verifies the checksum found in the message. Returns the form that matched, or null. For v3/IPv4 the
 * pseudo-header form is tried first (keepalived's and FRR's default), then the RFC 9568 form, then (with
 * `ctx.group`) the old unicast form.
 */
export function verifyVrrpChecksum(
  vrrp: Uint8Array,
  ctx: ChecksumContext,
  offset = 0,
  length = vrrp.length - offset,
): ChecksumForm | null {
  const found = (vrrp[offset + VRRP_CHECKSUM_OFFSET]! << 8) | vrrp[offset + VRRP_CHECKSUM_OFFSET + 1]!;
  const plainSum = sumWords(vrrp, offset, offset + length, 0, offset + VRRP_CHECKSUM_OFFSET);
  if (ctx.version === 2) return finishChecksum(plainSum) === found ? 'vrrp-only' : null;
  const withPseudo = finishChecksum(plainSum + pseudoHeaderSum(ctx.family, ctx.src, ctx.dst, length));
  if (withPseudo === found) return 'pseudo-header';
  if (ctx.family === 4 && finishChecksum(plainSum) === found) return 'vrrp-only';
  if (ctx.family === 4 && ctx.group !== undefined) {
    const withGroup = finishChecksum(plainSum + pseudoHeaderSum(4, ctx.src, ctx.group, length));
    if (withGroup === found) return 'pseudo-header-group';
  }
  return null;
}
