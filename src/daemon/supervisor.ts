// The daemon's supervisor, as keepalived's parent process: it owns the configuration (re-read on SIGHUP),
// the signals, the pid files, and the subsystems it runs — VRRP in this process, the checkers in a child
// (subsystem.ts). Signals are routed as keepalived routes them: TERM/INT stop every subsystem (VRRP first:
// its priority-0 adverts let a backup take over at once), HUP reloads each, USR1/USR2/JSON/STATS_CLEAR ask
// each for a snapshot. An exception nobody expected ends the daemon after a bounded release (fatal.ts).

import { applyFileMask } from '../common/file-mask.js';
import type { Logger } from '../common/logger.js';
import { loadConfig } from '../config/load.js';
import type { GlobalDefs, KeepalivedConfig } from '../config/model.js';
import { NOTHING_TO_RUN } from '../config/not-run.js';
import { readHostFacts, validateConfig } from '../config/validate.js';
import type { FeedSource } from '../status/feed.js';
import type { StatusService } from '../status/service.js';
import { type CliOptions, loadOptions } from './cli.js';
import { installFatalHandler } from './fatal.js';
import { faultPoint } from './fault-injection.js';
import { runLifecycleScript } from './lifecycle-scripts.js';
import { removePidFiles } from './pidfile.js';
import { onSignalNumber } from './rt-signals.js';
import { serviceNotifier } from './sd-notify.js';
import type { ConfigSource, SnapshotKind, Subsystem } from './subsystem.js';
import { normalPriorityNow } from './takeover-boost.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;

/** keepalived --signum=JSON and STATS_CLEAR with glibc (SIGRTMIN = 34, SIGRTMAX = 64). */
export const SIGNAL_JSON = 34 + 2;
export const SIGNAL_STATS_CLEAR = 64 - 1;

export interface SupervisorOptions {
  cli: CliOptions;
  log: Logger;
  /** The configuration the daemon started with. */
  config: KeepalivedConfig;
  /** The main and VRRP pid files (written already; removed on every exit path). */
  pidFiles: string[];
  /** The VRRP subsystem, when it runs (instances configured, no -C). */
  vrrp: Subsystem | null;
  /** The checker subsystem, when it runs (virtual servers configured, no -P). */
  checker: Subsystem | null;
  /** The BFD subsystem, when it runs (bfd_instance blocks configured, no -B). */
  bfd?: Subsystem | null;
  /**
   * The status listener (metrics_listen; src/status/service.ts), fed from the VRRP runtime once it runs
   * (`source`), else told there is none.
   */
  status: { service: StatusService; source: () => FeedSource | null } | null;
}

/** How long the status listener's process gets to stop. */
const STATUS_STOP_MS = 2000;

export class Supervisor {
  readonly #o: SupervisorOptions;
  #stopping = false;
  /** global_defs of the configuration last loaded (the shutdown script is its). */
  #globals: GlobalDefs;

  constructor(o: SupervisorOptions) {
    this.#o = o;
    this.#globals = o.config.globalDefs;
  }

  /** In stopping order: VRRP first. */
  #subsystems(): Subsystem[] {
    return [this.#o.vrrp, this.#o.checker, this.#o.bfd ?? null].filter((s): s is Subsystem => s !== null);
  }

  /** Installs the handlers, starts the subsystems (checkers first) and keeps running until stopped. */
  async run(): Promise<void> {
    const { log, vrrp, checker, status, config } = this.#o;
    const bfd = this.#o.bfd ?? null;
    const sd = serviceNotifier(log);
    // An exception no handler expected, from any callback: one line, addresses released, exit 1 (fatal.ts).
    installFatalHandler({
      report: (line) => log.error(line),
      release: async () => {
        this.#stopping = true;
        await Promise.all([
          ...this.#subsystems().map((s) => s.stop({ fatal: true })),
          this.#o.status?.service.stop(STATUS_STOP_MS),
        ]);
      },
      exit: (code) => this.#exit(code),
    });
    const stop = async (why: string) => {
      if (this.#stopping) return;
      this.#stopping = true;
      sd.stopping();
      // VRRP's priority-0 adverts go out in its stop()'s synchronous part; the log line follows them
      // (Logger.held).
      const stopped = log.held(() => {
        log.info(`Stopping (${why})`);
        return vrrp?.stop();
      });
      await Promise.all([stopped, checker?.stop(), bfd?.stop(), status?.service.stop(STATUS_STOP_MS)]);
      removePidFiles(this.#o.pidFiles);
      log.info('Stopped');
      // global_defs shutdown_script, of the configuration last loaded: after everything has stopped.
      await runLifecycleScript(this.#globals, 'shutdown', log);
      this.#exit(EXIT_OK);
    };
    // Installed before the subsystems start, so a TERM during startup still stops cleanly.
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => {
      normalPriorityNow();
      sd.reload(() => this.#reload());
    });
    const snapshot = (kind: SnapshotKind) => {
      normalPriorityNow();
      for (const s of [checker, bfd, vrrp]) s?.snapshot(kind);
    };
    process.on('SIGUSR1', () => snapshot('data'));
    process.on('SIGUSR2', () => snapshot('stats'));
    const jsonWatch = onSignalNumber(SIGNAL_JSON, () => snapshot('json'));
    const clearWatch = onSignalNumber(SIGNAL_STATS_CLEAR, () => snapshot('clearStats'));
    if (!jsonWatch || !clearWatch)
      log.warn('this Node cannot watch real-time signals: the JSON and STATS_CLEAR signals are unavailable');

    void checker?.start();
    void bfd?.start();
    if (!vrrp) {
      // -C, or nothing for VRRP to run (an empty file, only virtual_server blocks): no VRRP engine; keepalived
      // warns when there is nothing at all to run, and idles until stopped — pid files written, signals handled.
      if (!checker && !bfd) log.info(NOTHING_TO_RUN);
      status?.service.attach(null, config);
      sd.ready(checker ? 'Running (checkers only)' : 'Running (nothing configured)');
      // Signal listeners alone do not keep Node's loop alive; a long idle timer does (stop() exits).
      setInterval(() => {}, 2 ** 30);
      return;
    }
    const errors = await vrrp.start();
    if (errors.length > 0) {
      for (const e of errors) log.error(e.message);
      await Promise.all([checker?.stop(), bfd?.stop(), status?.service.stop(STATUS_STOP_MS)]);
      this.#exit(EXIT_FAILURE);
      return;
    }
    status?.service.attach(status.source(), config);
    sd.ready(`Running (${config.vrrpInstances.length} VRRP instances)`);
  }

  /** SIGHUP: each subsystem reloads; the configuration is read again once, when one first asks for it. */
  #reload(): Promise<void> | undefined {
    if (this.#stopping) return;
    faultPoint('sighup');
    const { cli, log } = this.#o;
    let loaded: { config: KeepalivedConfig | null } | null = null;
    const source: ConfigSource = () => {
      if (loaded) return loaded.config;
      log.info(`Reloading (SIGHUP): ${cli.configFile}`);
      const next = loadConfig(cli.configFile, loadOptions(cli));
      // A reload's umask applies from now on; without the keyword the mask stays (src/common/file-mask.ts).
      applyFileMask(cli.umask, next.config.globalDefs.umask);
      validateConfig(next.config, next.diag, { host: readHostFacts() });
      for (const d of next.diag.list) log.info(next.diag.format(d));
      const code = next.diag.exitCode();
      if (code === 2 || code === 4) {
        log.error('reload aborted: the new configuration cannot be run');
        loaded = { config: null };
      } else {
        loaded = { config: next.config };
        this.#globals = next.config.globalDefs;
      }
      return loaded.config;
    };
    const { checker, vrrp, status } = this.#o;
    void checker?.reload(source);
    void this.#o.bfd?.reload(source);
    const reloaded = vrrp?.reload(source);
    // The listener describes the configuration last loaded (read once above, when a subsystem asked).
    const next = status && (vrrp || checker) ? source() : null;
    if (next) {
      status?.service.feed.setConfig(next);
      // metrics_listen / metrics_token: the listener starts, stops, moves or takes the new token.
      void status?.service.reconfigure(next.globalDefs);
    }
    return reloaded;
  }

  #exit(code: number): never {
    removePidFiles(this.#o.pidFiles);
    this.#o.log.close();
    process.exit(code);
  }
}
