// keepalived's notify formats (src/notify/notifier.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScriptSpec } from '../../src/config/model.js';
import { fifoLine, genericArgv, scriptFor } from '../../src/notify/notifier.js';

const spec = (...argv: string[]): ScriptSpec => ({ argv, pos: { file: 'x', line: 1 } });

test('FIFO lines in keepalived format', () => {
  assert.equal(
    fifoLine({ scope: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }),
    'INSTANCE "VI_1" MASTER 100\n',
  );
  assert.equal(
    fifoLine({ scope: 'GROUP', name: 'G1', state: 'BACKUP', priority: 0 }),
    'GROUP "G1" BACKUP 0\n',
  );
});

test('generic notify gets the 4 extra args, for real states only', () => {
  const scripts = { generic: spec('/bin/n.sh', 'cfg-arg') };
  assert.deepEqual(genericArgv(scripts, { scope: 'INSTANCE', name: 'VI_1', state: 'FAULT', priority: 90 }), [
    '/bin/n.sh',
    'cfg-arg',
    'INSTANCE',
    'VI_1',
    'FAULT',
    '90',
  ]);
  assert.equal(
    genericArgv(scripts, { scope: 'INSTANCE', name: 'VI_1', state: 'MASTER_RX_LOWER_PRI', priority: 90 }),
    undefined,
  );
  assert.equal(genericArgv({}, { scope: 'GROUP', name: 'G', state: 'MASTER', priority: 0 }), undefined);
  // An instance a reload removed, with notify_deleted: the generic script hears DELETED (keepalived state 97).
  assert.deepEqual(
    genericArgv(scripts, { scope: 'INSTANCE', name: 'VI_1', state: 'DELETED', priority: 0 })?.slice(-2),
    ['DELETED', '0'],
  );
});

test('specific scripts by state', () => {
  const s = {
    master: spec('m'),
    backup: spec('b'),
    fault: spec('f'),
    stop: spec('s'),
    masterRxLowerPri: spec('l'),
    deleted: spec('d'),
  };
  assert.deepEqual(
    (['MASTER', 'BACKUP', 'FAULT', 'STOP', 'MASTER_RX_LOWER_PRI', 'DELETED', 'MASTER_PRIORITY'] as const).map(
      (st) => scriptFor(s, st)?.argv[0],
    ),
    ['m', 'b', 'f', 's', 'l', 'd', undefined],
  );
});
