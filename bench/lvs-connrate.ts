// New TCP connections per second from a client through the director: our nftables LVS ruleset (rr over
// three real servers, VIP port 80) beside a hand-written single DNAT rule (the floor of what nftables
// costs: one rule rotating over the same three servers, VIP port 81), and that rule again with its packets
// counted by our traffic counter set (port 82: the counters' own cost), in the same namespaces and run,
// rotating, several rounds.
// The client connects and closes at once (no payload), so the director's per-connection work is what
// differs between the two. Bounded: rounds × 2 × seconds. Namespaces only.
// Usage (root): node --import tsx bench/lvs-connrate.ts [rounds=10] [seconds=2] [concurrency=32]
// Fewer than ~10 rounds is noise on a shared machine (5 rounds gave ratios of 0.73–1.02 in one hour).
import { spawn } from 'node:child_process';
import type { ServiceSpec } from '../src/lvs/dataplane.js';
import { NftDataplane } from '../src/lvs/nft-dataplane.js';
import { cliRunner } from '../src/lvs/nft-runner.js';
import { nsExec } from '../test/helpers/netns.js';
import { NatLab, REALS, VIP } from '../test/lvs/lab.js';

const rounds = Number(process.argv[2] ?? 10);
const seconds = Number(process.argv[3] ?? 2);
const concurrency = Number(process.argv[4] ?? 32);

const clientJs = `
const net = require('node:net');
const [port, ms, conc] = process.argv.slice(1).map(Number);
let n = 0, errors = 0; const end = Date.now() + ms;
function one() {
  if (Date.now() >= end) return Promise.resolve();
  return new Promise((res) => {
    const s = net.connect({ host: '${VIP}', port }, () => { n++; s.destroy(); res(); });
    s.on('error', () => { errors++; res(); });
  }).then(one);
}
Promise.all(Array.from({ length: conc }, one)).then(() => console.log(JSON.stringify({ n, errors })));
`;

function run(lab: NatLab, port: number): Promise<{ n: number; errors: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.client,
        process.execPath,
        '-e',
        clientJs,
        String(port),
        String(seconds * 1000),
        String(concurrency),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`client: ${out}`));
      }
    });
  });
}

const lab = new NatLab();
try {
  await lab.startServers();
  // Short TIME_WAIT reuse on the client so tens of thousands of connections do not exhaust its ports.
  nsExec(lab.client, 'sysctl', [
    '-qw',
    'net.ipv4.tcp_tw_reuse=1',
    'net.ipv4.ip_local_port_range=10000 65000',
  ]);
  const svc: ServiceSpec = {
    name: 'web',
    family: 4,
    protocol: 'tcp',
    matches: [{ kind: 'addr', address: VIP, port: 80 }],
    scheduler: 'rr',
    flags: { hashPort: false, fallback: false, onePacket: false },
    reals: REALS.map((address) => ({ address, port: 8080, weight: 1, method: 'NAT' as const })),
    sorryActive: false,
  };
  const dp = new NftDataplane(cliRunner({ netns: lab.director }));
  const r = await dp.start({ services: [svc] });
  if (!r.ok) throw new Error(r.error.message);
  const spread = `numgen inc mod 3 map { ${REALS.map((a, i) => `${i} : ${a} . 8080`).join(', ')} }`;
  // Port 82: the same single rule, but its connections carry a conntrack mark, so our table's traffic
  // counter rule (nft-model.ts, COUNTER_SET) counts their packets: 82 against 81 is what the counters cost.
  const hand = nsExec(lab.director, 'nft', [
    `add table ip handdnat; add chain ip handdnat pre { type nat hook prerouting priority dstnat; policy accept; }; add rule ip handdnat pre ip daddr ${VIP} tcp dport 81 dnat ip to ${spread}; add rule ip handdnat pre ip daddr ${VIP} tcp dport 82 ct mark set 0x7fff dnat ip to ${spread}`,
  ]);
  if (hand.status !== 0) throw new Error(hand.stderr);
  const ours: number[] = [];
  const floor: number[] = [];
  const counted: number[] = [];
  let errors = 0;
  for (let i = 0; i < rounds; i++) {
    // Rotate which goes first, so drift in machine load hits all alike.
    const order = [
      [80, 81, 82],
      [81, 82, 80],
      [82, 80, 81],
    ][i % 3]!;
    for (const port of order) {
      const res = await run(lab, port);
      errors += res.errors;
      (port === 80 ? ours : port === 81 ? floor : counted).push(res.n / seconds);
    }
  }
  await dp.stop();
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.table([
    {
      ruleset: 'keepalived-ts (rr, 3 servers)',
      medianCps: Math.round(med(ours)),
      meanCps: Math.round(mean(ours)),
    },
    {
      ruleset: 'hand-written single DNAT rule (rr)',
      medianCps: Math.round(med(floor)),
      meanCps: Math.round(mean(floor)),
    },
    {
      ruleset: 'the same rule, packets counted by our counter set',
      medianCps: Math.round(med(counted)),
      meanCps: Math.round(mean(counted)),
    },
  ]);
  // Per-round ratios (same round, adjacent runs) are steadier than ratios of medians on a loaded machine.
  const perRound = (a: number[], b: number[]) => med(a.map((x, k) => x / (b[k] ?? Number.NaN)));
  console.log(
    `median per-round ratio: ours/floor ${perRound(ours, floor).toFixed(3)}, counted/floor ${perRound(counted, floor).toFixed(3)}`,
  );
  console.log(
    `ratio of medians ${(med(ours) / med(floor)).toFixed(3)}, of means ${(mean(ours) / mean(floor)).toFixed(3)} (target ≥ 0.9); ${rounds} rounds × ${seconds} s, concurrency ${concurrency}; connection errors ${errors}`,
  );
} finally {
  lab.close();
}
