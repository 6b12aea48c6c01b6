// The modes of the files the daemon creates, and the umask its scripts inherit, with global_defs `umask` and
// `-u` and without either: the same scenario runs against keepalived 2.2.7, so the expected modes are 2.2.7's
// (docs/keepalived-semantics.md, "File modes and umask"). Each daemon's /tmp is a directory of its own (a
// bind mount in the namespace's own mount namespace), where both write their signal dumps.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { SIGNAL_JSON } from '../../src/daemon/run.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/v8-tuning.js';
import { REPO_ROOT } from '../helpers/keepalived-ref.js';
import { loneRouterNetns } from '../helpers/netns.js';
import {
  daemonArgs,
  type Impl,
  implName,
  implSkip,
  killProcessesIn,
  referenceCommand,
} from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { BIN, cleanupAfter, Router, waitUntil } from './router.js';

const cleanups = cleanupAfter();

/**
 * A master on its own: a FIFO the daemon creates (vrrp_notify_fifo) and one that exists already (notify_fifo,
 * made 0640 by the test), a track_file written by init_file, and a notify_master script that records its
 * umask and creates a file.
 */
function conf(dir: string, globals: string): string {
  const script = join(dir, 'notify.sh');
  writeFileSync(
    script,
    `#!/bin/sh\numask > ${join(dir, 'script-umask')}\n: > ${join(dir, 'script-file')}\n`,
    {
      mode: 0o755,
    },
  );
  execFileSync('mkfifo', ['-m', '0640', join(dir, 'old-fifo')]);
  return `global_defs {
  vrrp_notify_fifo ${join(dir, 'new-fifo')}
  notify_fifo ${join(dir, 'old-fifo')}
  script_user root
  enable_script_security
  ${globals}
}
track_file tf {
  file ${join(dir, 'tracked')}
  init_file 0
}
${vrrpInstanceConf({ state: 'MASTER', priority: 150, extra: `notify_master ${script}\n  track_file {\n    tf\n  }` })}`;
}

/**
 * The daemon's argv behind `sh -c`: /tmp becomes DIR/tmp, with the router's own directory (and a checkout
 * under /tmp) bound back at their paths, so that both write /tmp/keepalived.* into DIR/tmp.
 */
function inOwnTmp(dir: string, argv: string[]): string[] {
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const keep = [dir, ...(relative('/tmp', REPO_ROOT).startsWith('..') ? [] : [REPO_ROOT])].map((d) => {
    const at = join(tmp, relative('/tmp', d));
    return `mkdir -p '${at}' && mount --bind '${d}' '${at}' && `;
  });
  return [
    'sh',
    '-c',
    `${keep.join('')}mount --rbind '${tmp}' /tmp && exec ${argv.map((a) => `'${a}'`).join(' ')}`,
  ];
}

function start(impl: Impl, label: string, globals: string, args: string[]): Router {
  const h = loneRouterNetns(label, cleanups);
  cleanups.push(() => killProcessesIn(h.ns));
  const r = new Router(`${label}r`, h.ns, (dir) => conf(dir, globals), {
    command: ({ conf: file, dir }) =>
      inOwnTmp(
        dir,
        impl === 'ka'
          ? [...referenceCommand({ conf: file, dir }), ...args]
          : [process.execPath, ...DAEMON_NODE_FLAGS, BIN, ...daemonArgs({ conf: file, dir }), ...args],
      ),
  });
  cleanups.push(() => r.removeDir());
  return r;
}

const DUMPS = ['keepalived.data', 'keepalived.stats', 'keepalived.json'];

function mode(path: string): string {
  return existsSync(path) ? (statSync(path).mode & 0o777).toString(8).padStart(3, '0') : 'none';
}

/** The three dumps asked for by signal, fresh; their modes and the data dump's umask line. */
async function dumps(r: Router): Promise<{ modes: string[]; umaskLine: string | undefined }> {
  const files = DUMPS.map((f) => join(r.dir, 'tmp', f));
  for (const f of files) rmSync(f, { force: true });
  for (const sig of ['SIGUSR1', 'SIGUSR2', SIGNAL_JSON] as const) process.kill(r.proc.pid!, sig);
  await waitUntil(() => files.every((f) => existsSync(f)), 5000, 'the three dumps');
  // A dump is renamed into place whole, but the data dump's text is read: give a slow writer a moment.
  await new Promise((res) => setTimeout(res, 300));
  const umaskLine = /^ umask = .*$/m.exec(readFileSync(files[0]!, 'utf8'))?.[0];
  return { modes: files.map(mode), umaskLine };
}

interface Seen {
  newFifo: string;
  oldFifo: string;
  pidFiles: string[];
  trackFile: string;
  dumps: string[];
  umaskLine: string | undefined;
  scriptUmask: string;
  scriptFile: string;
  /** After the stop: is each FIFO still there? */
  afterStop: { newFifo: boolean; oldFifo: boolean };
}

async function run(impl: Impl, label: string, globals: string, args: string[] = []): Promise<Seen> {
  const r = start(impl, label, globals, args);
  const at = (f: string) => join(r.dir, f);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
  await waitUntil(() => existsSync(at('script-file')), 5000, 'the notify_master script');
  const d = await dumps(r);
  const seen = {
    newFifo: mode(at('new-fifo')),
    oldFifo: mode(at('old-fifo')),
    pidFiles: [mode(at('k.pid')), mode(at('k_vrrp.pid'))],
    trackFile: mode(at('tracked')),
    dumps: d.modes,
    umaskLine: d.umaskLine,
    scriptUmask: readFileSync(at('script-umask'), 'utf8').trim(),
    scriptFile: mode(at('script-file')),
  };
  await r.stop('SIGTERM', 8000);
  return { ...seen, afterStop: { newFifo: existsSync(at('new-fifo')), oldFifo: existsSync(at('old-fifo')) } };
}

/** What 2.2.7 does with the mask `m` in force (pid files 0644 whatever it is). */
function expected(fileMode: string, fifo: string, scriptUmask: string, umaskLine: string): Seen {
  return {
    newFifo: fifo,
    oldFifo: '640',
    pidFiles: ['644', '644'],
    trackFile: fileMode,
    dumps: [fileMode, fileMode, fileMode],
    umaskLine,
    scriptUmask,
    scriptFile: fileMode,
    afterStop: { newFifo: false, oldFifo: true },
  };
}

for (const impl of ['ts', 'ka'] as const) {
  describe(`file modes and umask (${implName(impl)})`, { skip: implSkip(impl) }, () => {
    const tag = `um${impl}${process.pid % 10000}`;
    test('by default: 0177, files 0600, FIFOs 0600, pid files 0644', { timeout: 40_000 }, async () => {
      assert.deepEqual(await run(impl, `${tag}d`, ''), expected('600', '600', '0177', ' umask = 0177'));
    });
    test('global_defs umask 022: files 0644, FIFOs 0644', { timeout: 40_000 }, async () => {
      assert.deepEqual(
        await run(impl, `${tag}k`, 'umask 022'),
        expected('644', '644', '0022', ' umask = 022'),
      );
    });
    test('umask IWGRP|IWOTH|IXUSR is 0122', { timeout: 40_000 }, async () => {
      assert.deepEqual(
        await run(impl, `${tag}s`, 'umask IWGRP|IWOTH|IXUSR'),
        expected('644', '644', '0122', ' umask = 0122'),
      );
    });
    test('-u 002 wins over umask 077: files 0664, FIFOs 0644', { timeout: 40_000 }, async () => {
      assert.deepEqual(
        await run(impl, `${tag}u`, 'umask 077', ['-u', '002']),
        expected('664', '644', '0002', ' umask = 02'),
      );
    });
    test('a reload applies a new umask; one without the keyword keeps it', { timeout: 40_000 }, async () => {
      const r = start(impl, `${tag}r`, 'umask 022', []);
      await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 10_000);
      assert.deepEqual(await dumps(r), { modes: ['644', '644', '644'], umaskLine: ' umask = 022' });
      for (const [globals, want] of [
        ['umask 077', { modes: ['600', '600', '600'], umaskLine: ' umask = 077' }],
        ['', { modes: ['600', '600', '600'], umaskLine: ' umask = 077' }],
      ] as const) {
        writeFileSync(r.conf, readFileSync(r.conf, 'utf8').replace(/^ {2}(umask .*)?$/m, `  ${globals}`));
        const m = r.mark();
        r.proc.kill('SIGHUP');
        await r.waitFor(/Reload (finished|complete)/, 8000, m);
        assert.deepEqual(await dumps(r), want, globals || 'no umask');
      }
      await r.stop('SIGTERM', 8000);
    });
  });
}
