// Messages between the VRRP process and its mailer process (mail-process.ts ↔ mailer-child.ts): plain JSON.
import type { MailAlert, MailSettings } from './message.js';

export type ToMailer =
  | { type: 'settings'; settings: MailSettings | null }
  | { type: 'mail'; alert: MailAlert }
  /** Finish what is queued within `graceMs`, then exit. */
  | { type: 'stop'; graceMs: number };

export type FromMailer = { type: 'log'; level: 'info' | 'detail'; msg: string };

export function isFromMailer(m: unknown): m is FromMailer {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'log';
}

export function isToMailer(m: unknown): m is ToMailer {
  const t = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return t === 'settings' || t === 'mail' || t === 'stop';
}
