// How long a backup takes, once its Master_Down_Interval has run out, to put its first advert on the wire —
// keepalived-ts beside the reference keepalived, with nothing else in the lab: two routers of the same
// implementation (priorities 150 and 100), no client, no probe, tcpdump on the backup's own eth0 (so the
// master's last advert and the backup's first are stamped by one interface, where the backup sees them).
//
//   latency = (backup's first advert − master's last advert) − Master_Down_Interval
//
// and likewise for the backup's first gratuitous ARP for the VIP, which is what a client waits for.
//
// This is the part of a failover an implementation controls; the rest is protocol arithmetic both share.
// compare-keepalived.ts measures whole failovers in a busier lab, where the phase of the cut adds up to one
// advert interval of noise per sample; this isolates the timer-to-advert path.
//
// Usage (root): node --import tsx bench/takeover-latency.ts
//   KATS_BENCH_REPS=N        cuts per implementation (default 40)
//   KATS_BENCH_INTERVAL_S=x  advert_int (default 0.01)
//   KATS_BENCH_IMPLS=a,b     keepalived-ts, keepalived (default both)

import { masterDownIntervalUs } from '../src/vrrp/timers.js';
import { AdvertCapture } from './lib/advert-capture.js';
import { installCleanup } from './lib/cleanup.js';
import { FailoverLab, isRoot } from './lib/failover-lab.js';
import { sleep } from './lib/failover-scenario.js';
import { envNumber, machineLine, median, saveResults, table } from './lib/stats.js';
import { type Implementation, referenceAvailable, VrrpDaemon, vrrpConf } from './lib/vrrp-daemon.js';

const PRIORITIES = [150, 100];
const VIP = '192.0.2.100';
const MASTER = /\(VI_1\) Entering MASTER STATE/;
const BACKUP = /\(VI_1\) Entering BACKUP STATE/;

interface Latencies {
  advert: number[];
  garp: number[];
}

async function measure(impl: Implementation, reps: number, intervalS: number): Promise<Latencies> {
  const lab = new FailoverLab('kats-lat', PRIORITIES.length);
  const daemons = lab.routers.map(
    (h, k) =>
      new VrrpDaemon(
        h.label,
        impl,
        h.ns,
        vrrpConf([
          {
            name: 'VI_1',
            vrid: 51,
            priority: PRIORITIES[k]!,
            version: 3,
            advertIntervalS: intervalS,
            vips: [`${VIP}/24`],
          },
        ]),
      ),
  );
  const [top, second] = daemons as [VrrpDaemon, VrrpDaemon];
  const [topHost, secondHost] = lab.routers as [(typeof lab.routers)[0], (typeof lab.routers)[0]];
  const mdiMs = masterDownIntervalUs(3, PRIORITIES[1]!, Math.round(intervalS * 100), 3) / 1000;
  const settleMs = Math.max(3000, 10 * intervalS * 1000);
  const capture = new AdvertCapture(secondHost.ns, 'eth0', { announcements: true });
  const out: Latencies = { advert: [], garp: [] };
  try {
    await capture.ready();
    for (const d of daemons) d.start();
    await top.waitFor(MASTER, settleMs + 5000);
    await second.waitFor(BACKUP, settleMs);
    for (let rep = 0; rep < reps; rep++) {
      // A random pause so the cut falls anywhere in the advert cycle.
      await sleep(200 + Math.random() * 50);
      const marks = [top.mark(), second.mark()];
      const cutMs = Date.now();
      lab.cut(topHost);
      await second.waitFor(MASTER, settleMs, marks[1]);
      await sleep(20 * intervalS * 1000 + 50);
      const first = capture.adverts.find(
        (a) => a.src === secondHost.address && a.priority === PRIORITIES[1] && a.atMs >= cutMs - 5,
      );
      const last =
        first && capture.adverts.filter((a) => a.src === topHost.address && a.atMs < first.atMs).at(-1);
      if (first && last) {
        out.advert.push(first.atMs - last.atMs - mdiMs);
        // The master is cut off, so the first announcement of the VIP after the cut is the backup's.
        const garp = capture.announcements.find((g) => g.address === VIP && g.atMs >= cutMs - 5);
        if (garp) out.garp.push(garp.atMs - last.atMs - mdiMs);
      }
      lab.restore(topHost);
      await top.waitFor(MASTER, settleMs, marks[0]);
      await second.waitFor(BACKUP, settleMs, marks[1]);
    }
  } finally {
    capture.stop();
    await Promise.all(daemons.map((d) => d.stop('SIGTERM', 3000)));
    lab.close();
    for (const d of daemons) d.removeDir();
  }
  return out;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('takeover-latency needs root (network namespaces, raw sockets); skipped.');
    return;
  }
  installCleanup();
  const reps = envNumber('KATS_BENCH_REPS', 40);
  const intervalS = envNumber('KATS_BENCH_INTERVAL_S', 0.01);
  const wanted = (process.env.KATS_BENCH_IMPLS ?? 'keepalived-ts,keepalived').split(',');
  const impls = (['keepalived-ts', 'keepalived'] as Implementation[]).filter(
    (i) => wanted.includes(i) && (i === 'keepalived-ts' || referenceAvailable()),
  );
  console.log(
    `takeover-latency: ${reps} cuts per implementation at advert_int ${intervalS}; ${machineLine()}`,
  );
  const results: Record<string, Latencies> = {};
  for (const impl of impls) results[impl] = await measure(impl, reps, intervalS);
  const rows = impls.flatMap((impl) =>
    (['advert', 'garp'] as const).map((what) => {
      const xs = results[impl]![what];
      const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
      return [
        impl,
        what === 'advert' ? 'first advert' : 'first GARP',
        String(xs.length),
        f(quantile(xs, 0.1)),
        f(median(xs)),
        f(quantile(xs, 0.9)),
        f(Math.max(...xs)),
      ];
    }),
  );
  console.log('');
  console.log(table(['implementation', 'packet', 'n', 'p10', 'median', 'p90', 'max'], rows));
  console.log(
    "(ms past the Master_Down_Interval: the backup's first advert or GARP − the master's last advert − the interval)",
  );
  console.log(`samples: ${saveResults('takeover-latency', { machine: machineLine(), intervalS, results })}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
