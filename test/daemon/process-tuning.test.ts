// keepalived's vrrp process keywords on a running daemon, read back from the kernel (/proc): the real-time
// policy and priority of the main thread, RLIMIT_RTTIME, vrrp_no_swap refused (memory left unlocked), the main thread's CPU affinity, the
// nice value — and a notify script started afterwards runs at normal priority (SCHED_RESET_ON_FORK). A
// takeover's real-time boost (takeover-boost.ts) leaves the thread as configured, and without CAP_SYS_NICE
// it is refused once, out loud.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { vrrpRealtimePriority } from '../../src/daemon/process-tuning.js';
import { isRoot } from '../helpers/netns.js';
import { daemonConf } from './conf.js';
import { cleanupAfter, loneRouter, type Router, type RouterOptions, waitUntil } from './router.js';

const skip = isRoot() ? false : 'needs root for network namespaces and real-time scheduling';
const cleanups = cleanupAfter();

const conf = (global: string, extra = '') => daemonConf(global, { extra });

/** /proc/PID/task/TID/stat fields by their proc(5) number (1-based), read after the command name. */
function statField(path: string, field: number): number {
  const text = readFileSync(path, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[field - 3]);
}
const NICE = 19;
const RT_PRIORITY = 40;
const POLICY = 41;
const SCHED_OTHER = 0;
const SCHED_RR = 2;

/** The daemon started with CAP_SYS_NICE dropped from its bounding set. */
const WITHOUT_SYS_NICE = { launcher: ['setpriv', '--inh-caps=-all', '--bounding-set=-sys_nice'] };

/** A test of one router alone on its LAN (loneRouter's `dpID` namespace, router `pID`). */
function routerTest(
  name: string,
  o: { id: string; conf: Parameters<typeof loneRouter>[2]; opts?: RouterOptions },
  body: (r: Router) => Promise<void>,
): void {
  test(name, { skip, timeout: 20_000 }, async () => {
    const { r } = loneRouter(`dp${o.id}`, `p${o.id}`, o.conf, cleanups, o.opts);
    await body(r);
  });
}

/** A field of a process's main thread's stat. */
const mainStat = (pid: number, field: number): number => statField(`/proc/${pid}/task/${pid}/stat`, field);

function daemonPid(r: Router): number {
  return Number(readFileSync(r.vrrpPidFile, 'utf8').trim());
}

routerTest(
  'vrrp_rt_priority, vrrp_rlimit_rttime, vrrp_no_swap, vrrp_cpu_affinity on the running daemon',
  {
    id: 'rt',
    conf: (dir) => {
      // The script records its own scheduling policy and priority (fields 40 and 41 of its stat).
      const script = join(dir, 'master.sh');
      writeFileSync(
        script,
        `#!/bin/sh\nawk '{ sub(/.*\\) /, ""); print $38, $39 }' /proc/self/stat > ${join(dir, 'sched.txt')}\n`,
      );
      chmodSync(script, 0o755);
      return conf(
        'vrrp_rt_priority 10\n  vrrp_rlimit_rttime 500000\n  vrrp_no_swap\n  vrrp_cpu_affinity 0',
        `notify_master ${script}`,
      );
    },
  },
  async (r) => {
    await r.waitFor(/VRRP process: real-time priority 10 \(SCHED_RR\), RLIMIT_RTTIME 500000 µs/, 8000);
    await r.waitFor(/vrrp_no_swap is not applied: .*V8 aborts/, 2000);
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
    const pid = daemonPid(r);

    assert.equal(mainStat(pid, POLICY), SCHED_RR, 'main thread under SCHED_RR');
    assert.equal(mainStat(pid, RT_PRIORITY), 10);

    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    assert.match(limits, /Max realtime timeout\s+250000\s+500000\s+us/, limits);

    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /VmLck:\s+0 kB/, 'memory left unlocked');

    const mainStatus = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
    assert.match(mainStatus, /Cpus_allowed_list:\s+0\n/, 'the VRRP thread runs on CPU 0 only');
    // Bound to one CPU at real-time priority, the daemon must keep running (V8's helpers stay free).
    await new Promise((res) => setTimeout(res, 1500));
    assert.ok(r.running, 'still running');
    assert.ok(!r.lines.some((l) => /ran over/.test(l.text)), 'no RLIMIT_RTTIME warning');

    // The notify script, forked after the daemon went real-time, runs at normal priority.
    await waitUntil(() => existsSync(join(r.dir, 'sched.txt')), 5000, 'the notify script ran');
    const [rtPriority, policy] = readFileSync(join(r.dir, 'sched.txt'), 'utf8').trim().split(' ').map(Number);
    assert.deepEqual({ rtPriority, policy }, { rtPriority: 0, policy: SCHED_OTHER });
  },
);

routerTest(
  'vrrp_priority sets the nice value of the VRRP thread',
  { id: 'ni', conf: conf('vrrp_priority -7') },
  async (r) => {
    await r.waitFor(/VRRP process: priority \(nice\) -7/, 8000);
    const pid = daemonPid(r);
    assert.equal(mainStat(pid, NICE), -7);
    assert.equal(mainStat(pid, POLICY), SCHED_OTHER);
    // Its takeover ran at real-time priority (takeover-boost.ts) and left it as configured.
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    assert.equal(mainStat(pid, POLICY), SCHED_OTHER, 'back to SCHED_OTHER');
    assert.equal(mainStat(pid, NICE), -7, 'nice value kept');
    assert.equal(r.grep(/takeovers run at normal priority/).length, 0, 'the boost was not refused');
  },
);

routerTest(
  'without CAP_SYS_NICE: a warning, and the daemon runs on',
  { id: 'nc', conf: conf('vrrp_rt_priority 10'), opts: WITHOUT_SYS_NICE },
  async (r) => {
    await r.waitFor(/cannot run the VRRP process at real-time priority 10 \(vrrp_rt_priority\): EPERM/, 8000);
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 5000);
  },
);

routerTest(
  'without CAP_SYS_NICE a takeover runs unboosted, said once',
  { id: 'nb', conf: conf(''), opts: WITHOUT_SYS_NICE },
  async (r) => {
    await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
    await r.waitFor(
      /takeovers run at normal priority: real-time priority refused \(EPERM; needs CAP_SYS_NICE\)/,
      2000,
    );
    const pid = daemonPid(r);
    assert.equal(mainStat(pid, POLICY), SCHED_OTHER);
  },
);

/** A virtual server with one TCP_CHECK, so that the checker process runs. */
const CHECKED = `virtual_server 192.0.2.50 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 127.0.0.1 9 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;

function checkerPid(r: Router): number {
  return Number(readFileSync(join(r.dir, 'checkers.pid'), 'utf8').trim());
}

const threadsOf = (pid: number) => readdirSync(`/proc/${pid}/task`).map(Number);

routerTest(
  'checker_priority and checker_cpu_affinity: every thread of the checker process, not the VRRP one',
  { id: 'ck', conf: `${conf('checker_priority 7\n  checker_cpu_affinity 0')}${CHECKED}` },
  async (r) => {
    await r.waitFor(/checker process: priority \(nice\) 7/, 15_000);
    await r.waitFor(/checker process: bound to CPU 0/, 2000);
    const pid = checkerPid(r);
    const tids = threadsOf(pid);
    assert.ok(tids.length > 1, 'node has helper threads');
    for (const tid of tids) {
      const stat = `/proc/${pid}/task/${tid}/stat`;
      assert.equal(statField(stat, NICE), 7, `thread ${tid} nice`);
      assert.match(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'), /Cpus_allowed_list:\s+0\n/);
    }
    const main = daemonPid(r);
    assert.equal(mainStat(main, NICE), 0, 'the VRRP process keeps its own');
    // Stopped here, not killed at the end: a checker orphaned by SIGKILL may still write into the directory.
    assert.equal(await r.stop(), 0);
  },
);

routerTest(
  'checker_rt_priority and checker_rlimit_rttime: the checker main thread under SCHED_RR',
  {
    id: 'cr',
    conf: `${conf('checker_rt_priority 5\n  checker_rlimit_rttime 400000\n  checker_no_swap\n  vrrp_priority 0')}${CHECKED}`,
  },
  async (r) => {
    await r.waitFor(/checker process: real-time priority 5 \(SCHED_RR\), RLIMIT_RTTIME 400000 µs/, 15_000);
    await r.waitFor(/checker_no_swap is not applied/, 2000);
    const pid = checkerPid(r);
    assert.equal(mainStat(pid, POLICY), SCHED_RR);
    assert.equal(mainStat(pid, RT_PRIORITY), 5);
    assert.match(readFileSync(`/proc/${pid}/limits`, 'utf8'), /Max realtime timeout\s+200000\s+400000\s+us/);
    for (const tid of threadsOf(pid).filter((t) => t !== pid))
      assert.equal(statField(`/proc/${pid}/task/${tid}/stat`, POLICY), SCHED_OTHER, `helper thread ${tid}`);
    const main = daemonPid(r);
    assert.equal(mainStat(main, POLICY), SCHED_OTHER, 'the VRRP process is not');
    assert.equal(await r.stop(), 0);
  },
);

test('no real-time priority unless vrrp_rt_priority asks for it (as keepalived)', () => {
  assert.equal(vrrpRealtimePriority({ noSwap: false }), undefined);
  assert.equal(vrrpRealtimePriority({ noSwap: false, nice: 0 }), undefined, 'vrrp_priority 0');
  assert.equal(vrrpRealtimePriority({ noSwap: false, rtPriority: 30 }), 30, 'configured');
});
