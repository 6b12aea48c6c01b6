// track_file (man5 track_file): a file holding an integer; value × weight is added to the priority of every
// instance tracking it (priority.ts). keepalived watches the file with inotify; we watch its directory with
// fs.watch (inotify underneath) so that a file created, replaced (rename) or rewritten is re-read. A missing
// file or text that is not an integer reads as 0. `init_file [VALUE] [overwrite]` writes VALUE at startup
// when the file is missing (always with overwrite).
import { existsSync, type FSWatcher, readFileSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { TrackFile } from '../config/model.js';
import type { Logger } from '../daemon/logger.js';

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
  readonly #files: Watched[] = [];
  readonly #watchers: FSWatcher[] = [];
  readonly #onValue: (name: string, value: number) => void;
  readonly #log: Logger;

  constructor(files: TrackFile[], onValue: (name: string, value: number) => void, log: Logger) {
    this.#onValue = onValue;
    this.#log = log;
    for (const def of files) {
      if (!def.file) continue;
      if (def.initFile && (def.initFile.overwrite || !existsSync(def.file))) {
        try {
          writeFileSync(def.file, `${def.initFile.value}\n`);
        } catch (e) {
          log.error(`track_file ${def.name}: cannot write ${def.file}: ${(e as Error).message}`);
        }
      }
      this.#files.push({ def, path: def.file, value: readTrackValue(def.file) });
    }
  }

  /** Current values, to give the engine before the instances start. */
  values(): { name: string; value: number }[] {
    return this.#files.map((f) => ({ name: f.def.name, value: f.value }));
  }

  start(): void {
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
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
  }
}
