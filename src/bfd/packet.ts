// BFD Control packets (RFC 5880 §4.1, mandatory section only): encode, decode, and the receive checks of
// §6.8.6 that need no session (docs/bfd.md, 'Packets'). Pure: bytes in, a value or a reason out; never throws.

export type BfdState = 'AdminDown' | 'Down' | 'Init' | 'Up';
export const STATE_CODES: readonly BfdState[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** Diagnostic codes (RFC 5880 §4.1). */
export const DIAG = {
  none: 0,
  expired: 1,
  echoFailed: 2,
  neighborDown: 3,
  forwardingReset: 4,
  pathDown: 5,
  concatenatedDown: 6,
  adminDown: 7,
  reverseConcatenatedDown: 8,
} as const;

export const DIAG_TEXT: readonly string[] = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

/** Length of a Control packet without authentication. */
export const BFD_PACKET_LEN = 24;
export const BFD_VERSION = 1;

export interface BfdControl {
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** Control Plane Independent. */
  cpi: boolean;
  auth: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscr: number;
  yourDiscr: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

export function encodeControl(c: BfdControl): Uint8Array {
  const b = new Uint8Array(BFD_PACKET_LEN);
  const v = new DataView(b.buffer);
  b[0] = (BFD_VERSION << 5) | (c.diag & 0x1f);
  b[1] =
    (STATE_CODES.indexOf(c.state) << 6) |
    (c.poll ? 0x20 : 0) |
    (c.final ? 0x10 : 0) |
    (c.cpi ? 0x08 : 0) |
    (c.auth ? 0x04 : 0) |
    (c.demand ? 0x02 : 0) |
    (c.multipoint ? 0x01 : 0);
  b[2] = c.detectMult & 0xff;
  b[3] = BFD_PACKET_LEN;
  v.setUint32(4, c.myDiscr >>> 0);
  v.setUint32(8, c.yourDiscr >>> 0);
  v.setUint32(12, c.desiredMinTxUs >>> 0);
  v.setUint32(16, c.requiredMinRxUs >>> 0);
  v.setUint32(20, c.requiredMinEchoRxUs >>> 0);
  return b;
}

export type Decoded = { ok: true; packet: BfdControl } | { ok: false; reason: string };

/**
 * Decodes and applies the session-independent checks keepalived 2.2.7 makes (RFC 5880 §6.8.6 and two of its
 * own): at least 24 bytes, a Length field equal to the datagram's size, version 1, Detect Mult and My
 * Discriminator non-zero, Multipoint clear, Your Discriminator non-zero unless the state is Down or
 * AdminDown, Poll and Final never both set (§4.1), and a diagnostic code of 8 or less. The A bit is left to
 * the session (BfdSession.receive), which discards such packets after its TTL check, as keepalived does.
 */
export function decodeControl(bytes: Uint8Array): Decoded {
  if (bytes.length < BFD_PACKET_LEN) return bad(`packet too short: ${bytes.length} bytes`);
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const length = bytes[3]!;
  if (length !== bytes.length) return bad(`length field ${length} is not the ${bytes.length}-byte payload`);
  const version = b0 >> 5;
  if (version !== BFD_VERSION) return bad(`unsupported version ${version}`);
  const auth = (b1 & 0x04) !== 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p: BfdControl = {
    diag: b0 & 0x1f,
    state: STATE_CODES[b1 >> 6]!,
    poll: (b1 & 0x20) !== 0,
    final: (b1 & 0x10) !== 0,
    cpi: (b1 & 0x08) !== 0,
    auth,
    demand: (b1 & 0x02) !== 0,
    multipoint: (b1 & 0x01) !== 0,
    detectMult: bytes[2]!,
    myDiscr: v.getUint32(4),
    yourDiscr: v.getUint32(8),
    desiredMinTxUs: v.getUint32(12),
    requiredMinRxUs: v.getUint32(16),
    requiredMinEchoRxUs: v.getUint32(20),
  };
  if (p.detectMult === 0) return bad('detect multiplier is zero');
  if (p.multipoint) return bad('multipoint bit set');
  if (p.myDiscr === 0) return bad('my discriminator is zero');
  if (p.yourDiscr === 0 && p.state !== 'Down' && p.state !== 'AdminDown')
    return bad(`your discriminator is zero in state ${p.state}`);
  if (p.poll && p.final) return bad('poll and final both set');
  if (p.diag > DIAG.reverseConcatenatedDown) return bad(`invalid diagnostic ${p.diag}`);
  return { ok: true, packet: p };
}

function bad(reason: string): Decoded {
  return { ok: false, reason };
}
