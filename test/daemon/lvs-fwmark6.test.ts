// The daemon end to end with an IPv6 fwmark virtual server on the nftables data plane: `virtual_server
// fwmark 16` whose real servers are IPv6 (so is the service: docs/lvs.md, "The address family of a virtual
// server"), NAT, TCP_CHECKed. The director's administrator marks TCP to the IPv6 VIP's port 80 with an nft
// mangle rule; requests from the client spread rr over the three real servers (port 80 → their 8080), a
// stopped real server leaves the pool and no request fails after that, and a stop removes the tables.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { nsExec } from '../helpers/netns.js';
import { counts, NatLab, REALS6, VIP6 } from '../lvs/lab.js';
import { BIN, killAllRouters, needsRoot, Router } from './router.js';

const skip = needsRoot();
const MARK = 16;
const conf = `virtual_server fwmark ${MARK} {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
${REALS6.map(
  (a) => `  real_server ${a} 8080 {
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }`,
).join('\n')}
}
`;

let lab: NatLab;
before(async () => {
  if (skip) return;
  lab = new NatLab('f6');
  const r = nsExec(lab.director, 'nft', [
    [
      'add table inet kats_mangle',
      'add chain inet kats_mangle m { type filter hook prerouting priority mangle; policy accept; }',
      `add rule inet kats_mangle m ip6 daddr ${VIP6} tcp dport 80 meta mark set ${MARK}`,
    ].join('; '),
  ]);
  assert.equal(r.status, 0, r.stderr);
  await lab.startServers();
  await lab.ipv6Settled();
});
after(() => {
  killAllRouters();
  lab?.close();
});

const get = (n: number) => lab.clientRun({ count: n, from: '2001:db8:1::10', target: VIP6 });

test('IPv6 fwmark NAT through the daemon: marked requests spread rr, a stopped server leaves the pool', {
  skip,
  timeout: 60_000,
}, async () => {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'kats-fwm6-')), 'checkers.pid');
  const d = new Router('f6', lab.director, conf, { extraArgs: ['-c', pidFile] });
  // The checker programs the service once its checks have run.
  for (let k = 0; k < 50 && (await get(1)).errors > 0; k++) await new Promise((r) => setTimeout(r, 200));
  let r = await get(30);
  assert.equal(r.errors, 0, `${JSON.stringify(r.errs)}\n${d.log().slice(-2000)}`);
  assert.deepEqual(counts(r.names), { rs1: 10, rs2: 10, rs3: 10 });
  // The service is IPv6 (its real servers' family), listed as ipvsadm lists one.
  const list = nsExec(lab.director, process.execPath, [BIN, '--lvs-list', '-c', pidFile]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`FWM {2}${MARK} IPv6 rr`), list.stdout);
  for (const a of REALS6) assert.match(list.stdout, new RegExp(`-> \\[${a}\\]:8080 +Masq +1 `));

  // rs2 stops: TCP_CHECK fails, it leaves the pool, and no request fails or reaches it after that.
  const mark = d.mark();
  await lab.stopReal(1);
  await d.waitFor(/Removing service \[2001:db8:2::12\]:\S+ from VS FWM 16/, 10_000, mark);
  await new Promise((res) => setTimeout(res, 300));
  r = await get(20);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  assert.deepEqual(counts(r.names), { rs1: 10, rs3: 10 });

  assert.equal(await d.stop('SIGTERM', 10_000), 0);
  assert.doesNotMatch(nsExec(lab.director, 'nft', ['list', 'tables']).stdout, /keepalived_ts/);
});
