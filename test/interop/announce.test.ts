// What a client on the LAN sees when keepalived-ts takes a VIP over from keepalived 2.2.7: its neighbour entry
// for the VIP must move to keepalived-ts's MAC by the gratuitous ARP (IPv4) or unsolicited Neighbour
// Advertisement with the Override flag (IPv6) that a new master sends — with the client sending nothing in
// between, so no ARP / ND resolution of its own can be what updated it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { waitUntil } from '../daemon/router.js';
import { ip } from '../helpers/netns.js';
import {
  addHost,
  hostAddr,
  type InstanceSpec,
  instanceConf,
  interopSkip,
  LabPerTest,
  pollUntil,
  startPeer,
  vipOf,
} from './peers.js';

const skip = interopSkip();

const each = new LabPerTest();

const macOf = (ns: string) => /link\/ether ([0-9a-f:]{17})/.exec(ip('-n', ns, 'link', 'show', 'eth0'))?.[1];

/** The client's neighbour entry for `addr`: MAC (or null) and state. */
function neighbour(ns: string, addr: string): { mac: string | null; state: string } {
  const out = ip('-n', ns, 'neigh', 'show', addr, 'dev', 'eth0').trim();
  const mac = /lladdr ([0-9a-f:]{17})/.exec(out)?.[1] ?? null;
  const state = out.split(/\s+/).at(-1) ?? '';
  return { mac, state };
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: a client's neighbour entry for the VIP follows keepalived → keepalived-ts by ${family === 4 ? 'gratuitous ARP' : 'unsolicited NA'}`, {
    skip,
    timeout: 20_000,
  }, async () => {
    const spec: InstanceSpec = { version: 3, family, unicast: false, vrid: 46, advertIntS: 0.1 };
    const vip = vipOf(family);
    const lab = each.open(`ian${family}`);
    const nsK = addHost(lab, 'k', family, 1);
    const nsT = addHost(lab, 't', family, 2);
    const nsC = addHost(lab, 'c', family, 9);
    const ka = startPeer('ka', 'ka', nsK, instanceConf(spec, 200, hostAddr(family, 1), []));
    each.routers.push(ka);
    await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    const ts = startPeer('ts', 'ts', nsT, instanceConf(spec, 100, hostAddr(family, 2), []));
    each.routers.push(ts);
    await ts.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);

    // The client talks to the VIP once: its neighbour entry now points at keepalived's host.
    const ping = spawnSync('ip', ['netns', 'exec', nsC, 'ping', `-${family}`, '-c', '1', '-W', '2', vip], {
      encoding: 'utf8',
    });
    assert.equal(ping.status, 0, `client reaches the VIP: ${ping.stdout}${ping.stderr}`);
    const macK = macOf(nsK);
    const macT = macOf(nsT);
    assert.ok(macK && macT && macK !== macT);
    assert.equal(neighbour(nsC, vip).mac, macK, 'client resolved the VIP to keepalived');

    // keepalived's host drops off the LAN; keepalived-ts takes over and announces.
    const mark = ts.mark();
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('k'), 'down');
    const took = await ts.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, mark);
    const tookMs = took.stampMs ?? took.rxMs;
    await pollUntil(
      () => neighbour(nsC, vip).mac === macT,
      1000,
      () =>
        `client's entry for ${vip} to move to ${macT}: ${JSON.stringify(neighbour(nsC, vip))}\n${ts.log()}`,
    );
    console.log(
      `# IPv${family}: client's neighbour entry moved to keepalived-ts ${Date.now() - tookMs} ms (or less) after its MASTER line`,
    );
    // And traffic flows to the new master.
    await waitUntil(
      () =>
        spawnSync('ip', ['netns', 'exec', nsC, 'ping', `-${family}`, '-c', '1', '-W', '1', vip]).status === 0,
      3000,
      'client reaches the VIP on keepalived-ts',
    );
  });
}
