// use_vmac on a LAN of namespaces: keepalived-ts routers (and keepalived 2.2.7) and a client. The master's
// VMAC vrrp.51 carries 00:00:5e:00:01:33 and the VIP; the client's ARP for the VIP is answered with that MAC,
// and the LAN's bridge learns it on the master's port (adverts and GARPs leave from the VMAC). After a link
// cut or a stop the new master's GARP carries the same MAC and the bridge learns it on the new port; the
// stopped router deletes its VMAC and puts its parent's ARP sysctls back.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, test } from 'node:test';
import { eui64LinkLocal, vmacAddress } from '../../src/daemon/vmac.js';
import { ip, type Lab, nsExec } from '../helpers/netns.js';
import { RouterLabs } from '../helpers/router-lab.js';
import { REFERENCE, referenceCommand } from '../interop/peers.js';
import {
  addressesOf,
  holds,
  needsRoot,
  Router,
  type RouterOptions,
  settle,
  settleStates,
  waitUntil,
} from './router.js';

const skip = needsRoot();
const VIP = '192.0.2.100';
const VRID = 51;
const VMAC = vmacAddress(4, VRID);
const VMAC_IF = `vrrp.${VRID}`;

function conf(priority: number, vrid = VRID, vip = `${VIP}/24`): string {
  return `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  use_vmac
  virtual_router_id ${vrid}
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress {
    ${vip}
  }
}
`;
}

const labs = new RouterLabs(afterEach);
/** The LAN of the test running. */
let lab: Lab | null = null;

/** A LAN for one test: a host per `[label, IPv4 address on eth0 (/24)]`, or `[label]` for none. */
function lan<const H extends readonly (readonly [string, string?])[]>(
  name: string,
  ...hosts: H
): { [K in keyof H]: string } {
  const opened = labs.openLab(name, Object.fromEntries(hosts.map(([h, a]) => [h, a ? `${a}/24` : null])));
  lab = opened.lab;
  return hosts.map(([label]) => opened.ns[label]) as { [K in keyof H]: string };
}

/** True once the LAN's bridge has learnt `mac` on `host`'s port. */
function learntOn(mac: string, host: string): boolean {
  return learntPort(lab!.bridgeNs, mac) === lab!.portOf(host);
}

/** A router the test's cleanup stops and removes. */
function start(name: string, ns: string, text: string, opts?: RouterOptions): Router {
  const r = new Router(name, ns, text, opts);
  labs.add(r);
  return r;
}

/** The reference keepalived, as a router. */
const startKeepalived = (ns: string, text: string) =>
  start('keepalived', ns, text, { command: referenceCommand });
const skipKa = skip || (!existsSync(REFERENCE) ? 'reference keepalived not installed' : false);

/** A lower-priority keepalived-ts `ts` beside the keepalived master `ka` settles as backup, never master. */
async function staysBackupBeside(ts: Router, ka: Router): Promise<void> {
  await settle(
    [ts, ka],
    () => ts.lastState() === 'BACKUP' && ka.lastState() === 'MASTER',
    10_000,
    'keepalived master, keepalived-ts backup',
    500,
  );
  assert.equal(ts.grep(/Entering MASTER STATE/).length, 0, ts.log());
}

/** Stops `r` cleanly; its VMAC on `ns` goes with it. */
async function stopRemovesVmac(r: Router, ns: string, ifname = VMAC_IF): Promise<void> {
  assert.equal(await r.stop('SIGTERM'), 0, r.log());
  assert.equal(linkOf(ns, ifname), null, 'VMAC deleted on stop');
}

/** `from` (master) stops cleanly; `to` becomes master and puts `vip` on its VMAC `ifname` in `ns`. */
async function handOver(from: Router, to: Router, ns: string, vip: string, ifname: string): Promise<void> {
  const mk = to.mark();
  assert.equal(await from.stop('SIGTERM'), 0, from.log());
  await to.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, mk);
  await waitUntil(() => holds(ns, vip, ifname), 2000, `${vip} on the VMAC of ${to.name}`);
}

function linkOf(ns: string, ifname: string): { mac: string; up: boolean; kind: string } | null {
  const r = spawnSync('ip', ['-n', ns, '-d', '-o', 'link', 'show', 'dev', ifname], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const mac = /link\/ether ([0-9a-f:]+)/.exec(r.stdout)?.[1] ?? '';
  const flags = /<([^>]*)>/.exec(r.stdout)?.[1]?.split(',') ?? [];
  const kind = /\bmacvlan mode (\w+)/.exec(r.stdout)?.[1] ?? '';
  return { mac, up: flags.includes('UP'), kind };
}

function sysctl(ns: string, path: string): string {
  return nsExec(ns, 'cat', [`/proc/sys/net/${path}`]).stdout.trim();
}

/** The bridge port the LAN switch learnt `mac` on. */
function learntPort(bridgeNs: string, mac: string): string | undefined {
  const out = spawnSync('bridge', ['-n', bridgeNs, 'fdb', 'show', 'br', 'br0'], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.startsWith(`${mac} `) && !l.includes('permanent'));
  return line ? /\bdev (\S+)/.exec(line)?.[1] : undefined;
}

/** An IPv4 address as the 0x… word a BPF filter compares with. */
function hexIp(address: string): string {
  return `0x${address
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')}`;
}

/** Runs `action` while tcpdump on `ns`'s eth0 waits for one frame matching `filter`; returns what it printed. */
async function captureOne(ns: string, filter: string, action: () => Promise<void>, waitMs = 2000) {
  const dump = spawn('ip', [
    'netns',
    'exec',
    ns,
    'tcpdump',
    '-l',
    '-c',
    '1',
    '-n',
    '-e',
    '-i',
    'eth0',
    filter,
  ]);
  let out = '';
  let err = '';
  dump.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  dump.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<void>((r) => dump.on('exit', () => r()));
  try {
    await waitUntil(() => err.includes('listening on'), 5000, 'tcpdump listening');
    await action();
  } finally {
    const t = setTimeout(() => dump.kill(), waitMs);
    await exited;
    clearTimeout(t);
  }
  return out;
}

/**
 * Pings `address` from `ns` and returns the MAC the ARP reply for it gave, with the ping's status. The
 * neighbour table cannot be read for this: the master answers the ping out of its parent, and its ARP request
 * for the client names the VIP as sender with the parent's MAC, which overwrites the client's entry
 * (keepalived 2.2.7 does exactly the same, seen in a namespace).
 */
async function arpReplyMac(ns: string, address: string): Promise<{ mac?: string; ping: number | null }> {
  let ping: number | null = null;
  // arp[6:2] = 2: a reply; arp[14:4]: its sender IP.
  const out = await captureOne(ns, `arp and arp[6:2] = 2 and arp[14:4] = ${hexIp(address)}`, async () => {
    nsExec(ns, 'ip', ['neigh', 'flush', 'dev', 'eth0']);
    ping = nsExec(ns, 'ping', ['-c', '1', '-W', '2', address]).status;
  });
  return { mac: new RegExp(`${address.replaceAll('.', '\\.')} is-at ([0-9a-f:]+)`).exec(out)?.[1], ping };
}

test('use_vmac: VMAC with the VRRP MAC holds the VIP; clients and the switch see that MAC; failover; cleanup', {
  skip,
  timeout: 40_000,
}, async () => {
  const [ns1, ns2, nsc] = lan('vmac', ['r1', '192.0.2.1'], ['r2', '192.0.2.2'], ['c', '192.0.2.9']);
  // A VMAC left by an earlier run with the wrong MAC: it must be recreated with the right one.
  ip('-n', ns1, 'link', 'add', VMAC_IF, 'link', 'eth0', 'address', '02:00:00:00:00:01', 'type', 'macvlan');

  const r1 = start('r1', ns1, conf(100));
  const r2 = start('r2', ns2, conf(150));
  await settleStates(8000, [r1, 'BACKUP'], [r2, 'MASTER']);
  await waitUntil(() => holds(ns2, VIP, VMAC_IF), 2000, 'VIP on r2 vrrp.51');
  assert.ok(r1.grep(/removing old VMAC interface vrrp\.51/).length === 1, r1.log());

  // Both routers keep their VMAC up in every state (keepalived does); only the master holds the VIP, and
  // never on the parent.
  for (const ns of [ns1, ns2]) {
    assert.deepEqual(linkOf(ns, VMAC_IF), { mac: VMAC, up: true, kind: 'private' });
    assert.ok(!holds(ns, VIP, 'eth0'), 'VIP never on the parent');
    assert.equal(sysctl(ns, 'ipv4/conf/eth0/arp_ignore'), '1');
    assert.equal(sysctl(ns, 'ipv4/conf/eth0/arp_filter'), '1');
    assert.equal(sysctl(ns, `ipv4/conf/${VMAC_IF}/arp_ignore`), '1');
    assert.equal(sysctl(ns, `ipv6/conf/${VMAC_IF}/disable_ipv6`), '1');
  }
  assert.ok(!holds(ns1, VIP, VMAC_IF), 'backup holds no VIP');

  // The client resolves the VIP to the VRRP MAC; the switch learnt that MAC on the master's port.
  assert.deepEqual(await arpReplyMac(nsc, VIP), { mac: VMAC, ping: 0 });
  await waitUntil(() => learntOn(VMAC, 'r2'), 2000, 'VMAC learnt on r2');

  // Cutting the master's link takes its VMAC's carrier with it (a macvlan follows its parent): FAULT, and r1
  // takes over on its own VMAC; on return r2 preempts.
  ip('-n', lab!.bridgeNs, 'link', 'set', lab!.portOf('r2'), 'down');
  await settleStates(5000, [r1, 'MASTER'], [r2, 'FAULT']);
  await waitUntil(() => holds(ns1, VIP, VMAC_IF) && !holds(ns2, VIP, VMAC_IF), 2000, 'VIP moved to r1');
  ip('-n', lab!.bridgeNs, 'link', 'set', lab!.portOf('r2'), 'up');
  await settleStates(5000, [r1, 'BACKUP'], [r2, 'MASTER']);
  await waitUntil(() => holds(ns2, VIP, VMAC_IF) && !holds(ns1, VIP, VMAC_IF), 2000, 'VIP back on r2');
  await waitUntil(() => learntOn(VMAC, 'r2'), 2000, 'VMAC learnt on r2 again');

  // Failover: r2 stops (priority 0), r1 takes over on its own VMAC. The client's entry is unchanged and the
  // VIP still answers; the switch now forwards the VRRP MAC to r1.
  // r1's gratuitous ARP at takeover carries the VRRP MAC in both the Ethernet and the ARP sender fields.
  const garpFilter = `arp and ether src ${VMAC} and arp[14:4] = ${hexIp(VIP)} and arp[8:4] = 0x00005e00 and arp[12:2] = 0x01${VRID.toString(16)}`;
  const m1 = r1.mark();
  const garp = await captureOne(nsc, garpFilter, async () => {
    assert.equal(await r2.stop('SIGTERM'), 0, r2.log());
    await r1.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, m1);
  });
  assert.match(garp, /ARP/, 'a GARP from the VMAC');
  await waitUntil(() => holds(ns1, VIP, VMAC_IF), 2000, 'VIP on r1 vrrp.51');
  await waitUntil(() => learntOn(VMAC, 'r1'), 2000, 'VMAC learnt on r1');
  assert.deepEqual(await arpReplyMac(nsc, VIP), { mac: VMAC, ping: 0 });

  // The stopped router removed its VMAC and restored its parent's ARP settings.
  assert.equal(linkOf(ns2, VMAC_IF), null, 'VMAC deleted on stop');
  assert.equal(sysctl(ns2, 'ipv4/conf/eth0/arp_ignore'), '0');
  assert.equal(sysctl(ns2, 'ipv4/conf/eth0/arp_filter'), '0');

  await stopRemovesVmac(r1, ns1);
});

test('use_vmac IPv6: VMAC 00:00:5e:00:02:VRID without an EUI-64 link-local, carrying the parent link-local and the VIP', {
  skip,
  timeout: 30_000,
}, async () => {
  const VIP6 = '2001:db8::100';
  const vrid = 52;
  const mac6 = vmacAddress(6, vrid);
  const [ns1, ns2] = lan('vmac6', ['r1'], ['r2']);
  const r1 = start('r1', ns1, conf(100, vrid, `${VIP6}/64`));
  const r2 = start('r2', ns2, conf(150, vrid, `${VIP6}/64`));
  await settleStates(10_000, [r1, 'BACKUP'], [r2, 'MASTER']);
  const ifname = `vrrp.${vrid}`;
  await waitUntil(() => holds(ns2, VIP6, ifname), 2000, 'VIP6 on r2 VMAC');
  for (const ns of [ns1, ns2]) {
    assert.deepEqual(linkOf(ns, ifname), { mac: mac6, up: true, kind: 'private' });
    const parentLl = addressesOf(ns, 'eth0').find((a) => a.startsWith('fe80:'));
    const onVmac = addressesOf(ns, ifname);
    assert.ok(parentLl && onVmac.includes(parentLl), `parent link-local ${parentLl} on the VMAC: ${onVmac}`);
    // addrgenmode none: no link-local derived from the VRRP MAC (RFC 5798 §7.4).
    assert.ok(!onVmac.includes(eui64LinkLocal(mac6)!), onVmac.join(' '));
  }
  assert.ok(!holds(ns1, VIP6, ifname) && !holds(ns2, VIP6, 'eth0'));
  // Adverts and NAs leave from the VMAC: the switch learnt the VRRP MAC on the master's port.
  await waitUntil(() => learntOn(mac6, 'r2'), 2000, 'VMAC learnt on r2');
  const m1 = r1.mark();
  assert.equal(await r2.stop('SIGTERM'), 0, r2.log());
  await r1.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, m1);
  await waitUntil(() => holds(ns1, VIP6, ifname), 2000, 'VIP6 on r1 VMAC');
  await waitUntil(() => learntOn(mac6, 'r1'), 2000, 'VMAC learnt on r1');
  assert.equal(linkOf(ns2, ifname), null, 'VMAC deleted on stop');
});

test('use_vmac interop: keepalived-ts master and keepalived 2.2.7 backup, both on VMACs; handover on stop', {
  skip: skipKa,
  timeout: 30_000,
}, async () => {
  const [ns1, ns2, nsc] = lan('vmacka', ['ts', '192.0.2.1'], ['ka', '192.0.2.2'], ['c', '192.0.2.9']);
  const ts = start('ts', ns1, conf(150));
  const ka = startKeepalived(ns2, conf(100));
  await settleStates(10_000, [ts, 'MASTER'], [ka, 'BACKUP']);
  await waitUntil(() => holds(ns1, VIP, VMAC_IF), 2000, 'VIP on keepalived-ts VMAC');
  assert.ok(!holds(ns2, VIP, VMAC_IF), 'keepalived backup holds no VIP');
  assert.deepEqual(linkOf(ns2, VMAC_IF), { mac: VMAC, up: true, kind: 'private' }, "keepalived's own VMAC");
  await waitUntil(() => learntOn(VMAC, 'ts'), 2000, 'VMAC learnt on ts');

  await handOver(ts, ka, ns2, VIP, VMAC_IF);
  await waitUntil(() => learntOn(VMAC, 'ka'), 2000, 'VMAC learnt on ka');
  assert.equal(linkOf(ns1, VMAC_IF), null, 'keepalived-ts removed its VMAC');
  assert.deepEqual(await arpReplyMac(nsc, VIP), { mac: VMAC, ping: 0 });
});

test('use_vmac with unicast peers: adverts on the parent (as keepalived 2.2.7), VIP on the VMAC; against keepalived', {
  skip: skipKa,
  timeout: 30_000,
}, async () => {
  const [ns1, ns2] = lan('vmacuc', ['ts', '192.0.2.1'], ['ka', '192.0.2.2']);
  const unicast = (priority: number, src: string, peer: string) =>
    conf(priority).replace(
      'use_vmac',
      `use_vmac\n  unicast_src_ip ${src}\n  unicast_peer {\n    ${peer}\n  }`,
    );
  const ts = start('ts', ns1, unicast(150, '192.0.2.1', '192.0.2.2'));
  const ka = startKeepalived(ns2, unicast(100, '192.0.2.2', '192.0.2.1'));
  // Each hears the other: one master, one backup (two masters if either side's adverts were lost).
  await settleStates(10_000, [ts, 'MASTER'], [ka, 'BACKUP']);
  await waitUntil(() => holds(ns1, VIP, VMAC_IF) && !holds(ns2, VIP, VMAC_IF), 2000, 'VIP on ts VMAC only');
  await handOver(ts, ka, ns2, VIP, VMAC_IF);
  // And the other way: a lower-priority keepalived-ts must hear keepalived's unicast adverts to stay backup.
  const ts2 = start('ts2', ns1, unicast(50, '192.0.2.1', '192.0.2.2'));
  await staysBackupBeside(ts2, ka);
  assert.ok(!holds(ns1, VIP, VMAC_IF));
});

test('use_vmac: a VMAC left by a killed run is reused (same link), its stale VIP cleared, and deleted on stop', {
  skip,
  timeout: 30_000,
}, async () => {
  const [ns] = lan('vmacre', ['r', '192.0.2.1']);
  const first = start('first', ns, conf(150));
  await first.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await waitUntil(() => holds(ns, VIP, VMAC_IF), 2000, 'VIP on the VMAC');
  first.kill();
  await first.exited();
  const indexOf = () => /^(\d+):/.exec(ip('-n', ns, '-o', 'link', 'show', 'dev', VMAC_IF))?.[1];
  const leftIndex = indexOf();
  assert.ok(leftIndex && holds(ns, VIP, VMAC_IF), 'a SIGKILLed run leaves its VMAC and VIP');

  // A backup that hears nobody: it starts by clearing the old VIP, on the very same VMAC link.
  // (1 s adverts: its down timer leaves ample time to see the stale VIP go before it becomes master.)
  const second = start('second', ns, conf(100).replace('advert_int 0.1', 'advert_int 1'));
  await second.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
  assert.equal(second.grep(/reusing VMAC interface vrrp\.51/).length, 1, second.log());
  assert.equal(indexOf(), leftIndex, 'same link, not recreated');
  await waitUntil(() => !holds(ns, VIP, VMAC_IF), 1000, 'stale VIP removed');
  await second.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await waitUntil(() => holds(ns, VIP, VMAC_IF), 2000, 'VIP back on the VMAC');
  await stopRemovesVmac(second, ns);
});

test('use_vmac without an IPv4 address on the parent: the VMAC is made, the instance waits in FAULT (as 2.2.7)', {
  skip,
  timeout: 20_000,
}, async () => {
  const [ns] = lan('vmacnoad', ['r']);
  const r = start('r', ns, conf(100));
  await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 10_000);
  assert.ok(r.grep(/Success creating VMAC interface vrrp\.51/).length === 1, r.log());
  assert.notEqual(linkOf(ns, VMAC_IF), null, 'the VMAC exists while the instance waits');
  await stopRemovesVmac(r, ns);
});

test('use_vmac: a start that fails after the VMACs were made removes them again', {
  skip,
  timeout: 20_000,
}, async () => {
  // The runtime's construction throws (injected) after the host, VMACs included, was set up.
  const [ns] = lan('vmacfail', ['r', '192.0.2.1']);
  const r = start('r', ns, conf(100), { env: { KEEPALIVED_TS_FAULT: 'start' } });
  await r.exited();
  assert.notEqual(r.exitCode, 0, r.log());
  assert.ok(r.grep(/Success creating VMAC interface vrrp\.51/).length === 1, r.log());
  assert.equal(linkOf(ns, VMAC_IF), null, 'no VMAC left behind');
  assert.equal(sysctl(ns, 'ipv4/conf/eth0/arp_ignore'), '0');
});

test('use_vmac IPv6 interop with keepalived 2.2.7: each hears the other from its VMAC', {
  skip: skipKa,
  timeout: 40_000,
}, async () => {
  const VIP6 = '2001:db8::100';
  const ifname = 'vrrp.52';
  const conf6 = (priority: number) => conf(priority, 52, `${VIP6}/64`);
  const [ns1, ns2] = lan('vmac6ka', ['ts'], ['ka']);
  const ts = start('ts', ns1, conf6(150));
  const ka = startKeepalived(ns2, conf6(100));
  await settleStates(10_000, [ts, 'MASTER'], [ka, 'BACKUP']);
  assert.ok(holds(ns1, VIP6, ifname) && !holds(ns2, VIP6, ifname));
  await handOver(ts, ka, ns2, VIP6, ifname);
  // A lower-priority keepalived-ts must hear keepalived's adverts on its own VMAC to stay backup.
  const ts2 = start('ts2', ns1, conf6(50));
  await staysBackupBeside(ts2, ka);
});

/** Starts one use_vmac router, then reloads it with a second use_vmac instance (VRID 52) added. */
async function reloadAddingVmacInstance(label: string) {
  const [ns] = lan(label, ['r', '192.0.2.1']);
  const r = start('r', ns, conf(150));
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  const second = conf(150, 52, '192.0.2.102/24').replace('VI_1', 'VI_2');
  writeFileSync(r.conf, conf(150) + second);
  const mark = r.mark();
  r.proc.kill('SIGHUP');
  await r.waitFor(/Reload finished/, 5000, mark);
  return { ns, r, mark };
}

test('use_vmac: an instance a reload adds gets its VMAC and runs', {
  skip,
  timeout: 20_000,
}, async () => {
  const { ns, r } = await reloadAddingVmacInstance('vmacrl2');
  await r.waitFor(/\(VI_2\) Entering MASTER STATE/, 3000);
  assert.deepEqual(linkOf(ns, 'vrrp.52'), { mac: vmacAddress(4, 52), up: true, kind: 'private' });
  assert.ok(holds(ns, '192.0.2.102', 'vrrp.52'), "VI_2's VIP on its VMAC");
  assert.equal(r.lastState('VI_1'), 'MASTER');
  assert.ok(holds(ns, VIP, VMAC_IF), 'the running instance is untouched');
  // Stopping removes the VMAC a reload made too.
  assert.equal(await r.stop(), 0);
  assert.equal(linkOf(ns, 'vrrp.52'), null);
});
