// The decoded VRRP advertisement and its receive metadata: the contract between the packet codec
// (src/vrrp/packet.ts) and the state machine (src/vrrp/fsm*.ts). Plain data, JSON-safe, no Buffers,
// so recorded events can be replayed from JSON lines.
import type { AdvertToSend } from './actions.js';

export type IpFamily = 4 | 6;
export type VrrpVersion = 2 | 3;

/** VRRP packet type 1 is the only one defined (RFC 3768 §5.3.2, RFC 9568 §5.2.2). */
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_PROTOCOL = 112;
export const VRRP_TTL = 255;
/** IPv4 multicast group 224.0.0.18 and IPv6 ff02::12 (RFC 9568 §5.1.1.2, §5.1.2.2). */
export const VRRP_MCAST_GROUP4 = '224.0.0.18';
export const VRRP_MCAST_GROUP6 = 'ff02::12';
export const PRIORITY_OWNER = 255;
export const PRIORITY_STOP = 0;

/** v2 authentication types (RFC 2338 / keepalived); v3 has none. */
export const AuthType = { none: 0, pass: 1, ah: 2 } as const;
export type AuthTypeCode = (typeof AuthType)[keyof typeof AuthType];

export interface VrrpAdvert {
  version: VrrpVersion;
  type: number;
  vrid: number;
  priority: number;
  /**
   * Advertisement interval in centiseconds, whatever the version: v2 carries whole seconds on the wire
   * (×100 here), v3 carries 12-bit centiseconds. One unit keeps the timer arithmetic in the FSM uniform.
   */
  advertIntervalCs: number;
  /** v2 auth type (0 for v3). */
  authType: number;
  /** v2 PASS data as 8 bytes in hex ('' when absent). */
  authDataHex: string;
  /** Virtual addresses carried, in textual form (dotted quad / RFC 5952 IPv6). */
  addresses: string[];
  /** Checksum as found on the wire. */
  checksum: number;
}

/**
 * The advert an engine's sendAdvert action asks for, ready to encode: `auth` is the v2 authentication the
 * sender adds (none by default); the checksum is the encoder's to compute.
 */
export function advertToEncode(
  a: AdvertToSend,
  auth: { authType: number; authDataHex: string } = { authType: AuthType.none, authDataHex: '' },
): VrrpAdvert {
  return {
    version: a.version,
    type: VRRP_TYPE_ADVERTISEMENT,
    vrid: a.vrid,
    priority: a.priority,
    advertIntervalCs: a.advertIntervalCs,
    authType: auth.authType,
    authDataHex: auth.authDataHex,
    addresses: a.addresses,
    checksum: 0,
  };
}

/** What the socket layer knows about a received packet besides its bytes. */
export interface RxMeta {
  family: IpFamily;
  srcAddr: string;
  dstAddr: string;
  /** IPv4 TTL or IPv6 hop limit as received. */
  ttl: number;
  ifindex: number;
  ifname?: string;
  /**
   * When the kernel received the packet, on the daemon's monotonic clock (µs), if the socket reported it. The
   * engine's timers run from a packet's arrival, not from when a busy event loop got round to it.
   */
  arrivalUs?: number;
}
