// bfd_instance in the typed model: keepalived's defaults, ranges and messages, the instances it drops, and
// track_bfd taking the block's weight.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-bfdcfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function parse(text: string) {
  const file = join(dir, `c${n++}.conf`);
  writeFileSync(file, text);
  const { config, diag } = loadConfig(file, { configId: 'test', env: {} });
  return { config, messages: diag.list.map((d) => d.message) };
}

test('defaults: 10 ms rx/tx, 1 s idle, multiplier 5, TTL 255 for IPv4 and hop limit 64 for IPv6, both processes', () => {
  const { config, messages } = parse(`
bfd_instance a { neighbor_ip 192.0.2.2 }
bfd_instance b { neighbour_ip 2001:db8::2 }
`);
  assert.deepEqual(messages, []);
  const [a, b] = config.bfdInstances;
  assert.equal(a?.neighbor, '192.0.2.2');
  assert.equal(a?.family, 4);
  assert.deepEqual(
    [
      a?.minRxUs,
      a?.minTxUs,
      a?.idleTxUs,
      a?.multiplier,
      a?.ttl,
      a?.maxHops,
      a?.passive,
      a?.toVrrp,
      a?.toChecker,
    ],
    [10_000, 10_000, 1_000_000, 5, 255, 0, false, true, true],
  );
  assert.equal(b?.family, 6);
  assert.equal(b?.ttl, 64);
});

test('values: ms with µs resolution, ranges, max_hops -1, weight reverse, vrrp only', () => {
  const { config, messages } = parse(`
bfd_instance a {
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
  min_rx 3.312
  min_tx 100
  idle_tx 2000
  multiplier 3
  passive
  ttl 250
  max_hops -1
  multihop
  weight -20 reverse
  vrrp
}
bfd_instance bad {
  neighbor_ip 192.0.2.3
  min_rx 0
  idle_tx 999
  multiplier 256
  ttl 0
  max_hops 300
  weight 254
}
`);
  const [a, bad] = config.bfdInstances;
  assert.deepEqual(
    [
      a?.source,
      a?.minRxUs,
      a?.minTxUs,
      a?.idleTxUs,
      a?.multiplier,
      a?.passive,
      a?.ttl,
      a?.maxHops,
      a?.multihop,
    ],
    ['192.0.2.1', 3312, 100_000, 2_000_000, 3, true, 250, 250, true],
  );
  assert.deepEqual([a?.weight, a?.reverse, a?.toVrrp, a?.toChecker], [-20, true, true, false]);
  // Every bad value reported, the default kept.
  assert.deepEqual(
    [bad?.minRxUs, bad?.idleTxUs, bad?.multiplier, bad?.ttl, bad?.maxHops, bad?.weight],
    [10_000, 1_000_000, 5, 255, 0, 0],
  );
  for (const re of [
    /min_rx value 0 is not valid/,
    /idle_tx value 999 is not valid/,
    /multiplier value 256/,
    /ttl\/hoplimit value 0/,
    /max_hops value 300/,
    /weight value 254/,
  ])
    assert.ok(
      messages.some((m) => re.test(m)),
      `${re} in ${messages.join(' | ')}`,
    );
  // max_hops -1 means 255, lowered to the TTL with keepalived's message.
  assert.ok(messages.some((m) => /BFD instance a: max_hops exceeds ttl\/hoplimit/.test(m)));
});

test('instances keepalived drops: no neighbour, mixed families, duplicate addresses, duplicate or long names', () => {
  const { config, messages } = parse(`
bfd_instance none { min_rx 5 }
bfd_instance mixed {
  neighbor_ip 192.0.2.2
  source_ip 2001:db8::1
}
bfd_instance one { neighbor_ip 192.0.2.9 }
bfd_instance two { neighbor_ip 192.0.2.9 }
bfd_instance one { neighbor_ip 192.0.2.10 }
bfd_instance abcdefghijabcdefghijabcdefghijab { neighbor_ip 192.0.2.11 }
`);
  assert.deepEqual(
    config.bfdInstances.map((b) => b.name),
    ['one'],
  );
  for (const re of [
    /BFD instance none has no neighbor address set, disabling instance/,
    /BFD instance mixed source address 2001:db8::1 and neighbor address 192.0.2.2 are not of the same family/,
    /BFD instance two has duplicate neighbor address 192.0.2.9, ignoring instance/,
    /BFD instance one already configured - ignoring/,
    /name too long/,
  ])
    assert.ok(
      messages.some((m) => re.test(m)),
      `${re} in ${messages.join(' | ')}`,
    );
});

test('track_bfd takes the block weight and reverse unless it gives its own; a checker-only or unknown instance is not found', () => {
  const { config, messages } = parse(`
bfd_instance w {
  neighbor_ip 192.0.2.2
  weight 30 reverse
}
bfd_instance c {
  neighbor_ip 192.0.2.3
  checker
}
vrrp_instance V {
  interface eth0
  virtual_router_id 1
  track_bfd {
    w
    c
    nope
  }
}
vrrp_instance W {
  interface eth0
  virtual_router_id 2
  track_bfd {
    w weight -5
  }
}
vrrp_sync_group G {
  group { V W }
  track_bfd { w weight 0 }
}
`);
  const [v, w] = config.vrrpInstances;
  assert.deepEqual(
    v?.trackBfds.map((t) => [t.name, t.weight, t.reverse]),
    [['w', 30, true]],
  );
  assert.deepEqual(
    w?.trackBfds.map((t) => [t.name, t.weight, t.reverse]),
    // keepalived keeps the block's reverse when only the weight is given (noreverse clears it).
    [['w', -5, true]],
  );
  assert.deepEqual(
    config.syncGroups[0]?.trackBfds.map((t) => [t.name, t.weight]),
    [['w', 0]],
  );
  assert.ok(messages.some((m) => /\(V\) track bfd c not found/.test(m)));
  assert.ok(messages.some((m) => /\(V\) track bfd nope not found/.test(m)));
});

test('BFD_CHECK: a name that is not a bfd_instance above reporting to checkers drops the checker, located', () => {
  const { config, messages } = parse(`
bfd_instance bc {
  neighbor_ip 192.0.2.4
  checker
}
bfd_instance bv {
  neighbor_ip 192.0.2.3
  vrrp
}
virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.201 80 {
    BFD_CHECK {
      name nosuch
    }
    BFD_CHECK {
      name bv
    }
    BFD_CHECK {
      name bc
    }
    BFD_CHECK {
    }
  }
}
`);
  assert.deepEqual(messages, [
    '([192.0.2.201]:tcp:80) BFD_CHECK - BFD nosuch not configured',
    '([192.0.2.201]:tcp:80) BFD_CHECK - BFD bv not configured',
    '([192.0.2.201]:tcp:80) No name has been specified for BFD_CHECKER - skipping',
  ]);
  const rs = config.virtualServers[0]?.realServers[0];
  assert.deepEqual(
    rs?.checkers.map((c) => [c.kind, c.name]),
    [['BFD_CHECK', 'bc']],
  );
});
