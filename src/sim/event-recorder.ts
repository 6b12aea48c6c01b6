// --record-events FILE: the daemon's VRRP engine inputs and outputs as JSON lines, in the replay format of
// src/vrrp/fsm-replay.ts (a `config` line, then each input and the actions it produced), so a run against real
// peers (keepalived, FRR) becomes a deterministic case under test/conformance/. Lines are queued to a write
// stream (libuv's pool writes them, off the advert path); meant for diagnosis and recording, not for every
// production run (each input costs a JSON.stringify).
import { createWriteStream, type WriteStream } from 'node:fs';
import { VrrpEngine } from '../vrrp/engine.js';
import type { ReplayRecord } from '../vrrp/fsm-replay.js';

export interface EventRecorder {
  /** Writes what is queued and closes the file. */
  close(): Promise<void>;
}

/** Records `engine` to `file` (truncated) from now on; attach before the engine's first input. */
export function recordEngineTo(engine: VrrpEngine, file: string): EventRecorder {
  const out: WriteStream = createWriteStream(file, { flags: 'w', mode: 0o600 });
  const write = (rec: ReplayRecord) => out.write(`${JSON.stringify(rec)}\n`);
  write({ kind: 'config', config: engine.config });
  engine.recorder = write;
  return {
    close: () =>
      new Promise<void>((resolve) => {
        engine.recorder = null;
        out.end(resolve);
      }),
  };
}

/**
 * The same inputs through a fresh engine, each followed by the outputs it gives now: how a recorded case's
 * expectations are rewritten on purpose (test/conformance/README.md).
 */
export function rerecord(records: readonly ReplayRecord[]): ReplayRecord[] {
  const out: ReplayRecord[] = [];
  let engine: VrrpEngine | null = null;
  for (const rec of records) {
    if (rec.kind === 'config') {
      engine = new VrrpEngine(rec.config);
      out.push(rec);
    } else if (rec.kind === 'in' && engine) {
      out.push(rec, { kind: 'out', actions: engine.handle(rec.event, rec.nowUs) });
    }
  }
  return out;
}
