// Capture driver for the golden VRRP wire tests (run through scripts/capture-vrrp.sh, as root).
// For each case it builds a bridge lab with test/helpers/netns.ts, runs the REAL daemon (keepalived 2.2.7 or
// FRR 8.4 vrrpd) in one host namespace, records its adverts with tcpdump on that host's eth0, and writes the
// IP packets as hex into test/data/vrrp-captures/<case>.json. The golden test only reads those JSON files.
// Addresses: 192.0.2.0/24 and 2001:db8::/32 only, inside namespaces this script creates.
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ip, Lab, nsExec } from '../../helpers/netns.js';
import { tcpdumpIn } from '../../interop/capture.js';
import type { CaptureExpected } from './format.js';

const outDir = dirname(fileURLToPath(import.meta.url));

interface CaptureCase {
  name: string;
  daemon: 'keepalived' | 'frr';
  description: string;
  config: string;
  packetCount: number;
  /** Further daemon config (FRR: zebra + vrrpd) or setup done before start. */
  expect: CaptureExpected[];
}

function keepalivedConf(body: string): string {
  return `global_defs {\n  router_id kats-capture\n}\n\nvrrp_instance VI_CAP {\n${body}}\n`;
}

const cases: CaptureCase[] = [
  {
    name: 'keepalived-v2-ipv4-mcast-noauth',
    daemon: 'keepalived',
    description: 'keepalived 2.2.7, VRRPv2 over IPv4 multicast, no authentication, two VIPs',
    packetCount: 3,
    config: keepalivedConf(
      '  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  advert_int 1\n' +
        '  virtual_ipaddress {\n    192.0.2.100/24\n    192.0.2.101/24\n  }\n',
    ),
    expect: [
      {
        family: 4,
        version: 2,
        vrid: 51,
        priority: 150,
        advertIntervalCs: 100,
        authType: 0,
        addresses: ['192.0.2.100', '192.0.2.101'],
      },
    ],
  },
  {
    name: 'keepalived-v2-ipv4-pass',
    daemon: 'keepalived',
    description: 'keepalived 2.2.7, VRRPv2 over IPv4 multicast, auth_type PASS with a 12-char password (8 used)',
    packetCount: 3,
    config: keepalivedConf(
      '  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority 120\n  advert_int 2\n' +
        '  authentication {\n    auth_type PASS\n    auth_pass kats-pw-long\n  }\n' +
        '  virtual_ipaddress {\n    192.0.2.102/24\n  }\n',
    ),
    expect: [
      {
        family: 4,
        version: 2,
        vrid: 52,
        priority: 120,
        advertIntervalCs: 200,
        authType: 1,
        password: 'kats-pw-long',
        addresses: ['192.0.2.102'],
      },
    ],
  },
  {
    name: 'keepalived-v2-ipv4-ah',
    daemon: 'keepalived',
    description: 'keepalived 2.2.7, VRRPv2 over IPv4 multicast, auth_type AH (IPsec AH, HMAC-MD5-96)',
    packetCount: 3,
    config: keepalivedConf(
      '  state BACKUP\n  interface eth0\n  virtual_router_id 53\n  priority 200\n  advert_int 1\n' +
        '  authentication {\n    auth_type AH\n    auth_pass ahsecret-long\n  }\n' +
        '  virtual_ipaddress {\n    192.0.2.103/24\n    192.0.2.104/24\n  }\n',
    ),
    expect: [
      {
        family: 4,
        version: 2,
        vrid: 53,
        priority: 200,
        advertIntervalCs: 100,
        authType: 2,
        password: 'ahsecret-long',
        addresses: ['192.0.2.103', '192.0.2.104'],
      },
    ],
  },
  {
    name: 'keepalived-v3-ipv4-mcast',
    daemon: 'keepalived',
    description: 'keepalived 2.2.7, VRRPv3 over IPv4 multicast, advert_int 0.5 (checksum with IPv4 pseudo-header)',
    packetCount: 4,
    config: keepalivedConf(
      '  state BACKUP\n  interface eth0\n  version 3\n  virtual_router_id 54\n  priority 110\n  advert_int 0.5\n' +
        '  virtual_ipaddress {\n    192.0.2.105/24\n    192.0.2.106/24\n    192.0.2.107/24\n  }\n',
    ),
    expect: [
      {
        family: 4,
        version: 3,
        vrid: 54,
        priority: 110,
        advertIntervalCs: 50,
        authType: 0,
        addresses: ['192.0.2.105', '192.0.2.106', '192.0.2.107'],
      },
    ],
  },
  {
    name: 'keepalived-v3-ipv6-mcast',
    daemon: 'keepalived',
    description: 'keepalived 2.2.7, VRRPv3 over IPv6 multicast (ff02::12), advert_int 0.25, link-local + global VIP',
    packetCount: 4,
    config: keepalivedConf(
      '  state BACKUP\n  interface eth0\n  version 3\n  virtual_router_id 55\n  priority 130\n  advert_int 0.25\n' +
        '  virtual_ipaddress {\n    fe80::55:1/64\n    2001:db8::155/64\n  }\n',
    ),
    expect: [
      {
        family: 6,
        version: 3,
        vrid: 55,
        priority: 130,
        advertIntervalCs: 25,
        authType: 0,
        addresses: ['fe80::55:1', '2001:db8::155'],
      },
    ],
  },
  {
    name: 'keepalived-v3-ipv4-unicast',
    daemon: 'keepalived',
    description: 'keepalived 2.2.7, VRRPv3 over IPv4 unicast to two peers (per-peer pseudo-header checksum)',
    packetCount: 4,
    config: keepalivedConf(
      '  state BACKUP\n  interface eth0\n  version 3\n  virtual_router_id 56\n  priority 140\n  advert_int 1\n' +
        '  unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2\n    192.0.2.3\n  }\n' +
        '  virtual_ipaddress {\n    192.0.2.108/24\n  }\n',
    ),
    expect: [
      {
        family: 4,
        version: 3,
        vrid: 56,
        priority: 140,
        advertIntervalCs: 100,
        authType: 0,
        addresses: ['192.0.2.108'],
        unicastPeers: ['192.0.2.2', '192.0.2.3'],
      },
    ],
  },
  {
    name: 'frr-v3-ipv4-ipv6',
    daemon: 'frr',
    description: 'FRR 8.4 vrrpd, VRRPv3 virtual router 57 with an IPv4 and an IPv6 instance, advertisement-interval 200 ms',
    packetCount: 8,
    config:
      'interface eth0\n vrrp 57 version 3\n vrrp 57 priority 160\n vrrp 57 advertisement-interval 200\n' +
      ' vrrp 57 ip 192.0.2.157\n vrrp 57 ipv6 2001:db8::157\n!\n',
    expect: [
      {
        family: 4,
        version: 3,
        vrid: 57,
        priority: 160,
        advertIntervalCs: 20,
        authType: 0,
        addresses: ['192.0.2.157'],
      },
      {
        family: 6,
        version: 3,
        vrid: 57,
        priority: 160,
        advertIntervalCs: 20,
        authType: 0,
        addresses: ['2001:db8::157'],
      },
    ],
  },
];

/** Reads a classic pcap (tcpdump -w) with Ethernet link type; returns the IPv4/IPv6 packets as hex. */
function readPcapIpPackets(file: string): string[] {
  const buf = readFileSync(file);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`unexpected pcap link type ${linkType}`);
  const out: string[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const capLen = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + capLen);
    off += 16 + capLen;
    let l3 = 14;
    let etherType = frame.readUInt16BE(12);
    while (etherType === 0x8100) {
      etherType = frame.readUInt16BE(l3 + 2);
      l3 += 4;
    }
    if (etherType === 0x0800) {
      const totLen = frame.readUInt16BE(l3 + 2);
      out.push(frame.subarray(l3, l3 + totLen).toString('hex'));
    } else if (etherType === 0x86dd) {
      const payloadLen = frame.readUInt16BE(l3 + 4);
      out.push(frame.subarray(l3, l3 + 40 + payloadLen).toString('hex'));
    }
  }
  return out;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(true);
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  if (!(await waitExit(child, 5000))) child.kill('SIGKILL');
}

function buildLab(): { lab: Lab; host: string; peer: string } {
  const lab = new Lab('vcap');
  const host = lab.addHost('vcaph');
  const peer = lab.addHost('vcapp');
  for (const [ns, v4, v6] of [
    [host, '192.0.2.1/24', '2001:db8::1/64'],
    [peer, '192.0.2.2/24', '2001:db8::2/64'],
  ] as const) {
    nsExec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.eth0.accept_dad=0']);
    nsExec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.accept_ra=0']);
    nsExec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.eth0.accept_ra=0']);
    ip('-n', ns, 'addr', 'add', v4, 'dev', 'eth0');
    ip('-n', ns, 'addr', 'add', v6, 'dev', 'eth0', 'nodad');
  }
  // The second unicast peer lives on the passive host too, so ARP resolves and the packet reaches the wire.
  ip('-n', peer, 'addr', 'add', '192.0.2.3/24', 'dev', 'eth0');
  // A fresh link-local so the daemon has a usable IPv6 source at once.
  ip('-n', host, 'link', 'set', 'eth0', 'down');
  ip('-n', host, 'link', 'set', 'eth0', 'up');
  return { lab, host, peer };
}

function startTcpdump(ns: string, file: string, count: number): ChildProcess {
  const filter = 'ip proto 112 or ip6 proto 112 or ip proto 51';
  return tcpdumpIn(ns, ['-i', 'eth0', '-U', '-w', file, '-c', String(count), filter], 'ignore');
}

async function runKeepalived(c: CaptureCase, host: string, dir: string, pcap: string): Promise<string> {
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(conf, c.config);
  const td = startTcpdump(host, pcap, c.packetCount);
  await sleep(500);
  const ka = spawn(
    'ip',
    [
      'netns',
      'exec',
      host,
      'keepalived',
      '-n',
      '-l',
      '--vrrp',
      '-f',
      conf,
      '-p',
      join(dir, 'k.pid'),
      '-r',
      join(dir, 'v.pid'),
      '-c',
      join(dir, 'c.pid'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  ka.stdout?.on('data', (d) => {
    log += d;
  });
  ka.stderr?.on('data', (d) => {
    log += d;
  });
  const done = await waitExit(td, 20_000);
  await stop(ka);
  if (!done) {
    await stop(td);
    throw new Error(`${c.name}: tcpdump did not see ${c.packetCount} packets\n${log}`);
  }
  return log;
}

async function runFrr(c: CaptureCase, host: string, dir: string, pcap: string): Promise<string> {
  chownSync(dir, 103, 107);
  // vrrpd finds its macvlans by the VRRP virtual MAC on the parent interface (docs/frr-test-peer.md).
  for (const [name, mac, addr] of [
    ['vrrp4-2-57', '00:00:5e:00:01:39', '192.0.2.157/24'],
    ['vrrp6-2-57', '00:00:5e:00:02:39', '2001:db8::157/64'],
  ] as const) {
    ip('-n', host, 'link', 'add', name, 'link', 'eth0', 'type', 'macvlan', 'mode', 'bridge');
    ip('-n', host, 'link', 'set', 'dev', name, 'addrgenmode', 'random');
    ip('-n', host, 'link', 'set', 'dev', name, 'address', mac);
    nsExec(host, 'sysctl', ['-qw', `net.ipv6.conf.${name}.accept_dad=0`]);
    ip('-n', host, 'addr', 'add', addr, 'dev', name, ...(addr.includes(':') ? ['nodad'] : []));
    ip('-n', host, 'link', 'set', 'dev', name, 'up');
  }
  const zconf = join(dir, 'zebra.conf');
  const vconf = join(dir, 'vrrpd.conf');
  writeFileSync(zconf, 'hostname kats-capture\n');
  writeFileSync(vconf, c.config);
  for (const f of [zconf, vconf]) chownSync(f, 103, 107);
  const common = ['-z', join(dir, 'zserv.api'), '--vty_socket', dir, '-P', '0'];
  const td = startTcpdump(host, pcap, c.packetCount);
  await sleep(500);
  const zebra = spawn(
    'ip',
    [
      'netns',
      'exec',
      host,
      '/usr/lib/frr/zebra',
      '-f',
      zconf,
      '-i',
      join(dir, 'zebra.pid'),
      ...common,
      '--log',
      `file:${join(dir, 'zebra.log')}`,
    ],
    { stdio: 'ignore' },
  );
  await sleep(1000);
  const vrrpd = spawn(
    'ip',
    [
      'netns',
      'exec',
      host,
      '/usr/lib/frr/vrrpd',
      '-f',
      vconf,
      '-i',
      join(dir, 'vrrpd.pid'),
      ...common,
      '--log',
      `file:${join(dir, 'vrrpd.log')}`,
    ],
    { stdio: 'ignore' },
  );
  const done = await waitExit(td, 20_000);
  await stop(vrrpd);
  await stop(zebra);
  let log = '';
  try {
    log = readFileSync(join(dir, 'vrrpd.log'), 'utf8');
  } catch {}
  if (!done) {
    await stop(td);
    throw new Error(`${c.name}: tcpdump did not see ${c.packetCount} packets\n${log}`);
  }
  return log;
}

async function capture(c: CaptureCase): Promise<void> {
  const { lab, host } = buildLab();
  const dir = mkdtempSync(join(tmpdir(), 'kats-vcap-'));
  const pcap = join(dir, 'cap.pcap');
  try {
    if (c.daemon === 'keepalived') await runKeepalived(c, host, dir, pcap);
    else await runFrr(c, host, dir, pcap);
    const packets = readPcapIpPackets(pcap);
    const version =
      c.daemon === 'keepalived'
        ? nsExec(host, 'keepalived', ['--version']).stderr.split('\n')[0]
        : nsExec(host, '/usr/lib/frr/vrrpd', ['--version']).stdout.split('\n')[0];
    const record = {
      case: c.name,
      description: c.description,
      daemon: version?.trim(),
      hostAddresses: { ipv4: '192.0.2.1/24', ipv6: '2001:db8::1/64' },
      config: c.config,
      expect: c.expect,
      packets,
    };
    writeFileSync(join(outDir, `${c.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
    console.log(`${c.name}: ${packets.length} packets`);
  } finally {
    lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = process.argv.slice(2);
for (const c of cases) {
  if (only.length > 0 && !only.includes(c.name)) continue;
  await capture(c);
}
