// Run inside a test namespace by nft-raw.test.ts: programs a small table through libnftables, applies the
// same verdicts with the raw element path on (`raw`) or off (`script`), prints the route each change took
// and then `nft list ruleset`.
import { spawnSync } from 'node:child_process';
import type { Change, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';

const useRaw = process.argv[2] === 'raw';
const real = (i: number, port: number, weight = 1 + (i % 3)): RealServerSpec => ({
  address: `192.0.2.${10 + i}`,
  port,
  weight,
  method: 'NAT',
});
const svc = (name: string, addr: string, port: number, family: 4 | 6 = 4): ServiceSpec => ({
  name,
  family,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: addr, port }],
  scheduler: 'wrr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals:
    family === 4
      ? [0, 1, 2].map((i) => real(i, 8000 + port))
      : [0, 1].map((i) => ({
          address: `2001:db8::${10 + i}`,
          port: 8080,
          weight: 1,
          method: 'NAT' as const,
        })),
  sorryActive: false,
});

const dp = new NftDataplane(libnftRunner(), useRaw ? {} : { raw: false });
const a = svc('a', '198.51.100.1', 80);
const b = svc('b', '198.51.100.2', 443);
const c = svc('c', '2001:db8::100', 80, 6);
const steps: Change[][] = [
  [{ op: 'set-real', name: 'a', real: real(1, 8080, 0) }],
  [{ op: 'set-real', name: 'c', real: { address: '2001:db8::11', port: 8080, weight: 0, method: 'NAT' } }],
  [{ op: 'del-real', name: 'b', address: '192.0.2.12', port: 8443 }],
  [{ op: 'add-real', name: 'b', real: real(5, 8443) }],
  [{ op: 'add-service', service: svc('d', '198.51.100.3', 25) }],
];
const r0 = await dp.start({ services: [a, b, c] });
if (!r0.ok) throw new Error(r0.error.message);
const routes: string[] = [];
for (const plan of steps) {
  const r = await dp.apply(plan);
  if (!r.ok) throw new Error(r.error.message);
  if (dp.lastRoute.rawError) throw new Error(dp.lastRoute.rawError);
  routes.push(dp.lastRoute.route);
}
console.log(`routes ${routes.join(',')}`);
const l = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
process.stdout.write(l.stdout);
await dp.stop(true);
process.exit(0);
