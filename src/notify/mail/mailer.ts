// The alerts waiting to be sent, bounded (docs/notify-mail.md "Queue"): at most MAX_SENDING dialogues at
// once (keepalived opens one connection per alert, all at once) and at most MAX_QUEUED waiting; an alert
// beyond that is dropped with one log line per burst, so an SMTP server that never answers costs a bounded
// amount of memory and sockets, never more. It runs in a process of its own (mailer-child.ts for VRRP, the
// checker process for checker alerts), never beside the VRRP engine.
import type { MailAlert, MailSettings } from './message.js';
import { type MailLog, sendMail } from './smtp-client.js';

export const MAX_SENDING = 4;
export const MAX_QUEUED = 64;

export type SendFn = (s: MailSettings, a: MailAlert, log: MailLog) => Promise<boolean>;

export class Mailer {
  #settings: MailSettings | null;
  readonly #log: MailLog;
  readonly #send: SendFn;
  readonly #queue: MailAlert[] = [];
  #sending = 0;
  #dropped = 0;
  #idle: (() => void)[] = [];
  /** Alerts the server accepted, and those that failed or were dropped (for status and tests). */
  sent = 0;
  failed = 0;

  constructor(settings: MailSettings | null, log: MailLog, send: SendFn = sendMail) {
    this.#settings = settings;
    this.#log = log;
    this.#send = send;
  }

  /** Reload: alerts queued from now on go with these settings (null: mail is off; the queue is dropped). */
  configure(settings: MailSettings | null): void {
    this.#settings = settings;
    if (!settings) this.#queue.length = 0;
  }

  get queued(): number {
    return this.#queue.length;
  }

  post(a: MailAlert): void {
    if (!this.#settings) return;
    if (this.#queue.length >= MAX_QUEUED) {
      if (this.#dropped++ === 0)
        this.#log.info(
          `SMTP alert queue full (${MAX_QUEUED} waiting): dropping "${a.subject}" and later alerts`,
        );
      this.failed++;
      return;
    }
    if (this.#dropped > 0) {
      this.#log.info(`SMTP alert queue: ${this.#dropped} alert(s) dropped`);
      this.#dropped = 0;
    }
    this.#queue.push(a);
    this.#pump();
  }

  #pump(): void {
    while (this.#sending < MAX_SENDING && this.#queue.length > 0 && this.#settings) {
      const a = this.#queue.shift()!;
      const s = this.#settings;
      this.#sending++;
      this.#send(s, a, this.#log)
        .catch((e: Error) => {
          this.#log.info(`SMTP alert: ${e.message}`);
          return false;
        })
        .then((ok) => {
          if (ok) this.sent++;
          else this.failed++;
          this.#sending--;
          this.#pump();
          if (this.#sending === 0 && this.#queue.length === 0) for (const r of this.#idle.splice(0)) r();
        });
    }
  }

  /** Resolves when nothing is queued or being sent, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.#sending === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
