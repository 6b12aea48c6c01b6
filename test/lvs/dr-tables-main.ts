// Run inside a test namespace by dr-tables.test.ts: a data plane (libnftables, with its netlink table
// reader, as the checker has it) whose direct-routing services come and go, then restarts adopting what
// the run before left; prints, after each step, the tables present (`nft list tables`), whether the start
// adopted, and the DR flow entry standing for an established connection.
import type { Change, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { netlinkFlowReader } from '../../src/lvs/nft-flows.js';
import { CT_TABLE, LAYOUT_MARKER, markKey } from '../../src/lvs/nft-model.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';
import { addDrFlow, DR_FLOW, dr as drReal, nat, nftNamespaceSetup, svc } from './fixtures.js';

const nft = nftNamespaceSetup();
const base = { ...svc(''), scheduler: 'rr' as const };
const web: ServiceSpec = {
  ...base,
  name: 'web',
  matches: [{ kind: 'addr', address: '198.51.100.101', port: 80 }],
  reals: [nat('192.0.2.11', 8080)],
};
const dr: ServiceSpec = {
  ...base,
  name: 'dr',
  matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
  reals: [11, 12].map((i) => drReal(`198.51.100.${i}`, 80)),
};
const fw: ServiceSpec = {
  ...base,
  name: 'fw',
  matches: [{ kind: 'fwmark', fwmark: 7 }],
  reals: [13, 14].map((i) => drReal(`198.51.100.${i}`, 0)),
};
const fw6: ServiceSpec = {
  ...fw,
  name: 'fw6',
  family: 6,
  matches: [{ kind: 'fwmark', fwmark: 8 }],
  reals: [drReal('2001:db8::13', 0)],
};

const make = () =>
  new NftDataplane(libnftRunner(), {
    dr: { ingress: ['eth0'], egress: 'eth0' },
    flows: netlinkFlowReader(),
  });
const report = (label: string, dp: NftDataplane, ok: { ok: boolean }) => {
  if (!ok.ok) throw new Error(`${label}: ${JSON.stringify(ok)}`);
  const tables = nft('list', 'tables')
    .stdout.split('\n')
    .filter((l) => l.startsWith('table '))
    .map((l) => l.slice(6))
    // The conntrack policy table of the director's own connections comes with every start: not a DR table.
    .filter((t) => t !== `inet ${CT_TABLE}`)
    .sort();
  const flows = nft('list', 'map', 'netdev', 'keepalived_ts_dr', 'flows4');
  process.stdout.write(
    `${JSON.stringify({ label, tables, adopted: dp.lastAdoption.adopted, flow: flows.stdout.includes(DR_FLOW) })}\n`,
  );
};
const add = (s: ServiceSpec): Change[] => [{ op: 'add-service', service: s }];
const del = (s: ServiceSpec): Change[] => [{ op: 'del-service', name: s.name }];

let dp = make();
report('nat only', dp, await dp.start({ services: [web] }));
report('+dr', dp, await dp.apply(add(dr)));
report('+fw', dp, await dp.apply(add(fw)));
report('+fw6', dp, await dp.apply(add(fw6)));
// The tables made step by step are the ones a start makes: a resync (which adopts) finds every set,
// element and base chain as it wants them (it rewrites the regular chains, whose rules are not read back).
{
  const r = await dp.resync();
  if (!r.ok) throw new Error(r.error.message);
  const extra = dp.lastScript.split('\n').filter((l) => l !== '' && !/^(flush chain|add rule) /.test(l));
  process.stdout.write(`${JSON.stringify({ label: 'resync', extra })}\n`);
}
report('-fw6', dp, await dp.apply(del(fw6)));
// An established connection of the address DR service.
const mark = dp.marks().get(markKey('dr', { address: '198.51.100.12', port: 80 }));
addDrFlow(nft, mark);
report('-fw', dp, await dp.apply(del(fw)));
await dp.stop(true);
// Restarts adopting what the run before left: the DR table kept with its flow, one added, one dropped.
dp = make();
report('restart: dr', dp, await dp.start({ services: [web, dr] }));
await dp.stop(true);
dp = make();
report('restart: dr, fw', dp, await dp.start({ services: [web, dr, fw] }));
await dp.stop(true);
dp = make();
report('restart: fw', dp, await dp.start({ services: [web, fw] }));
report('-fw (last DR service)', dp, await dp.apply(del(fw)));
await dp.stop(true);
// An earlier version's tables (every DR table present, none used) are adopted, the unused ones deleted.
for (const t of ['netdev keepalived_ts_dr', 'ip keepalived_ts_drm', 'ip6 keepalived_ts_drm'])
  nft('add', 'table', ...t.split(' '), `{ comment "${LAYOUT_MARKER}"; }`);
dp = make();
report('restart over unused DR tables', dp, await dp.start({ services: [web] }));
await dp.stop();
report('stopped', dp, { ok: true });
