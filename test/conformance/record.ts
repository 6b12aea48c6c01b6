// Records the conformance cases of this folder that run against real peers (README.md): keepalived-ts with
// --record-events beside the reference keepalived 2.2.7, or beside FRR's vrrpd, on a link in a namespace lab,
// through an election, the peer's stop (ours takes over) and, for keepalived, its return (it preempts).
// Run as root: `npx tsx test/conformance/record.ts keepalived-v2-takeover|frr-v2-takeover`. Not a test: the
// recorded files are what the unit suite replays (replay.test.ts).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router, sleep } from '../daemon/router.js';
import { Lab } from '../helpers/netns.js';
import { FrrPeer } from '../interop/frr-peer.js';
import {
  addHost,
  hostAddr,
  type InstanceSpec,
  instanceConf,
  pollUntil,
  startPeer,
  vipOf,
} from '../interop/peers.js';

const SPEC: InstanceSpec = { version: 2, family: 4, unicast: false, vrid: 51, advertIntS: 1 };
const HERE = import.meta.dirname;

async function recordOurs(caseName: string, run: (lab: Lab, ours: Router) => Promise<void>): Promise<void> {
  const lab = new Lab('rec');
  const tmp = mkdtempSync(join(tmpdir(), 'kats-record-'));
  const file = join(tmp, 'events.jsonl');
  let ours: Router | null = null;
  try {
    const ns = addHost(lab, 'ts', 4, 1);
    ours = new Router('ts', ns, instanceConf(SPEC, 100, hostAddr(4, 1), []), {
      extraArgs: ['--record-events', file],
    });
    await run(lab, ours);
    await ours.stop('SIGTERM', 3000);
    const dir = join(HERE, caseName);
    mkdirSync(dir, { recursive: true });
    copyFileSync(file, join(dir, 'events.jsonl'));
    console.log(`recorded ${join(dir, 'events.jsonl')}`);
  } finally {
    await ours?.stop('SIGKILL', 1000).catch(() => {});
    lab.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const cases: Record<string, () => Promise<void>> = {
  'keepalived-v2-takeover': () =>
    recordOurs('keepalived-v2-takeover', async (lab, ours) => {
      const ns = addHost(lab, 'ka', 4, 2);
      let ka = startPeer('ka', 'ka', ns, instanceConf(SPEC, 200, hostAddr(4, 2), []));
      await pollUntil(
        () => ka.lastState() === 'MASTER' && ours.lastState() === 'BACKUP',
        10_000,
        () => `election\n${ka.log()}\n${ours.log()}`,
      );
      await sleep(3000);
      await ka.stop('SIGTERM', 3000);
      await pollUntil(
        () => ours.lastState() === 'MASTER',
        5000,
        () => ours.log(),
      );
      await sleep(3000);
      ka = startPeer('ka', 'ka2', ns, instanceConf(SPEC, 200, hostAddr(4, 2), []));
      await pollUntil(
        () => ours.lastState() === 'BACKUP',
        10_000,
        () => `${ka.log()}\n${ours.log()}`,
      );
      await sleep(2000);
      await ka.stop('SIGTERM', 3000);
      await pollUntil(
        () => ours.lastState() === 'MASTER',
        5000,
        () => ours.log(),
      );
    }),
  'frr-v2-takeover': () =>
    recordOurs('frr-v2-takeover', async (lab, ours) => {
      const ns = addHost(lab, 'frr', 4, 2);
      const f = new FrrPeer('frr', ns, {
        version: 2,
        vrid: SPEC.vrid,
        priority: 200,
        advertIntMs: 1000,
        family: 4,
        vip: vipOf(4),
        prefixLen: 24,
      });
      try {
        await f.startVrrpd();
        await pollUntil(
          () => f.lastState() === 'MASTER' && ours.lastState() === 'BACKUP',
          10_000,
          () => `election\n${f.log()}\n${ours.log()}`,
        );
        await sleep(3000);
        await f.stopVrrpd();
        await pollUntil(
          () => ours.lastState() === 'MASTER',
          5000,
          () => ours.log(),
        );
        await sleep(2000);
      } finally {
        await f.stopVrrpd().catch(() => {});
      }
    }),
};

const which = process.argv[2] ?? '';
const run = cases[which];
if (!run) {
  console.error(`usage: record.ts ${Object.keys(cases).join('|')}`);
  process.exit(2);
}
await run();
process.exit(0);
