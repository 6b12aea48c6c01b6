// A fwmark virtual server without `protocol` forwards TCP and UDP alike, as IPVS does (keepalived ignores
// the keyword for fwmark; docs/lvs.md, "fwmark services and protocols"). The services are built from a
// configuration text, so the default a missing `protocol` gets (UDP for the name) is the real one: NAT on
// NatLab (real servers with HTTP and UDP on 8080), DR on the DR LAN (HTTP and UDP on port 80, UDP bound to
// the VIP so replies leave from it). The director marks every packet for the VIP in mangle prerouting.
// Before the change the service matched UDP only and every TCP request here failed.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { DataplaneState } from '../../src/lvs/dataplane.js';
import { desiredFromConfig } from '../../src/lvs/from-config.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { isRoot, Lab, nsExec } from '../helpers/netns.js';
import {
  counts,
  DR_RS,
  drDataplane,
  drLan,
  markVip,
  NatLab,
  REALS,
  replyCounter,
  runClient,
  startServer,
  startUdpServer,
  udpRun,
  VIP,
} from './lab.js';

const skip = !isRoot() && 'needs root';

/** The desired state of one `virtual_server fwmark 9` without `protocol`, parsed from its text. */
function stateOf(method: 'NAT' | 'DR', reals: string[], port: string, extra = ''): DataplaneState {
  const dir = mkdtempSync(join(tmpdir(), 'kats-fwmp-'));
  try {
    const file = join(dir, 'keepalived.conf');
    writeFileSync(
      file,
      `virtual_server fwmark 9 {\n  lb_algo rr\n  lb_kind ${method}\n${extra}${reals
        .map((a) => `  real_server ${a}${port} {\n    weight 1\n  }\n`)
        .join('')}}\n`,
    );
    const { config } = loadConfig(file, { configId: 'test', env: {} });
    const { state, errors } = desiredFromConfig(config, new Map());
    assert.deepEqual(errors, []);
    assert.equal(state.services.length, 1);
    return state;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = (ns: string[]) => [...new Set(ns)].sort();

describe('fwmark services without `protocol` forward TCP and UDP (nftables)', { skip }, () => {
  const procs: ChildProcess[] = [];
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('NAT: TCP and UDP requests to the marked VIP reach the real servers, rr', async () => {
    const lab = new NatLab('fwmp');
    cleanup.push(() => lab.close());
    await lab.startServers();
    await lab.startUdpServers(8080);
    markVip(lab.director);
    const dp = new NftDataplane(cliRunner({ netns: lab.director }));
    cleanup.push(() => dp.stop());
    const state = stateOf('NAT', REALS, ' 8080');
    assert.deepEqual(await dp.start(state), { ok: true });
    const tcp = await lab.clientRun({ count: 6, port: 80 });
    assert.equal(tcp.errors, 0, tcp.errs.join());
    assert.deepEqual(counts(tcp.names), { rs1: 2, rs2: 2, rs3: 2 });
    // UDP from three source ports: three flows, each scheduled once, each answered by a real server.
    const udp: string[] = [];
    for (const sport of [41001, 41002, 41003]) {
      const u = await lab.udpRun(2, 80, sport);
      assert.equal(u.errors, 0, JSON.stringify(u));
      assert.equal(new Set(u.names).size, 1, `one flow, one server: ${u.names}`);
      udp.push(...u.names);
    }
    assert.deepEqual(names(udp), ['rs1', 'rs2', 'rs3']);
    // Packets of other protocols carrying the mark are left alone: a ping to the VIP is the director's.
    const ping = nsExec(lab.client, 'ping', ['-c1', '-W2', VIP]);
    assert.equal(ping.status, 0, ping.stdout);
  });

  it('NAT, real servers without a port: each connection keeps its destination port (IPVS: port 0 = unchanged), with and without persistence', async () => {
    const lab = new NatLab('fwmp0');
    cleanup.push(() => lab.close());
    // Every real server answers on two ports with its name and the port: rs1:80, rs1:8080, …
    await Promise.all(
      lab.reals.flatMap((ns, i) =>
        [80, 8080].map((port) => startServer(procs, ns, `rs${i + 1}:${port}`, '::', port)),
      ),
    );
    markVip(lab.director);
    const dp = new NftDataplane(cliRunner({ netns: lab.director }));
    cleanup.push(() => dp.stop());
    assert.deepEqual(await dp.start(stateOf('NAT', REALS, '')), { ok: true });
    for (const port of [80, 8080]) {
      const r = await lab.clientRun({ count: 3, port });
      assert.equal(r.errors, 0, `port ${port}: ${r.errs.join()}`);
      assert.deepEqual(
        names(r.names),
        ['rs1', 'rs2', 'rs3'].map((n) => `${n}:${port}`),
      );
    }
    // Persistence: one client stays on one server, on whichever port it connects to.
    assert.deepEqual(await dp.update(stateOf('NAT', REALS, '', '  persistence_timeout 60\n')), { ok: true });
    const seen: string[] = [];
    for (const port of [80, 8080, 80, 8080]) {
      const r = await lab.clientRun({ count: 2, port });
      assert.equal(r.errors, 0, `port ${port}: ${r.errs.join()}`);
      assert.ok(
        r.names.every((n) => n.endsWith(`:${port}`)),
        `port ${port}: ${r.names}`,
      );
      seen.push(...r.names.map((n) => n.split(':')[0] as string));
    }
    assert.equal(new Set(seen).size, 1, `one server for the persistent client: ${seen}`);
  });

  it('DR: TCP and UDP requests to the marked VIP reach the real servers, replies bypass the director', async () => {
    const lab = new Lab('fwmpdr');
    cleanup.push(() => lab.close());
    const { client, director } = await drLan(lab, procs);
    await Promise.all(
      DR_RS.map((_a, i) =>
        startUdpServer(procs, lab.hosts.get(`rs${i + 1}`) as string, `rs${i + 1}`, VIP, 80),
      ),
    );
    markVip(director);
    const replies = replyCounter(director, { v4: VIP });
    const dp = drDataplane(director);
    cleanup.push(() => dp.stop());
    assert.deepEqual(await dp.start(stateOf('DR', DR_RS, '')), { ok: true });
    const tcp = await runClient(procs, client, { count: 6 });
    assert.equal(tcp.errors, 0, tcp.errs.join());
    assert.deepEqual(counts(tcp.names), { rs1: 2, rs2: 2, rs3: 2 });
    const udp: string[] = [];
    for (const sport of [41011, 41012, 41013]) {
      const u = await udpRun(procs, client, { count: 2, port: 80, sport });
      assert.equal(u.errors, 0, JSON.stringify(u));
      assert.equal(new Set(u.names).size, 1, `one flow, one server: ${u.names}`);
      udp.push(...u.names);
    }
    assert.deepEqual(names(udp), ['rs1', 'rs2', 'rs3']);
    assert.deepEqual(replies(), [0]);
    // UDP flows carry UDP's idle timeout (IPVS's 300 s), TCP ones the map's 900 s.
    const flows = nsExec(director, 'nft', ['list', 'map', 'ip', 'keepalived_ts_drm', 'flows']).stdout;
    assert.match(flows, /timeout 5m expires/);
    const ping = nsExec(client, 'ping', ['-c1', '-W2', VIP]);
    assert.equal(ping.status, 0, ping.stdout);
  });
});
