// Run inside a test namespace by nft-adopt.test.ts: successive runs of the data plane (libnftables, its
// netlink table reader and flow reader, as the checker process has them) on the tables the run before
// left, with lvs_timeouts the same, changed, gone and back over a hand-altered object. A DR flow entry
// stands for an established connection. Prints one JSON line per run.
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { netlinkFlowReader } from '../../src/lvs/nft-flows.js';
import { type CtTimeouts, markKey } from '../../src/lvs/nft-model.js';
import { libnftRunner } from '../../src/lvs/nft-runner.js';
import { addDrFlow, DR_FLOW, dr, nat, nftNamespaceSetup, svc } from './fixtures.js';

const nft = nftNamespaceSetup();
const base = { ...svc(''), scheduler: 'rr' as const };
const services: ServiceSpec[] = [
  {
    ...base,
    name: 'dr',
    matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
    reals: [11, 12, 13].map((i) => dr(`198.51.100.${i}`, 80)),
  },
  {
    ...base,
    name: 'web',
    matches: [{ kind: 'addr', address: '198.51.100.101', port: 80 }],
    reals: [11, 12].map((i) => nat(`192.0.2.${i}`, 8080)),
  },
  {
    ...base,
    name: 'dns',
    protocol: 'udp',
    matches: [{ kind: 'addr', address: '198.51.100.101', port: 53 }],
    reals: [11, 12].map((i) => nat(`192.0.2.${i}`, 5353)),
  },
];

async function run(label: string, timeouts: CtTimeouts | undefined, keep = true): Promise<NftDataplane> {
  const logs: string[] = [];
  const dp = new NftDataplane(libnftRunner(), {
    dr: { ingress: ['eth0'], egress: 'eth0' },
    flows: netlinkFlowReader(),
    ...(timeouts ? { timeouts } : {}),
    log: (m) => logs.push(m),
  });
  const r = await dp.start({ services });
  if (!r.ok) throw new Error(`${label}: ${r.error.message}`);
  const flows = nft('list', 'map', 'netdev', 'keepalived_ts_dr', 'flows4').stdout;
  const table = nft('list', 'table', 'inet', 'keepalived_ts').stdout;
  process.stdout.write(
    `${JSON.stringify({
      label,
      adopted: dp.lastAdoption.adopted,
      script: dp.lastScript.split('\n').filter((l) => /ct timeout|^delete (set|map) /.test(l)),
      flow: flows.includes(DR_FLOW),
      objects: [...table.matchAll(/ct timeout (\S+) \{[^}]*policy = \{ ([^}]*) \}/gs)].map(
        (m) => `${m[1]}: ${m[2]}`,
      ),
      rules: [...table.matchAll(/ct timeout set "([^"]+)"/g)].map((m) => m[1]),
      logs,
    })}\n`,
  );
  if (keep) await dp.stop(true);
  return dp;
}

const first = await run('first', { tcp: 7200, tcpfin: 30, udp: 77 });
// An established DR connection of the first run: its flow entry names one of the service's servers.
const mark = first.marks().get(markKey('dr', { address: '198.51.100.12', port: 80 }));
addDrFlow(nft, mark);
await run('same', { tcp: 7200, tcpfin: 30, udp: 77 });
await run('changed', { tcp: 3600, udp: 50 });
await run('gone', undefined);
// An object of our name whose values are not ours: replaced, not trusted by its name.
nft(
  'add',
  'ct',
  'timeout',
  'inet',
  'keepalived_ts',
  'to_udp_50',
  '{ protocol udp; policy = { unreplied: 10, replied: 10 }; }',
);
await run('altered', { udp: 50 });
