// The daemon as a process: missing capabilities, detaching without -n, pid files, notify scripts and the
// notify FIFO, and a VIP deleted behind the daemon's back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { effectiveCapabilities, missingCapabilities } from '../../src/daemon/capabilities.js';
import { ip } from '../helpers/netns.js';
import { daemonConf } from './conf.js';
import {
  BIN,
  cleanupAfter,
  holds,
  loneRouter,
  needsRoot,
  Router,
  trackDetachedPid,
  waitUntil,
} from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

const VIP = '192.0.2.100';
const conf = (extra = '', global = '') => daemonConf(global, { extra, vips: [`${VIP}/24`] });

test('capability parsing: CAP_NET_RAW is bit 13, CAP_NET_ADMIN bit 12', () => {
  assert.deepEqual(missingCapabilities(0n), ['CAP_NET_RAW', 'CAP_NET_ADMIN']);
  assert.deepEqual(missingCapabilities((1n << 13n) | (1n << 12n)), []);
  assert.deepEqual(missingCapabilities(1n << 12n), ['CAP_NET_RAW']);
  assert.equal(effectiveCapabilities('Name:\tx\nCapEff:\t0000000000003000\n'), 0x3000n);
  assert.equal(effectiveCapabilities('no such line'), null);
});

test('without CAP_NET_RAW/CAP_NET_ADMIN: one clear line, exit code 1, no pid file', { skip }, () => {
  const { ns, r: r0 } = loneRouter('dcap', 'nocap', conf(), cleanups, { command: ['true'] });
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'setpriv',
      '--inh-caps=-all',
      '--bounding-set=-net_raw,-net_admin',
      process.execPath,
      BIN,
      '-n',
      '-l',
      '-f',
      r0.conf,
      '-p',
      r0.pidFile,
      '-r',
      r0.vrrpPidFile,
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /missing capability CAP_NET_RAW and CAP_NET_ADMIN/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(r0.pidFile));
});

test('without -n the daemon detaches: the command exits 0 and the daemon keeps running', {
  skip,
  timeout: 15_000,
}, async () => {
  const { ns, r: r0 } = loneRouter('ddet', 'det', conf(), cleanups, { command: ['true'] });
  let daemonPid = 0;
  cleanups.push(() => {
    if (daemonPid > 0) spawnSync('kill', ['-KILL', String(daemonPid)]);
  });
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, BIN, '-f', r0.conf, '-p', r0.pidFile, '-r', r0.vrrpPidFile],
    { encoding: 'utf8', timeout: 10_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  await waitUntil(() => existsSync(r0.pidFile) && existsSync(r0.vrrpPidFile), 5000, 'pid files');
  daemonPid = Number(readFileSync(r0.pidFile, 'utf8').trim());
  trackDetachedPid(daemonPid);
  assert.ok(daemonPid > 0 && r.pid !== daemonPid);
  assert.equal(Number(readFileSync(r0.vrrpPidFile, 'utf8').trim()), daemonPid);
  // Alone on its LAN, it becomes master and installs the VIP.
  await waitUntil(() => holds(ns, VIP), 5000, 'VIP on the detached daemon');
  process.kill(daemonPid, 'SIGTERM');
  await waitUntil(() => !existsSync(r0.pidFile) && !existsSync(r0.vrrpPidFile), 5000, 'pid files removed');
  await waitUntil(
    () => {
      try {
        process.kill(daemonPid, 0);
        return false;
      } catch {
        return true;
      }
    },
    3000,
    'daemon exit',
  );
  daemonPid = 0;
  assert.ok(!holds(ns, VIP), 'VIP removed on stop');
});

test('notify scripts, notify FIFO, and a VIP deleted behind the daemon’s back', {
  skip,
  timeout: 20_000,
}, async () => {
  const { ns, r } = loneRouter(
    'dntf',
    'ntf',
    (dir) => {
      const generic = join(dir, 'notify.sh');
      writeFileSync(generic, `#!/bin/sh\necho "$@" >> ${join(dir, 'generic.log')}\n`);
      chmodSync(generic, 0o755);
      const master = join(dir, 'master.sh');
      writeFileSync(master, `#!/bin/sh\necho "master $1" >> ${join(dir, 'master.log')}\n`);
      chmodSync(master, 0o755);
      return conf(
        `notify_master "${master} from-config"\n  notify ${generic}\n  notify_backup "echo backup-via-shell >> ${join(dir, 'backup.log')}"`,
        `notify_fifo ${join(dir, 'fifo')}`,
      );
    },
    cleanups,
  );
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  await waitUntil(() => holds(ns, VIP), 2000, 'VIP');
  // The daemon created the FIFO; lines written so far wait in the pipe. Keep a reader open so the buffer
  // survives the daemon closing its end on exit.
  const fifo = openSync(join(r.dir, 'fifo'), constants.O_RDONLY | constants.O_NONBLOCK);
  cleanups.push(() => closeSync(fifo));

  // Deleted by hand while MASTER: keepalived goes to BACKUP, and (alone on the LAN) back to MASTER.
  const m = r.mark();
  ip('-n', ns, 'addr', 'del', `${VIP}/24`, 'dev', 'eth0');
  await r.waitFor(/\(VI_1\) VIP 192\.0\.2\.100 deleted - going to BACKUP/, 2000, m);
  await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 2000, m);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 2000, m);
  await waitUntil(() => holds(ns, VIP), 2000, 'VIP re-added');

  assert.equal(await r.stop(), 0);
  const generic = join(r.dir, 'generic.log');
  const want = ['BACKUP', 'MASTER', 'BACKUP', 'MASTER', 'STOP'].map((s) => `INSTANCE VI_1 ${s} 100`);
  await waitUntil(
    () => existsSync(generic) && readFileSync(generic, 'utf8').trim().split('\n').length >= want.length,
    3000,
    'generic notify lines',
  );
  // Scripts run detached and concurrently, so their appends may interleave: compare as multisets.
  assert.deepEqual(readFileSync(generic, 'utf8').trim().split('\n').sort(), [...want].sort());
  assert.deepEqual(readFileSync(join(r.dir, 'master.log'), 'utf8').trim().split('\n'), [
    'master from-config',
    'master from-config',
  ]);
  await waitUntil(() => existsSync(join(r.dir, 'backup.log')), 2000, 'notify_backup via the shell');

  const buf = Buffer.alloc(4096);
  const n = readSync(fifo, buf);
  assert.equal(buf.subarray(0, n).toString(), want.map((l) => `${l.replace('VI_1', '"VI_1"')}\n`).join(''));
});

test('vrrp_startup_delay holds the instances back; SIGTERM during the delay exits cleanly', {
  skip,
  timeout: 20_000,
}, async () => {
  const { ns, r } = loneRouter('ddly', 'dly', conf('', 'vrrp_startup_delay 1'), cleanups);
  const started = await r.waitFor(/Delaying startup for 1 seconds/, 5000);
  const backup = await r.waitFor(/\(VI_1\) Entering BACKUP STATE/, 5000);
  assert.ok(backup.stampMs! - started.stampMs! >= 1000, `${backup.stampMs! - started.stampMs!} ms`);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 2000);
  assert.equal(await r.stop(), 0);

  const r2 = new Router('dly2', ns, conf('', 'vrrp_startup_delay 30'));
  cleanups.push(() => r2.removeDir());
  await r2.waitFor(/Delaying startup/, 5000);
  const t0 = Date.now();
  assert.equal(await r2.stop(), 0);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(r2.grep(/Entering/).length, 0);
  assert.ok(!existsSync(r2.pidFile));
});

test('notify_fifo_script reads the FIFO the daemon writes and is stopped with the daemon', {
  skip,
  timeout: 20_000,
}, async () => {
  const { r } = loneRouter(
    'dfs',
    'fs',
    (dir) => {
      const reader = join(dir, 'reader.sh');
      writeFileSync(
        reader,
        `#!/bin/sh\necho $$ > ${join(dir, 'reader.pid')}\nwhile read -r line; do echo "$line" >> ${join(dir, 'seen.log')}; done < "$1"\n`,
      );
      chmodSync(reader, 0o755);
      return conf('', `notify_fifo ${join(dir, 'fifo')}\n  notify_fifo_script ${reader}`);
    },
    cleanups,
  );
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  const seen = join(r.dir, 'seen.log');
  await waitUntil(
    () => existsSync(seen) && readFileSync(seen, 'utf8').includes('INSTANCE "VI_1" MASTER 100'),
    2000,
    'the FIFO script saw MASTER',
  );
  assert.match(readFileSync(seen, 'utf8'), /^INSTANCE "VI_1" BACKUP 100$/m);
  const readerPid = Number(readFileSync(join(r.dir, 'reader.pid'), 'utf8'));
  assert.equal(await r.stop(), 0);
  await waitUntil(
    () => {
      try {
        process.kill(readerPid, 0);
        return false;
      } catch {
        return true;
      }
    },
    // The script is signalled at stop; the shell then has to be scheduled to die (a loaded CI run took
    // more than 2 s once). Left running, it would still fail this.
    6000,
    'FIFO script stopped',
  );
});

test('scripts run as script_user (notify) and as their own user (vrrp_script)', {
  skip,
  timeout: 20_000,
}, async () => {
  const { r } = loneRouter(
    'dusr',
    'usr',
    (dir) => {
      chmodSync(dir, 0o777); // the unprivileged scripts write here
      const who = join(dir, 'who.sh');
      writeFileSync(who, `#!/bin/sh\nid -u > ${join(dir, '$1')}\n`);
      chmodSync(who, 0o755);
      return `
global_defs {
  script_user nobody
}
vrrp_script chk {
  script "${who} check.uid"
  interval 0.2
  user daemon
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  version 3
  priority 100
  advert_int 0.1
  track_script { chk }
  notify_master "${who} notify.uid"
  virtual_ipaddress { ${VIP}/24 }
}
`;
    },
    cleanups,
  );
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  const read = (f: string) => {
    try {
      return readFileSync(join(r.dir, f), 'utf8').trim();
    } catch {
      return '';
    }
  };
  await waitUntil(() => read('notify.uid') !== '' && read('check.uid') !== '', 3000, 'both scripts ran');
  assert.equal(read('notify.uid'), '65534', 'notify_master as script_user nobody');
  const daemonUid = /^daemon:x:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1];
  assert.equal(read('check.uid'), daemonUid, 'vrrp_script as its own user');
  assert.equal(await r.stop(), 0);
});
