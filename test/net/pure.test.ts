// Pure parts of the I/O layer: address text <-> bytes, the IPv4 header we send, the macvlan attributes we
// encode for netlink, and the mapping of OS failures to stable codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  formatIpv6,
  ipv4FromNumber,
  ipv4Netmask,
  ipv4ToNumber,
  parseIp,
  parseIpv4,
  parseIpv6,
  parseMac,
  vipBroadcast,
} from '../../src/net/inet.js';
import { buildIpv4Header } from '../../src/net/ipv4-header.js';
import { SO_TIMESTAMPNS, SOL_SOCKET } from '../../src/net/libc.js';
import { socketError } from '../../src/net/net-error.js';
import { macvlanLinkInfo, netlinkError } from '../../src/net/netlink.js';
import { arrivalOf } from '../../src/net/raw-socket.js';
import { internetChecksum } from '../../src/vrrp/checksum.js';

test('IPv6 formatting is RFC 5952 canonical (WHATWG URL serializer as the oracle) and round-trips', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      (groups) => {
        const bytes = new Uint8Array(16);
        groups.forEach((g, i) => {
          bytes[i * 2] = g >> 8;
          bytes[i * 2 + 1] = g & 0xff;
        });
        const text = formatIpv6(bytes);
        assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
        assert.deepEqual(parseIpv6(text), bytes);
      },
    ),
  );
  assert.equal(formatIpv6(parseIpv6('2001:0db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  assert.equal(formatIpv6(parseIpv6('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1');
  assert.deepEqual(parseIpv6('::ffff:192.0.2.1')?.subarray(10), Uint8Array.from([0xff, 0xff, 192, 0, 2, 1]));
  assert.equal(formatIpv6(parseIpv6('fe80::1%eth0')!), 'fe80::1');
});

test('malformed addresses parse to undefined', () => {
  for (const bad of [
    '',
    '192.0.2',
    '192.0.2.256',
    '1.2.3.4.5',
    '2001:db8::1::2',
    'g::1',
    '2001:db8:1:2:3:4:5:6:7',
  ]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  assert.equal(parseIpv4('2001:db8::1'), undefined);
  assert.equal(parseMac('00:00:5e:00:01'), undefined);
  assert.equal(parseMac('00:00:5e:00:01:zz'), undefined);
  assert.deepEqual(parseMac('00:00:5E:00:01:07'), Uint8Array.from([0, 0, 0x5e, 0, 1, 7]));
});

test('IPv4 header equals keepalived 2.2.7 first advert header (id 1, TOS 0xc0, TTL 255, no DF)', () => {
  // Captured from keepalived 2.2.7: 45c0 0028 0001 0000 ff70 1891 c0000201 e0000012 (20-byte VRRP payload).
  const h = buildIpv4Header({
    src: parseIpv4('192.0.2.1')!,
    dst: parseIpv4('224.0.0.18')!,
    protocol: 112,
    payloadLength: 20,
    ttl: 255,
    id: 1,
  });
  assert.equal(Buffer.from(h).toString('hex'), '45c000280001000' + '0ff701891c0000201e0000012');
  assert.equal(internetChecksum(h), 0);
});

test('internet checksum: RFC 1071 §3 worked example and odd length', () => {
  // RFC 1071 example bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 → checksum 220d.
  assert.equal(internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  assert.equal(internetChecksum(Uint8Array.from([0xff])), 0x00ff);
});

test('macvlan IFLA_LINKINFO: kind "macvlan" and nested mode', () => {
  assert.equal(
    macvlanLinkInfo('private').toString('hex'),
    // len 12, type 1, "macvlan\0" | len 12, type 2|NESTED, { len 8, type 1, u32 1 }
    '0c0001006d6163766c616e00' + '0c000280' + '0800010001000000',
  );
  assert.equal(macvlanLinkInfo('bridge').readUInt32LE(20), 4);
});

test('OS failures become stable codes; EPERM names the capability', () => {
  const e = socketError('socket', 1, 'vrrp eth0');
  assert.equal(e.code, 'KA_SOCKET_EPERM');
  assert.equal(e.errno, 'EPERM');
  assert.match(e.message, /^socket \(vrrp eth0\) failed: EPERM.*CAP_NET_RAW/);
  assert.equal(socketError('bind', 99).code, 'KA_SOCKET_EADDRNOTAVAIL');
  assert.equal(socketError('sendto', 11).code, 'KA_SOCKET_EAGAIN');
  assert.equal(socketError('x', 4095).code, 'KA_SOCKET_OS');
  assert.equal(netlinkError('add', new Error('Request rejected: EEXIST')).code, 'KA_NETLINK_EEXIST');
  assert.equal(netlinkError('del', new Error('Request rejected: ESRCH')).code, 'KA_NETLINK_ENOENT');
  assert.match(netlinkError('add', new Error('Request rejected: EPERM')).message, /CAP_NET_ADMIN/);
  // An IPv6 address on a device with IPv6 disabled is refused with EACCES: not a capability problem only.
  assert.match(netlinkError('add', new Error('Request rejected: EACCES')).message, /IPv6 disabled/);
  assert.equal(netlinkError('get', new Error('Timeout has been reached')).code, 'KA_NETLINK_TIMEOUT');
  assert.equal(netlinkError('get', new Error('weird')).code, 'KA_NETLINK_OS');
});

test('arrival time: the kernel timestamp (CLOCK_REALTIME) moved onto the monotonic clock, or nothing', () => {
  const stamp = (sec: bigint, nsec: bigint) => {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setBigInt64(0, sec, true);
    v.setBigInt64(8, nsec, true);
    return { level: SOL_SOCKET, type: SO_TIMESTAMPNS, data: b };
  };
  const datagram = (control: ReturnType<typeof stamp>[]) => ({
    data: new Uint8Array(0),
    name: new Uint8Array(0),
    control,
    truncated: false,
  });
  const clock = { realtimeUs: 1_700_000_000_000_500, monotonicUs: 42_000_000 };
  // Received 1.5 ms before the clocks were read.
  assert.equal(arrivalOf(datagram([stamp(1_699_999_999n, 999_000_000n)]), clock), 42_000_000 - 1500);
  assert.equal(arrivalOf(datagram([]), clock), undefined, 'no timestamp');
  // From the future, or over a second old: the wall clock was stepped; the timestamp is not used.
  assert.equal(arrivalOf(datagram([stamp(1_700_000_001n, 0n)]), clock), undefined);
  assert.equal(arrivalOf(datagram([stamp(1_699_999_990n, 0n)]), clock), undefined);
});

test('IPv4 addresses as 32-bit numbers: round trip, netmasks, a VIP broadcast', () => {
  fc.assert(
    fc.property(fc.ipV4(), (a) => {
      const n = ipv4ToNumber(a);
      assert.ok(n >= 0 && n <= 0xffffffff);
      assert.equal(ipv4FromNumber(n), a);
    }),
  );
  assert.equal(ipv4ToNumber('255.255.255.255'), 0xffffffff);
  assert.deepEqual(
    [0, 1, 24, 31, 32].map((p) => ipv4FromNumber(ipv4Netmask(p))),
    ['0.0.0.0', '128.0.0.0', '255.255.255.0', '255.255.255.254', '255.255.255.255'],
  );
  assert.equal(vipBroadcast('+', '198.51.100.77', 26), '198.51.100.127');
  assert.equal(vipBroadcast('+', '192.0.2.1', 0), '255.255.255.255');
  assert.equal(vipBroadcast('+', '192.0.2.1', 31), null);
});
