// Failover times of keepalived-ts daemons on a LAN of network namespaces (VRRPv3, IPv4, advert_int 100 ms,
// priorities 200 / 100). Needs root and the built dist/ (npm run build). Figures per run:
//   graceful: SIGTERM to the master → backup logs "Entering MASTER STATE" / the VIP appears on the backup
//             (seen by `ip monitor address` in the backup's namespace); expected ≈ Skew_Time = 61 ms.
//   link cut: bridge port of the master set down → the same two events; expected ≈ Master_Down_Interval
//             (3 × 100 + 61 = 361 ms) minus the time since the last advert (0-100 ms).
import { type ChildProcess, spawn } from 'node:child_process';
import { killAllRouters, Router, waitUntil } from '../test/daemon/router.js';
import { ip, isRoot, Lab } from '../test/helpers/netns.js';

const RUNS = Number(process.env.FAILOVER_RUNS ?? 10);
const VIP = '192.0.2.100';
const MASTER = /\(VI_1\) Entering MASTER STATE/;

const conf = (priority: number) => `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  version 3
  priority ${priority}
  advert_int 0.1
  virtual_ipaddress { ${VIP}/24 }
}
`;

/** Arrival times of "VIP added" lines from `ip monitor address` in a namespace. */
class VipWatch {
  readonly proc: ChildProcess;
  readonly addedAt: number[] = [];
  constructor(ns: string) {
    this.proc = spawn('ip', ['-n', ns, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc.stdout?.on('data', (chunk: Buffer) => {
      const now = Date.now();
      for (const line of chunk.toString().split('\n')) {
        if (line.includes(` ${VIP}/`) && !line.startsWith('Deleted')) this.addedAt.push(now);
      }
    });
  }
  firstAfter(t: number): number | undefined {
    return this.addedAt.find((x) => x >= t);
  }
  close(): void {
    this.proc.kill();
  }
}

function summary(name: string, xs: number[]): void {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  console.log(
    `${name.padEnd(34)} n=${s.length}  min ${s[0]} ms  median ${q(0.5)} ms  p90 ${q(0.9)} ms  max ${s[s.length - 1]} ms`,
  );
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('failover bench: needs root (network namespaces); skipped');
    return;
  }
  const lab = new Lab('bfo');
  const routers: Router[] = [];
  const watches: VipWatch[] = [];
  try {
    const ns1 = lab.addHost('r1');
    const ns2 = lab.addHost('r2');
    ip('-n', ns1, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
    ip('-n', ns2, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0');
    const watch = new VipWatch(ns2);
    watches.push(watch);
    const backup = new Router('r2', ns2, conf(100));
    routers.push(backup);

    const gracefulLog: number[] = [];
    const gracefulVip: number[] = [];
    for (let k = 0; k < RUNS; k++) {
      const master = new Router('r1', ns1, conf(200));
      routers.push(master);
      await master.waitFor(MASTER, 10_000);
      await waitUntil(() => backup.lastState() === 'BACKUP', 5000, 'backup');
      const m = backup.mark();
      const t0 = Date.now();
      await master.stop();
      const line = await backup.waitFor(MASTER, 3000, m);
      gracefulLog.push((line.stampMs ?? line.rxMs) - t0);
      await waitUntil(() => watch.firstAfter(t0) !== undefined, 2000, 'VIP on backup');
      gracefulVip.push(watch.firstAfter(t0)! - t0);
      master.removeDir();
    }

    const cutLog: number[] = [];
    const cutVip: number[] = [];
    const master = new Router('r1', ns1, conf(200));
    routers.push(master);
    const port = lab.portOf('r1');
    for (let k = 0; k < RUNS; k++) {
      await waitUntil(
        () => master.lastState() === 'MASTER' && backup.lastState() === 'BACKUP',
        10_000,
        'r1 master',
      );
      const m = backup.mark();
      const t0 = Date.now();
      ip('-n', lab.bridgeNs, 'link', 'set', port, 'down');
      const line = await backup.waitFor(MASTER, 3000, m);
      cutLog.push((line.stampMs ?? line.rxMs) - t0);
      await waitUntil(() => watch.firstAfter(t0) !== undefined, 2000, 'VIP on backup');
      cutVip.push(watch.firstAfter(t0)! - t0);
      ip('-n', lab.bridgeNs, 'link', 'set', port, 'up');
    }

    summary('graceful stop → backup MASTER', gracefulLog);
    summary('graceful stop → VIP on backup', gracefulVip);
    summary('link cut → backup MASTER', cutLog);
    summary('link cut → VIP on backup', cutVip);
  } finally {
    for (const w of watches) w.close();
    killAllRouters();
    lab.close();
    for (const r of routers) r.removeDir();
  }
}

await main();
