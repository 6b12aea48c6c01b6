// One interop scenario on a three-host LAN, mixing keepalived-ts and the reference keepalived:
//   high (impl X, priority 250) · mid (impl Y, priority 200) · low (impl X, priority 50)
// so every hand-over crosses implementations (X → Y on failure, Y → X on preemption) and the bystander `low`
// must honour the other implementation's adverts throughout. Steps, each ending with the VIP on exactly the
// rightful node (checked with `ip -o addr` in every namespace):
//   1. election: high MASTER, mid and low BACKUP, then quiet for a few advert intervals;
//   2. high's link cut on the bridge side: high FAULT, mid takes over within its Master_Down_Interval;
//   3. link back: high preempts, mid returns to BACKUP;
//   4. SIGTERM to high: its priority-0 advert makes mid take over after Skew_Time (< advert_int + 200 ms).
// Priorities are far apart so that after the priority-0 advert mid's Skew_Time ends well before low's.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { addressesOf, type Router, sleep } from '../daemon/router.js';
import { ip, Lab } from '../helpers/netns.js';
import { tcpdumpIn, VrrpCapture } from './capture.js';
import {
  addHost,
  holders,
  hostAddr,
  type Impl,
  type InstanceSpec,
  implName,
  instanceConf,
  msSince,
  pollUntil,
  resolveNeighbours,
  startPeer,
  teardown,
  vipOf,
} from './peers.js';

export interface ScenarioTimes {
  cutFailoverMs: number;
  preemptMs: number;
  /** SIGTERM to high → mid's MASTER line. */
  gracefulMs: number;
  /** high's priority-0 advert on the bridge (tcpdump) → mid's MASTER line. */
  prioZeroToMasterMs: number;
  /** TTL / hop limit values seen in the reference keepalived's adverts. */
  referenceTtls: number[];
}

const PRIORITIES = [250, 200, 50] as const;
const LABELS = ['high', 'mid', 'low'] as const;

/** RFC 3768 §6.1 / RFC 5798 §6.1: Skew_Time in ms (v2 ignores the interval, v3 scales with it). */
export function skewMs(spec: InstanceSpec, priority: number): number {
  const advertMs = spec.advertIntS * 1000;
  return spec.version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * advertMs) / 256;
}

/** Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time, in ms. */
export function masterDownMs(spec: InstanceSpec, priority: number): number {
  return 3 * spec.advertIntS * 1000 + skewMs(spec, priority);
}

const entering = (state: string) => new RegExp(`\\(VI_1\\) Entering ${state} STATE`);

export async function runScenario(spec: InstanceSpec, highImpl: Impl, label: string): Promise<ScenarioTimes> {
  const other: Impl = highImpl === 'ts' ? 'ka' : 'ts';
  const impls: Impl[] = [highImpl, other, highImpl];
  const lab = new Lab(label);
  const routers: Router[] = [];
  let capture: VrrpCapture | null = null;
  let pcaps: ChildProcess[] = [];
  try {
    const nss = LABELS.map((l, k) => addHost(lab, l, spec.family, k + 1));
    // On mid's own eth0: the time the priority-0 advert reaches the node that must take over.
    capture = new VrrpCapture(nss[1]!, 'eth0');
    await capture.ready();
    // KATS_PCAP=DIR: every host's eth0 is also written to DIR/<label>-<host>.pcap, to read a failed run.
    const pcapDir = process.env.KATS_PCAP;
    if (pcapDir) {
      pcaps = nss.map((ns, k) =>
        tcpdumpIn(ns, ['-i', 'eth0', '-U', '-w', join(pcapDir, `${label}-${LABELS[k]}.pcap`)], 'ignore'),
      );
      await sleep(500);
    }
    const addrs = LABELS.map((_, k) => hostAddr(spec.family, k + 1));
    resolveNeighbours(nss, addrs, spec.family);
    for (const [k, l] of LABELS.entries()) {
      const conf = instanceConf(
        spec,
        PRIORITIES[k]!,
        addrs[k]!,
        addrs.filter((_, j) => j !== k),
      );
      routers.push(startPeer(impls[k]!, `${l}-${impls[k]}`, nss[k]!, conf));
    }
    const [high, mid, low] = routers as [Router, Router, Router];
    const [nsHigh, nsMid] = nss as [string, string, string];
    const vip = vipOf(spec.family);
    const advertMs = spec.advertIntS * 1000;
    // The daemons' logs, then what mid's eth0 received: whether a peer's silence was on the wire.
    const logs = () =>
      `${routers.map((r) => r.log()).join('\n')}\n[adverts on mid's eth0] ${capture?.silences(advertMs * 1.5)}`;
    const onlyOn = async (ns: string, what: string, timeoutMs: number) => {
      await pollUntil(
        () => {
          const h = holders(nss, vip);
          return h.length === 1 && h[0] === ns;
        },
        timeoutMs,
        () => `${what}; holders now ${JSON.stringify(holders(nss, vip))}\n${logs()}`,
      );
    };

    // 1. Election. Daemons start in BACKUP and wait a full Master_Down_Interval. The bound counts from when
    // every daemon is up (its first state line): with the suite's other files running, a daemon's own
    // start-up has taken 5 s and more, which is not what this test judges.
    const running = () => {
      const gone = routers.find((r) => !r.running);
      if (gone) throw new Error(`${gone.name} exited (${gone.exitCode}) before the election\n${logs()}`);
    };
    await pollUntil(
      () => {
        running();
        return routers.every((r) => r.lastState() !== null);
      },
      30_000,
      () => `every daemon started\n${logs()}`,
    );
    await pollUntil(
      () => {
        running();
        return high.lastState() === 'MASTER' && mid.lastState() === 'BACKUP' && low.lastState() === 'BACKUP';
      },
      masterDownMs(spec, 250) + 6000,
      () => `election: ${implName(highImpl)} high MASTER, mid and low BACKUP\n${logs()}`,
    );
    await onlyOn(nsHigh, 'VIP on high only after election', 2000);
    const quiet = routers.map((r) => r.mark());
    await sleep(masterDownMs(spec, 50) + advertMs); // every backup has heard high since its start-up timer
    for (const [k, r] of routers.entries()) {
      assert.equal(r.grep(/Entering/, quiet[k]).length, 0, `steady after election\n${logs()}`);
    }

    // 2. Link cut of high on the bridge side.
    let marks = routers.map((r) => r.mark());
    // Timed from when the cut is done: `ip` may wait seconds for the kernel's RTNL lock while other tests'
    // namespaces are torn down (a CI run measured a 3 s "failover" that was 3 s of `ip`).
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('high'), 'down');
    const cutAt = Date.now();
    const took = await mid.waitFor(entering('MASTER'), masterDownMs(spec, 200) + 3000, marks[1]);
    const cutFailoverMs = msSince(cutAt, took);
    await high.waitFor(entering('FAULT'), 3000, marks[0]);
    await onlyOn(nsMid, 'VIP on mid only after the link cut', 2000);
    assert.equal(low.grep(entering('MASTER'), marks[2]).length, 0, `low stayed BACKUP\n${logs()}`);
    // Detection is by silence: at most mid's Master_Down_Interval after the last advert before the cut, plus
    // slack for scheduling (six scenarios and two files run at once on two cores).
    const slackMs = Math.max(500, advertMs / 2);
    assert.ok(
      cutFailoverMs < masterDownMs(spec, 200) + slackMs,
      `link-cut failover took ${cutFailoverMs} ms\n${logs()}`,
    );

    // 3. Link back: high preempts (it waits one Master_Down_Interval in BACKUP first).
    marks = routers.map((r) => r.mark());
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('high'), 'up');
    const upAt = Date.now();
    const back = await high.waitFor(entering('MASTER'), masterDownMs(spec, 250) + 5000, marks[0]);
    const preemptMs = msSince(upAt, back);
    await mid.waitFor(entering('BACKUP'), 3000, marks[1]);
    await onlyOn(nsHigh, 'VIP back on high only', 3000);
    assert.equal(low.grep(entering('MASTER'), marks[2]).length, 0, `low stayed BACKUP\n${logs()}`);

    // 4. Graceful stop of high: priority 0 on the wire, mid takes over after its Skew_Time.
    marks = routers.map((r) => r.mark());
    const stopAt = Date.now();
    const stopping = high.stop('SIGTERM', 5000);
    const handover = await mid.waitFor(entering('MASTER'), advertMs + 3000, marks[1]);
    const gracefulMs = msSince(stopAt, handover);
    assert.equal(await stopping, 0, `high's exit code\n${high.log()}`);
    await onlyOn(nsMid, 'VIP on mid only after the graceful stop', 2000);
    const prioZero = await capture.first((a) => a.priority === 0 && a.vrid === spec.vrid, stopAt);
    assert.ok(prioZero, `high's priority-0 advert captured on mid's eth0\n${logs()}`);
    const prioZeroToMasterMs = Math.round(msSince(prioZero.atMs, handover));
    // Let low's own (longer) Skew_Time pass: mid's first advert must have reset it.
    await sleep(Math.max(2 * advertMs, skewMs(spec, 50) + advertMs));
    assert.equal(low.grep(entering('MASTER'), marks[2]).length, 0, `low stayed BACKUP\n${logs()}`);
    assert.deepEqual(holders(nss, vip), [nsMid], 'VIP still on mid only');
    assert.ok(
      prioZeroToMasterMs < advertMs + 200,
      `takeover ${prioZeroToMasterMs} ms after the priority-0 advert (SIGTERM → MASTER ${gracefulMs} ms)`,
    );
    // On the wire (as mid received it, plus mid's own sends): every keepalived-ts advert has TTL / hop limit
    // 255 (RFC 5798 §5.1.1.3 / §5.1.2.3), multicast and unicast alike.
    const tsSources = new Set(nss.filter((_, k) => impls[k] === 'ts').flatMap((ns) => addressesOf(ns)));
    const fromTs = capture.adverts.filter((a) => tsSources.has(a.src));
    assert.ok(fromTs.length > 0, 'keepalived-ts adverts captured');
    assert.deepEqual(
      fromTs.filter((a) => a.ttl !== 255),
      [],
      'keepalived-ts adverts leave with TTL / hop limit 255',
    );
    const kaTtls = [...new Set(capture.adverts.filter((a) => !tsSources.has(a.src)).map((a) => a.ttl))];
    return { cutFailoverMs, preemptMs, gracefulMs, prioZeroToMasterMs, referenceTtls: kaTtls };
  } finally {
    capture?.stop();
    for (const p of pcaps) p.kill('SIGINT');
    await teardown(lab, routers);
  }
}

/** One line for the test output: `# v3 IPv4 multicast, keepalived-ts master → keepalived: …`. */
export function describeTimes(spec: InstanceSpec, highImpl: Impl, t: ScenarioTimes): string {
  const other: Impl = highImpl === 'ts' ? 'ka' : 'ts';
  const kind = `v${spec.version} IPv${spec.family} ${spec.unicast ? 'unicast' : 'multicast'}${spec.auth ? ` ${spec.auth.type}` : ''}`;
  return (
    `# ${kind}, ${implName(highImpl)} master → ${implName(other)}: link-cut failover ${t.cutFailoverMs} ms ` +
    `(Master_Down ${masterDownMs(spec, 200).toFixed(0)} ms), preempt after link-up ${t.preemptMs} ms, ` +
    `graceful stop: priority-0 advert → takeover ${t.prioZeroToMasterMs} ms ` +
    `(Skew_Time ${skewMs(spec, 200).toFixed(0)} ms; SIGTERM → takeover ${t.gracefulMs} ms); ` +
    `keepalived's advert TTL ${t.referenceTtls.join('/')}`
  );
}
