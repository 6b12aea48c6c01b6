// DNS_CHECK (keepalived check_dns.c semantics): one query over a connected UDP socket (bindto / bind_port /
// bind_if / fwmark applied as for TCP_CHECK) for `name` (default the root) of `type` (default SOA), RD set,
// a random id. Replies are read until the timeout: one shorter than a header, with another id or without
// QR set is ignored (so a wrong-id reply ends in a timeout); the first matching one decides — RCODE 0 is a
// success (answers are not required), any other RCODE a failure. An ICMP error (port unreachable) makes the
// read fail: a failure. docs/probes.md, "DNS_CHECK".
import { randomInt } from 'node:crypto';
import { SOCK_DGRAM } from '../../net/libc.js';
import type { Probe, ProbeOutcome, ProbeTarget } from '../probe.js';
import { DNS_TYPES, decodeHeader, encodeQuery, rcodeName } from './dns-wire.js';
import { PendingReply, sendDatagram, sockaddrOf } from './native-socket.js';
import { connectCode, down, ms, nowUs, up, where, withErrno } from './outcome.js';

export class DnsProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array | undefined;
  readonly #name: string;
  readonly #qtype: number;
  readonly #buf = new Uint8Array(768);
  readonly #pending = new PendingReply();

  constructor(target: ProbeTarget, type = 'SOA', name = '') {
    this.#target = target;
    this.#sa = sockaddrOf(target.address, target.port, target.family);
    this.#qtype = DNS_TYPES[type.toUpperCase()] ?? DNS_TYPES.SOA!;
    this.#name = name;
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    return new Promise((resolve) => {
      if (this.#pending.closed) return resolve(down(start, 'closed', 'probe closed'));
      if (!this.#sa) return resolve(down(start, 'local-error', `bad address ${this.#target.address}`));
      const t = this.#target;
      const id = randomInt(0x10000);
      const query = encodeQuery(id, this.#name, this.#qtype);
      if (typeof query === 'string') return resolve(down(start, 'local-error', query));
      const fd = sendDatagram(t, { type: SOCK_DGRAM }, this.#sa, query);
      if (typeof fd !== 'number') {
        if (fd.step === 'open') return resolve(down(start, 'local-error', `${fd.op} failed: ${fd.errno}`));
        const code = typeof fd.error === 'string' ? connectCode(fd.error) : 'local-error';
        const o = down(start, code, `DNS query to ${where(t)} not sent: ${fd.error}`);
        // keepalived keeps a connect()'s unusual errno, not a send()'s.
        const kept = fd.step === 'connect' && code === 'local-error' && typeof fd.error === 'string';
        return resolve(kept ? withErrno(o, fd.error as string) : o);
      }
      this.#pending.wait(
        fd,
        this.#buf,
        ms(timeoutUs),
        {
          datagram: (n) => {
            const h = decodeHeader(this.#buf.subarray(0, n));
            if (!h || h.id !== id || !h.response) return undefined; // not our answer: keep waiting
            if (h.rcode !== 0)
              return down(start, 'dns-rcode', `DNS check to ${where(t)}: rcode ${rcodeName(h.rcode)}`);
            return up(start);
          },
          error: (n) =>
            down(start, connectCode(n, true), `DNS check to ${where(t)}: failed to read socket: ${n}`),
          timeout: () =>
            down(start, 'timeout', `DNS check to ${where(t)}: no matching reply within the timeout`),
        },
        () => down(start, 'closed', 'probe closed'),
        resolve,
      );
    });
  }

  close(): void {
    this.#pending.close();
  }
}
