// SCTP through the nftables data plane: NAT and DR for a fwmark virtual server, and DR for an SCTP virtual
// server by address (docs/lvs.md, "SCTP"). This kernel has no SCTP sockets (CONFIG_IP_SCTP off:
// socket(…, IPPROTO_SCTP) fails with EPROTONOSUPPORT) but its netfilter tracks, NATs and matches SCTP, and
// raw sockets carry it: test/lvs/sctp-peer.py sends an INIT from the client and answers it from each real
// server with an INIT ACK naming the server and the port the INIT reached (its State Cookie). An
// association's first exchange is what the data plane acts on (scheduling, NAT, DR flow entry); nothing
// after it differs from other packets of the flow.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DataplaneState, ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliFlowReader } from '../../src/lvs/nft-flows.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { isRoot, Lab, nsExec } from '../helpers/netns.js';
import { dr, NO_FLAGS } from './fixtures.js';
import { DR_RS, drDataplane, drLan, markVip, NatLab, replyCounter, VIP } from './lab.js';

const PEER = fileURLToPath(new URL('./sctp-peer.py', import.meta.url));
const python = spawnSync('python3', ['-c', 'pass']).status === 0;
const skip =
  (!isRoot() && 'needs root') || (!python && 'needs python3 (scripts/prerequisites.mjs installs it)');

/** Starts the SCTP responder `name` in `ns`; resolves once its raw socket is open. */
function serve(procs: ChildProcess[], ns: string, name: string): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns, 'python3', PEER, 'serve', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(p);
  return new Promise((resolve, reject) => {
    p.stdout?.once('data', () => resolve());
    p.once('exit', (c) => reject(new Error(`sctp responder ${name} exited ${c}`)));
  });
}

/** One INIT from `ns`:sport to target:dport; the INIT ACK's source address and cookie ("rs1:5000"). */
function associate(
  ns: string,
  target: string,
  dport: number,
  sport: number,
): { from: string; cookie: string } {
  const r = nsExec(ns, 'python3', [PEER, 'init', target, String(dport), String(sport)]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim()) as { from?: string; cookie?: string; error?: string };
  assert.equal(out.error, undefined, `INIT ${sport} → ${target}:${dport}: ${out.error}`);
  return { from: out.from as string, cookie: out.cookie as string };
}

const fwmark9 = (method: 'NAT' | 'DR', addrs: string[]): DataplaneState => ({
  services: [
    {
      name: 'FWM 9/v4',
      family: 4,
      protocol: 'tcp',
      matches: [{ kind: 'fwmark', fwmark: 9 }],
      scheduler: 'rr',
      flags: { ...NO_FLAGS },
      // Without a port: under a fwmark a packet keeps its destination port (IPVS's port 0).
      reals: addrs.map((a) => ({ address: a, port: 0, weight: 1, method })),
      sorryActive: false,
      method,
    },
  ],
});

const names = (cookies: string[]) => cookies.map((c) => c.split(':')[0]).sort();

describe('SCTP through the nftables data plane (raw-socket INIT / INIT ACK)', { skip }, () => {
  const procs: ChildProcess[] = [];
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('NAT, fwmark: INITs to two ports are spread rr, keep their port, and are answered from the VIP', async () => {
    const lab = new NatLab('sctpn');
    cleanup.push(() => lab.close());
    await Promise.all(lab.reals.map((ns, i) => serve(procs, ns, `rs${i + 1}`)));
    markVip(lab.director);
    const dp = new NftDataplane(cliRunner({ netns: lab.director }));
    cleanup.push(() => dp.stop());
    assert.deepEqual(await dp.start(fwmark9('NAT', ['192.0.2.11', '192.0.2.12', '192.0.2.13'])), {
      ok: true,
    });
    for (const [port, sports] of [
      [5000, [42001, 42002, 42003]],
      [5001, [42011, 42012, 42013]],
    ] as const) {
      const got = sports.map((sp) => associate(lab.client, VIP, port, sp));
      assert.ok(
        got.every((g) => g.from === VIP),
        `answers come from the VIP: ${JSON.stringify(got)}`,
      );
      assert.ok(
        got.every((g) => g.cookie.endsWith(`:${port}`)),
        `port ${port} kept: ${JSON.stringify(got)}`,
      );
      assert.deepEqual(names(got.map((g) => g.cookie)), ['rs1', 'rs2', 'rs3']);
    }
    // conntrack saw SCTP associations carrying the servers' marks (what the listing counts).
    const ct = nsExec(lab.director, 'cat', ['/proc/net/nf_conntrack']).stdout;
    assert.match(ct, /sctp .* dport=5000 .* mark=[1-9]/);
  });

  it('DR, fwmark: INITs are spread rr and answered by the real servers directly', async () => {
    const lab = new Lab('sctpd');
    cleanup.push(() => lab.close());
    const { client, director, reals } = await drLan(lab, procs, 'sf');
    await Promise.all(reals.map((ns, i) => serve(procs, ns, `rs${i + 1}`)));
    markVip(director);
    const replies = replyCounter(director, { v4: VIP }, 'meta l4proto sctp');
    const dp = drDataplane(director);
    cleanup.push(() => dp.stop());
    assert.deepEqual(await dp.start(fwmark9('DR', DR_RS)), { ok: true });
    const got = [43001, 43002, 43003].map((sp) => associate(client, VIP, 5000, sp));
    assert.ok(
      got.every((g) => g.from === VIP && g.cookie.endsWith(':5000')),
      JSON.stringify(got),
    );
    assert.deepEqual(names(got.map((g) => g.cookie)), ['rs1', 'rs2', 'rs3']);
    assert.deepEqual(replies(), [0]);
    // One flow entry per association, with SCTP's idle timeout (the map's 900 s).
    const flows = await cliFlowReader(director).list('fm4/flows');
    assert.equal(flows.filter((f) => / 5000$/.test(f.key)).length, 3, JSON.stringify(flows));
  });

  it('DR by address: an SCTP virtual server is programmed (no longer refused) and INITs reach every server', async () => {
    const lab = new Lab('sctpa');
    cleanup.push(() => lab.close());
    const { client, director, reals } = await drLan(lab, procs, 'sa');
    await Promise.all(reals.map((ns, i) => serve(procs, ns, `rs${i + 1}`)));
    const replies = replyCounter(director, { v4: VIP }, 'meta l4proto sctp');
    const dp = drDataplane(director);
    cleanup.push(() => dp.stop());
    const sctp: ServiceSpec = {
      name: 'sctp',
      family: 4,
      protocol: 'sctp',
      matches: [{ kind: 'addr', address: VIP, port: 5000 }],
      scheduler: 'rr',
      flags: { ...NO_FLAGS },
      reals: DR_RS.map((a) => dr(a, 5000)),
      sorryActive: false,
      method: 'DR',
    };
    assert.deepEqual(await dp.start({ services: [sctp] }), { ok: true });
    const got = [44001, 44002, 44003].map((sp) => associate(client, VIP, 5000, sp));
    assert.ok(
      got.every((g) => g.from === VIP && g.cookie.endsWith(':5000')),
      JSON.stringify(got),
    );
    assert.deepEqual(names(got.map((g) => g.cookie)), ['rs1', 'rs2', 'rs3']);
    assert.deepEqual(replies(), [0]);
    // The same client port again follows its flow entry to the same server.
    const again = associate(client, VIP, 5000, 44001);
    assert.equal(again.cookie, got[0]?.cookie);
    // Other ports of the VIP are not the service's: an INIT to 5001 is not forwarded (no answer).
    const r = nsExec(client, 'python3', [PEER, 'init', VIP, '5001', '44009', '0.5']);
    assert.match(r.stdout, /timeout/);
  });
});
