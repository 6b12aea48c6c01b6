// Names and wording: how servers are printed, per-kind verdict lines, defaults that come from the virtual
// server, rs_init_notifies, and which results are accepted.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { core, fail, logs, nextRun, ofType, ok, probeIds, S } from './helpers.js';

const wrap = (head: string, body: string, extra = '') => `
${extra}
virtual_server ${head} {
  delay_loop 10
  warmup 0
  lb_algo rr
  lb_kind NAT
  ${body}
}`;

describe('names', () => {
  test('address, IPv6, fwmark and group virtual servers print as keepalived prints them', () => {
    const c = core(
      [
        wrap('192.0.2.100 80', 'protocol UDP\nreal_server 192.0.2.10 53 {\nTCP_CHECK {\n}\n}'),
        wrap('2001:db8::100 443', 'protocol TCP\nreal_server 2001:db8::10 {\nTCP_CHECK {\n}\n}'),
        wrap('fwmark 7', 'real_server 192.0.2.11 {\nTCP_CHECK {\nconnect_port 80\n}\n}'),
        wrap(
          'group web',
          'protocol TCP\nreal_server 192.0.2.12 80 {\nTCP_CHECK {\n}\n}',
          'virtual_server_group web {\n192.0.2.150 80\n}',
        ),
      ].join('\n'),
    );
    assert.deepEqual(
      c.snapshot().map((v) => v.vs),
      ['[192.0.2.100]:udp:80', '[2001:db8::100]:tcp:443', 'FWM 7', '[web]:0'],
    );
    assert.deepEqual(
      c.status().map((s) => s.rs),
      ['[192.0.2.10]:udp:53', '[2001:db8::10]:tcp:443', '[192.0.2.11]:none:0', '[192.0.2.12]:tcp:80'],
    );
    const targets = c.probes().map((p) => p.spec.target);
    assert.deepEqual(targets[1], { address: '2001:db8::10', port: 443, family: 6 });
    assert.deepEqual(targets[2], { address: '192.0.2.11', port: 80, family: 4 });
  });

  test('the virtual server weight is the default real server weight', () => {
    const c = core(
      wrap('192.0.2.100 80', 'protocol TCP\nweight 4\nreal_server 192.0.2.10 80 {\nTCP_CHECK {\n}\n}'),
    );
    c.start(0);
    assert.equal(c.snapshot()[0]!.live[0]!.weight, 4);
  });
});

describe('verdict wording per kind', () => {
  const verdicts = (checker: string) => {
    const c = core(wrap('192.0.2.100 80', `protocol TCP\nreal_server 192.0.2.10 80 {\n${checker}\n}`));
    c.start(0);
    let r = nextRun(c);
    const up = logs(c.probeResult(r.probeId, ok(), r.at))[0];
    const lines: string[] = [];
    for (let i = 0; i < 6 && !lines.some((l) => l.startsWith('Removing service')); i++) {
      r = nextRun(c);
      lines.push(...logs(c.probeResult(r.probeId, fail('refused', 'REASON'), r.at)));
    }
    return { up, down: lines[0] };
  };
  const R = '[192.0.2.10]:tcp:80';
  const V = '[192.0.2.100]:tcp:80';

  test('HTTP_GET, SSL_GET, UDP_CHECK, PING_CHECK, SMTP_CHECK, DNS_CHECK, MISC_CHECK', () => {
    assert.deepEqual(verdicts('HTTP_GET {\nurl {\npath /\n}\n}'), {
      up: `Remote Web server ${R} succeed on service.`,
      down: `HTTP_CHECK on service ${R} failed after 1 retries.`,
    });
    assert.deepEqual(verdicts('SSL_GET {\nurl {\npath /\n}\nretry 0\n}'), {
      up: `Remote Web server ${R} succeed on service.`,
      down: `SSL_CHECK on service ${R} failed.`,
    });
    assert.deepEqual(verdicts('UDP_CHECK {\n}'), {
      up: `UDP connection to ${R} success.`,
      down: `UDP_CHECK on service ${R} failed after 1 retries.`,
    });
    assert.deepEqual(verdicts('PING_CHECK {\n}'), {
      up: `ICMP connection to ${R} success.`,
      down: `ICMP CHECK on service ${R} of ${V} failed after 1 retries.`,
    });
    assert.deepEqual(verdicts('SMTP_CHECK {\n}'), {
      up: `Remote SMTP server ${R} succeed on service.`,
      down: 'SMTP_CHECK REASON',
    });
    assert.deepEqual(verdicts('DNS_CHECK {\nretry 1\n}'), {
      up: undefined,
      down: `DNS_CHECK (${R}) REASON after 1 retries`,
    });
    assert.deepEqual(verdicts('MISC_CHECK {\nmisc_path "/bin/chk arg"\nretry 2\n}'), {
      up: `Misc check for [${R} VS ${V}] by [/bin/chk] succeeded.`,
      down: `Misc check for [${R} VS ${V}] by [/bin/chk] failed after 2 retries (REASON).`,
    });
  });

  test('MISC_CHECK with log_all_failures: "will do", "on retry", "after"', () => {
    const c = core(
      wrap(
        '192.0.2.100 80',
        'protocol TCP\nreal_server 192.0.2.10 80 {\nMISC_CHECK {\nmisc_path /bin/chk\nretry 2\nlog_all_failures\n}\n}',
      ),
    );
    c.start(0);
    let r = nextRun(c);
    c.probeResult(r.probeId, ok(), r.at);
    const lines: string[] = [];
    for (let i = 0; i < 3; i++) {
      r = nextRun(c);
      lines.push(...logs(c.probeResult(r.probeId, fail('exit', 'exited with status 1'), r.at)));
    }
    const head = `Misc check for [${R} VS ${V}] by [/bin/chk] failed`;
    assert.deepEqual(lines.slice(0, 3), [
      `${head}, will do 2 retries (exited with status 1).`,
      `${head} on retry 1/2 (exited with status 1).`,
      `${head} after 2 retries (exited with status 1).`,
    ]);
  });
});

describe('inputs', () => {
  test('rs_init_notifies: servers in service at start run notify_up', () => {
    const text = (g: string) =>
      wrap(
        '192.0.2.100 80',
        'protocol TCP\nreal_server 192.0.2.10 80 {\nnotify_up /bin/up\nTCP_CHECK {\n}\n}',
        g,
      );
    const quiet = core(text(''));
    assert.deepEqual(ofType(quiet.start(0), 'notify'), []);
    const loud = core(text('global_defs {\nrs_init_notifies\n}'));
    assert.deepEqual(
      ofType(loud.start(0), 'notify').map((n) => n.event),
      ['notify_up'],
    );
  });

  test('results for unknown probes, probes not in flight, and pushes to polled kinds are ignored', () => {
    const c = core(wrap('192.0.2.100 80', 'protocol TCP\nreal_server 192.0.2.10 80 {\nTCP_CHECK {\n}\n}'));
    c.start(0);
    const id = c.probes()[0]!.probeId;
    assert.deepEqual(c.probeResult(id, fail(), 1), []);
    assert.deepEqual(c.probeResult(999, fail(), 1), []);
    assert.deepEqual(c.pushResult(id, fail(), 1), []);
    assert.deepEqual(probeIds(c.timer(1 * S)), [id]);
    assert.equal(c.status()[0]!.alive, true);
  });
});
