// The VRRP subsystem behind the supervisor's seam (subsystem.ts): starts the runtime (vrrp-runtime.ts),
// hands it re-read configurations, writes keepalived's signal dumps from its snapshot, stops it.
import { writeDataFile } from '../common/file-mask.js';
import type { Logger } from '../common/logger.js';
import type { KeepalivedConfig } from '../config/model.js';
import { deletedFacts, readHostFacts as readDumpHost } from '../notify/dump-host.js';
import type { InterfaceFacts } from '../notify/dump-sections.js';
import { type DumpedInstance, formatDataText, formatJson, formatStatsText } from '../notify/dumps.js';
import { type EventRecorder, recordEngineTo } from '../sim/event-recorder.js';
import { faultPoint } from './fault-injection.js';
import { applyProcessTuning } from './process-tuning.js';
import type { RuntimeError } from './runtime-error.js';
import type { ConfigSource, SnapshotKind, Subsystem } from './subsystem.js';
import { type RuntimeOptions, VrrpRuntime } from './vrrp-runtime.js';

/** After a fatal error, the graceful stop (priority-0 adverts, VIPs removed) gets this long. */
const FATAL_GRACEFUL_STOP_MS = 2000;

export class VrrpSubsystem implements Subsystem {
  readonly name = 'VRRP';
  /** The configuration at start: process settings come from it (applied once). */
  readonly #config: KeepalivedConfig;
  /** The configuration last loaded: what the data dump describes. */
  #current: KeepalivedConfig;
  readonly #opts: RuntimeOptions;
  /** --record-events FILE: the engine's inputs and outputs as JSON lines (src/sim/event-recorder.ts). */
  readonly #recordTo: string | undefined;
  #recorder: EventRecorder | null = null;
  readonly #log: Logger;
  #runtime: VrrpRuntime | null = null;
  /**
   * Signals that came while the runtime was starting: answered once it runs, as keepalived's VRRP process
   * answers a signal once its start-up is done (a dump asked for then is not lost).
   */
  readonly #pendingSnapshots = new Set<SnapshotKind>();
  /** Each interface as the last data dump saw it (a deleted one is listed with its last facts). */
  readonly #seenInterfaces = new Map<string, InterfaceFacts>();

  constructor(config: KeepalivedConfig, opts: RuntimeOptions, o: { recordEvents?: string } = {}) {
    this.#config = config;
    this.#current = config;
    this.#opts = opts;
    this.#recordTo = o.recordEvents;
    this.#log = opts.log;
  }

  /** The running runtime (null while starting or after a failed start). */
  get runtime(): VrrpRuntime | null {
    return this.#runtime;
  }

  async start(): Promise<readonly RuntimeError[]> {
    const to = this.#recordTo;
    const opts: RuntimeOptions = to
      ? { ...this.#opts, onEngine: (e) => (this.#recorder = recordEngineTo(e, to)) }
      : this.#opts;
    const r = await VrrpRuntime.start(this.#config, opts);
    if (!r.ok) {
      this.#pendingSnapshots.clear();
      return r.errors;
    }
    this.#runtime = r.runtime;
    for (const kind of this.#pendingSnapshots) this.snapshot(kind);
    this.#pendingSnapshots.clear();
    // keepalived's start-up line when some instance does not accept (vrrp_strict, no_accept): strict-firewall.ts.
    if (r.runtime.dumpSnapshot().some((d) => !d.params.accept))
      this.#log.info('use_vmac or no_accept/strict specified, but no firewall configured - using nftables');
    // After the start-up work (module load, warm-up rehearsals), so that RLIMIT_RTTIME counts only steady running.
    applyProcessTuning(this.#config.globalDefs.vrrpProcess, this.#log);
    return [];
  }

  async reload(config: ConfigSource): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime) {
      this.#log.warn('reload while idle: restart keepalived-ts to run new VRRP instances');
      return;
    }
    const next = config();
    if (!next) return;
    // The process settings are applied once, at start (applyProcessTuning).
    if (JSON.stringify(next.globalDefs.vrrpProcess) !== JSON.stringify(this.#config.globalDefs.vrrpProcess))
      this.#log.warn(
        'vrrp_priority / vrrp_rt_priority / vrrp_rlimit_rttime / vrrp_no_swap / vrrp_cpu_affinity changes take effect at the next start',
      );
    this.#current = next;
    return runtime.reload(next);
  }

  snapshot(kind: SnapshotKind): void {
    if (!this.#runtime) {
      this.#pendingSnapshots.add(kind);
      return;
    }
    const g = this.#config.globalDefs;
    const pid = process.pid;
    switch (kind) {
      case 'data':
        this.#log.info(`Printing VRRP data for process(${pid}) on signal`);
        return this.#dump(g.stateDumpFile ?? '/tmp/keepalived.data', (list) => this.#dataText(list));
      case 'stats':
        this.#log.info(`Printing VRRP stats for process(${pid}) on signal`);
        return this.#dump(g.statsDumpFile ?? '/tmp/keepalived.stats', formatStatsText);
      case 'json':
        faultPoint('signal-json');
        this.#log.info(`Printing VRRP as json for process(${pid}) on signal`);
        return this.#dump(g.jsonDumpFile ?? '/tmp/keepalived.json', (list) =>
          formatJson(list, this.#current),
        );
      case 'clearStats':
        this.#log.info('Clearing VRRP statistics on signal');
        return this.#runtime?.clearStats();
    }
  }

  #dataText(list: DumpedInstance[]): string {
    const config = this.#current;
    const trackers = this.#runtime?.trackerSnapshot() ?? { scripts: [], files: [] };
    const host = readDumpHost(config.globalDefs);
    const rt = this.#runtime;
    // What /sys and getifaddrs() do not say: whether a link was seen up, was reported on since start, and
    // (getifaddrs lists no address of a link that is not up and running) the addresses it keeps meanwhile:
    // IPv4 while down, the IPv6 link-local while up without carrier.
    if (rt)
      host.interfaces = host.interfaces.map((f) => {
        const h = rt.linkHistory(f.name);
        const running = (f.flags & 1) !== 0 && f.running;
        return {
          ...f,
          seenUp: running || h.seenUp,
          changed: h.changed,
          ipv4: running || f.ipv4.length > 0 ? f.ipv4 : h.ipv4,
          ipv6: running || f.ipv6.length > 0 ? f.ipv6 : h.ipv6,
        };
      });
    const atStart = rt?.interfacesAtStart();
    const created = rt?.interfacesCreated();
    for (const f of host.interfaces) this.#seenInterfaces.set(f.name, f);
    const deleted = (this.#runtime?.deletedInterfaces() ?? []).map((l) =>
      deletedFacts(l, this.#seenInterfaces.get(l.name)),
    );
    return formatDataText(list, {
      config,
      trackers,
      host,
      ...(atStart === undefined ? {} : { interfacesAtStart: atStart }),
      ...(created === undefined ? {} : { interfacesCreated: created }),
      ...(deleted.length === 0 ? {} : { deletedInterfaces: deleted }),
    });
  }

  /**
   * keepalived's signal dumps, in its formats (src/notify/dumps.ts); written as keepalived does (through a
   * temporary file, mode 0666 less the umask: 0600 by default; src/common/file-mask.ts), asynchronously (libuv's pool), off the advert path.
   */
  #dump(file: string, format: (list: DumpedInstance[]) => string): void {
    if (!this.#runtime) return;
    writeDataFile(file, format(this.#runtime.dumpSnapshot())).catch((e: Error) =>
      this.#log.error(`cannot write ${file}: ${e.message}`),
    );
  }

  async stop(o: { fatal?: boolean } = {}): Promise<void> {
    if (o.fatal) await this.#runtime?.abort(FATAL_GRACEFUL_STOP_MS);
    else await this.#runtime?.stop();
    await this.#recorder?.close();
  }
}
