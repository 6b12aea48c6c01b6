// keepalived-ts beside the reference keepalived 2.2.7, VRRPv2 (IPv4 only, RFC 3768) at keepalived's default
// 1 s advert interval: multicast, multicast with PASS authentication (a password longer than the 8 bytes that
// go on the wire: both must truncate alike), unicast, and multicast with AH authentication, each with a keepalived-ts master and with a keepalived
// master (scenario.ts has the steps). A scenario waits out three Master_Down_Intervals of about 3.2 s, so the
// six run concurrently, each on its own LAN.
import { describe, test } from 'node:test';
import { type Impl, type InstanceSpec, implName, interopSkip, TCPDUMP } from './peers.js';
import { describeTimes, runScenario } from './scenario.js';

const skip = interopSkip(TCPDUMP);

const cases: { spec: InstanceSpec; label: string; kind: string; todo?: string }[] = [
  {
    spec: { version: 2, family: 4, unicast: false, vrid: 21, advertIntS: 1 },
    label: 'i24m',
    kind: 'multicast',
  },
  {
    spec: {
      version: 2,
      family: 4,
      unicast: false,
      vrid: 22,
      advertIntS: 1,
      auth: { type: 'PASS', pass: 'kats-pw-longer-than-8' },
    },
    label: 'i24p',
    kind: 'multicast, PASS auth',
  },
  { spec: { version: 2, family: 4, unicast: true, vrid: 23, advertIntS: 1 }, label: 'i24u', kind: 'unicast' },
  {
    // IPsec AH (RFC 2402 HMAC-MD5-96 over the IP header with mutable fields zeroed): deprecated, but both
    // implementations have it, and the ICV computation has to agree bit for bit.
    spec: {
      version: 2,
      family: 4,
      unicast: false,
      vrid: 24,
      advertIntS: 1,
      auth: { type: 'AH', pass: 'kats-ah' },
    },
    label: 'i24a',
    kind: 'multicast, AH auth',
  },
  {
    // Unicast AH: keepalived leaves the TTL out of the ICV for instances with unicast peers.
    spec: {
      version: 2,
      family: 4,
      unicast: true,
      vrid: 25,
      advertIntS: 1,
      auth: { type: 'AH', pass: 'kats-ah' },
    },
    label: 'i25ua',
    kind: 'unicast, AH auth',
  },
];

describe('VRRPv2 IPv4 with keepalived 2.2.7', { concurrency: true }, () => {
  for (const { spec, label, kind, todo } of cases) {
    for (const high of ['ts', 'ka'] as Impl[]) {
      test(`v2 ${kind}: ${implName(high)} master, ${implName(high === 'ts' ? 'ka' : 'ts')} takes over`, {
        skip,
        ...(todo === undefined ? {} : { todo }),
        timeout: 45_000,
      }, async () => {
        const times = await runScenario(spec, high, `${label}${high}`);
        console.log(describeTimes(spec, high, times));
      });
    }
  }
});
