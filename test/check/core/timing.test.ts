// Check timing with exact microseconds: bootstrap + warmup, delay_loop from the verdict, delay_before_retry,
// retries before a verdict, inheritance of the timing values, and seeded warmup draws.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { core, fail, logs, nextRun, ofType, ok, probeIds, S, virtualServer } from './helpers.js';

const one = (inner: string, rsExtra = '', vsExtra = '') =>
  virtualServer(
    `real_server 192.0.2.10 80 {
    weight 2
    ${rsExtra}
    TCP_CHECK {
      ${inner}
    }
  }`,
    vsExtra,
  );

describe('check timing', () => {
  test('warmup 0: the first check runs 1 s after start, the next delay_loop after the verdict', () => {
    const c = core(one('warmup 0\nconnect_timeout 3'));
    c.start(5 * S);
    const first = nextRun(c);
    assert.equal(first.at, 6 * S);
    const run = ofType(first.actions, 'runProbe')[0]!;
    assert.equal(run.timeoutUs, 3 * S);
    assert.deepEqual(run.target, { address: '192.0.2.10', port: 80, family: 4 });
    // keepalived logs the first verdict of a checker even when it confirms the initial state.
    assert.deepEqual(logs(c.probeResult(first.probeId, ok(), 6 * S + 1234)), [
      'TCP connection to [192.0.2.10]:tcp:80 success.',
    ]);
    assert.equal(c.nextDeadline(), 16 * S + 1234);
    const second = nextRun(c);
    assert.equal(second.at, 16 * S + 1234);
  });

  test('retry and delay_before_retry: an up checker fails only after retry more failures', () => {
    const c = core(one('warmup 0\nretry 2\ndelay_before_retry 2'));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, ok(), r.at);
    r = nextRun(c);
    assert.equal(r.at, 11 * S);
    assert.deepEqual(c.probeResult(r.probeId, fail(), 11 * S + 10), []);
    assert.equal(c.nextDeadline(), 13 * S + 10);
    r = nextRun(c);
    assert.deepEqual(c.probeResult(r.probeId, fail(), 13 * S + 20), []);
    assert.equal(c.nextDeadline(), 15 * S + 20);
    r = nextRun(c);
    const out = c.probeResult(r.probeId, fail(), 15 * S + 30);
    assert.deepEqual(logs(out).slice(0, 2), [
      'TCP_CHECK on service [192.0.2.10]:tcp:80 failed after 2 retries.',
      'Removing service [192.0.2.10]:tcp:80 from VS [192.0.2.100]:tcp:80',
    ]);
    assert.equal(ofType(out, 'realServerDown').length, 1);
    // A down checker is checked every delay_loop, without retries.
    assert.equal(c.nextDeadline(), 25 * S + 30);
    r = nextRun(c);
    assert.deepEqual(c.probeResult(r.probeId, fail(), 25 * S + 40), []);
    assert.equal(c.nextDeadline(), 35 * S + 40);
  });

  test('a success during the retries resets the retry count', () => {
    const c = core(one('warmup 0\nretry 1\ndelay_before_retry 1'));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, ok(), r.at);
    for (let i = 0; i < 3; i++) {
      r = nextRun(c);
      assert.deepEqual(c.probeResult(r.probeId, fail(), r.at), []);
      r = nextRun(c);
      assert.deepEqual(c.probeResult(r.probeId, ok(), r.at), []);
    }
    assert.equal(c.status()[0]!.alive, true);
  });

  test('at start one failure is enough (keepalived sets the retry count to retry)', () => {
    const c = core(one('warmup 0\nretry 3'));
    c.start(0);
    const r = nextRun(c);
    const out = c.probeResult(r.probeId, fail(), r.at);
    assert.equal(logs(out)[0], 'TCP_CHECK on service [192.0.2.10]:tcp:80 failed.');
    assert.equal(ofType(out, 'realServerDown').length, 1);
  });

  test('inheritance: checker ← real_server ← virtual_server ← defaults', () => {
    const c = core(one('', 'delay_loop 4\nretry 0', 'warmup 0\ndelay_before_retry 7\nconnect_timeout 9'));
    c.start(0);
    let r = nextRun(c);
    assert.equal(r.at, 1 * S);
    assert.equal(ofType(r.actions, 'runProbe')[0]!.timeoutUs, 9 * S);
    c.probeResult(r.probeId, ok(), 1 * S);
    r = nextRun(c);
    assert.equal(r.at, 5 * S); // rs delay_loop 4
    // retry 0 from the real server: the first failure of an up checker is final.
    const out = c.probeResult(r.probeId, fail(), 5 * S);
    assert.equal(logs(out)[0], 'TCP_CHECK on service [192.0.2.10]:tcp:80 failed.');
    // Defaults: connect_timeout 5 s, HTTP delay_before_retry 3 s, retry 1.
    const d = core(
      virtualServer(`real_server 192.0.2.10 80 {
    HTTP_GET {
      url {
        path /
      }
    }
  }`),
    );
    d.start(0);
    r = nextRun(d);
    assert.equal(ofType(r.actions, 'runProbe')[0]!.timeoutUs, 5 * S);
    d.probeResult(r.probeId, ok(), r.at);
    r = nextRun(d);
    d.probeResult(r.probeId, fail(), r.at);
    assert.equal(d.nextDeadline(), r.at + 3 * S);
  });

  test('warmup: the first check falls in [1 s, 1 s + warmup), drawn from the seed', () => {
    const firsts = (seed: number) => {
      const c = core(
        `virtual_server 192.0.2.100 80 {
          delay_loop 10
          lb_algo rr
          lb_kind NAT
          protocol TCP
          ${Array.from({ length: 20 }, (_, i) => `real_server 192.0.2.${i + 1} 80 {\nTCP_CHECK {\nwarmup 4\n}\n}`).join('\n')}
        }`,
        { seed },
      );
      c.start(0);
      const at: number[] = [];
      for (let i = 0; i < 20; i++) {
        const d = c.nextDeadline()!;
        at.push(...probeIds(c.timer(d)).map(() => d));
      }
      return at;
    };
    const a = firsts(7);
    assert.equal(a.length, 20);
    for (const t of a) assert.ok(t >= 1 * S && t < 5 * S, `first check at ${t}`);
    assert.deepEqual(firsts(7), a);
    assert.notDeepEqual(firsts(8), a);
    // Default warmup = delay_loop: spread over [1 s, 11 s).
    assert.ok(new Set(a).size > 10);
  });

  test('MISC_CHECK counts delay_loop from the start of the script; its timeout defaults to the VS delay_loop', () => {
    const c = core(
      virtualServer(`real_server 192.0.2.10 80 {
    MISC_CHECK {
      misc_path /bin/true
    }
  }`),
    );
    c.start(0);
    const r = nextRun(c);
    assert.equal(ofType(r.actions, 'runProbe')[0]!.timeoutUs, 10 * S);
    c.probeResult(r.probeId, ok(3 * S), r.at + 3 * S);
    assert.equal(c.nextDeadline(), r.at + 10 * S);
  });
});

describe('HTTP_GET / SSL_GET recovery (keepalived failed_url)', () => {
  const http = (extra: string) =>
    virtualServer(`real_server 192.0.2.10 80 {
    HTTP_GET {
      url {
        path /
      }
      retry 0
      delay_before_retry 15
      ${extra}
    }
  }`);

  test('after failing, a success clears the failed URL; the next success a delay_loop later brings it up', () => {
    const c = core(http(''));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, fail(), 1 * S);
    // Down with a failed URL: the next attempt waits max(delay_before_retry, delay_loop).
    assert.equal(c.nextDeadline(), 16 * S);
    r = nextRun(c);
    c.probeResult(r.probeId, fail(), 16 * S);
    assert.equal(c.nextDeadline(), 31 * S);
    r = nextRun(c);
    assert.deepEqual(c.probeResult(r.probeId, ok(), 31 * S), []);
    assert.equal(c.status()[0]!.alive, false);
    assert.equal(c.nextDeadline(), 41 * S);
    r = nextRun(c);
    const out = c.probeResult(r.probeId, ok(), 41 * S);
    assert.equal(logs(out)[0], 'Remote Web server [192.0.2.10]:tcp:80 succeed on service.');
    assert.equal(c.status()[0]!.alive, true);
  });

  test('fast_recovery: the confirming check runs at once', () => {
    const c = core(http('fast_recovery'));
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, fail(), 1 * S);
    r = nextRun(c);
    c.probeResult(r.probeId, ok(), 16 * S);
    assert.equal(c.nextDeadline(), 16 * S + 1);
  });
});

test('SMTP_CHECK keeps retrying a server that is already down; TCP_CHECK does not', () => {
  const text = (kind: string) => `
virtual_server 192.0.2.100 25 {
  delay_loop 10
  warmup 0
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.10 25 {
    ${kind} {
      retry 2
      delay_before_retry 1
    }
  }
}`;
  const gaps = (kind: string) => {
    const c = core(text(kind));
    c.start(0);
    const at: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = nextRun(c);
      at.push(r.at);
      c.probeResult(r.probeId, fail(), r.at);
    }
    return at.slice(1).map((t, i) => (t - at[i]!) / S);
  };
  // SMTP: every cycle is three attempts 1 s apart, from the start on; TCP: one failure is final at start,
  // then one attempt per delay_loop.
  assert.deepEqual(gaps('SMTP_CHECK'), [1, 1, 10, 1, 1, 10]);
  assert.deepEqual(gaps('TCP_CHECK'), [10, 10, 10, 10, 10, 10]);
});
