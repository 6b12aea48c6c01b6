// keepalived-ts beside the reference keepalived 2.2.7, VRRPv3 at a 100 ms advert interval: IPv4 and IPv6,
// multicast and unicast, each with a keepalived-ts master and with a keepalived master (scenario.ts has
// the steps). Measured times are printed as `# …` lines.
import { test } from 'node:test';
import { type Impl, type InstanceSpec, implName, interopSkip, TCPDUMP } from './peers.js';
import { describeTimes, runScenario } from './scenario.js';

const skip = interopSkip(TCPDUMP);

const cases: { spec: InstanceSpec; label: string }[] = [
  { spec: { version: 3, family: 4, unicast: false, vrid: 31, advertIntS: 0.1 }, label: 'i34m' },
  { spec: { version: 3, family: 4, unicast: true, vrid: 32, advertIntS: 0.1 }, label: 'i34u' },
  { spec: { version: 3, family: 6, unicast: false, vrid: 33, advertIntS: 0.1 }, label: 'i36m' },
  { spec: { version: 3, family: 6, unicast: true, vrid: 34, advertIntS: 0.1 }, label: 'i36u' },
];

for (const { spec, label } of cases) {
  for (const high of ['ts', 'ka'] as Impl[]) {
    const kind = `IPv${spec.family} ${spec.unicast ? 'unicast' : 'multicast'}`;
    test(`v3 ${kind}: ${implName(high)} master, ${implName(high === 'ts' ? 'ka' : 'ts')} takes over`, {
      skip,
      timeout: 30_000,
    }, async () => {
      const times = await runScenario(spec, high, `${label}${high}`);
      console.log(describeTimes(spec, high, times));
    });
  }
}
