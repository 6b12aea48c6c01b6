// The status listener's feed and model without a daemon: the failover histogram counts a takeover whatever
// timer its batch began with (runtime-observer.ts: only the batch's earliest deadline is reported), real
// servers' history is the checker's events with their times and reasons (not a once-a-second sample), and
// keepalived-exporter's keepalived_script_state gives keepalived's script state numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monotonicUs } from '../../src/common/clock.js';
import type { KeepalivedConfig } from '../../src/config/model.js';
import type { RealServerInfo, Tick, ToStatus } from '../../src/status/channel.js';
import { StatusFeed } from '../../src/status/feed.js';
import { buildMetrics } from '../../src/status/metrics.js';
import { StatusModel } from '../../src/status/model.js';

const CFG = { syncGroups: [] } as unknown as KeepalivedConfig;

/** A feed with no VRRP runtime behind it; `failovers()` is the count in a fresh snapshot. */
function feed() {
  const sent: ToStatus[] = [];
  const f = new StatusFeed((m) => sent.push(m));
  f.attach(null, CFG);
  const failovers = () => {
    f.tick();
    const t = sent.filter((m): m is Tick => m.type === 'tick').at(-1)!;
    return t.failovers;
  };
  return { f, failovers };
}

/** Lets the microtask that ends a timer batch run. */
const batchEnd = () => new Promise<void>((r) => setImmediate(r));

test('a takeover is timed when its batch began with another instance’s advert timer', async () => {
  const { f, failovers } = feed();
  try {
    assert.equal(failovers().count, 0);
    // One batch: VI_A's advert timer was the earliest due, VI_B's Master_Down fired in the same batch.
    const dueUs = monotonicUs() - 3000;
    f.timerFired({ instance: 'VI_A', timer: 'advert', atUs: dueUs }, dueUs + 200);
    f.transition('VI_B', 'BACKUP', 'MASTER', 'master down timer expired');
    await batchEnd();
    f.announced('VI_B');
    const h = failovers();
    assert.equal(h.count, 1, 'the takeover is in the histogram');
    assert.ok(h.sum >= 0.003 && h.sum < 1, `timed from the batch's earliest deadline: ${h.sum} s`);

    // Its own Master_Down first: timed from that deadline.
    const due2 = monotonicUs() - 1000;
    f.timerFired({ instance: 'VI_C', timer: 'masterDown', atUs: due2 }, due2 + 100);
    f.transition('VI_C', 'BACKUP', 'MASTER', 'master down timer expired');
    await batchEnd();
    f.announced('VI_C');
    assert.equal(failovers().count, 2);
  } finally {
    f.stop();
  }
});

test('a transition to MASTER outside a timer batch is not a timed failover', async () => {
  const { f, failovers } = feed();
  try {
    const dueUs = monotonicUs() - 1000;
    f.timerFired({ instance: 'VI_A', timer: 'advert', atUs: dueUs }, dueUs);
    await batchEnd();
    // A later batch (an advert received, a start): nothing to time it from.
    f.transition('VI_B', 'INIT', 'MASTER', 'priority 255: address owner');
    f.announced('VI_B');
    // A timer batch that ends in BACKUP: the GARP afterwards is not a takeover either.
    f.timerFired({ instance: 'VI_C', timer: 'masterDown', atUs: dueUs }, dueUs);
    f.transition('VI_C', 'MASTER', 'BACKUP', 'higher priority advert');
    await batchEnd();
    f.announced('VI_C');
    assert.equal(failovers().count, 0);
  } finally {
    f.stop();
  }
});

function rs(vs: string, name: string, alive: boolean, weight: number): RealServerInfo {
  return {
    vs,
    rs: name,
    alive,
    configuredWeight: 10,
    effectiveWeight: weight,
    failedCheckers: alive ? 0 : 1,
    checkers: [{ kind: 'TCP_CHECK', up: alive, hasRun: true }],
    latency: { count: 3, failures: 0, lastUs: 100, ewmaUs: 100, maxUs: 200, histogram: [] },
  };
}

test('real-server history: every change the checker reported, with its time and reason', () => {
  const m = new StatusModel();
  const VS = '192.0.2.10:80';
  const t0 = Date.parse('2026-12-05T07:00:00Z');
  m.apply({
    type: 'realServers',
    atMs: t0,
    list: [rs(VS, '198.51.100.1:80', true, 10), rs(VS, '198.51.100.2:80', false, 0)],
    events: [{ vs: VS, rs: '198.51.100.1:80', kind: 'up', weight: 10, reason: 'startup', atMs: t0 - 5 }],
  });
  // Down and up again within one second (a sample a second would have seen no change), then a weight.
  m.apply({
    type: 'realServers',
    atMs: t0 + 1000,
    list: [rs(VS, '198.51.100.1:80', true, 5), rs(VS, '198.51.100.2:80', false, 0)],
    events: [
      {
        vs: VS,
        rs: '198.51.100.1:80',
        kind: 'down',
        weight: 0,
        reason: 'TCP connect refused',
        atMs: t0 + 100,
      },
      {
        vs: VS,
        rs: '198.51.100.1:80',
        kind: 'up',
        weight: 10,
        reason: 'TCP connect success',
        atMs: t0 + 400,
      },
      { vs: VS, rs: '198.51.100.1:80', kind: 'weight', weight: 5, reason: 'misc_dynamic', atMs: t0 + 700 },
    ],
  });
  const [vs] = m.virtualServers();
  const one = vs!.realServers.find((r) => r.name === '198.51.100.1:80')!;
  assert.deepEqual(
    one.history.map((h) => [h.change, h.alive, h.weight, h.reason, Date.parse(h.at) - t0]),
    [
      ['up', true, 10, 'startup', -5],
      ['down', false, 0, 'TCP connect refused', 100],
      ['up', true, 10, 'TCP connect success', 400],
      ['weight', true, 5, 'misc_dynamic', 700],
    ],
  );
  // No event for the other: its state as first listed, without a reason.
  const two = vs!.realServers.find((r) => r.name === '198.51.100.2:80')!;
  assert.deepEqual(
    two.history.map((h) => [h.change, h.alive, h.reason]),
    [['seen', false, null]],
  );
  // Events lost (a respawned checker): the list's state is recorded when it disagrees with the history.
  m.apply({ type: 'realServers', atMs: t0 + 2000, list: [rs(VS, '198.51.100.1:80', false, 0)] });
  const again = m.virtualServers()[0]!.realServers[0]!;
  assert.deepEqual(again.history.at(-1), {
    at: new Date(t0 + 2000).toISOString(),
    alive: false,
    change: 'seen',
    weight: 0,
    reason: null,
  });
});

test('keepalived_script_state: keepalived-exporter’s name, label and numbers', async () => {
  const m = new StatusModel();
  const metrics = buildMetrics(m);
  m.apply({
    type: 'tick',
    atMs: Date.now(),
    rows: new Float64Array(0),
    trackers: [
      { name: 'chk_idle', kind: 'script', up: true, state: 'idle' },
      { name: 'chk_run', kind: 'script', up: false, state: 'running' },
      { name: 'chk_term', kind: 'script', up: false, state: 'requested termination' },
      { name: 'chk_kill', kind: 'script', up: false, state: 'forcing termination' },
      { name: 'eth1', kind: 'interface', up: true },
    ],
    loop: { p50: 0, p99: 0, max: 0 },
    lateness: { bounds: [], counts: [0], sum: 0, count: 0 },
    failovers: { bounds: [], counts: [0], sum: 0, count: 0 },
  });
  const text = await metrics.render();
  const lines = text.split('\n').filter((l) => l.startsWith('keepalived_script_'));
  assert.deepEqual(lines, [
    'keepalived_script_status{name="chk_idle"} 1',
    'keepalived_script_status{name="chk_run"} 0',
    'keepalived_script_status{name="chk_term"} 0',
    'keepalived_script_status{name="chk_kill"} 0',
    'keepalived_script_state{name="chk_idle"} 0',
    'keepalived_script_state{name="chk_run"} 1',
    'keepalived_script_state{name="chk_term"} 2',
    'keepalived_script_state{name="chk_kill"} 3',
  ]);
  assert.match(text, /# TYPE keepalived_script_state gauge/);
});
