// HTTP_GET probe against real servers in a private network namespace: the request keepalived sends, the
// verdicts (status codes, digest, regex, several urls), and bad servers that must each fail with one code
// within the timeout while leaving no socket, timer or fd behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ProbeOutcome } from '../../../src/check/probe.js';
import { createHttpProbe } from '../../../src/check/probes/http.js';
import { probeDeadlines } from '../../../src/check/probes/http-deadline.js';
import { buildRequest } from '../../../src/check/probes/http-request.js';
import { probeReactor } from '../../../src/check/probes/reactor.js';
import { isRoot } from '../../helpers/netns.js';
import { enterTestNetns, type TestNetns } from './http-netns.js';
import { activeNetHandles, checker, openFds, rawServer, target, url } from './http-servers.js';

const BODY = 'hello keepalived\n<p>status: all good</p>\n';
const MD5 = createHash('md5').update(BODY).digest('hex');

describe('HTTP_GET probe', { skip: !isRoot() && 'needs root for a network namespace' }, () => {
  let ns: TestNetns;
  let server: http.Server;
  let port = 0;
  let fdsBefore = 0;
  let handlesBefore = 0;
  const seenHosts: string[] = [];

  before(async () => {
    ns = enterTestNetns('phttp');
    server = http.createServer((req, res) => {
      seenHosts.push(req.headers.host ?? '');
      if (req.url === '/down') res.writeHead(503).end('busy');
      else if (req.url === '/redirect') res.writeHead(302, { Location: '/' }).end();
      else res.end(BODY);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    // The probes' reactor (one epoll fd for the process) is built once, on first use: not a leak.
    probeReactor();
    fdsBefore = openFds();
    handlesBefore = activeNetHandles();
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    ns?.leave();
  });

  const run = async (
    c: ReturnType<typeof checker>,
    p = port,
    timeoutUs = 2_000_000,
    ctx = {},
    addr = '127.0.0.1',
  ) => {
    const made = createHttpProbe(c, target(p, addr), ctx);
    assert.ok(made.ok, made.ok ? '' : made.message);
    const out = await made.probe.run(timeoutUs);
    made.probe.close();
    return out;
  };

  test("request bytes are exactly keepalived 2.2.7's for 1.0, 1.0C and 1.1", () => {
    const r = (p: '1.0' | '1.0C' | '1.1', vhost?: string, addr = '192.0.2.5') =>
      buildRequest('/a?b=c', p, vhost, addr, 8080).toString('latin1');
    assert.equal(
      r('1.0'),
      'GET /a?b=c HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.5:8080\r\n\r\n',
    );
    assert.equal(
      r('1.0C', 'www.example'),
      'GET /a?b=c HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example\r\n\r\n',
    );
    assert.equal(
      r('1.1', undefined, '2001:db8::5'),
      'GET /a?b=c HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::5]:8080\r\n\r\n',
    );
  });

  test('the server receives that request; virtualhost inherits url > checker > real server > VS', async () => {
    const raw = await rawServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
    try {
      const c = checker('HTTP_GET', [url('/p')], { httpProtocol: '1.1' });
      const made = createHttpProbe(c, target(raw.port), { virtualServer: { virtualhost: 'vs.example' } });
      assert.ok(made.ok);
      assert.deepEqual(await made.probe.run(2e6).then((o) => o.ok), true);
      assert.equal(
        raw.heads[0],
        'GET /p HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: vs.example\r\n\r\n',
      );
      const layers = [
        [
          { realServer: { virtualhost: 'rs.example' }, virtualServer: { virtualhost: 'vs.example' } },
          {},
          'rs',
        ],
        [{ realServer: { virtualhost: 'rs.example' } }, { virtualhost: 'ck.example' }, 'ck'],
      ] as const;
      for (const [ctx, extra, want] of layers) {
        const m = createHttpProbe(checker('HTTP_GET', [url('/p')], extra), target(raw.port), ctx);
        assert.ok(m.ok);
        await m.probe.run(2e6);
        assert.match(raw.heads.at(-1)!, new RegExp(`\r\nHost: ${want}\\.example\r\n`));
      }
      const u = createHttpProbe(
        checker('HTTP_GET', [url('/p', { virtualhost: 'url.example' })], { virtualhost: 'ck.example' }),
        target(raw.port),
      );
      assert.ok(u.ok);
      await u.probe.run(2e6);
      assert.match(raw.heads.at(-1)!, /\r\nHost: url\.example\r\n/);
      assert.match(raw.heads.at(-1)!, /^GET \/p HTTP\/1\.0\r\nUser-Agent: KeepAliveClient\r\nHost/);
    } finally {
      await raw.close();
    }
  });

  test('fwmark and bind_if apply to HTTP_GET (its own sockets); SSL_GET refuses them', async () => {
    const v4 = await rawServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\n'));
    try {
      // Packets marked 7 are dropped inside the namespace: such a check can only time out.
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          ns.name,
          'nft',
          'add table inet ckmark; add chain inet ckmark out { type filter hook output priority 0; }; add rule inet ckmark out meta mark 7 drop',
        ],
        { stdio: 'ignore' },
      );
      const ok = createHttpProbe(checker('HTTP_GET', [url('/')]), {
        ...target(v4.port),
        fwmark: 8,
        bindIf: 'lo',
      });
      assert.ok(ok.ok);
      assert.equal((await ok.probe.run(2e6)).ok, true);
      const marked = createHttpProbe(checker('HTTP_GET', [url('/')]), { ...target(v4.port), fwmark: 7 });
      assert.ok(marked.ok);
      const out = await marked.probe.run(300_000);
      assert.equal(!out.ok && out.code, 'timeout');
      const nodev = createHttpProbe(checker('HTTP_GET', [url('/')]), {
        ...target(v4.port),
        bindIf: 'nosuchdev0',
      });
      assert.ok(nodev.ok);
      assert.equal((await nodev.probe.run(2e6)).ok, false);
      assert.equal(
        createHttpProbe(checker('SSL_GET', [url('/')]), { ...target(v4.port), fwmark: 8 }).ok,
        false,
      );
    } finally {
      execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'delete table inet ckmark'], { stdio: 'ignore' });
      await v4.close();
    }
  });

  test('IPv6 target (Host in brackets) and bindto', async () => {
    const v6 = await rawServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\n'), '::1');
    const v4 = await rawServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\n'));
    try {
      assert.equal((await run(checker('HTTP_GET', [url('/')]), v6.port, 2e6, {}, '::1')).ok, true);
      assert.equal(
        v6.heads[0],
        `GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:${v6.port}\r\n\r\n`,
      );
      const made = createHttpProbe(checker('HTTP_GET', [url('/')]), {
        ...target(v4.port),
        bindTo: '127.0.0.2',
      });
      assert.ok(made.ok);
      assert.equal((await made.probe.run(2e6)).ok, true);
      assert.equal(v4.peers[0], '127.0.0.2');
    } finally {
      await v6.close();
      await v4.close();
    }
  });

  test('status codes: default 200-299, lists and ranges', async () => {
    assert.equal((await run(checker('HTTP_GET', [url('/')]))).ok, true);
    const down = await run(checker('HTTP_GET', [url('/down')]));
    assert.equal(down.ok, false);
    assert.equal(!down.ok && down.code, 'status');
    assert.match(!down.ok ? down.reason : '', /503/);
    assert.equal((await run(checker('HTTP_GET', [url('/redirect')]))).ok, false);
    const list = [
      { from: 200, to: 200 },
      { from: 500, to: 503 },
    ];
    assert.equal((await run(checker('HTTP_GET', [url('/down', { statusCodes: list })]))).ok, true);
    assert.equal((await run(checker('HTTP_GET', [url('/redirect', { statusCodes: list })]))).ok, false);
  });

  test('digest: MD5 of the body as genhash computes it', async () => {
    assert.equal((await run(checker('HTTP_GET', [url('/', { digest: MD5 })]))).ok, true);
    const bad = await run(checker('HTTP_GET', [url('/', { digest: '0'.repeat(32) })]));
    assert.equal(!bad.ok && bad.code, 'digest');
    // Only Content-Length bytes are hashed; what follows them up to EOF is not.
    const raw = await rawServer((s) => s.end(`HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA`));
    try {
      const want = createHash('md5').update('hello').digest('hex');
      assert.equal((await run(checker('HTTP_GET', [url('/', { digest: want })]), raw.port)).ok, true);
    } finally {
      await raw.close();
    }
  });

  test('regex, regex_no_match and offsets', async () => {
    const ok = (extra: Parameters<typeof url>[1]) =>
      run(checker('HTTP_GET', [url('/', extra)])).then((o) => o.ok);
    assert.equal(await ok({ regex: 'status: all good' }), true);
    assert.equal(await ok({ regex: 'status: broken' }), false);
    assert.equal(await ok({ regex: 'status: broken', regexNoMatch: true }), true);
    assert.equal(await ok({ regex: 'all good', regexNoMatch: true }), false);
    const at = BODY.indexOf('all good');
    assert.equal(await ok({ regex: 'all good', regexMinOffset: [String(at)] }), true);
    assert.equal(await ok({ regex: 'all good', regexMinOffset: [String(at + 1)] }), false);
    assert.equal(await ok({ regex: 'all good', regexMaxOffset: [String(at)] }), true);
    assert.equal(await ok({ regex: 'all good', regexMaxOffset: [String(at - 1)] }), false);
    assert.equal(await ok({ regex: 'ALL GOOD', regexOptions: ['caseless'] }), true);
    const r = await run(checker('HTTP_GET', [url('/', { regex: 'nope' })]));
    assert.equal(!r.ok && r.code, 'regex');
    const bad = createHttpProbe(
      checker('HTTP_GET', [url('/', { regex: 'a', regexOptions: ['ungreedy'] })]),
      target(port),
    );
    assert.equal(bad.ok, false);
  });

  test('several urls: all must pass, the failing one is named', async () => {
    assert.equal((await run(checker('HTTP_GET', [url('/'), url('/b', { digest: MD5 })]))).ok, true);
    const r = await run(checker('HTTP_GET', [url('/'), url('/down')]));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'status');
    assert.match(!r.ok ? r.reason : '', /^url \/down: /);
    // keepalived drops a url block without a path; a checker left with none is refused.
    const noPath = { ...url('/down'), path: undefined };
    assert.equal((await run(checker('HTTP_GET', [noPath, url('/')]))).ok, true);
    assert.equal(createHttpProbe(checker('HTTP_GET', [noPath]), target(port)).ok, false);
  });

  test('bad servers each fail with one code, within the timeout', async () => {
    const cases: [string, (s: net.Socket) => void, string, RegExp?][] = [
      [
        'reset mid-response',
        (s) => {
          s.write('HTTP/1.0 200 OK\r\n\r\npart');
          setTimeout(() => s.resetAndDestroy(), 20);
        },
        'reset',
      ],
      ['garbage', (s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'), 'bad-response', /not an HTTP status line/],
      ['no header end in 4095 bytes', (s) => s.write('x'.repeat(5000)), 'bad-response', /4095/],
      ['closes at once', (s) => s.end(), 'no-data'],
      ['status without reason phrase', (s) => s.end('HTTP/1.1 200\r\n\r\n'), 'bad-response'],
      [
        'huge Content-Length',
        (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n'),
        'too-large',
      ],
      [
        'endless body',
        (s) => {
          s.write('HTTP/1.1 200 OK\r\n\r\n');
          const chunk = Buffer.alloc(64 * 1024, 97);
          const pump = () => {
            while (!s.destroyed && s.write(chunk)) {}
            if (!s.destroyed) s.once('drain', pump);
          };
          pump();
        },
        'too-large',
      ],
      [
        'one byte a second',
        (s) => {
          s.write('HTTP/1.1 200 OK\r\n\r\n');
          const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('x')), 100);
          s.on('close', () => clearInterval(t));
        },
        'timeout',
        /reading the response/,
      ],
      ['silent server', () => {}, 'timeout', /waiting for the response/],
    ];
    for (const [name, behave, code, re] of cases) {
      const raw = await rawServer(behave);
      try {
        const t0 = performance.now();
        const out = await run(checker('HTTP_GET', [url('/', { digest: MD5 })]), raw.port, 400_000, {
          maxResponseBytes: 1024 * 1024,
        });
        const ms = performance.now() - t0;
        assert.equal(out.ok, false, name);
        assert.equal(!out.ok && out.code, code, `${name}: ${!out.ok && out.reason}`);
        if (re) assert.match(!out.ok ? out.reason : '', re, name);
        // Bounded: without the deadline the drip and the silent server would go on for ever. Slack for load.
        assert.ok(ms < 400 + 1000, `${name} settled in ${ms} ms`);
      } finally {
        await raw.close();
      }
    }
  });

  test('the default cap (4 MiB) stops an endless body', async () => {
    const raw = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\n\r\n');
      const chunk = Buffer.alloc(256 * 1024, 98);
      const pump = () => {
        while (!s.destroyed && s.write(chunk)) {}
        if (!s.destroyed) s.once('drain', pump);
      };
      pump();
    });
    try {
      const out = await run(checker('HTTP_GET', [url('/')]), raw.port, 5_000_000);
      assert.equal(!out.ok && out.code, 'too-large');
      assert.match(!out.ok ? out.reason : '', /4194304/);
    } finally {
      await raw.close();
    }
  });

  test('refused and black-holed SYN', async () => {
    const refused = await run(checker('HTTP_GET', [url('/')]), 1, 1e6);
    assert.equal(!refused.ok && refused.code, 'refused');
    const t0 = performance.now();
    const hole = await run(checker('HTTP_GET', [url('/')]), ns.blackholePort, 300_000);
    const ms = performance.now() - t0;
    assert.equal(!hole.ok && hole.code, 'timeout');
    assert.match(!hole.ok ? hole.reason : '', /connecting/);
    assert.ok(ms >= 299 && ms < 300 + 1000, `settled after ${ms} ms`);
  });

  test("connect() failing at once: keepalived's server failures are counted, any other errno is a local error with its errno", async () => {
    // Inside the test's namespace: a prohibit route makes connect() fail at once with EACCES, a blackhole
    // route with EINVAL (neither is one of keepalived's server failures), an unreachable route with
    // EHOSTUNREACH (one of them).
    const routes = [
      ['prohibit', '192.0.2.77/32'],
      ['blackhole', '192.0.2.78/32'],
      ['unreachable', '192.0.2.79/32'],
    ];
    for (const [type, dst] of routes) execFileSync('ip', ['-n', ns.name, 'route', 'add', type!, dst!]);
    try {
      for (const kind of ['HTTP_GET', 'SSL_GET'] as const) {
        const at = (addr: string) => run(checker(kind, [url('/')]), 80, 1e6, {}, addr);
        const prohibited = await at('192.0.2.77');
        assert.ok(!prohibited.ok, kind);
        assert.equal(prohibited.code, 'local-error', `${kind} ${prohibited.reason}`);
        assert.equal(prohibited.connectErrno, 13, kind);
        assert.match(prohibited.reason, /EACCES/);
        const holed = await at('192.0.2.78');
        assert.ok(
          !holed.ok && holed.code === 'local-error' && holed.connectErrno === 22,
          `${kind} ${JSON.stringify(holed)}`,
        );
        const unreachable = await at('192.0.2.79');
        assert.ok(
          !unreachable.ok && unreachable.code === 'unreachable',
          `${kind} ${JSON.stringify(unreachable)}`,
        );
        assert.equal(unreachable.connectErrno, undefined, kind);
        // A pending connect refused by the server: counted, no errno kept.
        const refused = await run(checker(kind, [url('/')]), 1, 1e6);
        assert.ok(!refused.ok && refused.code === 'refused' && refused.connectErrno === undefined, kind);
      }
    } finally {
      for (const [type, dst] of routes) execFileSync('ip', ['-n', ns.name, 'route', 'del', type!, dst!]);
    }
  });

  test('one probe, many attempts: each attempt gets its own verdict', async () => {
    const script: [(s: net.Socket) => void, string][] = [
      [(s) => s.end('HTTP/1.0 200 OK\r\n\r\nok'), 'ok'],
      [(s) => s.end('HTTP/1.0 503 Busy\r\n\r\n'), 'status'],
      [
        (s) => {
          s.write('HTTP/1.0 200 OK\r\n\r\npart');
          setTimeout(() => s.resetAndDestroy(), 20);
        },
        'reset',
      ],
      [(s) => s.end('HTTP/1.0 200 OK\r\n\r\nok'), 'ok'],
      [() => {}, 'timeout'],
      [(s) => s.end('garbage\r\n\r\n'), 'bad-response'],
      [(s) => s.end('HTTP/1.0 200 OK\r\n\r\nok'), 'ok'],
    ];
    let n = 0;
    const raw = await rawServer((s) => script[n++ % script.length]![0](s));
    const made = createHttpProbe(checker('HTTP_GET', [url('/')]), target(raw.port));
    assert.ok(made.ok);
    try {
      for (const [, want] of script) {
        const out = await made.probe.run(300_000);
        assert.equal(out.ok ? 'ok' : out.code, want);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(raw.heads.length, script.length);
      assert.ok(raw.heads.every((h) => h === raw.heads[0]));
      // Overlapping runs: each has its own connection.
      n = 0;
      const both = await Promise.all([made.probe.run(1e6), made.probe.run(1e6)]);
      assert.deepEqual(both.map((o) => (o.ok ? 'ok' : o.code)).sort(), ['ok', 'status']);
      const refused = createHttpProbe(checker('HTTP_GET', [url('/')]), target(1));
      assert.ok(refused.ok);
      const probe = refused.probe;
      for (let i = 0; i < 3; i++) {
        const out: ProbeOutcome = await probe.run(1e6);
        assert.equal(!out.ok && out.code, 'refused');
        await new Promise((r) => setTimeout(r, 5));
      }
      probe.close();
    } finally {
      made.probe.close();
      await raw.close();
    }
  });

  test('close() settles runs in flight; nothing leaks', async () => {
    const made = createHttpProbe(checker('HTTP_GET', [url('/')]), target(ns.blackholePort));
    assert.ok(made.ok);
    const p = made.probe.run(10_000_000);
    made.probe.close();
    const out = await p;
    assert.equal(!out.ok && out.code, 'closed');
    // Let destroyed sockets finish closing (at most 2 s: a loaded machine is slower), then compare.
    for (let i = 0; i < 40 && (openFds() > fdsBefore || activeNetHandles() > handlesBefore); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(probeDeadlines.size, 0);
    assert.equal(probeReactor().size, 0);
    // Not more than at the start (an earlier test's socket may finish closing meanwhile: one fewer seen).
    assert.ok(openFds() <= fdsBefore, `fds ${openFds()} > ${fdsBefore}`);
    assert.ok(activeNetHandles() <= handlesBefore, `handles ${activeNetHandles()} > ${handlesBefore}`);
  });
});
