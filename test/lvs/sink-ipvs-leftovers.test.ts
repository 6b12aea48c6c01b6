// A run killed while it programs IPVS must leave a state file naming every service it may have put in the
// kernel, or the next start (which deletes only the services the file calls ours: docs/lvs.md, "The IPVS
// back end") leaves the unconfigured ones there for good. The sink writes the file before a transaction that
// adds a service key (LvsStateFile.unsettled), checked here with the real checker core and sink over an
// IPVS back end that records the file as each transaction begins (no kernel needed).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CheckerCore } from '../../src/check/core/index.js';
import { ipvsLeftovers, LvsSink, type LvsStateFile } from '../../src/check/lvs-sink.js';
import { createLogger } from '../../src/common/logger.js';
import { loadConfig } from '../../src/config/load.js';
import {
  applyChanges,
  type Change,
  canonical,
  type DataplaneResult,
  type DataplaneState,
  EMPTY_STATE,
  type ServiceSpec,
} from '../../src/lvs/dataplane.js';
import { IpvsDataplane } from '../../src/lvs/ipvs-dataplane.js';
import { serviceKeys } from '../../src/lvs/ipvs-msg.js';
import { nat, svc } from './fixtures.js';

/** IPVS in memory: each transaction records the state file as it stands when the transaction begins. */
class RecordingIpvs extends IpvsDataplane {
  readonly seen: (LvsStateFile | null)[] = [];
  /** The next transactions' results (ok when empty): a failed one changes nothing. */
  readonly results: DataplaneResult[] = [];
  #st: DataplaneState = EMPTY_STATE;
  constructor(readonly file: string) {
    super();
  }
  #begin(next: () => DataplaneState): Promise<DataplaneResult> {
    this.seen.push(
      existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as LvsStateFile) : null,
    );
    const r = this.results.shift() ?? { ok: true };
    if (r.ok) this.#st = next();
    return Promise.resolve(r);
  }
  override start(s: DataplaneState) {
    return this.#begin(() => canonical(s));
  }
  override update(s: DataplaneState) {
    return this.#begin(() => canonical(s));
  }
  override apply(plan: readonly Change[]) {
    return this.#begin(() => applyChanges(this.#st, plan));
  }
  override committed() {
    return this.#st;
  }
  override service(name: string) {
    return this.#st.services.find((s) => s.name === name);
  }
}

const VS100 = `virtual_server 198.51.100.100 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
virtual_server fwmark 12 {
  lb_algo rr
  real_server 2001:db8:2::13 80 {
  }
}
`;
const VS107 = `virtual_server 198.51.100.107 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.12 80 {
  }
}
`;

function setUp(confText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kats-sinkleft-'));
  writeFileSync(join(dir, 'k.conf'), confText);
  const { config } = loadConfig(join(dir, 'k.conf'), { configId: 'x', env: {} });
  const core = new CheckerCore(config, { seed: 1 });
  core.start(1_000_000);
  return { dir, config, core };
}

const keysOf = (services: readonly ServiceSpec[]) => [...new Set(services.flatMap(serviceKeys))].sort();
/** What the next run would take as ours from the file. */
const ours = (f: LvsStateFile | null) => (f ? keysOf(ipvsLeftovers(f)) : []);
const log = createLogger({ console: false, detail: false });
/** Past the sink's state-file throttle (200 ms). */
const throttle = () => new Promise((r) => setTimeout(r, 260));

describe('LVS sink (IPVS): the state file names what a killed run may have left', () => {
  it("before the first programming: the earlier run's leftovers and every service to add", async (t) => {
    const { dir, config, core } = setUp(VS100);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'checkers.lvs.json');
    // an earlier run's service that is no longer configured, still in its state file
    const old = svc('old', {
      matches: [{ kind: 'addr', address: '198.51.100.106', port: 80 }],
      reals: [nat('192.0.2.11', 80)],
    });
    const dp = new RecordingIpvs(stateFile);
    const o = { log, respawned: false, keepOnStop: false, status: () => core.status(), stateFile };
    const sink = new LvsSink(config, dp, o, [old]);
    const want = sink.desired(core.snapshot()).services;
    assert.equal(want.length, 2);
    sink.apply(core.snapshot());
    await sink.settled();
    assert.equal(dp.seen.length, 1);
    // killed during start(): the next run would delete .106 and the half-made .100 / FWM 12 alike
    assert.deepEqual(ours(dp.seen[0]!), keysOf([old, ...want]));
    assert.ok(keysOf(want).includes('6|fwm|12'), keysOf(want).join());
    // once programmed: the committed state alone
    await throttle();
    const after = JSON.parse(readFileSync(stateFile, 'utf8')) as LvsStateFile;
    assert.equal(after.unsettled, undefined);
    assert.deepEqual(ours(after), keysOf(want));
  });

  it('a reload adding a service: named before its transaction, and still after that transaction failed', async (t) => {
    const { dir, config, core } = setUp(VS100);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'checkers.lvs.json');
    const dp = new RecordingIpvs(stateFile);
    const sink = new LvsSink(config, dp, {
      log,
      respawned: false,
      keepOnStop: false,
      status: () => core.status(),
      stateFile,
    });
    sink.apply(core.snapshot());
    await sink.settled();
    await throttle();
    const first = dp.committed().services;

    // a verdict that adds no service key writes nothing ahead of its transaction
    rmSync(stateFile);
    const view = core.snapshot().find((v) => v.destinations.length > 0)!;
    sink.applyChanged([{ ...view, destinations: [], live: [] }]);
    await sink.settled();
    assert.equal(dp.seen.at(-1), null, 'no write before a transaction that adds no service');
    await throttle();

    const two = setUp(VS100 + VS107);
    t.after(() => rmSync(two.dir, { recursive: true, force: true }));
    sink.reload(two.config);
    dp.results.push({ ok: false, error: { code: 'LVS_KERNEL', message: 'killed half-way' } });
    sink.apply(two.core.snapshot());
    await sink.settled();
    const added = sink
      .desired(two.core.snapshot())
      .services.filter((s) => !first.some((f) => f.name === s.name));
    assert.equal(added.length, 1);
    assert.deepEqual(serviceKeys(added[0]!), ['4|tcp|198.51.100.107|80']);
    // the file named .107 before its transaction was sent, beside the committed ones
    assert.deepEqual(ours(dp.seen.at(-1)!), keysOf([...first, ...added]));
    // the transaction failed (.107 may be half in the kernel): the file keeps naming it
    await throttle();
    const now = JSON.parse(readFileSync(stateFile, 'utf8')) as LvsStateFile;
    assert.deepEqual(ours(now), keysOf([...first, ...added]));

    // the next try succeeds: .107 is committed, and no longer unsettled
    sink.apply(two.core.snapshot());
    await sink.settled();
    await throttle();
    const settled = JSON.parse(readFileSync(stateFile, 'utf8')) as LvsStateFile;
    assert.equal(settled.unsettled, undefined);
    assert.deepEqual(ours(settled), keysOf(dp.committed().services));
    assert.ok(keysOf(dp.committed().services).includes('4|tcp|198.51.100.107|80'));
  });
});
