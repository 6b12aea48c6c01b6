// The daemon end to end with an LVS-DR virtual server matched by fwmark (`virtual_server fwmark 7`,
// lb_kind DR): a client, a keepalived-ts director whose VRRP instance holds the VIP and whose
// administrator marks the VIP's port 80 with an nft mangle rule, and three real servers (VIP on lo,
// arp_ignore/arp_announce) checked by TCP_CHECK, on one LAN. Requests spread rr over the three through the
// fwmark DR table (docs/lvs.md, "Forwarding"), replies bypass the director, and a stopped real server
// leaves the pool. The virtual server has no `protocol` (keepalived ignores it for fwmark): the mark is
// set on every packet for the VIP, and UDP datagrams reach the real servers as TCP requests do (before,
// the data plane took a missing protocol for UDP and refused every TCP request).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Lab, nsExec } from '../helpers/netns.js';
import {
  counts,
  drClientDirector,
  drRealServer,
  runClient,
  startServer,
  startUdpServer,
  udpRun,
  untilServed,
} from '../lvs/lab.js';
import { DR_REALS, DR_VIP, drDaemonConf, freshClient } from './lvs-daemon-lab.js';
import { killAllRouters, needsRoot, Router } from './router.js';

const skip = needsRoot();
const VIP = DR_VIP;
let lab: Lab;
let client = '';
let director = '';
const reals: string[] = [];
const procs: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  lab = new Lab('drfwm');
  ({ client, director } = drClientDirector(lab, 'cl', 'd1'));
  // The administrator's marking (mangle prerouting), and a counter of replies reaching the director.
  const r = nsExec(director, 'nft', [
    [
      'add table inet kats_mangle',
      'add chain inet kats_mangle m { type filter hook prerouting priority mangle; policy accept; }',
      `add rule inet kats_mangle m ip daddr ${VIP} meta mark set 7`,
      'add table netdev kats_cnt',
      'add chain netdev kats_cnt c { type filter hook ingress device "eth0" priority -500; policy accept; }',
      `add rule netdev kats_cnt c ip saddr ${VIP} th sport 80 counter`,
    ].join('; '),
  ]);
  assert.equal(r.status, 0, r.stderr);
  await Promise.all(
    DR_REALS.map((addr, i) => {
      const ns = drRealServer(lab, `rs${i + 1}`, addr, undefined, VIP);
      reals.push(ns);
      // UDP bound to the VIP, so that its answers leave from it.
      return Promise.all([
        startServer(procs, ns, `rs${i + 1}`, '0.0.0.0', 80),
        startUdpServer(procs, ns, `rs${i + 1}`, VIP, 80),
      ]);
    }),
  );
});

after(() => {
  killAllRouters();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  lab?.close();
});

const replies = () =>
  Number(
    /packets (\d+)/.exec(nsExec(director, 'nft', ['list', 'table', 'netdev', 'kats_cnt']).stdout)?.[1] ?? -1,
  );
const get = (n: number) => runClient(procs, client, { count: n, concurrency: 1, target: VIP });
const fresh = freshClient(21_000);

test('LVS-DR by fwmark: the daemon spreads marked requests rr, replies bypass it, a stopped server leaves', {
  skip,
  timeout: 60_000,
}, async () => {
  const d = new Router('d1', director, drDaemonConf({ vrid: 73, priority: 150, fwmark: 7 }));
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  // The checker programs the table once the real servers have been checked.
  await untilServed(() => get(1));
  let r = await fresh(procs, client, VIP, 30);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  // rr over 30 new flows: exactly a third each.
  assert.deepEqual(counts(r.names), { rs1: 10, rs2: 10, rs3: 10 });
  assert.equal(replies(), 0, 'no reply passes the director');
  // They went through the fwmark table (ip keepalived_ts_drm); no DR service by address, no netdev table.
  const drm = nsExec(director, 'nft', ['list', 'map', 'ip', 'keepalived_ts_drm', 'flows']);
  assert.equal(drm.status, 0, drm.stderr);
  assert.ok((drm.stdout.match(/ : 0x/g) ?? []).length >= 30, 'flow entries in the fwmark table');
  assert.notEqual(nsExec(director, 'nft', ['list', 'table', 'netdev', 'keepalived_ts_dr']).status, 0);
  // UDP to the marked VIP: three new flows, each answered by one real server, all three used.
  const udp: string[] = [];
  for (const sport of [42001, 42002, 42003]) {
    const u = await udpRun(procs, client, { count: 2, port: 80, sport, target: VIP });
    assert.equal(u.errors, 0, JSON.stringify(u));
    assert.equal(new Set(u.names).size, 1, `one flow, one server: ${u.names}`);
    udp.push(...u.names);
  }
  assert.deepEqual([...new Set(udp)].sort(), ['rs1', 'rs2', 'rs3']);

  // A real server stops: TCP_CHECK fails, it leaves the pool, and new requests go to the other two.
  const mark = d.mark();
  procs.find((p) => p.spawnargs.includes(reals[1] as string))?.kill('SIGKILL');
  await d.waitFor(/Removing service \[198\.51\.100\.12\]:\S+ from VS FWM 7/, 10_000, mark);
  await new Promise((res) => setTimeout(res, 300));
  r = await fresh(procs, client, VIP, 20);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  assert.deepEqual(counts(r.names), { rs1: 10, rs3: 10 });
  assert.equal(replies(), 0);
  assert.equal(await d.stop('SIGTERM', 10_000), 0);
  // Stopped: its tables are gone.
  assert.notEqual(nsExec(director, 'nft', ['list', 'table', 'ip', 'keepalived_ts_drm']).status, 0);
});
