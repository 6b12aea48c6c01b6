// VRRPv3 IPv4 unicast with the checksum keepalived 1.3.6 and older computed (`old_unicast_checksum`,
// docs/vrrp-adverts.md 'Checksums'), beside the reference keepalived 2.2.7, which still sends it on request:
//  - a backup left at the default hears the old form, says so in 2.2.7's words and follows the master;
//    keepalived-ts as that backup, and 2.2.7 as the backup of a keepalived-ts master sending the old form;
//  - `old_unicast_checksum never` refuses those adverts (checksum errors), so that backup takes over too: the
//    same in both implementations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Router, sleep } from '../daemon/router.js';
import { Lab } from '../helpers/netns.js';
import {
  addHost,
  holders,
  hostAddr,
  type Impl,
  type InstanceSpec,
  implName,
  instanceConf,
  interopSkip,
  LabPerTest,
  pollUntil,
  resolveNeighbours,
  startPeer,
  vipOf,
} from './peers.js';

const SPEC: InstanceSpec = { version: 3, family: 4, unicast: true, vrid: 41, advertIntS: 0.1 };
const VIP = vipOf(4);

/** The instance of instanceConf with `words` (e.g. `old_unicast_checksum never`) added, or as it is. */
function conf(priority: number, self: string, peer: string, words: string): string {
  const text = instanceConf(SPEC, priority, self, [peer]);
  return words === '' ? text : text.replace('  virtual_ipaddress {', `  ${words}\n  virtual_ipaddress {`);
}

const labs = new LabPerTest();

/** master (priority 200, `masterWords`) and backup (100, `backupWords`) on one LAN, both started. */
async function pair(
  label: string,
  master: Impl,
  masterWords: string,
  backup: Impl,
  backupWords: string,
): Promise<{ nss: string[]; m: Router; b: Router }> {
  labs.lab = new Lab(label);
  const nss = [addHost(labs.lab, 'm', 4, 1), addHost(labs.lab, 'b', 4, 2)];
  resolveNeighbours(nss, [hostAddr(4, 1), hostAddr(4, 2)], 4);
  const m = startPeer(master, `m-${master}`, nss[0]!, conf(200, hostAddr(4, 1), hostAddr(4, 2), masterWords));
  labs.routers.push(m);
  await m.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  const b = startPeer(backup, `b-${backup}`, nss[1]!, conf(100, hostAddr(4, 2), hostAddr(4, 1), backupWords));
  labs.routers.push(b);
  await b.waitFor(/\(VI_1\) Entering BACKUP STATE/, 8000);
  return { nss, m, b };
}

const skip = interopSkip();

describe('VRRPv3 unicast with the old (1.3.6) checksum', { skip }, () => {
  for (const [master, backup] of [
    ['ka', 'ts'],
    ['ts', 'ka'],
  ] as const) {
    test(`${implName(master)} sends it; ${implName(backup)} at the default switches and stays BACKUP`, {
      timeout: 30_000,
    }, async () => {
      const { nss, b } = await pair(`oc${master}`, master, 'old_unicast_checksum', backup, '');
      await b.waitFor(/\(VI_1\) Setting unicast VRRPv3 checksum to old version/, 3000);
      // 20 advert intervals: a backup that refused the adverts would have taken over after 3.
      await sleep(2000);
      assert.deepEqual(holders(nss, VIP), [nss[0]], b.log());
      assert.doesNotMatch(b.log(), /Entering MASTER STATE|Invalid VRRPv3 checksum|ChecksumErrors/);
    });
  }

  for (const backup of ['ts', 'ka'] as const) {
    test(`${implName(backup)} with \`old_unicast_checksum never\` refuses it and takes over`, {
      timeout: 30_000,
    }, async () => {
      const { nss, b } = await pair(
        `on${backup}`,
        'ka',
        'old_unicast_checksum',
        backup,
        'old_unicast_checksum never',
      );
      await b.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000);
      await pollUntil(
        () => holders(nss, VIP).length === 2,
        2000,
        () => b.log(),
      );
      assert.doesNotMatch(b.log(), /Setting unicast VRRPv3 checksum to old version/);
    });
  }
});
