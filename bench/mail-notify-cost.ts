// What an smtp_alert costs the VRRP event loop (docs/notify-mail.md "Where mail is sent"): per notification,
// the alert decision (VrrpMailAlerts) and the hand-over to the mailer process (MailProcess.post, then the IPC
// write on the next turn), against a real mailer process sending to a real SMTP server on loopback.
// Figures are wall time on a shared machine: noisy; the ratio to a FIFO line written in the same run is the
// steadier figure.
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '../src/common/logger.js';
import { MailProcess } from '../src/notify/mail/mail-process.js';
import { VrrpMailAlerts } from '../src/notify/mail/vrrp-alerts.js';

const ROUNDS = 300;
// Time spent inside the IPC write (ChildProcess#send), the part of the hand-over that runs on the next turn.
let sendNs = 0n;
const realSend = ChildProcess.prototype.send;
ChildProcess.prototype.send = function (this: ChildProcess, ...args: Parameters<ChildProcess['send']>) {
  const t = process.hrtime.bigint();
  const r = realSend.apply(this, args);
  sendNs += process.hrtime.bigint() - t;
  return r;
} as ChildProcess['send'];
let received = 0;
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _s, cb) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      cb();
    });
  },
});
await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
const port = (smtp.server.address() as { port: number }).port;
const settings = {
  recipients: ['ops@example.com', 'oncall@example.com'],
  from: 'kats@example.com',
  host: '127.0.0.1',
  port,
  helo: 'bench.example.com',
  timeoutMs: 5000,
};
const infos: string[] = [];
const log: Logger = {
  info: (m) => infos.push(m),
  warn: () => {},
  error: (m) => console.error(m),
  detail: () => {},
  held: (fn) => fn(),
  close: () => {},
};
const mailer = new MailProcess(settings, log);
const alerts = new VrrpMailAlerts({
  settings,
  routerId: 'BENCH',
  instances: new Set(['VI_1']),
  groups: new Set(),
  noEmailFaults: false,
});
const dir = mkdtempSync(join(tmpdir(), 'kats-mailbench-'));
const fd = openSync(join(dir, 'fifo-as-file'), 'w');
const turn = () => new Promise<void>((r) => setImmediate(r));

// Warm-up (JIT, the child's start), then timed rounds: one notification each, as a state change makes.
const states = ['BACKUP', 'MASTER'];
const mailNs: number[] = [];
const fifoNs: number[] = [];
for (let k = 0; k < ROUNDS + 50; k++) {
  const e = { scope: 'INSTANCE' as const, name: 'VI_1', state: states[k % 2]! };
  const s0 = sendNs;
  const t0 = process.hrtime.bigint();
  const a = alerts.alertFor(e);
  if (a) mailer.post(a);
  const tPost = process.hrtime.bigint();
  // The flush (the IPC write) runs in the next check phase, before this immediate queued after it.
  await turn();
  const t1 = process.hrtime.bigint();
  writeSync(fd, `INSTANCE "VI_1" ${e.state} 100\n`);
  const t2 = process.hrtime.bigint();
  if (k >= 50) {
    mailNs.push(Number(tPost - t0 + (sendNs - s0)));
    fifoNs.push(Number(t2 - t1));
  }
  await new Promise((r) => setTimeout(r, 10));
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)]! / 1000;
const deadline = Date.now() + 20_000;
while (received < ROUNDS + 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const dropped = infos.reduce((n, m) => n + Number(/(\d+) alert\(s\) dropped/.exec(m)?.[1] ?? 0), 0);
const other = infos.filter((m) => !/queue/.test(m));
if (other.length > 0) console.log(`mailer said: ${[...new Set(other)].join(' | ')}`);
console.log(`dropped by the queue bound (reported so far): ${dropped}`);
console.log(
  `mail alerts delivered: ${received}/${ROUNDS + 50} (one every 10 ms; the rest dropped by the queue bound)`,
);
console.log(
  `VRRP loop per alert (decide + post, then the IPC write): median ${q(mailNs, 0.5).toFixed(1)} µs, p99 ${q(mailNs, 0.99).toFixed(1)} µs`,
);
console.log(
  `one notify FIFO line (same run): median ${q(fifoNs, 0.5).toFixed(1)} µs, p99 ${q(fifoNs, 0.99).toFixed(1)} µs`,
);
// The alternative: a process per alert, as the notify scripts are started (spawn runs on the loop).
const spawnNs: number[] = [];
for (let k = 0; k < 60; k++) {
  const t = process.hrtime.bigint();
  const c = spawn('/bin/true', [], { detached: true, stdio: 'ignore' });
  spawnNs.push(Number(process.hrtime.bigint() - t));
  c.unref();
  await new Promise((r) => setTimeout(r, 10));
}
console.log(
  `a process per alert instead (spawn /bin/true, same run): median ${q(spawnNs.slice(10), 0.5).toFixed(1)} µs, p99 ${q(spawnNs.slice(10), 0.99).toFixed(1)} µs`,
);
closeSync(fd);
rmSync(dir, { recursive: true, force: true });
mailer.close(1000);
smtp.close();
