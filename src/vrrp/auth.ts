// VRRPv2 authentication data (RFC 2338 §5.3.6, kept by keepalived although RFC 3768 removed it): the
// configured password is cut to its first 8 bytes and zero-padded (keepalived man5 `auth_pass`; the
// 12-character password in test/data/vrrp-captures/keepalived-v2-ipv4-pass.json shows the cut on the wire).
// The same 8 bytes are the HMAC key for AH (auth-ah.ts). VRRPv3 has no authentication (RFC 9568 §9).
import { timingSafeEqual } from 'node:crypto';

/** Length of the v2 Authentication Data field, and of the key derived from `auth_pass`. */
export const AUTH_DATA_LENGTH = 8;

/** First 8 bytes of the password's UTF-8 encoding, zero-padded to 8: the PASS data and the AH key. */
export function authKeyBytes(password: string): Uint8Array {
  const out = new Uint8Array(AUTH_DATA_LENGTH);
  out.set(sharedKey(password));
  return out;
}

// Passwords come from the configuration (a handful), so their keys are memoised for the per-packet checks.
const keyCache = new Map<string, Uint8Array>();

function sharedKey(password: string): Uint8Array {
  let key = keyCache.get(password);
  if (key === undefined) {
    key = new Uint8Array(AUTH_DATA_LENGTH);
    key.set(Buffer.from(password, 'utf8').subarray(0, AUTH_DATA_LENGTH));
    if (keyCache.size >= 64) keyCache.clear();
    keyCache.set(password, key);
  }
  return key;
}

/** The PASS authentication data for a password, as the hex string VrrpAdvert.authDataHex holds. */
export function passAuthDataHex(password: string): string {
  return Buffer.from(authKeyBytes(password)).toString('hex');
}

/**
 * Constant-time comparison of the 8 received PASS bytes at bytes[offset] with the configured password
 * (no early exit on the first differing byte, so timing does not leak how much of a guess was right).
 */
export function passAuthMatches(bytes: Uint8Array, offset: number, password: string): boolean {
  if (offset < 0 || offset + AUTH_DATA_LENGTH > bytes.length) return false;
  const received = bytes.subarray(offset, offset + AUTH_DATA_LENGTH);
  return timingSafeEqual(received, sharedKey(password));
}
