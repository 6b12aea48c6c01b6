// Every receive-validation rule (docs/keepalived-semantics.md, 'Receive validation order'): a packet breaking
// exactly one rule is rejected with the right counter, and a valid packet passes and is counted. Packets are
// built with encodeAdvert, whose bytes are checked independently in packet.test.ts and golden.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RxMeta, VrrpAdvert } from '../../src/vrrp/advert.js';
import { AuthType } from '../../src/vrrp/advert.js';
import { passAuthDataHex } from '../../src/vrrp/auth.js';
import { type EncodeOptions, encodeAdvert } from '../../src/vrrp/packet.js';
import { type RxPolicy, type RxValidateResult, validateAdvert } from '../../src/vrrp/rx-validate.js';
import { countRxResult, countTx, newRxStats, type RxCounterName } from '../../src/vrrp/stats.js';

const SRC = '192.0.2.1';
const GROUP4 = '224.0.0.18';

const v2Policy: RxPolicy = {
  version: 2,
  family: 4,
  vrid: 51,
  authType: AuthType.pass,
  authPassword: 'kats-pw-long',
  advertIntervalCs: 100,
  unicast: false,
  unicastPeers: [],
  checkUnicastSrc: false,
  priority: 100,
  ownerIgnoreAdverts: false,
  vips: ['192.0.2.100/24', '192.0.2.101'],
  withIpHeader: true,
};

const v2Advert: VrrpAdvert = {
  version: 2,
  type: 1,
  vrid: 51,
  priority: 150,
  advertIntervalCs: 100,
  authType: AuthType.pass,
  authDataHex: passAuthDataHex('kats-pw-long'),
  addresses: ['192.0.2.100', '192.0.2.101'],
  checksum: 0,
};

const v2Opts: EncodeOptions = { family: 4, srcAddr: SRC, dstAddr: GROUP4, withIpHeader: true };
const meta4: RxMeta = { family: 4, srcAddr: SRC, dstAddr: GROUP4, ttl: 255, ifindex: 2 };

const v3Policy4: RxPolicy = {
  ...v2Policy,
  version: 3,
  vrid: 54,
  authType: AuthType.none,
  authPassword: '',
  advertIntervalCs: 50,
};
const v3Advert4: VrrpAdvert = {
  ...v2Advert,
  version: 3,
  vrid: 54,
  advertIntervalCs: 50,
  authType: 0,
  authDataHex: '',
};

const v3Policy6: RxPolicy = {
  ...v3Policy4,
  family: 6,
  vrid: 55,
  vips: ['fe80::55:1', '2001:db8::155/64'],
  withIpHeader: false,
};
const v3Advert6: VrrpAdvert = { ...v3Advert4, vrid: 55, addresses: ['fe80::55:1', '2001:db8::155'] };
const v6Opts: EncodeOptions = { family: 6, srcAddr: 'fe80::1', dstAddr: 'ff02::12' };
const meta6: RxMeta = { family: 6, srcAddr: 'fe80::1', dstAddr: 'ff02::12', ttl: 255, ifindex: 2 };

const unicastPolicy: RxPolicy = {
  ...v3Policy4,
  unicast: true,
  unicastPeers: [
    { addr: '192.0.2.2' },
    { addr: '192.0.2.3', minTtl: 250 },
    { addr: '192.0.2.4', maxTtl: 64 },
  ],
  checkUnicastSrc: true,
};

function v2(a: Partial<VrrpAdvert> = {}, o: Partial<EncodeOptions> = {}): Buffer {
  return encodeAdvert({ ...v2Advert, ...a }, { ...v2Opts, ...o });
}
function v3(a: Partial<VrrpAdvert> = {}, o: Partial<EncodeOptions> = {}): Buffer {
  return encodeAdvert({ ...v3Advert4, ...a }, { ...v2Opts, ...o });
}
function ucast(peer: string, ttl = 255, o: Partial<EncodeOptions> = {}): Buffer {
  return v3({}, { srcAddr: peer, dstAddr: SRC, ipv4: { ttl }, ...o });
}

function expectReject(r: RxValidateResult, counter: RxCounterName): void {
  assert.equal(r.ok, false, `expected rejection with ${counter}`);
  if (r.ok) return;
  assert.equal(r.counter, counter, r.reason);
  assert.ok(r.reason.length > 0);
  const stats = newRxStats();
  countRxResult(stats, r);
  assert.equal(stats[counter], 1);
  assert.equal(stats.RcvdAdvertisements, 0);
}

function expectOk(r: RxValidateResult) {
  assert.ok(r.ok, r.ok ? '' : `${r.counter}: ${r.reason}`);
  return r;
}

describe('valid packets pass', () => {
  test('v2 PASS over IPv4 with the IP header', () => {
    const r = expectOk(validateAdvert(v2(), meta4, v2Policy));
    assert.equal(r.checksumForm, 'vrrp-only');
    assert.equal(r.addressListMismatch, false);
    assert.equal(r.advert.priority, 150);
    const stats = newRxStats();
    countRxResult(stats, r);
    assert.equal(stats.RcvdAdvertisements, 1);
    assert.equal(stats.AddressListErrors, 0);
  });
  test('v2 no auth without the IP header (meta supplies TTL and addresses)', () => {
    const policy = { ...v2Policy, authType: AuthType.none, withIpHeader: false };
    const bytes = v2({ authType: 0, authDataHex: '' }, { withIpHeader: false });
    expectOk(validateAdvert(bytes, meta4, policy));
  });
  test('v3 IPv6 without header; meta hop limit and link-local source with a zone', () => {
    const r = expectOk(
      validateAdvert(encodeAdvert(v3Advert6, v6Opts), { ...meta6, srcAddr: 'fe80::1%eth0' }, v3Policy6),
    );
    assert.equal(r.checksumForm, 'pseudo-header');
  });
  test('a PASS password longer than 8 characters only needs its first 8 to match', () => {
    expectOk(validateAdvert(v2(), meta4, { ...v2Policy, authPassword: 'kats-pw-DIFFERENT' }));
  });
});

describe('1. AH header present ⇔ auth_type AH', () => {
  test('AH packet to a PASS instance', () => {
    const bytes = v2(
      { authType: AuthType.ah, authDataHex: '' },
      { ah: { password: 'kats-pw-long', seq: 1 } },
    );
    expectReject(validateAdvert(bytes, meta4, v2Policy), 'AuthTypeMismatch');
  });
  test('plain packet to an AH instance', () => {
    expectReject(validateAdvert(v2(), meta4, { ...v2Policy, authType: AuthType.ah }), 'AuthTypeMismatch');
  });
  test('AH instance without the IPv4 header cannot check AH', () => {
    const policy = { ...v2Policy, authType: AuthType.ah, withIpHeader: false };
    expectReject(validateAdvert(v2({}, { withIpHeader: false }), meta4, policy), 'AuthTypeMismatch');
  });
});

describe('2. lengths', () => {
  test('truncated packet', () => {
    expectReject(validateAdvert(v2().subarray(0, 30), meta4, v2Policy), 'PacketLengthErrors');
  });
  test('address count larger than the packet', () => {
    const b = v2();
    b[20 + 3] = 9;
    expectReject(validateAdvert(b, meta4, v2Policy), 'PacketLengthErrors');
  });
  test('IP total length disagreeing with the VRRP length', () => {
    const b = Buffer.concat([v2(), Buffer.alloc(4)]);
    b.writeUInt16BE(b.length, 2);
    expectReject(validateAdvert(b, meta4, v2Policy), 'PacketLengthErrors');
  });
  test('Ethernet padding of a short frame is tolerated', () => {
    const b = Buffer.concat([v3({ addresses: ['192.0.2.100'] }), Buffer.alloc(14)]);
    const r = expectOk(validateAdvert(b, meta4, { ...v3Policy4, vips: ['192.0.2.100'] }));
    assert.equal(r.packet.paddingLength, 14);
  });
  test('trailing bytes on a long packet are not padding', () => {
    const b = Buffer.concat([v2(), Buffer.alloc(16)]);
    expectReject(validateAdvert(b, meta4, v2Policy), 'PacketLengthErrors');
  });
});

describe('3. TTL / hop limit', () => {
  test('multicast TTL 254 (IPv4 header)', () => {
    expectReject(validateAdvert(v2({}, { ipv4: { ttl: 254 } }), meta4, v2Policy), 'IpTtlErrors');
  });
  test('IPv6 hop limit from meta', () => {
    expectReject(
      validateAdvert(encodeAdvert(v3Advert6, v6Opts), { ...meta6, ttl: 1 }, v3Policy6),
      'IpTtlErrors',
    );
  });
  test('unicast: any TTL from a peer without min/max', () => {
    expectOk(validateAdvert(ucast('192.0.2.2', 61), meta4, unicastPolicy));
  });
  test('unicast: below the peer min_ttl', () => {
    expectReject(validateAdvert(ucast('192.0.2.3', 249), meta4, unicastPolicy), 'IpTtlErrors');
    expectOk(validateAdvert(ucast('192.0.2.3', 250), meta4, unicastPolicy));
  });
  test('unicast: above the peer max_ttl', () => {
    expectReject(validateAdvert(ucast('192.0.2.4', 255), meta4, unicastPolicy), 'IpTtlErrors');
    expectOk(validateAdvert(ucast('192.0.2.4', 64), meta4, unicastPolicy));
  });
});

describe('4. version and VRID', () => {
  test('v3 packet to a v2 instance', () => {
    expectReject(validateAdvert(v3(), meta4, v2Policy), 'VersionErrors');
  });
  test('unknown version nibble', () => {
    const b = v2();
    b[20] = 0x51;
    expectReject(validateAdvert(b, meta4, v2Policy), 'VersionErrors');
  });
  test('other VRID', () => {
    expectReject(validateAdvert(v2({ vrid: 52 }), meta4, v2Policy), 'VrIdErrors');
  });
});

describe('6. v2 authentication and advert interval', () => {
  test('unknown auth type', () => {
    expectReject(validateAdvert(v2({ authType: 3 }), meta4, v2Policy), 'InvalidAuthType');
  });
  test('auth type differs from the configured one', () => {
    expectReject(validateAdvert(v2({ authType: 0, authDataHex: '' }), meta4, v2Policy), 'AuthTypeMismatch');
  });
  test('wrong PASS data', () => {
    expectReject(
      validateAdvert(v2({ authDataHex: passAuthDataHex('kats-pw!') }), meta4, v2Policy),
      'AuthFailures',
    );
  });
  test('v2 interval mismatch drops the packet', () => {
    expectReject(validateAdvert(v2({ advertIntervalCs: 200 }), meta4, v2Policy), 'AdvIntervalErrors');
  });
  test('v3 interval mismatch is accepted and reported', () => {
    const r = expectOk(validateAdvert(v3({ advertIntervalCs: 100 }), meta4, v3Policy4));
    assert.equal(r.intervalMismatch, true);
    assert.equal(r.advert.advertIntervalCs, 100);
  });
  test('v3 ignores a configured auth type (keepalived: v3 has no authentication)', () => {
    expectOk(validateAdvert(v3(), meta4, { ...v3Policy4, authType: AuthType.pass, authPassword: 'x' }));
  });
});

describe('6. AH (HMAC-MD5-96)', () => {
  const ahPolicy: RxPolicy = { ...v2Policy, authType: AuthType.ah, authPassword: 'ahsecret-long' };
  const ahPacket = (seq = 5, password = 'ahsecret') =>
    v2({ authType: AuthType.ah, authDataHex: '' }, { ah: { password, seq }, ipv4: { id: 9 } });
  test('valid AH packet passes and reports its sequence number', () => {
    const r = expectOk(validateAdvert(ahPacket(), meta4, ahPolicy));
    assert.equal(r.ahSeq, 5);
  });
  test('wrong key', () => {
    expectReject(validateAdvert(ahPacket(5, 'ahsecreT'), meta4, ahPolicy), 'AuthFailures');
  });
  test('a changed immutable byte (IP id, VRRP priority, SPI) breaks the ICV', () => {
    for (const at of [5, 20 + 4, 44 + 2]) {
      const b = ahPacket();
      b[at]! ^= 0x01;
      expectReject(validateAdvert(b, meta4, ahPolicy), 'AuthFailures');
    }
  });
  test('mutable IPv4 fields (TOS, flags/fragment, header checksum) are outside the ICV', () => {
    const b = ahPacket();
    b[1] = 0x00;
    b[6] = 0x40;
    b[10]! ^= 0xff;
    expectOk(validateAdvert(b, meta4, ahPolicy));
  });
  test('opt-in anti-replay', () => {
    expectReject(validateAdvert(ahPacket(5), meta4, { ...ahPolicy, ahMinSeq: 6 }), 'AuthFailures');
    expectOk(validateAdvert(ahPacket(6), meta4, { ...ahPolicy, ahMinSeq: 6 }));
  });
  test('malformed AH header', () => {
    const b = ahPacket();
    b[21] = 7;
    expectReject(validateAdvert(b, meta4, ahPolicy), 'AuthFailures');
  });
  test('the SPI must be the sender’s IPv4 address (keepalived)', () => {
    const spoofed = v2(
      { authType: AuthType.ah, authDataHex: '' },
      { ah: { password: 'ahsecret', seq: 5, spi: 0xc0000263 }, ipv4: { id: 9 } },
    );
    const r = validateAdvert(spoofed, meta4, ahPolicy);
    expectReject(r, 'AuthFailures');
    assert.match((r as { reason: string }).reason, /SPI/);
  });
  test('unicast instances leave the TTL out of the ICV (keepalived), multicast ones keep it in', () => {
    const uni = (ttl: number, zeroTtl: boolean) =>
      v2(
        { authType: AuthType.ah, authDataHex: '' },
        { dstAddr: '192.0.2.9', ah: { password: 'ahsecret', seq: 5, zeroTtl }, ipv4: { ttl } },
      );
    const uniPolicy = { ...ahPolicy, unicast: true, unicastPeers: [{ addr: SRC }] };
    const uniMeta = { ...meta4, dstAddr: '192.0.2.9' };
    // A unicast advert whose TTL a router decremented on the way still authenticates.
    const sent = uni(64, true);
    sent[8] = 63;
    expectOk(
      validateAdvert(
        sent,
        { ...uniMeta, ttl: 63 },
        { ...uniPolicy, unicastPeers: [{ addr: SRC, minTtl: 1 }] },
      ),
    );
    // With the TTL inside the ICV (the multicast form), the same change breaks it.
    const multi = uni(255, false);
    multi[8] = 254;
    expectReject(
      validateAdvert(
        multi,
        { ...uniMeta, ttl: 254 },
        { ...uniPolicy, unicastPeers: [{ addr: SRC, minTtl: 1 }] },
      ),
      'AuthFailures',
    );
  });
});

describe('7. type', () => {
  test('type 2', () => {
    expectReject(validateAdvert(v2({ type: 2 }), meta4, v2Policy), 'RcvdInvalidTypePackets');
  });
});

describe('10. checksum', () => {
  test('corrupted v2 checksum', () => {
    const b = v2();
    b[20 + 7]! ^= 0x10;
    expectReject(validateAdvert(b, meta4, v2Policy), 'ChecksumErrors');
  });
  test('v3/IPv4 accepts both forms and reports which one the peer uses', () => {
    const stats = newRxStats();
    const withPseudo = expectOk(validateAdvert(v3(), meta4, v3Policy4));
    const without = expectOk(validateAdvert(v3({}, { checksumForm: 'vrrp-only' }), meta4, v3Policy4));
    assert.equal(withPseudo.checksumForm, 'pseudo-header');
    assert.equal(without.checksumForm, 'vrrp-only');
    countRxResult(stats, withPseudo);
    countRxResult(stats, without);
    countRxResult(stats, without);
    assert.equal(stats.RcvdV3ChecksumWithPseudoHeader, 1);
    assert.equal(stats.RcvdV3ChecksumWithoutPseudoHeader, 2);
    assert.equal(stats.RcvdAdvertisements, 3);
  });
  test('v3/IPv4 unicast with the group in the pseudo-header (keepalived ≤ 1.3.6): only where allowed', () => {
    const old = ucast('192.0.2.2', 255, { checksumForm: 'pseudo-header-group', checksumGroup: GROUP4 });
    const metaU: RxMeta = { ...meta4, srcAddr: '192.0.2.2', dstAddr: SRC };
    // The form differs from the peer-addressed one (else the test would prove nothing).
    assert.notDeepEqual(old, ucast('192.0.2.2'));
    expectReject(validateAdvert(old, metaU, unicastPolicy), 'ChecksumErrors');
    const r = expectOk(validateAdvert(old, metaU, { ...unicastPolicy, oldChecksumGroup: GROUP4 }));
    assert.equal(r.checksumForm, 'pseudo-header-group');
    // The normal form is still accepted beside it, and reported as such.
    const now = expectOk(
      validateAdvert(ucast('192.0.2.2'), metaU, { ...unicastPolicy, oldChecksumGroup: GROUP4 }),
    );
    assert.equal(now.checksumForm, 'pseudo-header');
    // Another group in the old pseudo-header does not pass.
    const other = ucast('192.0.2.2', 255, {
      checksumForm: 'pseudo-header-group',
      checksumGroup: '224.0.0.19',
    });
    expectReject(
      validateAdvert(other, metaU, { ...unicastPolicy, oldChecksumGroup: GROUP4 }),
      'ChecksumErrors',
    );
  });
  test('v3/IPv4 pseudo-header checksum computed for another destination fails', () => {
    const b = v3({}, { dstAddr: '224.0.0.19' });
    // Keep the header's destination 224.0.0.18: only the checksum disagrees.
    Buffer.from([224, 0, 0, 18]).copy(b, 16);
    expectReject(validateAdvert(b, meta4, v3Policy4), 'ChecksumErrors');
  });
  test('v3/IPv6 checksum over the wrong source', () => {
    const b = encodeAdvert(v3Advert6, { ...v6Opts, srcAddr: 'fe80::2' });
    expectReject(validateAdvert(b, meta6, v3Policy6), 'ChecksumErrors');
  });
});

describe('11-14. destination, owner, unicast source, address list', () => {
  test('unicast destination on a multicast instance', () => {
    expectReject(validateAdvert(v2({}, { dstAddr: '192.0.2.9' }), meta4, v2Policy), 'DstAddrErrors');
  });
  test('multicast destination on a unicast instance', () => {
    expectReject(validateAdvert(v3({}, { srcAddr: '192.0.2.2' }), meta4, unicastPolicy), 'DstAddrErrors');
  });
  test('owner with owner_ignore_adverts drops; without it accepts', () => {
    const owner = { ...v2Policy, priority: 255 };
    expectReject(validateAdvert(v2(), meta4, { ...owner, ownerIgnoreAdverts: true }), 'OwnerIgnoredAdverts');
    expectOk(validateAdvert(v2(), meta4, owner));
  });
  test('check_unicast_src rejects a source that is not a peer', () => {
    expectReject(validateAdvert(ucast('192.0.2.77'), meta4, unicastPolicy), 'UnicastSrcErrors');
    expectOk(validateAdvert(ucast('192.0.2.77'), meta4, { ...unicastPolicy, checkUnicastSrc: false }));
  });
  test('a VIP list of another length is dropped before the checksum, not counted as received', () => {
    for (const addresses of [['192.0.2.100'], ['192.0.2.100', '192.0.2.101', '192.0.2.102']]) {
      // A wrong checksum too: the count is checked first (keepalived's order).
      const bytes = v2({ addresses });
      bytes[20 + 7]! ^= 0x10;
      const r = validateAdvert(bytes, meta4, v2Policy);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.counter, 'AddressListErrors', r.reason);
      assert.match(r.reason, new RegExp(`unexpected ip number count ${addresses.length}, expected 2`));
      const stats = newRxStats();
      countRxResult(stats, r);
      assert.equal(stats.AddressListErrors, 1);
      assert.equal(stats.RcvdAdvertisements, 0);
    }
  });
  test('a VIP missing from a list of the right length is dropped, named, counted as received', () => {
    for (const [addresses, missing] of [
      [['192.0.2.100', '192.0.2.102'], '192.0.2.101'],
      [['192.0.2.100', '192.0.2.100'], '192.0.2.101'],
      [['192.0.2.7', '192.0.2.8'], '192.0.2.100'],
    ] as const) {
      const r = validateAdvert(v2({ addresses: [...addresses] }), meta4, v2Policy);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.counter, 'AddressListErrors');
      assert.equal(r.reason, `ip address associated with VRID 51 not present in MASTER advert: ${missing}`);
      const stats = newRxStats();
      countRxResult(stats, r);
      assert.equal(stats.AddressListErrors, 1);
      assert.equal(stats.RcvdAdvertisements, 1);
    }
  });
  test('skip_check_adv_addr: only an advert from the master followed skips the check', () => {
    const skip = { ...v2Policy, skipCheckAdvAddr: true };
    const bytes = v2({ addresses: ['192.0.2.100'] });
    const src = meta4.srcAddr;
    // Following that master: accepted, the mismatch reported, nothing counted against it.
    const r = expectOk(validateAdvert(bytes, meta4, skip, src));
    assert.equal(r.addressListMismatch, true);
    const stats = newRxStats();
    countRxResult(stats, r);
    assert.equal(stats.AddressListErrors, 0);
    // Following another master, or none (master, or a backup that has accepted nothing yet): dropped.
    expectReject(validateAdvert(bytes, meta4, skip, '192.0.2.77'), 'AddressListErrors');
    expectReject(validateAdvert(bytes, meta4, skip, null), 'AddressListErrors');
    // Without the option the master followed makes no difference.
    expectReject(validateAdvert(bytes, meta4, v2Policy, src), 'AddressListErrors');
  });
  test('skip_check_adv_addr also skips the unicast source check, as keepalived', () => {
    const skip = { ...unicastPolicy, skipCheckAdvAddr: true };
    expectReject(validateAdvert(ucast('192.0.2.77'), meta4, skip, null), 'UnicastSrcErrors');
    expectOk(validateAdvert(ucast('192.0.2.77'), meta4, skip, '192.0.2.77'));
  });
  test('the same VIPs in another order or notation match', () => {
    const r = expectOk(validateAdvert(v2({ addresses: ['192.0.2.101', '192.0.2.100'] }), meta4, v2Policy));
    assert.equal(r.addressListMismatch, false);
    const p6 = { ...v3Policy6, vips: ['2001:DB8:0::155', 'FE80::55:1/64'] };
    const r6 = expectOk(validateAdvert(encodeAdvert(v3Advert6, v6Opts), meta6, p6));
    assert.equal(r6.addressListMismatch, false);
  });
  test('priority 0 is accepted and counted', () => {
    const r = expectOk(validateAdvert(v2({ priority: 0 }), meta4, v2Policy));
    const stats = newRxStats();
    countRxResult(stats, r);
    assert.equal(stats.RcvdPriZeroPackets, 1);
    countTx(stats, 0);
    countTx(stats, 100);
    assert.equal(stats.SentPriZeroPackets, 1);
    assert.equal(stats.SentAdvertisements, 2);
  });
});

describe('order of checks follows keepalived', () => {
  test('a packet breaking TTL, VRID and checksum at once is counted as a TTL error', () => {
    const b = v2({ vrid: 99 }, { ipv4: { ttl: 1 } });
    b[20 + 6]! ^= 0xff;
    expectReject(validateAdvert(b, meta4, v2Policy), 'IpTtlErrors');
  });
  test('wrong auth beats a wrong interval; a wrong interval beats a bad type and checksum', () => {
    expectReject(
      validateAdvert(v2({ authDataHex: passAuthDataHex('nope'), advertIntervalCs: 300 }), meta4, v2Policy),
      'AuthFailures',
    );
    const b = v2({ advertIntervalCs: 300, type: 3 });
    b[20 + 6]! ^= 0xff;
    expectReject(validateAdvert(b, meta4, v2Policy), 'AdvIntervalErrors');
  });
});
