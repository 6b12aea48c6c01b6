// keepalived's signal dumps, ours beside the reference keepalived 2.2.7's: the same configuration, each router
// alone on its own LAN (so both are MASTER), then SIGUSR2 (stats text) and the JSON signal (SIGRTMIN+2).
// The stats text must match line for line once the counts are masked (monitoring scripts parse it); the JSON
// must carry keepalived's keys with the same values for everything configuration and state decide. Then ours
// alone: STATS_CLEAR zeroes the counters, SIGUSR1 writes the VRRP Topology text.
// keepalived 2.2.7 ignores state_/stats_/json_dump_file and writes /tmp/keepalived.{stats,json}.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dumpJson, jsonDumpLine, type Router, SIGNAL_JSON, sleep, waitUntil } from '../daemon/router.js';
import { isRoot, Lab } from '../helpers/netns.js';
import {
  addHost,
  type InstanceSpec,
  instanceConf,
  referenceInstalled,
  startPeer,
  teardown,
} from './peers.js';

const skip = !isRoot() ? 'needs root' : !referenceInstalled() ? 'keepalived not installed' : false;

/** One VRRPv2 instance with a password (each implementation alone on its LAN, so both MASTER). */
const SPEC: InstanceSpec = {
  version: 2,
  family: 4,
  unicast: false,
  vrid: 61,
  advertIntS: 1,
  auth: { type: 'PASS', pass: 'dumpme' },
};
const conf = (extra: string) => `global_defs {\n${extra}\n}\n${instanceConf(SPEC, 150, '', [])}`;

/** keepalived JSON data keys whose values belong to the moment, not the configuration or state. */
const PER_RUN = new Set(['last_transition']);

const labs: Lab[] = [];
const routers: Router[] = [];
after(async () => {
  for (const l of labs) await teardown(l, routers.splice(0));
});

function readWhenPresent(file: string): Promise<string> {
  let text = '';
  return waitUntil(
    () => {
      try {
        text = readFileSync(file, 'utf8');
        return text.length > 0;
      } catch {
        return false;
      }
    },
    3000,
    file,
  ).then(() => text);
}

test('stats and JSON dumps in keepalived 2.2.7’s formats', { skip, timeout: 30_000 }, async () => {
  const labTs = new Lab('ddt');
  const labKa = new Lab('ddk');
  labs.push(labTs, labKa);
  const nsTs = addHost(labTs, 'r1', 4, 1);
  const nsKa = addHost(labKa, 'r1', 4, 1);
  const ts = startPeer('ts', 'ts', nsTs, (dir) =>
    conf(
      `  stats_dump_file ${join(dir, 'keepalived.stats')}\n  state_dump_file ${join(dir, 'keepalived.data')}\n` +
        `  ${jsonDumpLine(dir)}`,
    ),
  );
  const ka = startPeer('ka', 'ka', nsKa, conf(''));
  routers.push(ts, ka);
  await ts.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  await sleep(1500);

  for (const f of ['/tmp/keepalived.stats', '/tmp/keepalived.json']) rmSync(f, { force: true });
  ts.proc.kill('SIGUSR2');
  ka.proc.kill('SIGUSR2');
  const mask = (t: string) => t.replace(/\d+/g, 'N');
  const oursText = await readWhenPresent(join(ts.dir, 'keepalived.stats'));
  const theirsText = await readWhenPresent('/tmp/keepalived.stats');
  assert.equal(mask(oursText), mask(theirsText));
  assert.match(oursText, /^ {2}Became master: 1$/m);
  assert.match(oursText, /^ {4}Sent: [1-9]/m);

  const ours = (await dumpJson(ts))[0]!;
  const k = spawnSync('kill', [`-${SIGNAL_JSON}`, String(ka.proc.pid)]);
  assert.equal(k.status, 0);
  const theirs = (JSON.parse(await readWhenPresent('/tmp/keepalived.json')) as (typeof ours)[])[0]!;
  for (const key of Object.keys(theirs.stats)) assert.ok(key in ours.stats, `stats.${key} in our dump`);
  const data = ours.data as unknown as Record<string, unknown>;
  const ref = theirs.data as unknown as Record<string, unknown>;
  let compared = 0;
  for (const [key, value] of Object.entries(ref)) {
    assert.ok(key in data, `data.${key} in our dump`);
    if (PER_RUN.has(key)) continue;
    assert.deepEqual(data[key], value, `data.${key}`);
    compared++;
  }
  assert.ok(compared >= 30, `${compared} data keys compared`);
  // Seconds since the epoch, with µs, like keepalived's: the MASTER transition a few seconds ago.
  const lastTransition = data.last_transition as number;
  assert.ok(Math.abs(Date.now() / 1000 - lastTransition) < 30, `last_transition ${lastTransition}`);
  assert.equal(ours.stats.become_master, 1);
  assert.equal(ours.stats.advert_sent, ours.stats.SentAdvertisements);

  // STATS_CLEAR (SIGRTMAX-1) zeroes the counters; they count on from there.
  const sentBefore = ours.stats.advert_sent!;
  assert.ok(sentBefore >= 2);
  assert.equal(spawnSync('kill', ['-63', String(ts.proc.pid)]).status, 0);
  await ts.waitFor(/Clearing VRRP statistics on signal/, 2000);
  const cleared = (await dumpJson(ts))[0]!;
  assert.equal(cleared.stats.become_master, 0);
  assert.ok(cleared.stats.advert_sent! <= 1, `advert_sent ${cleared.stats.advert_sent} after the clear`);

  // SIGUSR1: keepalived's VRRP Topology text.
  rmSync(join(ts.dir, 'keepalived.data'), { force: true });
  ts.proc.kill('SIGUSR1');
  const dataText = await readWhenPresent(join(ts.dir, 'keepalived.data'));
  assert.match(dataText, /^------< VRRP Topology >------$/m);
  assert.match(dataText, /^ VRRP Instance = VI_1$/m);
  assert.match(dataText, /^ {3}State = MASTER$/m);
  assert.match(dataText, /^ {3}Authentication type = SIMPLE_PASSWORD$/m);
  assert.match(dataText, /^ {5}192\.0\.2\.100\/24 dev eth0 scope global set$/m);
});
