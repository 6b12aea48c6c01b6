// Logs an operator can act on (issue 13): keepalived's words for why a transition happened, the effective
// priority changes, the VIPs named when set and removed, and the process title. Two routers on one link
// (namespaces of this test): A (150, a failing tracked script of weight -10: effective 140) takes over alone;
// B (200) preempts it; B stops (priority 0) and A takes over again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OURS_BIN } from '../helpers/keepalived-ref.js';
import { isRoot, linkedPair } from '../helpers/netns.js';
import { scratch } from '../helpers/scratch.js';

const { dir, namespaces, children } = scratch('kats-logs-');

const conf = (priority: number, track: boolean) => `vrrp_script down {
  script "/usr/bin/false"
  interval 1
  weight -10
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 71
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
${track ? '  track_script {\n    down\n  }' : ''}
}
`;

function daemon(ns: string, name: string, text: string) {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, text);
  const pid = join(dir, `${name}.pid`);
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, OURS_BIN, '-n', '-l', '-f', file, '-p', pid, '-r', `${pid}.v`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  const waiters: { re: RegExp; from: number; resolve: (ok: boolean) => void }[] = [];
  const on = (b: Buffer) => {
    out += b.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(out.slice(w.from))) w.resolve(true);
      else waiters.push(w);
    }
  };
  child.stdout.on('data', on);
  child.stderr.on('data', on);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pidFile: pid,
    output: () => out,
    exited,
    /** Waits for `re` in what is logged from now on. */
    waitFor(re: RegExp, ms = 10_000): Promise<boolean> {
      return new Promise((resolve) => {
        waiters.push({ re, from: out.length, resolve });
        setTimeout(() => resolve(false), ms).unref();
      });
    },
  };
}

test("transition reasons, priority changes and VIPs in keepalived's words", {
  skip: isRoot() ? false : 'needs root',
}, async () => {
  const [a, b] = linkedPair('logsa', 'logsb');
  namespaces.push(a, b);

  const ra = daemon(a, 'a', conf(150, true));
  // Lines written in one batch may arrive in separate reads: each awaited line has its waiter set up first.
  const aMaster = ra.waitFor(/\(VI_1\) Entering MASTER STATE/);
  const vipsSet = ra.waitFor(/\(VI_1\) setting VIPs: 192\.0\.2\.100\/24/);
  assert.ok(await ra.waitFor(/\(VI_1\) Changing effective priority from 150 to 140/), ra.output());
  assert.ok(await aMaster, ra.output());
  assert.ok(await vipsSet, ra.output());
  assert.match(ra.output(), /Configuration file .*a\.conf/);
  const aPid = Number(readFileSync(ra.pidFile, 'utf8'));
  assert.equal(readFileSync(`/proc/${aPid}/comm`, 'utf8').trim(), 'keepalived-ts');

  const preempted = ra.waitFor(
    /\(VI_1\) Master received advert from 192\.0\.2\.2 with higher priority 200, ours 140\n.*\(VI_1\) Entering BACKUP STATE/,
    15_000,
  );
  const vipsRemoved = ra.waitFor(/\(VI_1\) removing VIPs: 192\.0\.2\.100\/24/, 15_000);
  const rb = daemon(b, 'b', conf(200, false));
  assert.ok(await preempted, `${ra.output()}\n---\n${rb.output()}`);
  assert.ok(await vipsRemoved, ra.output());

  const aAgain = ra.waitFor(
    /\(VI_1\) Backup received priority 0 advertisement\n.*\(VI_1\) Entering MASTER STATE/,
  );
  process.kill(Number(readFileSync(rb.pidFile, 'utf8')), 'SIGTERM');
  await rb.exited;
  assert.ok(await aAgain, ra.output());
  process.kill(aPid, 'SIGTERM');
  await ra.exited;
});
