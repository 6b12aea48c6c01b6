// UDP_CHECK against real dgram servers inside the test's own namespace: replies that match (X wildcards),
// mismatch or fall outside min/max_reply_length; ICMP port unreachable (a failure); silence (a success
// without require_reply, a failure with it); the payload sent; no descriptor left behind.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProbeTarget } from '../../../src/check/probe.js';
import {
  defaultPayload,
  parseReplyHex,
  type ReplySpec,
  replyMismatch,
  replySpecOf,
  UdpProbe,
} from '../../../src/check/probes/udp.js';
import type { Checker } from '../../../src/config/model.js';
import { canUseNetns, enterLab, type NetnsLab, openFds } from './lab.js';

const skip = canUseNetns() ? false : 'needs root for network namespaces';

function spec(c: Partial<Checker>): ReplySpec {
  return replySpecOf({
    kind: 'UDP_CHECK',
    pos: { file: 'x', line: 1 },
    urls: [],
    other: {},
    ...c,
  } as Checker);
}

describe('UDP_CHECK reply rule (pure)', () => {
  it('X nibbles match anything, other nibbles must match', () => {
    const s = spec({ requireReply: true, requireReplyHex: 'a5x0' });
    assert.equal(replyMismatch(Uint8Array.of(0xa5, 0x30), s), null);
    assert.equal(replyMismatch(Uint8Array.of(0xa5, 0xf0), s), null);
    assert.match(replyMismatch(Uint8Array.of(0xa5, 0x31), s) ?? '', /mismatch at byte 1/);
    assert.match(replyMismatch(Uint8Array.of(0xa4, 0x30), s) ?? '', /mismatch at byte 0/);
  });

  it('compares only the shorter of reply and expected data, inside min..max (default 0..255)', () => {
    const s = spec({ requireReply: true, requireReplyHex: 'a5b6c7' });
    assert.equal(replyMismatch(Uint8Array.of(0xa5), s), null);
    assert.equal(replyMismatch(Uint8Array.of(0xa5, 0xb6, 0xc7, 0, 0), s), null);
    assert.match(replyMismatch(new Uint8Array(256).fill(0xa5), s) ?? '', /length 256 outside 0\.\.255/);
    const t = spec({ requireReply: true, requireReplyHex: 'a5', minReplyLength: 2, maxReplyLength: 3 });
    assert.match(replyMismatch(Uint8Array.of(0xa5), t) ?? '', /length 1 outside 2\.\.3/);
    assert.equal(replyMismatch(Uint8Array.of(0xa5, 1), t), null);
  });

  it('without reply data, any reply is accepted whatever its length', () => {
    const s = spec({ requireReply: true, minReplyLength: 5 });
    assert.equal(replyMismatch(Uint8Array.of(1), s), null);
  });

  it('a reply equal to the expected data always matches; flipping a fixed bit never does', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40, size: 'max' }),
        fc.nat(),
        fc.nat(7),
        (bytes, at, bit) => {
          const hex = Buffer.from(bytes).toString('hex');
          const s = spec({ requireReply: true, requireReplyHex: hex });
          assert.equal(replyMismatch(bytes, s), null);
          const i = at % bytes.length;
          const flipped = Uint8Array.from(bytes);
          flipped[i] = flipped[i]! ^ (1 << bit);
          assert.notEqual(replyMismatch(flipped, s), null);
          // The same byte as a wildcard accepts the flip.
          const wild = `${hex.slice(0, 2 * i)}xx${hex.slice(2 * i + 2)}`;
          assert.equal(replyMismatch(flipped, spec({ requireReply: true, requireReplyHex: wild })), null);
        },
      ),
    );
  });

  it('parses X nibbles into a mask', () => {
    assert.deepEqual(parseReplyHex('1x'), { data: Uint8Array.of(0x10), mask: Uint8Array.of(0xf0) });
  });

  it("sends keepalived's 32-byte filler without a payload", () => {
    assert.equal(Buffer.from(defaultPayload()).toString(), 'keepalived check - keepalived ch');
  });
});

describe('UDP_CHECK probe', { skip }, () => {
  let lab: NetnsLab;
  let echo: dgram.Socket;
  let mute: dgram.Socket;
  let echoPort = 0;
  let mutePort = 0;
  const received: Buffer[] = [];
  let answer: (m: Buffer) => Buffer = (m) => m;

  before(async () => {
    lab = enterLab('pudp');
    lab.ip('addr', 'add', '192.0.2.99/32', 'dev', 'lo');
    lab.nft(
      'add table inet t; add chain inet t in { type filter hook input priority 0; }; add rule inet t in ip daddr 192.0.2.99 drop',
    );
    echo = dgram.createSocket('udp6');
    echo.on('message', (m, r) => {
      received.push(m);
      echo.send(answer(m), r.port, r.address);
    });
    await new Promise<void>((r) => echo.bind(0, '::', r));
    echoPort = echo.address().port;
    mute = dgram.createSocket('udp4');
    mute.on('message', (m) => received.push(m));
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', r));
    mutePort = mute.address().port;
  });

  after(() => {
    echo?.close();
    mute?.close();
    lab?.leave();
  });

  const t = (address: string, port: number): ProbeTarget => ({
    address,
    port,
    family: address.includes(':') ? 6 : 4,
  });

  it('is up when the reply matches require_reply (IPv4 and IPv6), and sends the payload', async () => {
    answer = () => Buffer.from('a5b6c7d8', 'hex');
    const s = spec({ requireReply: true, requireReplyHex: 'a5xxc7' });
    for (const a of ['127.0.0.1', '::1']) {
      received.length = 0;
      const r = await new UdpProbe(t(a, echoPort), Buffer.from('0102', 'hex'), s).run(1_000_000);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(received, [Buffer.from('0102', 'hex')]);
    }
  });

  it('fails with reply-mismatch on other data or a reply longer than max_reply_length', async () => {
    answer = () => Buffer.from('a5b6c8', 'hex');
    const r = await new UdpProbe(
      t('127.0.0.1', echoPort),
      undefined,
      spec({ requireReply: true, requireReplyHex: 'a5xxc7' }),
    ).run(1_000_000);
    assert.ok(!r.ok && r.code === 'reply-mismatch', JSON.stringify(r));
    answer = () => Buffer.alloc(300, 0xa5);
    const long = await new UdpProbe(
      t('127.0.0.1', echoPort),
      undefined,
      spec({ requireReply: true, requireReplyHex: 'a5' }),
    ).run(1_000_000);
    assert.ok(
      !long.ok && long.code === 'reply-mismatch' && /256 outside/.test(long.reason),
      JSON.stringify(long),
    );
    answer = (m) => m;
  });

  it('fails with code refused on ICMP port unreachable, with or without require_reply', async () => {
    const closed = dgram.createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', r));
    const port = closed.address().port;
    closed.close();
    for (const s of [spec({}), spec({ requireReply: true })]) {
      const r = await new UdpProbe(t('127.0.0.1', port), undefined, s).run(2_000_000);
      assert.ok(!r.ok && r.code === 'refused', JSON.stringify(r));
    }
  });

  it('without require_reply, silence until the timeout is a success (a mute server, a black-holed address)', async () => {
    received.length = 0;
    const r = await new UdpProbe(t('127.0.0.1', mutePort), undefined, spec({})).run(200_000);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.latencyUs >= 190_000);
    assert.equal(received[0]?.toString(), 'keepalived check - keepalived ch');
    assert.equal((await new UdpProbe(t('192.0.2.99', 9), undefined, spec({})).run(200_000)).ok, true);
  });

  it('with require_reply, silence is a failure (code timeout)', async () => {
    const r = await new UdpProbe(t('127.0.0.1', mutePort), undefined, spec({ requireReply: true })).run(
      200_000,
    );
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
  });

  it('close() settles an attempt at once; nothing is left open', async () => {
    const before = openFds();
    const p = new UdpProbe(t('127.0.0.1', mutePort), undefined, spec({}));
    const pending = p.run(10_000_000);
    p.close();
    const r = await pending;
    assert.ok(!r.ok && r.code === 'closed');
    const q = new UdpProbe(t('127.0.0.1', echoPort), undefined, spec({ requireReply: true }));
    const all = await Promise.all(Array.from({ length: 100 }, () => q.run(1_000_000)));
    assert.equal(all.filter((x) => x.ok).length, 100);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(openFds(), before);
  });
});
