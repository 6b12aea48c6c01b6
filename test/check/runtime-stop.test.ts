// On stop the checker runtime hands the data plane no "every server shut down" view: the data plane's
// close() alone decides what leaves the kernel (all of it, or nothing with -I: keepalived 2.2.7 leaves the
// real servers in IPVS then, checked in test/lvs/ipvs-vm.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { VirtualServerView } from '../../src/check/core/index.js';
import type { DataPlaneSink } from '../../src/check/runtime.js';
import { CheckerRuntime } from '../../src/check/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import { quietLog } from '../helpers/quiet-log.js';

it('stop closes the data plane without applying the shut-down view', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-rt-stop-'));
  const f = join(dir, 'keepalived.conf');
  writeFileSync(
    f,
    'virtual_server 192.0.2.100 80 {\n protocol TCP\n lb_algo rr\n real_server 192.0.2.11 80 {\n }\n}\n',
  );
  const { config } = loadConfig(f);
  rmSync(dir, { recursive: true, force: true });
  const applied: VirtualServerView[][] = [];
  let closed = 0;
  const sink: DataPlaneSink = {
    apply: (v) => {
      applied.push(v);
    },
    close: () => {
      closed++;
    },
  };
  const rt = await CheckerRuntime.start(config, { log: quietLog, dataPlane: sink, seed: 1 });
  await new Promise((r) => setImmediate(r));
  const before = applied.length;
  const live = (v: VirtualServerView[]) => v.flatMap((x) => x.destinations).length;
  assert.ok(before >= 1 && live(applied[before - 1]!) === 1, 'the start view has the real server');
  await rt.stop();
  assert.equal(closed, 1);
  assert.equal(applied.length, before, 'no view applied on stop');
});
