// vrrp_script checks: the rise/fall rule (pure), the config mapping, and a running daemon whose script
// failure hands the VIP to its peer and whose recovery takes it back.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { VrrpScript } from '../../src/config/model.js';
import { validateConfig } from '../../src/config/validate.js';
import { buildEnginePlan } from '../../src/daemon/engine-plan/build.js';
import { ScriptTrackers, ScriptVerdict } from '../../src/track/script-trackers.js';
import { cleanupAfter, holds, Router, settle, sleep, waitUntil } from '../daemon/router.js';
import { isRoot } from '../helpers/netns.js';
import { quietLog } from '../helpers/quiet-log.js';
import { openLan, TWO_ROUTERS } from '../helpers/router-lab.js';

const skip = isRoot() ? false : 'needs root for network namespaces';
const cleanups = cleanupAfter();

test('rise/fall: consecutive results change the state; an interruption restarts the count', () => {
  const v = new ScriptVerdict(2, 3, true);
  assert.equal(v.record(false), false);
  assert.equal(v.record(false), false);
  assert.equal(v.record(true), false, 'a success interrupts the failure streak');
  assert.equal(v.record(false), false);
  assert.equal(v.record(false), false);
  assert.equal(v.record(false), true, 'third consecutive failure');
  assert.equal(v.up, false);
  assert.equal(v.record(true), false);
  assert.equal(v.record(true), true, 'second consecutive success');
  assert.equal(v.up, true);
  const initFail = new ScriptVerdict(1, 1, false);
  assert.equal(initFail.up, false);
  assert.equal(initFail.record(true), true);
});

test('track_script maps to script trackers; the entry weight overrides the script weight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-scr-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'k.conf');
  writeFileSync(
    file,
    `
vrrp_script chk_a {
  script "/bin/true"
  weight -20
}
vrrp_script chk_b {
  script "/bin/false"
  init_fail
}
vrrp_script unused {
  script "/bin/true"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  track_script {
    chk_a
    chk_b weight 30
  }
  virtual_ipaddress { 192.0.2.100 }
}`,
  );
  const { config, diag } = loadConfig(file, { configId: 'x', env: {} });
  validateConfig(config, diag, { host: { interfaces: new Set(['lo', 'eth0']) } });
  const plan = buildEnginePlan(config, { defaultSource: () => '192.0.2.1' });
  assert.deepEqual(plan.errors, []);
  assert.deepEqual(plan.engine.instances[0]!.trackers, [
    { name: 'chk_a', kind: 'script', weight: -20, reverse: false, initialUp: true },
    { name: 'chk_b', kind: 'script', weight: 30, reverse: false, initialUp: false },
  ]);
  assert.deepEqual(
    plan.scripts.map((s) => s.name),
    ['chk_a', 'chk_b'],
    'only tracked scripts run',
  );
});

test('a failing vrrp_script lowers the master below its peer; recovery takes the VIP back', {
  skip,
  timeout: 30_000,
}, async () => {
  const { lab, ns } = openLan('dscr', TWO_ROUTERS);
  cleanups.push(() => lab.close());
  const { r1: ns1, r2: ns2 } = ns;
  const flagDir = mkdtempSync(join(tmpdir(), 'kats-flag-'));
  cleanups.push(() => rmSync(flagDir, { recursive: true, force: true }));
  const flag = join(flagDir, 'healthy');
  writeFileSync(flag, '');
  const conf = (priority: number, track: boolean) => `
vrrp_script chk {
  script "/usr/bin/test -f ${flag}"
  interval 0.1
  rise 2
  fall 2
  weight -150
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 57
  version 3
  priority ${priority}
  advert_int 0.1
  ${track ? 'track_script { chk }' : ''}
  virtual_ipaddress { 192.0.2.100/24 }
}`;
  const r1 = new Router('r1', ns1, conf(200, true));
  const r2 = new Router('r2', ns2, conf(100, false));
  cleanups.push(() => {
    r1.removeDir();
    r2.removeDir();
  });
  await settle([r1, r2], () => r1.lastState() === 'MASTER' && r2.lastState() === 'BACKUP', 6000, 'r1 master');

  unlinkSync(flag); // r1's check fails: 200 − 150 = 50 < 100
  await r1.waitFor(/VRRP_Script\(chk\) failed \(exited with status 1\)/, 3000);
  await settle([r1, r2], () => r2.lastState() === 'MASTER' && r1.lastState() === 'BACKUP', 5000, 'r2 master');
  await waitUntil(() => holds(ns2, '192.0.2.100') && !holds(ns1, '192.0.2.100'), 2000, 'VIP on r2');

  writeFileSync(flag, ''); // healthy again: r1 preempts
  await r1.waitFor(/VRRP_Script\(chk\) succeeded/, 3000);
  await settle(
    [r1, r2],
    () => r1.lastState() === 'MASTER' && r2.lastState() === 'BACKUP',
    5000,
    'r1 master again',
  );
  await waitUntil(() => holds(ns1, '192.0.2.100') && !holds(ns2, '192.0.2.100'), 2000, 'VIP on r1');
});

/** A vrrp_script as the parser makes it: `argv` run every 50 ms, rise 1, fall 1. */
function script(name: string, argv: string[], extra: Partial<VrrpScript> = {}): VrrpScript {
  return {
    name,
    pos: { file: 'k.conf', line: 1 },
    script: { argv, pos: { file: 'k.conf', line: 2 } },
    intervalUs: 50_000,
    weight: 0,
    reverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    ...extra,
  };
}

test("a reload's scripts: new ones start, changed ones restart keeping their state, dropped ones stop", async () => {
  const changes: string[] = [];
  const t = new ScriptTrackers(
    [script('keep', ['/bin/false']), script('change', ['/bin/false']), script('drop', ['/bin/false'])],
    (name, up) => changes.push(`${name} ${up ? 'up' : 'down'}`),
    quietLog,
  );
  try {
    t.start();
    await waitUntil(() => changes.length === 3, 3000, 'all three fail');
    assert.deepEqual(changes.sort(), ['change down', 'drop down', 'keep down']);
    changes.length = 0;
    t.reconfigure([
      // Only its weight differs: the same script, its state and schedule untouched.
      script('keep', ['/bin/false'], { weight: -10 }),
      // A new command: restarted, still down until its first run says otherwise.
      script('change', ['/bin/true']),
      // New: starts OK (no init_fail), then fails.
      script('new', ['/bin/false']),
    ]);
    assert.deepEqual(
      t
        .states()
        .map(({ name, up }) => ({ name, up }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      [
        { name: 'change', up: false },
        { name: 'keep', up: false },
        { name: 'new', up: true },
      ],
      'states carried over, the new one at its initial state; the dropped one gone',
    );
    await waitUntil(() => changes.includes('change up') && changes.includes('new down'), 3000, 'new runs');
    await sleep(200);
    assert.deepEqual(changes.sort(), ['change up', 'new down'], 'nothing from the dropped or kept script');
  } finally {
    t.stop();
  }
});

test('a reload drops a script whose run is in flight: that run is stopped and reports nothing', async () => {
  const changes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'kats-scr-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const started = join(dir, 'started');
  const t = new ScriptTrackers(
    [script('slow', ['/bin/sh', '-c', `touch ${started}; sleep 5`], { intervalUs: 10_000_000 })],
    (name, up) => changes.push(`${name} ${up ? 'up' : 'down'}`),
    quietLog,
  );
  try {
    t.start();
    await waitUntil(() => existsSync(started), 3000, 'the slow run started');
    t.reconfigure([]);
    assert.deepEqual(t.states(), []);
    await sleep(300);
    assert.deepEqual(changes, [], 'its SIGTERM is not reported as a failure');
  } finally {
    t.stop();
  }
});
