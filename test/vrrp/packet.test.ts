// (hex bytes, object) fixture pairs for the VRRP codec, tested in both directions, plus the decode error codes.
// The fixture hex was produced by an independent Python script (struct + ipaddress, RFC 1071 sum written
// there), not by this codec; real-daemon bytes are in golden.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { IpFamily, VrrpAdvert } from '../../src/vrrp/advert.js';
import { passAuthDataHex } from '../../src/vrrp/auth.js';
import type { ChecksumForm } from '../../src/vrrp/checksum.js';
import { computeVrrpChecksum, internetChecksum, verifyVrrpChecksum } from '../../src/vrrp/checksum.js';
import { decodeAdvert, type EncodeOptions, encodeAdvert, vrrpMessageLength } from '../../src/vrrp/packet.js';
import { canonicalIp, formatIpv6, parseIpv4, parseIpv6 } from '../../src/vrrp/packet-addr.js';

interface Fixture {
  name: string;
  hex: string;
  family: IpFamily;
  withIpHeader: boolean;
  advert: VrrpAdvert;
  encode: EncodeOptions;
  /** Checksum form the fixture was built with. */
  form: ChecksumForm;
}

const fixtures: Fixture[] = [
  {
    name: 'v2 IPv4, no IP header, no auth, 1 address',
    hex: '210164010001b8f1c000020a0000000000000000',
    family: 4,
    withIpHeader: false,
    advert: {
      version: 2,
      type: 1,
      vrid: 1,
      priority: 100,
      advertIntervalCs: 100,
      authType: 0,
      authDataHex: '',
      addresses: ['192.0.2.10'],
      checksum: 0xb8f1,
    },
    encode: { family: 4, srcAddr: '192.0.2.1', dstAddr: '224.0.0.18' },
    form: 'vrrp-only',
  },
  {
    name: 'v2 IPv4 with IP header (id 7, TOS 0xc0), PASS "abc" zero-padded, 2 addresses, 3 s',
    hex: '45c0002c00070000ff701887c0000201e00000122107c8020103cd65c0000214c00002156162630000000000',
    family: 4,
    withIpHeader: true,
    advert: {
      version: 2,
      type: 1,
      vrid: 7,
      priority: 200,
      advertIntervalCs: 300,
      authType: 1,
      authDataHex: passAuthDataHex('abc'),
      addresses: ['192.0.2.20', '192.0.2.21'],
      checksum: 0xcd65,
    },
    encode: { family: 4, srcAddr: '192.0.2.1', dstAddr: '224.0.0.18', withIpHeader: true, ipv4: { id: 7 } },
    form: 'vrrp-only',
  },
  {
    name: 'v3 IPv4 owner, checksum with the IPv4 pseudo-header',
    hex: '310aff020064a8bbc000021ec000021f',
    family: 4,
    withIpHeader: false,
    advert: {
      version: 3,
      type: 1,
      vrid: 10,
      priority: 255,
      advertIntervalCs: 100,
      authType: 0,
      authDataHex: '',
      addresses: ['192.0.2.30', '192.0.2.31'],
      checksum: 0xa8bb,
    },
    encode: { family: 4, srcAddr: '192.0.2.1', dstAddr: '224.0.0.18' },
    form: 'pseudo-header',
  },
  {
    name: 'v3 IPv4 owner, checksum without pseudo-header (RFC 9568 / v3_checksum_as_v2)',
    hex: '310aff0200644b50c000021ec000021f',
    family: 4,
    withIpHeader: false,
    advert: {
      version: 3,
      type: 1,
      vrid: 10,
      priority: 255,
      advertIntervalCs: 100,
      authType: 0,
      authDataHex: '',
      addresses: ['192.0.2.30', '192.0.2.31'],
      checksum: 0x4b50,
    },
    encode: { family: 4, srcAddr: '192.0.2.1', dstAddr: '224.0.0.18', checksumForm: 'vrrp-only' },
    form: 'vrrp-only',
  },
  {
    name: 'v3 IPv6, priority 0, maximum interval 4095 cs, global + link-local address',
    hex: '31c800020fff93bc20010db8000000000000000000000001fe800000000000000000000000000010',
    family: 6,
    withIpHeader: false,
    advert: {
      version: 3,
      type: 1,
      vrid: 200,
      priority: 0,
      advertIntervalCs: 4095,
      authType: 0,
      authDataHex: '',
      addresses: ['2001:db8::1', 'fe80::10'],
      checksum: 0x93bc,
    },
    encode: { family: 6, srcAddr: 'fe80::1', dstAddr: 'ff02::12' },
    form: 'pseudo-header',
  },
  {
    name: 'v3 IPv4 unicast with IP header, DF set, TTL 64, interval 1 s',
    hex: '45c000200002400040704d70c0000201c6336407310c64010064bb98c000023c',
    family: 4,
    withIpHeader: true,
    advert: {
      version: 3,
      type: 1,
      vrid: 12,
      priority: 100,
      advertIntervalCs: 100,
      authType: 0,
      authDataHex: '',
      addresses: ['192.0.2.60'],
      checksum: 0xbb98,
    },
    encode: {
      family: 4,
      srcAddr: '192.0.2.1',
      dstAddr: '198.51.100.7',
      withIpHeader: true,
      ipv4: { id: 2, ttl: 64, fragmentField: 0x4000 },
    },
    form: 'pseudo-header',
  },
];

describe('VRRP codec fixtures', () => {
  for (const f of fixtures) {
    test(`decode: ${f.name}`, () => {
      const r = decodeAdvert(Buffer.from(f.hex, 'hex'), { family: f.family, withIpHeader: f.withIpHeader });
      assert.ok(r.ok, `decode failed: ${!r.ok && r.error}`);
      assert.deepEqual(r.advert, f.advert);
      assert.equal(r.packet.paddingLength, 0);
      const bytes = Buffer.from(f.hex, 'hex');
      const src = parseAddr(f.encode.srcAddr, f.family);
      const dst = parseAddr(f.encode.dstAddr, f.family);
      const form = verifyVrrpChecksum(
        bytes,
        { version: f.advert.version, family: f.family, src, dst },
        r.packet.vrrpOffset,
        r.packet.vrrpLength,
      );
      assert.equal(form, f.form);
    });
    test(`encode: ${f.name}`, () => {
      const out = encodeAdvert({ ...f.advert, checksum: 0 }, f.encode);
      assert.equal(out.toString('hex'), f.hex);
    });
  }

  test('v3 reserved bits are ignored on decode and written as zero (RFC 9568 §5.2.5)', () => {
    const r = decodeAdvert(Buffer.from('310b6401a0058442c0000228', 'hex'), {
      family: 4,
      withIpHeader: false,
    });
    assert.ok(r.ok);
    assert.equal(r.packet.reservedBits, 0xa);
    assert.equal(r.advert.advertIntervalCs, 5);
    const again = encodeAdvert(r.advert, { family: 4, srcAddr: '192.0.2.2', dstAddr: '192.0.2.3' });
    assert.equal(again[4], 0x00);
  });

  test('Ethernet padding after a short IPv4 packet is tolerated and reported', () => {
    const hex =
      '45c0002812340000ff70065ec0000201e0000012210932010001eac1c00002320000000000000000000000000000';
    const r = decodeAdvert(Buffer.from(hex, 'hex'), { family: 4, withIpHeader: true });
    assert.ok(r.ok);
    assert.equal(r.packet.paddingLength, 6);
    assert.equal(r.packet.packetLength, 40);
    assert.equal(r.packet.ipv4?.id, 0x1234);
  });
});

describe('decode error codes', () => {
  const v3 = Buffer.from('310aff020064a8bbc000021ec000021f', 'hex');
  const v2ip = Buffer.from(fixtures[1]!.hex, 'hex');
  const cases: [string, Uint8Array, IpFamily, boolean, string][] = [
    ['empty', new Uint8Array(0), 4, false, 'truncated'],
    ['header only, count says 2', v3.subarray(0, 8), 4, false, 'truncated'],
    ['one address short', v3.subarray(0, 12), 4, false, 'truncated'],
    ['version 1', Buffer.from([0x11, ...v3.subarray(1)]), 4, false, 'vrrp-version'],
    ['version 4', Buffer.from([0x41, ...v3.subarray(1)]), 4, false, 'vrrp-version'],
    ['v2 over IPv6', Buffer.from([0x21, ...v3.subarray(1)]), 6, false, 'vrrp-version'],
    ['IPv4 header too short', v2ip.subarray(0, 10), 4, true, 'ip-header'],
    ['IPv4 header with version 6', Buffer.from([0x65, ...v2ip.subarray(1)]), 4, true, 'ip-header'],
    ['IHL beyond the bytes', Buffer.from([0x4f, ...v2ip.subarray(1, 30)]), 4, true, 'ip-header'],
    ['IPv4 protocol 17', withByte(v2ip, 9, 17), 4, true, 'ip-protocol'],
    ['total length beyond the bytes', withByte(v2ip, 3, 0xff), 4, true, 'truncated'],
    ['total length shorter than the message', withByte(v2ip, 3, 0x28), 4, true, 'length-mismatch'],
    ['total length below the header length', withByte(v2ip, 3, 0x08), 4, true, 'length-mismatch'],
    ['AH protocol with a garbage AH', withByte(v2ip, 9, 51), 4, true, 'ah-header'],
    [
      'long trailing garbage (not padding)',
      Buffer.concat([v3, Buffer.alloc(40)]),
      4,
      false,
      'length-mismatch',
    ],
    ['IPv6 header with next header 17', ipv6Wrap(v3, 17), 6, true, 'ip-protocol'],
  ];
  for (const [name, bytes, family, withIpHeader, code] of cases) {
    test(`${name} → ${code}`, () => {
      const r = decodeAdvert(bytes, { family, withIpHeader });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.error, code);
    });
  }

  test('a huge address count cannot make decode read past the bytes', () => {
    const b = Buffer.from(v3);
    b[3] = 255;
    const r = decodeAdvert(b, { family: 4, withIpHeader: false });
    assert.deepEqual(r, { ok: false, error: 'truncated' });
    assert.equal(vrrpMessageLength(3, 6, 255), 8 + 255 * 16);
  });
});

describe('encode rejects impossible fields', () => {
  const base = fixtures[0]!.advert;
  const opts = fixtures[0]!.encode;
  const bad: [string, Partial<VrrpAdvert>, Partial<EncodeOptions>][] = [
    ['v2 interval not whole seconds', { advertIntervalCs: 150 }, {}],
    ['v2 interval above 255 s', { advertIntervalCs: 25600 }, {}],
    ['v3 interval above 4095 cs', { version: 3, advertIntervalCs: 4096 }, {}],
    ['priority 256', { priority: 256 }, {}],
    ['256 addresses', { addresses: new Array(256).fill('192.0.2.1') }, {}],
    ['unparsable address', { addresses: ['192.0.2.300'] }, {}],
    ['v2 over IPv6', {}, { family: 6, srcAddr: 'fe80::1', dstAddr: 'ff02::12' }],
    ['AH without the IP header', {}, { ah: { password: 'x', seq: 1 } }],
    ['bad auth data hex', { authDataHex: 'abc' }, {}],
  ];
  for (const [name, a, o] of bad) {
    test(name, () => {
      assert.throws(() => encodeAdvert({ ...base, ...a }, { ...opts, ...o }), RangeError);
    });
  }
});

describe('addresses and checksums', () => {
  test('IPv6 text is RFC 5952 canonical', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0000', '2001:db8:0:0:1::'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalIp(input, 6), want, input);
  });
  test('malformed addresses do not parse', () => {
    for (const s of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '', 'a.b.c.d'])
      assert.equal(parseIpv4(s), null, s);
    for (const s of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::', ':', '1:2:3:4:5:6:7::8']) {
      assert.equal(parseIpv6(s), null, s);
    }
  });
  test('every 16-byte value formats to text that parses back to it', () => {
    const b = new Uint8Array(16);
    for (let seed = 0; seed < 2000; seed++) {
      for (let i = 0; i < 16; i++) b[i] = (seed * 31 + i * 7) % 5 === 0 ? 0 : (seed * (i + 3)) & 0xff;
      const back = parseIpv6(formatIpv6(b));
      assert.deepEqual(back, b);
    }
  });
  test('IPv6 parse/format agree with the WHATWG URL host parser (independent oracle)', () => {
    const viaUrl = (s: string): string | null => {
      try {
        return new URL(`http://[${s}]/`).hostname.slice(1, -1);
      } catch {
        return null;
      }
    };
    const piece = fc.oneof(
      fc.constantFrom('0', '00', '0000', '1', 'ffff', 'FfFf', 'db8', '2001', '12345', 'g', ''),
      fc.constantFrom('192.0.2.1', '1.2.3', '01.2.3.4', '255.255.255.255', '256.1.1.1'),
    );
    const garbage = fc.array(piece, { minLength: 1, maxLength: 10 }).map((p) => p.join(':'));
    // Valid spellings of random addresses: zero runs, '::' anywhere, upper case, leading zeros, IPv4 tails.
    const valid = fc
      .record({
        groups: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
          minLength: 8,
          maxLength: 8,
        }),
        cut: fc.nat(8),
        len: fc.nat(8),
        upper: fc.boolean(),
        pad: fc.boolean(),
        v4tail: fc.boolean(),
      })
      .map(({ groups, cut, len, upper, pad, v4tail }) => {
        let parts = groups.map((g) => {
          const h = g.toString(16);
          const t = pad ? h.padStart(4, '0') : h;
          return upper ? t.toUpperCase() : t;
        });
        if (v4tail) {
          const [a, b] = [groups[6]!, groups[7]!];
          parts = [...parts.slice(0, 6), `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`];
        }
        if (len === 0 || cut + len > parts.length) return parts.join(':');
        return `${parts.slice(0, cut).join(':')}::${parts.slice(cut + len).join(':')}`;
      });
    const text = fc.oneof(garbage, valid);
    fc.assert(
      fc.property(text, (s) => {
        const b = parseIpv6(s);
        const want = s.length > 45 ? null : viaUrl(s);
        assert.equal(b ? formatIpv6(b) : null, want, s);
      }),
      { numRuns: 20_000, seed: 7 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const z = b.map((x, i) => (i % 3 === 0 ? 0 : x));
        assert.equal(formatIpv6(z), viaUrl(formatIpv6(z)));
      }),
      { numRuns: 5_000, seed: 8 },
    );
  });
  test('RFC 1071 §3 example sum', () => {
    // Bytes 00 01 f2 03 f4 f5 f6 f7: one's complement sum 0xddf2, so the checksum is ~0xddf2.
    assert.equal(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), ~0xddf2 & 0xffff);
  });
  test('v3/IPv4 verify reports the form that matched and rejects a wrong one', () => {
    const src = parseAddr('192.0.2.1', 4);
    const dst = parseAddr('224.0.0.18', 4);
    const ctx = { version: 3 as const, family: 4 as const, src, dst };
    assert.equal(verifyVrrpChecksum(Buffer.from(fixtures[2]!.hex, 'hex'), ctx), 'pseudo-header');
    assert.equal(verifyVrrpChecksum(Buffer.from(fixtures[3]!.hex, 'hex'), ctx), 'vrrp-only');
    const other = { ...ctx, dst: parseAddr('224.0.0.19', 4) };
    assert.equal(verifyVrrpChecksum(Buffer.from(fixtures[2]!.hex, 'hex'), other), null);
    // IPv6 has only the pseudo-header form: a VRRP-only checksum must not verify.
    const v6 = Buffer.from(fixtures[4]!.hex, 'hex');
    const ctx6 = {
      version: 3 as const,
      family: 6 as const,
      src: parseAddr('fe80::1', 6),
      dst: parseAddr('ff02::12', 6),
    };
    const plain = computeVrrpChecksum(v6, { ...ctx6, family: 4 }, 'vrrp-only');
    v6.writeUInt16BE(plain, 6);
    assert.equal(verifyVrrpChecksum(v6, ctx6), null);
  });
});

function parseAddr(a: string, family: IpFamily): Uint8Array {
  const b = family === 4 ? parseIpv4(a) : parseIpv6(a);
  assert.ok(b, a);
  return b;
}

function withByte(b: Uint8Array, at: number, value: number): Buffer {
  const c = Buffer.from(b);
  c[at] = value;
  return c;
}

function ipv6Wrap(payload: Uint8Array, nextHeader: number): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nextHeader;
  h[7] = 255;
  return Buffer.concat([h, payload]);
}
