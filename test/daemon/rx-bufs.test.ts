// The VRRP socket's receive buffer under vrrp_rx_bufs_policy, vrrp_rx_bufs_multiplier and kernel_rx_buf_size,
// read from the running daemon's sockets (test/helpers/socket-buffers.ts: this kernel has no raw_diag, so
// `ss -m` cannot show it) for keepalived-ts and the reference keepalived 2.2.7 on the same configurations: at
// start, after each reload, and after an MTU change. Two instances share the socket on eth0, so each size is
// the sum of two shares (docs/linux-sockets.md, 'Receive buffers'). 2.2.7 also holds a send-only socket
// whose buffer it shrinks; the largest raw buffer is therefore its receiving socket's, as ours is our only one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ip, loneRouterNetns } from '../helpers/netns.js';
import { rawSocketBuffers } from '../helpers/socket-buffers.js';
import { type Impl, implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, waitUntil } from './router.js';

const cleanups = cleanupAfter();

function conf(globals: string, extraA = ''): string {
  return `global_defs {
${globals}
}
${vrrpInstanceConf({ name: 'VI_1', vrid: 51, priority: 150, extra: extraA })}
${vrrpInstanceConf({ name: 'VI_2', vrid: 52, priority: 150, vips: ['192.0.2.101/24'] })}`;
}

/**
 * Each step: a configuration (loaded by a reload after the first) or an MTU change, and the buffer the
 * kernel then reports (getsockopt: what was asked for, capped at rmem_max, doubled; 2304 at least).
 */
const STEPS: { label: string; conf?: string; mtu?: number; rcvbuf: number | 'default' }[] = [
  { label: 'no keyword: the kernel default (rmem_default)', conf: conf(''), rcvbuf: 'default' },
  // 2 × 3 × 1500
  { label: 'MTU', conf: conf('  vrrp_rx_bufs_policy MTU'), rcvbuf: 2 * 2 * 3 * 1500 },
  // 2 × 3 × 9000: the socket is sized again when the MTU changes
  { label: 'MTU, eth0 at MTU 9000', mtu: 9000, rcvbuf: 2 * 2 * 3 * 9000 },
  { label: 'back at MTU 1500', mtu: 1500, rcvbuf: 2 * 2 * 3 * 1500 },
  // VRRPv3 IPv4 with one address: 8 + 4 + a 20-byte IP header = 32 bytes; 2 × 100 × 32
  {
    label: 'ADVERT, multiplier 100',
    conf: conf('  vrrp_rx_bufs_policy ADVERT\n  vrrp_rx_bufs_multiplier 100'),
    rcvbuf: 2 * 2 * 100 * 32,
  },
  // 2 × 5000
  { label: 'a size', conf: conf('  vrrp_rx_bufs_policy 5000'), rcvbuf: 2 * 2 * 5000 },
  // 40000 + 3 × 1500 for the instance without kernel_rx_buf_size
  {
    label: 'kernel_rx_buf_size on one instance, MTU for the other',
    conf: conf('  vrrp_rx_bufs_policy MTU', 'kernel_rx_buf_size 40000'),
    rcvbuf: 2 * (40000 + 3 * 1500),
  },
  // Without a policy the other instance adds nothing.
  {
    label: 'kernel_rx_buf_size alone',
    conf: conf('', 'kernel_rx_buf_size 40000'),
    rcvbuf: 2 * 40000,
  },
  { label: 'no keyword again: the default', conf: conf(''), rcvbuf: 'default' },
];

/** The largest raw socket receive buffer of the daemon's processes in `ns`. */
function rcvbufIn(ns: string): number {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).trim().split('\n').map(Number);
  const sizes = pids.flatMap((pid) => {
    try {
      return rawSocketBuffers(pid).map((s) => s.rcvbuf);
    } catch {
      return []; // a script or a process gone meanwhile
    }
  });
  return Math.max(0, ...sizes);
}

const seen: Partial<Record<Impl, number[]>> = {};

for (const impl of ['ts', 'ka'] as const) {
  describe(`VRRP socket receive buffers (${implName(impl)})`, { skip: implSkip(impl) }, () => {
    test('each policy, a multiplier, kernel_rx_buf_size, reloads and an MTU change', {
      timeout: 90_000,
    }, async () => {
      const h = loneRouterNetns(`rxb${impl}`, cleanups);
      cleanups.push(() => killProcessesIn(h.ns));
      const rmemDefault = Number(
        execFileSync('ip', ['netns', 'exec', h.ns, 'cat', '/proc/sys/net/core/rmem_default'], {
          encoding: 'utf8',
        }).trim(),
      );
      const r = startPeer(impl, `rxb${impl}r`, h.ns, STEPS[0]!.conf!);
      cleanups.push(() => r.removeDir());
      await r.waitFor(/\(VI_2\) Entering (MASTER|BACKUP) STATE/, 8000);
      const got: number[] = [];
      for (const [n, step] of STEPS.entries()) {
        if (n > 0 && step.conf !== undefined) {
          writeFileSync(r.conf, step.conf);
          const m = r.mark();
          r.proc.kill('SIGHUP');
          await r.waitFor(/Reload (finished|complete)/, 8000, m);
        }
        if (step.mtu !== undefined) ip('-n', h.ns, 'link', 'set', 'eth0', 'mtu', String(step.mtu));
        const want = step.rcvbuf === 'default' ? rmemDefault : step.rcvbuf;
        // A reload's sockets, or the MTU event, may take a moment.
        await waitUntil(() => rcvbufIn(h.ns) === want, 5000, `${step.label}: rcvbuf ${want}`, 100).catch(
          () => {},
        );
        const size = rcvbufIn(h.ns);
        assert.equal(size, want, `${step.label}: ${size}, want ${want}`);
        got.push(size);
      }
      seen[impl] = got;
      await r.stop('SIGTERM', 8000);
    });
  });
}

describe('side by side', () => {
  test('keepalived-ts asks for the same buffers as 2.2.7', (t) => {
    if (!seen.ts || !seen.ka) return t.skip('needs both runs');
    assert.deepEqual(seen.ts, seen.ka);
  });
});
