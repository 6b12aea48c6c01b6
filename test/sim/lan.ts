// The simulated LAN most simulator tests start from: one segment 'lan' with a 100 µs link delay, and a
// router per entry, each with one instance VI_1 (VRID 51, VIP 192.0.2.200/24) at 192.0.2.<host>.
import { type SimInstanceSpec, Simulator } from '../../src/sim/simulator.js';

export const DELAY = 100;

export type R = [id: string, prio: number, host: number, extra?: Partial<SimInstanceSpec>];

export function lan(routers: R[], opts: { seed?: number; start?: number | null } = {}): Simulator {
  const sim = new Simulator({ seed: opts.seed ?? 1 });
  sim.addSegment('lan', { delayUs: DELAY });
  for (const [id, prio, host, extra] of routers) {
    sim.addRouter(
      {
        id,
        instances: [
          {
            name: 'VI_1',
            vrid: 51,
            segment: 'lan',
            basePriority: prio,
            primaryAddress: `192.0.2.${host}`,
            vips: [{ address: '192.0.2.200', prefixLen: 24 }],
            ...extra,
          },
        ],
      },
      opts.start === undefined ? 0 : opts.start,
    );
  }
  return sim;
}
