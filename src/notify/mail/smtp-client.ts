// One alert over one SMTP connection, the dialogue keepalived holds (docs/notify-mail.md "The dialogue"):
// greeting 220, HELO 250, MAIL FROM 250, RCPT TO 250 per recipient, DATA 354, the message 250, QUIT 221.
// Each wait (the connect, every reply) is limited by smtp_connect_timeout; a wrong reply code or a silent
// server ends the dialogue with QUIT; every failure is one log line in keepalived's words. Never throws.
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { dataSection, type MailAlert, type MailSettings } from './message.js';

export interface MailLog {
  info(msg: string): void;
  detail(msg: string): void;
}

/** keepalived reads replies into a 1 KiB buffer; more without a complete reply ends the dialogue. */
const REPLY_BUFFER_MAX = 1024;

type Stage = 'greeting' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | 'BODY' | 'QUIT';
const EXPECTED: Record<Stage, number> = {
  greeting: 220,
  HELO: 250,
  MAIL: 250,
  RCPT: 250,
  DATA: 354,
  BODY: 250,
  QUIT: 221,
};
const NAME: Record<Stage, string> = {
  greeting: '(E)SMTP',
  HELO: 'HELO',
  MAIL: 'MAIL',
  RCPT: 'RCPT',
  DATA: 'DATA',
  BODY: 'BODY',
  QUIT: 'QUIT',
};

/** "[192.0.2.25]:25", as keepalived names the server in its log lines. */
export function serverName(address: string, port: number): string {
  return `[${address}]:${port}`;
}

/** Sends `a`; resolves true when the server accepted the message (250 after the data). */
export async function sendMail(
  s: MailSettings,
  a: MailAlert,
  log: MailLog,
  now: () => Date = () => new Date(),
): Promise<boolean> {
  let address = s.host;
  if (isIP(s.host) === 0) {
    try {
      address = (await lookup(s.host)).address;
    } catch (e) {
      log.info(
        `Cannot resolve SMTP server ${s.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
      return false;
    }
  }
  const server = serverName(address, s.port);
  return new Promise<boolean>((resolve) => {
    const sock = new Socket();
    let stage: Stage = 'greeting';
    let rcpt = 0;
    let buf = '';
    let sent = false;
    let done = false;
    let connected = false;
    let timer: NodeJS.Timeout | null = null;

    const finish = () => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      sock.destroy();
      resolve(sent);
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(onTimeout, s.timeoutMs);
    };
    const onTimeout = () => {
      if (!connected) {
        log.info(`Timeout opening connection to remote SMTP server ${server}.`);
        return finish();
      }
      log.info(`Timeout reading data to remote SMTP server ${server}.`);
      if (stage === 'QUIT') return finish();
      quit();
    };
    const write = (text: string) => {
      arm();
      sock.write(text, (e) => {
        if (e && !done) {
          log.info(`Cannot send data to remote SMTP server ${server}.`);
          finish();
        }
      });
    };
    const quit = () => {
      stage = 'QUIT';
      write('QUIT\r\n');
    };
    const next = () => {
      switch (stage) {
        case 'greeting':
          stage = 'HELO';
          return write(`HELO ${s.helo}\r\n`);
        case 'HELO':
          stage = 'MAIL';
          return write(`MAIL FROM:<${s.from}>\r\n`);
        case 'MAIL':
          stage = 'RCPT';
          rcpt = 0;
          return write(`RCPT TO:<${s.recipients[0]}>\r\n`);
        case 'RCPT':
          rcpt++;
          if (rcpt < s.recipients.length) return write(`RCPT TO:<${s.recipients[rcpt]}>\r\n`);
          stage = 'DATA';
          return write('DATA\r\n');
        case 'DATA':
          stage = 'BODY';
          return write(dataSection(s, a, now()));
        case 'BODY':
          sent = true;
          log.detail('SMTP alert successfully sent.');
          return quit();
        case 'QUIT':
          return finish();
      }
    };
    /** The code of the last line of the first complete reply in `buf` (multi-line: "250-…" lines first). */
    const takeReply = (): number | null => {
      let at = 0;
      for (;;) {
        const eol = buf.indexOf('\r\n', at);
        if (eol < 0) return null;
        const line = buf.slice(at, eol);
        at = eol + 2;
        if (line[3] === '-') continue;
        buf = buf.slice(at);
        return Number.parseInt(line.slice(0, 3), 10);
      }
    };

    sock.setNoDelay(true);
    sock.on('connect', () => {
      connected = true;
      log.detail(`Remote SMTP server ${server} connected.`);
      arm();
    });
    sock.on('data', (d: Buffer) => {
      if (done) return;
      buf += d.toString('latin1');
      for (;;) {
        const code = takeReply();
        if (code === null) {
          if (buf.length >= REPLY_BUFFER_MAX) {
            log.info(
              `Received buffer from remote SMTP server ${server} overflow our get read buffer length.`,
            );
            buf = '';
            if (stage === 'QUIT') return finish();
            quit();
          }
          return;
        }
        if (code === EXPECTED[stage]) next();
        else if (stage === 'QUIT') return finish();
        else {
          log.info(
            `Error processing ${NAME[stage]} cmd on SMTP server ${server}. SMTP status code = ${code}`,
          );
          quit();
        }
        if (done) return;
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (done) return;
      if (!connected) log.info(`SMTP connection ERROR to ${server}.`);
      else log.info(`Error reading data from remote SMTP server ${server}. (${e.code ?? e.message})`);
      finish();
    });
    sock.on('close', () => {
      if (done) return;
      if (stage !== 'QUIT' || !sent) log.info(`Remote SMTP server ${server} has closed the connection.`);
      finish();
    });
    arm();
    sock.connect({ host: address, port: s.port });
  });
}
