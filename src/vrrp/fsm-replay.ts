// Replay format: a run of one VrrpEngine as JSON lines. The first line holds the configuration, then each
// input is followed by the actions it produced:
//   {"kind":"config","config":{instances:[…],syncGroups:[…]}}
//   {"kind":"in","nowUs":1000000,"event":{"type":"instance","instance":"VI_1","event":{"type":"start"}}}
//   {"kind":"out","actions":[…]}
// Replaying feeds the inputs to a fresh engine and checks that every output matches exactly, so a field
// failure recorded by the daemon (or a simulator run) becomes a deterministic test. A later `config` record
// starts a fresh engine (the recorded process restarted).
import type { VrrpAction } from './actions.js';
import { type EngineConfig, type EngineEvent, type EngineRecord, VrrpEngine } from './engine.js';
import { instanceParams } from './instance-params.js';

export type ReplayRecord = { kind: 'config'; config: EngineConfig } | EngineRecord;

/** Collects an engine's records (attach before the first input). */
export function recordEngine(engine: VrrpEngine): ReplayRecord[] {
  const records: ReplayRecord[] = [{ kind: 'config', config: engine.config }];
  engine.recorder = (rec) => records.push(rec);
  return records;
}

export function toJsonLines(records: readonly ReplayRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

export type ParseReplayResult =
  | { ok: true; records: ReplayRecord[] }
  | { ok: false; code: 'bad-json' | 'bad-record'; line: number };

export function parseJsonLines(text: string): ParseReplayResult {
  const records: ReplayRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { ok: false, code: 'bad-json', line: i + 1 };
    }
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (kind !== 'config' && kind !== 'in' && kind !== 'out')
      return { ok: false, code: 'bad-record', line: i + 1 };
    records.push(value as ReplayRecord);
  }
  return { ok: true, records };
}

export type ReplayResult =
  | { ok: true; inputs: number }
  | {
      ok: false;
      code: 'no-config' | 'output-mismatch';
      /** Index of the record that differed. */
      index: number;
      expected?: VrrpAction[];
      actual?: VrrpAction[];
    };

/**
 * A recording made before a parameter existed lacks it: each recorded instance's parameters get the defaults
 * of those it does not carry (instanceParams), so an old recording replays as the same configuration.
 */
function current(config: EngineConfig): EngineConfig {
  return { ...config, instances: config.instances.map((p) => instanceParams(p)) };
}

function currentEvent(e: EngineEvent): EngineEvent {
  if (e.type === 'addInstance') return { ...e, params: instanceParams(e.params) };
  if (e.type === 'instance' && e.event.type === 'reload')
    return { ...e, event: { ...e.event, params: instanceParams(e.event.params) } };
  return e;
}

/** Feeds the recorded inputs to a fresh engine and compares each output with the recorded one. */
export function replay(records: readonly ReplayRecord[]): ReplayResult {
  const first = records[0];
  if (first?.kind !== 'config') return { ok: false, code: 'no-config', index: 0 };
  let engine = new VrrpEngine(current(first.config));
  let inputs = 0;
  let pending: VrrpAction[] | null = null;
  for (let i = 1; i < records.length; i++) {
    const rec = records[i]!;
    if (rec.kind === 'config') {
      // A restart of the recorded process: a fresh engine from here on.
      engine = new VrrpEngine(current(rec.config));
      pending = null;
    } else if (rec.kind === 'in') {
      pending = engine.handle(currentEvent(rec.event), rec.nowUs);
      inputs++;
    } else {
      const actual = pending ?? [];
      pending = null;
      if (JSON.stringify(actual) !== JSON.stringify(rec.actions)) {
        return { ok: false, code: 'output-mismatch', index: i, expected: rec.actions, actual };
      }
    }
  }
  return { ok: true, inputs };
}
