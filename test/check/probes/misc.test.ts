// MISC_CHECK with real scripts: exit codes (misc_dynamic weights), a timeout with a thousand children (the
// whole process group dies), SIGTERM ignored (SIGKILL 2 s later), megabytes of output, running as another
// user, close() killing what runs.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type MiscOptions, MiscProbe, miscVerdict } from '../../../src/check/probes/misc.js';
import { ScriptRunner } from '../../../src/common/script-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-misc-'));
chmodSync(dir, 0o777);
after(() => rmSync(dir, { recursive: true, force: true }));

function probe(cmd: string, o: Partial<MiscOptions> = {}): MiscProbe {
  return new MiscProbe({
    script: { argv: ['/bin/sh', '-c', cmd], pos: { file: 't', line: 1 } },
    dynamic: false,
    runner: new ScriptRunner(),
    ...o,
  });
}

/** Pids whose process group is `pgid` (read from /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('MISC_CHECK verdict (pure)', () => {
  it("follows keepalived's exit-code rules", () => {
    assert.deepEqual(miscVerdict(0, null, false), { ok: true });
    assert.deepEqual(miscVerdict(0, null, true), { ok: true });
    assert.equal(miscVerdict(1, null, true).ok, false);
    assert.equal(miscVerdict(2, null, false).ok, false);
    assert.deepEqual(miscVerdict(2, null, true), { ok: true, weight: 0 });
    assert.deepEqual(miscVerdict(255, null, true), { ok: true, weight: 253 });
    assert.deepEqual(miscVerdict(null, 'SIGSEGV', true), {
      ok: false,
      code: 'signal',
      reason: 'killed by signal SIGSEGV',
    });
  });
});

describe('MISC_CHECK probe', () => {
  it('is up on exit 0, down on exit 1, weight exit-2 with misc_dynamic', async () => {
    assert.deepEqual(
      { ...(await probe('exit 0').run(5_000_000)), latencyUs: 0 },
      { ok: true, latencyUs: 0, exitStatus: 0 },
    );
    const one = await probe('exit 1', { dynamic: true }).run(5_000_000);
    assert.ok(!one.ok && one.code === 'exit-status' && /status 1/.test(one.reason), JSON.stringify(one));
    assert.equal(one.exitStatus, 1, 'the exit status (the data dump\'s "Last status")');
    const fixed = await probe('exit 57').run(5_000_000);
    assert.ok(!fixed.ok && fixed.code === 'exit-status');
    const dyn = await probe('exit 57', { dynamic: true }).run(5_000_000);
    assert.ok(dyn.ok && dyn.weight === 55, JSON.stringify(dyn));
  });

  it('fails with code signal when the script dies of a signal', async () => {
    const r = await probe('kill -SEGV $$').run(5_000_000);
    assert.ok(!r.ok && r.code === 'signal' && /SIGSEGV/.test(r.reason), JSON.stringify(r));
  });

  it('times out a script that forked a thousand children, and the whole group dies', async () => {
    const fork = 'i=0; while [ $i -lt 1000 ]; do sleep 300 & i=$((i+1)); done';
    // How long a thousand forks take on this machine now (the script then kills its own group).
    const pace = await probe(`${fork}; kill -KILL 0`).run(60_000_000);
    assert.ok(!pace.ok && pace.code === 'signal', JSON.stringify(pace));
    const timeoutUs = Math.max(1_500_000, 3 * pace.latencyUs + 1_000_000);
    const pidFile = join(dir, 'forker.pid');
    const forked = join(dir, 'forked');
    const r = await probe(`echo $$ > ${pidFile}; ${fork}; echo $i > ${forked}; sleep 300`, { timeoutUs }).run(
      60_000_000,
    );
    assert.equal(readFileSync(forked, 'utf8').trim(), '1000', 'all children were running at the timeout');
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    assert.ok(
      r.latencyUs >= timeoutUs - 10_000 && r.latencyUs < timeoutUs + 5_000_000,
      `latency ${r.latencyUs}`,
    );
    const pgid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(await until(() => groupMembers(pgid).length === 0, 5000), `left: ${groupMembers(pgid).length}`);
  });

  it('kills with SIGKILL 2 s after a SIGTERM that was ignored; close() kills at once', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const cmd = `trap '' TERM; echo $$ > ${pidFile}; sleep 300 & sleep 300 & wait`;
    const r = await probe(cmd, { timeoutUs: 300_000 }).run(60_000_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    const pgid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(groupMembers(pgid).length >= 2, 'SIGTERM is ignored by the group');
    assert.ok(await until(() => groupMembers(pgid).length === 0, 4000), 'SIGKILL ended the group');

    const p = probe(cmd, { timeoutUs: 300_000 });
    await p.run(60_000_000);
    const pgid2 = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(groupMembers(pgid2).length >= 2);
    p.close();
    assert.ok(await until(() => groupMembers(pgid2).length === 0, 1000), 'close() killed the group');
  });

  it('discards megabytes of output without slowing down or growing', async () => {
    const rss = process.memoryUsage().rss;
    const big = await probe('head -c 200000000 /dev/zero; echo done; exit 0').run(30_000_000);
    assert.equal(big.ok, true, JSON.stringify(big));
    const flood = await probe('yes flood', { timeoutUs: 500_000 }).run(30_000_000);
    assert.ok(!flood.ok && flood.code === 'timeout');
    assert.ok(process.memoryUsage().rss - rss < 50_000_000, 'no output was buffered');
  });

  it('runs as the configured user, and reports an unknown one', async () => {
    const out = join(dir, 'uid');
    const r = await probe(`id -u > ${out}`, { user: { user: 'nobody' } }).run(5_000_000);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(readFileSync(out, 'utf8').trim(), '65534');
    const bad = await probe('exit 0', { user: { user: 'no-such-user-kats' } }).run(5_000_000);
    assert.ok(!bad.ok && bad.code === 'local-error' && /unknown script user/.test(bad.reason));
  });

  it('a script that cannot start is a local error', async () => {
    const p = new MiscProbe({
      script: { argv: ['/nonexistent/kats-script'], pos: { file: 't', line: 1 } },
      dynamic: false,
      runner: new ScriptRunner(),
    });
    const r = await p.run(5_000_000);
    assert.equal(r.ok, false, JSON.stringify(r));
  });
});
