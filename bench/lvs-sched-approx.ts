// How close the nftables approximation of IPVS's wlc comes to the real algorithm under a skewed load.
// A discrete-event simulation (no kernel): Poisson arrivals, exponential connection lifetimes, one server
// holding its connections four times longer than the others. "exact" = IPVS wlc (each new connection to
// the least (active×256 + inactive)/weight); "rebalanced P ms" = our data plane: slot shares recomputed
// from the counts every P ms (countWeights), new connections rotate through those slots in between;
// "static wrr" = no rebalancing. The figure wlc equalises is active connections per unit of weight:
// reported as the time average per server and the max/min ratio across servers (1.00 = perfectly even).
// Usage: node --import tsx bench/lvs-sched-approx.ts [seconds=300] [arrivalsPerS=100]
import { countWeights, wrrSlots } from '../src/lvs/schedulers.js';
import { Prng } from '../src/sim/prng.js';

const seconds = Number(process.argv[2] ?? 300);
const rate = Number(process.argv[3] ?? 100);

interface Scenario {
  name: string;
  weights: number[];
  meanLifeS: number[];
}

type Policy = { kind: 'exact' } | { kind: 'rebalanced'; periodMs: number } | { kind: 'static' };

function simulate(sc: Scenario, policy: Policy, seed: number) {
  const rng = new Prng(seed);
  const exp = (mean: number) => -Math.log(1 - rng.float()) * mean;
  const n = sc.weights.length;
  const active = new Array<number>(n).fill(0);
  const area = new Array<number>(n).fill(0); // ∫ active dt
  const sent = new Array<number>(n).fill(0);
  const ends: { t: number; i: number }[] = []; // min-heap by t
  const push = (e: { t: number; i: number }) => {
    ends.push(e);
    let k = ends.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if ((ends[p] as { t: number }).t <= e.t) break;
      ends[k] = ends[p] as { t: number; i: number };
      k = p;
    }
    ends[k] = e;
  };
  const pop = () => {
    const top = ends[0] as { t: number; i: number };
    const last = ends.pop() as { t: number; i: number };
    if (ends.length > 0) {
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        if (l >= ends.length) break;
        const r = l + 1;
        const c = r < ends.length && (ends[r] as { t: number }).t < (ends[l] as { t: number }).t ? r : l;
        if ((ends[c] as { t: number }).t >= last.t) break;
        ends[k] = ends[c] as { t: number; i: number };
        k = c;
      }
      ends[k] = last;
    }
    return top;
  };
  let now = 0;
  const advance = (t: number) => {
    for (let i = 0; i < n; i++) area[i] = (area[i] as number) + (active[i] as number) * (t - now);
    now = t;
  };
  let slots = wrrSlots(sc.weights);
  let cursor = 0;
  let nextPoll = 0;
  let nextArrival = exp(1 / rate);
  while (now < seconds) {
    const nextEnd = ends.length > 0 ? (ends[0] as { t: number }).t : Number.POSITIVE_INFINITY;
    if (policy.kind === 'rebalanced' && nextPoll <= nextArrival && nextPoll <= nextEnd) {
      advance(nextPoll);
      const w = countWeights(
        'wlc',
        sc.weights.map((weight, i) => ({ weight, active: active[i] as number, inactive: 0 })),
      );
      const idx = w.map((x, i) => (x > 0 ? i : -1)).filter((i) => i >= 0);
      slots = wrrSlots(idx.map((i) => w[i] as number)).map((j) => idx[j] as number);
      cursor = 0;
      nextPoll += policy.periodMs / 1000;
      continue;
    }
    if (nextEnd < nextArrival) {
      const e = pop();
      advance(e.t);
      active[e.i] = (active[e.i] as number) - 1;
      continue;
    }
    advance(nextArrival);
    let pick = 0;
    if (policy.kind === 'exact') {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const c = ((active[i] as number) * 256) / (sc.weights[i] as number);
        if (c < best) {
          best = c;
          pick = i;
        }
      }
    } else {
      pick = slots[cursor % slots.length] as number;
      cursor++;
    }
    active[pick] = (active[pick] as number) + 1;
    sent[pick] = (sent[pick] as number) + 1;
    push({ t: now + exp(sc.meanLifeS[pick] as number), i: pick });
    nextArrival = now + exp(1 / rate);
  }
  const perWeight = area.map((a, i) => a / now / (sc.weights[i] as number));
  const total = sent.reduce((a, b) => a + b, 0);
  return {
    perWeight,
    spread: Math.max(...perWeight) / Math.min(...perWeight),
    share: sent.map((x) => x / total),
  };
}

const scenarios: Scenario[] = [
  { name: 'equal weights, server 1 holds conns 4× longer', weights: [1, 1, 1], meanLifeS: [4, 1, 1] },
  { name: 'weights 3:2:1, server 1 holds conns 4× longer', weights: [3, 2, 1], meanLifeS: [4, 1, 1] },
];
const policies: [string, Policy][] = [
  ['IPVS wlc (exact)', { kind: 'exact' }],
  ['rebalanced every 100 ms', { kind: 'rebalanced', periodMs: 100 }],
  ['rebalanced every 1 s', { kind: 'rebalanced', periodMs: 1000 }],
  ['static wrr (no counts)', { kind: 'static' }],
];
for (const sc of scenarios) {
  console.log(`\n${sc.name}; ${rate} new conns/s for ${seconds} s simulated`);
  console.table(
    policies.map(([label, p]) => {
      const r = simulate(sc, p, 42);
      return {
        policy: label,
        'active/weight per server': r.perWeight.map((x) => x.toFixed(1)).join(' / '),
        'max/min': r.spread.toFixed(2),
        'share of new conns': r.share.map((x) => `${(x * 100).toFixed(0)}%`).join(' / '),
      };
    }),
  );
}
