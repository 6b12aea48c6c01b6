// virtual_routes / virtual_rules: a master installing and removing them (the words: test/config/route-words).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ip } from '../helpers/netns.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, loneRouter, needsRoot, waitUntil } from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

test('a master installs its virtual routes and rules and removes them on stop', {
  skip,
  timeout: 20_000,
}, async () => {
  const { ns, r } = loneRouter(
    'drt',
    'rt',
    vrrpInstanceConf({
      extra: `virtual_routes {
    198.51.100.0/25 via 192.0.2.254 dev eth0
    blackhole 198.51.100.128/25 table 100
  }
  virtual_rules {
    from 192.0.2.100 table 100 priority 1000
  }`,
    }),
    cleanups,
  );
  const routes = () => ip('-n', ns, 'route', 'show', '198.51.100.0/25');
  const table100 = () => ip('-n', ns, 'route', 'show', 'table', '100');
  const rules = () => ip('-n', ns, 'rule', 'show');
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await waitUntil(
    () =>
      /via 192\.0\.2\.254 dev eth0/.test(routes()) &&
      /blackhole 198\.51\.100\.128\/25/.test(table100()) &&
      /^1000:\s+from 192\.0\.2\.100 lookup 100/m.test(rules()),
    2000,
    'routes and rule installed',
  );
  assert.equal(r.grep(/ERROR/).length, 0, r.log());
  assert.equal(await r.stop(), 0);
  assert.equal(routes().trim(), '');
  assert.equal(table100().trim(), '');
  assert.doesNotMatch(rules(), /from 192\.0\.2\.100/);
});

test('static addresses and routes: installed at startup, re-added when deleted, removed on stop', {
  skip,
  timeout: 20_000,
}, async () => {
  const { ns, r } = loneRouter(
    'dst',
    'st',
    `
static_ipaddress {
  192.0.2.50/24 dev eth0
}
static_routes {
  198.51.100.0/25 via 192.0.2.254 dev eth0
}
${vrrpInstanceConf()}`,
    cleanups,
  );
  const addrs = () => ip('-n', ns, '-o', 'addr', 'show', 'dev', 'eth0');
  const route = () => ip('-n', ns, 'route', 'show', '198.51.100.0/25');
  await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
  await waitUntil(
    () => /inet 192\.0\.2\.50\/24/.test(addrs()) && /via 192\.0\.2\.254/.test(route()),
    2000,
    'statics',
  );
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000);
  const m = r.mark();
  ip('-n', ns, 'addr', 'del', '192.0.2.50/24', 'dev', 'eth0');
  await r.waitFor(/static address 192\.0\.2\.50 deleted - re-adding/, 2000, m);
  await waitUntil(() => /inet 192\.0\.2\.50\/24/.test(addrs()), 2000, 'static address back');
  assert.equal(r.grep(/Entering/, m).length, 0, 'a static address is not a VIP: no state change');
  assert.equal(await r.stop(), 0);
  assert.doesNotMatch(addrs(), /192\.0\.2\.50/);
  assert.equal(route().trim(), '');
});
