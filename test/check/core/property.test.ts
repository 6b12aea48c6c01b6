// Property tests over random configurations, outcomes and timings. A small reference model of keepalived's
// retry rule (per probe: up, has run, retry count) is the oracle for the verdicts; the other invariants are
// the quorum bands, sorry server ⇔ quorum down, no probe while ha_suspend holds, at most one attempt per
// probe at a time, and an identical action stream when the same inputs are replayed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { CheckAction } from '../../../src/check/core/actions.js';
import { CheckerCore } from '../../../src/check/core/core.js';
import type { ProbeOutcome } from '../../../src/check/probe.js';
import { conf } from './helpers.js';

interface CheckerGen {
  kind: 'TCP_CHECK' | 'MISC_CHECK' | 'HTTP_GET';
  retry: number;
  dbr: number;
  loop: number;
  warmup: number;
}
interface RsGen {
  host: number;
  weight: number;
  inhibit: boolean;
  alpha: boolean;
  checkers: CheckerGen[];
}
interface VsGen {
  quorum: number;
  hysteresis: number;
  sorry: boolean;
  sorryInhibit: boolean;
  haSuspend: boolean;
  instance: number;
  rs: RsGen[];
}

const checkerArb: fc.Arbitrary<CheckerGen> = fc.record({
  kind: fc.constantFrom('TCP_CHECK' as const, 'MISC_CHECK' as const, 'HTTP_GET' as const),
  retry: fc.integer({ min: 0, max: 2 }),
  dbr: fc.integer({ min: 1, max: 3 }),
  loop: fc.integer({ min: 2, max: 6 }),
  warmup: fc.integer({ min: 0, max: 3 }),
});
const rsArb: fc.Arbitrary<RsGen> = fc.record({
  host: fc.integer({ min: 10, max: 13 }),
  weight: fc.integer({ min: 0, max: 4 }),
  inhibit: fc.boolean(),
  alpha: fc.boolean(),
  checkers: fc.array(checkerArb, { minLength: 1, maxLength: 2 }),
});
const vsArb: fc.Arbitrary<VsGen> = fc.record({
  quorum: fc.integer({ min: 1, max: 6 }),
  hysteresis: fc.integer({ min: 0, max: 2 }),
  sorry: fc.boolean(),
  sorryInhibit: fc.boolean(),
  haSuspend: fc.boolean(),
  instance: fc.integer({ min: 1, max: 2 }),
  rs: fc.array(rsArb, { minLength: 1, maxLength: 4 }),
});

type Cmd =
  | { t: 'advance' }
  | { t: 'result'; pick: number; ok: boolean; latency: number; weight: number }
  | { t: 'vrrp'; instance: number; master: boolean }
  | { t: 'reload' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ t: 'advance' } as Cmd) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('result' as const),
      pick: fc.nat(),
      ok: fc.boolean(),
      latency: fc.integer({ min: 0, max: 3_000_000 }),
      weight: fc.integer({ min: -1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('vrrp' as const),
      instance: fc.integer({ min: 1, max: 2 }),
      master: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'reload' } as Cmd) },
);

function configText(vss: VsGen[]): string {
  const inst = (n: number) => `
vrrp_instance VI_${n} {
  state BACKUP
  interface eth0
  virtual_router_id ${50 + n}
  priority 100
  virtual_ipaddress {
    ${vss
      .map((v, i) => (v.instance === n ? `198.51.100.${i + 1}/24` : ''))
      .filter(Boolean)
      .join('\n    ')}
  }
}`;
  const checker = (c: CheckerGen) =>
    c.kind === 'MISC_CHECK'
      ? `MISC_CHECK {\nmisc_path /bin/chk\nmisc_dynamic\nretry ${c.retry}\ndelay_before_retry ${c.dbr}\ndelay_loop ${c.loop}\nwarmup ${c.warmup}\n}`
      : c.kind === 'HTTP_GET'
        ? `HTTP_GET {\nurl {\npath /\n}\nretry ${c.retry}\ndelay_before_retry ${c.dbr}\ndelay_loop ${c.loop}\nwarmup ${c.warmup}\nconnect_timeout 1\n}`
        : `TCP_CHECK {\nretry ${c.retry}\ndelay_before_retry ${c.dbr}\ndelay_loop ${c.loop}\nwarmup ${c.warmup}\nconnect_timeout 2\n}`;
  const body = vss
    .map(
      (v, i) => `
virtual_server 198.51.100.${i + 1} 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum ${v.quorum}
  hysteresis ${v.hysteresis}
  ${v.sorry ? 'sorry_server 192.0.2.200 80' : ''}
  ${v.sorry && v.sorryInhibit ? 'sorry_server_inhibit' : ''}
  ${v.haSuspend ? 'ha_suspend' : ''}
  ${v.rs
    .map(
      (r) => `real_server 192.0.2.${r.host} 80 {
    weight ${r.weight}
    ${r.inhibit ? 'inhibit_on_failure' : ''}
    ${r.alpha ? 'alpha' : ''}
    ${r.checkers.map(checker).join('\n')}
  }`,
    )
    .join('\n')}
}`,
    )
    .join('\n');
  return `${inst(1)}\n${inst(2)}\n${body}`;
}

interface Ref {
  isUp: boolean;
  hasRun: boolean;
  retryIt: number;
  retry: number;
  /** HTTP_GET/SSL_GET: after failing for good, one success only clears the failed URL. */
  http: boolean;
  failedUrl: boolean;
}

/**
 * keepalived's retry rule, written once more from its description, as the oracle. Its HTTP checker leaves
 * the count at retry + 1 when it fails the checker, until a success (keepalived 2.2.7's "Retries iterations").
 */
function refStep(r: Ref, ok: boolean): void {
  if (ok && r.failedUrl) {
    r.failedUrl = false;
    r.retryIt = 0;
  } else if (ok || ((r.isUp || !r.hasRun) && r.retryIt >= r.retry)) {
    if (!ok && r.http) r.failedUrl = true;
    r.retryIt = !ok && r.http ? r.retry + 1 : 0;
    r.isUp = ok;
  } else if (r.isUp) r.retryIt++;
  r.hasRun = true;
}

const real = (w: number) => Math.min(65535, Math.max(0, w));
export const seen = { downs: 0, sorryIn: 0, suspendedSkips: 0, runs: 0 };

/** Runs the commands; checks the invariants after every input; returns every action for replay checks. */
function run(vss: VsGen[], cmds: Cmd[], seed: number): CheckAction[] {
  const text = configText(vss);
  const cfg = conf(text);
  const c = new CheckerCore(cfg, { seed, watchdogGraceUs: 1e12 });
  const all: CheckAction[] = [];
  const master = new Map<number, boolean>([
    [1, false],
    [2, false],
  ]);
  const inFlight = new Map<number, number>();
  let refs = new Map<number, Ref>();
  const resetRefs = () => {
    const next = new Map<number, Ref>();
    for (const p of c.probes()) {
      const old = refs.get(p.probeId);
      next.set(
        p.probeId,
        old ?? {
          isUp: !p.spec.alpha,
          hasRun: false,
          retryIt: p.spec.retry,
          retry: p.spec.retry,
          http: p.spec.kind === 'HTTP_GET',
          failedUrl: false,
        },
      );
    }
    refs = next;
  };
  resetRefs();
  const suspendedVs = (i: number) => vss[i]!.haSuspend && !master.get(vss[i]!.instance);
  const vsIndex = (id: string) => Number(/198\.51\.100\.(\d+)/.exec(id)![1]) - 1;
  let now = 0;
  let outcomeBit = 0;
  // The oracle follows retry counts until the first reload (which migrates them its own way).
  let reloads = 0;

  const check = (out: CheckAction[]) => {
    all.push(...out);
    const status = c.status();
    const probeVs = new Map<number, number[]>();
    for (const s of status)
      for (const k of s.checkers) {
        const l = probeVs.get(k.probeId) ?? [];
        l.push(vsIndex(s.vs));
        probeVs.set(k.probeId, l);
      }
    for (const a of out) {
      if (a.type === 'runProbe') {
        seen.runs++;
        assert.ok(!inFlight.has(a.probeId), `probe ${a.probeId} started twice`);
        inFlight.set(a.probeId, now);
        const owners = probeVs.get(a.probeId) ?? [];
        assert.ok(
          owners.some((i) => !suspendedVs(i)),
          `probe ${a.probeId} ran while its virtual servers are suspended`,
        );
      }
      if (a.type === 'realServerDown') seen.downs++;
      if (a.type === 'sorryServerIn') seen.sorryIn++;
    }
    // Verdicts: every checker matches the oracle; a server is live iff all its checkers are up.
    for (const s of status) {
      for (const k of s.checkers) {
        assert.equal(k.up, refs.get(k.probeId)!.isUp, `checker ${k.probeId} of ${s.rs}`);
        if (reloads === 0)
          assert.equal(k.retryIt, refs.get(k.probeId)!.retryIt, `retry count of ${k.probeId} of ${s.rs}`);
      }
      assert.equal(
        s.alive,
        s.checkers.every((k) => refs.get(k.probeId)!.isUp),
        `${s.rs} in ${s.vs}`,
      );
    }
    // Quorum bands and the sorry server.
    for (const v of c.snapshot()) {
      const g = vss[vsIndex(v.vs)]!;
      const ws = status
        .filter((s) => s.vs === v.vs && s.alive)
        .reduce((a, s) => a + real(s.effectiveWeight), 0);
      assert.equal(v.weightSum, ws);
      if (ws >= g.quorum + g.hysteresis)
        assert.ok(v.quorumUp, `${v.vs}: ${ws} >= ${g.quorum}+${g.hysteresis}`);
      if (ws === 0 || ws < g.quorum - g.hysteresis) assert.ok(!v.quorumUp, `${v.vs}: ${ws} below quorum`);
      assert.equal(v.sorryActive, g.sorry && !v.quorumUp);
      const liveIds = new Set(status.filter((s) => s.vs === v.vs && s.alive).map((s) => s.rs));
      assert.deepEqual(new Set(v.live.map((l) => l.rs)), liveIds);
      if (v.sorryActive) assert.ok(v.destinations.every((d) => d.sorry || d.weight === 0));
    }
  };

  const deliver = (id: number, ok: boolean, latency: number, weight: number) => {
    const o: ProbeOutcome = ok
      ? weight >= 0
        ? { ok: true, latencyUs: latency, weight }
        : { ok: true, latencyUs: latency }
      : { ok: false, latencyUs: latency, code: 'refused', reason: 'refused' };
    inFlight.delete(id);
    refStep(refs.get(id)!, ok);
    check(c.probeResult(id, o, now));
  };

  check(c.start(0));
  for (const cmd of cmds) {
    if (cmd.t === 'advance') {
      const at = c.nextDeadline();
      if (at === null) continue;
      // Probes answer within their timeout: settle those whose time is up first.
      for (const [id, start] of [...inFlight]) {
        const spec = c.probes().find((p) => p.probeId === id)!.spec;
        if (start + spec.timeoutUs <= at) deliver(id, outcomeBit++ % 3 === 0, spec.timeoutUs, -1);
      }
      now = Math.max(now, c.nextDeadline()!);
      const before = all.length;
      check(c.timer(now));
      if (all.slice(before).every((a) => a.type !== 'runProbe')) seen.suspendedSkips++;
    } else if (cmd.t === 'result') {
      const ids = [...inFlight.keys()];
      if (ids.length === 0) continue;
      deliver(ids[cmd.pick % ids.length]!, cmd.ok, cmd.latency, cmd.weight);
    } else if (cmd.t === 'vrrp') {
      master.set(cmd.instance, cmd.master);
      check(c.vrrpState(`VI_${cmd.instance}`, cmd.master ? 'MASTER' : 'BACKUP'));
    } else {
      reloads++;
      check(c.reload(conf(text), now));
      resetRefs();
      for (const id of [...inFlight.keys()]) if (!refs.has(id)) inFlight.delete(id);
    }
  }
  return all;
}

describe('checker core properties', () => {
  test('invariants hold over random configurations, outcomes and timings; replays are identical', () => {
    fc.assert(
      fc.property(
        fc.array(vsArb, { minLength: 1, maxLength: 3 }),
        fc.array(cmdArb, { minLength: 40, maxLength: 120 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (vss, cmds, seed) => {
          const a = run(vss, cmds, seed);
          const b = run(vss, cmds, seed);
          assert.deepEqual(b, a);
        },
      ),
      { numRuns: 100 },
    );
    // The runs went through the interesting states (so the invariants were not checked on idle cores).
    assert.ok(seen.runs > 1000, `runs ${seen.runs}`);
    assert.ok(seen.downs > 50, `downs ${seen.downs}`);
    assert.ok(seen.sorryIn > 5, `sorry ${seen.sorryIn}`);
  });
});
