// The probes' shared epoll reactor (reactor.ts), on datagram sockets of a namespace of the test's own: a
// watched socket hears its readiness; a forgotten one (closed, or still open but forgotten) hears nothing more;
// a registration made again for the same fd number reaches only its new target (the token check); the
// reactor's handle does not outlive its last socket (the test process exits).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  closeFd,
  connectFd,
  openSocket,
  recvFd,
  sendFd,
  sockaddrOf,
} from '../../../src/check/probes/native-socket.js';
import { EPOLLIN, probeReactor } from '../../../src/check/probes/reactor.js';
import { SOCK_DGRAM } from '../../../src/net/libc.js';
import { canUseNetns, enterLab, type NetnsLab } from './lab.js';

const skip = canUseNetns() ? false : 'needs root for network namespaces';
const PORT = 47001;

function udp(bindPort?: number): number {
  const o = openSocket(
    { address: '127.0.0.1', port: PORT, family: 4, ...(bindPort ? { bindTo: '127.0.0.1', bindPort } : {}) },
    { type: SOCK_DGRAM },
  );
  assert.ok('fd' in o, JSON.stringify(o));
  return o.fd;
}

/** Event-loop turns until `f()` holds (or 2 s): timers run before the I/O poll, so a fixed sleep can end
 * before a loaded machine's poll phase has seen an event. */
async function until(f: () => boolean): Promise<void> {
  const t0 = performance.now();
  while (!f() && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
}
/** A few full event-loop turns (each setImmediate runs after that turn's I/O poll). */
async function turns(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('probe reactor', { skip }, () => {
  let lab: NetnsLab;
  before(() => {
    lab = enterLab('preact');
  });
  after(() => lab?.leave());

  it('delivers readiness to the watching target only, until forgotten', async () => {
    const r = probeReactor();
    const rx = udp(PORT);
    const tx = udp();
    assert.equal(connectFd(tx, sockaddrOf('127.0.0.1', PORT, 4)!), 0);
    const seen: string[] = [];
    const drain = (name: string, fd: number) => ({
      onFdReady(ev: number) {
        assert.ok(ev & EPOLLIN);
        seen.push(name);
        // Level-triggered: read the datagram or the event comes back.
        while (typeof recvFd(fd, new Uint8Array(64)) === 'number') {}
      },
    });
    assert.equal(r.watch(rx, EPOLLIN, drain('first', rx)), 0);
    assert.equal(r.size, 1);
    assert.equal(sendFd(tx, new Uint8Array([1])), 1);
    await until(() => seen.length > 0);
    assert.deepEqual(seen, ['first']);
    // Forgotten while still open (as when a forked child holds a copy): no more events reach anyone.
    r.forget(rx);
    assert.equal(r.size, 0);
    sendFd(tx, new Uint8Array([2]));
    await turns();
    assert.deepEqual(seen, ['first']);
    // Watched again (a new token): only the new target hears; the old registration's events are dropped.
    r.release(rx); // not registered any more: a no-op
    closeFd(rx);
    const rx2 = udp(PORT);
    assert.equal(r.watch(rx2, EPOLLIN, drain('second', rx2)), 0);
    sendFd(tx, new Uint8Array([3]));
    await until(() => seen.length > 1);
    await turns();
    assert.deepEqual(seen, ['first', 'second']);
    r.forget(rx2);
    closeFd(rx2);
    closeFd(tx);
    assert.equal(r.size, 0);
  });
});
