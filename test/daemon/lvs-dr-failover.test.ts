// Two directors under VRRP with the same LVS-DR virtual server, as keepalived users run them: a client,
// two keepalived-ts directors and three real servers (VIP on lo, arp_ignore/arp_announce) on one LAN. Both
// directors check the real servers and program their data plane; the master holds the VIP. Requests spread
// over all three; when the master's machine dies the backup takes the VIP and the service goes on through
// it; replies never pass a director (DR). A stopped real server leaves the pool of the director in charge.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { ip, Lab } from '../helpers/netns.js';
import {
  type ClientResult,
  counts,
  drRealServer,
  replyCounter,
  runClient,
  startServer,
  untilServed,
} from '../lvs/lab.js';
import { DR_REALS, DR_VIP, drDaemonConf, freshClient } from './lvs-daemon-lab.js';
import { killAllRouters, needsRoot, Router } from './router.js';

const skip = needsRoot();
const VIP = DR_VIP;
const RS = DR_REALS;
let lab: Lab;
let client = '';
const directors: string[] = [];
const reals: string[] = [];
const procs: ChildProcess[] = [];

const conf = (priority: number) => drDaemonConf({ vrid: 71, priority });

before(async () => {
  if (skip) return;
  lab = new Lab('lvsha');
  client = lab.addHost('cl');
  ip('-n', client, 'addr', 'add', '198.51.100.10/24', 'dev', 'eth0');
  for (const k of [1, 2]) {
    const ns = lab.addHost(`d${k}`);
    ip('-n', ns, 'addr', 'add', `198.51.100.${k}/24`, 'dev', 'eth0');
    directors.push(ns);
  }
  await Promise.all(
    RS.map((addr, i) => {
      const ns = drRealServer(lab, `rs${i + 1}`, addr, undefined, VIP);
      reals.push(ns);
      return startServer(procs, ns, `rs${i + 1}`, '0.0.0.0', 80);
    }),
  );
});

after(() => {
  killAllRouters();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  lab?.close();
});

const get = (n: number, durationMs = 0): Promise<ClientResult> =>
  runClient(procs, client, { count: n, concurrency: 1, target: VIP, from: '198.51.100.10', durationMs });

// Requests from fresh client ports, one after the other: rr over them is exact (lvs-daemon-lab.ts).
const fresh = freshClient(20_000);
const getFresh = (n: number): Promise<ClientResult> => fresh(procs, client, VIP, n);

/** Packets from the VIP seen arriving at each director (DR replies must not). */
const replies = new Map<string, () => number[]>();
const countReplies = (ns: string) => replies.set(ns, replyCounter(ns, { v4: VIP }, 'tcp sport 80'));
const repliesAt = (ns: string) => replies.get(ns)?.()[0] ?? -1;

const state: { d2?: Router } = {};

test('two LVS-DR directors under VRRP: the service survives the master', {
  skip,
  timeout: 120_000,
}, async () => {
  const [d1ns, d2ns] = directors as [string, string];
  for (const ns of directors) countReplies(ns);
  const d1 = new Router('d1', d1ns, conf(150));
  const d2 = new Router('d2', d2ns, conf(100));
  await d1.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await d2.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000);
  await untilServed(() => get(1));
  let r = await getFresh(30);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  // rr over 30 new flows: exactly a third each.
  assert.deepEqual(counts(r.names), { rs1: 10, rs2: 10, rs3: 10 });
  assert.equal(repliesAt(d1ns), 0, 'no reply passes the director');

  // The master's machine dies (its link is cut: a killed process alone would leave its VIP and its
  // nftables table answering in the kernel); requests keep coming during the takeover.
  const during = get(0, 3000);
  await new Promise((res) => setTimeout(res, 500));
  ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('d1'), 'down');
  d1.kill();
  await d2.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  const d = await during;
  // A few requests fall in the takeover (Master_Down_Interval ~0.35 s at 0.1 s adverts); then all pass.
  assert.ok(
    d.names.length > 20,
    `requests answered across the failover: ${d.names.length}, errors ${d.errors}`,
  );
  r = await getFresh(30);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  // rr over 30 new flows through the new master: exactly a third each.
  assert.deepEqual(counts(r.names), { rs1: 10, rs2: 10, rs3: 10 }, 'rr through the new master');
  assert.equal(repliesAt(d2ns), 0, 'no reply passes the new director either');

  state.d2 = d2;
});

test('LVS-DR: a stopped real server leaves the pool of the director in charge', {
  skip,
  timeout: 60_000,
  // A reused client port whose flow entry named the removed server used to be re-picked on every packet
  // (the packet path only refreshes an entry, never changes it) and reset by another server; the data
  // plane now deletes the removed server's flow entries with it (docs/lvs.md, "Forwarding").
}, async () => {
  const d2 = state.d2;
  assert.ok(d2, 'the failover test ran first');
  // A real server stops: it leaves the new master's pool.
  const mark = d2.mark();
  procs.find((p) => p.spawnargs.includes(reals[1]!))?.kill('SIGKILL');
  await d2.waitFor(
    /Removing service \[198\.51\.100\.12\]:tcp:80 from VS \[198\.51\.100\.100\]:tcp:80/,
    10_000,
    mark,
  );
  await new Promise((res) => setTimeout(res, 300));
  const r = await get(20);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  assert.deepEqual(Object.keys(counts(r.names)).sort(), ['rs1', 'rs3']);
  assert.equal(await d2.stop('SIGTERM', 10_000), 0);
});
