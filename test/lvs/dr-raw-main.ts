// Run inside a test namespace by dr-raw.test.ts: programs two direct-routing services (one by address in
// the netdev table, one by fwmark in the `ip` table) through libnftables, applies the same verdicts with
// the raw path on (`raw`) or off (`script`), prints the route each change took and `nft list ruleset`.
import { spawnSync } from 'node:child_process';
import type { Change, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';

const useRaw = process.argv[2] === 'raw';
// fwd/dup name an existing device.
spawnSync('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
spawnSync('ip', ['link', 'set', 'eth0', 'up']);
const real = (i: number, weight = 1): RealServerSpec => ({
  address: `198.51.100.${10 + i}`,
  port: 0,
  weight,
  method: 'DR',
});
const base = {
  protocol: 'tcp' as const,
  scheduler: 'rr' as const,
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals: [0, 1, 2].map((i) => real(i)),
  sorryActive: false,
};
const a: ServiceSpec = {
  ...base,
  name: 'a',
  family: 4,
  matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
};
const f: ServiceSpec = {
  ...base,
  name: 'f',
  family: 4,
  protocol: 'udp',
  matches: [{ kind: 'fwmark', fwmark: 7 }],
};
const dp = new NftDataplane(libnftRunner(), {
  dr: { ingress: ['eth0'], egress: 'eth0' },
  ...(useRaw ? {} : { raw: false }),
});
const steps: Change[][] = [
  [{ op: 'set-real', name: 'a', real: real(1, 0) }],
  [{ op: 'set-real', name: 'f', real: real(2, 0) }],
  [{ op: 'add-real', name: 'f', real: real(4) }],
  [{ op: 'set-real', name: 'a', real: real(1) }],
];
const r = await dp.start({ services: [a, f] });
if (!r.ok) throw new Error(r.error.message);
const routes: string[] = [];
for (const plan of steps) {
  const u = await dp.apply(plan);
  if (!u.ok) throw new Error(u.error.message);
  routes.push(dp.lastRoute.route);
}
process.stdout.write(`routes ${routes.join(',')}\n`);
process.stdout.write(spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout);
