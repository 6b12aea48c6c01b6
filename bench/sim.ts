// Simulator throughput: (1) 1,000 routers in 100 VRIDs (one segment of 10 routers per VRID), 1 s adverts, one
// virtual hour; (2) 100 routers (10 VRIDs × 10) at 10 ms VRRPv3 adverts, one virtual minute. Every advert goes
// through the real codec (encode + validateAdvert). Half-way, each VRID's master crashes and restarts 10 s
// later, so elections run too. Prints wall time and simulated packets per wall second; target < 10 s each.
// Run: node --import tsx bench/sim.ts
import { performance } from 'node:perf_hooks';
import { US_PER_S } from '../src/common/units.js';
import { Simulator, vrKey } from '../src/sim/simulator.js';

interface BenchCase {
  name: string;
  vrids: number;
  routersPerVrid: number;
  version: 2 | 3;
  advertIntervalCs: number;
  durationUs: number;
}

function run(c: BenchCase): void {
  const sim = new Simulator({ seed: 2026 });
  for (let v = 1; v <= c.vrids; v++) {
    const segment = `vlan${v}`;
    sim.addSegment(segment, { delayUs: 150, jitterUs: 100 });
    for (let i = 1; i <= c.routersPerVrid; i++) {
      sim.addRouter({
        id: `v${v}r${i}`,
        instances: [
          {
            name: 'VI',
            vrid: ((v - 1) % 255) + 1,
            version: c.version,
            advertIntervalCs: c.advertIntervalCs,
            segment,
            basePriority: 50 + 10 * i,
            primaryAddress: `192.0.2.${i}`,
            vips: [{ address: `198.51.100.${v % 250}`, prefixLen: 24 }],
          },
        ],
      });
    }
  }
  const half = Math.floor(c.durationUs / 2);
  for (let v = 1; v <= c.vrids; v++) {
    const top = `v${v}r${c.routersPerVrid}`;
    sim.at(half, { op: 'crash', router: top });
    sim.at(half + 10 * US_PER_S, { op: 'restart', router: top });
  }
  const t0 = performance.now();
  sim.run(c.durationUs);
  const wallMs = performance.now() - t0;
  let masters = 0;
  for (let v = 1; v <= c.vrids; v++)
    masters += sim.masterLog.currentMasters(vrKey(`vlan${v}`, 4, ((v - 1) % 255) + 1)).length;
  const pps = Math.round(sim.counters.packetsDelivered / (wallMs / 1000));
  console.log(
    `${c.name}: wall ${(wallMs / 1000).toFixed(2)} s, simulated ${(c.durationUs / US_PER_S).toFixed(0)} s, ` +
      `${sim.counters.packetsSent} packets sent, ${sim.counters.packetsDelivered} delivered ` +
      `(${pps.toLocaleString('en-US')} delivered packets/s wall), ${sim.counters.eventsProcessed} events, ` +
      `${masters}/${c.vrids} VRIDs with one master at the end${wallMs < 10_000 ? '' : '  ** over the 10 s target **'}`,
  );
  if (masters !== c.vrids || sim.violations.length > 0) process.exitCode = 1;
}

run({
  name: '1000 routers / 100 VRIDs / 1 s adverts / 1 h',
  vrids: 100,
  routersPerVrid: 10,
  version: 2,
  advertIntervalCs: 100,
  durationUs: 3600 * US_PER_S,
});
run({
  name: '100 routers / 10 VRIDs / 10 ms adverts / 1 min',
  vrids: 10,
  routersPerVrid: 10,
  version: 3,
  advertIntervalCs: 1,
  durationUs: 60 * US_PER_S,
});
