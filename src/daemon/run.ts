// Daemon mode (keepalived's default when neither -t nor --dump-conf is given): check capabilities, load and
// validate the configuration, detach unless -n, write the pid files, run the VRRP runtime (if there are
// vrrp_instances and no -C) and the checker child process (if there are virtual_servers and no -P;
// checker-supervisor.ts) until SIGTERM or SIGINT, then stop gracefully (masters send priority 0 and drop
// their VIPs) and exit 0.
//   -f FILE  -i ID  -n (stay in the foreground)  -l (log to stderr; else syslog, /dev/log)  -D (detail)
//   -P / -C (VRRP only / checkers only)  -p FILE / -r FILE (pid files, both get this process's pid)
//   -c FILE (the checker process's pid file)  -V (keep VIPs on stop)
// Signals: TERM/INT stop; HUP reloads the configuration (VrrpRuntime.reload: matched instances keep their
// state and take the new parameters, removed ones stop, new ones start; the checker process reloads too);
// USR1, USR2 and JSON (SIGRTMIN+2) write keepalived's data, stats and JSON dumps (src/notify/dumps.ts;
// /tmp/keepalived.{data,stats,json} or state_/stats_/json_dump_file); STATS_CLEAR (SIGRTMAX-1) zeroes the
// counters.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadConfig } from '../config/load.js';
import { NOTHING_TO_RUN, noteBlocksNotRun } from '../config/not-run.js';
import { readHostFacts, validateConfig } from '../config/validate.js';
import { type DumpedInstance, formatDataText, formatJson, formatStatsText } from '../notify/dumps.js';
import { type StatusService, statusService } from '../status/service.js';
import { missingCapabilities } from './capabilities.js';
import { CheckerSupervisor } from './checker-supervisor.js';
import type { CliOptions } from './cli.js';
import { installFatalHandler } from './fatal.js';
import { faultPoint } from './fault-injection.js';
import { createLogger, type Logger } from './logger.js';
import { checkNamespace, namespacePidFiles } from './netns.js';
import {
  DEFAULT_CHECKERS_PID_FILE,
  DEFAULT_PID_FILE,
  DEFAULT_VRRP_PID_FILE,
  removePidFiles,
  writePidFiles,
} from './pidfile.js';
import { applyProcessTuning } from './process-tuning.js';
import { onSignalNumber } from './rt-signals.js';
import { serviceNotifier } from './sd-notify.js';
import { tuneV8ForDaemon } from './v8-tuning.js';
import { VrrpRuntime } from './vrrp-runtime.js';

export const EXIT_OK = 0;
/** The checker process gets this long to stop (its omega scripts run with a 1 s grace) before SIGKILL. */
const CHECKER_STOP_MS = 3000;
/** keepalived's checker data dump (SIGUSR1). */
const CHECKER_DATA_FILE = '/tmp/keepalived_check.data';
/** After a fatal error, the graceful stop (priority-0 adverts, VIPs removed) gets this long. */
const FATAL_GRACEFUL_STOP_MS = 2000;
export const EXIT_FAILURE = 1;

/** Runs the daemon. Returns an exit code now for failures found synchronously, else 0 and keeps running. */
export function runDaemon(o: CliOptions, argv: string[], version: string): number {
  const missing = missingCapabilities();
  if (missing.length > 0) {
    process.stderr.write(
      `keepalived-ts: missing capability ${missing.join(' and ')}: raw VRRP/ARP sockets need CAP_NET_RAW and ` +
        'address changes need CAP_NET_ADMIN; run as root or grant cap_net_raw,cap_net_admin\n',
    );
    return EXIT_FAILURE;
  }
  // -s is known before the configuration is read: refuse here, on the terminal, rather than in the background.
  if (o.namespace !== undefined) {
    const ns = checkNamespace(o.namespace, undefined);
    if (!ns.ok) {
      process.stderr.write(`keepalived-ts: ${ns.error}\n`);
      return EXIT_FAILURE;
    }
  }
  if (!o.dontFork) return detach(argv, o.logConsole);

  tuneV8ForDaemon();
  // `pidof keepalived-ts` and `pgrep -x keepalived-ts` find the daemon, not every node process.
  process.title = 'keepalived-ts';
  const log = createLogger({
    console: o.logConsole,
    detail: o.logDetail,
    ...(o.logFacility === undefined ? {} : { facility: o.logFacility }),
  });
  log.info(`Starting keepalived-ts v${version}, pid ${process.pid}`);
  log.info(`Configuration file ${o.configFile}`);
  const { config, diag } = loadConfig(o.configFile, o.configId === undefined ? {} : { configId: o.configId });
  validateConfig(config, diag, { host: readHostFacts() });
  noteBlocksNotRun(config, diag);
  // The diagnostics carry keepalived's own wording (and their own "WARNING -" where keepalived has one).
  for (const d of diag.list) log.info(diag.format(d));
  const code = diag.exitCode();
  if (code === 2 || code === 4) {
    log.error(`Stopping: the configuration in ${o.configFile} cannot be run`);
    log.close();
    return EXIT_FAILURE;
  }
  // Before any socket is opened: never run in the wrong network namespace (src/daemon/netns.ts).
  const ns = checkNamespace(o.namespace, config.root.net_namespace?.[0]);
  for (const n of ns.notes) log.info(n);
  if (!ns.ok) {
    log.error(ns.error);
    log.close();
    return EXIT_FAILURE;
  }
  const nsPids = ns.name === null ? null : namespacePidFiles(ns.name);
  const pidFiles = [
    o.pidFile ?? nsPids?.main ?? DEFAULT_PID_FILE,
    o.vrrpPidFile ?? nsPids?.vrrp ?? DEFAULT_VRRP_PID_FILE,
  ];
  if (nsPids) mkdirSync(dirname(nsPids.main), { recursive: true });
  const pid = writePidFiles(pidFiles);
  if (!pid.ok) {
    log.error(pid.error);
    log.close();
    return EXIT_FAILURE;
  }
  process.on('exit', () => removePidFiles(pidFiles));
  // keepalived's subsystems: -P only VRRP, -C only the checkers, both by default; the checker process exists
  // only when a virtual_server is configured (src/check/child.ts, checker-supervisor.ts).
  // The child is told its pid file, so that it finds the same path (for --lvs-list's state beside it).
  const checkersPid = o.checkersPidFile ?? nsPids?.checkers ?? DEFAULT_CHECKERS_PID_FILE;
  // metrics_listen: the status listener process (src/status/service.ts), off unless configured.
  const status = statusService(config.globalDefs, log, version);
  const checker =
    !o.vrrpOnly && config.virtualServers.length > 0
      ? new CheckerSupervisor({
          argv: o.checkersPidFile === undefined ? [...argv, '-c', checkersPid] : argv,
          log,
          pidFile: checkersPid,
          dontRespawn: o.dontRespawn,
          ...(status ? { onRealServers: status.realServers } : {}),
        })
      : null;
  void serve(config, o, log, pidFiles, checker, status);
  return EXIT_OK;
}

async function serve(
  config: Parameters<typeof VrrpRuntime.start>[0],
  o: CliOptions,
  log: Logger,
  pidFiles: string[],
  checker: CheckerSupervisor | null,
  status: StatusService | null,
): Promise<void> {
  let stopping = false;
  let runtime: VrrpRuntime | null = null;
  const sd = serviceNotifier(log);
  // An exception no handler expected, from any callback: one line, addresses released, exit 1 (fatal.ts).
  installFatalHandler({
    report: (line) => log.error(line),
    release: async () => {
      stopping = true;
      await Promise.all([
        runtime?.abort(FATAL_GRACEFUL_STOP_MS),
        checker?.stop(FATAL_GRACEFUL_STOP_MS),
        status?.stop(FATAL_GRACEFUL_STOP_MS),
      ]);
    },
    exit: (code) => {
      removePidFiles(pidFiles);
      log.close();
      process.exit(code);
    },
  });
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    sd.stopping();
    // The priority-0 adverts go out in stop()'s synchronous part; the log line follows them (Logger.held).
    const stopped = log.held(() => {
      log.info(`Stopping (${why})`);
      return runtime?.stop();
    });
    await Promise.all([stopped, checker?.stop(CHECKER_STOP_MS), status?.stop(CHECKER_STOP_MS)]);
    removePidFiles(pidFiles);
    log.info('Stopped');
    log.close();
    process.exit(EXIT_OK);
  };
  // Installed before the runtime starts, so a TERM during startup still stops cleanly.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const onHup = () => {
    if (stopping) return;
    faultPoint('sighup');
    checker?.reload();
    if (!runtime && config.vrrpInstances.length > 0 && !o.checkOnly)
      log.warn('reload while idle: restart keepalived-ts to run new VRRP instances');
    if (!runtime) return;
    log.info(`Reloading (SIGHUP): ${o.configFile}`);
    const next = loadConfig(o.configFile, o.configId === undefined ? {} : { configId: o.configId });
    validateConfig(next.config, next.diag, { host: readHostFacts() });
    for (const d of next.diag.list) log.info(next.diag.format(d));
    const code = next.diag.exitCode();
    if (code === 2 || code === 4) return log.error('reload aborted: the new configuration cannot be run');
    // The process settings are applied once, at start (applyProcessTuning).
    if (JSON.stringify(next.config.globalDefs.vrrpProcess) !== JSON.stringify(config.globalDefs.vrrpProcess))
      log.warn(
        'vrrp_priority / vrrp_rt_priority / vrrp_rlimit_rttime / vrrp_no_swap / vrrp_cpu_affinity changes take effect at the next start',
      );
    status?.feed.setConfig(next.config);
    return runtime.reload(next.config);
  };
  process.on('SIGHUP', () => sd.reload(onHup));
  // keepalived's signal dumps, in its formats (src/notify/dumps.ts); written as keepalived does, readable by root only.
  // The file is written asynchronously (libuv's pool), off the advert path.
  const dump = (file: string, format: (list: DumpedInstance[]) => string) => {
    if (!runtime) return;
    writeFileAtomic(file, format(runtime.dumpSnapshot())).catch((e: Error) =>
      log.error(`cannot write ${file}: ${e.message}`),
    );
  };
  const g = config.globalDefs;
  process.on('SIGUSR1', () => {
    checker?.dump(CHECKER_DATA_FILE);
    if (!runtime) return;
    log.info(`Printing VRRP data for process(${process.pid}) on signal`);
    dump(g.stateDumpFile ?? '/tmp/keepalived.data', formatDataText);
  });
  process.on('SIGUSR2', () => {
    log.info(`Printing VRRP stats for process(${process.pid}) on signal`);
    dump(g.statsDumpFile ?? '/tmp/keepalived.stats', formatStatsText);
  });
  const jsonWatch = onSignalNumber(SIGNAL_JSON, () => {
    faultPoint('signal-json');
    log.info(`Printing VRRP as json for process(${process.pid}) on signal`);
    dump(g.jsonDumpFile ?? '/tmp/keepalived.json', formatJson);
  });
  const clearWatch = onSignalNumber(SIGNAL_STATS_CLEAR, () => {
    log.info('Clearing VRRP statistics on signal');
    runtime?.clearStats();
  });
  if (!jsonWatch || !clearWatch)
    log.warn('this Node cannot watch real-time signals: the JSON and STATS_CLEAR signals are unavailable');

  checker?.start();
  // -C, or nothing for VRRP to run (an empty file, only virtual_server blocks): no VRRP engine; keepalived
  // warns when there is nothing at all to run, and idles until stopped — pid files written, signals handled.
  if (o.checkOnly || config.vrrpInstances.length === 0) {
    if (!checker) log.info(NOTHING_TO_RUN);
    status?.attach(null, config);
    sd.ready(checker ? 'Running (checkers only)' : 'Running (nothing configured)');
    // Signal listeners alone do not keep Node's loop alive; a long idle timer does (stop() exits).
    setInterval(() => {}, 2 ** 30);
    return;
  }
  const r = await VrrpRuntime.start(config, {
    log,
    keepVipsOnStop: o.dontReleaseVrrp,
    ...(checker ? { onStateChange: (instance, state) => checker.vrrpState(instance, state) } : {}),
    ...(status ? { observer: status.feed } : {}),
  });
  if (!r.ok) {
    for (const e of r.errors) log.error(e);
    await Promise.all([checker?.stop(CHECKER_STOP_MS), status?.stop(CHECKER_STOP_MS)]);
    removePidFiles(pidFiles);
    log.close();
    process.exit(EXIT_FAILURE);
  }
  // A TERM that came while starting has already exited (nothing was installed yet).
  runtime = r.runtime;
  status?.attach(runtime, config);
  // keepalived's start-up line when some instance does not accept (vrrp_strict, no_accept): strict-firewall.ts.
  if (runtime.dumpSnapshot().some((d) => !d.params.accept))
    log.info('use_vmac or no_accept/strict specified, but no firewall configured - using nftables');
  // After the start-up work (module load, warm-up rehearsals), so that RLIMIT_RTTIME counts only steady running.
  applyProcessTuning(config.globalDefs.vrrpProcess, log);
  sd.ready(`Running (${config.vrrpInstances.length} VRRP instances)`);
}

/**
 * keepalived forks into the background; we re-spawn ourselves detached (new session) with -n and exit 0.
 * With -l the background process keeps our stderr, as keepalived's forked child keeps its console.
 */
function detach(argv: string[], logConsole: boolean): number {
  const script = process.argv[1];
  if (script === undefined) return EXIT_FAILURE;
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv, '-n'], {
    detached: true,
    stdio: ['ignore', 'ignore', logConsole ? 'inherit' : 'ignore'],
  });
  child.unref();
  return EXIT_OK;
}

/** keepalived --signum=JSON and STATS_CLEAR with glibc (SIGRTMIN = 34, SIGRTMAX = 64). */
export const SIGNAL_JSON = 34 + 2;
export const SIGNAL_STATS_CLEAR = 64 - 1;

/** Writes through a temporary file and a rename, so a reader never sees half a dump; mode 0600 as keepalived. */
let dumpsWritten = 0;
async function writeFileAtomic(file: string, text: string): Promise<void> {
  // One temporary file per dump: two signals in quick succession must not write into the same one.
  const tmp = `${file}.${process.pid}.${++dumpsWritten}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}
