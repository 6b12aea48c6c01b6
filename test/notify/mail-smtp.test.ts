// The SMTP dialogue and the queue, against a real SMTP server (smtp-server) on loopback: what arrives (the
// envelope, keepalived's headers, dot-stuffed lines), and keepalived's log line for a refused recipient, a
// refused connection and a server that never answers.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { MAX_QUEUED, Mailer } from '../../src/notify/mail/mailer.js';
import { dataSection, type MailSettings, rfc822Date, vrrpAlert } from '../../src/notify/mail/message.js';
import { sendMail } from '../../src/notify/mail/smtp-client.js';

interface Got {
  helo: string;
  from: string;
  to: string[];
  data: string;
}
const got: Got[] = [];
let rejectRcpt = false;
let smtp: SMTPServer;
let port = 0;
let silent: Server;
let silentPort = 0;
const held: Socket[] = [];

before(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_a, _s, cb) {
      if (!rejectRcpt) return cb();
      const e = new Error('no such user') as Error & { responseCode: number };
      e.responseCode = 550;
      cb(e);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        got.push({
          helo: session.hostNameAppearsAs,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('latin1'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  port = (smtp.server.address() as { port: number }).port;
  silent = createServer((s) => {
    held.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as { port: number }).port;
});
after(() => {
  for (const s of held) s.destroy();
  silent.close();
  smtp.close();
});

function settings(p: number, over: Partial<MailSettings> = {}): MailSettings {
  return {
    recipients: ['ops@example.com', 'oncall@example.com'],
    from: 'kats@example.com',
    host: '127.0.0.1',
    port: p,
    helo: 'r1.example.com',
    timeoutMs: 500,
    ...over,
  };
}

function logs() {
  const lines: string[] = [];
  return { lines, log: { info: (m: string) => lines.push(m), detail: () => {} } };
}

test("a mail arrives with keepalived's envelope, headers and body", async () => {
  got.length = 0;
  const a = vrrpAlert('R1', 'INSTANCE', 'VI_1', 'MASTER')!;
  const { lines, log } = logs();
  assert.equal(await sendMail(settings(port), a, log), true, lines.join('\n'));
  assert.equal(got.length, 1);
  const m = got[0]!;
  assert.equal(m.helo, 'r1.example.com');
  assert.equal(m.from, 'kats@example.com');
  assert.deepEqual(m.to, ['ops@example.com', 'oncall@example.com']);
  assert.match(
    m.data,
    /^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\nFrom: kats@example\.com\r\nSubject: \[R1\] VRRP Instance VI_1 - Entering MASTER state\r\nX-Mailer: Keepalived\r\nTo: ops@example\.com, oncall@example\.com\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n$/,
  );
  assert.deepEqual(lines, []);
});

test('a body line starting with a dot arrives whole (dot-stuffing)', async () => {
  got.length = 0;
  const { log } = logs();
  assert.equal(await sendMail(settings(port), { subject: 's', body: 'one\n.two\n..three' }, log), true);
  assert.match(got[0]!.data, /\r\n\r\none\r\n\.two\r\n\.\.three\r\n\r\n$/);
  // On the wire the dots are doubled (what the server un-stuffed above).
  assert.match(
    dataSection(settings(port), { subject: 's', body: '.x' }, new Date(0)),
    /\r\n\r\n\.\.x\r\n\r\n\.\r\n$/,
  );
});

test('RFC 822 date as strftime prints it', () => {
  const d = new Date(2021, 2, 1, 9, 44, 8);
  assert.match(rfc822Date(d), /^Mon, 01 Mar 2021 09:44:08 [+-]\d{4}$/);
});

test("a refused recipient: keepalived's log line, QUIT, nothing delivered", async () => {
  got.length = 0;
  rejectRcpt = true;
  try {
    const { lines, log } = logs();
    const ok = await sendMail(settings(port), { subject: 's', body: 'b' }, log);
    assert.equal(ok, false);
    assert.equal(got.length, 0);
    assert.deepEqual(lines, [
      `Error processing RCPT cmd on SMTP server [127.0.0.1]:${port}. SMTP status code = 550`,
    ]);
  } finally {
    rejectRcpt = false;
  }
});

test('a refused connection and a server that never answers: one log line each, within the timeout', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const a = logs();
  assert.equal(await sendMail(settings(closedPort), { subject: 's', body: 'b' }, a.log), false);
  assert.deepEqual(a.lines, [`SMTP connection ERROR to [127.0.0.1]:${closedPort}.`]);

  const b = logs();
  const t0 = Date.now();
  assert.equal(
    await sendMail(settings(silentPort, { timeoutMs: 300 }), { subject: 's', body: 'b' }, b.log),
    false,
  );
  const took = Date.now() - t0;
  // No greeting within the timeout: QUIT is sent and its reply waited for once more, as keepalived does.
  assert.deepEqual(b.lines, [
    `Timeout reading data to remote SMTP server [127.0.0.1]:${silentPort}.`,
    `Timeout reading data to remote SMTP server [127.0.0.1]:${silentPort}.`,
  ]);
  assert.ok(took >= 550 && took < 2000, `took ${took} ms`);
});

test('the queue is bounded: beyond it alerts are dropped with one log line', async () => {
  const { lines, log } = logs();
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let sends = 0;
  const m = new Mailer(settings(port), log, async () => {
    sends++;
    await gate;
    return true;
  });
  for (let i = 0; i < MAX_QUEUED + 20; i++) m.post({ subject: `s${i}`, body: 'b' });
  // 4 sending, MAX_QUEUED waiting, the rest dropped.
  assert.equal(sends, 4);
  assert.equal(m.queued, MAX_QUEUED);
  assert.equal(m.failed, 16);
  assert.equal(lines.filter((l) => /queue full/.test(l)).length, 1);
  release();
  await m.idle(2000);
  assert.equal(m.sent, MAX_QUEUED + 4);
});
