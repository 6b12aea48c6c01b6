// Starting the daemon on configurations keepalived 2.2.7 starts on (issue 13): an empty file or one with only
// virtual_server blocks idles (keepalived: "Warning - keepalived has no configuration to run"), -t notes the
// blocks that are parsed but not run, and -s NAME / net_namespace NAME run only inside that namespace —
// elsewhere the daemon refuses with one line. Runs the built binary (npm run build) in namespaces of its own.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkNamespace } from '../../src/daemon/netns.js';
import { OURS_BIN } from '../helpers/keepalived-ref.js';
import { createNetns, deleteNetns, isRoot } from '../helpers/netns.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-start-'));
const namespaces: string[] = [];
after(() => {
  for (const n of namespaces.splice(0)) deleteNetns(n);
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const VS_ONLY = `virtual_server 192.0.2.80 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.81 80 {
    weight 1
  }
}
`;

/** Starts the daemon in the foreground; resolves with its output once `ready` matches or it exits. */
function startDaemon(argv: string[], ready: RegExp, ns?: string) {
  const cmd = ns ? 'ip' : process.execPath;
  const args = ns ? ['netns', 'exec', ns, process.execPath, OURS_BIN, ...argv] : [OURS_BIN, ...argv];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const seen = new Promise<boolean>((resolve) => {
    const on = (b: Buffer) => {
      out += b.toString();
      if (ready.test(out)) resolve(true);
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    void exited.then(() => resolve(false));
    setTimeout(() => resolve(false), 15_000).unref();
  });
  return { child, seen, exited, output: () => out };
}

describe('idle and namespace starts', { skip: isRoot() ? false : 'needs root' }, () => {
  for (const [label, text] of [
    ['an empty file', ''],
    ['only virtual_server blocks', VS_ONLY],
  ] as const) {
    test(`${label}: -t is 0 and the daemon runs until SIGTERM (only the checker, or idle)`, async () => {
      const conf = write(`${label.replace(/\W/g, '_')}.conf`, text);
      const t = spawnSync(process.execPath, [OURS_BIN, '-t', '-f', conf], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      assert.doesNotMatch(t.stderr, /not run/, 'virtual servers run');
      const ns = createNetns('idle');
      namespaces.push(ns);
      const pid = join(dir, `${ns}.pid`);
      const d = startDaemon(
        ['-n', '-l', '-f', conf, '-p', pid, '-r', `${pid}.vrrp`, '-c', `${pid}.checkers`],
        text ? /Starting Healthcheck child process/ : /keepalived has no configuration to run/,
        ns,
      );
      assert.ok(await d.seen, d.output());
      // Still running a moment later, with its pid file.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(d.child.exitCode, null, d.output());
      assert.ok(existsSync(pid));
      const daemonPid = Number(readFileSync(pid, 'utf8'));
      process.kill(daemonPid, 'SIGTERM');
      assert.equal(await d.exited, 0, d.output());
      assert.match(d.output(), /Stopped/);
    });
  }

  test('-s NAME outside that namespace refuses to start, with one line', () => {
    const ns = createNetns('wrong');
    namespaces.push(ns);
    const conf = write('vrrp.conf', '');
    const r = spawnSync(process.execPath, [OURS_BIN, '-n', '-l', '-s', ns, '-f', conf], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`Unable to set network namespace ${ns} - exiting`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('net_namespace NAME outside that namespace refuses before any socket; inside it, it runs', async () => {
    const ns = createNetns('cfg');
    namespaces.push(ns);
    const conf = write('netns.conf', `net_namespace ${ns}\n`);
    const pid = join(dir, 'cfg.pid');
    const outside = spawnSync(
      process.execPath,
      [OURS_BIN, '-n', '-l', '-f', conf, '-p', pid, '-r', `${pid}.vrrp`],
      { encoding: 'utf8', timeout: 15_000 },
    );
    assert.equal(outside.status, 1, outside.stderr);
    assert.match(outside.stderr, /Unable to set network namespace .* - exiting/);
    assert.equal(existsSync(pid), false);
    const d = startDaemon(
      ['-n', '-l', '-f', conf, '-p', pid, '-r', `${pid}.vrrp`],
      /no configuration to run/,
      ns,
    );
    assert.ok(await d.seen, d.output());
    assert.match(d.output(), new RegExp(`Running in network namespace ${ns}`));
    process.kill(Number(readFileSync(pid, 'utf8')), 'SIGTERM');
    assert.equal(await d.exited, 0, d.output());
  });
});

test('checkNamespace: -s overrides the configuration; a missing or different namespace is refused', () => {
  const a = write('ns-a', 'a');
  const b = write('ns-b', 'b');
  assert.deepEqual(checkNamespace(undefined, undefined, a, dir), { ok: true, name: null, notes: [] });
  const same = checkNamespace('ns-a', 'other', a, dir);
  assert.equal(same.ok, true);
  assert.deepEqual(same.notes, [
    "Overriding config net_namespace 'other' with command line namespace 'ns-a'",
    'Running in network namespace ns-a',
  ]);
  const wrong = checkNamespace(undefined, 'ns-a', b, dir);
  assert.equal(wrong.ok, false);
  const missing = checkNamespace('nope', undefined, a, dir);
  assert.ok(!missing.ok && missing.error.includes('does not exist'));
  assert.equal(checkNamespace('../x', undefined, a, dir).ok, false);
});
