// keepalived-ts beside FRR 8.4 vrrpd, VRRPv3 over IPv4 multicast at a 100 ms advert interval, on a three-host
// LAN alternating implementations (high 250 · mid 200 · low 50, as in scenario.ts): election, link cut of the
// master, its return and preemption, and graceful stop (SIGTERM: priority 0), with the VIP usable on exactly
// the rightful host after each step. FRR keeps the VIP on a protodown macvlan while Backup (frr-peer.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Router, sleep } from '../daemon/router.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { tcpdumpInstalled, VrrpCapture } from './capture.js';
import { FrrPeer, frrInstalled } from './frr-peer.js';
import { addHost, hostAddr, type InstanceSpec, instanceConf, msSince, startPeer, teardown } from './peers.js';
import { masterDownMs, skewMs } from './scenario.js';

const skip = !isRoot()
  ? 'needs root'
  : !frrInstalled()
    ? 'FRR (zebra, vrrpd, user frr) not installed'
    : !tcpdumpInstalled()
      ? 'tcpdump not installed'
      : false;
const VIP = '192.0.2.100';
const SPEC: InstanceSpec = { version: 3, family: 4, unicast: false, vrid: 51, advertIntS: 0.1 };
const ADVERT_MS = 100;

/** Polls `cond` every 10 ms; the failure message is built at the deadline, so it shows the logs then. */
async function waitUntil(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(10);
  }
}

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

function fromRouter(r: Router): Peer {
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
    holdsVip: () => ip('-n', r.ns, '-o', 'addr', 'show', 'dev', 'eth0').includes(` ${VIP}/`),
    stop: async () => {
      await r.stop('SIGTERM', 3000);
    },
    log: () => `${r.log()}\n  [${r.name}] running=${r.running} exit=${r.exitCode}/${r.exitSignal}`,
  };
}

function fromFrr(f: FrrPeer): Peer {
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
    holdsVip: () => f.holdsVip(VIP),
    stop: () => f.stop(),
    log: () => f.log(),
  };
}

async function scenario(highIsFrr: boolean, label: string): Promise<string> {
  const lab = new Lab(label);
  const routers: Router[] = [];
  const frrs: FrrPeer[] = [];
  const peers: Peer[] = [];
  let capture: VrrpCapture | null = null;
  try {
    const prios = [250, 200, 50];
    const names = ['high', 'mid', 'low'];
    for (const [k, name] of names.entries()) {
      const ns = addHost(lab, name, 4, k + 1);
      const frr = (k === 1) !== highIsFrr;
      if (frr) {
        const f = new FrrPeer(`${name}-frr`, ns, {
          vrid: SPEC.vrid,
          priority: prios[k]!,
          advertIntMs: ADVERT_MS,
          vip: VIP,
          prefixLen: 24,
        });
        frrs.push(f);
        await f.startVrrpd();
        peers.push(fromFrr(f));
      } else {
        const r = startPeer('ts', `${name}-ts`, ns, instanceConf(SPEC, prios[k]!, hostAddr(4, k + 1), []));
        routers.push(r);
        peers.push(fromRouter(r));
      }
    }
    const [high, mid, low] = peers as [Peer, Peer, Peer];
    // On mid's eth0: when the priority-0 advert reaches the node that must take over.
    capture = new VrrpCapture(mid.ns, 'eth0');
    await capture.ready();
    const logs = () => peers.map((p) => `${p.name}:\n${p.log()}`).join('\n');
    const vipOn = (p: Peer) =>
      waitUntil(
        () => peers.every((q) => q.holdsVip() === (q === p)),
        3000,
        () =>
          `VIP usable on ${p.name} only (now on ${peers.filter((q) => q.holdsVip()).map((q) => q.name)})\n${logs()}`,
      );
    const waitEntered = async (p: Peer, state: string, mark: number, timeoutMs: number) => {
      await waitUntil(
        () => p.entered(state, mark) !== null,
        timeoutMs,
        () => `${p.name} entering ${state}\n${logs()}`,
      );
      return p.entered(state, mark)!;
    };

    // 1. Election (a non-owner FRR waits a full Master_Down_Interval after start, like keepalived).
    await waitUntil(
      () => high.lastState() === 'MASTER' && mid.lastState() === 'BACKUP' && low.lastState() === 'BACKUP',
      8000,
      () => `election\n${logs()}`,
    );
    await vipOn(high);

    // 2. Link cut of high: mid takes over.
    let marks = peers.map((p) => p.mark());
    const cutAt = Date.now();
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('high'), 'down');
    const cutTook = (await waitEntered(mid, 'MASTER', marks[1]!, 3000)) - cutAt;
    if (highIsFrr) {
      // FRR 8.4 vrrpd does not react to carrier loss under its macvlan (FRR issue #16658): it stays Master,
      // cut off. Its macvlan loses its lower link, so the VIP is unusable there all the same.
      await sleep(2 * ADVERT_MS);
      assert.equal(high.lastState(), 'MASTER', 'FRR behaviour changed: it now leaves Master on carrier loss');
    } else {
      await waitUntil(
        () => high.lastState() === 'FAULT',
        3000,
        () => `high enters FAULT on carrier loss\n${logs()}`,
      );
    }
    await vipOn(mid);
    assert.equal(low.entered('MASTER', marks[2]!), null, `low stayed BACKUP\n${logs()}`);
    assert.ok(cutTook < masterDownMs(SPEC, 200) + 400, `link-cut failover ${cutTook} ms`);

    // 3. Link back: high preempts (FRR, never having left Master, just resumes being heard: mid yields).
    marks = peers.map((p) => p.mark());
    const upAt = Date.now();
    ip('-n', lab.bridgeNs, 'link', 'set', lab.portOf('high'), 'up');
    const preemptTook = highIsFrr
      ? (await waitEntered(mid, 'BACKUP', marks[1]!, 6000)) - upAt
      : (await waitEntered(high, 'MASTER', marks[0]!, 6000)) - upAt;
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
    assert.ok(prioZero, `high's priority-0 advert seen on the bridge\n${logs()}`);
    const wireTook = Math.round((mid.entered('MASTER', marks[1]!) ?? 0) - prioZero.atMs);
    await sleep(Math.max(2 * ADVERT_MS, skewMs(SPEC, 50) + ADVERT_MS));
    assert.equal(low.entered('MASTER', marks[2]!), null, `low stayed BACKUP\n${logs()}`);
    assert.ok(wireTook < ADVERT_MS + 200, `takeover ${wireTook} ms after the priority-0 advert\n${logs()}`);
    const [a, b] = highIsFrr ? ['FRR', 'keepalived-ts'] : ['keepalived-ts', 'FRR'];
    return (
      `# v3 IPv4 multicast, ${a} master → ${b}: link-cut failover ${cutTook} ms, ` +
      `preempt after link-up ${preemptTook} ms, graceful stop: priority-0 advert → takeover ${wireTook} ms ` +
      `(SIGTERM → takeover ${gracefulTook} ms)`
    );
  } finally {
    capture?.stop();
    await Promise.all(frrs.map((f) => f.stop()));
    await teardown(lab, routers);
    for (const f of frrs) f.removeDir();
  }
}

test('v3 IPv4 multicast: keepalived-ts master, FRR vrrpd takes over', { skip, timeout: 40_000 }, async () => {
  console.log(await scenario(false, 'ifrt'));
});

test('v3 IPv4 multicast: FRR vrrpd master, keepalived-ts takes over', { skip, timeout: 40_000 }, async () => {
  console.log(await scenario(true, 'ifrf'));
});
