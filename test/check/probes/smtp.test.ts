// SMTP_CHECK against SMTP responders written on net inside the test's own namespace: the exchange on the
// wire (HELO with the default and a configured helo_name, QUIT), multi-line and dripped replies, a bad
// banner, garbage, a refused HELO, a server that hangs up or stays silent, a refused connection.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SmtpProbe } from '../../../src/check/probes/smtp.js';
import { SmtpDialogue } from '../../../src/check/probes/smtp-dialogue.js';
import { canUseNetns, enterLab, type NetnsLab, openFds } from './lab.js';

const skip = canUseNetns() ? false : 'needs root for network namespaces';

describe('SMTP dialogue (pure)', () => {
  it('walks banner → HELO → QUIT, whatever the chunking', () => {
    const text = '220-a\r\n220 b\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const d = new SmtpDialogue('me.example');
      const steps = [...d.receive(text.slice(0, cut)), ...d.receive(text.slice(cut))];
      assert.deepEqual(steps, [{ kind: 'send', line: 'HELO me.example\r\n' }]);
      assert.deepEqual(d.receive('250 ok\n'), [{ kind: 'send', line: 'QUIT\r\n' }]);
      assert.deepEqual(d.receive('221 bye\r\n'), [{ kind: 'done' }]);
    }
  });

  it('judges the final line of a reply and rejects a line without a code or too long', () => {
    assert.equal(new SmtpDialogue().receive('220-ok\r\n421 busy\r\n')[0]?.kind, 'fail');
    assert.equal(new SmtpDialogue().receive('220\r\n')[0]?.kind, 'send');
    assert.equal(new SmtpDialogue().receive('2200 x\r\n')[0]?.kind, 'fail');
    const long = new SmtpDialogue().receive('x'.repeat(600));
    assert.ok(long[0]?.kind === 'fail' && long[0].code === 'smtp-garbage');
  });
});

type Script = (s: net.Socket, lines: string[]) => void;

/** A server that speaks SMTP properly and records what it heard. */
const good =
  (banner = '220 mx.example ESMTP\r\n'): Script =>
  (s, lines) => {
    s.write(banner);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.startsWith('HELO')) s.write('250 mx.example\r\n');
        else if (line.startsWith('QUIT')) s.end('221 bye\r\n');
        nl = buf.indexOf('\n');
      }
    });
  };

describe('SMTP_CHECK probe', { skip }, () => {
  let lab: NetnsLab;
  let server: net.Server;
  let port = 0;
  let script: Script = good();
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();

  before(async () => {
    lab = enterLab('psmtp');
    server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
      script(s, lines);
    });
    await new Promise<void>((r) => server.listen(0, '::', r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => {
    for (const s of sockets) s.destroy();
    server?.close();
    lab?.leave();
  });

  const probe = (helo?: string, address = '127.0.0.1') =>
    new SmtpProbe({ address, port, family: address.includes(':') ? 6 : 4 }, helo);

  it("is up after banner, HELO (keepalived's default name) and QUIT, over IPv4 and IPv6", async () => {
    script = good();
    for (const a of ['127.0.0.1', '::1']) {
      lines.length = 0;
      const r = await probe(undefined, a).run(2_000_000);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(lines, ['HELO smtpchecker.keepalived.org\r\n', 'QUIT\r\n']);
    }
  });

  it('says HELO with helo_name, and accepts a multi-line banner dripped in pieces', async () => {
    lines.length = 0;
    script = (s, l) => {
      const banner = '220-mx.example welcome\r\n220-second line\r\n220 ready\r\n';
      let i = 0;
      const drip = setInterval(() => {
        s.write(banner.slice(i, i + 7));
        i += 7;
        if (i >= banner.length) {
          clearInterval(drip);
          good('')(s, l);
        }
      }, 2);
    };
    const r = await probe('checker.example').run(2_000_000);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(lines, ['HELO checker.example\r\n', 'QUIT\r\n']);
  });

  it('fails with code smtp-banner on a bad greeting or on garbage', async () => {
    for (const banner of ['554 go away\r\n', 'HTTP/1.1 400 Bad Request\r\n', '\x00\xff\x13garbage\n']) {
      script = good(banner);
      const r = await probe().run(2_000_000);
      assert.ok(!r.ok && r.code === 'smtp-banner', JSON.stringify(r));
    }
  });

  it('fails with code smtp-helo when HELO is refused', async () => {
    script = (s) => {
      s.write('220 mx\r\n');
      s.on('data', () => s.write('501 no\r\n'));
    };
    const r = await probe().run(2_000_000);
    assert.ok(!r.ok && r.code === 'smtp-helo' && /501 no/.test(r.reason), JSON.stringify(r));
  });

  it('fails with code read-failure when the server hangs up before answering QUIT', async () => {
    script = (s) => {
      s.write('220 mx\r\n');
      s.on('data', (d) => (d.toString().startsWith('HELO') ? s.write('250 mx\r\n') : s.end()));
    };
    const r = await probe().run(2_000_000);
    assert.ok(!r.ok && r.code === 'read-failure', JSON.stringify(r));
  });

  it('fails with code timeout against a silent server, within its timeout', async () => {
    script = () => {};
    const r = await probe().run(250_000);
    assert.ok(!r.ok && r.code === 'timeout', JSON.stringify(r));
    assert.ok(r.latencyUs >= 240_000 && r.latencyUs < 5_000_000);
  });

  it('fails with code refused when nothing listens; close() settles; nothing left open', async () => {
    const r = await new SmtpProbe({ address: '127.0.0.1', port: 1, family: 4 }).run(1_000_000);
    assert.ok(!r.ok && r.code === 'refused', JSON.stringify(r));
    script = good();
    // The previous test's server-side connection closes a turn or two after its client: count without it
    // (a refused connect now settles synchronously, with no event-loop turn in between).
    for (let i = 0; i < 100 && sockets.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
    const before = openFds();
    const p = probe();
    for (let i = 0; i < 20; i++) assert.equal((await p.run(2_000_000)).ok, true);
    script = () => {};
    const pending = p.run(10_000_000);
    await new Promise((res) => setTimeout(res, 30));
    p.close();
    const c = await pending;
    assert.ok(!c.ok && c.code === 'closed', JSON.stringify(c));
    for (const s of sockets) s.destroy();
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(openFds(), before);
  });
});
