// keepalived-ts's BFD against FRR 8.4's bfdd and against keepalived 2.2.7's own BFD process, on a two-host
// LAN (192.0.2.1 ours, 192.0.2.2 the peer), 100 ms intervals and multiplier 3 (detection time 300 ms).
// Sessions come Up on both sides; stopping the peer takes our session Down within the detection time; a
// track_bfd with weight 0 puts its instance in FAULT while the session is Down and one with weight 20 moves
// the priority 100 ↔ 120 — the same lines keepalived 2.2.7 logs when it runs the same configuration (checked
// here with keepalived on the other side, against our BFD process being killed and respawned).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Router } from '../daemon/router.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { FRR_DIR, frrDaemonArgv } from './frr-peer.js';
import { addHost, referenceCommand, referenceInstalled, sysctl, teardown } from './peers.js';

const frrBfdd = () => existsSync(join(FRR_DIR, 'bfdd')) && spawnSync('id', ['-u', 'frr']).status === 0;
const DETECT_MS = 300;
/** Time a line takes to reach us, and a loaded 2-core machine's scheduling, on top of the detection time. */
const SLACK_MS = 250;

const bfdBlock = (neighbor: string, source: string) => `bfd_instance b1 {
  neighbor_ip ${neighbor}
  source_ip ${source}
  min_rx 100
  min_tx 100
  multiplier 3
}
`;
const vrrpBlocks = (vrid: number) => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  virtual_ipaddress { 192.0.2.${vrid}/24 }
  track_bfd { b1 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id ${vrid + 1}
  priority 100
  advert_int 1
  virtual_ipaddress { 192.0.2.${vrid + 1}/24 }
  track_bfd { b1 weight 20 }
}
`;

/** The lines both implementations log for track_bfd (keepalived 2.2.7's words). */
const TRACK_UP = [
  /VRRP_Instance\(VI_1\) Tracked BFD instance b1 is UP/,
  /\(VI_2\) Changing effective priority from 100 to 120/,
];
const TRACK_DOWN = [
  /VRRP_Instance\(VI_1\) Tracked BFD instance b1 is DOWN/,
  /\(VI_1\) Entering FAULT STATE/,
  /\(VI_2\) Changing effective priority from 120 to 100/,
];

async function waitAll(r: Router, res: RegExp[], timeoutMs: number, from: number): Promise<void> {
  for (const re of res) await r.waitFor(re, timeoutMs, from);
}

/** Session b1 going Down because its detection time ran out. */
const DETECTION_DOWN = /\(b1\) Entering Down state \(Local diagnostic - Control Detection Time Expired/;

/** Milliseconds from `t0` to the first line at or after `from` matching `re` (its own stamp if it has one). */
async function msUntil(r: Router, re: RegExp, t0: number, from: number, timeoutMs: number): Promise<number> {
  const l = await r.waitFor(re, timeoutMs, from);
  return (l.stampMs ?? l.rxMs) - t0;
}

/** zebra + bfdd in `ns`, everything in one directory owned by frr (docs/frr-test-peer.md). */
class FrrBfd {
  readonly dir = mkdtempSync(join(tmpdir(), 'kats-frrbfd-'));
  readonly #procs: ChildProcess[] = [];
  /** `peers`: bfdd's `peer …` lines (default: the IPv4 single-hop session to us). */
  constructor(
    readonly ns: string,
    peers = ['peer 192.0.2.1 local-address 192.0.2.2'],
  ) {
    const d = this.dir;
    writeFileSync(join(d, 'zebra.conf'), `log file ${join(d, 'zebra.log')}\n`);
    writeFileSync(
      join(d, 'bfdd.conf'),
      [
        `log file ${join(d, 'bfdd.log')}`,
        'bfd',
        ...peers.flatMap((p) => [
          ` ${p}`,
          '  receive-interval 100',
          '  transmit-interval 100',
          '  detect-multiplier 3',
          ' !',
        ]),
        '!',
        '',
      ].join('\n'),
    );
    const uid = Number(spawnSync('id', ['-u', 'frr'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'frr'], { encoding: 'utf8' }).stdout.trim());
    for (const f of ['', 'zebra.conf', 'bfdd.conf']) chownSync(join(d, f), uid, gid);
  }

  start(daemon: 'zebra' | 'bfdd'): void {
    const p = spawn('ip', frrDaemonArgv(this.ns, this.dir, daemon), { stdio: 'ignore' });
    this.#procs.push(p);
  }

  async waitForZebra(): Promise<void> {
    for (let k = 0; k < 250 && !existsSync(join(this.dir, 'zserv.api')); k++)
      await new Promise((r) => setTimeout(r, 20));
  }

  /** bfdd's own view of its sessions, in its order: 'up', 'down', 'init'… */
  peerStatuses(): string[] {
    const r = spawnSync('vtysh', ['--vty_socket', this.dir, '-c', 'show bfd peers json'], {
      encoding: 'utf8',
    });
    try {
      return (JSON.parse(r.stdout) as { status?: string }[]).map((p) => p.status ?? '');
    } catch {
      return [];
    }
  }

  peerStatus(): string {
    return this.peerStatuses()[0] ?? '';
  }

  kill(daemon: 'bfdd'): number {
    const pid = Number(readFileSync(join(this.dir, `${daemon}.pid`), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    return Date.now();
  }

  close(): void {
    for (const p of this.#procs) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    // Crash-log directories FRR keeps per daemon pid (only ours; `ip netns exec` execs the daemon, so the
    // spawned pid is the daemon's), left behind by a SIGKILL.
    for (const p of this.#procs)
      for (const daemon of ['zebra', 'bfdd'])
        rmSync(`/var/tmp/frr/${daemon}.${p.pid}`, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const skip = !isRoot() ? 'needs root' : false;

describe('BFD interop', { skip }, () => {
  const routers: Router[] = [];
  const labs: Lab[] = [];
  const frrs: FrrBfd[] = [];
  after(async () => {
    for (const f of frrs) f.close();
    await teardown(null, routers);
    for (const l of labs) l.close();
  });
  const twoHosts = () => {
    const lab = new Lab('bfd');
    labs.push(lab);
    return { a: addHost(lab, 'bfda', 4, 1), b: addHost(lab, 'bfdb', 4, 2) };
  };
  const ours = (ns: string) => {
    const r = new Router('ts', ns, `${bfdBlock('192.0.2.2', '192.0.2.1')}${vrrpBlocks(51)}`, {
      extraArgs: ['-b', join(tmpdir(), `kats-bfd-${process.pid}-${Date.now()}.pid`)],
    });
    routers.push(r);
    return r;
  };

  test('against FRR 8.4 bfdd: Up on both sides, the peer killed is Down within the detection time, track_bfd follows', {
    skip: frrBfdd() ? false : 'FRR bfdd not installed',
  }, async (t) => {
    const { a, b } = twoHosts();
    const frr = new FrrBfd(b);
    frrs.push(frr);
    frr.start('zebra');
    await frr.waitForZebra();
    frr.start('bfdd');
    const ts = ours(a);
    // Session Down at start: the weight-0 tracker holds VI_1 in FAULT.
    await ts.waitFor(/\(VI_1\) Entering FAULT STATE/, 5000);
    const m0 = ts.mark();
    await ts.waitFor(/\(b1\) Entering Up state/, 5000);
    await waitAll(ts, TRACK_UP, 2000, m0);
    await ts.waitFor(/\(VI_1\) Entering BACKUP STATE/, 2000, m0);
    for (let k = 0; k < 100 && frr.peerStatus() !== 'up'; k++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(frr.peerStatus(), 'up', 'bfdd sees the session Up');
    // A reload that leaves the session's parameters alone keeps it Up: no Down, no tracker change. So does
    // one that changes min_tx (keepalived keeps the state and polls the new value to bfdd).
    for (const conf of [null, ts.conf]) {
      if (conf)
        writeFileSync(
          conf,
          readFileSync(conf, 'utf8')
            .replace(/min_tx 100/, 'min_tx 120')
            .replace(/min_rx 100/, 'min_rx 110'),
        );
      const mr = ts.mark();
      ts.proc.kill('SIGHUP');
      await ts.waitFor(/Reloading \(BFD\)/, 3000, mr);
      await new Promise((r) => setTimeout(r, 700));
      assert.deepEqual(
        ts.grep(/\(b1\) Entering|Tracked BFD instance b1 is DOWN/, mr).map((l) => l.text),
        [],
        'the reload kept the session',
      );
    }
    // bfdd answered the Poll: our detection time is now 3 × max(110 ms, bfdd's 100 ms).
    await ts.waitFor(/Detection time is 330000 us/, 2000);
    assert.equal(frr.peerStatus(), 'up');
    // Let the Up rate settle (poll sequence done), then kill bfdd without a word.
    await new Promise((r) => setTimeout(r, 500));
    const m1 = ts.mark();
    const t0 = frr.kill('bfdd');
    const ms = await msUntil(ts, DETECTION_DOWN, t0, m1, 3000);
    t.diagnostic(`Down ${ms} ms after bfdd was killed`);
    // min_rx 110 since the reload: detection time 330 ms.
    assert.ok(ms <= 330 + SLACK_MS, `Down ${ms} ms after bfdd died (detection time 330 ms)`);
    await waitAll(ts, TRACK_DOWN, 2000, m1);
    // bfdd back: Up again.
    const m2 = ts.mark();
    frr.start('bfdd');
    await ts.waitFor(/\(b1\) Entering Up state/, 5000, m2);
  });

  test('against keepalived 2.2.7: Up both ways; keepalived reacts to our BFD process dying as we react to it', {
    skip: referenceInstalled() ? false : 'keepalived not installed',
  }, async (t) => {
    const { a, b } = twoHosts();
    // keepalived runs the mirror configuration: its own VI_1/VI_2 (VRIDs 61/62) tracking its session to us.
    const ka = new Router('ka', b, `${bfdBlock('192.0.2.1', '192.0.2.2')}${vrrpBlocks(61)}`, {
      command: (r) => referenceCommand(r, { bfd: true }),
    });
    routers.push(ka);
    const bfdPid = join(tmpdir(), `kats-bfd-${process.pid}-ka.pid`);
    const ts = new Router('ts', a, `${bfdBlock('192.0.2.2', '192.0.2.1')}${vrrpBlocks(51)}`, {
      extraArgs: ['-b', bfdPid],
    });
    routers.push(ts);
    await ts.waitFor(/\(b1\) Entering Up state/, 8000);
    await waitAll(ts, TRACK_UP, 2000, 0);
    await ka.waitFor(/\(b1\) Entering Up state/, 3000);
    await waitAll(ka, TRACK_UP, 2000, 0);
    // The side that goes Up on the other's Init keeps the idle rate until its Poll Sequence ends, up to one
    // idle interval later (keepalived 2.2.7 and ours alike): wait for the 300 ms detection times.
    await ts.waitFor(/Detection time is 300000 us/, 3000);
    await ka.waitFor(/Detection time is 300000 us/, 3000);

    // Our BFD process dies: keepalived's session expires and its trackers do what ours did above.
    const k1 = ka.mark();
    const m1 = ts.mark();
    process.kill(Number(readFileSync(bfdPid, 'utf8').trim()), 'SIGKILL');
    const t1 = Date.now();
    await ka.waitFor(DETECTION_DOWN, 3000, k1);
    assert.ok(Date.now() - t1 <= DETECT_MS + SLACK_MS + 1000, 'keepalived detected our loss');
    await waitAll(ka, TRACK_DOWN, 2000, k1);
    // Ours is respawned (1 s back-off). VRRP still holds the session Up; the new process reports it Down first,
    // as keepalived's BFD process does when it starts, then Up again with keepalived.
    await ts.waitFor(/BFD child process\(\d+\) died \(signal SIGKILL\): Respawning/, 2000, m1);
    await waitAll(ts, TRACK_DOWN, 4000, m1);
    const m2 = ts.mark();
    await ts.waitFor(/\(b1\) Entering Up state/, 8000, m2);
    await waitAll(ts, TRACK_UP, 2000, m2);

    // keepalived stopped (SIGKILL: nothing said): our session Down within the detection time, trackers follow.
    await ts.waitFor(/Detection time is 300000 us/, 3000, m2);
    const m3 = ts.mark();
    const t3 = Date.now();
    await ka.stop('SIGKILL', 1000);
    const ms = await msUntil(ts, DETECTION_DOWN, t3, m3, 3000);
    t.diagnostic(`Down ${ms} ms after keepalived was killed`);
    assert.ok(
      ms <= DETECT_MS + SLACK_MS,
      `Down ${ms} ms after keepalived died (detection time ${DETECT_MS} ms)`,
    );
    await waitAll(ts, TRACK_DOWN, 2000, m3);
    rmSync(bfdPid, { force: true });
  });

  test('against keepalived 2.2.7: a session whose source address is missing is AdminDown, and the first packet after the address appears brings it Up', {
    skip: referenceInstalled() ? false : 'keepalived not installed',
  }, async () => {
    const { a, b } = twoHosts();
    const block = (neighbor: string, source: string) =>
      bfdBlock(neighbor, source).replace('bfd_instance b1', 'bfd_instance late');
    // Ours binds its send socket to 192.0.2.11, not yet on any interface: the session is disabled.
    const ts = new Router('ts', a, block('192.0.2.2', '192.0.2.11'), {
      extraArgs: ['-b', join(tmpdir(), `kats-bfd-${process.pid}-late.pid`)],
    });
    routers.push(ts);
    await ts.waitFor(/\(late\) Unable to open output socket, disabling instance/, 5000);
    await ts.waitFor(/\(late\) Entering AdminDown state/, 1000);
    const ka = new Router('ka', b, block('192.0.2.11', '192.0.2.2'), {
      command: (r) => referenceCommand(r, { bfd: true }),
    });
    routers.push(ka);
    // keepalived's packets cannot reach us yet; once the address is there the next one reopens the socket
    // (well before the minute's retry) and the session comes Up on both sides.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      ts.grep(/\(late\) Entering Up state/).map((l) => l.text),
      [],
    );
    const m = ts.mark();
    ip('-n', a, 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0');
    await ts.waitFor(/\(late\) Entering Up state/, 5000, m);
    await ka.waitFor(/\(late\) Entering Up state/, 3000);
  });

  test('against FRR 8.4 bfdd: an IPv6 session (hop limit 255) and an IPv4 multihop one (port 4784) at once, BFD alone', {
    skip: frrBfdd() ? false : 'FRR bfdd not installed',
  }, async () => {
    const { a, b } = twoHosts();
    for (const [ns, k] of [
      [a, 1],
      [b, 2],
    ] as const) {
      sysctl(ns, 'net.ipv6.conf.eth0.accept_dad', '0');
      ip('-n', ns, 'addr', 'add', `2001:db8::${k}/64`, 'dev', 'eth0', 'nodad');
    }
    const frr = new FrrBfd(b, [
      'peer 2001:db8::1 local-address 2001:db8::2',
      'peer 192.0.2.1 multihop local-address 192.0.2.2',
    ]);
    frrs.push(frr);
    frr.start('zebra');
    await frr.waitForZebra();
    frr.start('bfdd');
    const conf = `bfd_instance v6 {
  neighbor_ip 2001:db8::2
  source_ip 2001:db8::1
  hoplimit 255
  min_rx 100
  min_tx 100
  multiplier 3
}
bfd_instance mh {
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
  multihop
  max_hops 2
  min_rx 100
  min_tx 100
  multiplier 3
}
`;
    // No vrrp_instance: the BFD process alone runs (keepalived does the same).
    const ts = new Router('ts', a, conf, {
      extraArgs: ['-b', join(tmpdir(), `kats-bfd-${process.pid}-mh.pid`)],
    });
    routers.push(ts);
    await ts.waitFor(/\(v6\) Entering Up state/, 8000);
    await ts.waitFor(/\(mh\) Entering Up state/, 8000);
    for (let k = 0; k < 100 && frr.peerStatuses().some((s) => s !== 'up'); k++)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(frr.peerStatuses(), ['up', 'up'], 'bfdd sees both sessions Up');
  });
});
