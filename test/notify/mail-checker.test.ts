// smtp_alert from the checker: the checker runtime (the code of the checker process) probing a real TCP
// server on loopback and mailing a real SMTP server (smtp-server) on loopback: a real server going down and
// coming back, and the quorum it carries, mail keepalived's subjects and bodies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { CheckerRuntime } from '../../src/check/runtime.js';
import type { Logger } from '../../src/common/logger.js';
import { loadConfig } from '../../src/config/load.js';

const mails: { subject: string; body: string }[] = [];
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

async function listen(s: Server | SMTPServer['server']): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

function quietLog(lines: string[]): Logger {
  const push = (m: string) => lines.push(m);
  return { info: push, warn: push, error: push, detail: () => {}, held: (fn) => fn(), close: () => {} };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms: ${JSON.stringify(mails)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a real server down and back up, and its quorum, mail what keepalived mails', {
  timeout: 30_000,
}, async () => {
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const data = Buffer.concat(chunks).toString('latin1');
        const cut = data.indexOf('\r\n\r\n');
        const subject = /\r\nSubject: ([^\r]*)\r\n/.exec(data)?.[1] ?? '';
        mails.push({ subject, body: data.slice(cut + 4) });
        cb();
      });
    },
  });
  const smtpPort = await listen(smtp.server);
  cleanups.push(() => smtp.close());

  // The real server: a TCP listener that can be taken away and brought back on the same port.
  const conns = new Set<Socket>();
  const track = (s: Socket) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    s.on('error', () => {});
  };
  let rs = createServer(track);
  const rsPort = await listen(rs);
  cleanups.push(() => rs.close());

  const dir = mkdtempSync(join(tmpdir(), 'kats-mail-check-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keepalived.conf');
  writeFileSync(
    file,
    `
global_defs {
  router_id CK
  notification_email {
    ops@example.com
  }
  notification_email_from ck@example.com
  smtp_server 127.0.0.1 ${smtpPort}
  smtp_connect_timeout 2
}
virtual_server 192.0.2.100 80 {
  protocol TCP
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  smtp_alert
  real_server 127.0.0.1 ${rsPort} {
    TCP_CHECK {
      connect_timeout 0.3
      retry 0
    }
  }
}
`,
  );
  const { config, diag } = loadConfig(file, { configId: 'test', env: {} });
  assert.deepEqual(
    diag.list.filter((d) => d.severity === 'error'),
    [],
  );
  const lines: string[] = [];
  const rt = await CheckerRuntime.start(config, { log: quietLog(lines), seed: 1 });
  cleanups.push(() => void rt.abort());

  const RS = `[127.0.0.1]:tcp:${rsPort}`;
  const VS = '[192.0.2.100]:tcp:80';
  // Start: the checker starts up (not alpha) and succeeds: no real-server mail; the quorum starts up.
  await until(() => rt.attempts >= 2, 5000, 'two checks');
  await until(() => mails.length >= 1, 3000, 'the start mail');
  assert.deepEqual(mails, [
    { subject: `[CK] Virtualserver ${VS} - UP`, body: '=> Starting with quorum up 1+0=1 <= 1 <=\r\n\r\n' },
  ]);

  // Down: the listener goes away; the next check fails (retry 0).
  rs.close();
  for (const s of conns) s.destroy();
  await until(() => mails.length >= 3, 5000, 'the down mails');
  assert.deepEqual(
    new Set(mails.slice(1)),
    new Set([
      {
        subject: `[CK] Realserver ${RS} of virtual server ${VS} - DOWN`,
        body: '=> TCP CHECK failed on service <=\r\n\r\n',
      },
      { subject: `[CK] Virtualserver ${VS} - DOWN`, body: '=> Lost quorum 1+0=1 <= 0 <=\r\n\r\n' },
    ]),
  );

  // Back up on the same port.
  rs = createServer(track);
  await new Promise<void>((r) => rs.listen(rsPort, '127.0.0.1', r));
  await until(() => mails.length >= 5, 5000, 'the up mails');
  assert.deepEqual(
    new Set(mails.slice(3)),
    new Set([
      {
        subject: `[CK] Realserver ${RS} of virtual server ${VS} - UP`,
        body: '=> TCP CHECK succeed on service <=\r\n\r\n',
      },
      { subject: `[CK] Virtualserver ${VS} - UP`, body: '=> Gained quorum 1+0=1 <= 1 <=\r\n\r\n' },
    ]),
  );
  await rt.stop();
  assert.equal(mails.length, 5, 'no mail for the stop');
});
