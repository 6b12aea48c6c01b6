// SMTP_CHECK: connect as TCP_CHECK does (connect_ip / connect_port, bindto / bind_port / bind_if / fwmark),
// then hand the socket to Node's net.Socket and run the banner / HELO / QUIT dialogue (smtp-dialogue.ts).
// The whole exchange has one deadline, the attempt's timeout (keepalived restarts connect_timeout at every
// read). A server that closes or resets the connection early fails the check.
import { Socket } from 'node:net';
import type { Probe, ProbeOutcome, ProbeTarget } from '../probe.js';
import { sockaddrOf } from './native-socket.js';
import { down, ms, nowUs, up, where, withErrno } from './outcome.js';
import { SmtpDialogue } from './smtp-dialogue.js';
import { connectTcp } from './tcp.js';

export class SmtpProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array | undefined;
  readonly #helo: string | undefined;
  #abort: (() => void) | undefined;
  #closed = false;

  constructor(target: ProbeTarget, heloName?: string) {
    this.#target = target;
    this.#sa = sockaddrOf(target.address, target.port, target.family);
    this.#helo = heloName;
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    const t = this.#target;
    return new Promise((resolve) => {
      if (this.#closed) return resolve(down(start, 'closed', 'probe closed'));
      if (!this.#sa) return resolve(down(start, 'local-error', `bad address ${t.address}`));
      let settled = false;
      let sock: Socket | undefined;
      let cancel: () => void = () => {};
      const finish = (o: ProbeOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cancel();
        sock?.destroy();
        this.#abort = undefined;
        resolve(o);
      };
      const timer = setTimeout(
        () => finish(down(start, 'timeout', `SMTP check to ${where(t)}: timed out`)),
        ms(timeoutUs),
      );
      this.#abort = () => finish(down(start, 'closed', 'probe closed'));
      cancel = connectTcp(t, this.#sa, timeoutUs, (r) => {
        if (!r.ok) return finish(withErrno(down(start, r.code, `SMTP check: ${r.reason}`), r.errno));
        if (settled) {
          new Socket({ fd: r.fd }).destroy();
          return;
        }
        const s = new Socket({ fd: r.fd, readable: true, writable: true });
        sock = s;
        const dialogue = new SmtpDialogue(this.#helo);
        s.setEncoding('latin1');
        s.on('data', (chunk: string) => {
          for (const step of dialogue.receive(chunk)) {
            if (step.kind === 'send') s.write(step.line);
            else if (step.kind === 'done') finish(up(start));
            else if (step.kind === 'fail')
              finish(down(start, step.code, `SMTP check to ${where(t)}: ${step.reason}`));
          }
        });
        s.on('error', (e: NodeJS.ErrnoException) =>
          finish(
            down(
              start,
              e.code === 'ECONNRESET' ? 'reset' : 'read-failure',
              `SMTP check to ${where(t)}: ${e.message}`,
            ),
          ),
        );
        s.on('end', () =>
          finish(down(start, 'read-failure', `SMTP check to ${where(t)}: connection closed early`)),
        );
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#abort?.();
  }
}
