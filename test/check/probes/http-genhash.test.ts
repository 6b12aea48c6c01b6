// genhashMain against real servers in a private namespace, side by side with keepalived 2.2.7's own
// `keepalived --genhash` (when installed): same stdout, same stderr, same exit code.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dumpBuffer, genhashMain, parseGenhashArgs } from '../../../src/check/genhash.js';
import { isRoot } from '../../helpers/netns.js';
import { enterTestNetns, type TestNetns } from './http-netns.js';
import { rawServer } from './http-servers.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../data/tls');
const BODY = 'genhash body\n'.repeat(7);
// A fixed response (no Date header) so that verbose dumps can be compared byte for byte.
const RESPONSE = `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ours(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await genhashMain(args, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    prog: 'keepalived',
  });
  return { code, stdout, stderr };
}

function theirs(ns: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, KEEPALIVED, '--genhash', ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => {
      stdout += d;
    });
    c.stderr.on('data', (d) => {
      stderr += d;
    });
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const noTiming = (s: string) => s.replace(/= \d+ usecs/, '= N usecs');

describe('genhash', { skip: !isRoot() && 'needs root for a network namespace' }, () => {
  let ns: TestNetns;
  let raw: Awaited<ReturnType<typeof rawServer>>;
  let raw6: Awaited<ReturnType<typeof rawServer>>;
  let tlsServer: https.Server;
  let tlsPort = 0;
  const haveKeepalived = existsSync(KEEPALIVED);

  before(async () => {
    ns = enterTestNetns('pgh');
    raw = await rawServer((s, head) => {
      if (head.startsWith('GET /empty ')) s.end();
      else s.end(RESPONSE);
    });
    raw6 = await rawServer((s) => s.end(RESPONSE), '::1');
    tlsServer = https.createServer(
      { cert: readFileSync(join(DIR, 'good.pem')), key: readFileSync(join(DIR, 'good.key')) },
      (_req, res) => res.end(BODY),
    );
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
  });

  after(async () => {
    await raw?.close();
    await raw6?.close();
    tlsServer?.closeAllConnections();
    await new Promise<void>((r) => (tlsServer ? tlsServer.close(() => r()) : r()));
    ns?.leave();
  });

  test('prints the MD5 of the body', async () => {
    const r = await ours(['-s', '127.0.0.1', '-p', String(raw.port), '-u', '/']);
    assert.deepEqual(r, { code: 0, stdout: `${createHash('md5').update(BODY).digest('hex')}\n`, stderr: '' });
    assert.match(
      raw.heads.at(-1)!,
      /^GET \/ HTTP\/1\.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127\.0\.0\.1:\d+\r\n\r\n$/,
    );
    const s = await ours(['-S', '-s', '127.0.0.1', '-p', String(tlsPort), '-u', '/x', '-P', '1.1']);
    assert.equal(s.stdout, `${createHash('md5').update(BODY).digest('hex')}\n`);
  });

  test("the hex dump is keepalived's", () => {
    assert.equal(
      dumpBuffer(Buffer.from('HTTP/1.1 200 OK\r\nX')),
      '0000  48 54 54 50 2f 31 2e 31 - 20 32 30 30 20 4f 4b 0d   HTTP/1.1 200 OK.\n' +
        '0016  0a 58                   -                           .X              \n',
    );
  });

  test('option errors print the usage and exit 1', async () => {
    for (const args of [
      [],
      ['-s', 'host.example', '-p', '80', '-u', '/'],
      ['-s', '127.0.0.1', '-p', '0', '-u', '/'],
    ]) {
      const r = await ours(args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Usage: keepalived --genhash COMMAND \[OPTIONS\]/);
    }
    const long = parseGenhashArgs([
      '--server',
      '::1',
      '--port=80',
      '--url',
      '/a',
      '--protocol',
      '1.0c',
      '-vSI',
    ]);
    assert.deepEqual(long, {
      ok: true,
      req: { server: '::1', port: 80, path: '/a', protocol: '1.0C', verbose: true, ssl: true, sni: true },
    });
  });

  test('same output as keepalived --genhash', {
    skip: !haveKeepalived && 'keepalived not installed',
  }, async () => {
    const p = String(raw.port);
    const cases: string[][] = [
      ['-s', '127.0.0.1', '-p', p, '-u', '/'],
      ['-s', '127.0.0.1', '-p', p, '-u', '/', '-v'],
      ['-s', '127.0.0.1', '-p', p, '-u', '/', '-V', 'www.example', '-P', '1.1'],
      ['-s', '::1', '-p', String(raw6.port), '-u', '/x', '-P', '1.0c', '-v'],
      ['-s', '127.0.0.1', '-p', p, '-u', '/empty'],
      ['-s', '127.0.0.1', '-p', '1', '-u', '/'],
      ['-s', '127.0.0.1', '-p', String(ns.blackholePort), '-u', '/', '-t', '1'],
      ['-S', '-s', '127.0.0.1', '-p', String(tlsPort), '-u', '/', '-I', '-V', 'good.example'],
      ['-s', '127.0.0.1', '-p', p],
      ['-s', '127.0.0.1', '-p', p, '-u', '/', 'extra'],
    ];
    const results = await Promise.all(
      cases.map(async (a) => [a, await ours(a), await theirs(ns.name, a)] as const),
    );
    // Both sent the same request bytes (the IPv6 server saw only this one case, from each of them).
    assert.equal(raw6.heads.length, 2);
    assert.equal(raw6.heads[0], raw6.heads[1]);
    assert.match(
      raw6.heads[0]!,
      /^GET \/x HTTP\/1\.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: \[::1\]:\d+\r\n\r\n$/,
    );
    for (const [args, mine, ref] of results) {
      const label = args.join(' ');
      assert.equal(mine.code, ref.code, label);
      assert.equal(noTiming(mine.stdout), noTiming(ref.stdout), label);
      if (ref.code === 0) assert.equal(mine.stderr, ref.stderr, label);
      else
        assert.equal(
          mine.stderr.split('\n').slice(-20).join('\n'),
          ref.stderr.split('\n').slice(-20).join('\n'),
          label,
        );
    }
  });
});
