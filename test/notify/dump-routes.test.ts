// Routes and rules as keepalived 2.2.7's data dump writes them (src/notify/dump-routes.ts). The expected lines
// are the real 2.2.7's, from its dumps of keepalived's samples keepalived.conf.vrrp.routes / .rules (addresses
// moved into the documentation ranges) and of the data-dump test's 'vmac, routes, rules …' case; the iif and
// fwmark rules follow the word order docs/notify-data-dump.md gives (not seen in a real dump yet).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Diagnostics } from '../../src/config/diagnostics.js';
import type { RouteConfig, RuleConfig } from '../../src/config/model.js';
import { parseRouteLine, parseRuleLine } from '../../src/config/route-words.js';
import { dumpRoute, dumpRule } from '../../src/notify/dump-routes.js';

const pos = { file: 'keepalived.conf', line: 1 };
/** The line as the configuration reads it. */
const route = (line: string): RouteConfig =>
  parseRouteLine(line.split(/\s+/), pos, { diag: new Diagnostics() })!;
const rule = (line: string): RuleConfig =>
  parseRuleLine(line.split(/\s+/), pos, { diag: new Diagnostics() })!;

test('routes: keepalived 2.2.7 words and order, tracked ones with their output interface', () => {
  const cases: [string, string, string | null][] = [
    [
      'src 198.51.100.10 198.51.100.11/24 via 198.51.100.12 dev eth0',
      'prepend 198.51.100.11/24 src 198.51.100.10 via inet 198.51.100.12 dev eth0 proto 18',
      'eth0',
    ],
    ['198.51.100.15/24 dev eth3 scope site', 'prepend 198.51.100.15/24 dev eth3 proto 18 scope 200', 'eth3'],
    ['198.51.100.16/24 dev eth1 scope link', 'prepend 198.51.100.16/24 dev eth1 proto 18 scope 253', 'eth1'],
    // No output interface: 2.2.7 cannot track it ("not tracking").
    [
      '198.51.100.23/24 via 198.51.100.24',
      'prepend 198.51.100.23/24 via inet 198.51.100.24 proto 18 no_track',
      null,
    ],
    [
      '198.51.100.25/24 via 198.51.100.26 or 198.51.100.27',
      'prepend 198.51.100.25/24 proto 18 nexthop via inet 198.51.100.26 nexthop via inet 198.51.100.27 no_track',
      null,
    ],
    ['blackhole 198.51.100.28/32', 'add blackhole 198.51.100.28 proto 18 no_track', null],
    [
      '0.0.0.0/0 gw 198.51.100.29 table 100',
      'prepend 0.0.0.0/0 via inet 198.51.100.29 table 100 proto 18 no_track',
      null,
    ],
    ['192.0.2.200/32 dev eth1 table 200', 'prepend 192.0.2.200 dev eth1 table 200 proto 18', 'eth1'],
    [
      '192.0.2.128/25 via 192.0.2.254 dev eth0 no_track',
      'prepend 192.0.2.128/25 via inet 192.0.2.254 dev eth0 no_track',
      null,
    ],
  ];
  for (const [line, text, tracks] of cases) assert.deepEqual(dumpRoute(route(line)), { text, tracks }, line);
});

test('rules: from/to, the preference, tos, protocol 18 while tracked, the action', () => {
  assert.deepEqual(dumpRule(rule('from 198.51.100.10/24 table 1 priority 16384')), {
    text: 'from 198.51.100.10/24 priority 16384 tos 0x0 protocol 18 lookup 1',
    tracks: null,
  });
  assert.deepEqual(dumpRule(rule('to 198.51.100.0/24 table 101 priority 50')), {
    text: 'from all to 198.51.100.0/24 priority 50 tos 0x0 protocol 18 lookup 101',
    tracks: null,
  });
  assert.deepEqual(dumpRule(rule('iif eth1 table 7 priority 9')), {
    text: 'from all priority 9 tos 0x0 iif eth1 protocol 18 lookup 7',
    tracks: 'eth1',
  });
  assert.deepEqual(dumpRule(rule('fwmark 3 table 7 priority 9 no_track')), {
    text: 'from all priority 9 tos 0x0 fwmark 0x3 lookup 7 no_track',
    tracks: null,
  });
  assert.equal(dumpRule(rule('from 192.0.2.1 priority 9')), null, 'a rule without an action is dropped');
});
