// BFD_CHECK in the checker process: a BFD session's state, as the BFD process reports it through the main
// process, takes the real server out of and back into service (docs/bfd.md).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CheckAction } from '../../src/check/core/index.js';
import { CheckerRuntime } from '../../src/check/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import { quietLog } from '../helpers/quiet-log.js';

test('a BFD_CHECK follows its session: Down takes the real server out, Up brings it back; other names do nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-bfdcheck-'));
  const f = join(dir, 'keepalived.conf');
  writeFileSync(
    f,
    `bfd_instance b1 {
  neighbor_ip 192.0.2.11
}
virtual_server 192.0.2.100 80 {
  protocol TCP
  lb_algo rr
  real_server 192.0.2.11 80 {
    BFD_CHECK {
      name b1
    }
  }
  real_server 192.0.2.12 80 {
  }
}
`,
  );
  const { config } = loadConfig(f);
  rmSync(dir, { recursive: true, force: true });
  const seen: CheckAction[] = [];
  const rt = await CheckerRuntime.start(config, { log: quietLog, seed: 1, observe: (a) => seen.push(a) });
  const live = () =>
    rt
      .snapshot()
      .flatMap((v) => v.destinations)
      .map((d) => d.address);
  assert.deepEqual(live().sort(), ['192.0.2.11', '192.0.2.12']);
  rt.bfdState('other', false);
  assert.deepEqual(live().sort(), ['192.0.2.11', '192.0.2.12']);
  rt.bfdState('b1', false);
  assert.deepEqual(live(), ['192.0.2.12']);
  assert.ok(seen.some((a) => a.type === 'realServerDown'));
  rt.bfdState('b1', true);
  assert.deepEqual(live().sort(), ['192.0.2.11', '192.0.2.12']);
  assert.ok(seen.some((a) => a.type === 'realServerUp'));
  await rt.stop();
});
