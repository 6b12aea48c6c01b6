// Run inside a test namespace by nft-raw.test.ts: programs a small table through libnftables, applies the
// same verdicts with the raw element path on (`raw`) or off (`script`), prints the route each change took
// and then `nft list ruleset`.
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { Change, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';
import { nat, svc as service } from './fixtures.js';

const useRaw = process.argv[2] === 'raw';
const real = (i: number, port: number, weight = 1 + (i % 3)): RealServerSpec =>
  nat(`192.0.2.${10 + i}`, port, weight);
const svc = (name: string, addr: string, port: number, family: 4 | 6 = 4): ServiceSpec =>
  service(name, {
    family,
    matches: [{ kind: 'addr', address: addr, port }],
    reals:
      family === 4
        ? [0, 1, 2].map((i) => real(i, 8000 + port))
        : [0, 1].map((i) => nat(`2001:db8::${10 + i}`, 8080)),
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
  [{ op: 'set-real', name: 'a', real: real(1, 8080) }],
];

// Traffic (raw mode): the real servers of `a` on lo answer with their address; connections from this
// namespace to its VIP are DNATed by the output hook, so which servers answer shows the slots in force.
const sh = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
};
const servers = useRaw
  ? await Promise.all(
      [10, 11, 12].map(async (i) => {
        sh('addr', 'add', `192.0.2.${i}/32`, 'dev', 'lo');
        const srv = createServer((c) => c.end(`192.0.2.${i}`));
        await new Promise<void>((r) => srv.listen(8080, `192.0.2.${i}`, r));
        return srv;
      }),
    )
  : [];
if (useRaw) sh('addr', 'add', '198.51.100.1/32', 'dev', 'lo');
async function who(n: number): Promise<string> {
  const seen = new Set<string>();
  for (let k = 0; k < n; k++)
    seen.add(
      await new Promise<string>((resolve, reject) => {
        let out = '';
        const c = connect(80, '198.51.100.1');
        c.setTimeout(3000, () => c.destroy(new Error('timeout')));
        c.on('data', (d) => {
          out += d;
        });
        c.on('end', () => resolve(out));
        c.on('error', reject);
      }),
    );
  return [...seen].sort().join(' ');
}
const r0 = await dp.start({ services: [a, b, c] });
if (!r0.ok) throw new Error(r0.error.message);
const routes: string[] = [];
if (useRaw) console.log(`traffic before ${await who(12)}`);
for (const [i, plan] of steps.entries()) {
  const r = await dp.apply(plan);
  if (!r.ok) throw new Error(r.error.message);
  if (dp.lastRoute.rawError) throw new Error(dp.lastRoute.rawError);
  routes.push(dp.lastRoute.route);
  if (useRaw && i === 0) console.log(`traffic down ${await who(12)}`);
}
if (useRaw) console.log(`traffic up ${await who(12)}`);
for (const s of servers) s.close();
console.log(`routes ${routes.join(',')}`);
const l = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
process.stdout.write(l.stdout);
await dp.stop(true);
process.exit(0);
