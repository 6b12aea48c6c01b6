// Virtual- and real-server traffic counters from the nftables data plane on /metrics (keepalived-exporter's
// keepalived_lvs_vip_* and keepalived_lvs_rs_*; src/lvs/counters.ts): the daemon directs a NAT virtual
// server (test/lvs/lab.ts's lab, rr over three real servers) with its status listener on; known HTTP traffic
// goes through; an independent count of the same packets (a table of our own in the director, counting the
// forwarded packets to and from each real server by address and port) must equal what the listener shows,
// packet for packet and byte for byte, and the connections must equal the requests each server answered.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { natDaemonConf, natDaemonLab } from '../daemon/lvs-daemon-lab.js';
import { needsRoot, Router } from '../daemon/router.js';
import { nsExec } from '../helpers/netns.js';
import { counts, VIP } from '../lvs/lab.js';
import { NsHttp, parseMetrics } from './ns-http.js';

const skip = needsRoot();
const PORT = 9663;
const REALS = [11, 12, 13].map((k) => `192.0.2.${k}`);
const conf = `global_defs {\n  metrics_listen 127.0.0.1:${PORT}\n}\n${natDaemonConf({ vrid: 63, retry: 1 })}`;
const nat = natDaemonLab(skip);

/** Our own count of the forwarded packets to (in) and from (out) each real server's port 8080. */
const PROBE = `table inet kats_probe {
${REALS.map((_a, i) => `  counter cin${i} {}\n  counter cout${i} {}`).join('\n')}
  chain probe {
    type filter hook forward priority 10; policy accept;
${REALS.map((a, i) => `    ip daddr ${a} tcp dport 8080 counter name "cin${i}"\n    ip saddr ${a} tcp sport 8080 counter name "cout${i}"`).join('\n')}
  }
}`;

/** Marks of counter-set elements that no backend entry has (a server that left keeps none). */
function strayCounterMarks(ns: string): number[] {
  const list = (what: string[]) => {
    const r = nsExec(ns, 'nft', ['-j', 'list', ...what]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).nftables as { set?: { elem?: unknown[] }; map?: { elem?: unknown[] } }[];
  };
  const live = new Set<number>();
  for (const x of list(['map', 'inet', 'keepalived_ts', 'bk4']))
    for (const e of x.map?.elem ?? []) if (Array.isArray(e) && typeof e[0] === 'number') live.add(e[0]);
  const stray = new Set<number>();
  for (const x of list(['set', 'inet', 'keepalived_ts', 'ctr']))
    for (const e of x.set?.elem ?? []) {
      const mark = (e as { elem?: { val?: { concat?: unknown[] } } }).elem?.val?.concat?.[2];
      if (typeof mark === 'number' && !live.has(mark)) stray.add(mark);
    }
  return [...stray];
}

function probe(ns: string): Map<string, { packets: number; bytes: number }> {
  const r = nsExec(ns, 'nft', ['-j', 'list', 'counters', 'table', 'inet', 'kats_probe']);
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const x of JSON.parse(r.stdout).nftables as {
    counter?: { name: string; packets: number; bytes: number };
  }[])
    if (x.counter) out.set(x.counter.name, { packets: x.counter.packets, bytes: x.counter.bytes });
  return out;
}

test('keepalived_lvs_* counters: the packets, bytes and connections that went through', {
  skip,
  timeout: 60_000,
}, async () => {
  const lab = nat.lab;
  const file = join(mkdtempSync(join(tmpdir(), 'kats-lvstraffic-')), 'probe.nft');
  writeFileSync(file, PROBE);
  const loaded = nsExec(lab.director, 'nft', ['-f', file]);
  assert.equal(loaded.status, 0, loaded.stderr);
  const http = new NsHttp(lab.director, '127.0.0.1', PORT);
  const d = new Router('dir', lab.director, conf);
  try {
    await http.ready;
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
    // Every request made, by the server that answered (the first ones may fail while checks converge).
    const answered: string[] = [];
    const t0 = Date.now();
    for (;;) {
      const r = await lab.clientRun({ count: 3, concurrency: 1 });
      answered.push(...r.names);
      if (r.errors === 0 && new Set(r.names).size === 3) break;
      assert.ok(Date.now() - t0 < 15_000, 'the virtual server answers from all three servers');
      await new Promise((res) => setTimeout(res, 200));
    }
    const r = await lab.clientRun({ count: 30, concurrency: 3 });
    assert.equal(r.errors, 0, JSON.stringify(r.errs));
    answered.push(...r.names);
    const perServer = counts(answered);
    // The connections' last packets (FIN, ACK) are through before the independent count is read.
    await new Promise((res) => setTimeout(res, 500));
    const want = probe(lab.director);

    // The checker reads the counters every 2 s; the listener shows them at the next read.
    type Sample = ReturnType<typeof parseMetrics>[number];
    let samples: Sample[] = [];
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    const vipLabels = { addr: `${VIP}:80`, proto: '6' };
    const deadline = Date.now() + 15_000;
    for (;;) {
      const m = await http.get('/metrics');
      samples = m.status === 200 ? parseMetrics(m.body) : [];
      const inPackets = REALS.map((a) => value('keepalived_lvs_rs_in_packets', { addr: `${a}:8080` }));
      if (REALS.every((_, i) => inPackets[i] === want.get(`cin${i}`)!.packets)) break;
      assert.ok(
        Date.now() < deadline,
        `rs in_packets ${JSON.stringify(inPackets)} never reached ${JSON.stringify([...want])}`,
      );
      await new Promise((res) => setTimeout(res, 300));
    }
    let conns = 0;
    const sums = { in_packets: 0, out_packets: 0, in_bytes: 0, out_bytes: 0 };
    for (const [i, a] of REALS.entries()) {
      const labels = { addr: `${a}:8080`, proto: '6', vip: `${VIP}:80` };
      const got = {
        in_packets: value('keepalived_lvs_rs_in_packets', labels),
        out_packets: value('keepalived_lvs_rs_out_packets', labels),
        in_bytes: value('keepalived_lvs_rs_in_bytes', labels),
        out_bytes: value('keepalived_lvs_rs_out_bytes', labels),
        conn: value('keepalived_lvs_rs_conn', labels),
      };
      assert.deepEqual(
        got,
        {
          in_packets: want.get(`cin${i}`)!.packets,
          out_packets: want.get(`cout${i}`)!.packets,
          in_bytes: want.get(`cin${i}`)!.bytes,
          out_bytes: want.get(`cout${i}`)!.bytes,
          conn: perServer[`rs${i + 1}`],
        },
        `real server ${a}`,
      );
      conns += got.conn!;
      sums.in_packets += got.in_packets!;
      sums.out_packets += got.out_packets!;
      sums.in_bytes += got.in_bytes!;
      sums.out_bytes += got.out_bytes!;
    }
    assert.equal(conns, answered.length, 'one connection per request');
    // Not vacuous: 30 requests carry at least a SYN, the request and a FIN each way.
    assert.ok(sums.in_packets >= 3 * answered.length && sums.out_bytes > 0, JSON.stringify(sums));
    assert.deepEqual(
      {
        in_packets: value('keepalived_lvs_vip_in_packets', vipLabels),
        out_packets: value('keepalived_lvs_vip_out_packets', vipLabels),
        in_bytes: value('keepalived_lvs_vip_in_bytes', vipLabels),
        out_bytes: value('keepalived_lvs_vip_out_bytes', vipLabels),
        conn: value('keepalived_lvs_vip_conn', vipLabels),
      },
      { ...sums, conn: conns },
      'the virtual server is the sum of its real servers',
    );
    // /status carries the same counters (schema/status.schema.json 'traffic').
    const doc = JSON.parse((await http.get('/status')).body);
    const svc = doc.traffic.find((t: { addr: string }) => t.addr === `${VIP}:80`);
    assert.equal(svc.proto, 6);
    assert.ok(svc.total.conns >= conns && svc.total.inPackets >= sums.in_packets, JSON.stringify(svc.total));

    // A real server leaves the pool and its mark with it: the virtual server's counters keep what it
    // counted (Prometheus counters never go back), and the counter set loses that mark's elements
    // (src/lvs/counters.ts TrafficLedger), so it stays bounded however often servers come and go.
    const before = value('keepalived_lvs_vip_in_packets', vipLabels)!;
    await lab.stopReal(0);
    const gone = Date.now() + 25_000;
    for (;;) {
      const m = await http.get('/metrics');
      samples = m.status === 200 ? parseMetrics(m.body) : [];
      const vipIn = value('keepalived_lvs_vip_in_packets', vipLabels);
      const rs1 = value('keepalived_lvs_rs_in_packets', { addr: `${REALS[0]}:8080` });
      const stray = strayCounterMarks(lab.director);
      if (vipIn !== undefined) assert.ok(vipIn >= before, `vip in_packets went back: ${before} → ${vipIn}`);
      if (rs1 === undefined && stray.length === 0) break;
      assert.ok(
        Date.now() < gone,
        `rs1 still listed (${rs1}) or counter elements of marks no server has: ${stray}`,
      );
      await new Promise((res) => setTimeout(res, 300));
    }
    const after = await lab.clientRun({ count: 6, concurrency: 2 });
    assert.equal(after.errors, 0, JSON.stringify(after.errs));
    const more = Date.now() + 15_000;
    for (;;) {
      const m = await http.get('/metrics');
      samples = m.status === 200 ? parseMetrics(m.body) : [];
      if ((value('keepalived_lvs_vip_in_packets', vipLabels) ?? 0) >= before + 3 * 6) break;
      assert.ok(Date.now() < more, 'the virtual server counts on from where it was');
      await new Promise((res) => setTimeout(res, 300));
    }
  } finally {
    http.close();
    await d.stop();
  }
});
