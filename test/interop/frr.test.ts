// keepalived-ts beside FRR 8.4 vrrpd, VRRPv3 multicast (IPv4, IPv6) at a 100 ms advert interval and VRRPv2
// (IPv4) at 1 s, on a three-host
// LAN alternating implementations (high 250 · mid 200 · low 50, as in scenario.ts): election, link cut of the
// master, its return and preemption, and graceful stop (SIGTERM: priority 0), with the VIP usable on exactly
// the rightful host after each step. FRR keeps the VIP on a protodown macvlan while Backup (frr-peer.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { holds, type Router, sleep } from '../daemon/router.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { tcpdumpInstalled, VrrpCapture } from './capture.js';
import { FrrPeer, frrInstalled } from './frr-peer.js';
import {
  addHost,
  hostAddr,
  type InstanceSpec,
  instanceConf,
  msSince,
  pollUntil,
  startPeer,
  teardown,
  vipOf,
} from './peers.js';
import { masterDownMs, skewMs } from './scenario.js';

const skip = !isRoot()
  ? 'needs root'
  : !frrInstalled()
    ? 'FRR (zebra, vrrpd, user frr) not installed'
    : !tcpdumpInstalled()
      ? 'tcpdump not installed'
      : false;
/** v3 at 100 ms (IPv4 or IPv6), or v2 at 1 s (IPv4; FRR's v2 has no authentication). */
const specFor = (version: 2 | 3, family: 4 | 6): InstanceSpec => ({
  version,
  family,
  unicast: false,
  vrid: 51,
  advertIntS: version === 3 ? 0.1 : 1,
});

/** What the steps need from either implementation. */
interface Peer {
  name: string;
  ns: string;
  lastState(): string | null;
  /** A position in the peer's history; `entered(state, mark)` only looks after it. */
  mark(): number;
  /** Time (ms) the peer entered `state` after `mark`, or null. */
  entered(state: string, mark: number): number | null;
  holdsVip(): boolean;
  stop(): Promise<void>;
  log(): string;
}

function fromRouter(r: Router, vip: string): Peer {
  const re = (s: string) => new RegExp(`\\(VI_1\\) Entering ${s} STATE`);
  return {
    name: r.name,
    ns: r.ns,
    lastState: () => r.lastState(),
    mark: () => r.mark(),
    entered: (s, m) => {
      const l = r.grep(re(s), m)[0];
      return l ? msSince(0, l) : null;
    },
    holdsVip: () => holds(r.ns, vip),
    stop: async () => {
      await r.stop('SIGTERM', 3000);
    },
    log: () => `${r.log()}\n  [${r.name}] running=${r.running} exit=${r.exitCode}/${r.exitSignal}`,
  };
}

function fromFrr(f: FrrPeer, vip: string): Peer {
  return {
    name: f.name,
    ns: f.ns,
    lastState: () => f.lastState(),
    mark: () => f.transitions().length,
    entered: (s, m) =>
      f
        .transitions()
        .slice(m)
        .find((t) => t.to === s)?.atMs ?? null,
    holdsVip: () => f.holdsVip(vip),
    stop: () => f.stopVrrpd(),
    log: () => f.log(),
  };
}

async function scenario(SPEC: InstanceSpec, highIsFrr: boolean, label: string): Promise<string> {
  const family = SPEC.family;
  const ADVERT_MS = SPEC.advertIntS * 1000;
  const VIP = vipOf(family);
  const lab = new Lab(label);
  const routers: Router[] = [];
  const frrs: FrrPeer[] = [];
  const peers: Peer[] = [];
  let capture: VrrpCapture | null = null;
  try {
    const prios = [250, 200, 50];
    const names = ['high', 'mid', 'low'];
    for (const [k, name] of names.entries()) {
      const ns = addHost(lab, name, family, k + 1);
      const frr = (k === 1) !== highIsFrr;
      if (frr) {
        const f = new FrrPeer(`${name}-frr`, ns, {
          version: SPEC.version,
          vrid: SPEC.vrid,
          priority: prios[k]!,
          advertIntMs: ADVERT_MS,
          family,
          vip: VIP,
          prefixLen: family === 4 ? 24 : 64,
        });
        frrs.push(f);
        await f.startVrrpd();
        peers.push(fromFrr(f, VIP));
      } else {
        const conf = instanceConf(SPEC, prios[k]!, hostAddr(family, k + 1), []);
        const r = startPeer('ts', `${name}-ts`, ns, conf);
        routers.push(r);
        peers.push(fromRouter(r, VIP));
      }
    }
    const [high, mid, low] = peers as [Peer, Peer, Peer];
    // On mid's eth0: when the priority-0 advert reaches the node that must take over.
    capture = new VrrpCapture(mid.ns, 'eth0');
    await capture.ready();
    const logs = () => peers.map((p) => `${p.name}:\n${p.log()}`).join('\n');
    const vipOn = (p: Peer) =>
      pollUntil(
        () => peers.every((q) => q.holdsVip() === (q === p)),
        3000,
        () =>
          `VIP usable on ${p.name} only (now on ${peers.filter((q) => q.holdsVip()).map((q) => q.name)})\n${logs()}`,
      );
    const waitEntered = async (p: Peer, state: string, mark: number, timeoutMs: number) => {
      await pollUntil(
        () => p.entered(state, mark) !== null,
        timeoutMs,
        () => `${p.name} entering ${state}\n${logs()}`,
      );
      return p.entered(state, mark)!;
    };

    const lostFirstAdverts: number[] = [];
    /**
     * low must stay BACKUP while mid takes over. One exception, FRR's and not ours: as a new IPv6 Master,
     * FRR 8.4 vrrpd loses its first advert ("Failed to find address to bind on vrrp6-N": the macvlan's
     * link-local is not bound yet), so its first advert on the wire comes one interval late. If low's own
     * timer ran out in that gap, low (keepalived-ts) rightly became MASTER — then it must have done so before
     * mid's first advert reached the wire, and yielded to it at once.
     */
    const lowStayedBackup = async (at: number[], sinceMs: number) => {
      // Judge only once mid's first advert as Master is on the wire (and has had time to reach low).
      const first = await capture!.first((a) => a.priority === 200 && a.vrid === SPEC.vrid, sinceMs);
      assert.ok(first, `mid's adverts captured\n${logs()}`);
      await sleep(20);
      const lowMaster = low.entered('MASTER', at[2]!);
      if (lowMaster === null) return;
      assert.ok(family === 6 && !highIsFrr, `low went MASTER\n${logs()}`);
      assert.ok(lowMaster <= first.atMs + 5, `low went MASTER after mid's first advert\n${logs()}`);
      await pollUntil(
        () => low.lastState() === 'BACKUP',
        2 * ADVERT_MS,
        () => `low back to BACKUP\n${logs()}`,
      );
      lostFirstAdverts.push(Math.round(first.atMs - (mid.entered('MASTER', at[1]!) ?? first.atMs)));
    };
    let marks = peers.map((p) => p.mark());

    // 1. Election (a non-owner FRR waits a full Master_Down_Interval after start, like keepalived).
    await pollUntil(
      () => high.lastState() === 'MASTER' && mid.lastState() === 'BACKUP' && low.lastState() === 'BACKUP',
      masterDownMs(SPEC, 250) + 6000,
      () => `election\n${logs()}`,
    );
    await vipOn(high);
    // Then quiet for low's whole Master_Down_Interval, so every backup's timer has been reset by an advert
    // actually heard from high: a backup started just after high's advert and cut off before the next one
    // would otherwise still run its start-up timer and race mid for Master after the cut.
    const quiet = peers.map((p) => p.mark());
    await sleep(masterDownMs(SPEC, 50) + ADVERT_MS);
    for (const [k, p] of peers.entries()) {
      const moved = p.entered('MASTER', quiet[k]!) ?? p.entered('BACKUP', quiet[k]!);
      assert.equal(moved, null, `${p.name} steady after the election\n${logs()}`);
    }

    // 2. Link cut of high: mid takes over.
    marks = peers.map((p) => p.mark());
    // Timed from when the cut is done (`ip` may wait on the RTNL lock behind other tests' namespaces).
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('high'), 'down');
    const cutAt = Date.now();
    const cutTook = (await waitEntered(mid, 'MASTER', marks[1]!, masterDownMs(SPEC, 200) + 3000)) - cutAt;
    if (highIsFrr) {
      // FRR 8.4 vrrpd does not react to carrier loss under its macvlan (FRR issue #16658): it stays Master,
      // cut off. Its macvlan loses its lower link, so the VIP is unusable there all the same.
      await sleep(2 * ADVERT_MS);
      assert.equal(high.lastState(), 'MASTER', 'FRR behaviour changed: it now leaves Master on carrier loss');
    } else {
      await pollUntil(
        () => high.lastState() === 'FAULT',
        3000,
        () => `high enters FAULT on carrier loss\n${logs()}`,
      );
    }
    await vipOn(mid);
    await lowStayedBackup(marks, cutAt);
    assert.ok(
      cutTook < masterDownMs(SPEC, 200) + Math.max(500, ADVERT_MS / 2),
      `link-cut failover ${cutTook} ms`,
    );

    // 3. Link back: high preempts (FRR, never having left Master, just resumes being heard: mid yields).
    marks = peers.map((p) => p.mark());
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('high'), 'up');
    const upAt = Date.now();
    const preemptTook = highIsFrr
      ? (await waitEntered(mid, 'BACKUP', marks[1]!, masterDownMs(SPEC, 250) + 5000)) - upAt
      : (await waitEntered(high, 'MASTER', marks[0]!, masterDownMs(SPEC, 250) + 5000)) - upAt;
    await waitEntered(mid, 'BACKUP', marks[1]!, 3000);
    assert.equal(high.lastState(), 'MASTER');
    await vipOn(high);
    assert.equal(low.entered('MASTER', marks[2]!), null, `low stayed BACKUP\n${logs()}`);

    // 4. Graceful stop of high.
    marks = peers.map((p) => p.mark());
    const stopAt = Date.now();
    const stopping = high.stop();
    const gracefulTook = (await waitEntered(mid, 'MASTER', marks[1]!, 3000)) - stopAt;
    await stopping;
    await vipOn(mid);
    const prioZero = await capture.first((a) => a.priority === 0 && a.vrid === SPEC.vrid, stopAt);
    assert.ok(prioZero, `high's priority-0 advert captured on mid's eth0\n${logs()}`);
    const wireTook = Math.round((mid.entered('MASTER', marks[1]!) ?? 0) - prioZero.atMs);
    await sleep(Math.max(2 * ADVERT_MS, skewMs(SPEC, 50) + ADVERT_MS));
    await lowStayedBackup(marks, stopAt);
    assert.ok(wireTook < ADVERT_MS + 200, `takeover ${wireTook} ms after the priority-0 advert\n${logs()}`);
    const [a, b] = highIsFrr ? ['FRR', 'keepalived-ts'] : ['keepalived-ts', 'FRR'];
    return (
      `# v${SPEC.version} IPv${family} multicast, ${a} master → ${b}: link-cut failover ${cutTook} ms, ` +
      `preempt after link-up ${preemptTook} ms, graceful stop: priority-0 advert → takeover ${wireTook} ms ` +
      `(SIGTERM → takeover ${gracefulTook} ms)` +
      (lostFirstAdverts.length > 0
        ? `; FRR's first IPv6 advert as Master came ${lostFirstAdverts.join('/')} ms late, low briefly MASTER`
        : '')
    );
  } finally {
    capture?.stop();
    await Promise.all(frrs.map((f) => f.stop()));
    await teardown(lab, routers);
    for (const f of frrs) f.removeDir();
  }
}

for (const family of [4, 6] as const) {
  test(`v3 IPv${family} multicast: keepalived-ts master, FRR vrrpd takes over`, {
    skip,
    timeout: 40_000,
  }, async () => {
    console.log(await scenario(specFor(3, family), false, `ifr${family}t`));
  });

  test(`v3 IPv${family} multicast: FRR vrrpd master, keepalived-ts takes over`, {
    skip,
    // Seen once in a CI-style run: FRR 8.4 vrrpd, Master over IPv6, kept failing to bind its macvlan
    // link-local ("Failed to find address to bind on vrrp6-51", every interval for > 0.5 s) and sent no
    // advert, so both backups rightly went MASTER. An FRR/host defect, not ours; the test still runs and
    // reports, but does not gate CI on it for IPv6.
    todo:
      family === 6
        ? 'FRR 8.4 as IPv6 master sometimes sends no adverts for > 0.5 s (cannot bind its link-local)'
        : undefined,
    timeout: 40_000,
  }, async () => {
    console.log(await scenario(specFor(3, family), true, `ifr${family}f`));
  });
}

// VRRPv2 waits out ~3.2 s Master_Down_Intervals: the two directions run side by side, each on its own LAN.
describe('VRRPv2 IPv4 with FRR vrrpd', { concurrency: true }, () => {
  for (const highIsFrr of [false, true]) {
    const [a, b] = highIsFrr ? ['FRR vrrpd', 'keepalived-ts'] : ['keepalived-ts', 'FRR vrrpd'];
    test(`v2 IPv4 multicast: ${a} master, ${b} takes over`, { skip, timeout: 45_000 }, async () => {
      console.log(await scenario(specFor(2, 4), highIsFrr, `ifr2${highIsFrr ? 'f' : 't'}`));
    });
  }
});
