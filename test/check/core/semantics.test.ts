// keepalived's verdict semantics: alpha, inhibit_on_failure, all checkers up, misc_dynamic and FILE_CHECK
// weights, quorum with hysteresis, the sorry server, ha_suspend, log_all_failures, omega at stop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CheckerCore } from '../../../src/check/core/core.js';
import { core, fail, live, logs, nextRun, ofType, ok, probeIds, S, virtualServer } from './helpers.js';

const VS = '[192.0.2.100]:tcp:80';
const RS1 = '[192.0.2.10]:tcp:80';
const RS2 = '[192.0.2.11]:tcp:80';

function vs(body: string, extra = ''): string {
  return virtualServer(`${extra}\n  ${body}`);
}

function rs(addr: string, inner: string, rsExtra = ''): string {
  return `real_server ${addr} 80 {
    ${rsExtra}
    ${inner}
  }`;
}

const tcp = (extra = '') => `TCP_CHECK {\n${extra}\n}`;

/** Runs one full cycle: fires every probe due now, answering each by id. */
function cycle(c: CheckerCore, answer: (probeId: number) => ReturnType<typeof ok>) {
  const at = c.nextDeadline()!;
  const actions = c.timer(at);
  for (const id of probeIds(actions)) actions.push(...c.probeResult(id, answer(id), at));
  return { at, actions };
}

/** Runs cycles for `us` of simulated time, answering every probe by id. */
function runFor(c: CheckerCore, us: number, answer: (probeId: number) => ReturnType<typeof ok>) {
  const end = c.nextDeadline()! + us;
  while (c.nextDeadline()! <= end) cycle(c, answer);
}

describe('verdicts', () => {
  test('alpha: the real server starts out of service and joins on its first success', () => {
    const c = core(vs(rs('192.0.2.10', tcp(), 'alpha')));
    const start = c.start(0);
    assert.equal(ofType(start, 'realServerUp').length, 0);
    assert.deepEqual(live(c, VS), []);
    const r = nextRun(c);
    const out = c.probeResult(r.probeId, ok(), r.at);
    assert.deepEqual(logs(out).slice(0, 2), [
      `TCP connection to ${RS1} success.`,
      `Adding service ${RS1} to VS ${VS}`,
    ]);
    assert.deepEqual(live(c, VS), [RS1]);
  });

  test('alpha: a first failure confirms the down state and runs notify_down', () => {
    const c = core(vs(rs('192.0.2.10', tcp(), 'alpha\nnotify_down "/bin/echo down"')));
    c.start(0);
    const r = nextRun(c);
    const out = c.probeResult(r.probeId, fail(), r.at);
    assert.deepEqual(
      ofType(out, 'notify').map((n) => [n.event, n.script.argv]),
      [['notify_down', ['/bin/echo', 'down']]],
    );
    assert.deepEqual(
      ofType(out, 'fifo').map((f) => f.line),
      [`RS ${RS1} ${VS} DOWN\n`],
    );
    assert.equal(ofType(out, 'realServerDown').length, 0);
  });

  test('inhibit_on_failure: a failed server stays at weight 0 instead of leaving', () => {
    const c = core(vs(rs('192.0.2.10', tcp(), 'inhibit_on_failure\nweight 5')));
    c.start(0);
    const r = nextRun(c);
    const out = c.probeResult(r.probeId, fail(), r.at);
    assert.deepEqual(logs(out)[1], `Disabling service ${RS1} of VS ${VS}`);
    assert.deepEqual(ofType(out, 'realServerDown')[0]!.inhibit, true);
    const view = c.snapshot()[0]!;
    assert.deepEqual(view.live, []);
    assert.deepEqual(view.destinations, [
      { id: RS1, address: '192.0.2.10', port: 80, weight: 0, sorry: false },
    ]);
    const r2 = nextRun(c);
    assert.equal(logs(c.probeResult(r2.probeId, ok(), r2.at))[1], `Enabling service ${RS1} of VS ${VS}`);
    assert.equal(c.snapshot()[0]!.destinations[0]!.weight, 5);
  });

  test('a real server is in service only while all its checkers are up', () => {
    const c = core(vs(rs('192.0.2.10', `${tcp()}\nHTTP_GET {\nurl {\npath /\n}\n}`)));
    c.start(0);
    const [tcpId, httpId] = c.probes().map((p) => p.probeId) as [number, number];
    const verdicts = new Map<number, boolean>([
      [tcpId, false],
      [httpId, true],
    ]);
    const answer = (id: number) => (verdicts.get(id) ? ok() : fail());
    runFor(c, 30 * S, answer);
    assert.deepEqual(live(c, VS), []);
    verdicts.set(httpId, false);
    runFor(c, 30 * S, answer);
    verdicts.set(tcpId, true);
    runFor(c, 30 * S, answer);
    assert.deepEqual(live(c, VS), []);
    assert.equal(c.status()[0]!.failedCheckers, 1);
    verdicts.set(httpId, true);
    runFor(c, 30 * S, answer);
    assert.deepEqual(live(c, VS), [RS1]);
    assert.equal(c.status()[0]!.failedCheckers, 0);
  });
});

describe('weights', () => {
  const misc = (extra = '') =>
    `MISC_CHECK {\nmisc_path /usr/local/bin/chk\nmisc_dynamic\nretry 1\n${extra}\n}`;

  test('misc_dynamic: exit code 2..255 sets the weight to code-2; 0 restores the configured weight', () => {
    const c = core(vs(rs('192.0.2.10', misc(), 'weight 10')));
    c.start(0);
    let r = nextRun(c);
    let out = c.probeResult(r.probeId, ok(100, 40), r.at);
    assert.deepEqual(logs(out)[0], `Changing weight from 10 to 40 for active service ${RS1} of VS ${VS}`);
    assert.deepEqual(
      ofType(out, 'realServerWeight').map((w) => w.weight),
      [40],
    );
    assert.equal(c.snapshot()[0]!.live[0]!.weight, 40);
    r = nextRun(c);
    out = c.probeResult(r.probeId, ok(100), r.at);
    assert.deepEqual(
      ofType(out, 'realServerWeight').map((w) => w.weight),
      [10],
    );
  });

  test('a timed-out misc_dynamic script gives back its weight (keepalived #2720 leaked it)', () => {
    const c = core(vs(`${rs('192.0.2.10', misc(), 'weight 10')}\n${rs('192.0.2.11', tcp(), 'weight 1')}`));
    c.start(0);
    const miscId = c.probes()[0]!.probeId;
    const answer = (id: number, o: ReturnType<typeof ok>) => {
      for (;;) {
        const at = c.nextDeadline()!;
        const ids = probeIds(c.timer(at));
        for (const x of ids) if (x !== miscId) c.probeResult(x, ok(), at);
        if (ids.includes(id)) return c.probeResult(id, o, at);
      }
    };
    // The probe reports misc_dynamic's exit code minus 2 (exit 52 → weight 50).
    answer(miscId, ok(100, 50));
    assert.equal(c.status()[0]!.effectiveWeight, 50);
    const timeout = fail('timeout', 'timed out');
    let out = answer(miscId, timeout);
    assert.deepEqual(logs(out), []); // first failure: a retry follows, silently
    out = answer(miscId, timeout);
    assert.deepEqual(logs(out).slice(0, 2), [
      `Misc check for [${RS1} VS ${VS}] by [/usr/local/bin/chk] timed out after 1 retry.`,
      `Removing service ${RS1} from VS ${VS}`,
    ]);
    assert.equal(c.status()[0]!.effectiveWeight, 10);
    out = answer(miscId, ok());
    assert.deepEqual(
      ofType(out, 'realServerUp').map((u) => u.weight),
      [10],
    );
  });

  test('FILE_CHECK: the file value times its weight is added to the configured weight; a fault fails it', () => {
    const c = core(
      vs(rs('192.0.2.10', 'FILE_CHECK {\ntrack_file f1\nweight 2\n}', 'weight 10')).replace(
        'virtual_server',
        'track_file f1 {\nfile /tmp/f1\n}\nvirtual_server',
      ),
    );
    const start = c.start(0);
    assert.equal(ofType(start, 'realServerUp').length, 1);
    // Polled at once (keepalived reads the file at start), with no warmup.
    assert.equal(c.nextDeadline(), 0);
    const id = c.probes()[0]!.probeId;
    assert.deepEqual(probeIds(c.timer(0)), [id]);
    let out = c.probeResult(id, ok(5, 6), 5);
    assert.deepEqual(logs(out), [`Changing weight from 10 to 16 for active service ${RS1} of VS ${VS}`]);
    out = c.pushResult(id, fail('fault', 'tracked file f1 in fault state'), 100);
    assert.equal(ofType(out, 'realServerDown').length, 1);
    assert.equal(c.status()[0]!.effectiveWeight, 10);
    out = c.pushResult(id, ok(0, -4), 200);
    assert.deepEqual(
      ofType(out, 'realServerUp').map((u) => u.weight),
      [6],
    );
  });
});

describe('quorum and the sorry server', () => {
  const two = (extra: string) =>
    vs(`${rs('192.0.2.10', tcp(), 'weight 2')}\n${rs('192.0.2.11', tcp(), 'weight 2')}`, extra);

  test('quorum with hysteresis: lost below quorum-hysteresis, gained at quorum+hysteresis', () => {
    const c = core(
      two(
        'quorum 3\nhysteresis 1\nquorum_up "/bin/qup"\nquorum_down "/bin/qdown"\nsorry_server 192.0.2.200 8080',
      ),
    );
    const start = c.start(0);
    assert.ok(logs(start).includes(`Gained quorum 3+1=4 <= 4 for VS ${VS}`));
    assert.deepEqual(
      ofType(start, 'notify').map((n) => n.event),
      ['quorum_up'],
    );
    const [p1, p2] = c.probes().map((p) => p.probeId) as [number, number];
    // One server down: 2 < 3-1=2 is false, quorum stays up.
    let down = new Set([p1]);
    let out = cycle(c, (id) => (down.has(id) ? fail() : ok())).actions;
    assert.equal(ofType(out, 'quorumLost').length, 0);
    assert.equal(c.snapshot()[0]!.quorumUp, true);
    // Both down: lost, the sorry server comes in.
    down = new Set([p1, p2]);
    out = [];
    for (let i = 0; i < 4 && ofType(out, 'quorumLost').length === 0; i++)
      out = cycle(c, (id) => (down.has(id) ? fail() : ok())).actions;
    assert.deepEqual(
      logs(out).filter((l) => !l.includes('_CHECK') && !l.startsWith('Removing service')),
      [
        `Lost quorum 3-1=2 > 0 for VS ${VS}`,
        `Adding sorry server [192.0.2.200]:tcp:8080 to VS ${VS}`,
        `Removing alive servers from the pool for VS ${VS}`,
      ],
    );
    assert.equal(ofType(out, 'sorryServerIn').length, 1);
    assert.deepEqual(
      ofType(out, 'notify').map((n) => n.event),
      ['quorum_down'],
    );
    let view = c.snapshot()[0]!;
    assert.equal(view.sorryActive, true);
    assert.deepEqual(view.destinations, [
      { id: '[192.0.2.200]:tcp:8080', address: '192.0.2.200', port: 8080, weight: 1, sorry: true },
    ]);
    // One back: 2 < 3+1=4, still down, the sorry server stays (the server is live but not installed).
    down = new Set([p2]);
    out = cycle(c, (id) => (down.has(id) ? fail() : ok())).actions;
    view = c.snapshot()[0]!;
    assert.equal(view.sorryActive, true);
    assert.deepEqual(
      view.live.map((l) => l.rs),
      [RS1],
    );
    assert.equal(
      view.destinations.some((d) => !d.sorry),
      false,
    );
    // Both back: 4 >= 4, gained, the sorry server leaves.
    down = new Set();
    out = cycle(c, (id) => (down.has(id) ? fail() : ok())).actions;
    assert.deepEqual(
      logs(out).filter((l) => !l.includes('success') && !l.startsWith('Adding service')),
      [
        `Gained quorum 3+1=4 <= 4 for VS ${VS}`,
        `Removing sorry server [192.0.2.200]:tcp:8080 from VS ${VS}`,
        `Adding alive servers to the pool for VS ${VS}`,
      ],
    );
    assert.equal(ofType(out, 'sorryServerOut').length, 1);
  });

  test('starting below quorum with a sorry server: "Starting with quorum down"', () => {
    const c = core(vs(rs('192.0.2.10', tcp(), 'alpha'), 'sorry_server 192.0.2.200 80\nsorry_server_inhibit'));
    const out = c.start(0);
    assert.deepEqual(logs(out).slice(0, 3), [
      `Starting with quorum down 1-0=1 > 0 for VS ${VS}`,
      `Enabling sorry server [192.0.2.200]:tcp:80 to VS ${VS}`,
      `Removing alive servers from the pool for VS ${VS}`,
    ]);
    const r = nextRun(c);
    const up = c.probeResult(r.probeId, ok(), r.at);
    assert.ok(logs(up).includes(`Disabling sorry server [192.0.2.200]:tcp:80 from VS ${VS}`));
    // sorry_server_inhibit keeps the sorry server installed at weight 0.
    assert.deepEqual(
      c.snapshot()[0]!.destinations.map((d) => [d.id, d.weight]),
      [
        [RS1, 1],
        ['[192.0.2.200]:tcp:80', 0],
      ],
    );
  });
});

describe('ha_suspend without a VRRP instance carrying the address (keepalived 2.2.7: the host decides)', () => {
  // found by the IPVS differential (seeds 7, 41, 60 of the second generator): 2.2.7 runs the checkers only
  // while the address is on an interface; with it absent they never run and the servers stay as they started
  const text = vs(rs('192.0.2.10', tcp()), 'ha_suspend');
  for (const [present, word] of [
    [false, 'Deactivating'],
    [true, 'Activating'],
  ] as const)
    test(`address ${present ? 'on' : 'not on'} the host: ${word.toLowerCase()}`, () => {
      const asked: string[] = [];
      const c = core(text, {
        hostHasAddress: (a) => {
          asked.push(a);
          return present;
        },
      });
      const start = c.start(0);
      assert.ok(
        logs(start).includes(`${word} healthchecker for service ${RS1} for VS ${VS}`),
        logs(start).join('\n'),
      );
      assert.ok(asked.includes('192.0.2.100'));
      const at = c.nextDeadline()!;
      assert.equal(probeIds(c.timer(at)).length, present ? 1 : 0);
    });
  test('without the host lookup (tests, and the behaviour before) such checkers run', () => {
    const c = core(text);
    assert.ok(logs(c.start(0)).includes(`Activating healthchecker for service ${RS1} for VS ${VS}`));
  });
});

describe('ha_suspend', () => {
  const text = `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100/24
  }
}
${vs(rs('192.0.2.10', tcp()), 'ha_suspend')}`;

  test('no check runs while the instance carrying the address is not MASTER', () => {
    const c = core(text);
    const start = c.start(0);
    assert.ok(logs(start).includes(`Deactivating healthchecker for service ${RS1} for VS ${VS}`));
    for (let i = 0; i < 3; i++) {
      const at = c.nextDeadline()!;
      assert.deepEqual(probeIds(c.timer(at)), []);
      assert.equal(c.nextDeadline(), at + 10 * S);
    }
    assert.deepEqual(logs(c.vrrpState('VI_1', 'MASTER')), [
      `Activating healthchecker for service ${RS1} for VS ${VS}`,
    ]);
    const at = c.nextDeadline()!;
    const ids = probeIds(c.timer(at));
    assert.equal(ids.length, 1);
    c.probeResult(ids[0]!, ok(), at);
    assert.deepEqual(logs(c.vrrpState('VI_1', 'BACKUP')), [
      `Suspending healthchecker for service ${RS1} for VS ${VS}`,
    ]);
    assert.deepEqual(probeIds(c.timer(c.nextDeadline()!)), []);
  });

  test('without ha_suspend, VRRP states change nothing', () => {
    const c = core(text.replace('ha_suspend', ''));
    c.start(0);
    assert.deepEqual(c.vrrpState('VI_1', 'BACKUP'), []);
    assert.equal(probeIds(c.timer(c.nextDeadline()!)).length, 1);
  });
});

describe('logs', () => {
  test('log_all_failures logs every failed attempt of an up checker with the probe reason', () => {
    const c = core(vs(rs('192.0.2.10', tcp('retry 2\nlog_all_failures'))));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, ok(), r.at);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      r = nextRun(c);
      seen.push(...logs(c.probeResult(r.probeId, fail('refused', `TCP connection to ${RS1} failed.`), r.at)));
    }
    assert.deepEqual(seen.slice(0, 4), [
      `TCP connection to ${RS1} failed.`,
      `TCP connection to ${RS1} failed.`,
      `TCP connection to ${RS1} failed.`,
      `TCP_CHECK on service ${RS1} failed after 2 retries.`,
    ]);
    // Once down, failures are not logged again.
    r = nextRun(c);
    assert.deepEqual(logs(c.probeResult(r.probeId, fail(), r.at)), []);
  });

  test('without log_all_failures only the verdict is logged', () => {
    const c = core(vs(rs('192.0.2.10', tcp('retry 1'))));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, ok(), r.at);
    r = nextRun(c);
    assert.deepEqual(logs(c.probeResult(r.probeId, fail(), r.at)), []);
    r = nextRun(c);
    assert.equal(
      logs(c.probeResult(r.probeId, fail(), r.at))[0],
      `TCP_CHECK on service ${RS1} failed after 1 retries.`,
    );
  });
});

describe('stop', () => {
  const text = (omega: string) =>
    vs(rs('192.0.2.10', tcp(), 'notify_down "/bin/rsdown"'), `${omega}\nquorum_down "/bin/qdown"`);

  test('omega: notify_down and quorum_down run at shutdown, with the stop timeout', () => {
    const c = core(text('omega'));
    c.start(0);
    const out = c.stop(5 * S);
    assert.deepEqual(logs(out), [`Shutting down service ${RS1} from VS ${VS}`]);
    assert.deepEqual(
      ofType(out, 'notify').map((n) => [n.event, n.stopping]),
      [
        ['notify_down', true],
        ['quorum_down', true],
      ],
    );
    assert.equal(c.nextDeadline(), null);
    assert.deepEqual(c.timer(100 * S), []);
  });

  test('without omega no notifier runs at shutdown', () => {
    const c = core(text(''));
    c.start(0);
    const out = c.stop(5 * S);
    assert.deepEqual(ofType(out, 'notify'), []);
    assert.deepEqual(ofType(out, 'fifo'), []);
    assert.deepEqual(
      ofType(out, 'realServerRemoved').map((r) => r.rs),
      [RS1],
    );
  });
});

void RS2;

describe('local connect failures and last_errno (keepalived 2.2.7: test/data/check-dump records both)', () => {
  const localFail = (errno?: number) => ({
    ...fail('local-error', 'connect to [192.0.2.10]:80 failed: EACCES'),
    ...(errno === undefined ? {} : { connectErrno: errno }),
  });

  test('TCP_CHECK: a local failure is logged and tried again after delay_loop, counting nothing', () => {
    const c = core(vs(rs('192.0.2.10', tcp('retry 0'))));
    c.start(0);
    const r = nextRun(c);
    const out = c.probeResult(r.probeId, localFail(13), r.at);
    assert.deepEqual(logs(out), ['TCP socket bind failed. Rescheduling.']);
    assert.equal(ofType(out, 'realServerDown').length, 0);
    const st = c.status()[0]!.checkers[0]!;
    assert.deepEqual([st.up, st.hasRun, st.lastErrno], [true, false, 13]);
    assert.equal(c.nextDeadline(), r.at + 10 * S);
  });

  test('HTTP_GET and SSL_GET: a local failure is logged and tried again after delay_loop, its errno kept', () => {
    for (const kind of ['HTTP_GET', 'SSL_GET']) {
      const c = core(vs(rs('192.0.2.10', `${kind} {\nretry 0\nurl {\npath /\n}\n}`)));
      c.start(0);
      const r = nextRun(c);
      const out = c.probeResult(r.probeId, localFail(22), r.at);
      assert.deepEqual(logs(out), ['WEB socket bind failed. Rescheduling']);
      assert.equal(ofType(out, 'realServerDown').length, 0);
      const st = c.status()[0]!.checkers[0]!;
      assert.deepEqual([st.up, st.hasRun, st.lastErrno], [true, false, 22]);
      assert.equal(c.nextDeadline(), r.at + 10 * S);
    }
  });

  test('UDP_CHECK: a failed connect() or send() counts, and its errno is kept after later successes', () => {
    const c = core(vs(rs('192.0.2.10', 'UDP_CHECK {\nretry 0\n}')));
    c.start(0);
    let r = nextRun(c);
    const out = c.probeResult(r.probeId, localFail(13), r.at);
    assert.equal(ofType(out, 'realServerDown').length, 1);
    r = nextRun(c);
    c.probeResult(r.probeId, ok(), r.at);
    const st = c.status()[0]!.checkers[0]!;
    assert.deepEqual([st.up, st.lastErrno], [true, 13]);
  });
});
