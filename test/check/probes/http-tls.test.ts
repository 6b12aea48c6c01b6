// SSL_GET probe against real node https/tls servers (fixtures: test/data/tls, made by make.sh there): no
// certificate checks without a CA (keepalived's behaviour), chain/date/name checks with one, SNI, the SSL
// block's client certificate with an encrypted key, and TLS failures with one code each.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createHttpProbe, type HttpProbeContext } from '../../../src/check/probes/http.js';
import { probeDeadlines } from '../../../src/check/probes/http-deadline.js';
import type { SslConfig } from '../../../src/config/model.js';
import { isRoot } from '../../helpers/netns.js';
import { enterTestNetns, type TestNetns } from './http-netns.js';
import { activeNetHandles, checker, openFds, rawServer, target, url } from './http-servers.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../data/tls');
const file = (n: string) => join(DIR, n);
const read = (n: string) => readFileSync(file(n));
const pos = { file: 't', line: 1 } as unknown as SslConfig['pos'];

describe('SSL_GET probe', { skip: !isRoot() && 'needs root for a network namespace' }, () => {
  let ns: TestNetns;
  const servers: https.Server[] = [];
  const ports: Record<string, number> = {};
  const sniSeen: (string | undefined)[] = [];
  let fdsBefore = 0;
  let handlesBefore = 0;

  const start = async (name: string, opts: https.ServerOptions) => {
    const s = https.createServer(opts, (req, res) => res.end(`tls ok ${req.headers.host}`));
    s.on('tlsClientError', () => {});
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports[name] = (s.address() as net.AddressInfo).port;
  };

  before(async () => {
    ns = enterTestNetns('ptls');
    for (const n of ['good', 'expired', 'wrongname', 'self'])
      await start(n, {
        cert: read(`${n}.pem`),
        key: read(`${n}.key`),
        SNICallback: (name, cb) => {
          sniSeen.push(name);
          cb(null, undefined);
        },
      });
    await start('mtls', {
      cert: read('good.pem'),
      key: read('good.key'),
      ca: read('ca.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    });
    fdsBefore = openFds();
    handlesBefore = activeNetHandles();
  });

  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    ns?.leave();
  });

  const run = async (server: string | number, extra = {}, ctx: HttpProbeContext = {}, u = url('/')) => {
    const made = createHttpProbe(
      checker('SSL_GET', [u], extra),
      target(typeof server === 'number' ? server : ports[server]!),
      ctx,
    );
    assert.ok(made.ok, made.ok ? '' : made.message);
    const out = await made.probe.run(2_000_000);
    made.probe.close();
    return out;
  };

  const withCa: HttpProbeContext = { ssl: { ca: file('ca.pem'), pos } };

  test('without a CA, no certificate is checked (as keepalived)', async () => {
    for (const n of ['good', 'expired', 'wrongname', 'self']) assert.equal((await run(n)).ok, true, n);
  });

  test('with a CA: chain, dates and name are checked; one code for each failure', async () => {
    const named = { virtualhost: 'good.example' };
    assert.equal((await run('good', named, withCa)).ok, true);
    const cases: [string, RegExp][] = [
      ['expired', /expired/i],
      ['wrongname', /altnames|does not match|other\.example/i],
      ['self', /self[- ]signed/i],
    ];
    for (const [n, re] of cases) {
      const out = await run(n, named, withCa);
      assert.equal(!out.ok && out.code, 'tls-cert', n);
      assert.match(!out.ok ? out.reason : '', re, n);
    }
    // keepalived's own behaviour on request: never verify, even with a CA.
    assert.equal((await run('expired', named, { ...withCa, verify: 'never' })).ok, true);
  });

  test('SNI: none by default, the virtualhost with enable_sni, sni_name first', async () => {
    sniSeen.length = 0;
    await run('good', { virtualhost: 'v.example' });
    await run('good', { virtualhost: 'v.example', enableSni: true });
    await run('good', { virtualhost: 'v.example', enableSni: true, sniName: 'sni.example' });
    await run('good', { enableSni: true }, { virtualServer: { virtualhost: 'vs.example' } });
    // The real server's virtualhost is not used for SNI (keepalived skips it there).
    await run('good', { enableSni: true }, { realServer: { virtualhost: 'rs.example' } });
    assert.deepEqual(sniSeen, ['v.example', 'sni.example', 'vs.example']);
  });

  test('the SSL block: client certificate with a password-protected key', async () => {
    const out = await run('mtls');
    assert.equal(out.ok, false, 'the server demands a client certificate');
    const ssl: SslConfig = {
      certificate: file('client.pem'),
      key: file('client.key'),
      password: 'secret',
      pos,
    };
    assert.equal((await run('mtls', {}, { ssl })).ok, true);
    const wrong = createHttpProbe(checker('SSL_GET', [url('/')]), target(ports.mtls!), {
      ssl: { ...ssl, password: 'wrong' },
    });
    assert.equal(wrong.ok, false);
    const missing = createHttpProbe(checker('SSL_GET', [url('/')]), target(ports.mtls!), {
      ssl: { ca: file('nope.pem'), pos },
    });
    assert.equal(missing.ok, false);
  });

  test('TLS against a plain server, a silent handshake, a reset after the headers', async () => {
    // A plain server that answers anything (a ClientHello too) with plain HTTP.
    const plain = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.0 200 OK\r\n\r\n'));
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const silent = await rawServer(() => {});
    // A TLS server that answers, then resets after the headers: keepalived judges what it got.
    const resetter = net.createServer((raw) => {
      raw.on('error', () => {});
      const s = new tls.TLSSocket(raw, { isServer: true, cert: read('good.pem'), key: read('good.key') });
      s.on('error', () => {});
      s.once('data', () => {
        s.write('HTTP/1.0 200 OK\r\n\r\npartial');
        setTimeout(() => raw.resetAndDestroy(), 20);
      });
    });
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
    try {
      // The plain server never answers a ClientHello with TLS.
      const garbage = await run((plain.address() as net.AddressInfo).port);
      assert.equal(!garbage.ok && garbage.code, 'tls');
      const made = createHttpProbe(checker('SSL_GET', [url('/')]), target(silent.port));
      assert.ok(made.ok);
      const hs = await made.probe.run(300_000);
      assert.equal(!hs.ok && hs.code, 'timeout');
      assert.match(!hs.ok ? hs.reason : '', /TLS handshake/);
      const rp = (resetter.address() as net.AddressInfo).port;
      assert.equal((await run(rp)).ok, true, 'status 200 and no digest: passes, as in keepalived');
      const d = await run(rp, {}, {}, url('/', { digest: '0'.repeat(32) }));
      assert.equal(!d.ok && d.code, 'digest');
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
      await silent.close();
      await new Promise<void>((r) => resetter.close(() => r()));
    }
  });

  test('tls_compliant (checker or url): the client ends with a close_notify record; otherwise it only closes', async () => {
    // A TCP relay in front of the good server records the TLS record types the client sends until its FIN.
    let seen: Promise<number[]> = Promise.resolve([]);
    const relay = net.createServer((c) => {
      const up = net.connect(ports.good!, '127.0.0.1');
      c.on('error', () => {});
      up.on('error', () => {});
      // Forwarded by hand: pipe() would pause the client side once the server's side has ended.
      up.on('data', (d: Buffer) => c.write(d));
      up.on('end', () => c.end());
      const types: number[] = [];
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        if (!up.writableEnded) up.write(d);
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          types.push(buf[0]!);
          buf = buf.subarray(5 + buf.readUInt16BE(3));
        }
      });
      seen = new Promise((r) => c.on('end', () => r(types)));
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    const records = async (extra: object, u = url('/')) => {
      const out = await run(port, extra, {}, u);
      assert.equal(out.ok, true, JSON.stringify(out));
      return seen;
    };
    try {
      const plain = await records({});
      const onChecker = await records({ tlsCompliant: true });
      const onUrl = await records({}, url('/', { tlsCompliant: true }));
      // TLS 1.3 hides an alert's type inside an application-data record (23): one record more, at the end.
      assert.deepEqual(onChecker, [...plain, 23]);
      assert.deepEqual(onUrl, [...plain, 23]);
    } finally {
      await new Promise<void>((r) => relay.close(() => r()));
    }
  });

  test('nothing leaks', async () => {
    // A leak is more descriptors or handles than before the tests; fewer is a runtime's own one gone meanwhile.
    for (let i = 0; i < 20 && (openFds() > fdsBefore || activeNetHandles() > handlesBefore); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(probeDeadlines.size, 0);
    assert.ok(openFds() <= fdsBefore, `${openFds()} descriptors open, ${fdsBefore} before`);
    assert.ok(activeNetHandles() <= handlesBefore, `${activeNetHandles()} handles, ${handlesBefore} before`);
  });
});
