// vrrp_track_process, driven by /proc: which processes run, counted per tracker (process-match.ts), reported
// up/down to the engine. keepalived listens to the kernel's proc connector; that netlink family answers only
// in the initial network namespace, so a daemon in a container or a test namespace would hear nothing. We
// scan /proc instead: once synchronously at startup (the instances start with the right priority), then
// every `intervalMs` on a worker thread (process-scan-worker.ts), so a scan never sits on the advert path.
// fork_delay / terminate_delay (or `delay` for both) hold a change back until it has lasted that long. A
// reload hands over the new set (reconfigure).
import { Worker } from 'node:worker_threads';
import type { Logger } from '../common/logger.js';
import type { TrackProcess } from '../config/model.js';
import { scanProc } from './proc-scan.js';
import { countMatching, quorumMet } from './process-match.js';

export const DEFAULT_SCAN_INTERVAL_MS = 500;

const WORKER_BOOT = `
  const { moduleUrl } = require('node:worker_threads').workerData;
  (async () => {
    if (moduleUrl.endsWith('.ts')) (await import('tsx/esm/api')).register();
    await import(moduleUrl);
  })();
`;

interface Tracked {
  def: TrackProcess;
  /** The state last reported to the engine. */
  up: boolean;
  count: number;
  /** A change waiting out its fork/terminate delay. */
  pending: { up: boolean; timer: NodeJS.Timeout } | null;
}

export interface ProcessTrackerOptions {
  intervalMs?: number;
  /** The proc filesystem (tests may point elsewhere). */
  procDir?: string;
}

/** Whether any tracker matches on more than the process name (the scan then reads every cmdline). */
function needsArgv(defs: TrackProcess[]): boolean {
  return defs.some((d) => d.fullCommand || (d.process?.length ?? 0) > 1);
}

/** A tracker counted from one scan, with no change pending. */
function counted(def: TrackProcess, procs: ReturnType<typeof scanProc>): Tracked {
  const count = countMatching(def, procs);
  return { def, up: quorumMet(def, count), count, pending: null };
}

/** What decides how a tracker counts and reports — not its weight or reverse, which are the instances'. */
function countKey(d: TrackProcess): string {
  const { pos: _p, weight: _w, reverse: _r, ...rest } = d;
  return JSON.stringify(rest);
}

export class ProcessTrackers {
  #tracked: Tracked[];
  readonly #onChange: (name: string, up: boolean) => void;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #procDir: string;
  #needArgv: boolean;
  #worker: Worker | null = null;
  #started = false;
  #stopped = false;
  /** Scans received from the worker so far. */
  scans = 0;

  constructor(
    defs: TrackProcess[],
    onChange: (name: string, up: boolean) => void,
    log: Logger,
    o: ProcessTrackerOptions = {},
  ) {
    this.#onChange = onChange;
    this.#log = log;
    this.#intervalMs = o.intervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
    this.#procDir = o.procDir ?? '/proc';
    this.#needArgv = needsArgv(defs);
    const procs = scanProc(this.#procDir, this.#needArgv);
    this.#tracked = defs.map((def) => counted(def, procs));
  }

  /** The states now: at start-up those of the first scan, to give the engine before the instances start. */
  states(): { name: string; up: boolean; count: number }[] {
    return this.#tracked.map((t) => ({ name: t.def.name, up: t.up, count: t.count }));
  }

  /**
   * A reload's trackers: one whose process, match, quorum and delays are unchanged keeps its state (and a
   * change it is waiting out); a new or changed one is counted now, from one /proc scan, as at start-up; a
   * dropped one is forgotten. The scanner restarts with the new set. The caller gives the engine states().
   */
  reconfigure(defs: TrackProcess[]): void {
    if (this.#stopped) return;
    const old = new Map(this.#tracked.map((t) => [t.def.name, t]));
    const needArgv = needsArgv(defs);
    let procs: ReturnType<typeof scanProc> | null = null;
    const next: Tracked[] = [];
    for (const def of defs) {
      const o = old.get(def.name);
      if (o && countKey(o.def) === countKey(def)) {
        o.def = def;
        next.push(o);
        continue;
      }
      procs ??= scanProc(this.#procDir, needArgv);
      next.push(counted(def, procs));
    }
    for (const t of this.#tracked) if (!next.includes(t) && t.pending) clearTimeout(t.pending.timer);
    this.#tracked = next;
    this.#needArgv = needArgv;
    if (!this.#started) return;
    void this.#worker?.terminate();
    this.#worker = null;
    this.start();
  }

  start(): void {
    this.#started = true;
    if (this.#tracked.length === 0 || this.#stopped) return;
    // The built daemon runs the .js next to this file. Under tsx (tests) the sources are .ts, and a worker
    // does not inherit tsx's loader: the worker registers it before importing the scanner.
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const moduleUrl = new URL(`./process-scan-worker.${ext}`, import.meta.url).href;
    const worker = new Worker(WORKER_BOOT, {
      eval: true,
      workerData: {
        moduleUrl,
        defs: this.#tracked.map((t) => t.def),
        procDir: this.#procDir,
        intervalMs: this.#intervalMs,
        needArgv: this.#needArgv,
      },
    });
    const tracked = this.#tracked;
    worker.on('message', (counts: number[]) => {
      // A scanner replaced by a reload may still deliver one scan, counted for the old set.
      if (this.#stopped || this.#tracked !== tracked) return;
      this.scans++;
      for (const [k, t] of this.#tracked.entries()) this.#observe(t, counts[k] ?? 0);
    });
    worker.on('error', (e) => this.#log.error(`track_process: the /proc scanner failed: ${e.message}`));
    worker.unref(); // the daemon's life is its sockets', not the scanner's
    this.#worker = worker;
  }

  stop(): void {
    this.#stopped = true;
    void this.#worker?.terminate();
    this.#worker = null;
    for (const t of this.#tracked) if (t.pending) clearTimeout(t.pending.timer);
  }

  #observe(t: Tracked, count: number): void {
    const up = quorumMet(t.def, count);
    t.count = count;
    if (t.pending && t.pending.up !== up) {
      clearTimeout(t.pending.timer); // the change did not last
      t.pending = null;
    }
    if (up === t.up || t.pending) return;
    const delayUs = (up ? t.def.forkDelayUs : t.def.terminateDelayUs) ?? t.def.delayUs ?? 0;
    if (delayUs <= 0) return this.#report(t, up);
    const timer = setTimeout(() => {
      t.pending = null;
      this.#report(t, up);
    }, delayUs / 1000);
    timer.unref();
    t.pending = { up, timer };
  }

  #report(t: Tracked, up: boolean): void {
    t.up = up;
    this.#log.info(
      `VRRP_Track_Process(${t.def.name}) ${up ? 'up' : 'down'}: ${t.count} matching process(es)`,
    );
    this.#onChange(t.def.name, up);
  }
}
