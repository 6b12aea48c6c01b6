// Daemon mode (keepalived's default when neither -t nor --dump-conf is given): check capabilities, load and
// validate the configuration, detach unless -n, write the pid files, then hand the subsystems — VRRP (if
// there are vrrp_instances and no -C; vrrp-subsystem.ts) and the checker child process (if there are
// virtual_servers and no -P; checker-supervisor.ts) — to the supervisor (supervisor.ts), which runs them
// until SIGTERM or SIGINT, then stops them gracefully (masters send priority 0 and drop their VIPs) and
// exits 0.
//   -f FILE  -i ID  -n (stay in the foreground)  -l (log to stderr; else syslog, /dev/log)  -D (detail)
//   -P / -C (VRRP only / checkers only)  -p FILE / -r FILE (pid files, both get this process's pid)
//   -c FILE (the checker process's pid file)  -V (keep VIPs on stop)
// Signals (supervisor.ts): TERM/INT stop; HUP reloads the configuration (VrrpRuntime.reload: matched
// instances keep their state and take the new parameters, removed ones stop, new ones start; the checker
// process reloads too);
// USR1, USR2 and JSON (SIGRTMIN+2) write keepalived's data, stats and JSON dumps (src/notify/dumps.ts;
// /tmp/keepalived.{data,stats,json} or state_/stats_/json_dump_file); STATS_CLEAR (SIGRTMAX-1) zeroes the
// counters.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { applyFileMask, PID_DIR_MODE, withBitsKept } from '../common/file-mask.js';
import { createLogger, type Logger } from '../common/logger.js';
import { VRRP_STOPPING_CODES } from '../config/diagnostics.js';
import { loadConfig } from '../config/load.js';
import type { KeepalivedConfig } from '../config/model.js';
import { noteBlocksNotRun } from '../config/not-run.js';
import { readHostFacts, validateConfig } from '../config/validate.js';
import { noteLvsNotRun } from '../lvs/config-notes.js';
import { ipvsPresent } from '../lvs/ipvs-select.js';
import { type StatusService, statusService } from '../status/service.js';
import { BfdSupervisor } from './bfd-supervisor.js';
import { missingCapabilities } from './capabilities.js';
import { CheckerSupervisor } from './checker-supervisor.js';
import { type CliOptions, loadOptions } from './cli.js';
import { runLifecycleScript } from './lifecycle-scripts.js';
import { checkNamespace, namespacePidFiles } from './netns.js';
import {
  DEFAULT_BFD_PID_FILE,
  DEFAULT_CHECKERS_PID_FILE,
  DEFAULT_PID_FILE,
  DEFAULT_VRRP_PID_FILE,
  removePidFiles,
  writePidFiles,
} from './pidfile.js';
import { EXIT_FAILURE, EXIT_OK, SIGNAL_JSON, SIGNAL_STATS_CLEAR, Supervisor } from './supervisor.js';
import { tuneV8ForDaemon } from './v8-tuning.js';
import { VrrpSubsystem } from './vrrp-subsystem.js';

/** keepalived 2.2.7's exit status when its VRRP process stops on a non-existent interface. */
const EXIT_CONFIG_IF = 2;

export { EXIT_FAILURE, EXIT_OK };

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
  const { config, diag } = loadConfig(o.configFile, loadOptions(o));
  // global_defs umask, unless -u (src/common/file-mask.ts): before any file is made or script started.
  applyFileMask(o.umask, config.globalDefs.umask);
  validateConfig(config, diag, { host: readHostFacts() });
  noteBlocksNotRun(config, diag);
  noteLvsNotRun(config, diag, ipvsPresent);
  // The diagnostics carry keepalived's own wording (and their own "WARNING -" where keepalived has one).
  for (const d of diag.list) log.info(diag.format(d));
  const code = diag.exitCode();
  // keepalived's VRRP process stops on an instance it cannot run (no interface, or one this host lacks unless
  // dynamic_interfaces; no VRID; VRRPv3 or strict without a VIP), and the daemon exits 2
  // (docs/config-meaning.md, "Instances keepalived refuses to run").
  const stop = o.checkOnly ? undefined : diag.list.find((d) => VRRP_STOPPING_CODES.has(d.code));
  if (stop) {
    log.error(
      stop.code === 'CONFIG_BAD_IF'
        ? 'Stopped: an instance has no interface, or one that does not exist on this host'
        : `Stopped: keepalived does not run this configuration: ${stop.message}`,
    );
    log.close();
    return EXIT_CONFIG_IF;
  }
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
  // rwxr-xr-x whatever the umask, as keepalived makes its pid directories.
  if (nsPids)
    withBitsKept(PID_DIR_MODE, () =>
      mkdirSync(dirname(nsPids.main), { recursive: true, mode: PID_DIR_MODE }),
    );
  // From the moment the pid files name this process, a signal may come (a test, an operator's kill -USR1).
  // Node's default for SIGUSR1 starts its inspector, and SIGUSR2's and SIGHUP's end the process: listeners
  // now make them wait for the loop, by which time the supervisor's own handlers (installed in this same
  // turn, supervisor.ts) take them.
  for (const sig of ['SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const) process.on(sig, () => {});
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
  // metrics_listen: the status listener process (src/status/service.ts), off unless configured (a reload
  // may turn it on).
  const status = statusService(config.globalDefs, log, version);
  const checker =
    !o.vrrpOnly && config.virtualServers.length > 0
      ? new CheckerSupervisor({
          argv: o.checkersPidFile === undefined ? [...argv, '-c', checkersPid] : argv,
          log,
          pidFile: checkersPid,
          dontRespawn: o.dontRespawn,
          onRealServers: status.realServers,
          realServersWanted: status.wantsRealServers,
        })
      : null;
  status.setChecker(checker);
  // The BFD process (src/bfd/child.ts): when bfd_instance blocks exist, unless -B; its sessions' states
  // reach VRRP's track_bfd trackers through the supervisor (bfd-supervisor.ts).
  const bfdPid = o.bfdPidFile ?? nsPids?.bfd ?? DEFAULT_BFD_PID_FILE;
  const bfd =
    !o.noBfd && config.bfdInstances.length > 0
      ? new BfdSupervisor({
          argv: o.bfdPidFile === undefined ? [...argv, '-b', bfdPid] : argv,
          log,
          pidFile: bfdPid,
          dontRespawn: o.dontRespawn,
          ...(checker ? { onChecker: (name: string, up: boolean) => checker.bfdState(name, up) } : {}),
        })
      : null;
  void serve(config, o, log, pidFiles, checker, status, bfd);
  return EXIT_OK;
}

async function serve(
  config: KeepalivedConfig,
  o: CliOptions,
  log: Logger,
  pidFiles: string[],
  checker: CheckerSupervisor | null,
  status: StatusService,
  bfd: BfdSupervisor | null,
): Promise<void> {
  // global_defs startup_script: before any subsystem starts, waited for (lifecycle-scripts.ts). A stop asked
  // for meanwhile ends the wait and the daemon, as the supervisor's own stop does once it runs.
  if (config.globalDefs.startupScript) {
    const cut = new AbortController();
    const early = (sig: NodeJS.Signals) => {
      cut.abort();
      earlyStop = sig;
    };
    let earlyStop: NodeJS.Signals | null = null;
    process.once('SIGTERM', early);
    process.once('SIGINT', early);
    await runLifecycleScript(config.globalDefs, 'startup', log, cut.signal);
    process.off('SIGTERM', early);
    process.off('SIGINT', early);
    if (earlyStop !== null) {
      log.info(`Stopping (${earlyStop})`);
      await runLifecycleScript(config.globalDefs, 'shutdown', log);
      removePidFiles(pidFiles);
      log.info('Stopped');
      log.close();
      process.exit(EXIT_OK);
    }
  }
  // -C, or nothing for VRRP to run (an empty file, only virtual_server blocks): no VRRP subsystem.
  const vrrp =
    o.checkOnly || config.vrrpInstances.length === 0
      ? null
      : new VrrpSubsystem(
          config,
          {
            log,
            keepVipsOnStop: o.dontReleaseVrrp,
            // The checker process follows VRRP states (ha_suspend) over its channel (checker-supervisor.ts).
            ...(checker ? { onStateChange: (instance, state) => checker.vrrpState(instance, state) } : {}),
            // The status listener's feed (src/status/feed.ts): transitions at once, a snapshot a second.
            observer: status.feed,
            ...(bfd ? { bfd } : {}),
          },
          o.recordEvents === undefined ? {} : { recordEvents: o.recordEvents },
        );
  const statusPart = { service: status, source: () => vrrp?.runtime ?? null };
  await new Supervisor({ cli: o, log, config, pidFiles, vrrp, checker, bfd, status: statusPart }).run();
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

export { SIGNAL_JSON, SIGNAL_STATS_CLEAR };
