// The listener's /metrics rendering (src/status/metrics.ts): MetricsRenderer writes the per-instance families
// itself, from label strings cached per instance, instead of through prom-client's per-sample formatting. For
// the same model it must give byte for byte what prom-client's Registry gives, through state changes, counter
// moves and a new instance set (the caches' invalidation), with label values that need escaping; and the
// text must parse as Prometheus text format (parse-prometheus-text-format) to the same families and samples.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  FAILOVER_BOUNDS,
  type InstanceInfo,
  LATENESS_BOUNDS,
  ROW_FIELDS,
  ROW_HEAD,
  type ToStatus,
} from '../../src/status/channel.js';
import { buildMetrics } from '../../src/status/metrics.js';
import { StatusModel } from '../../src/status/model.js';

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }[];
}
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** A small deterministic generator (the test must not pass by luck of one draw). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function infos(n: number, tag: string): InstanceInfo[] {
  return Array.from({ length: n }, (_, k) => ({
    // Names that need escaping in a label value: a quote, a backslash, a newline.
    name: k === 0 ? `VI_"q"\\b\n${tag}` : `VI_${tag}_${k}`,
    interface: `eth${k % 3}`,
    vrid: (k % 255) + 1,
    family: 4 as const,
    version: 3 as const,
    advertIntervalCs: 100,
    garpMasterDelayS: k % 4 === 0 ? 0.5 : 5,
    unicastPeers: [],
    // Some with no VIP, some with excluded ones, on another device.
    vips: Array.from({ length: k % 3 }, (_, j) => ({
      address: `192.0.2.${(k + j) % 250}`,
      prefixLen: 24,
      dev: 'eth0',
    })),
    excludedVips: k % 5 === 0 ? [{ address: `2001:db8::${k}`, prefixLen: 64, dev: 'vlan"9' }] : [],
    trackers: [],
    syncGroup: null,
  }));
}

function tick(n: number, r: () => number, atMs: number): ToStatus {
  const rows = new Float64Array(n * ROW_FIELDS);
  for (let k = 0; k < n; k++)
    for (let j = 0; j < ROW_FIELDS; j++) {
      // state: 0..3 (and STOP); the rest counters and priorities, some fractional, some huge.
      rows[k * ROW_FIELDS + j] =
        j === 0
          ? [0, 1, 2, 3, 98][Math.floor(r() * 5)]!
          : j === ROW_HEAD.length
            ? 2 ** 53 - 1
            : Math.floor(r() * 1e6) / (j % 2 ? 1 : 8);
    }
  return {
    type: 'tick',
    atMs,
    rows,
    trackers: [
      { name: 'chk\\"x', kind: 'script', up: r() < 0.5 },
      { name: 'eth1', kind: 'interface', up: true },
      { name: '/run/f', kind: 'file', value: Math.floor(r() * 10) },
    ] as never,
    loop: { p50: r() / 100, p99: r() / 10, max: r() },
    lateness: {
      bounds: LATENESS_BOUNDS,
      counts: LATENESS_BOUNDS.map(() => Math.floor(r() * 9)),
      sum: r(),
      count: 99,
    },
    failovers: {
      bounds: FAILOVER_BOUNDS,
      counts: FAILOVER_BOUNDS.map(() => Math.floor(r() * 3)),
      sum: r(),
      count: 7,
    },
  };
}

test('MetricsRenderer gives what prom-client renders, and valid text format', async (t) => {
  const now = 1_760_000_000_000;
  t.mock.method(Date, 'now', () => now);
  const model = new StatusModel();
  const metrics = buildMetrics(model);
  const r = rng(17);
  const same = async (what: string) => {
    const ours = await metrics.render();
    const theirs = await metrics.registry.metrics();
    assert.equal(ours, theirs, what);
    return ours;
  };
  await same('empty model');

  model.apply({ type: 'instances', list: infos(40, 'a') });
  await same('instances, no snapshot yet');
  for (let round = 0; round < 5; round++) {
    model.apply(tick(40, r, now - 300));
    await same(`tick ${round}`);
    model.apply({
      type: 'transition',
      t: { instance: 'VI_a_3', from: 'BACKUP', to: 'MASTER', reason: 'x', atMs: now },
    });
    await same(`transition ${round}`);
  }
  model.apply({
    type: 'realServers',
    atMs: now,
    list: [
      {
        vs: '192.0.2.200:80',
        rs: '192.0.2.1:8080',
        alive: true,
        configuredWeight: 3,
        effectiveWeight: 2,
        failedCheckers: 0,
        checkers: [],
        latency: { count: 5, failures: 1, lastUs: 1200, ewmaUs: 1100, maxUs: 5000, histogram: [] },
      },
    ],
  });
  await same('real servers');
  // A reload: another instance set (fewer, other names): no cached line of the old set may survive.
  model.apply({ type: 'instances', list: infos(25, 'b') });
  model.apply(tick(25, r, now - 100));
  const text = await same('after a reload');
  assert.doesNotMatch(text, /VI_a_/);

  // The text parses, and to what prom-client's rendering parses to.
  const fams = parse(text);
  assert.deepEqual(fams, parse(await metrics.registry.metrics()));
  const byName = new Map(fams.map((f) => [f.name, f]));
  const state = byName.get('keepalived_vrrp_state')!;
  // One line per VIP and excluded VIP; an instance with none has one, ip_address "" (keepalived-exporter).
  const lines = infos(25, 'b').reduce((s, i) => s + Math.max(1, i.vips.length + i.excludedVips.length), 0);
  assert.equal(state.metrics.length, lines);
  const bare = infos(25, 'b').find((i) => i.vips.length + i.excludedVips.length === 0)!;
  const none = state.metrics.find((m) => m.labels!.iname === bare.name)!;
  assert.deepEqual(
    { intf: none.labels!.intf, ip_address: none.labels!.ip_address },
    { intf: bare.interface, ip_address: '' },
  );
  const sent = byName.get('keepalived_advertisements_sent_total')!;
  assert.equal(sent.type, 'COUNTER');
  assert.equal(sent.metrics.length, 25);
  assert.equal(sent.metrics[0]!.labels!.iname, 'VI_"q"\\b\nb');
  assert.equal(sent.metrics[0]!.labels!.intf, 'eth0');
  assert.equal(sent.metrics[0]!.labels!.vrid, '1');
  assert.ok(['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'].includes(sent.metrics[0]!.labels!.state!));
  assert.equal(byName.get('keepalived_ts_vrrp_errors_total')!.metrics.length, 25 * 6);
  assert.equal(byName.get('keepalived_ts_failover_seconds')!.type, 'HISTOGRAM');
});
