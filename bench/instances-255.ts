// Steady-state cost of many instances: 255 VRRPv3 instances (VRID 1..255, one /32 VIP each) on one interface
// at advert_int 1, router A (priority 200) master of all, router B (priority 100) backup of all. After the
// election settles, CPU is measured over a window from /proc/PID/stat (utime+stime of the daemon and its
// children) and RSS from /proc/PID/status, for keepalived-ts and then for keepalived 2.2.7 with the same
// configuration (one implementation at a time, so they do not compete for the CPU).
// Targets for keepalived-ts: under 2 % of one core and under 80 MB RSS (judged in MiB, the unit /proc reports ×1024), on each router.
//
// Usage (root): node --import tsx bench/instances-255.ts
//   KATS_BENCH_WINDOW_S=N        measurement window in seconds (default 30)
//   KATS_BENCH_IMPLS=a,b         implementations (default keepalived-ts,keepalived)
//   KATS_BENCH_NODE_FLAGS='...'  extra node flags for keepalived-ts, after DAEMON_NODE_FLAGS (for trials)
import { installCleanup } from './lib/cleanup.js';
import { FailoverLab, isRoot } from './lib/failover-lab.js';
import { sleep } from './lib/failover-scenario.js';
import { cpuSeconds, memoryMiB, sum } from './lib/proc-usage.js';
import { envNumber, machineLine, saveResults, table } from './lib/stats.js';
import {
  type Implementation,
  type InstanceSpec,
  referenceAvailable,
  VrrpDaemon,
  vrrpConf,
} from './lib/vrrp-daemon.js';

const INSTANCES = 255;
const ADVERT_INTERVAL_S = 1;
const CPU_TARGET_PERCENT = 2;
const RSS_TARGET_MB = 80;

/** VIP of VRID k: 198.51.100.k (k ≤ 254); VRID 255 takes 192.0.2.200. Documentation ranges only. */
function vipOf(vrid: number): string {
  return vrid <= 254 ? `198.51.100.${vrid}/32` : '192.0.2.200/32';
}

function instances(priority: number): InstanceSpec[] {
  return Array.from({ length: INSTANCES }, (_, k) => ({
    name: `VI_${k + 1}`,
    vrid: k + 1,
    priority,
    version: 3 as const,
    advertIntervalS: ADVERT_INTERVAL_S,
    vips: [vipOf(k + 1)],
  }));
}

interface Measure {
  impl: Implementation;
  router: 'master' | 'backup';
  cpuPercent: number;
  rssMB: number;
  peakRssMB: number;
  processes: number;
  startupS: number;
}

/** Every instance's last state is `state`. */
function allIn(d: VrrpDaemon, state: string): boolean {
  const last = new Map<string, string>();
  for (const t of d.transitions()) last.set(t.instance, t.state);
  if (last.size !== INSTANCES) return false;
  for (const s of last.values()) if (s !== state) return false;
  return true;
}

async function runOne(impl: Implementation, windowS: number): Promise<Measure[]> {
  const lab = new FailoverLab('kats-bench', 2);
  const [ha, hb] = lab.routers as [(typeof lab.routers)[0], (typeof lab.routers)[0]];
  const a = new VrrpDaemon('a', impl, ha.ns, vrrpConf(instances(200)));
  const b = new VrrpDaemon('b', impl, hb.ns, vrrpConf(instances(100)));
  try {
    const t0 = Date.now();
    a.start();
    b.start();
    const deadline = Date.now() + 60_000;
    while (!(allIn(a, 'MASTER') && allIn(b, 'BACKUP'))) {
      if (!a.running || !b.running) throw new Error(`${impl} exited\n${a.log()}\n${b.log()}`);
      if (Date.now() > deadline) throw new Error(`${impl}: 255 masters / 255 backups not reached in 60 s`);
      await sleep(200);
    }
    const startupS = (Date.now() - t0) / 1000;
    // Let the GARP bursts of the new masters and any start-up work finish before measuring.
    await sleep(3000);
    const daemons = [
      { d: a, router: 'master' as const },
      { d: b, router: 'backup' as const },
    ];
    const before = daemons.map(({ d }) => {
      const pids = d.processTree();
      return { pids, cpuS: sum(pids, cpuSeconds), atMs: performance.now() };
    });
    await sleep(windowS * 1000);
    if (!(allIn(a, 'MASTER') && allIn(b, 'BACKUP')))
      console.log(`  ${impl}: some instance changed state during the window`);
    return daemons.map(({ router }, k) => {
      const { pids, cpuS, atMs } = before[k]!;
      const elapsedS = (performance.now() - atMs) / 1000;
      const mem = pids.map((p) => memoryMiB(p));
      return {
        impl,
        router,
        cpuPercent: ((sum(pids, cpuSeconds) - cpuS) / elapsedS) * 100,
        rssMB: mem.reduce((t, m) => t + (m?.rssMiB ?? 0), 0),
        peakRssMB: mem.reduce((t, m) => t + (m?.peakRssMiB ?? 0), 0),
        processes: pids.length,
        startupS,
      };
    });
  } finally {
    await Promise.all([a.stop('SIGTERM', 5000), b.stop('SIGTERM', 5000)]);
    lab.close();
    a.removeDir();
    b.removeDir();
  }
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('instances-255 needs root (network namespaces, raw sockets); skipped.');
    return;
  }
  installCleanup();
  const windowS = envNumber('KATS_BENCH_WINDOW_S', 30);
  const impls = (process.env.KATS_BENCH_IMPLS ?? 'keepalived-ts,keepalived')
    .split(',')
    .filter(
      (i): i is Implementation => i === 'keepalived-ts' || (i === 'keepalived' && referenceAvailable()),
    );
  console.log(
    `instances-255: ${INSTANCES} VRRPv3 instances at advert_int ${ADVERT_INTERVAL_S} s on one interface, ` +
      `${windowS} s window; ${machineLine()}`,
  );
  const results: Measure[] = [];
  for (const impl of impls) results.push(...(await runOne(impl, windowS)));
  console.log('');
  console.log(
    table(
      [
        'implementation',
        'router',
        'CPU % of a core',
        'RSS MiB',
        'peak RSS MiB',
        'processes',
        'settled after s',
      ],
      results.map((r) => [
        r.impl,
        r.router,
        r.cpuPercent.toFixed(2),
        r.rssMB.toFixed(1),
        r.peakRssMB.toFixed(1),
        String(r.processes),
        r.startupS.toFixed(1),
      ]),
    ),
  );
  console.log('(CPU = utime+stime of the daemon and its children over the window)');
  for (const r of results.filter((x) => x.impl === 'keepalived-ts')) {
    const cpuOk = r.cpuPercent < CPU_TARGET_PERCENT;
    const rssOk = r.rssMB < RSS_TARGET_MB;
    console.log(
      `${cpuOk ? 'MET ' : 'MISS'} ${r.router} CPU < ${CPU_TARGET_PERCENT} %: ${r.cpuPercent.toFixed(2)} %`,
    );
    console.log(
      `${rssOk ? 'MET ' : 'MISS'} ${r.router} RSS < ${RSS_TARGET_MB} MiB: ${r.rssMB.toFixed(1)} MiB ` +
        `(peak ${r.peakRssMB.toFixed(1)} MiB; ${((r.rssMB * 1048576) / 1e6).toFixed(1)} MB in SI units)`,
    );
  }
  console.log(`results: ${saveResults('instances-255', { machine: machineLine(), results })}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
