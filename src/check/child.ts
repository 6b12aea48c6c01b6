// The checker process: keepalived's healthchecker child. Started by the main process (CheckerSupervisor)
// with the daemon's own command line; it reads the configuration itself (and again on reload, as each
// keepalived child does), runs the checker runtime, and ends when told to stop or when its parent is gone.
// Its log lines carry keepalived's checker ident (Keepalived_healthcheckers) on syslog.
import { monotonicUs } from '../common/clock.js';
import { writeDataFile } from '../common/file-mask.js';
import type { KeepalivedConfig } from '../config/model.js';
import { childLogger, loadRunnableConfig, sendToParent, startingConfig } from '../daemon/child-start.js';
import type { CliOptions } from '../daemon/cli.js';
import { installFatalHandler } from '../daemon/fatal.js';
import { DEFAULT_CHECKERS_PID_FILE } from '../daemon/pidfile.js';
import { applyProcessTuning } from '../daemon/process-tuning.js';
import type { ServiceTraffic } from '../lvs/counters.js';
import { lvsStateFileFor } from '../lvs/lvs-list.js';
import { readHostFacts as readHostFacts4Dump } from '../notify/dump-host.js';
import type { RealServerEvent } from '../status/channel.js';
import { CHECKER_RESPAWNED_ENV, type FromChecker, isToChecker } from './channel.js';
import type { CheckAction } from './core/index.js';
import { formatCheckerData } from './dump.js';
import { LvsSink } from './lvs-sink.js';
import { compactHeap, trimMalloc } from './memory.js';
import { widenPingGroupRange } from './probes/ping.js';
import { CheckerRuntime } from './runtime.js';

/**
 * How often the data plane's traffic counters are read while a status listener runs: every 2 s, or
 * TRAFFIC_COST_FACTOR times as long as the last read took, whichever is longer — at 10,000 real servers
 * one `nft -j list set` takes 0.5–0.6 s of CPU (docs/lvs.md, 'Traffic counters'), which this keeps near 5 %.
 */
const TRAFFIC_MS = 2000;
const TRAFFIC_COST_FACTOR = 20;

/** The longest the start-up trim of the C heap waits for every checker to have run (s). */
const TRIM_WAIT_S = 60;

/** Real-server changes kept while no status listener has asked for them, or between two sends. */
const MAX_PENDING_EVENTS = 1000;

const send: (m: FromChecker) => void = sendToParent;

export function runCheckerChild(o: CliOptions): number {
  const log = childLogger(o, 'Keepalived_healthcheckers');
  const load = () => loadRunnableConfig(o);
  const config = startingConfig(o, log, 'Checker');
  if (!config) return 1;
  // The parse's garbage, before any check runs: a one-off compacting collection releases its pages (memory.ts).
  log.detail(`Checker: heap compacted after reading the configuration (${compactHeap().toFixed(0)} ms)`);
  let runtime: CheckerRuntime | null = null;
  // The configuration the data dump describes: the one last loaded.
  let current = config;
  // keepalived's checker widens net.ipv4.ping_group_range when PING_CHECKs exist, and narrows it back at exit
  // (docs/probes.md, "PING_CHECK").
  let pingRestore: (() => void) | null = null;
  const widenPing = (c: KeepalivedConfig) => {
    if (pingRestore) return;
    if (
      !c.virtualServers.some((v) =>
        v.realServers.some((r) => r.checkers.some((k) => k.kind === 'PING_CHECK')),
      )
    )
      return;
    const r = widenPingGroupRange();
    if (r.ok) pingRestore = r.restore;
    else log.error(`PING_CHECK: ${r.error}`);
  };
  widenPing(config);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await runtime?.stop();
    pingRestore?.();
    send({ type: 'stopped' });
    log.close();
    process.exit(code);
  };
  installFatalHandler({
    report: (line) => log.error(line),
    release: async () => {
      await runtime?.abort();
    },
    exit: (code) => {
      log.close();
      process.exit(code);
    },
  });
  // Signals are the main process's to route; a TERM sent to the whole group stops us like `stop`.
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  process.on('SIGHUP', () => {});
  process.on('disconnect', () => void stop(0));
  process.on('message', (m: unknown) => {
    if (!isToChecker(m) || !runtime) return;
    switch (m.type) {
      case 'vrrp':
        runtime.vrrpState(m.instance, m.state);
        break;
      case 'bfd':
        runtime.bfdState(m.name, m.up);
        break;
      case 'reload': {
        log.info(`Reloading (checker): ${o.configFile}`);
        const next = load();
        if (next) {
          // The process settings are applied once, at start (a respawned checker takes the new ones).
          if (
            JSON.stringify(next.globalDefs.checkerProcess) !==
            JSON.stringify(current.globalDefs.checkerProcess)
          )
            log.warn(
              'checker_priority / checker_rt_priority / checker_rlimit_rttime / checker_no_swap / checker_cpu_affinity changes take effect at the next start',
            );
          current = next;
          widenPing(next);
          runtime.reload(next);
        } else log.error('checker reload aborted: the new configuration cannot be run');
        break;
      }
      case 'dump':
        writeDataFile(
          m.file,
          formatCheckerData(runtime.status(), runtime.snapshot(), {
            config: current,
            host: readHostFacts4Dump(current.globalDefs),
            clock: { wallUs: Date.now() * 1000, coreUs: monotonicUs() },
          }),
        ).catch((e: Error) => log.error(`cannot write ${m.file}: ${e.message}`));
        break;
      case 'stop':
        void stop(0);
        break;
      case 'watch':
        watchRealServers();
        break;
      case 'unwatch':
        if (watching) clearInterval(watching);
        if (trafficTimer) clearTimeout(trafficTimer);
        watching = null;
        trafficTimer = null;
        trafficJson = '';
        lastSent = '';
        events = [];
        break;
    }
  });
  // The status listener's view of the real servers: the list once a second when it changed, and each change
  // the core decides (up, down, weight, with its reason) at the end of the event-loop turn it happened in.
  let watching: NodeJS.Timeout | null = null;
  let lastSent = '';
  let events: RealServerEvent[] = [];
  let flushQueued = false;
  const realServerList = () =>
    (runtime?.status() ?? []).map((r) => ({
      vs: r.vs,
      rs: r.rs,
      alive: r.alive,
      configuredWeight: r.configuredWeight,
      effectiveWeight: r.effectiveWeight,
      failedCheckers: r.failedCheckers,
      checkers: r.checkers.map((c) => ({ kind: c.kind, up: c.up, hasRun: c.hasRun })),
      latency: r.latency,
    }));
  // The data plane's traffic counters: read while watched (TRAFFIC_MS), sent when they moved.
  let sink: LvsSink | null = null;
  let traffic: ServiceTraffic[] | null = null;
  let trafficJson = '';
  let trafficTimer: NodeJS.Timeout | null = null;
  let reading = false;
  const readTraffic = async () => {
    trafficTimer = null;
    if (!sink || !watching || reading) return;
    reading = true;
    const t0 = Date.now();
    try {
      const t = await sink.traffic();
      const json = t ? JSON.stringify(t) : '';
      if (t && json !== trafficJson) {
        trafficJson = json;
        traffic = t;
        sendRealServers(true);
      }
    } finally {
      reading = false;
      // One chain of reads: a watch that came while this read ran has started its own.
      if (watching && trafficTimer === null) {
        trafficTimer = setTimeout(
          () => void readTraffic(),
          Math.max(TRAFFIC_MS, TRAFFIC_COST_FACTOR * (Date.now() - t0)),
        );
        trafficTimer.unref();
      }
    }
  };
  const sendRealServers = (force: boolean) => {
    if (!runtime || !watching) return;
    const list = realServerList();
    const json = JSON.stringify(list);
    if (json === lastSent && !force) return;
    lastSent = json;
    const batch = events;
    events = [];
    const t = traffic;
    traffic = null;
    send({
      type: 'realServers',
      list,
      atMs: Date.now(),
      ...(batch.length > 0 ? { events: batch } : {}),
      ...(t ? { traffic: t } : {}),
    });
  };
  const observe = (a: CheckAction) => {
    if (a.type !== 'realServerUp' && a.type !== 'realServerDown' && a.type !== 'realServerWeight') return;
    const kind = a.type === 'realServerUp' ? 'up' : a.type === 'realServerDown' ? 'down' : 'weight';
    events.push({ vs: a.vs, rs: a.rs, kind, weight: a.weight, reason: a.reason, atMs: Date.now() });
    // Kept for a listener that asks later (bounded: the oldest go first).
    if (events.length > MAX_PENDING_EVENTS) events.splice(0, events.length - MAX_PENDING_EVENTS);
    if (watching && !flushQueued) {
      flushQueued = true;
      setImmediate(() => {
        flushQueued = false;
        sendRealServers(true);
      });
    }
  };
  const watchRealServers = () => {
    if (watching) return;
    watching = setInterval(() => sendRealServers(events.length > 0), 1000);
    watching.unref();
    trafficTimer = setTimeout(() => void readTraffic(), TRAFFIC_MS);
    trafficTimer.unref();
    if (events.length > 0) sendRealServers(true);
  };
  // Once every checker has run and the data plane holds their verdicts, the C heap that programming grew
  // (libnftables: one transaction per virtual server that changed) goes back to the kernel (memory.ts). A
  // checker that never runs (ha_suspend on a backup) does not keep this polling: TRIM_WAIT_S at most.
  const trimWhenConverged = () => {
    let waited = 0;
    const t = setInterval(() => {
      const converged = runtime?.status().every((r) => r.checkers.every((c) => c.hasRun));
      if (!converged && ++waited < TRIM_WAIT_S) return;
      clearInterval(t);
      void (sink?.settled() ?? Promise.resolve()).then(() => trimMalloc());
    }, 1000);
    t.unref();
  };
  log.info('Starting Healthcheck child process');
  const respawned = process.env[CHECKER_RESPAWNED_ENV] === '1';
  void LvsSink.create(config, {
    log,
    respawned,
    keepOnStop: o.dontReleaseIpvs,
    status: () => runtime?.status() ?? [],
    stateFile: lvsStateFileFor(o.checkersPidFile ?? DEFAULT_CHECKERS_PID_FILE),
  })
    .then((dataPlane) => {
      sink = dataPlane;
      if (!dataPlane) log.error('virtual_server: no data plane to program; health checks run alone');
      // notify_fifo_script: started here only when no VRRP process runs (run.ts starts one for instances).
      const globalFifoScript = o.checkOnly || config.vrrpInstances.length === 0;
      return CheckerRuntime.start(config, {
        log,
        observe,
        globalFifoScript,
        ...(dataPlane ? { dataPlane } : {}),
      });
    })
    .then((rt) => {
      runtime = rt;
      trimWhenConverged();
      // After start-up (module loading, the first data-plane programming), as the VRRP process does.
      applyProcessTuning(config.globalDefs.checkerProcess, log, 'checker');
      send({ type: 'ready', pid: process.pid });
    });
  return 0;
}
