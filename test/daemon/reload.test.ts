// SIGHUP reload of a running keepalived-ts: changed priority and VIPs applied without a restart, an instance
// removed from the configuration stopped (priority 0, so the peer takes over at once), new instances started.
import assert from 'node:assert/strict';
import { closeSync, constants, existsSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loneRouterNetns } from '../helpers/netns.js';
import { RouterLabs, TWO_ROUTERS } from '../helpers/router-lab.js';
import { holds, needsRoot, Router, settleStates, sleep, waitUntil } from './router.js';

const skip = needsRoot();
const labs = new RouterLabs();
const cleanups = labs.closers;

// `excluded`: virtual_ipaddress_excluded, installed but not advertised — the routers of one VRID must
// advertise the same list, or each drops the other's adverts (docs/hostile-network.md).
const conf = (name: string, priority: number, vips: string[], vrid = 51, excluded: string[] = []) => `
vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress {
${vips.map((v) => `    ${v}/24`).join('\n')}
  }
  virtual_ipaddress_excluded {
${excluded.map((v) => `    ${v}/24`).join('\n')}
  }
}
`;

test('SIGHUP: new priority and VIPs take effect; a removed instance stops; a new one starts', {
  skip,
  timeout: 30_000,
}, async () => {
  const { r1: ns1, r2: ns2 } = labs.open('drl', TWO_ROUTERS);
  const r1 = new Router('r1', ns1, conf('VI_1', 200, ['192.0.2.100']));
  const r2 = new Router('r2', ns2, conf('VI_1', 100, ['192.0.2.100']));
  labs.add(r1, r2);
  await settleStates(6000, [r1, 'MASTER'], [r2, 'BACKUP']);

  // Priority 250 and a second (excluded) VIP: r2 preempts and installs both.
  writeFileSync(r2.conf, conf('VI_1', 250, ['192.0.2.100'], 51, ['192.0.2.101']));
  let m = r2.mark();
  r2.proc.kill('SIGHUP');
  await r2.waitFor(/Reload finished/, 3000, m);
  await r2.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, m);
  await waitUntil(() => r1.lastState() === 'BACKUP', 2000, 'r1 backup');
  await waitUntil(
    () => holds(ns2, '192.0.2.100') && holds(ns2, '192.0.2.101') && !holds(ns1, '192.0.2.100'),
    2000,
    'both VIPs on r2',
  );

  // Drop a VIP while master: it is removed, the other stays, no state change.
  writeFileSync(r2.conf, conf('VI_1', 250, ['192.0.2.100']));
  m = r2.mark();
  r2.proc.kill('SIGHUP');
  await r2.waitFor(/Reload finished/, 3000, m);
  await waitUntil(() => !holds(ns2, '192.0.2.101'), 2000, 'VIP .101 removed');
  await sleep(300);
  assert.ok(holds(ns2, '192.0.2.100'));
  assert.equal(r2.grep(/Entering/, m).length, 0, r2.log());

  // The instance renamed, at priority 50: the old one stops (priority 0), r1 takes over after Skew_Time; the
  // new one starts and stays BACKUP.
  writeFileSync(r2.conf, conf('VI_X', 50, ['192.0.2.100']));
  m = r2.mark();
  const m1 = r1.mark();
  r2.proc.kill('SIGHUP');
  await r2.waitFor(/\(VI_1\) removed from the configuration/, 3000, m);
  await r2.waitFor(/\(VI_1\) Entering STOP STATE/, 3000, m);
  await r2.waitFor(/\(VI_X\) added by the reload: starting/, 3000, m);
  await r2.waitFor(/\(VI_X\) Entering BACKUP STATE/, 3000, m);
  await r1.waitFor(/\(VI_1\) Entering MASTER STATE/, 2000, m1);
  await waitUntil(() => holds(ns1, '192.0.2.100') && !holds(ns2, '192.0.2.100'), 2000, 'VIP on r1 only');
  // Well past VI_X's down timer (3 × 100 ms + Skew_Time): r1's adverts at 200 keep it BACKUP.
  await sleep(600);
  assert.equal(r2.grep(/\(VI_X\) Entering MASTER/, m).length, 0, r2.log());
  assert.ok(holds(ns1, '192.0.2.100') && !holds(ns2, '192.0.2.100'));
  assert.ok(r2.running, 'the daemon keeps running');

  // A second instance added (VRID 52, which r1 does not run): it starts and becomes master on its own,
  // installing its VIP; VI_X is left alone.
  writeFileSync(r2.conf, conf('VI_X', 50, ['192.0.2.100']) + conf('VI_2', 150, ['192.0.2.110'], 52));
  m = r2.mark();
  r2.proc.kill('SIGHUP');
  await r2.waitFor(/\(VI_2\) added by the reload: starting/, 3000, m);
  await r2.waitFor(/\(VI_2\) Entering MASTER STATE/, 3000, m);
  await waitUntil(() => holds(ns2, '192.0.2.110'), 2000, 'VIP .110 on r2');
  assert.equal(r2.grep(/\(VI_X\) Entering/, m).length, 0, r2.log());
  assert.ok(!holds(ns1, '192.0.2.110'));
  assert.equal(r1.lastState(), 'MASTER');
});

test('SIGHUP: removed instances notify DELETED (notify_deleted) or FAULT and drop their VIPs; a new sync group forms', {
  skip,
  timeout: 20_000,
}, async () => {
  const h = loneRouterNetns('drdl', cleanups);
  const two = (dir: string) => `
global_defs {
  notify_fifo ${join(dir, 'fifo')}
}
${conf('VI_1', 100, ['192.0.2.100']).replace('virtual_ipaddress', `notify_deleted ${join(dir, 'deleted.sh')}\n  virtual_ipaddress`)}
${conf('VI_2', 100, ['192.0.2.110'], 52)}
`;
  const r = new Router('rdl', h.ns, two);
  labs.add(r);
  // notify_deleted's script: runs when the reload removes VI_1.
  writeFileSync(join(r.dir, 'deleted.sh'), `#!/bin/sh\necho "deleted $*" > ${join(r.dir, 'deleted.out')}\n`, {
    mode: 0o755,
  });
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await r.waitFor(/\(VI_2\) Entering MASTER STATE/, 5000);
  await waitUntil(() => holds(h.ns, '192.0.2.100') && holds(h.ns, '192.0.2.110'), 2000, 'both VIPs');
  let fifo = openSync(join(r.dir, 'fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
  cleanups.push(() => closeSync(fifo));
  /** FIFO text read so far (non-blocking: nothing available yet is not an error). */
  let text = '';
  const drain = (): string => {
    const buf = Buffer.alloc(4096);
    try {
      text += buf.subarray(0, readSync(fifo, buf)).toString();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
    return text;
  };
  await waitUntil(() => drain().includes('INSTANCE "VI_2" MASTER'), 2000, 'startup FIFO lines');
  text = '';

  // Both gone; in their place two new instances in a new sync group, which go MASTER together.
  writeFileSync(
    r.conf,
    `global_defs {\n  notify_fifo ${join(r.dir, 'fifo')}\n}\n${conf('VI_3', 100, ['192.0.2.130'], 53)}${conf('VI_4', 100, ['192.0.2.140'], 54)}
vrrp_sync_group G {\n  group {\n    VI_3\n    VI_4\n  }\n}\n`,
  );
  const m = r.mark();
  r.proc.kill('SIGHUP');
  await r.waitFor(/Reload finished/, 3000, m);
  // As 2.2.7, a reload makes the FIFO again (docs/keepalived-semantics.md, "Notify FIFOs"): the reader opens
  // the new one; the reload's lines wait in it (the daemon holds it open).
  closeSync(fifo);
  fifo = openSync(join(r.dir, 'fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
  await r.waitFor(/VRRP_Group\(G\) Syncing instances to MASTER state/, 3000, m);
  await waitUntil(() => !holds(h.ns, '192.0.2.100') && !holds(h.ns, '192.0.2.110'), 2000, 'VIPs removed');
  await waitUntil(() => drain().trim().split('\n').length >= 8, 2000, 'reload FIFO lines');
  const lines = text.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['INSTANCE "VI_1" DELETED 100', 'INSTANCE "VI_2" FAULT 100']);
  await waitUntil(() => existsSync(join(r.dir, 'deleted.out')), 2000, "notify_deleted's script ran");
  // The rest in 2.2.7's start order (test/daemon/fifo-reload.test.ts): the group's BACKUP, both instances',
  // then both go MASTER together.
  assert.deepEqual(lines.slice(2), [
    'GROUP "G" BACKUP 0',
    'INSTANCE "VI_3" BACKUP 100',
    'INSTANCE "VI_4" BACKUP 100',
    'INSTANCE "VI_4" MASTER 100',
    'INSTANCE "VI_3" MASTER 100',
    'GROUP "G" MASTER 0',
  ]);
  assert.equal(r.grep(/sync group changes/, m).length, 0, r.log());
  const status = r.grep(/\(VI_[12]\) Entering STOP STATE/, m);
  assert.equal(status.length, 2, r.log());
});
