// vrrp_track_process, driven by /proc: which processes run, counted per tracker (process-match.ts), reported
// up/down to the engine. keepalived listens to the kernel's proc connector; that netlink family answers only
// in the initial network namespace, so a daemon in a container or a test namespace would hear nothing. We
// scan /proc instead: once synchronously at startup (the instances start with the right priority), then
// every `intervalMs` with asynchronous reads (libuv's thread pool), so a scan never sits on the advert path.
// fork_delay / terminate_delay (or `delay` for both) hold a change back until it has lasted that long.
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { TrackProcess } from '../config/model.js';
import type { Logger } from '../daemon/logger.js';
import { countMatching, type ProcessView, parseCmdline, quorumMet } from './process-match.js';

export const DEFAULT_SCAN_INTERVAL_MS = 500;

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

export class ProcessTrackers {
  readonly #tracked: Tracked[];
  readonly #onChange: (name: string, up: boolean) => void;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #procDir: string;
  readonly #needArgv: boolean;
  #timer: NodeJS.Timeout | null = null;
  #scanning = false;
  #stopped = false;

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
    this.#needArgv = defs.some((d) => d.fullCommand || (d.process?.length ?? 0) > 1);
    const procs = this.#scanSync();
    this.#tracked = defs.map((def) => {
      const count = countMatching(def, procs);
      return { def, up: quorumMet(def, count), count, pending: null };
    });
  }

  /** The states found by the startup scan, to give the engine before the instances start. */
  initial(): { name: string; up: boolean; count: number }[] {
    return this.#tracked.map((t) => ({ name: t.def.name, up: t.up, count: t.count }));
  }

  start(): void {
    if (this.#tracked.length === 0 || this.#stopped) return;
    this.#timer = setInterval(() => void this.#scan(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const t of this.#tracked) if (t.pending) clearTimeout(t.pending.timer);
  }

  async #scan(): Promise<void> {
    if (this.#scanning) return; // a slow /proc: never pile scans up
    this.#scanning = true;
    try {
      const procs = await this.#scanAsync();
      if (!this.#stopped) for (const t of this.#tracked) this.#observe(t, countMatching(t.def, procs));
    } catch (e) {
      this.#log.error(`track_process: cannot read ${this.#procDir}: ${(e as Error).message}`);
    } finally {
      this.#scanning = false;
    }
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

  #scanSync(): ProcessView[] {
    const out: ProcessView[] = [];
    let pids: string[];
    try {
      pids = readdirSync(this.#procDir).filter(isPid);
    } catch {
      return out;
    }
    for (const pid of pids) {
      try {
        const comm = readFileSync(`${this.#procDir}/${pid}/comm`, 'utf8').replace(/\n$/, '');
        const argv = this.#needArgv
          ? parseCmdline(readFileSync(`${this.#procDir}/${pid}/cmdline`, 'utf8'))
          : [];
        out.push({ pid: Number(pid), comm, argv });
      } catch {
        /* the process exited while we looked */
      }
    }
    return out;
  }

  async #scanAsync(): Promise<ProcessView[]> {
    const pids = (await readdir(this.#procDir)).filter(isPid);
    const views = await Promise.all(
      pids.map(async (pid): Promise<ProcessView | null> => {
        try {
          const comm = (await readFile(`${this.#procDir}/${pid}/comm`, 'utf8')).replace(/\n$/, '');
          const argv = this.#needArgv
            ? parseCmdline(await readFile(`${this.#procDir}/${pid}/cmdline`, 'utf8'))
            : [];
          return { pid: Number(pid), comm, argv };
        } catch {
          return null;
        }
      }),
    );
    return views.filter((v): v is ProcessView => v !== null);
  }
}

const isPid = (name: string) => /^\d+$/.test(name);
