// A master whose advert timer fires late says so under -D, with the lateness (vrrp-runtime.ts #onTimer):
// when a peer has taken over from a master that was alive, that line tells whether the master was silent.
// The VRRP process is stopped (SIGSTOP) for 400 ms while MASTER of a 0.1 s instance: its next advert timer
// fires about 300 ms late.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';
import { cleanupAfter, Router, sleep } from './router.js';

const cleanups = cleanupAfter();

const CONF = `vrrp_instance VI_1 {
  version 3
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 0.1
  virtual_ipaddress { 192.0.2.100/24 }
}
`;

test('an advert timer that fires late is logged with its lateness; a punctual one is not', {
  skip: isRoot() ? false : 'needs root for network namespaces',
  timeout: 20_000,
}, async () => {
  const ns = loneRouterNetns('dlate', cleanups).ns;
  const r = new Router('late', ns, CONF);
  try {
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    const mark = r.mark();
    await sleep(1000);
    assert.deepEqual(r.grep(/advert timer fired/, mark), [], 'no lateness line while adverts are on time');
    const pid = Number(readFileSync(r.vrrpPidFile, 'utf8').trim());
    process.kill(pid, 'SIGSTOP');
    await sleep(400);
    process.kill(pid, 'SIGCONT');
    const line = await r.waitFor(/\(VI_1\) advert timer fired ([\d.]+) ms late/, 3000, mark);
    const lateMs = Number(/fired ([\d.]+) ms late/.exec(line.text)?.[1]);
    assert.ok(
      lateMs >= 250 && lateMs < 2000,
      `lateness ${lateMs} ms for a 400 ms stop of a 100 ms advert timer`,
    );
  } finally {
    await r.stop('SIGTERM');
    r.removeDir();
  }
});
