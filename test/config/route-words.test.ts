// virtual_routes / virtual_rules / static_routes / static_rules: the words the daemon programs, typed by the
// configuration layer (src/config/route-words.ts), and the located note for a line it cannot program.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { routeOfWords, ruleOfWords } from '../../src/config/route-words.js';
import { validateConfig } from '../../src/config/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-routes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('ip route words', () => {
  assert.deepEqual(routeOfWords(['198.51.100.0/24', 'via', '192.0.2.254', 'dev', 'eth0', 'metric', '5']), {
    ok: true,
    value: { family: 4, dst: '198.51.100.0', dstLen: 24, gateway: '192.0.2.254', dev: 'eth0', metric: 5 },
  });
  assert.deepEqual(routeOfWords(['blackhole', '198.51.100.128/25', 'table', '100']), {
    ok: true,
    value: { family: 4, type: 'blackhole', dst: '198.51.100.128', dstLen: 25, table: 100 },
  });
  assert.deepEqual(routeOfWords(['src', '192.0.2.100', 'default', 'via', '192.0.2.254']), {
    ok: true,
    value: { family: 4, prefsrc: '192.0.2.100', gateway: '192.0.2.254' },
  });
  assert.deepEqual(routeOfWords(['2001:db8:1::/48', 'dev', 'eth0', 'scope', 'link', 'no_track']), {
    ok: true,
    value: { family: 6, dst: '2001:db8:1::', dstLen: 48, dev: 'eth0', scope: 'link' },
  });
  // No address on the line: the family is left to the instance.
  assert.deepEqual(routeOfWords(['default', 'dev', 'eth0', 'table', 'main']), {
    ok: true,
    value: { dev: 'eth0', table: 254 },
  });
  assert.deepEqual(routeOfWords(['198.51.100.0/24', 'realms', '3']), {
    ok: false,
    error: "unsupported word 'realms'",
  });
  // A word keepalived refuses: its message.
  assert.deepEqual(routeOfWords(['198.51.100.0/24', 'realm', '3']), {
    ok: false,
    error: 'unknown route keyword realm',
  });
  assert.equal(routeOfWords(['via', '192.0.2.1']).ok, false, 'no destination');
  assert.equal(routeOfWords(['198.51.100.0/24', 'table', 'no-such-table']).ok, false);
});

test('ip rule words', () => {
  assert.deepEqual(ruleOfWords(['from', '192.0.2.100', 'table', '100', 'priority', '1000']), {
    ok: true,
    value: { family: 4, from: '192.0.2.100', table: 100, priority: 1000 },
  });
  assert.deepEqual(ruleOfWords(['to', '198.51.100.0/24', 'lookup', 'main', 'fwmark', '0x10']), {
    ok: true,
    value: { family: 4, to: '198.51.100.0', toLen: 24, table: 254, fwmark: 16 },
  });
  // A mark with a mask is not programmed (it would have been read as the mark alone).
  assert.deepEqual(ruleOfWords(['fwmark', '0x1/0xff', 'table', '100']), {
    ok: false,
    error: 'fwmark 0x1/0xff is not a number',
  });
  assert.equal(ruleOfWords(['fwmark', '0x1g', 'table', '100']).ok, false);
  assert.equal(ruleOfWords(['from', '192.0.2.1']).ok, false, 'no table');
  assert.equal(ruleOfWords(['from', '192.0.2.1', 'table', '1', 'nat', 'x']).ok, false);
});

test('the model carries typed routes and rules; a line the daemon cannot program is noted where it is', () => {
  const file = join(dir, 'routes.conf');
  writeFileSync(
    file,
    `static_routes {
  198.51.100.0/25 via 192.0.2.254 dev eth0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 192.0.2.100/24 }
  virtual_routes {
    198.51.100.128/25 dev eth0 no_track
    198.51.100.0/24 via 192.0.2.254 mtu 1400
  }
  virtual_rules {
    from 192.0.2.100 table 100
  }
}
`,
  );
  const { config, diag } = loadConfig(file, { configId: 'x', env: {} });
  validateConfig(config, diag, { host: null });
  assert.deepEqual(config.staticRoutes[0]!.route, {
    family: 4,
    dst: '198.51.100.0',
    dstLen: 25,
    gateway: '192.0.2.254',
    dev: 'eth0',
  });
  const [tracked, unsupported] = config.vrrpInstances[0]!.virtualRoutes;
  assert.deepEqual(tracked!.route, { family: 4, dst: '198.51.100.128', dstLen: 25, dev: 'eth0' });
  assert.equal(unsupported!.route, undefined);
  // keepalived numbers a rule without a preference from 16384 down (and warns): the typed rule has it too.
  assert.deepEqual(config.vrrpInstances[0]!.virtualRules[0]!.rule, {
    family: 4,
    from: '192.0.2.100',
    table: 100,
    priority: 16384,
  });
  const notes = diag.list.filter((d) => d.code === 'CONFIG_NOT_RUN');
  assert.deepEqual(notes, [
    {
      code: 'CONFIG_NOT_RUN',
      severity: 'info',
      message:
        "route '198.51.100.0/24 via 192.0.2.254 mtu 1400' is parsed but not installed: unsupported word 'mtu'",
      pos: { file, line: 10 },
    },
  ]);
  // A note is ours alone: it does not change what keepalived's -t would answer.
  assert.equal(diag.exitCode(), 5, 'the rule without a preference is warned about, as keepalived does');
});
