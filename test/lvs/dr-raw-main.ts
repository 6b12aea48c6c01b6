// Run inside a test namespace by dr-raw.test.ts: programs direct-routing services (by address in the
// netdev table, rotating and hashing, IPv4 and IPv6; one by fwmark in the `ip` table) through
// libnftables, applies the same verdicts (pools emptied and refilled among them) with
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
// Hashing picks: sh with the source port (netdev, IPv4) and dh (netdev, IPv6, UDP).
const h: ServiceSpec = {
  ...base,
  name: 'h',
  family: 4,
  scheduler: 'sh',
  flags: { ...base.flags, hashPort: true },
  matches: [{ kind: 'addr', address: '198.51.100.101', port: 80 }],
};
const d6: ServiceSpec = {
  ...base,
  name: 'd6',
  family: 6,
  protocol: 'udp',
  scheduler: 'dh',
  matches: [{ kind: 'addr', address: '2001:db8::100', port: 53 }],
  reals: [1, 2].map((i) => ({ address: `2001:db8::${10 + i}`, port: 0, weight: 1, method: 'DR' as const })),
};
const allDown = (svc: ServiceSpec): Change[] =>
  svc.reals.map((r) => ({ op: 'set-real', name: svc.name, real: { ...r, weight: 0 } }));
const dp = new NftDataplane(libnftRunner(), {
  dr: { ingress: ['eth0'], egress: 'eth0' },
  ...(useRaw ? {} : { raw: false }),
});
const steps: Change[][] = [
  [{ op: 'set-real', name: 'a', real: real(1, 0) }],
  [{ op: 'set-real', name: 'f', real: real(2, 0) }],
  [{ op: 'add-real', name: 'f', real: real(4) }],
  [{ op: 'set-real', name: 'a', real: real(1) }],
  allDown(h), // hash → empty pool: `meta mark set 0x0`
  [{ op: 'set-real', name: 'h', real: real(2) }], // empty → hash
  allDown({ ...f, reals: [...f.reals, real(4)] }), // rotation → empty, in the fwmark table
  [{ op: 'set-real', name: 'f', real: real(0) }], // empty → rotation
  allDown(d6), // IPv6 hash → empty
  [{ op: 'set-real', name: 'd6', real: d6.reals[0] as RealServerSpec }], // empty → IPv6 hash
  allDown({ ...f, reals: [...f.reals, real(4)] }), // the fwmark table's pool empty again, left so for the ruleset
];
const r = await dp.start({ services: [a, f, h, d6] });
if (!r.ok) throw new Error(r.error.message);
const routes: string[] = [];
for (const plan of steps) {
  const u = await dp.apply(plan);
  if (!u.ok) throw new Error(u.error.message);
  routes.push(dp.lastRoute.route);
}
process.stdout.write(`routes ${routes.join(',')}\n`);
process.stdout.write(spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout);
