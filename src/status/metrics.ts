// Prometheus metrics from the listener's StatusModel. prom-client's Registry defines every metric (name,
// help, type, samples read from the model at scrape time) and writes the exposition format for all but the
// per-instance families; those (about 26 samples per instance, 26,000 at 1,000 instances) are written by
// MetricsRenderer from label strings made once per instance, because prom-client's per-sample label
// formatting cost ~100 ms a scrape at 1,000 instances (docs/decisions/status-listener.md, 2026-12-05).
// The output is byte for byte what prom-client's Registry renders for the same model
// (test/ops/metrics-render.test.ts). The names and labels of keepalived-exporter (the exporter most
// keepalived dashboards and alerts are built on: docs/operating.md lists them) come first, then
// keepalived-ts's own, prefixed keepalived_ts_.
import { Registry } from 'prom-client';
import { SCRIPT_STATES } from '../daemon/runtime-observer.js';
import type { ServiceTraffic } from '../lvs/counters.js';
import { type BucketCounts, type CounterName, type InstanceInfo, STATE_CODE } from './channel.js';
import type { StatusModel } from './model.js';

type Labels = Record<string, string | number>;
interface Value {
  value: number;
  labels?: Labels;
  metricName?: string;
}
type MetricType = 'gauge' | 'counter' | 'histogram';
/** Appends a family's sample lines, already formatted (the fast path of MetricsRenderer). */
type Lines = (out: string[]) => void;

/** A metric prom-client's Registry can print: name, help, type and the values of the moment. */
class ModelMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator = 'sum';
  readonly #values: () => Value[];
  readonly lines: Lines | undefined;
  constructor(name: string, help: string, type: MetricType, values: () => Value[], lines?: Lines) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#values = values;
    this.lines = lines;
  }
  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.#values(), aggregator: 'sum' };
  }
  reset() {}
}

function histogramValues(name: string, h: BucketCounts, labels: Labels = {}): Value[] {
  const out: Value[] = [];
  let acc = 0;
  for (const [k, bound] of h.bounds.entries()) {
    acc += h.counts[k] ?? 0;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound }, value: acc });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
  return out;
}

/** keepalived-exporter's per-instance counters: metric name → our counter. */
const EXPORTER_COUNTERS: [string, CounterName, string][] = [
  ['keepalived_advertisements_received_total', 'RcvdAdvertisements', 'Advertisements received'],
  ['keepalived_advertisements_sent_total', 'SentAdvertisements', 'Advertisements sent'],
  ['keepalived_become_master_total', 'BecomeMaster', 'Became master'],
  ['keepalived_release_master_total', 'ReleasedMaster', 'Released master'],
  ['keepalived_packet_length_errors_total', 'PacketLengthErrors', 'Packet length errors'],
  ['keepalived_advertisements_interval_errors_total', 'AdvIntervalErrors', 'Advertisement interval errors'],
  ['keepalived_ip_ttl_errors_total', 'IpTtlErrors', 'TTL errors'],
  ['keepalived_invalid_type_received_total', 'RcvdInvalidTypePackets', 'Invalid type errors'],
  ['keepalived_address_list_errors_total', 'AddressListErrors', 'Address list errors'],
  ['keepalived_authentication_invalid_total', 'InvalidAuthType', 'Authentication invalid'],
  ['keepalived_authentication_mismatch_total', 'AuthTypeMismatch', 'Authentication mismatch'],
  ['keepalived_authentication_failure_total', 'AuthFailures', 'Authentication failure'],
  ['keepalived_priority_zero_received_total', 'RcvdPriZeroPackets', 'Priority zero received'],
  ['keepalived_priority_zero_sent_total', 'SentPriZeroPackets', 'Priority zero sent'],
];

/** Receive errors neither keepalived nor the exporter count, under keepalived_ts_vrrp_errors_total{counter}. */
const OUR_ERRORS: CounterName[] = [
  'ChecksumErrors',
  'VersionErrors',
  'VrIdErrors',
  'DstAddrErrors',
  'UnicastSrcErrors',
  'OwnerIgnoredAdverts',
];

/**
 * The VIPs keepalived_vrrp_state has a line for: every VIP and excluded VIP, or, for an instance without
 * any, one line with an empty ip_address on the instance's interface (as keepalived-exporter writes it).
 */
function vipsOrNone(i: InstanceInfo): { address: string; dev: string }[] {
  const all = [...i.vips, ...i.excludedVips];
  return all.length > 0 ? all : [{ address: '', dev: i.interface }];
}

/** Prometheus label value and HELP escaping, as prom-client does it. */
const escLabel = (v: string | number) =>
  typeof v === 'string' ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
const escHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
/** A sample's value as prom-client writes it. */
const fmt = (v: number) => (Number.isNaN(v) ? 'Nan' : Number.isFinite(v) ? `${v}` : v < 0 ? '-Inf' : '+Inf');

/**
 * Per-instance label strings for the fast path, made when the instance set changes (an 'instances'
 * message) and, for those with the state label, when the instance's state changes.
 */
class InstanceLabels {
  readonly #model: StatusModel;
  #infos: InstanceInfo[] | null = null;
  /** `iname="…",intf="…",vrid="…"` */
  base: string[] = [];
  #stated: string[] = [];
  #statedName: string[] = [];
  #vipPrefixes: string[][] = [];
  #vipLines: string[] = [];
  #vipCode: number[] = [];
  constructor(model: StatusModel) {
    this.#model = model;
  }
  /** Call before each family: rebuilds everything if the instance set changed. */
  sync(): void {
    const infos = this.#model.infos;
    if (this.#infos === infos) return;
    this.#infos = infos;
    this.base = infos.map(
      (i) => `iname="${escLabel(i.name)}",intf="${escLabel(i.interface)}",vrid="${i.vrid}"`,
    );
    this.#stated = infos.map(() => '');
    this.#statedName = infos.map(() => '');
    this.#vipPrefixes = infos.map((i) =>
      vipsOrNone(i).map(
        (v) =>
          `keepalived_vrrp_state{iname="${escLabel(i.name)}",intf="${escLabel(v.dev)}",vrid="${i.vrid}",ip_address="${escLabel(v.address)}"} `,
      ),
    );
    this.#vipLines = infos.map(() => '');
    this.#vipCode = infos.map(() => -1);
  }
  /** `{iname="…",intf="…",vrid="…",state="…"} ` */
  stated(k: number): string {
    const s = this.#model.stateOf(k);
    if (this.#statedName[k] !== s) {
      this.#statedName[k] = s;
      this.#stated[k] = `{${this.base[k]},state="${escLabel(s)}"} `;
    }
    return this.#stated[k]!;
  }
  /** The instance's keepalived_vrrp_state lines (one per VIP), joined; '' when it has none. */
  vipLines(k: number, code: number): string {
    if (this.#vipCode[k] !== code) {
      this.#vipCode[k] = code;
      const v = fmt(code);
      this.#vipLines[k] = this.#vipPrefixes[k]!.map((p) => p + v).join('\n');
    }
    return this.#vipLines[k]!;
  }
}

/** The metrics and how to render them: prom-client's Registry, and the faster rendering of the same. */
export class MetricsRenderer {
  readonly registry: Registry;
  readonly #metrics: ModelMetric[];
  constructor(registry: Registry, metrics: ModelMetric[]) {
    this.registry = registry;
    this.#metrics = metrics;
  }
  get contentType(): string {
    return this.registry.contentType;
  }
  /** The exposition text, identical to `registry.metrics()` for the same model. */
  async render(): Promise<string> {
    const parts: string[] = [];
    for (const m of this.#metrics) {
      if (m.lines) {
        const name = escHelp(m.name);
        const out = [`# HELP ${name} ${escHelp(m.help)}`, `# TYPE ${name} ${m.type}`];
        m.lines(out);
        parts.push(out.join('\n'));
      } else parts.push(await this.registry.getSingleMetricAsString(m.name));
    }
    return `${parts.join('\n\n')}\n`;
  }
}

export function buildRegistry(model: StatusModel): Registry {
  return buildMetrics(model).registry;
}

export function buildMetrics(model: StatusModel): MetricsRenderer {
  const reg = new Registry();
  const metrics: ModelMetric[] = [];
  const add = (name: string, help: string, type: MetricType, values: () => Value[], lines?: Lines) => {
    const m = new ModelMetric(name, help, type, values, lines);
    metrics.push(m);
    reg.registerMetric(m as never);
  };
  // Label objects made once per instance set (base) and once per model version (with the state), shared by
  // every metric of a scrape: 1,000 instances × 20 metrics would otherwise make 20,000 objects a scrape.
  let baseFor: unknown = null;
  let bases: Labels[] = [];
  let statedAt = -1;
  let stated: Labels[] = [];
  const base = (k: number): Labels => {
    if (baseFor !== model.infos) {
      baseFor = model.infos;
      bases = model.infos.map((i) => ({ iname: i.name, intf: i.interface, vrid: i.vrid }));
      statedAt = -1;
    }
    return bases[k]!;
  };
  const withState = (k: number, _base: Labels): Labels => {
    if (statedAt !== model.version || stated.length !== model.infos.length) {
      base(0);
      statedAt = model.version;
      stated = bases.map((b, j) => ({ ...b, state: model.stateOf(j) }));
    }
    return stated[k]!;
  };
  const each = <T>(f: (k: number, base: Labels) => T[]): T[] => {
    const out: T[] = [];
    for (let k = 0; k < model.infos.length; k++) for (const v of f(k, base(k))) out.push(v);
    return out;
  };
  // The fast path's equivalents: one line per instance with the state label, or with the base labels.
  const L = new InstanceLabels(model);
  const statedLines =
    (name: string, value: (k: number) => number): Lines =>
    (out) => {
      L.sync();
      for (let k = 0; k < model.infos.length; k++) out.push(name + L.stated(k) + fmt(value(k)));
    };
  const baseLines =
    (name: string, value: (k: number) => number): Lines =>
    (out) => {
      L.sync();
      for (let k = 0; k < model.infos.length; k++) out.push(`${name}{${L.base[k]}} ${fmt(value(k))}`);
    };

  add('keepalived_up', 'Status: 1 while the VRRP process sends its snapshots', 'gauge', () => [
    { value: model.up(Date.now()) ? 1 : 0 },
  ]);
  add(
    'keepalived_vrrp_state',
    'State of vrrp: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT',
    'gauge',
    () =>
      each((k, base) => {
        const i = model.infos[k]!;
        const v = STATE_CODE[model.stateOf(k)] ?? 0;
        return vipsOrNone(i).map((vip) => ({
          value: v,
          labels: { iname: base.iname!, intf: vip.dev, vrid: base.vrid!, ip_address: vip.address },
        }));
      }),
    (out) => {
      L.sync();
      for (let k = 0; k < model.infos.length; k++) {
        const lines = L.vipLines(k, STATE_CODE[model.stateOf(k)] ?? 0);
        if (lines !== '') out.push(lines);
      }
    },
  );
  for (const [name, counter, help] of EXPORTER_COUNTERS)
    add(
      name,
      help,
      'counter',
      () => each((k, base) => [{ value: model.num(k, counter), labels: withState(k, base) }]),
      statedLines(name, (k) => model.num(k, counter)),
    );
  add(
    'keepalived_gratuitous_arp_delay_total',
    'Gratuitous ARP delay (garp_master_delay, s)',
    'counter',
    () => each((k, base) => [{ value: model.infos[k]!.garpMasterDelayS, labels: withState(k, base) }]),
    statedLines('keepalived_gratuitous_arp_delay_total', (k) => model.infos[k]!.garpMasterDelayS),
  );
  add('keepalived_script_status', 'Tracker Script Status: 0 BAD, 1 GOOD', 'gauge', () =>
    model.trackers
      .filter((t) => t.kind === 'script')
      .map((t) => ({ value: 'up' in t && t.up ? 1 : 0, labels: { name: t.name } })),
  );
  add(
    'keepalived_script_state',
    'Tracker Script State: 0 idle, 1 running, 2 requested termination, 3 forcing termination',
    'gauge',
    () =>
      model.trackers.flatMap((t) =>
        t.kind === 'script'
          ? [{ value: Math.max(0, SCRIPT_STATES.indexOf(t.state)), labels: { name: t.name } }]
          : [],
      ),
  );

  // ===== keepalived-ts =====
  add(
    'keepalived_ts_vrrp_effective_priority',
    'Effective priority (base + trackers)',
    'gauge',
    () => each((k, base) => [{ value: model.num(k, 'effectivePriority'), labels: base }]),
    baseLines('keepalived_ts_vrrp_effective_priority', (k) => model.num(k, 'effectivePriority')),
  );
  add(
    'keepalived_ts_vrrp_base_priority',
    'Configured priority',
    'gauge',
    () => each((k, base) => [{ value: model.num(k, 'basePriority'), labels: base }]),
    baseLines('keepalived_ts_vrrp_base_priority', (k) => model.num(k, 'basePriority')),
  );
  add(
    'keepalived_ts_vrrp_master_priority',
    'Priority in the last advert accepted from the master',
    'gauge',
    () => each((k, base) => [{ value: model.num(k, 'masterPriority'), labels: base }]),
    baseLines('keepalived_ts_vrrp_master_priority', (k) => model.num(k, 'masterPriority')),
  );
  add(
    'keepalived_ts_vrrp_last_transition_timestamp_seconds',
    'When the instance last changed state (Unix time; 0 before any)',
    'gauge',
    () => each((k, base) => [{ value: model.num(k, 'lastTransitionS'), labels: base }]),
    baseLines('keepalived_ts_vrrp_last_transition_timestamp_seconds', (k) => model.num(k, 'lastTransitionS')),
  );
  add(
    'keepalived_ts_vrrp_errors_total',
    'Adverts dropped for reasons keepalived does not count (RFC 6527 names and ours)',
    'counter',
    () =>
      each((k, base) => OUR_ERRORS.map((c) => ({ value: model.num(k, c), labels: { ...base, counter: c } }))),
    (out) => {
      L.sync();
      for (let k = 0; k < model.infos.length; k++)
        for (const c of OUR_ERRORS)
          out.push(`keepalived_ts_vrrp_errors_total{${L.base[k]},counter="${c}"} ${fmt(model.num(k, c))}`);
    },
  );
  add(
    'keepalived_ts_failover_seconds',
    'Takeovers: from the Master_Down deadline to the first GARP/NA handed to the kernel',
    'histogram',
    () => histogramValues('keepalived_ts_failover_seconds', model.failovers),
  );
  add(
    'keepalived_ts_advert_lateness_seconds',
    'How long after its deadline each advert timer fired in the VRRP process',
    'histogram',
    () => histogramValues('keepalived_ts_advert_lateness_seconds', model.lateness),
  );
  add(
    'keepalived_ts_event_loop_delay_seconds',
    'Event-loop delay of the VRRP process over the last 10 s',
    'gauge',
    () => [
      { value: model.loop.p50, labels: { quantile: '0.5' } },
      { value: model.loop.p99, labels: { quantile: '0.99' } },
      { value: model.loop.max, labels: { quantile: '1' } },
    ],
  );
  add('keepalived_ts_tracker_up', 'Tracked interfaces, scripts and processes: 1 up, 0 down', 'gauge', () =>
    model.trackers.flatMap((t) =>
      'up' in t ? [{ value: t.up ? 1 : 0, labels: { name: t.name, kind: t.kind } }] : [],
    ),
  );
  add('keepalived_ts_track_file_value', 'The value read from each track_file', 'gauge', () =>
    model.trackers.flatMap((t) => ('value' in t ? [{ value: t.value, labels: { name: t.name } }] : [])),
  );
  add(
    'keepalived_ts_snapshot_age_seconds',
    'Age of the last snapshot from the VRRP process (sent every second)',
    'gauge',
    () => (model.tickMs === null ? [] : [{ value: (Date.now() - model.tickMs) / 1000 }]),
  );

  // Real servers (the checker process, through the main process).
  const rs = <T>(f: (r: StatusModel['realServers'][number], labels: Labels) => T[]) =>
    model.realServers.flatMap((r) => f(r, { vs: r.vs, rs: r.rs }));
  add('keepalived_ts_checker_up', 'Checker process reporting: 1 yes, 0 no', 'gauge', () =>
    model.checkerRunning === null ? [] : [{ value: model.checkerRunning ? 1 : 0 }],
  );
  add(
    'keepalived_ts_real_server_up',
    'Real server in service (all its checkers up): 1, else 0',
    'gauge',
    () => rs((r, labels) => [{ value: r.alive ? 1 : 0, labels }]),
  );
  add(
    'keepalived_ts_real_server_weight',
    'Weight programmed now (slow start and dynamic weights applied)',
    'gauge',
    () => rs((r, labels) => [{ value: r.effectiveWeight, labels }]),
  );
  add('keepalived_ts_real_server_configured_weight', 'Configured weight', 'gauge', () =>
    rs((r, labels) => [{ value: r.configuredWeight, labels }]),
  );
  add('keepalived_ts_real_server_failed_checkers', 'Checkers of the real server failing now', 'gauge', () =>
    rs((r, labels) => [{ value: r.failedCheckers, labels }]),
  );
  add('keepalived_ts_real_server_checks_total', 'Checks completed', 'counter', () =>
    rs((r, labels) => [{ value: r.latency.count, labels }]),
  );
  add('keepalived_ts_real_server_check_failures_total', 'Checks failed', 'counter', () =>
    rs((r, labels) => [{ value: r.latency.failures, labels }]),
  );
  add(
    'keepalived_ts_real_server_check_latency_seconds',
    'Check latency: the last one, an EWMA (1/8) and the maximum',
    'gauge',
    () =>
      rs((r, labels) => [
        { value: r.latency.lastUs / 1e6, labels: { ...labels, stat: 'last' } },
        { value: r.latency.ewmaUs / 1e6, labels: { ...labels, stat: 'ewma' } },
        { value: r.latency.maxUs / 1e6, labels: { ...labels, stat: 'max' } },
      ]),
  );
  // Data-plane traffic (keepalived-exporter's IPVS families; src/lvs/counters.ts): per virtual server
  // {addr, proto}, per real server the same labels plus `vip`, the virtual server's addr (a real server may
  // serve several).
  const TRAFFIC: [string, keyof ServiceTraffic['total'], string][] = [
    ['in_packets', 'inPackets', 'in packets'],
    ['out_packets', 'outPackets', 'out packets'],
    ['in_bytes', 'inBytes', 'in bytes'],
    ['out_bytes', 'outBytes', 'out bytes'],
    ['conn', 'conns', 'connections'],
  ];
  for (const [suffix, field, help] of TRAFFIC)
    add(`keepalived_lvs_vip_${suffix}`, `VIP ${help}`, 'counter', () =>
      model.traffic.map((t) => ({ value: t.total[field], labels: { addr: t.addr, proto: t.proto } })),
    );
  for (const [suffix, field, help] of TRAFFIC)
    add(`keepalived_lvs_rs_${suffix}`, `RS ${help}`, 'counter', () =>
      model.traffic.flatMap((t) =>
        t.reals.map((r) => ({
          value: r.traffic[field],
          labels: { addr: `${r.address}:${r.port}`, proto: t.proto, vip: t.addr },
        })),
      ),
    );
  return new MetricsRenderer(reg, metrics);
}
