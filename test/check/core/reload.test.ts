// Reload as a pure plan: kept servers keep their state (a failed one stays failed), new ones start from
// their alpha state, removed ones are taken out with their notifiers; kept probes keep their schedule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { conf, core, fail, live, logs, nextRun, ofType, ok, probeIds, S, virtualServer } from './helpers.js';

const VS = '[192.0.2.100]:tcp:80';
const rsBlock = (addr: string, extra = '') => `real_server ${addr} 80 {
    ${extra}
    TCP_CHECK {
      retry 0
    }
  }`;
const text = (servers: string[], extra = '') => virtualServer(`${extra}\n  ${servers.join('\n')}`);

describe('reload', () => {
  test('a failed server stays failed, a new alpha server starts failed, a removed one leaves', () => {
    const c = core(text([rsBlock('192.0.2.10'), rsBlock('192.0.2.11', 'notify_down "/bin/down11"')]));
    c.start(0);
    const at = c.nextDeadline()!;
    const ids = probeIds(c.timer(at));
    const [p10, p11] = ids as [number, number];
    c.probeResult(p10, fail(), at);
    c.probeResult(p11, ok(), at);
    assert.deepEqual(live(c, VS), ['[192.0.2.11]:tcp:80']);
    const before = c.nextDeadline();

    const out = c.reload(conf(text([rsBlock('192.0.2.10'), rsBlock('192.0.2.12', 'alpha')])), at + 2 * S);
    assert.deepEqual(logs(out).slice(0, 2), [
      'service [192.0.2.11]:tcp:80 no longer exist',
      `Removing service [192.0.2.11]:tcp:80 from VS ${VS}`,
    ]);
    assert.deepEqual(
      ofType(out, 'notify').map((n) => [n.event, n.rs]),
      [['notify_down', '[192.0.2.11]:tcp:80']],
    );
    assert.deepEqual(
      ofType(out, 'realServerRemoved').map((r) => r.rs),
      ['[192.0.2.11]:tcp:80'],
    );
    assert.deepEqual(
      ofType(out, 'closeProbe').map((p) => p.probeId),
      [p11],
    );
    // Still failed, and the new alpha server is not in service.
    assert.deepEqual(live(c, VS), []);
    const st = c.status();
    assert.equal(st[0]!.alive, false);
    assert.equal(st[0]!.checkers[0]!.probeId, p10);
    assert.equal(st[1]!.alive, false);
    // The new probe starts after the bootstrap delay; the kept one keeps its schedule.
    const r = nextRun(c);
    assert.equal(r.at, at + 2 * S + 1 * S);
    assert.notEqual(r.probeId, p10);
    c.probeResult(r.probeId, ok(), r.at);
    assert.deepEqual(live(c, VS), ['[192.0.2.12]:tcp:80']);
    assert.equal(c.nextDeadline(), before);
    assert.deepEqual(probeIds(c.timer(before!)), [p10]);
  });

  test('a weight change on reload is applied to a kept live server', () => {
    const c = core(text([rsBlock('192.0.2.10', 'weight 2')]));
    c.start(0);
    const out = c.reload(conf(text([rsBlock('192.0.2.10', 'weight 7')])), 3 * S);
    assert.deepEqual(
      logs(out)[0],
      `Changing weight from 2 to 7 for active service [192.0.2.10]:tcp:80 of VS ${VS}`,
    );
    assert.deepEqual(
      ofType(out, 'realServerWeight').map((w) => w.weight),
      [7],
    );
    // No quorum notifier runs again for a virtual server whose quorum did not change.
    assert.deepEqual(ofType(out, 'quorumGained'), []);
  });

  test('a removed virtual server takes its real servers and its quorum with it', () => {
    const c = core(text([rsBlock('192.0.2.10')], 'quorum_down "/bin/qd"'));
    c.start(0);
    const out = c.reload(
      conf(text([rsBlock('192.0.2.10')]).replace('192.0.2.100 80', '192.0.2.101 80')),
      3 * S,
    );
    assert.equal(logs(out)[0], `Removing Virtual Server ${VS}`);
    assert.deepEqual(
      ofType(out, 'virtualServerRemoved').map((v) => v.vs),
      [VS],
    );
    assert.deepEqual(
      ofType(out, 'notify').map((n) => n.event),
      ['quorum_down'],
    );
    assert.deepEqual(
      c.snapshot().map((v) => v.vs),
      ['[192.0.2.101]:tcp:80'],
    );
    assert.deepEqual(live(c, '[192.0.2.101]:tcp:80'), ['[192.0.2.10]:tcp:80']);
  });

  test('a probe in flight during a reload reports to the new configuration', () => {
    const c = core(text([rsBlock('192.0.2.10')]));
    c.start(0);
    const r = nextRun(c);
    c.reload(conf(text([rsBlock('192.0.2.10')])), r.at + 1);
    const out = c.probeResult(r.probeId, fail(), r.at + 2);
    assert.equal(ofType(out, 'realServerDown').length, 1);
  });
});
