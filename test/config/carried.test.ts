// Keywords keepalived-ts accepts for compatibility but does not implement are the only ones kept untyped in a
// block's `other`, and each gets a `note:` line; every keyword the daemon acts on has a typed field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/check/core/resolve.js';
import { compileUrlRegex } from '../../src/check/probes/http-request.js';
import { buildEnginePlan } from '../../src/daemon/engine-plan/build.js';
import { nftSettings } from '../../src/daemon/strict-firewall.js';
import { serviceFromConfig } from '../../src/lvs/from-config.js';
import { configLoader } from '../helpers/config-text.js';

const load = configLoader('kats-carried-');

const INSTANCE = `vrrp_instance A {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    192.0.2.10
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  priority 100
  notify_priority_changes false
  virtual_ipaddress {
    192.0.2.11
  }
}
`;

test('keywords the daemon acts on are typed: nothing lands in `other`, no note', () => {
  const { config, diag } = load(`global_defs {
  checker_log_all_failures
  rs_init_notifies
  use_symlink_paths
  vrrp_notify_priority_changes
  dynamic_interfaces allow_if_changes
  nftables kats
  nftables_priority -7
  nftables_ifindex
  nftables_counters
  umask 022
  vrrp_rx_bufs_policy ADVERT
  vrrp_rx_bufs_multiplier 5
}
${INSTANCE.replace('virtual_router_id 1\n', 'virtual_router_id 1\n  kernel_rx_buf_size 65536\n')}
virtual_server 192.0.2.10 80 {
  protocol UDP
  lb_algo sh
  sh-port
  ops
  weight 7
  real_server 192.0.2.20 80 {
    SSL_GET {
      tls_compliant
      url {
        path /
        regex "o+k"
        regex_options caseless
        regex_min_offset 2
        regex_max_offset 9
        tls_compliant
      }
    }
  }
  real_server 192.0.2.21 80 {
    weight 3
    TCP_CHECK {
    }
  }
}
`);
  assert.deepEqual(
    diag.list.filter((d) => d.code === 'CONFIG_NO_EFFECT'),
    [],
  );
  const g = config.globalDefs;
  assert.deepEqual(g.other, {});
  assert.equal(g.checkerLogAllFailures, true);
  assert.equal(g.rsInitNotifies, true);
  assert.equal(g.useSymlinkPaths, true);
  assert.equal(g.dynamicInterfacesAllowIfChanges, true);
  assert.equal(g.umask, 0o22);
  assert.equal(g.vrrpRxBufsPolicy, 'ADVERT');
  assert.equal(g.vrrpRxBufsMultiplier, 5);
  assert.equal(config.vrrpInstances[0]!.kernelRxBufSize, 65536);
  assert.deepEqual(config.vrrpInstances[0]!.other, {});
  assert.deepEqual(nftSettings(g), { table: 'kats', priority: -7, ifindex: true, counters: true });
  const vs = config.virtualServers[0]!;
  assert.deepEqual(vs.other, {});
  assert.deepEqual(vs.schedulerFlags, ['sh-port', 'ops']);
  const made = serviceFromConfig(config, vs, undefined);
  assert.ok(made.ok);
  assert.equal(made.spec.flags.hashPort, true);
  assert.equal(made.spec.flags.onePacket, true);
  // The virtual server's weight is the default of a real server that sets none.
  assert.deepEqual(
    made.spec.reals.map((r) => r.weight),
    [7, 3],
  );
  const resolved = resolveConfig(config, { shareProbes: true });
  assert.equal(resolved.checkerLogAllFailures, true);
  assert.equal(resolved.rsInitNotifies, true);
  assert.deepEqual(
    resolved.virtualServers[0]!.realServers.map((r) => r.weight),
    [7, 3],
  );
  const ck = vs.realServers[0]!.checkers[0]!;
  assert.equal(ck.tlsCompliant, true);
  assert.deepEqual(ck.other, {});
  const url = ck.urls[0]!;
  assert.equal(url.tlsCompliant, true);
  const re = compileUrlRegex(url);
  assert.ok(re !== undefined && typeof re !== 'string');
  assert.equal(re.re.flags.includes('i'), true);
  assert.equal(re.minOffset, 2);
  assert.equal(re.maxOffset, 9);
});

test('vrrp_notify_priority_changes is the default of every instance that does not set its own', () => {
  for (const [globalLine, want] of [
    ['vrrp_notify_priority_changes', [true, false]],
    ['vrrp_notify_priority_changes false', [false, false]],
    ['', [false, false]],
  ] as const) {
    // After the instances too: keepalived applies it when an instance is complete, after the whole file.
    const { config, diag } = load(`${INSTANCE}global_defs {\n  ${globalLine}\n}\n`);
    assert.deepEqual(
      diag.list.filter((d) => d.severity === 'error'),
      [],
    );
    const p = buildEnginePlan(config, { defaultSource: () => '192.0.2.1' });
    assert.deepEqual(
      p.engine.instances.map((i) => i.notifyPriorityChanges),
      want,
      globalLine,
    );
  }
});

test("a sync group's notify_priority_changes comes before the global default for its members", () => {
  const { config } = load(`global_defs {
  vrrp_notify_priority_changes
}
vrrp_sync_group G {
  group {
    A
    B
  }
  notify_priority_changes false
}
${INSTANCE.replace('vrrp_instance B {', 'vrrp_instance C {\n  interface eth0\n  virtual_router_id 3\n  priority 100\n  virtual_ipaddress {\n    192.0.2.12\n  }\n}\nvrrp_instance B {')}`);
  const p = buildEnginePlan(config, { defaultSource: () => '192.0.2.1' });
  // A: the group's false; B: its own false; C (no group): the global true.
  assert.deepEqual(
    p.engine.instances.map((i) => [i.name, i.notifyPriorityChanges]),
    [
      ['A', false],
      ['C', true],
      ['B', false],
    ],
  );
});

test('a keyword accepted without effect is carried and named on a note line with its place', () => {
  const { config, diag } = load(`global_defs {
  enable_snmp_vrrp
  linkbeat_use_polling
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  priority 100
  use_vmac_addr
  virtual_ipaddress {
    192.0.2.10
  }
}
`);
  const notes = diag.list.filter((d) => d.code === 'CONFIG_NO_EFFECT');
  assert.deepEqual(
    notes.map((d) => [d.severity, d.pos?.line, d.message.split(' ')[0]]),
    [
      ['info', 2, 'enable_snmp_vrrp'],
      ['info', 3, 'linkbeat_use_polling'],
      ['info', 9, 'use_vmac_addr'],
    ],
  );
  assert.match(
    diag.format(notes[0]!),
    /^note: .*c\d+\.conf:2: enable_snmp_vrrp is accepted .* it has no effect; metrics_listen serves .*$/,
  );
  assert.match(notes[1]!.message, /it has no effect$/, 'a hint only where there is an alternative');
  assert.deepEqual(config.globalDefs.other, { enable_snmp_vrrp: [], linkbeat_use_polling: [] });
  assert.equal(diag.exitCode(), 0, 'a note changes no exit code');
});

test('track_src_ip is typed, and tracks the source only of an instance that fixes one', () => {
  const inst = (name: string, vrid: number, lines: string) => `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  priority 100
  ${lines}
  virtual_ipaddress {
    192.0.2.${vrid + 10}
  }
}
`;
  const { config, diag } = load(
    inst('U', 1, 'unicast_src_ip 192.0.2.5\n  unicast_peer {\n    192.0.2.6\n  }\n  track_src_ip') +
      inst('M', 2, 'mcast_src_ip 192.0.2.7\n  track_src_ip') +
      inst('N', 3, 'track_src_ip') +
      inst('F', 4, 'unicast_src_ip 192.0.2.5\n  unicast_peer {\n    192.0.2.6\n  }'),
  );
  assert.deepEqual(diag.list, []);
  assert.deepEqual(
    config.vrrpInstances.map((i) => [i.name, i.trackSrcIp ?? false, i.other]),
    [
      ['U', true, {}],
      ['M', true, {}],
      ['N', true, {}],
      ['F', false, {}],
    ],
  );
  // keepalived clears the flag where the source is the interface's (N); F does not ask for it.
  const p = buildEnginePlan(config, { defaultSource: () => '192.0.2.1' });
  assert.deepEqual(
    ['U', 'M', 'N', 'F'].map((n) => p.wiring.get(n)?.trackedSource),
    [{ address: '192.0.2.5', ifname: 'eth0' }, { address: '192.0.2.7', ifname: 'eth0' }, null, null],
  );
});

test('virtual_server weight is range-checked as keepalived 2.2.7 does', () => {
  for (const [line, ok] of [
    ['weight 0', false],
    ['weight abc', false],
    ['weight 65535', true],
  ] as const) {
    const { config, diag } = load(
      `virtual_server 192.0.2.10 80 {\n  protocol TCP\n  ${line}\n  real_server 192.0.2.20 80 {\n  }\n}\n`,
    );
    const errs = diag.list.filter((d) => d.pos?.line === 3);
    assert.equal(errs.length === 0, ok, `${line}: ${errs.map((d) => d.message)}`);
    // the number reader's line, then the keyword's (keepalived 2.2.7 prints both)
    if (!ok) assert.match(errs[1]!.message, /^Virtual server weight .* is outside range 1-2147483647$/);
    assert.equal(config.virtualServers[0]!.weight, ok ? 65535 : undefined);
  }
});

test('an instance without an interface is 2.2.7\'s "Unknown interface!" error, default_interface or not', () => {
  for (const globals of ['', 'global_defs {\n  default_interface eth0\n}\n']) {
    const { config, diag } = load(`${globals}vrrp_instance A {
  virtual_router_id 1
  priority 100
  unicast_src_ip 192.0.2.5
  unicast_peer {
    192.0.2.6
  }
  virtual_ipaddress {
    192.0.2.1
  }
}
`);
    const errs = diag.list.filter((d) => d.severity === 'error');
    assert.deepEqual(
      errs.map((d) => [d.code, d.message, d.pos]),
      [['CONFIG_BAD_IF', '(A) Unknown interface!', undefined]],
    );
    assert.equal(diag.exitCode(), 5);
    assert.equal(config.vrrpInstances.length, 0, 'not run');
  }
});
