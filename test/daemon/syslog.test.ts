// Logging to syslog (src/common/logger.ts over src/net/syslog-socket.ts): one datagram per line on an
// AF_UNIX socket, in glibc's format, each with its own severity and the -S facility. A python3 listener
// bound to a temporary socket stands in for /dev/log.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../src/common/logger.js';
import { syslogLine, syslogStamp } from '../../src/net/syslog-socket.js';

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    print(s.recv(4096).decode(), flush=True)
`;

test('RFC 3164 lines as glibc writes them', () => {
  const at = new Date(2026, 10, 3, 4, 5, 6);
  assert.equal(syslogStamp(at), 'Nov  3 04:05:06');
  assert.equal(
    syslogLine(3, 'error', 'Keepalived_vrrp', 42, 'boom', at),
    '<27>Nov  3 04:05:06 Keepalived_vrrp[42]: boom',
  );
});

test('each line reaches the syslog socket with its own severity and the -S facility', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-syslog-'));
  const path = join(dir, 'log');
  try {
    const py = spawn('python3', ['-c', LISTENER, path, '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    py.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const until = Date.now() + 5000;
    while (!out.includes('ready') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const log = createLogger({ console: false, detail: true, facility: 3, syslogPath: path });
    log.info('plain');
    log.warn('careful');
    log.error('broken');
    log.detail('detail');
    log.close();
    await new Promise<void>((r) => py.on('exit', () => r()));
    const lines = out.trim().split('\n').slice(1);
    const pri = (l: string) => Number(/^<(\d+)>/.exec(l)?.[1]);
    // local3 = 19; info 6, warning 4, error 3: 19 × 8 + severity.
    assert.deepEqual(lines.map(pri), [158, 156, 155, 158], out);
    assert.match(
      lines[0]!,
      new RegExp(`^<158>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d Keepalived_vrrp\\[${process.pid}\\]: plain$`),
    );
    assert.match(lines[1]!, /: WARNING - careful$/);
    assert.match(lines[2]!, /: ERROR - broken$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a syslog daemon the lines go to stderr', () => {
  const mod = JSON.stringify(new URL('../../src/common/logger.ts', import.meta.url).href);
  const script = `
    import { createLogger } from ${mod};
    const log = createLogger({ console: false, detail: false, syslogPath: '/nonexistent/kats-log' });
    log.error('nobody listens');
    log.close();
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Keepalived_vrrp: ERROR - nobody listens/);
});
