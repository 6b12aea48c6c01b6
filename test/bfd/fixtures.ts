// What the BFD core tests share: a Control packet with every field at a plain value (Down, no flags,
// multiplier 3, 1 s desired TX, no Echo), to spread the fields a test cares about over.
import type { BfdControl } from '../../src/bfd/packet.js';

export function control(o: Partial<BfdControl> = {}): BfdControl {
  return {
    diag: 0,
    state: 'Down',
    poll: false,
    final: false,
    cpi: false,
    auth: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscr: 0x01020304,
    yourDiscr: 0,
    desiredMinTxUs: 1_000_000,
    requiredMinRxUs: 300_000,
    requiredMinEchoRxUs: 0,
    ...o,
  };
}
