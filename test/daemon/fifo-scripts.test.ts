// Notify FIFOs and their scripts across a reload and a stop, as 2.2.7 runs them: at a reload the FIFO script
// is stopped, the FIFO closed (removed when the daemon made it) and both made again from the new
// configuration — a new path, and a new umask for the FIFO's mode, take effect at once; the checker process
// starts lvs_notify_fifo_script, and notify_fifo_script when no VRRP process runs (-C), once only when one
// does. The VRRP half runs against the reference keepalived too; its checker needs IPVS, which this kernel
// lacks, so the checker half is ours alone (2.2.7's lib/notify.c behaviour: docs/keepalived-semantics.md,
// "Notify FIFOs").
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loneRouterNetns } from '../helpers/netns.js';
import { implName, implSkip, killProcessesIn, startPeer } from '../interop/peers.js';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, needsRoot, Router, waitUntil } from './router.js';

const cleanups = cleanupAfter();

/** A FIFO reader: records its pid and FIFO, then each line it reads, prefixed with the FIFO's name. */
function writeReader(dir: string): string {
  const reader = join(dir, 'reader.sh');
  writeFileSync(
    reader,
    `#!/bin/sh\necho "$$ $(basename "$1")" >> ${join(dir, 'pids.log')}\nwhile read -r line; do echo "$(basename "$1") $line" >> ${join(dir, 'seen.log')}; done < "$1"\n`,
  );
  chmodSync(reader, 0o755);
  return reader;
}

const lines = (dir: string, f: string) =>
  existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim().split('\n') : [];
const readers = (dir: string) => lines(dir, 'pids.log').map((l) => l.split(' ') as [string, string]);
const alive = (pid: string) => {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
};
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

for (const impl of ['ts', 'ka'] as const) {
  describe(`notify FIFO scripts at a reload (${implName(impl)})`, { skip: implSkip(impl) }, () => {
    test('a reload makes the FIFO again, at its new path and with the new umask, and restarts its script', {
      timeout: 40_000,
    }, async () => {
      const h = loneRouterNetns(`fs${impl}`, cleanups);
      cleanups.push(() => killProcessesIn(h.ns));
      let reader = '';
      const conf = (dir: string, fifo: string, extra: string, second: boolean) => `global_defs {
  ${extra}
  vrrp_notify_fifo ${join(dir, fifo)}
  vrrp_notify_fifo_script ${reader}
}
${vrrpInstanceConf({ name: 'VI_1', vrid: 51, priority: 150 })}
${second ? vrrpInstanceConf({ name: 'VI_2', vrid: 52, priority: 150, vips: ['192.0.2.102/24'] }) : ''}`;
      const r = startPeer(impl, `fs${impl}r`, h.ns, (dir) => {
        reader = writeReader(dir);
        return conf(dir, 'f1', '', false);
      });
      cleanups.push(() => r.removeDir());
      await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
      await waitUntil(
        () => lines(r.dir, 'seen.log').includes('f1 INSTANCE "VI_1" MASTER 150'),
        3000,
        'the first script read MASTER from f1',
      );
      assert.equal(mode(join(r.dir, 'f1')), '600', 'made with the default umask 0177');
      const [first] = readers(r.dir);
      assert.equal(first?.[1], 'f1');

      writeFileSync(r.conf, conf(r.dir, 'f2', 'umask 022', true));
      const m = r.mark();
      r.proc.kill('SIGHUP');
      await r.waitFor(/Reload (finished|complete)/, 5000, m);
      await waitUntil(
        () => lines(r.dir, 'seen.log').includes('f2 INSTANCE "VI_2" MASTER 150'),
        6000,
        'a second script read the new instance’s MASTER from f2',
      );
      const after = readers(r.dir);
      assert.deepEqual(
        after.map(([, f]) => f),
        ['f1', 'f2'],
        'one script per opening, each given its FIFO',
      );
      await waitUntil(() => !alive(first![0]), 3000, 'the first script ended at the reload');
      assert.ok(!existsSync(join(r.dir, 'f1')), 'the FIFO made at start is removed at the reload');
      assert.equal(mode(join(r.dir, 'f2')), '644', 'made again with the reload’s umask 022');
      assert.ok(
        !lines(r.dir, 'seen.log').some((l) => l.startsWith('f1 ') && l.includes('VI_2')),
        'nothing of the reload went to the old FIFO',
      );

      await r.stop('SIGTERM', 8000);
      await waitUntil(() => !alive(after[1]![0]), 4000, 'the second script ended with the daemon');
      assert.ok(!existsSync(join(r.dir, 'f2')), 'removed at stop');
    });
  });
}

describe('the checker process’s FIFO scripts', { skip: needsRoot() }, () => {
  /** One virtual server whose real server's MISC_CHECK passes; the FIFOs and their scripts. */
  const conf = (dir: string, reader: string, withVrrp: boolean, lvsFifo = 'lvs1') => `global_defs {
  notify_fifo ${join(dir, 'g')}
  notify_fifo_script ${reader}
  lvs_notify_fifo ${join(dir, lvsFifo)}
  lvs_notify_fifo_script ${reader}
}
${withVrrp ? vrrpInstanceConf({ name: 'VI_1', vrid: 51, priority: 150 }) : ''}
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 8080 {
    MISC_CHECK {
      misc_path /bin/true
    }
  }
}
`;

  test('-C: notify_fifo_script and lvs_notify_fifo_script read the checker’s lines; a reload restarts them', {
    timeout: 40_000,
  }, async () => {
    const h = loneRouterNetns('fsc', cleanups);
    cleanups.push(() => killProcessesIn(h.ns));
    let reader = '';
    const r = new Router(
      'fscr',
      h.ns,
      (dir) => {
        reader = writeReader(dir);
        return conf(dir, reader, false);
      },
      { extraArgs: ['-C'] },
    );
    cleanups.push(() => r.removeDir());
    await waitUntil(
      () =>
        lines(r.dir, 'seen.log').includes('lvs1 VS [192.0.2.100]:tcp:80 UP') &&
        lines(r.dir, 'seen.log').includes('g VS [192.0.2.100]:tcp:80 UP'),
      10_000,
      'both scripts read the virtual server’s UP line',
    );
    await waitUntil(() => readers(r.dir).length >= 2, 3000, 'both scripts started');
    assert.deepEqual(
      readers(r.dir)
        .map(([, f]) => f)
        .sort(),
      ['g', 'lvs1'],
    );

    writeFileSync(r.conf, conf(r.dir, reader, false, 'lvs2'));
    const m = r.mark();
    r.proc.kill('SIGHUP');
    await r.waitFor(/Reload/, 5000, m);
    await waitUntil(
      () => readers(r.dir).length === 4,
      5000,
      `each script started again: ${lines(r.dir, 'pids.log').join(', ')}`,
    );
    assert.deepEqual(
      readers(r.dir)
        .slice(2)
        .map(([, f]) => f)
        .sort(),
      ['g', 'lvs2'],
    );
    await waitUntil(
      () =>
        readers(r.dir)
          .slice(0, 2)
          .every(([pid]) => !alive(pid)),
      3000,
      'the first two ended at the reload',
    );
    assert.ok(!existsSync(join(r.dir, 'lvs1')) && existsSync(join(r.dir, 'lvs2')));
    await r.stop('SIGTERM', 8000);
    await waitUntil(() => readers(r.dir).every(([pid]) => !alive(pid)), 4000, 'all ended at stop');
  });

  test('with a VRRP process beside it, notify_fifo_script runs once (the VRRP process’s)', {
    timeout: 40_000,
  }, async () => {
    const h = loneRouterNetns('fsv', cleanups);
    cleanups.push(() => killProcessesIn(h.ns));
    const r = new Router('fsvr', h.ns, (dir) => conf(dir, writeReader(dir), true));
    cleanups.push(() => r.removeDir());
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await waitUntil(
      () => lines(r.dir, 'seen.log').includes('g VS [192.0.2.100]:tcp:80 UP'),
      10_000,
      'the checker’s line reached the one reader of the global FIFO',
    );
    await waitUntil(
      () => lines(r.dir, 'seen.log').includes('g INSTANCE "VI_1" MASTER 150'),
      3000,
      'and the VRRP process’s line',
    );
    await waitUntil(() => readers(r.dir).length >= 2, 3000, 'both scripts started');
    await new Promise((res) => setTimeout(res, 500));
    assert.deepEqual(
      readers(r.dir)
        .map(([, f]) => f)
        .sort(),
      ['g', 'lvs1'],
      'one reader of each FIFO',
    );
    await r.stop('SIGTERM', 8000);
  });
});
