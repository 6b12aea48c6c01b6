// The mailer process of the VRRP side (docs/notify-mail.md "Where mail is sent"): forked by mail-process.ts,
// it takes alerts over its IPC channel and sends them through a bounded Mailer. Its log lines go back to the
// VRRP process, which logs them as keepalived's VRRP process does. It exits when told to stop or when the
// channel closes (the daemon is gone), after what is in flight is done or `graceMs` has passed.
import { isToMailer } from './channel.js';
import { Mailer } from './mailer.js';

const DEFAULT_GRACE_MS = 2000;

function send(level: 'info' | 'detail', msg: string): void {
  if (process.connected) process.send?.({ type: 'log', level, msg });
}

const mailer = new Mailer(null, { info: (m) => send('info', m), detail: (m) => send('detail', m) });
let stopping = false;

async function finish(graceMs: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await mailer.idle(graceMs);
  process.exit(0);
}

process.on('message', (m: unknown) => {
  if (!isToMailer(m) || stopping) return;
  if (m.type === 'settings') mailer.configure(m.settings);
  else if (m.type === 'mail') mailer.post(m.alert);
  else void finish(m.graceMs);
});
process.on('disconnect', () => void finish(DEFAULT_GRACE_MS));
// The daemon's SIGTERM to its process group must not cut a dialogue short more than the grace allows.
process.on('SIGTERM', () => void finish(DEFAULT_GRACE_MS));
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
