// More instances than 256, each alone on its link so each becomes MASTER: every VIP is set at once. The
// rtnetlink notifications of ~260 address changes overran the monitor socket's receive buffer, and the
// `netlink` package's native socket then aborted the process from inside its poll callback, leaving every
// VIP on the interfaces (the crash above 256 instances). Now: all MASTER, still running, every VIP set,
// and all removed on SIGTERM.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { killAllRouters, needsRoot, Router } from './router.js';

const skip = needsRoot();
const PER_LINK = 130;
const cleanups: (() => void)[] = [];

after(() => {
  killAllRouters();
  for (const c of cleanups) c();
});

function conf(): string {
  let text = '';
  let k = 0;
  for (const [dev, net] of [
    ['eth0', '198.51.100'],
    ['eth1', '192.0.2'],
  ] as const) {
    for (let vrid = 1; vrid <= PER_LINK; vrid++) {
      k++;
      text += `vrrp_instance VI_${k} {
  interface ${dev}
  state BACKUP
  virtual_router_id ${vrid}
  version 3
  priority 100
  advert_int 0.5
  virtual_ipaddress { ${net}.${vrid}/32 }
}
`;
    }
  }
  return text;
}

const vipCount = (ns: string) =>
  ip('-n', ns, '-o', 'addr', 'show')
    .split('\n')
    .filter((l) => / inet \S+\/32 /.test(l)).length;

test(`${2 * PER_LINK} instances on two links all become MASTER, keep running, and release on stop`, {
  skip,
  timeout: 60_000,
}, async () => {
  const ns = createNetns('many');
  const peers = createNetns('manyp');
  cleanups.push(
    () => deleteNetns(ns),
    () => deleteNetns(peers),
  );
  for (const [dev, own] of [
    ['eth0', '198.51.100.250/24'],
    ['eth1', '192.0.2.250/24'],
  ] as const) {
    ip('-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`, 'netns', peers);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', peers, 'link', 'set', `${dev}p`, 'up');
    ip('-n', ns, 'addr', 'add', own, 'dev', dev);
  }
  const r = new Router('many', ns, conf());
  const total = 2 * PER_LINK;
  await r.waitFor(new RegExp(`\\(VI_${total}\\) Entering MASTER STATE`), 30_000);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  // Two more seconds of running as master of all (adverts every 0.5 s).
  await new Promise((res) => setTimeout(res, 2000));
  assert.equal(r.running, true, `the daemon is still running\n${r.log().slice(-3000)}`);
  assert.equal(r.grep(/Entering MASTER STATE/).length, total);
  assert.equal(vipCount(ns), total, 'every VIP set');
  assert.equal(await r.stop('SIGTERM', 10_000), 0);
  assert.equal(vipCount(ns), 0, 'every VIP removed on stop');
});
