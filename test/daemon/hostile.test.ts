// What a hostile network or a careless operator does to a master (docs/hostile-network.md), in namespaces,
// keepalived-ts beside keepalived 2.2.7 where keepalived is right:
//  * crafted adverts for our VRID with another address list and a higher priority are dropped — the master
//    keeps the VIP; skip_check_adv_addr lets a backup accept them only from the master it already follows;
//  * a VIP deleted by hand on the master is back within Skew_Time and the backup never takes over;
//  * `ip addr flush dev eth0` on the master: FAULT, the peer serves; an address added back brings it up;
//  * a flood of valid lower-priority adverts is answered at most once per advert interval (keepalived-ts
//    only: keepalived answers every one);
//  * started under `ulimit -n 32` and `ulimit -v 700000`, the daemon runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, test } from 'node:test';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import {
  addHost,
  holders,
  type Impl,
  implName,
  referenceInstalled,
  startPeer,
  teardown,
} from '../interop/peers.js';
import type { SenderJob } from './hostile-sender.js';
import { BIN, dumpedInstance, holds, jsonDumpLine, Router, sleep, waitUntil } from './router.js';

const skip = !isRoot() ? 'needs root' : false;
const skipKa = skip || (!referenceInstalled() ? 'reference keepalived not installed' : false);
const VIP = '192.0.2.100';
const SENDER = resolve(import.meta.dirname, 'hostile-sender.ts');
const IMPLS: Impl[] = referenceInstalled() ? ['ts', 'ka'] : ['ts'];

const labs: Lab[] = [];
const routers: Router[] = [];
afterEach(async () => {
  for (const lab of labs.splice(0)) await teardown(lab, routers.splice(0));
  await teardown(null, routers.splice(0));
});

interface Inst {
  name?: string;
  vrid?: number;
  priority: number;
  version?: 2 | 3;
  advertInt?: number;
  vips?: string[];
  extra?: string;
}

function instance(o: Inst): string {
  return `
vrrp_instance ${o.name ?? 'VI_1'} {
  state BACKUP
  interface eth0
  virtual_router_id ${o.vrid ?? 51}
  version ${o.version ?? 3}
  priority ${o.priority}
  advert_int ${o.advertInt ?? 0.1}
${o.extra ?? ''}
  virtual_ipaddress {
${(o.vips ?? [`${VIP}/24`]).map((v) => `    ${v}\n`).join('')}  }
}
`;
}

/** A config for either implementation; keepalived-ts also writes its JSON dump into its directory. */
const conf = (impl: Impl, ...insts: Inst[]) =>
  impl === 'ts'
    ? (dir: string) => `global_defs {\n  ${jsonDumpLine(dir)}\n}\n${insts.map(instance).join('')}`
    : insts.map(instance).join('');

/** Runs hostile-sender.ts inside `ns`; resolves with what it sent and heard. */
function sendFrom(ns: string, job: SenderJob): Promise<{ sent: number; heard: number }> {
  return new Promise((res, rej) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', SENDER, JSON.stringify(job)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => {
      if (code !== 0) rej(new Error(`sender exited ${code}: ${err}`));
      else res(JSON.parse(out) as { sent: number; heard: number });
    });
  });
}

/** A lab with hosts numbered 1.. (192.0.2.k). */
function newLab(label: string, hosts: string[]): { lab: Lab; ns: string[] } {
  const lab = new Lab(label);
  labs.push(lab);
  return { lab, ns: hosts.map((h, k) => addHost(lab, h, 4, k + 1)) };
}

/** Crafted adverts with other address lists and a higher priority, at a master of `impl`. */
async function addressListCase(impl: Impl): Promise<void> {
  const { ns } = newLab(`hal${impl}`, ['m', 'x']);
  const [nsM, nsX] = ns as [string, string];
  const m = startPeer(impl, `m-${impl}`, nsM, conf(impl, { priority: 150 }));
  routers.push(m);
  await m.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  const mark = m.mark();
  const phase = {
    src: '192.0.2.2',
    vrid: 51,
    priority: 200,
    intervalCs: 10,
    ratePerS: 20,
    durationMs: 1000,
  };
  // Same number of addresses, another one (a forger who knows only the VRID); then one address more.
  const r = await sendFrom(nsX, {
    phases: [
      { ...phase, addresses: ['192.0.2.200'] },
      { ...phase, addresses: [VIP, '192.0.2.201'] },
    ],
  });
  assert.ok(r.sent >= 30, JSON.stringify(r));
  assert.equal(m.grep(/Entering \w+ STATE/, mark).length, 0, m.log());
  assert.ok(holds(nsM, VIP), 'the master keeps the VIP');
  // keepalived's messages, rate-limited.
  assert.ok(
    m.grep(/\(VI_1\) ip address associated with VRID 51 not present in MASTER advert: 192\.0\.2\.100/, mark)
      .length > 0,
    m.log(),
  );
  assert.ok(
    m.grep(/\(VI_1\) received an unexpected ip number count 2, expected 1!/, mark).length > 0,
    m.log(),
  );
  if (impl === 'ts') {
    const stats = (await dumpedInstance(m))!.stats;
    assert.ok((stats.AddressListErrors ?? 0) >= r.sent - 2, JSON.stringify(stats));
  }
}

/** skip_check_adv_addr at a backup of `impl` following a crafted master whose list changes. */
async function skipCheckCase(impl: Impl): Promise<void> {
  const { ns } = newLab(`hsk${impl}`, ['b', 'x', 'y']);
  const [nsB, nsX, nsY] = ns as [string, string, string];
  // VI_1 with skip_check_adv_addr, VI_2 without.
  const b = startPeer(
    impl,
    `b-${impl}`,
    nsB,
    conf(
      impl,
      { priority: 100, extra: '  skip_check_adv_addr' },
      { name: 'VI_2', vrid: 52, priority: 100, vips: ['192.0.2.102/24'] },
    ),
  );
  routers.push(b);
  // Alone, it is master of both; then a crafted master at .2 (priority 200, the right lists) takes over.
  await b.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await b.waitFor(/\(VI_2\) Entering MASTER STATE/, 10_000);
  // A crafted master at .2 (priority 200) sends the right lists for 1 s, then other lists (a reload on it)
  // for 1.5 s (four Master_Down_Intervals); a sender at .3 sends VI_1's other list for 0.3 s meanwhile.
  const phase = { src: '192.0.2.2', priority: 200, intervalCs: 10, ratePerS: 20, durationMs: 1000 };
  const changed = { ...phase, addresses: ['192.0.2.250'], durationMs: 1500 };
  const mark = b.mark();
  // Both VRIDs from one process: the window below is read off VI_2's log, so VI_1's phases must start at
  // the same moment (two sender processes started up to a second apart under load).
  await Promise.all([
    sendFrom(nsX, {
      phases: [],
      tracks: [
        [
          { ...phase, vrid: 51, addresses: [VIP] },
          { ...changed, vrid: 51 },
        ],
        [
          { ...phase, vrid: 52, addresses: ['192.0.2.102'] },
          { ...changed, vrid: 52 },
        ],
      ],
    }),
    sendFrom(nsY, {
      phases: [
        { ...phase, vrid: 51, addresses: [VIP], ratePerS: 0, durationMs: 1500 },
        { ...changed, src: '192.0.2.3', priority: 220, vrid: 51, durationMs: 300 },
      ],
    }),
  ]);
  const at = (l: { stampMs: number | null; rxMs: number }) => l.stampMs ?? l.rxMs;
  // Phase 2 began when VI_2 first saw the other list; it lasted 1.5 s.
  const t2 = at(b.grep(/\(VI_2\) ip address associated with VRID 52 not present in MASTER advert/, mark)[0]!);
  const during = b.grep(/\(VI_\d\) Entering \w+ STATE/, mark).filter((l) => at(l) >= t2 && at(l) < t2 + 1200);
  const states = (n: string) =>
    during.filter((l) => l.text.includes(`(${n})`)).map((l) => /Entering (\w+)/.exec(l.text)![1]);
  assert.equal(b.lastState('VI_1') !== null, true);
  assert.deepEqual(states('VI_1'), [], `VI_1 followed the same master\n${b.log()}`);
  // VI_2 drops the other list, so it is MASTER by the window's end: it takes over during the window, or
  // already was when a crafted master stalled past Master_Down_Interval in phase 1 on a loaded machine
  // (seen in full runs); accepting the list would instead keep or put it in BACKUP.
  const before2 = b
    .grep(/\(VI_2\) Entering \w+ STATE/, mark)
    .filter((l) => at(l) < t2)
    .map((l) => /Entering (\w+)/.exec(l.text)![1]);
  const vi2 = [...before2.slice(-1), ...states('VI_2')];
  assert.ok(
    vi2.at(-1) === 'MASTER' && !states('VI_2').includes('BACKUP'),
    `VI_2 dropped the new list (states ${JSON.stringify(vi2)})\n${b.log()}`,
  );
  assert.ok(
    b.grep(/\(VI_1\) ip address associated with VRID 51 not present in MASTER advert/, mark).length > 0,
    `the sender at .3 is checked\n${b.log()}`,
  );
}

const both = () => IMPLS.filter((i) => i === 'ts' || !skipKa);

test('adverts for our VRID with another address list and a higher priority are dropped (as keepalived)', {
  skip,
  timeout: 30_000,
}, async () => {
  await Promise.all(both().map(addressListCase));
});

test('skip_check_adv_addr accepts another address list only from the master followed (as keepalived)', {
  skip,
  timeout: 30_000,
}, async () => {
  await Promise.all(both().map(skipCheckCase));
});

/** master (150) and backup (100) of one implementation, v2 at 1 s (keepalived's numbers in the issue). */
async function pair(impl: Impl, label: string, version: 2 | 3, advertInt: number) {
  const { lab, ns } = newLab(label, ['m', 'b']);
  const [nsM, nsB] = ns as [string, string];
  const m = startPeer(impl, `m-${impl}`, nsM, conf(impl, { priority: 150, version, advertInt }));
  routers.push(m);
  await m.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  const b = startPeer(impl, `b-${impl}`, nsB, conf(impl, { priority: 100, version, advertInt }));
  routers.push(b);
  await b.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
  await sleep(300);
  return { lab, nsM, nsB, m, b };
}

test('the VIP deleted by hand on the master: back within Skew_Time, no failover (as keepalived)', {
  skip,
  timeout: 40_000,
}, async () => {
  const outcome = async (impl: Impl) => {
    const { nsM, nsB, m, b } = await pair(impl, `hvd${impl}`, 2, 1);
    const markM = m.mark();
    const markB = b.mark();
    const t0 = Date.now();
    ip('-n', nsM, 'addr', 'del', `${VIP}/24`, 'dev', 'eth0');
    await waitUntil(() => holds(nsM, VIP), 3000, `${implName(impl)} re-adds the VIP`);
    const missingMs = Date.now() - t0;
    await sleep(1500);
    return {
      missingMs,
      backupMaster: b.grep(/Entering MASTER STATE/, markB).length,
      masterStates: m.grep(/Entering (\w+) STATE/, markM).map((l) => /Entering (\w+)/.exec(l.text)![1]),
      holders: holders([nsM, nsB], VIP),
      nsM,
      log: m.log(),
    };
  };
  const results = await Promise.all(both().map(outcome));
  for (const [k, r] of results.entries()) {
    const who = implName(IMPLS[k]!);
    // Skew_Time at priority 150: 106/256 s = 414 ms (keepalived measured 0.42 s); Master_Down_Interval 3.4 s.
    console.log(`# ${who}: VIP deleted by hand, back on the master after ${r.missingMs} ms`);
    assert.ok(r.missingMs < 1500, `${who}: VIP missing ${r.missingMs} ms\n${r.log}`);
    assert.equal(r.backupMaster, 0, `${who}: the backup took over`);
    assert.deepEqual(r.masterStates, ['BACKUP', 'MASTER'], `${who}\n${r.log}`);
    assert.deepEqual(r.holders, [r.nsM], who);
  }
});

test('`ip addr flush dev eth0` on the master: FAULT, the peer serves; an address back brings it up', {
  skip,
  timeout: 40_000,
}, async () => {
  const outcome = async (impl: Impl) => {
    const { nsM, nsB, m, b } = await pair(impl, `hfl${impl}`, 3, 0.1);
    const markM = m.mark();
    ip('-n', nsM, 'addr', 'flush', 'dev', 'eth0');
    await m.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, markM);
    await b.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000);
    await sleep(1500);
    const during = {
      masterStates: m.grep(/Entering (\w+) STATE/, markM).map((l) => /Entering (\w+)/.exec(l.text)![1]),
      holders: holders([nsM, nsB], VIP),
    };
    const markUp = m.mark();
    ip('-n', nsM, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
    // Up again: BACKUP, then (higher priority, preempting) MASTER.
    await m.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000, markUp);
    await waitUntil(() => holders([nsM, nsB], VIP).join() === nsM, 3000, 'the VIP back on the master only');
    return {
      impl,
      during,
      nsB,
      after: m.grep(/Entering (\w+) STATE/, markUp).map((l) => /Entering (\w+)/.exec(l.text)![1]),
    };
  };
  const results = await Promise.all(both().map(outcome));
  for (const r of results) {
    const who = implName(r.impl);
    // keepalived: the VIP's deletion first (BACKUP, priority 0), then the primary's (FAULT); no MASTER.
    assert.equal(r.during.masterStates.at(-1), 'FAULT', who);
    assert.ok(!r.during.masterStates.includes('MASTER'), `${who}: ${r.during.masterStates.join()}`);
    assert.deepEqual(r.during.holders, [r.nsB], who);
    assert.deepEqual(r.after, ['BACKUP', 'MASTER'], who);
  }
});

test('keepalived-ts: a flood of valid lower-priority adverts is answered at most once per advert interval', {
  skip,
  timeout: 30_000,
}, async () => {
  const { ns } = newLab('hrl', ['m', 'x']);
  const [nsM, nsX] = ns as [string, string];
  const m = startPeer('ts', 'm-ts', nsM, conf('ts', { priority: 150 }));
  routers.push(m);
  await m.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  const before = (await dumpedInstance(m))!.stats.SentAdvertisements ?? 0;
  const t0 = Date.now();
  const r = await sendFrom(nsX, {
    phases: [
      {
        src: '192.0.2.2',
        vrid: 51,
        priority: 100,
        intervalCs: 10,
        addresses: [VIP],
        ratePerS: 2200,
        durationMs: 2000,
      },
    ],
    countFrom: '192.0.2.1',
  });
  const seconds = (Date.now() - t0) / 1000;
  const sent = ((await dumpedInstance(m))!.stats.SentAdvertisements ?? 0) - before;
  assert.ok(r.sent >= 3000, JSON.stringify(r));
  assert.equal(m.lastState(), 'MASTER');
  // 10 periodic adverts a second and at most 10 answers: ≤ 20 a second (keepalived: one per advert received).
  assert.ok(sent <= 20 * seconds + 4, `${sent} adverts in ${seconds} s`);
  assert.ok(sent >= 10 * (seconds - 0.5), `${sent} adverts in ${seconds} s: the periodic ones still go out`);
  // On the wire during the 2 s flood and the 0.1 s after, as the flooder heard it: at most 2.1 × 20, + 4.
  assert.ok(r.heard <= 46 && r.heard >= 10, JSON.stringify({ ...r, sent }));
});

test('keepalived-ts runs under `ulimit -n 32` and `ulimit -v 700000`, and refuses below its minimums', {
  skip,
  timeout: 30_000,
}, async () => {
  const { ns } = newLab('hul', ['a', 'b', 'c']);
  // Through bin/keepalived-ts as a command (its shell lines pick the node flags), under the limit.
  const limited = (k: number, limit: string) =>
    new Router(`u${k}`, ns[k]!, conf('ts', { priority: 150, vrid: 61 + k }), {
      command: ({ conf: file, dir }) => [
        'sh',
        '-c',
        `${limit}; exec "$@"`,
        'sh',
        BIN,
        ...['-n', '-l', '-D', '-f', file, '-p', join(dir, 'p.pid'), '-r', join(dir, 'r.pid')],
      ],
    });
  const fd = limited(0, 'ulimit -n 32');
  const vm = limited(1, 'ulimit -v 700000');
  routers.push(fd, vm);
  await Promise.all([fd, vm].map((r) => r.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000)));
  const low = limited(2, 'ulimit -n 31');
  routers.push(low);
  await low.exited();
  assert.equal(low.exitCode, 1);
  assert.match(low.log(), /open-files limit \(ulimit -n\) 31 is below the minimum of 32/);
});
