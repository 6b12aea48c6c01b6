// v2 PASS key derivation and comparison, and AH build/verify round trips (the keepalived-compatible layout is
// pinned by the real captures in golden.test.ts; here: key rules, tamper detection, and the zeroed fields).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AUTH_DATA_LENGTH, authKeyBytes, passAuthDataHex, passAuthMatches } from '../../src/vrrp/auth.js';
import {
  AH_HEADER_LENGTH,
  AH_OFF_ICV,
  computeAhIcv,
  parseAhHeader,
  verifyAhIcv,
} from '../../src/vrrp/auth-ah.js';
import { encodeAdvert } from '../../src/vrrp/packet.js';

describe('PASS', () => {
  test('first 8 bytes of the password, zero-padded', () => {
    assert.equal(passAuthDataHex('abc'), '6162630000000000');
    assert.equal(passAuthDataHex('12345678'), '3132333435363738');
    assert.equal(passAuthDataHex('123456789abc'), '3132333435363738');
    assert.equal(passAuthDataHex(''), '0000000000000000');
    assert.equal(authKeyBytes('é1234567').length, AUTH_DATA_LENGTH);
  });
  test('compare needs all 8 bytes equal and stays inside the buffer', () => {
    const data = Buffer.from(`xx${passAuthDataHex('secret')}`.replace('xx', 'ffff'), 'hex');
    assert.equal(passAuthMatches(data, 2, 'secret'), true);
    assert.equal(passAuthMatches(data, 2, 'secret-and-more'), false, 'its first 8 bytes are secret-a');
    assert.equal(passAuthMatches(data, 2, 'secreT'), false);
    assert.equal(passAuthMatches(data, 2, 'secret\0\0x'), true, 'bytes past the 8th are not compared');
    assert.equal(passAuthMatches(data, 3, 'secret'), false, 'too close to the end');
    assert.equal(passAuthMatches(data, -1, 'secret'), false);
  });
});

describe('AH', () => {
  const advert = {
    version: 2 as const,
    type: 1,
    vrid: 9,
    priority: 100,
    advertIntervalCs: 100,
    authType: 2,
    authDataHex: '',
    addresses: ['192.0.2.9'],
    checksum: 0,
  };
  const build = (seq: number, password = 'pw') =>
    encodeAdvert(advert, {
      family: 4,
      srcAddr: '192.0.2.1',
      dstAddr: '224.0.0.18',
      withIpHeader: true,
      ipv4: { id: seq },
      ah: { password, seq },
    });

  test('header fields', () => {
    const p = build(77);
    assert.equal(p[9], 51);
    assert.equal(p.length, 20 + AH_HEADER_LENGTH + 8 + 4 + 8);
    assert.deepEqual(
      { ...parseAhHeader(p, 20), icvHex: undefined },
      { nextHeader: 112, spi: 0xc0000201, seq: 77, icvHex: undefined },
    );
  });
  test('ICV verifies with the key and changes with the sequence number', () => {
    const a = build(1);
    const b = build(2);
    assert.ok(verifyAhIcv(a, 20, authKeyBytes('pw')));
    assert.ok(verifyAhIcv(b, 20, authKeyBytes('pw')));
    assert.notDeepEqual(a.subarray(20 + AH_OFF_ICV, 44), b.subarray(20 + AH_OFF_ICV, 44));
    assert.equal(verifyAhIcv(a, 20, authKeyBytes('pW')), false);
  });
  test('every immutable byte is covered; TOS, fragment field and IP checksum are not', () => {
    const p = build(3);
    const key = authKeyBytes('pw');
    const mutable = new Set([1, 6, 7, 10, 11]);
    for (let i = 0; i < p.length; i++) {
      if (i >= 20 + AH_OFF_ICV && i < 20 + AH_HEADER_LENGTH) continue;
      const c = Buffer.from(p);
      c[i]! ^= 0x20;
      assert.equal(verifyAhIcv(c, 20, key), mutable.has(i), `byte ${i}`);
    }
  });
  test('a truncated packet fails instead of throwing', () => {
    const p = build(4);
    assert.equal(verifyAhIcv(p.subarray(0, 30), 20, authKeyBytes('pw')), false);
    assert.equal(verifyAhIcv(p, 20, authKeyBytes('pw'), p.length + 1), false);
    assert.equal(computeAhIcv(p, 20, authKeyBytes('pw')).length, 12);
  });
});
