// keepalived's e-mail alerts as data (docs/notify-mail.md): who sends to whom through which server, and the
// subject and body of every alert. Pure: no I/O; the SMTP dialogue is smtp-client.ts, the queue mailer.ts.
import { hostname, userInfo } from 'node:os';
import type { GlobalDefs } from '../../config/model.js';

/** Everything the sending side needs; plain data, so it crosses a process boundary as it is. */
export interface MailSettings {
  /** notification_email, in order: one RCPT TO each, joined by ", " in the To header. */
  recipients: string[];
  /** notification_email_from, else user@hostname. */
  from: string;
  /** smtp_server. */
  host: string;
  port: number;
  /** smtp_helo_name, else the host name. */
  helo: string;
  /** smtp_connect_timeout: the limit on connecting and on each wait for a reply. */
  timeoutMs: number;
}

/** The local name keepalived falls back on for router_id, the HELO name and the sender. */
export function localName(): string {
  return hostname() || '[unknown]';
}

/** The mail settings, or null when keepalived would send nothing (no recipients or no smtp_server). */
export function mailSettings(g: GlobalDefs, local = localName()): MailSettings | null {
  if (g.notificationEmails.length === 0 || !g.smtpServer) return null;
  let user = 'root';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry: keepalived then has no default sender either; root is the daemon's user anyway
  }
  return {
    recipients: [...g.notificationEmails],
    from: g.notificationEmailFrom ?? `${user}@${local}`,
    host: g.smtpServer.host,
    port: g.smtpServer.port,
    helo: g.smtpHeloName ?? local,
    timeoutMs: g.smtpConnectTimeoutS * 1000,
  };
}

/** The router id in every subject: router_id, else the local name. */
export function routerIdOf(g: GlobalDefs, local = localName()): string {
  return g.routerId ?? local;
}

/** One alert: the DATA part is built when it is sent (its Date header is the sending time). */
export interface MailAlert {
  subject: string;
  body: string;
}

// keepalived truncates a subject to 255 bytes and a body to 511.
const MAX_SUBJECT = 255;
const MAX_BODY = 511;

function alert(subject: string, body: string): MailAlert {
  return { subject: subject.slice(0, MAX_SUBJECT), body: body.slice(0, MAX_BODY) };
}

export type MailState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

const INSTANCE_TEXT: Record<MailState, [string, string]> = {
  MASTER: ['Entering MASTER state', '=> VRRP Instance is now owning VRRP VIPs <='],
  BACKUP: ['Entering BACKUP state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  FAULT: ['Entering FAULT state', '=> VRRP Instance is no longer owning VRRP VIPs <='],
  STOP: ['Stopping', '=> VRRP Instance stopping <='],
  DELETED: ['Deleted', '=> VRRP Deleted at reload <='],
};

const GROUP_TEXT: Partial<Record<MailState, [string, string]>> = {
  MASTER: ['Entering MASTER state', '=> All VRRP group instances are now in MASTER state <='],
  BACKUP: ['Entering BACKUP state', '=> All VRRP group instances are now in BACKUP state <='],
  FAULT: ['Entering FAULT state', '=> All VRRP group instances are now in FAULT state <='],
  STOP: ['Stopping', '=> All VRRP group instances are now stopping <='],
};

/** A VRRP instance's or sync group's alert for a state, or null when keepalived mails none for it. */
export function vrrpAlert(
  routerId: string,
  scope: 'INSTANCE' | 'GROUP',
  name: string,
  state: string,
): MailAlert | null {
  const text = (scope === 'INSTANCE' ? INSTANCE_TEXT : GROUP_TEXT)[state as MailState];
  if (!text) return null;
  const what = scope === 'INSTANCE' ? 'VRRP Instance' : 'VRRP Group';
  return alert(`[${routerId}] ${what} ${name} - ${text[0]}`, text[1]);
}

/** A real server's alert; `up` is the real server's liveness after the event, not the checker's. */
export function realServerAlert(
  routerId: string,
  rs: string,
  vs: string,
  up: boolean,
  body: string,
): MailAlert {
  return alert(`[${routerId}] Realserver ${rs} of virtual server ${vs} - ${up ? 'UP' : 'DOWN'}`, body);
}

/** A virtual server's quorum alert. */
export function virtualServerAlert(routerId: string, vs: string, up: boolean, body: string): MailAlert {
  return alert(`[${routerId}] Virtualserver ${vs} - ${up ? 'UP' : 'DOWN'}`, body);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 822 date in local time, as strftime "%a, %d %b %Y %H:%M:%S %z" prints it in the C locale. */
export function rfc822Date(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return (
    `${DAYS[d.getDay()]}, ${two(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
  );
}

/**
 * What follows DATA: keepalived's headers (Date, From, Subject, X-Mailer, To), a blank line, the body and the
 * terminating dot. A body line that starts with "." gets a second one (dot-stuffing, RFC 5321 4.5.2);
 * keepalived's own bodies never start a line with a dot, so for them the bytes are keepalived's.
 */
export function dataSection(s: MailSettings, a: MailAlert, date: Date): string {
  const body = a.body
    .split(/\r?\n/)
    .map((l) => (l.startsWith('.') ? `.${l}` : l))
    .join('\r\n');
  return (
    `Date: ${rfc822Date(date)}\r\nFrom: ${s.from}\r\nSubject: ${a.subject}\r\n` +
    `X-Mailer: Keepalived\r\nTo: ${s.recipients.join(', ')}\r\n\r\n${body}\r\n\r\n.\r\n`
  );
}
