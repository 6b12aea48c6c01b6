// Which events mail, and with which words (docs/notify-mail.md): the VRRP side's decision (smtp_alert
// defaults, no_email_faults, the last-state rule, no STOP) and the checker core's `mail` actions (per checker,
// the real server's liveness in the subject, no_checker_emails, the defaults of real and virtual servers).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CheckAction } from '../../src/check/core/actions.js';
import type { CheckerCore } from '../../src/check/core/core.js';
import { VrrpMailAlerts, vrrpMailPlan } from '../../src/notify/mail/vrrp-alerts.js';
import { conf, core, fail, ofType, ok, virtualServer } from '../check/core/helpers.js';

const MAIL = `
  notification_email {
    ops@example.com
  }
  smtp_server 192.0.2.25`;

function vrrpConf(globals: string, inst1 = '', group = ''): string {
  return `
global_defs {
  router_id R1
  ${globals}
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  ${group}
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  ${inst1}
  virtual_ipaddress {
    192.0.2.1
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2
  }
}`;
}

describe('VRRP alerts', () => {
  test('defaults: the object, then smtp_alert_vrrp, then smtp_alert, else off; nothing without server or recipients', () => {
    assert.equal(vrrpMailPlan(conf(vrrpConf(MAIL))), null);
    assert.equal(vrrpMailPlan(conf(vrrpConf('smtp_alert'))), null);
    const p1 = vrrpMailPlan(conf(vrrpConf(`${MAIL}\n smtp_alert`)))!;
    assert.deepEqual([[...p1.instances], [...p1.groups]], [['VI_1', 'VI_2'], ['G1']]);
    const p2 = vrrpMailPlan(conf(vrrpConf(`${MAIL}\n smtp_alert\n smtp_alert_vrrp off`, 'smtp_alert')))!;
    assert.deepEqual([[...p2.instances], [...p2.groups]], [['VI_1'], []]);
    const p3 = vrrpMailPlan(conf(vrrpConf(MAIL, '', 'smtp_alert yes')))!;
    assert.deepEqual([[...p3.instances], [...p3.groups]], [[], ['G1']]);
    assert.equal(p3.routerId, 'R1');
    assert.equal(p3.settings.port, 25);
    assert.equal(p3.settings.timeoutMs, 30_000);
  });

  test('one mail per state change, no STOP, no pseudo-states; FAULT unless no_email_faults', () => {
    const a = new VrrpMailAlerts(vrrpMailPlan(conf(vrrpConf(`${MAIL}\n smtp_alert`))));
    const subj = (scope: 'INSTANCE' | 'GROUP', name: string, state: string) =>
      a.alertFor({ scope, name, state })?.subject ?? null;
    assert.equal(subj('INSTANCE', 'VI_1', 'BACKUP'), '[R1] VRRP Instance VI_1 - Entering BACKUP state');
    assert.equal(subj('INSTANCE', 'VI_1', 'BACKUP'), null);
    assert.equal(subj('INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI'), null);
    assert.equal(subj('INSTANCE', 'VI_1', 'FAULT'), '[R1] VRRP Instance VI_1 - Entering FAULT state');
    assert.equal(subj('INSTANCE', 'VI_1', 'DELETED'), '[R1] VRRP Instance VI_1 - Deleted');
    assert.equal(subj('GROUP', 'G1', 'DELETED'), null);
    assert.equal(subj('GROUP', 'G1', 'MASTER'), '[R1] VRRP Group G1 - Entering MASTER state');
    assert.equal(subj('INSTANCE', 'VI_2', 'STOP'), null);
    assert.equal(subj('INSTANCE', 'VI_3', 'MASTER'), null);
    const b = new VrrpMailAlerts(vrrpMailPlan(conf(vrrpConf(`${MAIL}\n smtp_alert\n no_email_faults`))));
    assert.equal(b.alertFor({ scope: 'INSTANCE', name: 'VI_1', state: 'FAULT' }), null);
    assert.equal(b.alertFor({ scope: 'GROUP', name: 'G1', state: 'FAULT' }), null);
  });
});

const VS = '[192.0.2.100]:tcp:80';
const RS = '[192.0.2.10]:tcp:80';

function lvsConf(globals: string, rsExtra = '', vsExtra = '', checkers = 'TCP_CHECK {\n}'): string {
  const body = `${vsExtra}
  real_server 192.0.2.10 80 {
    ${rsExtra}
    ${checkers}
  }`;
  return `
global_defs {
  ${globals}
}${virtualServer(body)}`;
}

/** Fires timers and answers probes (by the probed port) until `steps` probes have answered. */
function drive(c: CheckerCore, answer: (port: number) => boolean, probes: number): CheckAction[] {
  const out: CheckAction[] = [];
  let answered = 0;
  while (answered < probes) {
    const at = c.nextDeadline()!;
    const actions = c.timer(at);
    out.push(...actions);
    for (const r of ofType(actions, 'runProbe')) {
      out.push(...c.probeResult(r.probeId, answer(r.target.port) ? ok() : fail(), at));
      answered++;
    }
  }
  return out;
}

const mails = (actions: CheckAction[]) => ofType(actions, 'mail').map((m) => [m.rs ?? m.vs, m.up, m.body]);

describe('checker alerts', () => {
  test('real servers mail by default, virtual servers do not; nothing without a server', () => {
    const down = (text: string) => {
      const c = core(text);
      c.start(0);
      return mails(drive(c, () => false, 1));
    };
    assert.deepEqual(down(lvsConf(MAIL, 'retry 0')), [[RS, false, '=> TCP CHECK failed on service <=']]);
    // keepalived's order: the quorum's mail (from the state update) before the checker's.
    assert.deepEqual(down(lvsConf(MAIL, 'retry 0', 'smtp_alert')), [
      [VS, false, '=> Lost quorum 1+0=1 <= 0 <='],
      [RS, false, '=> TCP CHECK failed on service <='],
    ]);
    assert.deepEqual(down(lvsConf(`${MAIL}\n smtp_alert_checker off`, 'retry 0')), []);
    assert.deepEqual(down(lvsConf(`${MAIL}\n smtp_alert off`, 'retry 0')), []);
    assert.deepEqual(down(lvsConf('', 'retry 0')), []);
  });

  test("each checker mails its own change, under its real server's UP/DOWN; no_checker_emails keeps liveness changes", () => {
    const two = 'TCP_CHECK {\n connect_port 81\n retry 0\n}\nTCP_CHECK {\n connect_port 82\n retry 0\n}';
    const run = (globals: string) => {
      const c = core(lvsConf(globals, '', '', two));
      c.start(0);
      const up = new Set([81, 82]);
      const out: unknown[] = [];
      up.delete(81);
      out.push(...mails(drive(c, (p) => up.has(p), 2)));
      up.delete(82);
      out.push(...mails(drive(c, (p) => up.has(p), 2)));
      up.add(81);
      out.push(...mails(drive(c, (p) => up.has(p), 2)));
      up.add(82);
      out.push(...mails(drive(c, (p) => up.has(p), 2)));
      return out;
    };
    assert.deepEqual(run(MAIL), [
      [RS, false, '=> TCP CHECK failed on service <='],
      [RS, false, '=> TCP CHECK failed on service <='],
      [RS, false, '=> TCP CHECK succeed on service <='],
      [RS, true, '=> TCP CHECK succeed on service <='],
    ]);
    assert.deepEqual(run(`${MAIL}\n no_checker_emails`), [
      [RS, false, '=> TCP CHECK failed on service <='],
      [RS, true, '=> TCP CHECK succeed on service <='],
    ]);
  });

  test('alpha: the first success mails UP; MISC_CHECK mails its first success even with nothing changed', () => {
    const c = core(lvsConf(MAIL, 'alpha'));
    c.start(0);
    assert.deepEqual(mails(drive(c, () => true, 1)), [[RS, true, '=> TCP CHECK succeed on service <=']]);
    const m = core(lvsConf(MAIL, '', '', 'MISC_CHECK {\n misc_path /bin/true\n}'));
    m.start(0);
    assert.deepEqual(mails(drive(m, () => true, 1)), [[RS, true, '=> MISC CHECK succeeded on service <=']]);
    const n = core(lvsConf(`${MAIL}\n no_checker_emails`, '', '', 'MISC_CHECK {\n misc_path /bin/true\n}'));
    n.start(0);
    assert.deepEqual(mails(drive(n, () => true, 1)), []);
  });
});
