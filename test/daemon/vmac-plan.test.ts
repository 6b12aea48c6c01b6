// use_vmac without a network: the VRRP MACs (RFC 5798 §7.3), default names, the EUI-64 fallback link-local,
// and how the engine plan puts an instance on its VMAC (real config files through the real loader).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEnginePlan } from '../../src/daemon/engine-plan/build.js';
import type { HostAddressing } from '../../src/daemon/engine-plan/types.js';
import { defaultVmacName, eui64LinkLocal, vmacAddress, vmacSpecs } from '../../src/daemon/vmac.js';
import { configLoader } from '../helpers/config-text.js';

const loadText = configLoader('kats-vmacplan-');

const host: HostAddressing = {
  defaultSource: (ifname, family) =>
    ifname === 'eth0' ? (family === 4 ? '192.0.2.1' : 'fe80::1') : undefined,
};

const load = (text: string) => loadText(text).config;

test('VRRP MACs and names: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6), vrrp.VRID', () => {
  assert.equal(vmacAddress(4, 1), '00:00:5e:00:01:01');
  assert.equal(vmacAddress(4, 51), '00:00:5e:00:01:33');
  assert.equal(vmacAddress(6, 255), '00:00:5e:00:02:ff');
  assert.equal(defaultVmacName(7), 'vrrp.7');
  assert.equal(defaultVmacName(255, 'k'), 'k.255');
});

test('EUI-64 link-local from a MAC flips the universal/local bit and inserts ff:fe (RFC 4291 appendix A)', () => {
  assert.equal(eui64LinkLocal('5a:10:45:0f:e9:4a'), 'fe80::5810:45ff:fe0f:e94a');
  assert.equal(eui64LinkLocal('00:00:5e:00:01:33'), 'fe80::200:5eff:fe00:133');
  assert.equal(eui64LinkLocal('nope'), undefined);
});

const conf = `
vrrp_instance V4 {
  interface eth0
  virtual_router_id 51
  use_vmac
  virtual_ipaddress { 192.0.2.100/24 }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 52
  use_vmac vmac6 00:00:5e:00:02:99
  vmac_xmit_base
  virtual_ipaddress { 2001:db8::100/64 }
}
vrrp_instance UNI {
  interface eth0
  virtual_router_id 54
  use_vmac
  unicast_peer { 192.0.2.2 }
  virtual_ipaddress { 192.0.2.104/24 }
}
vrrp_instance PLAIN {
  interface eth0
  virtual_router_id 53
  virtual_ipaddress { 192.0.2.103/24 }
}
`;

/** The default VMAC names of four VRID 51 instances (IPv4 and IPv6 on eth0 and eth1), after `globals`. */
function fourDefaultNames(globals = ''): string[] {
  const inst = (name: string, ifname: string, vip: string) => `
vrrp_instance ${name} {
  interface ${ifname}
  virtual_router_id 51
  use_vmac
  virtual_ipaddress { ${vip} }
}`;
  const text =
    globals +
    inst('A', 'eth0', '192.0.2.100/24') +
    inst('B', 'eth1', '198.51.100.100/24') +
    inst('C', 'eth1', '2001:db8::5/64') +
    inst('D', 'eth0', '2001:db8:1::5/64');
  return vmacSpecs(load(text)).map((s) => s.name);
}

test('default names as keepalived 2.2.7 picks them: vrrp.VRID, then vrrp6.VRID for IPv6, then vrrpN.VRID', () => {
  assert.deepEqual(fourDefaultNames(), ['vrrp.51', 'vrrp1.51', 'vrrp6.51', 'vrrp2.51']);
});

test('vmac_prefix replaces vrrp; a name too long keeps its VRID and tag and loses the end of the prefix', () => {
  assert.deepEqual(fourDefaultNames('global_defs {\n  vmac_prefix kats-long-prefix\n}\n'), [
    'kats-long-pr.51',
    'kats-long-p1.51',
    'kats-long-p6.51',
    'kats-long-p2.51',
  ]);
});

test('vmacSpecs: default and given names and MACs, family, vmac_xmit_base; instances without use_vmac skipped', () => {
  const specs = vmacSpecs(load(conf));
  assert.deepEqual(
    specs.map((s) => [s.instance, s.name, s.parent, s.family, s.mac, s.xmitBase]),
    [
      ['V4', 'vrrp.51', 'eth0', 4, '00:00:5e:00:01:33', false],
      ['V6', 'vmac6', 'eth0', 6, '00:00:5e:00:02:99', true],
      ['UNI', 'vrrp.54', 'eth0', 4, '00:00:5e:00:01:36', false],
    ],
  );
});

test('engine plan: a use_vmac instance runs on its VMAC, sends from it unless vmac_xmit_base or unicast, sources from the parent', () => {
  const p = buildEnginePlan(load(conf), host);
  assert.deepEqual(p.errors, []);
  assert.ok(!p.warnings.some((w) => w.includes('use_vmac')), p.warnings.join('\n'));
  const byName = new Map(p.engine.instances.map((i) => [i.name, i]));
  assert.equal(byName.get('V4')?.interface, 'vrrp.51');
  assert.equal(byName.get('V4')?.primaryAddress, '192.0.2.1');
  assert.equal(p.wiring.get('V4')?.socket.ifname, 'vrrp.51');
  assert.equal(byName.get('V6')?.interface, 'vmac6');
  assert.equal(byName.get('V6')?.primaryAddress, 'fe80::1');
  assert.equal(p.wiring.get('V6')?.socket.ifname, 'eth0', 'vmac_xmit_base sends from the parent');
  // Unicast sockets stay on the parent (keepalived 2.2.7 does so); VIPs still go on the VMAC.
  assert.equal(byName.get('UNI')?.interface, 'vrrp.54');
  assert.equal(p.wiring.get('UNI')?.socket.ifname, 'eth0');
  assert.equal(byName.get('PLAIN')?.interface, 'eth0');
  assert.equal(p.wiring.get('PLAIN')?.socket.ifname, 'eth0');
});
