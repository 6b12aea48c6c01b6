// Scale: 1,000 VRRPv3 instances on 4 interfaces (250 each, IPv6, advert_int 1) with 4 VIPs each (4,000
// VIPs), router A (priority 200) master of all and router B (priority 100) backup of all, joined by four
// veth pairs. For keepalived-ts and then keepalived 2.2.7 with the same configuration (one at a time):
//   - all elected (A 1,000 MASTER, B 1,000 BACKUP) and how long it took;
//   - a window (default 60 s): CPU (utime+stime) and RSS of each daemon, no state change on either side, and
//     the master's advert lateness as B's interfaces see it (per instance, the gap between consecutive
//     adverts minus the interval: p50 / p99 / max);
//   - the backup side: A is killed (SIGKILL: no priority-0 advert, every Master_Down timer runs out) and
//     B's first advert per instance is timed on the wire from the kill: the first takeover, the last, and
//     the spread between them; all 4,000 VIPs on B afterwards.
// Targets (keepalived-ts): nothing crashes or leaks, CPU within 3× keepalived's, RSS under 100 MB.
// IPv6 VIPs, since 4,000 addresses do not fit the IPv4 documentation ranges.
//
// Usage (root): node --import tsx bench/instances-1000.ts
//   KATS_BENCH_WINDOW_S=N   measurement window in seconds (default 60)
//   KATS_BENCH_IMPLS=a,b    implementations (default keepalived-ts,keepalived)
//   KATS_BENCH_PER_LINK=N   instances per interface (default 250)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AdvertCapture } from './lib/advert-capture.js';
import { forgetNamespace, installCleanup, trackNamespace } from './lib/cleanup.js';
import { ip, isRoot } from './lib/failover-lab.js';
import { sleep } from './lib/failover-scenario.js';
import { cpuSeconds, memoryMiB, sum } from './lib/proc-usage.js';
import { envNumber, machineLine, saveResults, table } from './lib/stats.js';
import { type Implementation, referenceAvailable, VrrpDaemon } from './lib/vrrp-daemon.js';

const LINKS = 4;
const VIPS_PER_INSTANCE = 4;
const CPU_RATIO_TARGET = 3;
const RSS_TARGET_MB = 100;

function conf(perLink: number, priority: number): string {
  let text = '';
  let k = 0;
  for (let l = 0; l < LINKS; l++) {
    for (let vrid = 1; vrid <= perLink; vrid++) {
      k++;
      const vips = Array.from(
        { length: VIPS_PER_INSTANCE },
        (_, n) => `    2001:db8:${l + 1}:${vrid.toString(16)}::${n + 1}/128`,
      ).join('\n');
      text += `vrrp_instance VI_${k} {
  state BACKUP
  interface eth${l}
  virtual_router_id ${vrid}
  version 3
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
${vips}
  }
}
`;
    }
  }
  return text;
}

/** Two namespaces joined by LINKS veth pairs (eth0..eth3 on each side). */
function lab(): { a: string; b: string; close: () => void } {
  const tag = randomBytes(3).toString('hex');
  const a = `kats-k1000a-${tag}`;
  const b = `kats-k1000b-${tag}`;
  for (const ns of [a, b]) {
    ip('netns', 'add', ns);
    trackNamespace(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  for (let l = 0; l < LINKS; l++) {
    ip('-n', a, 'link', 'add', `eth${l}`, 'type', 'veth', 'peer', 'name', `eth${l}`, 'netns', b);
    ip('-n', a, 'link', 'set', `eth${l}`, 'up');
    ip('-n', b, 'link', 'set', `eth${l}`, 'up');
  }
  return {
    a,
    b,
    close: () => {
      for (const ns of [a, b]) {
        spawnSync('ip', ['netns', 'del', ns]);
        forgetNamespace(ns);
      }
    },
  };
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

function lastStates(d: VrrpDaemon): Map<string, string> {
  const last = new Map<string, string>();
  for (const t of d.transitions()) last.set(t.instance, t.state);
  return last;
}

function allIn(d: VrrpDaemon, state: string, n: number): boolean {
  const last = lastStates(d);
  if (last.size !== n) return false;
  for (const s of last.values()) if (s !== state) return false;
  return true;
}

const vipCount = (ns: string) =>
  (spawnSync('ip', ['-n', ns, '-6', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .filter((l) => / inet6 2001:db8:/.test(l)).length;

interface Result {
  impl: Implementation;
  electedS: number;
  stable: boolean;
  cpuMaster: number;
  cpuBackup: number;
  rssMaster: number;
  rssBackup: number;
  lateP50Ms: number;
  lateP99Ms: number;
  lateMaxMs: number;
  adverts: number;
  firstTakeoverMs: number;
  lastTakeoverMs: number;
  takenOver: number;
  vipsAfter: number;
}

async function runOne(impl: Implementation, perLink: number, windowS: number): Promise<Result> {
  const n = LINKS * perLink;
  const net = lab();
  // Link-local addresses finish DAD before the daemons start (an IPv6 instance sends from its link-local).
  await sleep(2500);
  const a = new VrrpDaemon('a', impl, net.a, conf(perLink, 200));
  const b = new VrrpDaemon('b', impl, net.b, conf(perLink, 100));
  const captures = Array.from({ length: LINKS }, (_, l) => new AdvertCapture(net.b, `eth${l}`));
  try {
    await Promise.all(captures.map((c) => c.ready()));
    const t0 = Date.now();
    a.start();
    b.start();
    for (const deadline = Date.now() + 120_000; !(allIn(a, 'MASTER', n) && allIn(b, 'BACKUP', n)); ) {
      if (!a.running || !b.running)
        throw new Error(`${impl} exited\n${a.log().slice(-3000)}\n${b.log().slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${impl}: ${n} masters / ${n} backups not reached in 120 s`);
      await sleep(250);
    }
    const electedS = (Date.now() - t0) / 1000;
    await sleep(5000); // the takeover's GARP/NA rounds and any start-up work
    const marks = [a.mark(), b.mark()];
    const pids = [a.processTree(), b.processTree()];
    const cpu0 = pids.map((p) => sum(p, cpuSeconds));
    const w0 = performance.now();
    const fromMs = Date.now();
    await sleep(windowS * 1000);
    const elapsedS = (performance.now() - w0) / 1000;
    const toMs = Date.now();
    const cpu = pids.map((p, k) => ((sum(p, cpuSeconds) - cpu0[k]!) / elapsedS) * 100);
    const rss = pids.map((p) => p.reduce((t, pid) => t + (memoryMiB(pid)?.rssMiB ?? 0), 0));
    const stable = a.transitions(marks[0]).length === 0 && b.transitions(marks[1]).length === 0;
    // Lateness of the master's adverts per instance (link, VRID), as B received them.
    const late: number[] = [];
    let adverts = 0;
    for (const c of captures) {
      const last = new Map<number, number>();
      for (const x of c.adverts) {
        if (x.atMs < fromMs || x.atMs > toMs || x.priority !== 200) continue;
        adverts++;
        const prev = last.get(x.vrid);
        if (prev !== undefined) late.push(x.atMs - prev - 1000);
        last.set(x.vrid, x.atMs);
      }
    }
    // The backup side: the master dies; every Master_Down timer on B runs out.
    // The whole tree at once: keepalived's VRRP child would otherwise see its parent die and stop gracefully.
    const tree = a.processTree();
    const killMs = Date.now();
    for (const pid of tree) process.kill(pid, 'SIGKILL');
    await a.stop('SIGKILL');
    for (const deadline = Date.now() + 30_000; !allIn(b, 'MASTER', n) && Date.now() < deadline; )
      await sleep(250);
    await sleep(2000);
    const firstByInstance: number[] = [];
    for (const c of captures) {
      const seen = new Map<number, number>();
      for (const x of c.adverts)
        if (x.atMs >= killMs && x.priority === 100 && !seen.has(x.vrid)) seen.set(x.vrid, x.atMs);
      firstByInstance.push(...seen.values());
    }
    return {
      impl,
      electedS,
      stable,
      cpuMaster: cpu[0]!,
      cpuBackup: cpu[1]!,
      rssMaster: rss[0]!,
      rssBackup: rss[1]!,
      lateP50Ms: percentile(late, 50),
      lateP99Ms: percentile(late, 99),
      lateMaxMs: late.length ? Math.max(...late) : Number.NaN,
      adverts,
      firstTakeoverMs: Math.min(...firstByInstance) - killMs,
      lastTakeoverMs: Math.max(...firstByInstance) - killMs,
      takenOver: firstByInstance.length,
      vipsAfter: vipCount(net.b),
    };
  } finally {
    for (const c of captures) c.stop();
    await Promise.all([a.stop('SIGTERM', 15_000), b.stop('SIGTERM', 15_000)]);
    net.close();
    a.removeDir();
    b.removeDir();
  }
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('instances-1000 needs root (network namespaces, raw sockets); skipped.');
    return;
  }
  installCleanup();
  const windowS = envNumber('KATS_BENCH_WINDOW_S', 60);
  const perLink = envNumber('KATS_BENCH_PER_LINK', 250);
  const impls = (process.env.KATS_BENCH_IMPLS ?? 'keepalived-ts,keepalived')
    .split(',')
    .filter(
      (i): i is Implementation => i === 'keepalived-ts' || (i === 'keepalived' && referenceAvailable()),
    );
  const n = LINKS * perLink;
  console.log(
    `instances-1000: ${n} VRRPv3 IPv6 instances (${perLink} on each of ${LINKS} interfaces), ` +
      `${n * VIPS_PER_INSTANCE} VIPs, advert_int 1, ${windowS} s window; ${machineLine()}`,
  );
  const results: Result[] = [];
  for (const impl of impls) results.push(await runOne(impl, perLink, windowS));
  console.log('');
  console.log(
    table(
      [
        'implementation',
        'elected s',
        'stable',
        'CPU % master',
        'CPU % backup',
        'RSS MiB master',
        'RSS MiB backup',
      ],
      results.map((r) => [
        r.impl,
        r.electedS.toFixed(1),
        r.stable ? 'yes' : 'NO',
        r.cpuMaster.toFixed(2),
        r.cpuBackup.toFixed(2),
        r.rssMaster.toFixed(1),
        r.rssBackup.toFixed(1),
      ]),
    ),
  );
  console.log('');
  console.log(
    table(
      [
        'implementation',
        'adverts seen',
        'late p50 ms',
        'late p99 ms',
        'late max ms',
        'first takeover ms',
        'last takeover ms',
        'spread ms',
        'taken over',
        'VIPs after',
      ],
      results.map((r) => [
        r.impl,
        String(r.adverts),
        r.lateP50Ms.toFixed(2),
        r.lateP99Ms.toFixed(2),
        r.lateMaxMs.toFixed(2),
        r.firstTakeoverMs.toFixed(1),
        r.lastTakeoverMs.toFixed(1),
        (r.lastTakeoverMs - r.firstTakeoverMs).toFixed(1),
        String(r.takenOver),
        String(r.vipsAfter),
      ]),
    ),
  );
  console.log(
    "(takeover times from the master's SIGKILL to the backup's first advert per instance, on the wire)",
  );
  const ts = results.find((r) => r.impl === 'keepalived-ts');
  const ka = results.find((r) => r.impl === 'keepalived');
  if (ts) {
    const line = (ok: boolean, text: string) => console.log(`${ok ? 'MET ' : 'MISS'} ${text}`);
    line(
      ts.stable && ts.takenOver === n && ts.vipsAfter === n * VIPS_PER_INSTANCE,
      `all elected, stable, all taken over with every VIP (${ts.takenOver}/${n}, ${ts.vipsAfter} VIPs)`,
    );
    line(
      Math.max(ts.rssMaster, ts.rssBackup) * 1.048576 < RSS_TARGET_MB,
      `RSS < ${RSS_TARGET_MB} MB: ${(Math.max(ts.rssMaster, ts.rssBackup) * 1.048576).toFixed(1)} MB`,
    );
    if (ka) {
      for (const side of ['Master', 'Backup'] as const) {
        const ratio = ts[`cpu${side}`] / ka[`cpu${side}`];
        line(
          ratio <= CPU_RATIO_TARGET,
          `CPU ${side.toLowerCase()} within ${CPU_RATIO_TARGET}× keepalived: ${ts[`cpu${side}`].toFixed(2)} / ${ka[`cpu${side}`].toFixed(2)} = ${ratio.toFixed(2)}×`,
        );
      }
    }
  }
  console.log(`results: ${saveResults('instances-1000', { machine: machineLine(), results })}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
