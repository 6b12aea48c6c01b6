// vrrp_garp_interval: a new master's gratuitous ARPs leave at least the interval apart (seen by tcpdump on
// another host of the LAN).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { test } from 'node:test';
import { emptyConfig } from '../../src/config/model.js';
import { announcePacing } from '../../src/daemon/engine-plan/statics.js';
import { openLan } from '../helpers/router-lab.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, needsRoot, Router, waitUntil } from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

test('pacing: global intervals, garp_group overrides per interface', () => {
  const cfg = emptyConfig();
  cfg.globalDefs.vrrpGarpIntervalUs = 1000;
  cfg.garpGroups.push({ pos: { file: 'x', line: 1 }, gnaIntervalUs: 5000, interfaces: ['eth1'] });
  const p = announcePacing(cfg);
  assert.equal(p.garpIntervalUs, 1000);
  assert.equal(p.gnaIntervalUs, 0);
  assert.deepEqual(p.perInterface?.get('eth1'), { gnaIntervalUs: 5000 });
});

test('gratuitous ARPs are spaced by vrrp_garp_interval', { skip, timeout: 20_000 }, async () => {
  const { lab, ns } = openLan('dgp', { r1: '192.0.2.1/24', c: null });
  cleanups.push(() => lab.close());
  const { r1: ns1, c: client } = ns;
  const stamps: number[] = [];
  let ready = false;
  const dump: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', client, 'tcpdump', '-l', '-n', '-tt', '-i', 'eth0', 'arp'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanups.push(() => dump.kill('SIGKILL'));
  dump.stderr?.on('data', (b: Buffer) => {
    if (b.toString().includes('listening on')) ready = true;
  });
  dump.stdout?.on('data', (b: Buffer) => {
    for (const line of b.toString().split('\n')) {
      // A GARP: sender = target = the VIP (tcpdump prints the broadcast target MAC in parentheses).
      const m = /^(\d+\.\d+) ARP, Request who-has 192\.0\.2\.100 (?:\([^)]*\) )?tell 192\.0\.2\.100,/.exec(
        line,
      );
      if (m?.[1]) stamps.push(Number(m[1]) * 1000);
    }
  });
  await waitUntil(() => ready, 5000, 'tcpdump listening');
  const r = new Router(
    'gp',
    ns1,
    `
global_defs {
  vrrp_garp_interval 0.05
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 4
}
${vrrpInstanceConf()}`,
  );
  cleanups.push(() => r.removeDir());
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await waitUntil(() => stamps.length >= 4, 3000, '4 gratuitous ARPs');
  const gaps = stamps.slice(1, 4).map((t, k) => t - stamps[k]!);
  for (const g of gaps) assert.ok(g >= 45, `gaps ${gaps.map((x) => x.toFixed(1)).join(', ')} ms`);
});
