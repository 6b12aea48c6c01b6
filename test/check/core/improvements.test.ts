// What keepalived users asked for, each off or invisible by default: one probe for a real server checked
// the same way behind several virtual servers, spread intervals, per-server latency, slow start, and a
// watchdog for a probe that breaks its contract.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { core, fail, live, logs, nextRun, ofType, ok, probeIds, S } from './helpers.js';

const vsText = (vip: string, rsExtra = '', checker = 'TCP_CHECK {\nretry 0\n}') => `
virtual_server ${vip} 80 {
  delay_loop 10
  warmup 0
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.10 80 {
    ${rsExtra}
    ${checker}
  }
}`;

describe('shared probes', () => {
  const three = [vsText('192.0.2.100'), vsText('192.0.2.101'), vsText('192.0.2.102')].join('\n');

  test('one probe per cycle serves every virtual server; its verdict reaches all of them', () => {
    const c = core(three);
    c.start(0);
    assert.equal(c.probes().length, 1);
    assert.equal(c.probes()[0]!.subscribers, 3);
    const r = nextRun(c);
    assert.equal(probeIds(r.actions).length, 1);
    const out = c.probeResult(r.probeId, fail(), r.at);
    assert.deepEqual(
      ofType(out, 'realServerDown').map((d) => d.vs),
      ['[192.0.2.100]:tcp:80', '[192.0.2.101]:tcp:80', '[192.0.2.102]:tcp:80'],
    );
    const st = c.status();
    assert.ok(st.every((s) => s.latency.count === 1 && s.latency.failures === 1));
  });

  test('different checker settings, or shareProbes off, keep probes apart (keepalived: one per VS)', () => {
    const c = core(three, { shareProbes: false });
    c.start(0);
    assert.equal(c.probes().length, 3);
    assert.equal(probeIds(c.timer(c.nextDeadline()!)).length, 3);
    const d = core(
      `${vsText('192.0.2.100')}\n${vsText('192.0.2.101', '', 'TCP_CHECK {\nretry 0\nconnect_timeout 2\n}')}`,
    );
    d.start(0);
    assert.equal(d.probes().length, 2);
  });
});

describe('interval spread', () => {
  test('off by default: exactly delay_loop; on: within ±pct and replayable from the seed', () => {
    const intervals = (opts: { intervalSpreadPct?: number; seed?: number }) => {
      const c = core(vsText('192.0.2.100'), opts);
      c.start(0);
      const res: number[] = [];
      let r = nextRun(c);
      for (let i = 0; i < 20; i++) {
        c.probeResult(r.probeId, ok(), r.at);
        const prev = r.at;
        r = nextRun(c);
        res.push(r.at - prev);
      }
      return res;
    };
    assert.ok(intervals({}).every((d) => d === 10 * S));
    const spread = intervals({ intervalSpreadPct: 20, seed: 3 });
    assert.ok(spread.every((d) => d >= 8 * S && d <= 12 * S));
    assert.ok(new Set(spread).size > 5);
    assert.deepEqual(intervals({ intervalSpreadPct: 20, seed: 3 }), spread);
  });
});

describe('latency', () => {
  test('last, EWMA (1/8), max, sum and histogram per real server', () => {
    const c = core(vsText('192.0.2.100'));
    c.start(0);
    const lat = [800, 1600, 30_000];
    for (const l of lat) {
      const r = nextRun(c);
      c.probeResult(r.probeId, ok(l), r.at + l);
    }
    const s = c.status()[0]!.latency;
    assert.equal(s.count, 3);
    assert.equal(s.sumUs, 800 + 1600 + 30_000);
    assert.equal(s.lastUs, 30_000);
    assert.equal(s.maxUs, 30_000);
    const e1 = 800 + (1600 - 800) / 8;
    assert.equal(s.ewmaUs, e1 + (30_000 - e1) / 8);
    // Buckets: ≤1 ms, ≤2.5 ms, ≤50 ms.
    assert.equal(s.histogram[3], 1);
    assert.equal(s.histogram[4], 1);
    assert.equal(s.histogram[8], 1);
  });
});

describe('slow start', () => {
  test('off by default: a recovered server gets its full weight at once', () => {
    const c = core(vsText('192.0.2.100', 'weight 10'));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, fail(), r.at);
    r = nextRun(c);
    const out = c.probeResult(r.probeId, ok(), r.at);
    assert.deepEqual(
      ofType(out, 'realServerUp').map((u) => u.weight),
      [10],
    );
  });

  test('on: the weight climbs in steps after recovery; quorum counts the full weight', () => {
    const c = core(vsText('192.0.2.100', 'weight 10'), { slowStartUs: 4 * S, slowStartSteps: 4 });
    const start = c.start(0);
    // Not at startup.
    assert.deepEqual(
      ofType(start, 'realServerUp').map((u) => u.weight),
      [10],
    );
    let r = nextRun(c);
    c.probeResult(r.probeId, fail(), r.at);
    r = nextRun(c);
    const t = r.at;
    const out = c.probeResult(r.probeId, ok(), t);
    assert.deepEqual(
      ofType(out, 'realServerUp').map((u) => u.weight),
      [3],
    );
    assert.equal(c.snapshot()[0]!.weightSum, 10);
    const steps: [number, number][] = [];
    while (c.nextDeadline()! < t + 5 * S) {
      const at = c.nextDeadline()!;
      for (const a of ofType(c.timer(at), 'realServerWeight')) steps.push([at - t, a.weight]);
    }
    assert.deepEqual(steps, [
      [1 * S, 5],
      [2 * S, 8],
      [3 * S, 10],
    ]);
    assert.equal(c.snapshot()[0]!.live[0]!.weight, 10);
  });
});

describe('watchdog', () => {
  test('a probe that never reports counts as a failure after its timeout and the grace; its late report is ignored', () => {
    const c = core(vsText('192.0.2.100', '', 'TCP_CHECK {\nretry 0\nconnect_timeout 2\n}'), {
      watchdogGraceUs: 500_000,
    });
    c.start(0);
    const r = nextRun(c);
    assert.equal(c.nextDeadline(), r.at + 2_500_000);
    const out = c.timer(r.at + 2_500_000);
    assert.equal(ofType(out, 'realServerDown').length, 1);
    assert.equal(
      ofType(out, 'realServerDown')[0]!.reason,
      `probe ${r.probeId} gave no result within its timeout`,
    );
    assert.deepEqual(c.probeResult(r.probeId, ok(), r.at + 3 * S), []);
    assert.deepEqual(live(c, '[192.0.2.100]:tcp:80'), []);
    assert.deepEqual(logs(out)[0], 'TCP_CHECK on service [192.0.2.10]:tcp:80 failed.');
  });
});
