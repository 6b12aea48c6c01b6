// metrics_listen, metrics_token and metrics_max_requests take effect on SIGHUP (src/status/service.ts): a
// daemon started without a listener gets one from a reload; a new token is taken by the running listener
// (same process; the old token refused from then on), and so is a request budget (429 beyond it); a new
// port moves the listener (a new process; the old port closed); a reload
// without metrics_listen stops it. VRRP does not notice any of it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { Router, settle, waitUntil } from '../daemon/router.js';
import { isRoot } from '../helpers/netns.js';
import { RouterLabs } from '../helpers/router-lab.js';
import { NsHttp } from './ns-http.js';

const skip = isRoot() ? false : 'needs root for network namespaces';
const PORT_A = 9661;
const PORT_B = 9662;
const TOKEN_1 = 'reload-token-one-0123456789';
const TOKEN_2 = 'reload-token-two-0123456789';
const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

const labs = new RouterLabs();

const conf = (globals: string) => `
global_defs {
${globals}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  version 3
  priority 200
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`;

/** The status code of GET /status through `h`, or 0 when nothing listens there. */
async function statusCode(h: NsHttp, headers: Record<string, string>): Promise<number> {
  try {
    return (await h.get('/status', headers)).status;
  } catch {
    return 0;
  }
}

/** Waits until GET /status through `h` answers `code`; returns the listener pid it reports (200s). */
async function expectStatus(h: NsHttp, headers: Record<string, string>, code: number, what: string) {
  let last = -1;
  let pid = 0;
  await waitUntil(
    () => {
      void h.get('/status', headers).then(
        (r) => {
          last = r.status;
          if (r.status === 200) pid = JSON.parse(r.body).daemon.listenerPid;
        },
        () => {
          last = 0;
        },
      );
      return last === code;
    },
    15_000,
    `${what} (last: ${last})`,
  );
  return pid;
}

test('SIGHUP applies metrics_listen and metrics_token', { skip, timeout: 90_000 }, async () => {
  const { r1: ns } = labs.open('strl', { r1: '192.0.2.1/24' });
  const a = new NsHttp(ns, '127.0.0.1', PORT_A);
  const b = new NsHttp(ns, '127.0.0.1', PORT_B);
  labs.closers.push(
    () => a.close(),
    () => b.close(),
  );
  await Promise.all([a.ready, b.ready]);
  const r1 = new Router('r1', ns, conf(''));
  labs.add(r1);
  await settle([r1], () => r1.lastState('VI_1') === 'MASTER', 15_000, 'r1 master');
  const m0 = r1.mark();
  const reload = (globals: string) => {
    writeFileSync(r1.conf, conf(globals));
    r1.proc.kill('SIGHUP');
  };
  assert.equal(await statusCode(a, auth(TOKEN_1)), 0, 'no listener before the reload');

  // Off → on.
  reload(`  metrics_listen 127.0.0.1:${PORT_A}\n  metrics_token ${TOKEN_1}`);
  await r1.waitFor(/Status listener on 127\.0\.0\.1:9661/, 20_000, m0);
  const pid1 = await expectStatus(a, auth(TOKEN_1), 200, 'the listener a reload started');
  // It has the instance, although VRRP started before it existed.
  // The polling above may have used this second's request budget (429): wait for the next answer.
  let got = await a.get('/status', auth(TOKEN_1));
  for (let i = 0; i < 20 && got.status === 429; i++) {
    await new Promise((res) => setTimeout(res, 250));
    got = await a.get('/status', auth(TOKEN_1));
  }
  const doc = JSON.parse(got.body);
  assert.equal(doc.instances[0].name, 'VI_1');
  assert.equal(doc.instances[0].state, 'MASTER');
  assert.equal((await a.get('/status', auth(TOKEN_2))).status, 401);

  // A new token: the same listener process takes it; the old token is refused.
  reload(`  metrics_listen 127.0.0.1:${PORT_A}\n  metrics_token ${TOKEN_2}`);
  await expectStatus(a, auth(TOKEN_1), 401, 'the old token refused');
  const pid2 = await expectStatus(a, auth(TOKEN_2), 200, 'the new token accepted');
  assert.equal(pid2, pid1, 'a token change keeps the listener process');

  // The request budget: metrics_max_requests 2 answers two documents a second; the rest get 429 at once.
  const m2 = r1.mark();
  reload(`  metrics_listen 127.0.0.1:${PORT_A}\n  metrics_token ${TOKEN_2}\n  metrics_max_requests 2`);
  await r1.waitFor(/metrics_max_requests 2: the status listener takes it/, 10_000, m2);
  await new Promise((res) => setTimeout(res, 300));
  const burst = await Promise.all(Array.from({ length: 8 }, () => a.get('/metrics', auth(TOKEN_2))));
  const codes = burst.map((r) => r.status);
  assert.ok(codes.filter((c) => c === 200).length <= 4, `at most 2 a second answered: ${codes}`);
  const refused = burst.find((r) => r.status === 429);
  assert.ok(refused, `some refused: ${codes}`);
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(await expectStatus(a, auth(TOKEN_2), 200, 'answered again the next second'), pid1);

  // A new port: a new listener there; nothing on the old one.
  const m1 = r1.mark();
  reload(`  metrics_listen 127.0.0.1:${PORT_B}\n  metrics_token ${TOKEN_2}`);
  await r1.waitFor(/Status listener on 127\.0\.0\.1:9662/, 20_000, m1);
  const pid3 = await expectStatus(b, auth(TOKEN_2), 200, 'the listener on the new port');
  assert.notEqual(pid3, pid1);
  assert.equal(await statusCode(a, auth(TOKEN_2)), 0, 'the old port is closed');

  // Removed: stopped.
  reload('');
  await r1.waitFor(/metrics_listen removed: stopping the status listener/, 10_000, m1);
  await expectStatus(b, auth(TOKEN_2), 0, 'nothing listening after metrics_listen is removed');
  await waitUntil(
    () => {
      try {
        process.kill(pid3, 0);
        return false;
      } catch {
        return true;
      }
    },
    5000,
    'the listener process gone',
  );

  // VRRP never noticed.
  assert.deepEqual(r1.grep(/Entering \w+ STATE/, m0), []);
  assert.equal(r1.lastState('VI_1'), 'MASTER');
});
