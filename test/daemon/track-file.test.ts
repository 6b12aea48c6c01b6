// track_file: the value parser, the config mapping, and a daemon whose priority follows the file.
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseTrackValue } from '../../src/track/file-trackers.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';
import { jsonDumpLine, killAllRouters, Router, untilDumped } from './router.js';

const skip = isRoot() ? false : 'needs root for network namespaces';
const cleanups: (() => void)[] = [];
after(() => {
  killAllRouters();
  for (const c of cleanups.splice(0).reverse()) c();
});

test('file values: a leading integer, else 0', () => {
  assert.equal(parseTrackValue('42\n'), 42);
  assert.equal(parseTrackValue('  -7 trailing'), -7);
  assert.equal(parseTrackValue('+3'), 3);
  assert.equal(parseTrackValue('x1'), 0);
  assert.equal(parseTrackValue(''), 0);
});

test('the priority follows the tracked file; a big negative value is a FAULT', {
  skip,
  timeout: 20_000,
}, async () => {
  const h = loneRouterNetns('dtf', cleanups);
  const r = new Router(
    'tf',
    h.ns,
    (dir) => `
global_defs {
  ${jsonDumpLine(dir)}
}
track_file tf {
  file ${join(dir, 'value')}
  weight 10
  init_file 2
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  version 3
  priority 100
  advert_int 0.1
  track_file { tf }
  virtual_ipaddress { 192.0.2.100/24 }
}`,
  );
  cleanups.push(() => r.removeDir());
  const valueFile = join(r.dir, 'value');
  const status = (pred: (s: { effectivePriority: number }) => boolean, what: string) =>
    untilDumped(r, (i) => pred({ effectivePriority: i.data.effective_priority }), 3000, what);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  assert.equal(readFileSync(valueFile, 'utf8').trim(), '2', 'init_file wrote the initial value');
  await status((s) => s.effectivePriority === 120, 'priority 100 + 2 × 10');
  writeFileSync(valueFile, '5\n');
  await status((s) => s.effectivePriority === 150, 'priority 150');
  // Replaced by rename (how most tools write files atomically): still seen.
  writeFileSync(`${valueFile}.tmp`, '-3\n');
  renameSync(`${valueFile}.tmp`, valueFile);
  await status((s) => s.effectivePriority === 70, 'priority 70');
  const m = r.mark();
  writeFileSync(valueFile, '-30\n'); // −300 < −253: FAULT (man5 track_file)
  await r.waitFor(/\(VI_1\) Entering FAULT STATE/, 3000, m);
  writeFileSync(valueFile, '0\n');
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 3000, m);
  await status((s) => s.effectivePriority === 100, 'priority 100');
});
