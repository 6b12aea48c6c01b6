// The systemd unit shipped in the package (packaging/keepalived-ts.service): systemd-analyze verify accepts it
// (its ExecStart pointed at this checkout's command, its Documentation= at our generated man pages), and what it
// asks of the daemon is what the daemon does: the ExecStart flags parse to foreground and syslog, and the
// capabilities it keeps include the ones the daemon checks for at start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseArgs } from '../../src/daemon/cli.js';

const ROOT = join(import.meta.dirname, '../..');
const UNIT = readFileSync(join(ROOT, 'packaging/keepalived-ts.service'), 'utf8');
const work = mkdtempSync(join(tmpdir(), `kats-unit-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

/** `Key=value` settings of the [Service] section (comments dropped). */
function service(): Map<string, string> {
  const body = UNIT.slice(UNIT.indexOf('[Service]'), UNIT.indexOf('[Install]'));
  const m = new Map<string, string>();
  for (const line of body.split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv) m.set(kv[1]!, kv[2]!);
  }
  return m;
}

test('systemd-analyze verify accepts the unit', {
  skip: hasAnalyze ? false : 'systemd-analyze not installed',
}, () => {
  const bin = join(ROOT, 'bin/keepalived-ts');
  const unit = join(work, 'keepalived-ts.service');
  // verify wants the ExecStart binary to exist: this checkout's, in place of the installed path.
  const text = UNIT.replace(/^ExecStart=\S+/m, `ExecStart=${bin}`);
  assert.notEqual(text, UNIT);
  writeFileSync(unit, text);
  // Documentation=man:… is checked with man(1): our pages, laid out as a man tree.
  for (const [sect, page] of [
    ['man8', 'keepalived-ts.8'],
    ['man5', 'keepalived-ts.conf.5'],
  ] as const) {
    mkdirSync(join(work, 'man', sect), { recursive: true });
    cpSync(join(ROOT, 'man', page), join(work, 'man', sect, page));
  }
  const r = spawnSync('systemd-analyze', ['verify', unit], {
    encoding: 'utf8',
    env: { ...process.env, MANPATH: join(work, 'man'), SYSTEMD_LOG_LEVEL: 'notice' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', r.stderr);
});

test('the unit runs the daemon in the foreground, logging to syslog, as a notify service with a watchdog', () => {
  const s = service();
  assert.equal(s.get('Type'), 'notify');
  assert.equal(s.get('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(s.get('Restart'), 'on-failure');
  assert.match(s.get('WatchdogSec') ?? '', /^\d+s$/);
  const argv = (s.get('ExecStart') ?? '').split(/\s+/).slice(1);
  const parsed = parseArgs(argv.filter((a) => !a.startsWith('$')));
  assert.ok(parsed.ok, 'ExecStart flags are keepalived-ts flags');
  assert.equal(parsed.options.dontFork, true, 'systemd supervises the process itself');
  assert.equal(parsed.options.logConsole, false, 'logs go to syslog');
  assert.equal(parsed.options.noSyslog, false);
});

test('capabilities: limited to what the daemon uses, including the two it refuses to start without', () => {
  const s = service();
  const bounding = new Set((s.get('CapabilityBoundingSet') ?? '').split(/\s+/));
  const ambient = (s.get('AmbientCapabilities') ?? '').split(/\s+/);
  // src/daemon/capabilities.ts refuses to start without these.
  for (const c of ['CAP_NET_RAW', 'CAP_NET_ADMIN']) assert.ok(bounding.has(c) && ambient.includes(c), c);
  for (const c of ambient) assert.ok(bounding.has(c), `${c} ambient but not in the bounding set`);
  const allowed = new Set([
    'CAP_NET_RAW',
    'CAP_NET_ADMIN',
    'CAP_SYS_NICE',
    'CAP_SETUID',
    'CAP_SETGID',
    'CAP_KILL',
  ]);
  for (const c of bounding) assert.ok(allowed.has(c), `${c} is more than the daemon needs`);
  // Every capability kept is justified in the unit's comments.
  for (const c of bounding) assert.match(UNIT, new RegExp(`^#.*${c}\\b`, 'm'), `${c} has no comment`);
});
