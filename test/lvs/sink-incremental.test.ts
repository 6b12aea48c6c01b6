// The checker's fast path (only the virtual servers a verdict changed) must leave the data plane exactly
// where the whole-snapshot path would: checked here with the real checker core and sink over a runner that
// only records scripts (no kernel needed).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type CheckAction, CheckerCore } from '../../src/check/core/index.js';
import { LvsSink } from '../../src/check/lvs-sink.js';
import { createLogger } from '../../src/common/logger.js';
import { loadConfig } from '../../src/config/load.js';
import { canonical } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';

const conf = Array.from(
  { length: 4 },
  (_, i) => `virtual_server 198.51.100.${100 + i} 80 {
  delay_loop 1
  lb_algo ${['rr', 'wrr', 'sh', 'wlc'][i]}
  lb_kind NAT
  protocol TCP
  ${i === 1 ? 'sorry_server 192.0.2.99 8080\n  quorum 2' : ''}
${[1, 2, 3].map((r) => `  real_server 192.0.2.${10 + r} ${8000 + i} {\n    weight ${r}\n    ${i === 3 ? 'inhibit_on_failure\n    ' : ''}TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }`).join('\n')}
}`,
).join('\n');

describe('LVS sink: the changed-only path equals the whole-snapshot path', () => {
  it('after every verdict of a random sequence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kats-sinkinc-'));
    writeFileSync(join(dir, 'k.conf'), conf);
    const { config } = loadConfig(join(dir, 'k.conf'), { configId: 'x', env: {} });
    assert.equal(config.virtualServers.length, 4);
    const core = new CheckerCore(config, { seed: 7 });
    const scripts: string[] = [];
    const dp = new NftDataplane({
      route: 'cli',
      close() {},
      run: async (s) => {
        scripts.push(s);
        return { ok: true };
      },
    });
    const sink = new LvsSink(config, dp, {
      log: createLogger({ console: true, detail: false }),
      respawned: false,
      keepOnStop: false,
      status: () => core.status(),
    });
    let now = 1_000_000;
    core.start(now);
    sink.apply(core.snapshot());
    await sink.settled();
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let verdicts = 0;
    for (let round = 0; round < 40; round++) {
      now += 2_000_000;
      const ids = core.timer(now).flatMap((a) => (a.type === 'runProbe' ? [a.probeId] : []));
      const changed = new Set<string>();
      for (const id of ids) {
        const ok = rand() < 0.5;
        const acts: CheckAction[] = core.probeResult(
          id,
          ok ? { ok: true, latencyUs: 1 } : { ok: false, latencyUs: 1, code: 'refused', reason: 't' },
          now,
        );
        for (const a of acts) if ('vs' in a && typeof a.vs === 'string') changed.add(a.vs);
      }
      if (changed.size === 0) continue;
      verdicts++;
      sink.applyChanged(core.views(changed));
      await sink.settled();
      assert.deepEqual(dp.committed(), canonical(sink.desired(core.snapshot())), `round ${round}`);
    }
    assert.ok(verdicts >= 10, `only ${verdicts} rounds changed anything`);
    assert.ok(scripts.length > verdicts / 2);
  });
});
