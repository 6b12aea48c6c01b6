// `keepalived-ts --genhash` (and -T) reaches genhash through the daemon's command line, as `keepalived
// --genhash` does: the MD5 of a real server's body, exit 0; a refused connection, a non-zero exit.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { BIN } from './router.js';

test('--genhash and -T print the body digest of a local server', async () => {
  const body = 'health page\n';
  const server = createServer((_q, r) => r.end(body));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as AddressInfo).port;
  const md5 = createHash('md5').update(body).digest('hex');
  try {
    for (const flag of ['--genhash', '-T']) {
      const r = await new Promise<{ status: number | null; out: string }>((res) => {
        // Not spawnSync: the server runs in this process.
        const p = spawn(process.execPath, [BIN, flag, '-s', '127.0.0.1', '-p', String(port), '-u', '/'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.on('exit', (status) => res({ status, out }));
      });
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, new RegExp(md5, 'i'), `${flag} prints the digest`);
    }
  } finally {
    server.close();
  }
  // A refused connection: keepalived's genhash says so and still exits 0.
  const refused = spawnSync(process.execPath, [BIN, '--genhash', '-s', '127.0.0.1', '-p', '1', '-u', '/'], {
    encoding: 'utf8',
  });
  assert.match(refused.stdout + refused.stderr, /Connection failed/);
  assert.equal(refused.status, 0);
});
