// Golden wire tests: adverts captured from the REAL keepalived 2.2.7 and FRR 8.4 vrrpd (see
// test/data/vrrp-captures/README.md; re-made by scripts/capture-vrrp.sh). Each capture must decode with the
// configured fields, verify its checksum (and AH ICV), pass receive validation for an instance configured like
// the sender, and re-encode from the decoded fields to the same bytes. No daemon is needed at run time.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuthTypeCode, IpFamily, RxMeta } from '../../src/vrrp/advert.js';
import { AuthType, VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6, VRRP_TTL } from '../../src/vrrp/advert.js';
import { authKeyBytes, passAuthDataHex } from '../../src/vrrp/auth.js';
import { verifyAhIcv } from '../../src/vrrp/auth-ah.js';
import { verifyVrrpChecksum } from '../../src/vrrp/checksum.js';
import { decodeAdvert, encodeAdvert, spiOfAddress } from '../../src/vrrp/packet.js';
import { parseIp } from '../../src/vrrp/packet-addr.js';
import { IPV6_HEADER_LENGTH } from '../../src/vrrp/packet-ip.js';
import { type RxPolicy, validateAdvert } from '../../src/vrrp/rx-validate.js';
import type { CaptureExpected } from '../data/vrrp-captures/format.js';

interface Capture {
  case: string;
  daemon: string;
  expect: CaptureExpected[];
  packets: string[];
}

const dir = join(dirname(fileURLToPath(import.meta.url)), '../data/vrrp-captures');
const captures: Capture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Capture);

test('all eight required capture cases are present', () => {
  const families = new Set(captures.flatMap((c) => c.expect.map((e) => `${c.case}/${e.family}`)));
  for (const name of [
    'keepalived-v2-ipv4-mcast-noauth/4',
    'keepalived-v2-ipv4-pass/4',
    'keepalived-v2-ipv4-ah/4',
    'keepalived-v3-ipv4-mcast/4',
    'keepalived-v3-ipv6-mcast/6',
    'keepalived-v3-ipv4-unicast/4',
    'frr-v3-ipv4-ipv6/4',
    'frr-v3-ipv4-ipv6/6',
  ]) {
    assert.ok(families.has(name), name);
  }
});

for (const cap of captures) {
  describe(`${cap.case} (${cap.daemon})`, () => {
    const ahSeqs: number[] = [];
    cap.packets.forEach((hex, index) => {
      const bytes = Buffer.from(hex, 'hex');
      const family: IpFamily = bytes[0]! >> 4 === 6 ? 6 : 4;
      const want = cap.expect.find((e) => e.family === family);
      test(`packet ${index} (IPv${family})`, () => {
        assert.ok(want, `no expectation for IPv${family}`);
        const r = decodeAdvert(bytes, { family, withIpHeader: true });
        assert.ok(r.ok, `decode: ${!r.ok && r.error}`);
        const { advert, packet } = r;

        // Fields as configured.
        assert.equal(advert.version, want.version);
        assert.equal(advert.type, 1);
        assert.equal(advert.vrid, want.vrid);
        assert.equal(advert.priority, want.priority);
        assert.equal(advert.advertIntervalCs, want.advertIntervalCs);
        assert.equal(advert.authType, want.authType);
        assert.deepEqual(advert.addresses, want.addresses);
        assert.equal(
          advert.authDataHex,
          want.authType === AuthType.pass ? passAuthDataHex(want.password!) : '',
        );
        assert.equal(packet.paddingLength, 0);

        const ip = packet.ipv4 ?? packet.ipv6!;
        const ttl = packet.ipv4?.ttl ?? packet.ipv6!.hopLimit;
        assert.equal(ttl, VRRP_TTL);
        if (want.unicastPeers) assert.ok(want.unicastPeers.includes(ip.dst), ip.dst);
        else assert.equal(ip.dst, family === 4 ? VRRP_MCAST_GROUP4 : VRRP_MCAST_GROUP6);

        // Checksum: both daemons put the pseudo-header in v3 (neither 2.2.7 nor FRR 8.4 can leave it out).
        const form = verifyVrrpChecksum(
          bytes,
          { version: advert.version, family, src: parseIp(ip.src, family)!, dst: parseIp(ip.dst, family)! },
          packet.vrrpOffset,
          packet.vrrpLength,
        );
        assert.equal(form, advert.version === 2 ? 'vrrp-only' : 'pseudo-header');

        // AH: ICV verifies with the configured password, SPI is the source address, sequence grows by 1.
        if (want.authType === AuthType.ah) {
          assert.ok(packet.ah);
          assert.ok(verifyAhIcv(bytes, packet.ahOffset, authKeyBytes(want.password!)));
          assert.equal(verifyAhIcv(bytes, packet.ahOffset, authKeyBytes('wrong-pw')), false);
          assert.equal(packet.ah.spi, spiOfAddress(ip.src));
          ahSeqs.push(packet.ah.seq);
          assert.deepEqual(
            ahSeqs,
            ahSeqs.map((_, i) => ahSeqs[0]! + i),
          );
        } else {
          assert.equal(packet.ah, null);
        }

        // Receive validation for an instance configured like the sender.
        const policy: RxPolicy = {
          version: want.version,
          family,
          vrid: want.vrid,
          authType: want.authType as AuthTypeCode,
          authPassword: want.password ?? '',
          advertIntervalCs: want.advertIntervalCs,
          unicast: want.unicastPeers !== undefined,
          unicastPeers: [{ addr: ip.src }],
          checkUnicastSrc: true,
          priority: 100,
          ownerIgnoreAdverts: false,
          vips: want.addresses,
          withIpHeader: true,
        };
        const meta: RxMeta = { family, srcAddr: ip.src, dstAddr: ip.dst, ttl, ifindex: 2 };
        const v = validateAdvert(bytes, meta, policy);
        assert.ok(v.ok, v.ok ? '' : `${v.counter}: ${v.reason}`);
        assert.equal(v.addressListMismatch, false);
        if (family === 6) {
          // What an IPv6 raw socket delivers: the VRRP message alone, the header facts in RxMeta.
          const bare = bytes.subarray(IPV6_HEADER_LENGTH);
          const v6 = validateAdvert(bare, meta, { ...policy, withIpHeader: false });
          assert.ok(v6.ok, v6.ok ? '' : `${v6.counter}: ${v6.reason}`);
        }

        // Re-encode from the decoded fields: byte for byte (IPv4 with the header; IPv6 the VRRP message, as the
        // kernel builds IPv6 headers).
        const again = encodeAdvert(advert, {
          family,
          srcAddr: ip.src,
          dstAddr: ip.dst,
          withIpHeader: family === 4,
          checksumForm: form ?? undefined,
          ipv4: packet.ipv4
            ? {
                tos: packet.ipv4.tos,
                id: packet.ipv4.id,
                fragmentField: packet.ipv4.fragmentField,
                ttl: packet.ipv4.ttl,
              }
            : undefined,
          ah: packet.ah ? { password: want.password!, seq: packet.ah.seq, spi: packet.ah.spi } : undefined,
        });
        const original = family === 4 ? bytes : bytes.subarray(IPV6_HEADER_LENGTH);
        assert.equal(again.toString('hex'), original.toString('hex'));
      });
    });
  });
}
