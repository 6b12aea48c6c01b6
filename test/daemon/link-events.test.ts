// rtnetlink link events driving a keepalived-ts daemon: tracked interfaces (weighted and weight 0), the
// re-adding of IPv6 VIPs the kernel flushed when their link went down while the instance stayed MASTER, and
// the advert source following the interface's addresses (IPv4 primary, IPv6 link-local).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { openLan, TWO_ROUTERS } from '../helpers/router-lab.js';
import { sysctl } from '../interop/peers.js';
import { daemonConf, vrrpInstanceConf } from './conf.js';
import {
  addressesOf,
  cleanupAfter,
  holds,
  jsonDumpLine,
  needsRoot,
  Router,
  settle,
  settleStates,
  untilDumped,
  waitUntil,
} from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

function host(label: string): string {
  const h = loneRouterNetns(label, cleanups);
  return h.ns;
}

function start(name: string, ns: string, conf: (dir: string) => string): Router {
  const r = new Router(name, ns, conf);
  cleanups.push(() => r.removeDir());
  return r;
}

const STATE_NAMES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'];

/** keepalived's JSON dump until `pred` holds for VI_1 (state as a name, as keepalived's JSON numbers it). */
async function statusUntil(
  r: Router,
  pred: (s: { state: string; effectivePriority: number }) => boolean,
  what: string,
): Promise<void> {
  await untilDumped(
    r,
    (i) => pred({ state: STATE_NAMES[i.data.state] ?? '?', effectivePriority: i.data.effective_priority }),
    3000,
    what,
  );
}

test('track_interface: a weighted interface lowers the priority, a weight-0 one causes FAULT', {
  skip,
  timeout: 20_000,
}, async () => {
  const ns = host('dtrk');
  for (const n of ['eth1', 'eth2']) {
    ip('-n', ns, 'link', 'add', n, 'type', 'veth', 'peer', 'name', `${n}p`);
    ip('-n', ns, 'link', 'set', n, 'up');
    ip('-n', ns, 'link', 'set', `${n}p`, 'up');
  }
  const r = start('trk', ns, (dir) => {
    // A regular file as notify_fifo is appended to (a missing path would be created as a FIFO).
    writeFileSync(join(dir, 'notify.log'), '');
    return `
global_defs {
  ${jsonDumpLine(dir)}
  notify_fifo ${join(dir, 'notify.log')}
}
${vrrpInstanceConf({
  extra: `notify_priority_changes
  track_interface {
    eth1 weight -60
    eth2
  }`,
})}`;
  });
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await statusUntil(r, (s) => s.state === 'MASTER' && s.effectivePriority === 100, 'priority 100');

  ip('-n', ns, 'link', 'set', 'eth1p', 'down'); // eth1 loses carrier
  await statusUntil(r, (s) => s.state === 'MASTER' && s.effectivePriority === 40, 'priority 40');
  ip('-n', ns, 'link', 'set', 'eth1p', 'up');
  await statusUntil(r, (s) => s.effectivePriority === 100, 'priority back to 100');
  const fifo = join(r.dir, 'notify.log');
  assert.ok(existsSync(fifo));
  const lines = readFileSync(fifo, 'utf8');
  assert.match(lines, /^INSTANCE "VI_1" MASTER_PRIORITY 40$/m);
  assert.match(lines, /^INSTANCE "VI_1" MASTER_PRIORITY 100$/m);

  const m = r.mark();
  ip('-n', ns, 'link', 'set', 'eth2p', 'down');
  await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 2000, m);
  await waitUntil(() => !holds(ns, '192.0.2.100'), 2000, 'VIP removed in FAULT');
  ip('-n', ns, 'link', 'set', 'eth2p', 'up');
  await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 2000, m);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 2000, m);
  await waitUntil(() => holds(ns, '192.0.2.100'), 2000, 'VIP back');
});

test('dont_track_primary: IPv6 VIPs flushed by a link down are re-added when the link comes back', {
  skip,
  timeout: 20_000,
}, async () => {
  const ns = host('dreadd');
  const VIP6 = '2001:db8::100';
  const r = start(
    'readd',
    ns,
    () => `
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 0.1
  dont_track_primary
  virtual_ipaddress { ${VIP6}/64 }
}`,
  );
  await r.waitFor(/\(VI_6\) Entering MASTER STATE/, 8000);
  await waitUntil(() => holds(ns, VIP6), 2000, 'IPv6 VIP');
  const m = r.mark();
  ip('-n', ns, 'link', 'set', 'eth0', 'down'); // the kernel flushes IPv6 addresses (keep_addr_on_down=0)
  await waitUntil(() => !holds(ns, VIP6), 2000, 'VIP flushed by the kernel');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  await waitUntil(() => holds(ns, VIP6), 3000, 'VIP re-added after link up');
  assert.equal(r.grep(/Entering/, m).length, 0, `stays MASTER throughout\n${r.log()}`);
  assert.equal(r.lastState('VI_6'), 'MASTER');
});

test('the advert source follows the interface’s primary IPv4 address', {
  skip,
  timeout: 20_000,
}, async () => {
  const { lab, ns } = openLan('dsrc', TWO_ROUTERS);
  cleanups.push(() => lab.close());
  const { r1: ns1, r2: ns2 } = ns;
  const conf = (priority: number) => (dir: string) =>
    `
global_defs {
  ${jsonDumpLine(dir)}
}
${vrrpInstanceConf({ priority, vips: ['192.0.2.100/32'] })}`;
  const r1 = start('r1', ns1, conf(200));
  const r2 = start('r2', ns2, conf(100));
  await settleStates(6000, [r1, 'MASTER'], [r2, 'BACKUP']);
  const masterSeenByR2 = (addr: string, what: string) =>
    untilDumped(r2, (i) => i.data.masterAddress === addr, 3000, what);
  await masterSeenByR2('192.0.2.1', 'r2 sees 192.0.2.1 as master');
  const m = r1.mark();
  ip('-n', ns1, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0');
  ip('-n', ns1, 'addr', 'del', '192.0.2.1/24', 'dev', 'eth0');
  await r1.waitFor(/\(VI_1\) source address changed from 192\.0\.2\.1 to 198\.51\.100\.1/, 2000, m);
  await masterSeenByR2('198.51.100.1', 'r2 sees the new source');
  assert.equal(r1.grep(/Entering/, m).length, 0, 'r1 stays master');
  assert.equal(r2.lastState(), 'BACKUP');
});

test('the IPv6 advert source follows the link-local when it is replaced', {
  skip,
  timeout: 20_000,
}, async () => {
  const { lab, ns } = openLan('dsrc6', { r1: null, r2: null });
  cleanups.push(() => lab.close());
  const nss = [ns.r1, ns.r2];
  for (const ns of nss) {
    // No DAD: the link-local is usable as soon as the link is up.
    sysctl(ns, 'net.ipv6.conf.eth0.accept_dad', '0');
    ip('-n', ns, 'link', 'set', 'eth0', 'down');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
  const linkLocal = (ns: string) => addressesOf(ns).find((a) => a.startsWith('fe80:'));
  await waitUntil(() => nss.every((ns) => linkLocal(ns) !== undefined), 3000, 'link-locals');
  const old = linkLocal(nss[0]!)!;
  const conf = (priority: number) => (dir: string) =>
    daemonConf(jsonDumpLine(dir), { vrid: 61, priority, vips: ['2001:db8::100/64'] });
  const r1 = start('s61', nss[0]!, conf(200));
  const r2 = start('s62', nss[1]!, conf(100));
  const states = () => r1.lastState() === 'MASTER' && r2.lastState() === 'BACKUP';
  await settle([r1, r2], states, 8000, 'r1 master');
  const masterSeenByR2 = (addr: string, what: string) =>
    untilDumped(r2, (i) => i.data.masterAddress === addr, 3000, what);
  await masterSeenByR2(old, `r2 sees ${old} as master`);
  const m = r1.mark();
  ip('-n', nss[0]!, 'addr', 'add', 'fe80::beef/64', 'dev', 'eth0', 'nodad');
  ip('-n', nss[0]!, 'addr', 'del', `${old}/64`, 'dev', 'eth0');
  await r1.waitFor(/\(VI_1\) source address changed from \S+ to fe80::beef/, 2000, m);
  await masterSeenByR2('fe80::beef', 'r2 sees the new source');
  assert.equal(r1.grep(/Entering/, m).length, 0, 'r1 stays master');
  assert.equal(r2.lastState(), 'BACKUP');
});
