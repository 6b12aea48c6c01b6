// The kind → probe factory: every kind of this branch builds its probe from a parsed configuration (the real
// parser), FILE_CHECK resolves its track_file and inherits weight/reverse, configuration gaps are messages,
// and HTTP_GET/SSL_GET follow whether the HTTP module is part of the build.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ProbeTarget } from '../../../src/check/probe.js';
import { DnsProbe } from '../../../src/check/probes/dns.js';
import { createProbeFactory, HTTP_NOT_BUILT, loadProbeFactory } from '../../../src/check/probes/factory.js';
import { FileProbe } from '../../../src/check/probes/file.js';
import { MiscProbe } from '../../../src/check/probes/misc.js';
import { PingProbe } from '../../../src/check/probes/ping.js';
import { SmtpProbe } from '../../../src/check/probes/smtp.js';
import { TcpProbe } from '../../../src/check/probes/tcp.js';
import { UdpProbe } from '../../../src/check/probes/udp.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Checker, TrackFile } from '../../../src/config/model.js';

const pos = { file: 'k.conf', line: 1 };
const target: ProbeTarget = { address: '192.0.2.10', port: 80, family: 4 };
const checker = (c: Partial<Checker>): Checker =>
  ({ kind: 'TCP_CHECK', pos, urls: [], other: {}, ...c }) as Checker;
const trackFiles: TrackFile[] = [{ name: 'tf', pos, file: '/nonexistent-kats/tf', weight: 7, reverse: true }];

describe('probe factory', () => {
  const factory = createProbeFactory({ trackFiles });

  it('builds the probe of each kind', () => {
    const cases: [Partial<Checker>, unknown][] = [
      [{ kind: 'TCP_CHECK' }, TcpProbe],
      [{ kind: 'SMTP_CHECK', heloName: 'x' }, SmtpProbe],
      [{ kind: 'DNS_CHECK', dnsType: 'A', dnsName: 'example.org' }, DnsProbe],
      [{ kind: 'UDP_CHECK', payloadHex: '0102', requireReplyHex: 'xx' }, UdpProbe],
      [{ kind: 'PING_CHECK' }, PingProbe],
      [{ kind: 'MISC_CHECK', miscPath: { argv: ['/bin/true'], pos } }, MiscProbe],
      [{ kind: 'FILE_CHECK', trackFile: 'tf' }, FileProbe],
    ];
    for (const [c, cls] of cases) {
      const r = factory(checker(c), target);
      assert.ok(r.ok, `${c.kind}: ${r.ok ? '' : r.message}`);
      assert.ok(r.probe instanceof (cls as new (...a: never[]) => object), c.kind);
      r.probe.close();
    }
  });

  it('FILE_CHECK takes the track_file weight and reverse unless it has its own', async () => {
    const inherit = factory(checker({ kind: 'FILE_CHECK', trackFile: 'tf' }), target);
    assert.ok(inherit.ok);
    // The file is missing: value 0, so the verdict is up with weight 0 either way; use a weight-0 twin.
    const own = createProbeFactory({ trackFiles: [{ ...trackFiles[0]!, weight: 0, reverse: true }] })(
      checker({ kind: 'FILE_CHECK', trackFile: 'tf' }),
      target,
    );
    assert.ok(own.ok);
    assert.equal((await own.probe.run(1)).ok, false, 'weight 0 reverse: value 0 is down');
    const overridden = createProbeFactory({ trackFiles: [{ ...trackFiles[0]!, weight: 0, reverse: true }] })(
      checker({ kind: 'FILE_CHECK', trackFile: 'tf', weight: 0, reverse: false }),
      target,
    );
    assert.ok(overridden.ok);
    assert.equal((await overridden.probe.run(1)).ok, true, 'own weight 0 without reverse: value 0 is up');
    for (const r of [inherit, own, overridden]) if (r.ok) r.probe.close();
  });

  it('builds probes from checkers the configuration parser produced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kats-factory-'));
    try {
      const conf = join(dir, 'keepalived.conf');
      writeFileSync(join(dir, 'flag'), '0\n');
      writeFileSync(
        conf,
        `track_file tf {\n  file ${join(dir, 'flag')}\n  weight 0\n}\n` +
          'virtual_server 192.0.2.10 80 {\n  real_server 192.0.2.11 80 {\n' +
          '    TCP_CHECK {\n      connect_port 8080\n      bind_if lo\n      fwmark 3\n    }\n' +
          '    SMTP_CHECK {\n      helo_name me.example\n    }\n' +
          '    DNS_CHECK {\n      type AAAA\n      name example.org\n    }\n' +
          '    UDP_CHECK {\n      payload 0a0b\n      require_reply 0aXX\n      max_reply_length 10\n    }\n' +
          '    PING_CHECK {\n    }\n' +
          '    MISC_CHECK {\n      misc_path "/bin/sh -c \'exit 5\'"\n      misc_dynamic\n    }\n' +
          '    FILE_CHECK {\n      track_file tf\n    }\n' +
          '  }\n}\n',
      );
      const { config, diag } = loadConfig(conf, { configId: 'x', env: {} });
      assert.deepEqual(
        diag.list.filter((d) => d.severity === 'error'),
        [],
      );
      const checkers = config.virtualServers[0]!.realServers[0]!.checkers;
      assert.deepEqual(
        checkers.map((c) => c.kind),
        ['TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'MISC_CHECK', 'FILE_CHECK'],
      );
      const f = createProbeFactory({ trackFiles: config.trackFiles });
      for (const c of checkers) {
        const r = f(c, { address: '192.0.2.11', port: c.connectPort ?? 80, family: 4 });
        assert.ok(r.ok, `${c.kind}: ${r.ok ? '' : r.message}`);
        if (c.kind === 'MISC_CHECK') {
          const o = await r.probe.run(5_000_000);
          assert.ok(o.ok && o.weight === 3, JSON.stringify(o));
        }
        if (c.kind === 'FILE_CHECK') assert.equal((await r.probe.run(1)).ok, true);
        r.probe.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is missing', () => {
    const msg = (c: Partial<Checker>) => {
      const r = factory(checker(c), target);
      return r.ok ? 'ok' : r.message;
    };
    assert.equal(msg({ kind: 'FILE_CHECK', trackFile: 'nope' }), 'track_file nope not found');
    assert.equal(msg({ kind: 'FILE_CHECK' }), 'FILE_CHECK has no track_file specified');
    assert.equal(msg({ kind: 'MISC_CHECK' }), 'MISC_CHECK has no misc_path');
    assert.equal(
      msg({ kind: 'BFD_CHECK' }),
      'BFD_CHECK is not polled: its results come from the BFD process',
    );
  });

  it('HTTP_GET/SSL_GET: built exactly when the HTTP module is in the build', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const built = existsSync(join(here, '../../../src/check/probes/http.ts'));
    const loaded = await loadProbeFactory({ trackFiles });
    for (const kind of ['HTTP_GET', 'SSL_GET'] as const) {
      const r = loaded(
        checker({ kind, urls: [{ path: '/', statusCodes: [], regexNoMatch: false, pos }] }),
        target,
      );
      if (built) assert.ok(r.ok || r.message !== HTTP_NOT_BUILT, kind);
      else assert.deepEqual(r, { ok: false, message: HTTP_NOT_BUILT });
      if (r.ok) r.probe.close();
    }
  });
});
