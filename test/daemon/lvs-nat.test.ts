// keepalived's LVS-NAT set-up run by keepalived-ts end to end: a director holding the VIP under VRRP, a
// virtual_server with lb_algo rr and three real servers checked by TCP_CHECK, a sorry server on the
// director's 127.0.0.1. The checker process programs nftables: requests spread evenly; a real server that
// stops leaves the pool within delay_loop × (retry + 1) + connect_timeout and no request fails after that;
// with all gone the sorry server answers; a recovered server comes back; a stop removes the table.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nsExec } from '../helpers/netns.js';
import { counts } from '../lvs/lab.js';
import { natDaemonConf, natDaemonLab } from './lvs-daemon-lab.js';
import { BIN, needsRoot, Router } from './router.js';

const skip = needsRoot();
let d: Router;

const DELAY_LOOP_S = 1;
const CONNECT_TIMEOUT_S = 1;
const RETRY = 1;
const conf = natDaemonConf({
  vrid: 61,
  delayLoopS: DELAY_LOOP_S,
  connectTimeoutS: CONNECT_TIMEOUT_S,
  retry: RETRY,
  delayBeforeRetryS: 1,
  sorry: '127.0.0.1 8081',
});

const nat = natDaemonLab(skip);

const get = (n: number) => nat.lab.clientRun({ count: n, concurrency: 1 });

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`${what}: not within ${timeoutMs} ms\n${d?.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

test('LVS-NAT under VRRP: spread, failure, sorry server, recovery, clean stop', {
  skip,
  timeout: 120_000,
}, async () => {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'kats-lvsnat-')), 'checkers.pid');
  d = new Router('dir', nat.lab.director, conf, { extraArgs: ['-c', pidFile] });
  await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await until('the virtual server answers', async () => (await get(1)).errors === 0, 10_000);
  // rr over three equal servers: each gets a third.
  let r = await get(30);
  assert.equal(r.errors, 0, JSON.stringify(r.errs));
  assert.deepEqual(counts(r.names), { rs1: 10, rs2: 10, rs3: 10 });
  // The table turned connection tracking on here; the director's adverts stay out of it (nft-model.ts
  // VRRP_NOTRACK_RULE), so a full conntrack table cannot drop them.
  const ct = nsExec(nat.lab.director, 'cat', ['/proc/net/nf_conntrack']).stdout;
  assert.match(ct, /^ipv4 +2 tcp +6 .*sport=8080/m, 'the NAT connections are tracked');
  assert.doesNotMatch(ct, /^ipv[46] +\d+ \S+ +112 /m, `no VRRP entry in conntrack:\n${ct}`);
  // The director's own connections (its TCP_CHECKs, dport 8080 in their original direction; the clients'
  // is 80) leave conntrack 2 s after they close, not 120 s (nft-model.ts localFlowsScript).
  const checks: string[] = [];
  await until(
    "a check's connection in conntrack",
    async () => {
      const now = nsExec(nat.lab.director, 'cat', ['/proc/net/nf_conntrack']).stdout;
      checks.push(
        ...now.split('\n').filter((l) => /^ipv4 .* dst=192\.0\.2\.1\d sport=\d+ dport=8080 /.test(l)),
      );
      return checks.some((l) => /(TIME_WAIT|CLOSE) /.test(l));
    },
    5000,
  );
  for (const l of checks.filter((x) => /(TIME_WAIT|CLOSE) /.test(x)))
    assert.ok(Number(/^ipv4 +2 tcp +6 (\d+) /.exec(l)?.[1]) <= 2, `a closed check's entry lives ≤ 2 s: ${l}`);
  // What an operator types instead of ipvsadm -Ln, in the daemon's namespace.
  const list = nsExec(nat.lab.director, process.execPath, [BIN, '--lvs-list', '-c', pidFile]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^IP Virtual Server version/);
  assert.match(list.stdout, /TCP {2}198\.51\.100\.100:80 rr/);
  for (const k of [11, 12, 13]) assert.match(list.stdout, new RegExp(`-> 192\\.0\\.2\\.${k}:8080 +Masq +1 `));

  // rs2 stops: out of the pool within delay_loop × (retry + 1) + connect_timeout (+ a second of slack).
  const bound = (DELAY_LOOP_S * (RETRY + 1) + CONNECT_TIMEOUT_S + 1) * 1000;
  let mark = d.mark();
  await nat.lab.stopReal(1);
  const t0 = Date.now();
  await d.waitFor(
    /Removing service \[192\.0\.2\.12\]:tcp:8080 from VS \[198\.51\.100\.100\]:tcp:80/,
    bound + 2000,
    mark,
  );
  assert.ok(Date.now() - t0 <= bound + 500, `left the pool after ${Date.now() - t0} ms (bound ${bound})`);
  await new Promise((res) => setTimeout(res, 300));
  r = await get(30);
  assert.equal(r.errors, 0, `no request fails once it has left: ${JSON.stringify(r.errs)}`);
  assert.deepEqual(counts(r.names), { rs1: 15, rs3: 15 });

  // All gone: the sorry server.
  mark = d.mark();
  await Promise.all([nat.lab.stopReal(0), nat.lab.stopReal(2)]);
  await d.waitFor(/sorry server \[127\.0\.0\.1\]:tcp:8081/i, 10_000, mark);
  await until('the sorry server answers', async () => (await get(1)).names[0] === 'sorry', 5000);
  r = await get(10);
  assert.equal(r.errors, 0);
  assert.deepEqual(counts(r.names), { sorry: 10 });

  // rs1 recovers: the real servers are back, the sorry server out.
  mark = d.mark();
  await nat.lab.startReal(0);
  await d.waitFor(
    /Adding service \[192\.0\.2\.11\]:tcp:8080 to VS \[198\.51\.100\.100\]:tcp:80/,
    10_000,
    mark,
  );
  await until('rs1 answers again', async () => (await get(1)).names[0] === 'rs1', 5000);
  r = await get(10);
  assert.deepEqual(counts(r.names), { rs1: 10 });

  // A graceful stop removes what the checker programmed.
  assert.match(nsExec(nat.lab.director, 'nft', ['list', 'tables']).stdout, /keepalived_ts/);
  assert.equal(await d.stop('SIGTERM', 10_000), 0);
  assert.doesNotMatch(nsExec(nat.lab.director, 'nft', ['list', 'tables']).stdout, /keepalived_ts/);
});
