// Run inside a test namespace by nft-raw-pick.test.ts: programs a table through libnftables, then applies
// verdicts that rewrite NAT pick rules — a pool emptied and refilled (rotation and hash schedulers, a fwmark
// service's `th sport` hash among them), the
// sorry server in and out — and a rebalance, with the raw path on (`raw`) or off (`script`); prints the
// route each change took, what a client sees at two moments, and then `nft list ruleset`.
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type { Change, RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { markKey } from '../../src/lvs/nft-model.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';
import { NO_FLAGS, nat, svc as service } from './fixtures.js';

const useRaw = process.argv[2] === 'raw';
const real = nat;
const three = (port: number) => [10, 11, 12].map((i) => real(`192.0.2.${i}`, port));
const svc = (name: string, addr: string, port: number, scheduler: string, reals: RealServerSpec[]) =>
  service(name, {
    family: addr.includes(':') ? 6 : 4,
    matches: [{ kind: 'addr', address: addr, port }],
    scheduler: scheduler as ServiceSpec['scheduler'],
    reals,
  });

const a = svc('a', '198.51.100.1', 80, 'wrr', three(8080));
const h = { ...svc('h', '198.51.100.2', 80, 'sh', three(8081)), flags: { ...NO_FLAGS, hashPort: true } };
const d6 = {
  ...svc('d6', '2001:db8::100', 53, 'dh', [real('2001:db8::10', 5353), real('2001:db8::11', 5353)]),
  protocol: 'udp',
} as ServiceSpec;
const s = { ...svc('s', '198.51.100.4', 80, 'rr', three(8082)), sorry: real('192.0.2.30', 8080) };
const w = svc('w', '198.51.100.5', 80, 'wlc', three(8083));
// A fwmark service hashing the source port: `th sport` (it serves every protocol).
const fh: ServiceSpec = {
  ...svc('fh', '198.51.100.6', 80, 'sh', three(8084)),
  matches: [{ kind: 'fwmark', fwmark: 9 }],
  flags: { ...NO_FLAGS, hashPort: true },
};

const allDown = (svc: ServiceSpec): Change[] =>
  svc.reals.map((r) => ({ op: 'set-real', name: svc.name, real: { ...r, weight: 0 } }));
const steps: Change[][] = [
  allDown(a), // empty pool: `ct mark set 0x0`
  [{ op: 'set-real', name: 'a', real: real('192.0.2.11', 8080) }], // one server back: rotation
  allDown(h), // hash → empty
  [{ op: 'set-real', name: 'h', real: real('192.0.2.10', 8081) }], // empty → hash
  [{ op: 'set-sorry', name: 's', sorry: real('192.0.2.30', 8080), active: true }], // quorum lost
  [{ op: 'set-sorry', name: 's', sorry: real('192.0.2.30', 8080), active: false }],
  [
    { op: 'del-real', name: 'd6', address: '2001:db8::10', port: 5353 },
    { op: 'del-real', name: 'd6', address: '2001:db8::11', port: 5353 },
  ], // IPv6 hash → empty
  allDown(fh), // fwmark hash (th sport) → empty
  [{ op: 'set-real', name: 'fh', real: real('192.0.2.11', 8084) }], // empty → fwmark hash
];

const sh = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
};
// Traffic (raw mode): the sorry server and a's servers answer with their address from lo; connections
// from this namespace to a VIP are DNATed by the output hook.
const servers = useRaw
  ? await Promise.all(
      ['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.30'].map(async (addr) => {
        sh('addr', 'add', `${addr}/32`, 'dev', 'lo');
        const srv = createServer((c) => c.end(addr));
        await new Promise<void>((r) => srv.listen(8080, addr, r));
        return srv;
      }),
    )
  : [];
if (useRaw) for (const v of ['198.51.100.1', '198.51.100.4']) sh('addr', 'add', `${v}/32`, 'dev', 'lo');
function who(vip: string): Promise<string> {
  return new Promise<string>((resolve) => {
    let out = '';
    const c = connect(80, vip);
    c.setTimeout(3000, () => c.destroy(new Error('timeout')));
    c.on('data', (d) => {
      out += d;
    });
    c.on('end', () => resolve(out));
    c.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
  });
}

const dp = new NftDataplane(libnftRunner(), useRaw ? {} : { raw: false });
const r0 = await dp.start({ services: [a, h, d6, s, w, fh] });
if (!r0.ok) throw new Error(r0.error.message);
const routes: string[] = [];
for (const [i, plan] of steps.entries()) {
  const r = await dp.apply(plan);
  if (!r.ok) throw new Error(r.error.message);
  if (dp.lastRoute.rawError) throw new Error(dp.lastRoute.rawError);
  routes.push(dp.lastRoute.route);
  if (useRaw && i === 0) console.log(`traffic empty ${await who('198.51.100.1')}`);
  if (useRaw && i === 4) console.log(`traffic sorry ${await who('198.51.100.4')}`);
}
// A rebalance of the wlc service from conntrack counts (here made up: the first server busy).
const busy = dp.marks().get(markKey('w', { address: '192.0.2.10', port: 8083 }));
if (busy === undefined) throw new Error('no mark for w 192.0.2.10:8083');
const rb = await dp.rebalance(new Map([[busy, { active: 40, inactive: 0 }]]));
if (!rb.ok) throw new Error(rb.error.message);
if (dp.lastRoute.rawError) throw new Error(dp.lastRoute.rawError);
routes.push(dp.lastScript === '' ? 'nothing' : dp.lastRoute.route);
for (const srv of servers) srv.close();
console.log(`routes ${routes.join(',')}`);
const l = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
process.stdout.write(l.stdout);
await dp.stop(true);
process.exit(0);
