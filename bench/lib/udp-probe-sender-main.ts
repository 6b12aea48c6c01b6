// The probe sender of udp-probe.ts, run in the lab's client namespace:
//   node --import tsx bench/lib/udp-probe-sender-main.ts <target IPv4> <port> <interval µs>
// It sends a numbered datagram to target:port on a fixed CLOCK_MONOTONIC grid, whether or not earlier ones
// were answered, and reports each answered probe as a line "seq sentWallMs lateUs from" (sentWallMs: wall
// clock of the send, sub-ms; lateUs: how far after its grid point the probe left, the sender's own delay).
// "ready" once the socket is bound.
//
// Why a timerfd and not setTimeout: libuv timers have whole-ms resolution and round the wait up, so on a
// 1 ms grid each probe could leave a millisecond or more past its point, and each end of a measured outage
// carried that much of the sender's own noise; on the timerfd, a median 89 µs (idle machine, measured). Why batched output: a line per reply woke the benchmark process 1000 times a second on the
// same two cores as the routers under test; every 20 ms is enough for anyone waiting on replies.
import dgram from 'node:dgram';
import { monotonicUs } from '../../src/common/clock.js';
import { Timerfd } from '../../src/net/timerfd.js';

const FLUSH_EVERY_MS = 20;
/** Unanswered probes remembered at most (a long outage at 1 ms: 100 s). */
const MAX_PENDING = 100_000;

function main(): void {
  const [target, portArg, intervalArg] = process.argv.slice(2);
  const port = Number(portArg);
  const intervalUs = Number(intervalArg);
  if (!target || !(port > 0) || !(intervalUs >= 100))
    throw new Error('usage: udp-probe-sender-main.ts <target> <port> <interval µs ≥ 100>');
  // Wall clock = monotonic + offset, fixed at start: the benchmark compares send times with tcpdump's and
  // its own wall-clock times; slewing over one run is far below the µs.
  const wallOffsetMs = performance.timeOrigin + performance.now() - monotonicUs() / 1000;
  const sock = dgram.createSocket('udp4');
  const sent = new Map<number, { atUs: number; lateUs: number }>();
  let out: string[] = [];
  sock.on('message', (m) => {
    const text = m.toString();
    const space = text.indexOf(' ');
    const seq = Number(space < 0 ? text : text.slice(0, space));
    const s = sent.get(seq);
    if (!s) return;
    sent.delete(seq);
    const from = space < 0 ? '?' : text.slice(space + 1);
    out.push(`${seq} ${(s.atUs / 1000 + wallOffsetMs).toFixed(3)} ${s.lateUs} ${from}`);
  });
  sock.on('error', () => {});
  setInterval(() => {
    if (out.length === 0) return;
    process.stdout.write(`${out.join('\n')}\n`);
    out = [];
  }, FLUSH_EVERY_MS);

  let seq = 0;
  let gridIndex = 0;
  let startUs = 0;
  const timer = new Timerfd(() => tick());
  const tick = () => {
    const nowUs = monotonicUs();
    const lateUs = nowUs - (startUs + gridIndex * intervalUs);
    sent.set(seq, { atUs: nowUs, lateUs });
    sock.send(String(seq++), port, target);
    if (sent.size > MAX_PENDING) for (const k of [...sent.keys()].slice(0, MAX_PENDING / 2)) sent.delete(k);
    // One probe per wake: after a late wake the next probe goes on the next grid point still ahead.
    gridIndex = Math.max(gridIndex + 1, Math.floor((monotonicUs() - startUs) / intervalUs) + 1);
    timer.arm(startUs + gridIndex * intervalUs);
  };
  sock.bind(0, () => {
    process.stdout.write('ready\n');
    startUs = monotonicUs() + intervalUs;
    timer.arm(startUs);
  });
}

main();
