// DNS_CHECK against a DNS responder the test writes on dgram, inside the test's own namespace: the query on
// the wire (id, RD, name, type, class), a good answer, a reply with the wrong id or without QR (ignored:
// the check times out), an error RCODE, garbage before the answer, ICMP port unreachable; and the pure
// wire code.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { DnsProbe } from '../../../src/check/probes/dns.js';
import { DNS_TYPES, decodeHeader, encodeQuery } from '../../../src/check/probes/dns-wire.js';
import { canUseNetns, enterLab, type NetnsLab, openFds } from './lab.js';

const skip = canUseNetns() ? false : 'needs root for network namespaces';

/** Name, type and class of the (single) question of a query, read independently of the encoder. */
function question(q: Buffer): { name: string; type: number; cls: number } {
  const labels: string[] = [];
  let p = 12;
  while (q[p]! !== 0) {
    const n = q[p]!;
    labels.push(q.subarray(p + 1, p + 1 + n).toString());
    p += 1 + n;
  }
  p++;
  return { name: labels.join('.'), type: q.readUInt16BE(p), cls: q.readUInt16BE(p + 2) };
}

/** A reply to `q`: same id unless `id` is given, QR set, `rcode`, one A answer when rcode is 0. */
function reply(q: Buffer, o: { id?: number; qr?: boolean; rcode?: number } = {}): Buffer {
  const qEnd = 12 + (q.length - 12);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(o.id ?? q.readUInt16BE(0), 0);
  head.writeUInt16BE(((o.qr ?? true) ? 0x8000 : 0) | 0x0100 | 0x0080 | (o.rcode ?? 0), 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(o.rcode ? 0 : 1, 6);
  const answer = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 53]);
  return Buffer.concat([head, q.subarray(12, qEnd), o.rcode ? Buffer.alloc(0) : answer]);
}

describe('DNS wire (pure)', () => {
  it('encodes names label by label; "" and "." are the root', () => {
    const q = encodeQuery(0x1234, 'www.example.org', DNS_TYPES.AAAA!) as Uint8Array;
    assert.deepEqual(question(Buffer.from(q)), { name: 'www.example.org', type: 28, cls: 1 });
    assert.deepEqual(Buffer.from(q.subarray(0, 4)), Buffer.from([0x12, 0x34, 0x01, 0x00]));
    for (const root of ['', '.']) {
      const r = encodeQuery(1, root, DNS_TYPES.SOA!) as Uint8Array;
      assert.equal(r.length, 12 + 1 + 4);
      assert.equal(r[12], 0);
    }
    assert.deepEqual(encodeQuery(1, 'example.org.', 1), encodeQuery(1, 'example.org', 1));
    assert.equal(typeof encodeQuery(1, `${'a'.repeat(64)}.org`, 1), 'string');
  });

  it('decodes the header of a reply', () => {
    const h = decodeHeader(reply(Buffer.from(encodeQuery(7, 'a', 1) as Uint8Array), { rcode: 3 }));
    assert.deepEqual(h, { id: 7, response: true, rcode: 3, qdcount: 1, ancount: 0 });
    assert.equal(decodeHeader(new Uint8Array(11)), undefined);
  });
});

describe('DNS_CHECK probe', { skip }, () => {
  let lab: NetnsLab;
  let server: dgram.Socket;
  let port = 0;
  const queries: Buffer[] = [];
  let behave: (q: Buffer) => Buffer[] = (q) => [reply(q)];

  before(async () => {
    lab = enterLab('pdns');
    server = dgram.createSocket('udp6');
    server.on('message', (q, r) => {
      queries.push(q);
      for (const m of behave(q)) server.send(m, r.port, r.address);
    });
    await new Promise<void>((r) => server.bind(0, '::', r));
    port = server.address().port;
  });

  after(() => {
    server?.close();
    lab?.leave();
  });

  it('sends the configured query and is up on a NOERROR answer (IPv4 and IPv6)', async () => {
    for (const [address, family] of [
      ['127.0.0.1', 4],
      ['::1', 6],
    ] as const) {
      queries.length = 0;
      const r = await new DnsProbe({ address, port, family }, 'MX', 'example.org').run(1_000_000);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(queries.length, 1);
      assert.deepEqual(question(queries[0]!), { name: 'example.org', type: 15, cls: 1 });
      assert.equal(queries[0]!.readUInt16BE(2) & 0x8100, 0x0100, 'RD set, QR clear');
    }
  });

  it('asks SOA for the root by default, with a fresh id each time', async () => {
    queries.length = 0;
    const p = new DnsProbe({ address: '127.0.0.1', port, family: 4 });
    for (let i = 0; i < 4; i++) assert.equal((await p.run(1_000_000)).ok, true);
    assert.deepEqual(question(queries[0]!), { name: '', type: 6, cls: 1 });
    assert.ok(new Set(queries.map((q) => q.readUInt16BE(0))).size > 1);
  });

  it('ignores a reply with the wrong id and times out', async () => {
    behave = (q) => [reply(q, { id: (q.readUInt16BE(0) + 1) & 0xffff })];
    const r = await new DnsProbe({ address: '127.0.0.1', port, family: 4 }).run(250_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    assert.ok(r.latencyUs >= 240_000);
  });

  it('ignores a message without QR, and garbage, then takes the real answer', async () => {
    behave = (q) => [reply(q, { qr: false, rcode: 2 }), Buffer.from('junk'), reply(q)];
    const r = await new DnsProbe({ address: '127.0.0.1', port, family: 4 }).run(1_000_000);
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  it('fails with code dns-rcode on an error RCODE', async () => {
    behave = (q) => [reply(q, { rcode: 3 })];
    const r = await new DnsProbe({ address: '127.0.0.1', port, family: 4 }, 'A', 'nx.example').run(1_000_000);
    assert.ok(!r.ok && r.code === 'dns-rcode' && /NXDOMAIN/.test(r.reason), JSON.stringify(r));
  });

  it('fails with code refused when the port is closed (ICMP port unreachable)', async () => {
    const r = await new DnsProbe({ address: '127.0.0.1', port: 9, family: 4 }).run(1_000_000);
    assert.ok(!r.ok && r.code === 'refused', JSON.stringify(r));
  });

  it('fails with code timeout against silence; close() settles; nothing left open', async () => {
    const before = openFds();
    behave = () => [];
    const p = new DnsProbe({ address: '127.0.0.1', port, family: 4 });
    const r = await p.run(150_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    const pending = p.run(10_000_000);
    p.close();
    assert.equal((await pending).ok, false);
    behave = (q) => [reply(q)];
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(openFds(), before);
  });
});
