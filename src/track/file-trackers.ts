// track_file (man5 track_file): a file holding an integer; value × weight is added to the priority of every
// instance tracking it (priority.ts). keepalived watches the file with inotify; we watch its directory with
// fs.watch (inotify underneath) so that a file created, replaced (rename) or rewritten is re-read. A missing
// file or text that is not an integer reads as 0. `init_file [VALUE] [overwrite]` writes VALUE at startup
// when the file is missing (always with overwrite), mode 0666 less the umask as keepalived's data files
// (src/common/file-mask.ts). A reload hands over the new set (reconfigure).
import { existsSync, type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeDataFileSync } from '../common/file-mask.js';
import type { Logger } from '../common/logger.js';
import type { TrackFile } from '../config/model.js';

/** The tracked value in a file's text: a leading (optionally signed) integer, else 0. */
export function parseTrackValue(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m?.[1] ? Number.parseInt(m[1], 10) : 0;
}

export function readTrackValue(path: string): number {
  try {
    return parseTrackValue(readFileSync(path, 'utf8'));
  } catch {
    return 0;
  }
}

interface Watched {
  def: TrackFile;
  path: string;
  value: number;
}

export class FileTrackers {
  #files: Watched[] = [];
  readonly #watchers: FSWatcher[] = [];
  readonly #onValue: (name: string, value: number) => void;
  readonly #log: Logger;
  #started = false;
  #stopped = false;

  constructor(files: TrackFile[], onValue: (name: string, value: number) => void, log: Logger) {
    this.#onValue = onValue;
    this.#log = log;
    for (const def of files) if (def.file) this.#files.push(this.#setUp(def, def.file));
  }

  /** init_file, then the first reading. */
  #setUp(def: TrackFile, path: string): Watched {
    if (def.initFile && (def.initFile.overwrite || !existsSync(path))) {
      try {
        writeDataFileSync(path, `${def.initFile.value}\n`);
      } catch (e) {
        this.#log.error(`track_file ${def.name}: cannot write ${path}: ${(e as Error).message}`);
      }
    }
    return { def, path, value: readTrackValue(path) };
  }

  /**
   * A reload's track_files: one still naming the same file is kept with its value; a new one, or one now
   * naming another file, is set up as at start-up (init_file, first reading); a dropped one is no longer
   * watched. The watches are made again and the kept files re-read, so no write in between is missed; the
   * caller gives the engine values().
   */
  reconfigure(files: TrackFile[]): void {
    if (this.#stopped) return;
    const old = new Map(this.#files.map((f) => [f.def.name, f]));
    const kept = new Set<Watched>();
    this.#files = [];
    for (const def of files) {
      if (!def.file) continue;
      const o = old.get(def.name);
      if (o && o.path === def.file) {
        o.def = def;
        kept.add(o);
        this.#files.push(o);
      } else this.#files.push(this.#setUp(def, def.file));
    }
    if (!this.#started) return;
    this.#closeWatches();
    this.start();
    // Read again, not reported: the caller hands every value to the engine once the reload is applied.
    for (const f of kept) {
      const value = readTrackValue(f.path);
      if (value !== f.value) this.#log.info(`VRRP_Track_File(${f.def.name}) value is now ${value}`);
      f.value = value;
    }
  }

  /** Current values, to give the engine before the instances start. */
  values(): { name: string; value: number }[] {
    return this.#files.map((f) => ({ name: f.def.name, value: f.value }));
  }

  start(): void {
    if (this.#stopped) return;
    this.#started = true;
    const byDir = new Map<string, Watched[]>();
    for (const f of this.#files) {
      const d = dirname(f.path);
      byDir.set(d, [...(byDir.get(d) ?? []), f]);
    }
    for (const [dir, files] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_ev, name) => {
          for (const f of files) if (name === null || name === basename(f.path)) this.#reread(f);
        });
        w.on('error', (e) => this.#log.error(`track_file watch on ${dir}: ${e.message}`));
        this.#watchers.push(w);
      } catch (e) {
        this.#log.error(`track_file: cannot watch ${dir}: ${(e as Error).message}`);
      }
    }
  }

  #reread(f: Watched): void {
    const value = readTrackValue(f.path);
    if (value === f.value) return;
    f.value = value;
    this.#log.info(`VRRP_Track_File(${f.def.name}) value is now ${value}`);
    this.#onValue(f.def.name, value);
  }

  stop(): void {
    this.#stopped = true;
    this.#closeWatches();
  }

  #closeWatches(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
  }
}
