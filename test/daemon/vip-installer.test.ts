// What the VIP installer (src/daemon/vip-installer.ts) records as installed — the data dump's `set` — when the
// kernel answers: an add it refuses (other than "already there") is not installed, as keepalived 2.2.7 clears
// the address's `set`. Against a scripted netlink: the real kernel's refusal is the data-dump test's case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InterfaceTable } from '../../src/daemon/interface-table.js';
import { VipInstaller } from '../../src/daemon/vip-installer.js';
import { fail, type NetErrorCode, type NetResult, ok } from '../../src/net/net-error.js';
import type { EncodedRequest, Netlink } from '../../src/net/netlink.js';
import type { AddressSpec } from '../../src/net/netlink-types.js';
import type { VirtualAddress } from '../../src/vrrp/instance-params.js';
import { quietLog } from '../helpers/quiet-log.js';

/** A netlink whose answer to each add is scripted by address: undefined is success. */
function scriptedNetlink(answers: Map<string, NetErrorCode | undefined>): Netlink {
  const fake = {
    encodeAddress(add: boolean, s: AddressSpec): NetResult<EncodedRequest> {
      return ok({ type: 20, bufs: [], flags: 0, what: `${add ? 'add' : 'delete'} address ${s.address}` });
    },
    prepare(r: EncodedRequest) {
      return {
        write: async (): Promise<NetResult<void>> => {
          const address = r.what.split(' ').at(-1)!;
          const code = answers.get(address);
          return code === undefined ? ok(undefined) : fail(code, `${r.what}: refused`);
        },
      };
    },
    async deleteAddress(): Promise<NetResult<void>> {
      return ok(undefined);
    },
  };
  return fake as unknown as Netlink;
}

function table(): InterfaceTable {
  const t = new InterfaceTable();
  t.apply({
    kind: 'link',
    action: 'new',
    index: 2,
    name: 'eth0',
    up: true,
    carrier: true,
    mac: '02:00:00:00:00:01',
    mtu: 1500,
  });
  return t;
}

const vip = (address: string, prefixLen: number): VirtualAddress => ({ address, prefixLen });

test('an add the kernel refuses is not recorded as installed; one already there is', async () => {
  const answers = new Map<string, NetErrorCode | undefined>([
    ['2001:db8::9', 'KA_NETLINK_EADDRNOTAVAIL'],
    ['192.0.2.100', undefined],
    ['192.0.2.101', 'KA_NETLINK_EEXIST'],
  ]);
  const vips = new VipInstaller(scriptedNetlink(answers), table(), quietLog);
  vips.add('VI_1', [vip('192.0.2.100', 24), vip('2001:db8::9', 64), vip('192.0.2.101', 32)], 'eth0');
  // Recorded when asked (the dump taken meanwhile says what is being installed) ...
  assert.equal(vips.isSet('VI_1', '2001:db8::9', 'eth0'), true);
  await vips.idle(1000);
  // ... and un-recorded when the kernel refused it.
  assert.equal(vips.isSet('VI_1', '192.0.2.100', 'eth0'), true);
  assert.equal(vips.isSet('VI_1', '2001:db8::9', 'eth0'), false, 'refused: not set');
  assert.equal(vips.isSet('VI_1', '192.0.2.101', 'eth0'), true, 'EEXIST: ours now');
});

test("a refused add does not un-record a later add's record of the same address", async () => {
  const answers = new Map<string, NetErrorCode | undefined>([['192.0.2.100', 'KA_NETLINK_OS']]);
  const vips = new VipInstaller(scriptedNetlink(answers), table(), quietLog);
  const v = vip('192.0.2.100', 24);
  vips.add('VI_1', [v], 'eth0');
  vips.remove('VI_1', [v], 'eth0');
  answers.delete('192.0.2.100');
  vips.add('VI_1', [v], 'eth0');
  await vips.idle(1000);
  assert.equal(vips.isSet('VI_1', '192.0.2.100', 'eth0'), true);
});

test('`brd +` is the subnet broadcast, `brd -` none, as keepalived adds them (before, `+` failed the add)', async () => {
  const specs: AddressSpec[] = [];
  const nl = scriptedNetlink(new Map());
  const encode = nl.encodeAddress.bind(nl);
  nl.encodeAddress = (add, s) => {
    specs.push(s);
    return encode(add, s);
  };
  const vips = new VipInstaller(nl, table(), quietLog);
  vips.add(
    'VI_1',
    [
      { address: '192.0.2.100', prefixLen: 24, options: { broadcast: '+' } },
      { address: '192.0.2.101', prefixLen: 24, options: { broadcast: '-' } },
      { address: '192.0.2.102', prefixLen: 32, options: { broadcast: '+' } },
      { address: '192.0.2.103', prefixLen: 24, options: { broadcast: '192.0.2.127' } },
    ],
    'eth0',
  );
  await vips.idle(1000);
  assert.deepEqual(
    specs.map((s) => s.broadcast),
    ['192.0.2.255', undefined, undefined, '192.0.2.127'],
  );
  assert.equal(vips.isSet('VI_1', '192.0.2.100', 'eth0'), true);
});
