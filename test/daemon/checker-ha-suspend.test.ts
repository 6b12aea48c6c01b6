// ha_suspend through the channel between the two processes: the checker of a director that is VRRP backup
// for the virtual server's address does not probe; when that director becomes master, its checker hears it
// from the VRRP process and starts probing. Counted at the real server, by the source of each connection.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { RouterLabs } from '../helpers/router-lab.js';
import { vrrpInstanceConf } from './conf.js';
import { needsRoot, Router } from './router.js';

const skip = needsRoot();
const labs = new RouterLabs();

const conf = (priority: number) => `${vrrpInstanceConf({ vrid: 81, priority })}virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  ha_suspend
  real_server 192.0.2.50 8080 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;

test('ha_suspend: only the master probes; the backup starts when it takes over', {
  skip,
  timeout: 60_000,
}, async () => {
  const { a, b, rs } = labs.open('hasus', { a: '192.0.2.1/24', b: '192.0.2.2/24', rs: '192.0.2.50/24' });
  // The real server: a TCP listener printing each connection's source address.
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      rs,
      process.execPath,
      '-e',
      `require('node:net').createServer((s) => { console.log(s.remoteAddress); s.end(); }).listen(8080, () => console.log('ready'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  labs.procs.push(server);
  const from: string[] = [];
  let partial = '';
  await new Promise<void>((res) =>
    server.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines)
        if (l === 'ready') res();
        else from.push(l.replace(/^::ffff:/, ''));
    }),
  );
  const ra = new Router('a', a, conf(200));
  const rb = new Router('b', b, conf(100));
  await ra.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await rb.waitFor(/\(VI_1\) Entering BACKUP STATE/, 10_000);
  // Two probes from the master (its checker process starts after the daemon: seconds on a loaded machine).
  const probes = async (addr: string, since: number, what: string) => {
    const until = Date.now() + 12_000;
    while (from.slice(since).filter((x) => x === addr).length < 2 && Date.now() < until)
      await new Promise((res) => setTimeout(res, 100));
    assert.ok(
      from.slice(since).filter((x) => x === addr).length >= 2,
      `${what}: ${from.slice(since).join(' ')}`,
    );
  };
  await probes('192.0.2.1', 0, `the master probes\n${ra.log()}`);
  assert.equal(from.filter((x) => x === '192.0.2.2').length, 0, `the backup does not: ${from.join(' ')}`);
  // The master goes; the backup takes over and its checker starts.
  const mark = from.length;
  assert.equal(await ra.stop('SIGTERM', 10_000), 0);
  await rb.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await probes('192.0.2.2', mark, `the new master probes\n${rb.log()}`);
  assert.equal(await rb.stop('SIGTERM', 10_000), 0);
});
