// Determinism and replay: the same seed gives the same run, event for event; a router's recorded inputs,
// written as JSON lines and read back, reproduce its outputs exactly on a fresh engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator } from '../../src/sim/simulator.js';
import { parseJsonLines, type ReplayRecord, replay, toJsonLines } from '../../src/vrrp/fsm-replay.js';

function chaoticRun(seed: number, record?: string): Simulator {
  const sim = new Simulator({ seed, trace: true });
  sim.addSegment('lan', {
    delayUs: 200,
    jitterUs: 5_000,
    lossProb: 0.1,
    dupProb: 0.05,
    reorderProb: 0.05,
    reorderDelayUs: 30_000,
  });
  const ids = ['r1', 'r2', 'r3', 'r4'];
  ids.forEach((id, i) => {
    const r = sim.addRouter(
      {
        id,
        instances: [
          {
            name: 'VI_1',
            vrid: 10,
            version: 3,
            advertIntervalCs: 20,
            segment: 'lan',
            basePriority: 100 + 20 * i,
            primaryAddress: `192.0.2.${i + 1}`,
            vips: [{ address: '192.0.2.100', prefixLen: 24 }],
            trackers: [{ name: 'svc', kind: 'script', weight: -50, reverse: false }],
          },
          {
            name: 'VI_2',
            vrid: 20,
            segment: 'lan',
            basePriority: 200 - 30 * i,
            primaryAddress: `192.0.2.${i + 1}`,
            vips: [{ address: '192.0.2.101', prefixLen: 24 }],
          },
        ],
      },
      i * 100_000,
    );
    if (id === record) r.records = [];
  });
  sim.at(5_000_000, {
    op: 'partition',
    segment: 'lan',
    sides: [
      ['r1', 'r2'],
      ['r3', 'r4'],
    ],
  });
  sim.at(9_000_000, { op: 'heal', segment: 'lan' });
  sim.at(11_000_000, { op: 'tracker', router: 'r4', kind: 'script', name: 'svc', up: false });
  sim.at(12_000_000, { op: 'priority', router: 'r1', instance: 'VI_2', priority: 50 });
  sim.at(13_000_000, { op: 'crash', router: 'r3' });
  sim.at(16_000_000, { op: 'restart', router: 'r3' });
  sim.at(17_000_000, { op: 'linkDown', router: 'r2', segment: 'lan' });
  sim.at(19_000_000, { op: 'linkUp', router: 'r2', segment: 'lan' });
  sim.at(22_000_000, { op: 'shutdown', router: 'r4' });
  sim.run(30_000_000);
  return sim;
}

test('two runs with the same seed produce identical event traces', () => {
  const a = chaoticRun(1234);
  const b = chaoticRun(1234);
  assert.ok(a.trace!.length > 500, `trace has ${a.trace!.length} lines`);
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.counters, b.counters);
  const c = chaoticRun(1235);
  assert.notDeepEqual(a.trace, c.trace, 'a different seed draws different losses and delays');
});

test("a recorded router's inputs replay to the same outputs, through JSON lines, across a restart", () => {
  const sim = chaoticRun(99, 'r3');
  const records = sim.router('r3').records!;
  assert.equal(records.filter((r) => r.kind === 'config').length, 2, 'r3 was restarted once');
  const text = toJsonLines(records);
  const parsed = parseJsonLines(text);
  assert.ok(parsed.ok);
  const result = replay(parsed.records);
  assert.deepEqual(result, { ok: true, inputs: records.filter((r) => r.kind === 'in').length });
  assert.ok(result.ok && result.inputs > 100);
});

test('replay detects a tampered output and names the record', () => {
  const sim = chaoticRun(5, 'r1');
  const records = JSON.parse(JSON.stringify(sim.router('r1').records)) as ReplayRecord[];
  const i = records.findIndex((r) => r.kind === 'out' && r.actions.some((a) => a.type === 'sendAdvert'));
  const rec = records[i]!;
  assert.ok(rec.kind === 'out');
  const adv = rec.actions.find((a) => a.type === 'sendAdvert')!;
  assert.ok(adv.type === 'sendAdvert');
  adv.advert.priority += 1;
  const result = replay(records);
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.code === 'output-mismatch' && result.index === i);
});

test('parseJsonLines rejects garbage with a line number', () => {
  assert.deepEqual(parseJsonLines('{"kind":"config","config":{"instances":[],"syncGroups":[]}}\n{oops'), {
    ok: false,
    code: 'bad-json',
    line: 2,
  });
  assert.deepEqual(parseJsonLines('{"kind":"what"}'), { ok: false, code: 'bad-record', line: 1 });
  assert.deepEqual(replay([]), { ok: false, code: 'no-config', index: 0 });
});

test('the codec round trip changes nothing: the same run with plain objects on the wire gives the same masters', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const run = (codec: boolean) => {
      const sim = new Simulator({ seed, codec });
      sim.addSegment('lan', { delayUs: 300, jitterUs: 2_000, lossProb: 0.2 });
      for (let i = 1; i <= 4; i++) {
        sim.addRouter({
          id: `r${i}`,
          instances: [
            {
              name: 'VI',
              vrid: 3,
              version: 3,
              advertIntervalCs: 10,
              segment: 'lan',
              basePriority: 90 + 10 * i,
              primaryAddress: `192.0.2.${i}`,
              vips: [{ address: '192.0.2.99', prefixLen: 24 }],
            },
          ],
        });
      }
      sim.at(2_000_000, { op: 'shutdown', router: 'r4' });
      sim.at(3_000_000, { op: 'priority', router: 'r1', instance: 'VI', priority: 250 });
      sim.run(5_000_000);
      return { intervals: sim.masterLog.intervals('lan|v4|3'), counters: sim.counters };
    };
    const withCodec = run(true);
    assert.deepEqual(run(false), withCodec, `seed ${seed}`);
    assert.equal(withCodec.counters.packetsDropped, 0);
  }
});
