// warmUpTakeover (src/daemon/warm-up.ts): rehearses the takeover path on a scratch copy — every instance
// (IPv4, IPv6, unicast) reaches MASTER and sends in the rehearsal, and the engine it was given is untouched.
// And on a running daemon: a backup that has never been master has already run its takeover's I/O code (the
// advert send, the VIP install's rtnetlink write, the GARP) and the timer's firing path, per V8's
// function-event log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { rehearseInstanceTakeover, warmUpTakeover } from '../../src/daemon/warm-up.js';
import { VrrpEngine } from '../../src/vrrp/engine.js';
import { resolveInstanceParams } from '../../src/vrrp/instance-params.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';
import { killAllRouters, Router } from './router.js';

const params = (
  name: string,
  vrid: number,
  family: 4 | 6,
  addr: string,
  vip: string,
  unicast: string[] = [],
) =>
  resolveInstanceParams({
    name,
    vrid,
    version: 3,
    family,
    interface: 'eth0',
    basePriority: 100,
    advertIntervalCs: 1,
    primaryAddress: addr,
    vips: [{ address: vip, prefixLen: family === 4 ? 24 : 64 }],
    unicastPeers: unicast,
  }).params;

test('the rehearsal leaves the real engine as it was', () => {
  const config = {
    instances: [
      params('A', 1, 4, '192.0.2.1', '192.0.2.100'),
      params('B', 2, 6, 'fe80::1', '2001:db8::100'),
      params('C', 3, 4, '192.0.2.1', '192.0.2.101', ['192.0.2.2']),
    ],
    syncGroups: [],
  };
  const engine = new VrrpEngine(config);
  const before = JSON.stringify(engine.instances().map((i) => i.status()));
  // Each round takes every instance to MASTER, so each sends at least its first advert.
  assert.ok(warmUpTakeover(engine.config) >= 3 * 3, 'the rehearsal reached MASTER for every instance');
  assert.equal(JSON.stringify(engine.instances().map((i) => i.status())), before);
  assert.ok(engine.instances().every((i) => i.status().state === 'INIT'));
});

test('rehearsing one instance before its deadline reads its params and changes nothing', () => {
  const p = params('A', 1, 4, '192.0.2.1', '192.0.2.100');
  const engine = new VrrpEngine({ instances: [p], syncGroups: [] });
  const before = structuredClone(p);
  const status = JSON.stringify(engine.instances().map((i) => i.status()));
  assert.equal(rehearseInstanceTakeover(p), true, 'the rehearsal reached MASTER');
  assert.deepEqual(p, before);
  assert.equal(JSON.stringify(engine.instances().map((i) => i.status())), status);
});

const cleanups: (() => void)[] = [];
after(() => {
  killAllRouters();
  for (const c of cleanups.splice(0).reverse()) c();
});

test('a backup that was never master has run its takeover’s firing path, VIP install and GARP code', {
  skip: isRoot() ? false : 'needs root for network namespaces',
  timeout: 20_000,
}, async () => {
  const ns = loneRouterNetns('dwarm', cleanups).ns;
  const log = (dir: string) => join(dir, 'v8.log');
  // advert_int 10: alone on its LAN it stays BACKUP for half a minute.
  const r = new Router(
    'warm',
    ns,
    `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 10
  virtual_ipaddress { 192.0.2.100/24 }
}
`,
    {
      nodeFlags: (dir) => ['--log-function-events', `--logfile=${log(dir)}`, '--no-logfile-per-isolate'],
    },
  );
  cleanups.push(() => r.removeDir());
  await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
  await new Promise((res) => setTimeout(res, 500));
  await r.stop('SIGTERM');
  assert.equal(r.grep(/Entering MASTER/).length, 0, 'never master');
  // function,<event>,<scriptId>,<start>,<end>,<time>,<timestamp>,<name>; script-details,<id>,<url>,...
  const lines = readFileSync(log(r.dir), 'utf8').split('\n');
  const scripts = new Map<string, string>();
  for (const l of lines) {
    const f = l.split(',');
    if (f[0] === 'script-details' && f[2]?.includes('/dist/')) scripts.set(f[1]!, f[2].split('/').at(-1)!);
  }
  const ran = new Set<string>();
  for (const l of lines) {
    const f = l.split(',');
    if (f[0] === 'function' && f[1]?.startsWith('first-execution') && scripts.has(f[2]!))
      ran.add(`${scripts.get(f[2]!)}:${f.slice(7).join(',')}`);
  }
  for (const fn of [
    'vip-installer.js:add',
    'rtnl-writer.js:write',
    'announcers.js:announce',
    'garp.js:sendGarp',
    'announcers.js:#emit',
    // The way from a deadline to the engine: compiled at the takeover, they held its advert 0.4–0.6 ms.
    'deadline-timer.js:#fireAt',
    'vrrp-runtime.js:#onTimer',
  ])
    assert.ok(ran.has(fn), `${fn} ran before any takeover`);
});
