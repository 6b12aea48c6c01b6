// Verdict → rule live at scale (issue 15, "Speed"): 1,000 virtual servers × 10 real servers (10,000
// checkers, every real server its own address:port), the checker core and the LVS sink of the checker
// process driving the nftables data plane through libnftables, in a throwaway namespace (this process
// re-executes itself inside it: libnftables programs the namespace of the calling thread).
// Measured: programming the whole table from scratch; then, per verdict (a real server goes down or comes
// back), the time from the probe outcome reaching the core to the kernel's commit of the change,
// following the checker runtime's own path (its end-of-turn batching, then the sink), split into its
// parts; the memory of the process. Two paths in the same run: "full" (every turn hands the sink every
// virtual server: snapshot, desired state of all, plan over all) and "changed" (only the virtual servers
// the turn's verdicts touched), so the ratio holds whatever the machine's load.
// Usage (root): node --import tsx bench/lvs-verdict.ts [verdicts=300]
// KATS_BENCH_RAW=0: element-only changes through libnftables too (the route before raw batches).
// Figures and decisions: docs/decisions/lvs-verdict-latency.md.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CheckAction, CheckerCore } from '../src/check/core/index.js';
import { LvsSink } from '../src/check/lvs-sink.js';
import { createLogger } from '../src/common/logger.js';
import { loadConfig } from '../src/config/load.js';
import { planChanges } from '../src/lvs/dataplane.js';
import { NftDataplane } from '../src/lvs/nft-dataplane.js';
import { libnftRunner } from '../src/lvs/nft-runner.js';
import { tsxInFreshNetns } from '../test/helpers/netns.js';

const VERDICTS = Number(process.argv[2] ?? 300);
const VS = Number(process.env.KATS_BENCH_VS ?? 1000);
const RS = Number(process.env.KATS_BENCH_RS ?? 10);

function configText(extra = 0): string {
  const out: string[] = [];
  for (let i = 0; i < VS + extra; i++) {
    out.push(`virtual_server 198.51.100.${100 + (i % 100)} ${1000 + Math.floor(i / 100)} {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP`);
    for (let r = 0; r < RS; r++)
      out.push(`  real_server 192.0.2.${10 + r} ${10000 + i} {
    weight ${1 + (r % 3)}
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }`);
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN).toFixed(3);
}

async function inner(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kats-lvsverdict-'));
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, configText());
  const { config } = loadConfig(file, { configId: 'bench', env: {} });
  if (config.virtualServers.length !== VS) throw new Error(`parsed ${config.virtualServers.length} VS`);
  const core = new CheckerCore(config, { seed: 1 });
  const log = createLogger({ console: true, detail: false });
  // The runner timed apart: what libnftables and the kernel take of each change.
  const lib = libnftRunner();
  let runMs = 0;
  const dp = new NftDataplane(
    {
      route: lib.route,
      close: () => lib.close(),
      run: async (script) => {
        const t = process.hrtime.bigint();
        const r = await lib.run(script);
        runMs += ms(t);
        return r;
      },
    },
    process.env.KATS_BENCH_RAW === '0' ? { raw: false } : {},
  );
  const sink = new LvsSink(config, dp, {
    log,
    respawned: false,
    keepOnStop: false,
    status: () => core.status(),
  });

  let now = 1_000_000;
  core.start(now);
  let t0 = process.hrtime.bigint();
  sink.apply(core.snapshot());
  await sink.settled();
  const buildMs = ms(t0);
  if (dp.committed().services.length !== VS) throw new Error('not programmed');

  // Every probe in flight (the core hands out runProbe actions when their time comes).
  /** Probe id → its real server's port (each virtual server's real servers share one port). */
  const portOf = new Map<number, number>();
  const inFlight = (): Set<number> => {
    now += 2_000_000;
    const ids = new Set<number>();
    for (const a of core.timer(now))
      if (a.type === 'runProbe') {
        ids.add(a.probeId);
        portOf.set(a.probeId, a.target.port);
      }
    return ids;
  };
  let probes = [...inFlight()];
  const down = new Set<number>();
  const changedOf = (acts: CheckAction[]): Set<string> => {
    const s = new Set<string>();
    for (const a of acts) if ('vs' in a && typeof a.vs === 'string') s.add(a.vs);
    return s;
  };

  const results: Record<string, Record<string, number>> = {};
  for (const mode of ['full', 'changed'] as const) {
    const total: number[] = [];
    const parts: Record<string, number[]> = { batch: [], views: [], sink: [], nft: [], cpu: [] };
    let raw = 0;
    for (let k = 0; k < VERDICTS; k++) {
      // Alternate: a real server that is up goes down, then comes back.
      const id = probes[(k * 7919) % probes.length] as number;
      const ok = down.has(id);
      t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const acts = core.probeResult(
        id,
        ok ? { ok: true, latencyUs: 100 } : { ok: false, latencyUs: 100, code: 'refused', reason: 'bench' },
        now,
      );
      // The runtime applies at the end of the event-loop turn (setImmediate), as src/check/runtime.ts does.
      await new Promise((r) => setImmediate(r));
      const t1 = process.hrtime.bigint();
      const changed = changedOf(acts);
      if (changed.size === 0) continue;
      if (ok) down.delete(id);
      else down.add(id);
      const views = mode === 'full' ? core.snapshot() : core.views(changed);
      const t2 = process.hrtime.bigint();
      runMs = 0;
      if (mode === 'full') sink.apply(views);
      else sink.applyChanged(views);
      await sink.settled();
      total.push(ms(t0));
      const c = process.cpuUsage(c0);
      parts.cpu!.push((c.user + c.system) / 1000);
      parts.batch!.push(Number(t1 - t0) / 1e6);
      parts.views!.push(Number(t2 - t1) / 1e6);
      parts.sink!.push(ms(t2));
      parts.nft!.push(runMs);
      if (dp.lastRoute.route === 'raw') raw++;
      // The next probe result for it must find the probe in flight again.
      probes = probes.filter((p) => p !== id);
      if (probes.length < 100) probes = [...new Set([...probes, ...inFlight()])];
    }
    results[mode] = {
      n: total.length,
      p50ms: pct(total, 50),
      p99ms: pct(total, 99),
      maxms: pct(total, 100),
      batchP50: pct(parts.batch!, 50),
      viewsP50: pct(parts.views!, 50),
      sinkP50: pct(parts.sink!, 50),
      sinkP99: pct(parts.sink!, 99),
      nftP50: pct(parts.nft!, 50),
      nftP99: pct(parts.nft!, 99),
      // CPU time of this process (user + kernel) per verdict: what the machine's load does not inflate.
      cpuP50: pct(parts.cpu!, 50),
      cpuP99: pct(parts.cpu!, 99),
      // Verdicts sent as raw nf_tables batches (the rest through libnftables).
      raw,
    };
  }
  // Pools emptied and refilled: every real server of one virtual server fails in the same event-loop turn
  // (its pool empties: the pick rule becomes `ct mark set 0x0`), then all come back; the incremental path
  // as the checker runtime sends it. KATS_BENCH_EMPTY sets how many virtual servers (two verdicts each).
  // Every probe is answered within the same simulated second (the core's watchdog would otherwise fail
  // the ones left in flight); only the group's turn is timed, the others' answers change nothing.
  const answerAll = (ids: Iterable<number>, except: Set<number>): CheckAction[] => {
    const acts: CheckAction[] = [];
    for (const id of ids)
      if (!except.has(id)) acts.push(...core.probeResult(id, { ok: true, latencyUs: 100 }, now));
    return acts;
  };
  const settle = async (acts: CheckAction[]): Promise<void> => {
    const changed = changedOf(acts);
    if (changed.size > 0) sink.applyChanged(core.views(changed));
    await sink.settled();
  };
  await settle(answerAll(probes, new Set()));
  const empty: number[] = [];
  const emptyCpu: number[] = [];
  let emptyRaw = 0;
  for (let k = 0; k < Number(process.env.KATS_BENCH_EMPTY ?? 30); k++) {
    const port = 10000 + ((k * 37) % VS);
    for (const ok of [false, true]) {
      const issued = inFlight();
      const group = new Set([...issued].filter((id) => portOf.get(id) === port));
      if (group.size !== RS) throw new Error(`virtual server on port ${port}: ${group.size} probes issued`);
      const t = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const acts: CheckAction[] = [];
      for (const id of group)
        acts.push(
          ...core.probeResult(
            id,
            ok
              ? { ok: true, latencyUs: 100 }
              : { ok: false, latencyUs: 100, code: 'refused', reason: 'bench' },
            now,
          ),
        );
      await new Promise((r) => setImmediate(r));
      sink.applyChanged(core.views(changedOf(acts)));
      await sink.settled();
      empty.push(ms(t));
      const c = process.cpuUsage(c0);
      emptyCpu.push((c.user + c.system) / 1000);
      if (dp.lastRoute.route === 'raw') emptyRaw++;
      if (!ok && !dp.lastScript.includes('ct mark set 0x0'))
        throw new Error(`the pool did not empty: ${dp.lastScript.slice(0, 300)}`);
      await settle(answerAll(issued, group));
    }
  }
  results.emptyRefill = {
    n: empty.length,
    p50ms: pct(empty, 50),
    p99ms: pct(empty, 99),
    cpuP50: pct(emptyCpu, 50),
    raw: emptyRaw,
  };
  // Reload (SIGHUP) as the checker process applies it: re-read the configuration, the core's reload
  // (servers matched, states kept), the sink mapped onto the new configuration, a whole snapshot planned
  // and sent. Alternating between the configuration and one with an extra virtual server, so every
  // reload changes something.
  const reload: Record<string, number[]> = { parse: [], core: [], dataPlane: [], total: [], cpu: [] };
  const alt = join(dir, 'alt.conf');
  writeFileSync(alt, configText(1));
  for (let k = 0; k < 6; k++) {
    const t = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const next = loadConfig(k % 2 === 0 ? alt : file, { configId: 'bench', env: {} }).config;
    const t1 = process.hrtime.bigint();
    now += 1000;
    core.reload(next, now);
    const t2 = process.hrtime.bigint();
    sink.reload(next);
    sink.apply(core.snapshot());
    await sink.settled();
    reload.parse!.push(Number(t1 - t) / 1e6);
    reload.core!.push(Number(t2 - t1) / 1e6);
    reload.dataPlane!.push(ms(t2));
    reload.total!.push(ms(t));
    const c = process.cpuUsage(c0);
    reload.cpu!.push((c.user + c.system) / 1000);
    if (dp.committed().services.length !== VS + (k % 2 === 0 ? 1 : 0)) throw new Error('reload not applied');
  }
  const reloadOut = Object.fromEntries(
    Object.entries(reload).flatMap(([k, xs]) => [
      [`reload.${k}P50ms`, pct(xs, 50)],
      [`reload.${k}Maxms`, pct(xs, 100)],
    ]),
  );
  // The pieces of the full path, one by one, on the current state.
  const piece: Record<string, number[]> = { snapshot: [], desired: [], plan: [] };
  for (let k = 0; k < 30; k++) {
    let t = process.hrtime.bigint();
    const views = core.snapshot();
    piece.snapshot!.push(ms(t));
    t = process.hrtime.bigint();
    const state = sink.desired(views);
    piece.desired!.push(ms(t));
    t = process.hrtime.bigint();
    planChanges(dp.committed(), state);
    piece.plan!.push(ms(t));
  }
  // What libnftables costs by kind of command inside this table (the verdict's transaction mixes them).
  const kinds: Record<string, string> = {
    element:
      'add element inet keepalived_ts slots { 0x7ffffff0 : 0x100 }\ndelete element inet keepalived_ts slots { 0x7ffffff0 }\n',
    rule: 'flush chain inet keepalived_ts vs5g\nadd rule inet keepalived_ts vs5g ct mark set numgen inc mod 7 offset 40960\n',
    chainAdd: 'add chain inet keepalived_ts zz\ndelete chain inet keepalived_ts zz\n',
  };
  const lib2 = libnftRunner();
  const kindMs: Record<string, number> = {};
  for (const [k, script] of Object.entries(kinds)) {
    const xs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = process.hrtime.bigint();
      const r = await lib2.run(script);
      if (!r.ok) throw new Error(`${k}: ${r.message}`);
      xs.push(ms(t));
    }
    kindMs[`nft.${k}P50ms`] = pct(xs, 50);
  }
  lib2.close();
  const out = {
    ...kindMs,
    ...reloadOut,
    vs: VS,
    rs: RS,
    buildMs: +buildMs.toFixed(1),
    ...Object.fromEntries(
      Object.entries(results).flatMap(([m, r]) => Object.entries(r).map(([k, v]) => [`${m}.${k}`, v])),
    ),
    fullSnapshotP50ms: pct(piece.snapshot!, 50),
    fullDesiredP50ms: pct(piece.desired!, 50),
    fullPlanP50ms: pct(piece.plan!, 50),
    rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(0),
    heapMiB: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0),
  };
  await dp.stop();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.env.KATS_LVS_VERDICT_INNER) await inner();
else {
  const out = tsxInFreshNetns('lvsverdict', fileURLToPath(import.meta.url), [String(VERDICTS)], {
    env: { ...process.env, KATS_LVS_VERDICT_INNER: '1' },
    timeoutMs: 600_000,
  });
  const row = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  for (const [k, v] of Object.entries(row)) console.log(`${k.padEnd(22)} ${v}`);
}
