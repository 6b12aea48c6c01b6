// The VRRP process's side of its mailer process (docs/notify-mail.md "Where mail is sent"). The mailer is
// forked once, at start, when some instance or sync group mails; after that an alert costs the VRRP loop
// one object in an array, and the IPC write happens on the next turn (setImmediate), never inside the batch
// of a takeover. A mailer that died is forked again for the next alert, at most once a second.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/logger.js';
import { isFromMailer, type ToMailer } from './channel.js';
import type { MailAlert, MailSettings } from './message.js';

/** The mailer's entry: the sibling module, .ts under tsx and .js when built. */
function childScript(): string {
  const self = fileURLToPath(import.meta.url);
  return self.replace(/mail-process\.([cm]?[jt]s)$/, 'mailer-child.$1');
}

const RESPAWN_MIN_MS = 1000;
/** Alerts waiting for a mailer that is being (re)started; more are dropped (the mailer's own bound is 64). */
const MAX_PENDING = 64;

export class MailProcess {
  readonly #log: Logger;
  #settings: MailSettings;
  #child: ChildProcess | null = null;
  #startedAt = 0;
  #pending: ToMailer[] = [];
  #flush: NodeJS.Immediate | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  /** Mailers forked so far (status and tests). */
  starts = 0;

  constructor(settings: MailSettings, log: Logger) {
    this.#settings = settings;
    this.#log = log;
    this.#start();
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  #start(): void {
    if (this.#closed) return;
    const child = fork(childScript(), [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.starts++;
    child.on('message', (m: unknown) => {
      if (!isFromMailer(m)) return;
      if (m.level === 'info') this.#log.info(m.msg);
      else this.#log.detail(m.msg);
    });
    child.on('error', (e) => this.#log.error(`SMTP mailer process: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = null;
      if (!this.#closed)
        this.#log.error(`SMTP mailer process(${child.pid}) died (${signal ?? `exit code ${code}`})`);
    });
    child.send({ type: 'settings', settings: this.#settings } satisfies ToMailer);
  }

  configure(settings: MailSettings): void {
    this.#settings = settings;
    this.#queue({ type: 'settings', settings });
  }

  post(alert: MailAlert): void {
    if (this.#pending.length >= MAX_PENDING) return;
    this.#queue({ type: 'mail', alert });
  }

  #queue(m: ToMailer): void {
    if (this.#closed) return;
    this.#pending.push(m);
    if (!this.#retry) this.#flush ??= setImmediate(() => this.#send());
  }

  #send(): void {
    this.#flush = null;
    this.#retry = null;
    if (!this.#child?.connected) {
      if (Date.now() - this.#startedAt < RESPAWN_MIN_MS) {
        this.#retry = setTimeout(() => this.#send(), RESPAWN_MIN_MS);
        return;
      }
      this.#start();
    }
    const c = this.#child;
    const batch = this.#pending;
    this.#pending = [];
    if (!c?.connected) return;
    for (const m of batch) c.send(m, (e) => e && this.#log.detail(`SMTP mailer channel: ${e.message}`));
  }

  /**
   * Hands the mailer what is still pending and lets it finish within `graceMs` on its own (the daemon does
   * not wait for it: an SMTP server must never hold up a stop).
   */
  close(graceMs: number): void {
    if (this.#closed) return;
    if (this.#flush) clearImmediate(this.#flush);
    if (this.#retry) clearTimeout(this.#retry);
    this.#flush = null;
    this.#retry = null;
    const c = this.#child;
    if (c?.connected) {
      for (const m of this.#pending) c.send(m);
      c.send({ type: 'stop', graceMs } satisfies ToMailer);
    }
    this.#pending = [];
    this.#closed = true;
    // Neither the mailer nor its channel keeps this process alive.
    c?.unref();
    (c?.channel as { unref?: () => void } | undefined)?.unref?.();
  }
}
