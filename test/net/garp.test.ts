// GARP and unsolicited NA frames: byte-exact against frames captured from keepalived 2.2.7 on a veth
// (MAC ba:7c:18:7a:14:a7, VIPs 192.0.2.100 and 2001:db8::100), then sent between two namespaces and
// captured by tcpdump, whose own decoder must call the ICMPv6 checksum good.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AnnounceSender, buildGarpFrame, buildUnsolicitedNaFrame } from '../../src/net/garp.js';
import { RecordingSink } from '../../src/net/prepared-write.js';
import { internetChecksum } from '../../src/vrrp/checksum.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { Agent } from './agent-client.js';
import { readPcapFrames } from './pcap.js';

const mac = Buffer.from('ba7c187a14a7', 'hex');
const vip4 = Buffer.from('c0000264', 'hex');
const vip6 = Buffer.from('20010db8000000000000000000000100', 'hex');
const KEEPALIVED_GARP =
  'ffffffffffffba7c187a14a70806000108000604000' + '1ba7c187a14a7c0000264ffffffffffffc0000264';
const KEEPALIVED_NA =
  '333300000001ba7c187a14a786dd6000000000203aff20010db8000000000000000000000100' +
  'ff02000000000000000000000000000188001190200000002001' +
  '0db8000000000000000000000100' +
  '0201ba7c187a14a7';

/** Independent ICMPv6 check: pseudo-header + message sums to zero. */
function icmp6ChecksumOk(frame: Uint8Array): boolean {
  const f = Buffer.from(frame);
  const payloadLen = f.readUInt16BE(18);
  const pseudo = Buffer.alloc(40);
  f.copy(pseudo, 0, 22, 54);
  pseudo.writeUInt32BE(payloadLen, 32);
  pseudo[39] = 58;
  return internetChecksum(Buffer.concat([pseudo, f.subarray(54, 54 + payloadLen)])) === 0;
}

test('GARP frame equals the one keepalived 2.2.7 sends', () => {
  assert.equal(Buffer.from(buildGarpFrame(mac, vip4)).toString('hex'), KEEPALIVED_GARP);
});

test('unsolicited NA frame equals the one keepalived 2.2.7 sends (Override, no Router)', () => {
  const f = buildUnsolicitedNaFrame(mac, vip6);
  assert.equal(Buffer.from(f).toString('hex'), KEEPALIVED_NA);
  assert.ok(icmp6ChecksumOk(f));
});

test('NA with the Router flag: flags 0xa0 and a checksum that still verifies', () => {
  const f = buildUnsolicitedNaFrame(mac, vip6, true);
  assert.equal(f[58], 0xa0);
  assert.ok(icmp6ChecksumOk(f));
  const other = Buffer.from('0000000000000000000000000000beef', 'hex');
  assert.ok(icmp6ChecksumOk(buildUnsolicitedNaFrame(Buffer.from('020000000001', 'hex'), other, true)));
});

const skip = !isRoot() && 'needs root for network namespaces';
let lab: Lab;
let sender: Agent;
let listener: Agent;
let nsB: string;
let macA: string;
const tmp = mkdtempSync(join(tmpdir(), 'kats-garp-'));

before(async () => {
  if (skip) return;
  lab = new Lab('ga');
  const nsA = lab.addHost('a');
  nsB = lab.addHost('b');
  macA = JSON.parse(ip('-n', nsA, '-j', 'link', 'show', 'eth0'))[0].address;
  [sender, listener] = await Promise.all([Agent.start(nsA), Agent.start(nsB)]);
  // Our own AF_PACKET receive path (RawSocket.onFrame) listens too, next to tcpdump.
  for (const [key, ethertype] of [
    ['arp', 0x0806],
    ['ip6', 0x86dd],
  ] as const) {
    assert.deepEqual(await listener.call('packetListen', { key, ifname: 'eth0', ethertype }), { ok: true });
  }
});

after(async () => {
  await Promise.all([sender?.stop(), listener?.stop()]);
  lab?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const ipIndex = (ns: string): number => JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'eth0'))[0].ifindex;

/** Runs tcpdump in nsB until `count` frames matching `filter` arrive, while `act` sends them. */
async function capture(filter: string, count: number, act: () => Promise<void>): Promise<string> {
  const file = join(tmp, `${Date.now()}.pcap`);
  const td = spawn('ip', [
    'netns',
    'exec',
    nsB,
    'tcpdump',
    '-i',
    'eth0',
    '-U',
    '-c',
    String(count),
    '-w',
    file,
    filter,
  ]);
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      td.kill('SIGKILL');
      reject(new Error(`tcpdump did not start: ${err}`));
    }, 5000);
    td.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  await act();
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => td.kill('SIGINT'), 5000);
    td.on('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
  return file;
}

test('GARP and NA on the wire: byte-exact with the sender MAC, NA checksum ok per tcpdump', {
  skip,
}, async () => {
  const file = await capture('arp or (icmp6 and ip6[40] == 136)', 2, async () => {
    assert.deepEqual(
      await sender.call('announce', { ifname: 'eth0', kind: 'garp', vip: '192.0.2.100', mac: macA }),
      {
        ok: true,
      },
    );
    assert.deepEqual(
      await sender.call('announce', {
        ifname: 'eth0',
        kind: 'na',
        vip: '2001:db8::100',
        mac: macA,
        router: true,
      }),
      { ok: true },
    );
  });
  const frames = readPcapFrames(file);
  assert.equal(frames.length, 2);
  const m = Buffer.from(macA.replaceAll(':', ''), 'hex');
  assert.deepEqual(frames[0], Buffer.from(buildGarpFrame(m, vip4)));
  assert.equal(frames[0]!.subarray(6, 12).toString('hex'), macA.replaceAll(':', ''));
  assert.deepEqual(frames[1], Buffer.from(buildUnsolicitedNaFrame(m, vip6, true)));
  const text = spawnSync('tcpdump', ['-r', file, '-vv', '-n'], { encoding: 'utf8' }).stdout;
  assert.match(text, /Request who-has 192\.0\.2\.100 \((Broadcast|ff:ff:ff:ff:ff:ff)\) tell 192\.0\.2\.100/);
  assert.match(text, /hlim 255.*2001:db8::100 > ff02::1: \[icmp6 sum ok\] ICMP6, neighbor advertisement/);
  assert.match(text, /Flags \[router, override\]/);
  // The AF_PACKET receiver saw the same bytes, with the link-layer facts from sockaddr_ll.
  const garpHex = frames[0]!.toString('hex');
  const arpEv = await listener.waitEvent((e) => e.event === 'frame' && e.frameHex === garpHex);
  assert.deepEqual(arpEv.meta, { protocol: 0x0806, ifindex: ipIndex(nsB), pktType: 1 /* broadcast */ });
  const naHex = frames[1]!.toString('hex');
  const naEv = await listener.waitEvent((e) => e.event === 'frame' && e.frameHex === naHex);
  assert.deepEqual(naEv.meta, { protocol: 0x86dd, ifindex: ipIndex(nsB), pktType: 2 /* multicast */ });
});

test('announcing with a VMAC puts that MAC in the frame', { skip }, async () => {
  const vmac = '00:00:5e:00:01:07';
  const file = await capture('arp', 1, async () => {
    assert.deepEqual(
      await sender.call('announce', { ifname: 'eth0', kind: 'garp', vip: '192.0.2.101', mac: vmac }),
      {
        ok: true,
      },
    );
  });
  const [f] = readPcapFrames(file);
  assert.equal(f?.subarray(6, 12).toString('hex'), '00005e000107');
  assert.equal(f?.subarray(22, 28).toString('hex'), '00005e000107');
});

test('AnnounceSender.prepare builds the frame once, the same bytes as the builders, and writes it to a sink without sending', {
  skip: !isRoot() && 'needs root for an AF_PACKET socket',
}, () => {
  // Opening the socket sends nothing (protocol 0 never receives; prepare never writes): safe on lo.
  const opened = AnnounceSender.open('lo');
  assert.equal(opened.ok, true);
  if (!opened.ok) return;
  const s = opened.value;
  try {
    const mac = Uint8Array.from([0x02, 0, 0x5e, 0, 1, 7]);
    const garp = s.prepare('192.0.2.100', '02:00:5e:00:01:07');
    assert.equal(garp.ok, true);
    if (!garp.ok) return;
    assert.deepEqual(garp.value.frame, buildGarpFrame(mac, Uint8Array.from([192, 0, 2, 100])));
    const again = s.prepare('192.0.2.100', '02:00:5e:00:01:07');
    assert.ok(again.ok && again.value === garp.value, 'the second prepare reuses the prepared frame');
    // Written to a sink (a rehearsal), the frame and its destination go there and nowhere else.
    const sink = new RecordingSink();
    assert.equal(garp.value.write(sink).ok, true);
    assert.deepEqual(sink.written, [{ data: garp.value.frame, sockaddr: garp.value.sockaddr }]);
    const na = s.prepare('2001:db8::100', '02:00:5e:00:01:07', true);
    assert.ok(na.ok);
    const v6 = new Uint8Array(16);
    v6.set([0x20, 0x01, 0x0d, 0xb8], 0);
    v6[14] = 0x01;
    assert.deepEqual(na.value.frame, buildUnsolicitedNaFrame(mac, v6, true));
    assert.equal(s.prepare('not-an-address', '02:00:5e:00:01:07').ok, false);
    assert.equal(s.prepare('192.0.2.100', 'zz').ok, false);
    assert.equal(s.sendGarp('2001:db8::100', '02:00:5e:00:01:07').ok, false, 'GARP is IPv4 only');
    assert.equal(s.sendUnsolicitedNa('192.0.2.100', '02:00:5e:00:01:07').ok, false, 'NA is IPv6 only');
  } finally {
    s.close();
  }
});
