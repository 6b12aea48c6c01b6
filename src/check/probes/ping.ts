// PING_CHECK (keepalived check_ping.c semantics): one ICMP (or ICMPv6) echo request per attempt on an
// unprivileged ICMP datagram socket — socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) — carrying keepalived's
// 128-byte filler; the first echo reply with our sequence number within the timeout is a success, any other
// ICMP answer (an error) or none is a failure. The kernel picks the echo identifier for such a socket and
// delivers it only the replies with that identifier; we also match the sequence. Such sockets need the
// process's group inside net.ipv4.ping_group_range: keepalived widens the range to start at gid 0 when its
// checker starts, and widenPingGroupRange() below does the same (docs/probes.md, "PING_CHECK").
// keepalived's PING_CHECK takes no bindto / bind_if / fwmark: none are applied here either.
import { readFileSync, writeFileSync } from 'node:fs';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, SOCK_DGRAM } from '../../net/libc.js';
import type { Probe, ProbeOutcome, ProbeTarget } from '../probe.js';
import { PendingReply, sendDatagram, sockaddrOf } from './native-socket.js';
import { connectCode, down, ms, nowUs, up } from './outcome.js';

const ECHO_REQUEST = [8, 128] as const;
const ECHO_REPLY = [0, 129] as const;
const PAYLOAD_LEN = 128;

let nextSeq = 1;

/** An echo request: type, code 0, checksum 0 (the kernel fills it for datagram ICMP sockets), id 0, seq. */
export function echoRequest(family: 4 | 6, seq: number): Uint8Array {
  const b = new Uint8Array(8 + PAYLOAD_LEN);
  b[0] = family === 4 ? ECHO_REQUEST[0] : ECHO_REQUEST[1];
  new DataView(b.buffer).setUint16(6, seq & 0xffff);
  b.set(new TextEncoder().encode('keepalived check - '.repeat(7).slice(0, PAYLOAD_LEN)), 8);
  return b;
}

/** What an ICMP message read from the socket means for the attempt with sequence `seq` (pure). */
export function classifyReply(family: 4 | 6, msg: Uint8Array, seq: number): 'reply' | 'other' | 'ignore' {
  if (msg.length < 8) return 'ignore';
  const s = (msg[6]! << 8) | msg[7]!;
  if (msg[0] === (family === 4 ? ECHO_REPLY[0] : ECHO_REPLY[1]))
    return s === (seq & 0xffff) ? 'reply' : 'ignore';
  return 'other';
}

export class PingProbe implements Probe {
  readonly #target: ProbeTarget;
  readonly #sa: Uint8Array | undefined;
  readonly #buf = new Uint8Array(8 + PAYLOAD_LEN + 64);
  readonly #pending = new PendingReply();

  constructor(target: ProbeTarget) {
    this.#target = target;
    this.#sa = sockaddrOf(target.address, 0, target.family);
  }

  run(timeoutUs: number): Promise<ProbeOutcome> {
    const start = nowUs();
    const t = this.#target;
    return new Promise((resolve) => {
      if (this.#pending.closed) return resolve(down(start, 'closed', 'probe closed'));
      if (!this.#sa) return resolve(down(start, 'local-error', `bad address ${t.address}`));
      const v = t.family === 4 ? '' : 'v6';
      const seq = nextSeq;
      nextSeq = (nextSeq + 1) & 0xffff || 1;
      const req = echoRequest(t.family, seq);
      const fd = sendDatagram(
        t,
        {
          type: SOCK_DGRAM,
          protocol: t.family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6,
          noBind: true,
          recvErr: true,
        },
        this.#sa,
        req,
      );
      if (typeof fd !== 'number') {
        if (fd.step === 'open') {
          const hint = fd.errno === 'EACCES' ? ' (this group is outside net.ipv4.ping_group_range)' : '';
          return resolve(down(start, 'local-error', `ICMP${v} ${fd.op} failed: ${fd.errno}${hint}`));
        }
        const code = typeof fd.error === 'string' ? connectCode(fd.error) : 'local-error';
        return resolve(down(start, code, `ICMP${v} echo to ${t.address} not sent: ${fd.error}`));
      }
      this.#pending.wait(
        fd,
        this.#buf,
        ms(timeoutUs),
        {
          datagram: (n) => {
            const kind = classifyReply(t.family, this.#buf.subarray(0, n), seq);
            if (kind === 'reply') return up(start);
            if (kind === 'other')
              return down(
                start,
                'icmp-type',
                `ICMP${v} check of ${t.address}: got ICMP type ${this.#buf[0]}`,
              );
            return undefined;
          },
          error: (n) =>
            down(start, connectCode(n, true), `ICMP${v} check of ${t.address}: ${n} (ICMP error)`),
          timeout: () =>
            down(start, 'timeout', `ICMP${v} check of ${t.address}: no echo reply within the timeout`),
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

const RANGE_PATH = '/proc/sys/net/ipv4/ping_group_range';

/**
 * What keepalived's checker does at start when PING_CHECKs exist: make net.ipv4.ping_group_range (of the
 * current network namespace) start at gid 0, keeping its upper bound, so that ICMP datagram sockets may be
 * opened. Returns a function that puts the old lower bound back (keepalived does so at exit), or an error.
 * Synchronous on purpose: /proc/sys/net is read in the namespace of the calling thread.
 */
export function widenPingGroupRange(): { ok: true; restore: () => void } | { ok: false; error: string } {
  try {
    const m = /^(\d+)\s+(\d+)\s*$/.exec(readFileSync(RANGE_PATH, 'utf8'));
    if (!m) return { ok: false, error: `${RANGE_PATH}: unexpected contents` };
    const [low, high] = [m[1]!, m[2]!];
    if (low === '0') return { ok: true, restore: () => {} };
    writeFileSync(RANGE_PATH, `0\t${high}\n`);
    return {
      ok: true,
      restore: () => {
        try {
          writeFileSync(RANGE_PATH, `${low}\t${high}\n`);
        } catch {
          // best effort, as keepalived
        }
      },
    };
  } catch (e) {
    return { ok: false, error: `${RANGE_PATH}: ${(e as Error).message}` };
  }
}
