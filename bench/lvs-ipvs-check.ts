// Checks the IPVS back end against a real IPVS kernel: programs services through IpvsDataplane, and after
// each step compares `ipvsadm -Ln` with our own listing of the committed state (byte for byte).
// Run as root on a kernel with IPVS (modules ip_vs, ip_vs_wrr, ip_vs_sh, ip_vs_rr) and ipvsadm installed,
// e.g. inside a throwaway VM: it changes the IPVS table of the namespace it runs in and empties it at the end.
// Usage: node --import tsx bench/lvs-ipvs-check.ts   (exit status 1 on any difference)
import { execFileSync } from 'node:child_process';
import type { ServiceSpec } from '../src/lvs/dataplane.js';
import { IpvsDataplane } from '../src/lvs/ipvs-dataplane.js';
import { formatList } from '../src/lvs/list.js';

const flags = { hashPort: false, fallback: false, onePacket: false };
const web: ServiceSpec = {
  name: 'web',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: '192.0.2.100', port: 80 }],
  scheduler: 'wrr',
  flags,
  persistence: { timeoutS: 50, prefixLen: 24 },
  reals: [
    { address: '192.0.2.11', port: 8080, weight: 3, method: 'NAT' },
    { address: '192.0.2.12', port: 8080, weight: 1, method: 'NAT' },
  ],
  sorry: { address: '127.0.0.1', port: 80, weight: 1, method: 'NAT' },
  sorryActive: false,
};
const mail: ServiceSpec = {
  name: 'mail',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'fwmark', fwmark: 7 }],
  scheduler: 'sh',
  flags: { ...flags, hashPort: true, fallback: true },
  reals: [{ address: '192.0.2.21', port: 25, weight: 1, method: 'DR' }],
  sorryActive: false,
};
const dns6: ServiceSpec = {
  name: 'dns6',
  family: 6,
  protocol: 'udp',
  matches: [{ kind: 'addr', address: '2001:db8::53', port: 53 }],
  scheduler: 'rr',
  flags,
  reals: [{ address: '2001:db8::11', port: 53, weight: 2, method: 'NAT' }],
  sorryActive: false,
};

const d = new IpvsDataplane();
const avail = await d.available();
if (!avail.ok) {
  console.error(avail.reason);
  process.exit(2);
}
let failed = false;
function check(label: string): void {
  const theirs = execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8' });
  const ours = formatList(d.committed(), new Map(), new Map());
  const same = theirs === ours;
  failed ||= !same;
  console.log(`--- ${label}: ${same ? 'MATCH' : 'DIFF'}`);
  console.log(same ? theirs : `ipvsadm:\n${theirs}\nours:\n${ours}`);
}
async function step(label: string, p: Promise<{ ok: boolean }>): Promise<void> {
  const r = await p;
  if (!r.ok) {
    console.log(`${label}:`, r);
    failed = true;
  }
  check(label);
}
await step('start', d.start({ services: [web, mail, dns6] }));
const inhibited = { ...web, reals: [{ ...(web.reals[0] as ServiceSpec['reals'][number]), weight: 0 }] };
await step('inhibit one server, remove the other', d.update({ services: [inhibited, mail, dns6] }));
await step(
  'sorry server in, a service deleted',
  d.update({ services: [{ ...web, reals: [], sorryActive: true }, mail] }),
);
await step('stop', d.stop());
process.exit(failed ? 1 : 0);
