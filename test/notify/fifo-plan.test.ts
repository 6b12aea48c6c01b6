// fifoPlan (src/notify/notify-fifos.ts): one rule for the VRRP and the checker process — the global FIFO and the
// process's own, one path written once, one reader per FIFO.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GlobalDefs, ScriptSpec } from '../../src/config/model.js';
import { fifoPlan } from '../../src/notify/notify-fifos.js';

const script = (word: string): ScriptSpec => ({ argv: ['/bin/reader', word] }) as ScriptSpec;
const g = (o: Partial<GlobalDefs>) => o as GlobalDefs;
const readers = (p: ReturnType<typeof fifoPlan>) => p.scripts.map((s) => [s.fifo, s.script.argv[1]]);

test('the global FIFO and the own one, each with its script; the global script only where asked', () => {
  const defs = g({ notifyFifo: '/f/g', notifyFifoScript: script('g'), scriptUser: { user: 'nobody' } });
  const own = { fifo: '/f/lvs', script: script('lvs') };
  const p = fifoPlan(defs, own, true);
  assert.deepEqual(p.fifos, ['/f/g', '/f/lvs']);
  assert.deepEqual(readers(p), [
    ['/f/g', 'g'],
    ['/f/lvs', 'lvs'],
  ]);
  assert.deepEqual(p.scriptUser, { user: 'nobody' });
  assert.deepEqual(readers(fifoPlan(defs, own, false)), [['/f/lvs', 'lvs']], 'the other process starts it');
});

test('the own FIFO at the global FIFO’s path: written once, read by the global script alone', () => {
  const defs = g({ notifyFifo: '/f/g', notifyFifoScript: script('g') });
  const p = fifoPlan(defs, { fifo: '/f/g', script: script('own') }, true);
  assert.deepEqual(p.fifos, ['/f/g']);
  assert.deepEqual(readers(p), [['/f/g', 'g']]);
  assert.deepEqual(readers(fifoPlan(defs, { fifo: '/f/g', script: script('own') }, false)), []);
});

test('nothing configured: no FIFO, no script', () => {
  assert.deepEqual(fifoPlan(g({}), { fifo: undefined, script: undefined }, true), { fifos: [], scripts: [] });
});
