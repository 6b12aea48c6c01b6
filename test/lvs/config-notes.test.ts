// -t's notes on virtual servers this host's data plane cannot program (src/lvs/config-notes.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { noteLvsNotRun } from '../../src/lvs/config-notes.js';

const dir = mkdtempSync(join(tmpdir(), 'kats-lvsnotes-'));

function notes(text: string, ipvs: boolean): string[] {
  const file = join(dir, 'k.conf');
  writeFileSync(file, text);
  const { config, diag } = loadConfig(file);
  validateConfig(config, diag, { host: null });
  const before = diag.list.length;
  let asked = 0;
  noteLvsNotRun(config, diag, () => {
    asked++;
    return ipvs;
  });
  assert.ok(asked <= 1, 'IPVS is asked about once at most');
  return diag.list.slice(before).map((d) => diag.format(d));
}

const vs = (kind: string, key = '198.51.100.10 80', extra = '') => `global_defs {\n${extra}}
virtual_server ${key} {
  lb_algo rr
  lb_kind ${kind}
  protocol TCP
  real_server 192.0.2.11 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`;

test('TUN without IPVS is named with its line; with IPVS, or for NAT, nothing is said', () => {
  const tun = notes(vs('TUN'), false);
  assert.equal(tun.length, 1, tun.join('\n'));
  assert.match(tun[0]!, /Line 3|k\.conf:3/);
  assert.match(tun[0]!, /TUN needs tunnel devices/);
  assert.deepEqual(notes(vs('TUN'), true), []);
  assert.deepEqual(notes(vs('NAT'), false), []);
});

test('DR on a fwmark service and DR for SCTP run on nftables (nothing said); lvs_dataplane nftables does not ask about IPVS', () => {
  assert.deepEqual(notes(vs('DR', 'fwmark 7'), false), []);
  assert.deepEqual(notes(vs('DR').replace('protocol TCP', 'protocol SCTP'), false), []);
  const forced = notes(vs('TUN', '198.51.100.10 80', '  lvs_dataplane nftables\n'), true);
  assert.match(forced.join('\n'), /TUN needs tunnel devices/);
});

test('lvs_dataplane ipvs on a kernel without IPVS: one note that nothing will be programmed', () => {
  const n = notes(vs('NAT', '198.51.100.10 80', '  lvs_dataplane ipvs\n'), false);
  assert.equal(n.length, 1);
  assert.match(n[0]!, /no virtual server will be programmed/);
});

test('lvs_timeouts without IPVS: tcpfin names a TCP DR virtual server (its flows have no TCP state); tcp and udp reach DR flows', () => {
  const t = '  lvs_timeouts tcp 7200 tcpfin 30 udp 60\n';
  const dr = notes(vs('DR', '198.51.100.10 80', t), false);
  assert.equal(dr.length, 1, dr.join('\n'));
  assert.match(
    dr[0]!,
    /lvs_timeouts tcpfin does not apply to virtual server .* no TCP state, its flows expire 7200 s/,
  );
  assert.deepEqual(notes(vs('DR', '198.51.100.10 80', '  lvs_timeouts tcp 7200 udp 60\n'), false), []);
  assert.deepEqual(notes(vs('NAT', '198.51.100.10 80', t), false), []);
  assert.deepEqual(notes(vs('DR', '198.51.100.10 80', t), true), []);
  assert.deepEqual(notes(vs('DR'), false), []);
});

test('protocol in a fwmark virtual server: keepalived 2.2.7 words (unlocated, exit 5), then a note naming its line; none without it', () => {
  const file = join(dir, 'f.conf');
  const run = (text: string) => {
    writeFileSync(file, text);
    const { config, diag } = loadConfig(file);
    validateConfig(config, diag, { host: null });
    return { lines: diag.list.map((d) => diag.format(d)), exit: diag.exitCode() };
  };
  const withProto = run(vs('DR', 'fwmark 7'));
  assert.ok(
    withProto.lines.includes(
      'Warning: Virtual server FWM 7: protocol specified for fwmark - protocol will be ignored',
    ),
    withProto.lines.join('\n'),
  );
  // `protocol TCP` is line 6 of vs()'s text.
  assert.ok(
    withProto.lines.some((l) =>
      /^note: .*f\.conf:6: protocol TCP of virtual server FWM 7 is ignored: a fwmark service forwards TCP, UDP and SCTP/.test(
        l,
      ),
    ),
    withProto.lines.join('\n'),
  );
  assert.equal(withProto.exit, 5);
  const without = run(vs('DR', 'fwmark 7').replace('  protocol TCP\n', ''));
  assert.ok(!without.lines.some((l) => /protocol/.test(l)), without.lines.join('\n'));
  // A group of fwmarks only is a fwmark service too; one with an address is not.
  const group = (entries: string) =>
    run(`virtual_server_group G {\n${entries}}\n${vs('NAT', 'group G')}`).lines.join('\n');
  assert.match(group('  fwmark 7\n'), /protocol specified for fwmark/);
  assert.doesNotMatch(group('  fwmark 7\n  198.51.100.10 80\n'), /protocol specified for fwmark/);
});

test("ports of DR/TUN servers: keepalived 2.2.7's words (unlocated, exit 5) for a fwmark's real and sorry server, an address's mismatched port, a fwmark group; NAT servers keep theirs silently", () => {
  const file = join(dir, 'p.conf');
  const run = (text: string) => {
    writeFileSync(file, text);
    const { config, diag } = loadConfig(file);
    validateConfig(config, diag, { host: null });
    return { lines: diag.list.map((d) => diag.format(d)), exit: diag.exitCode() };
  };
  const block = (key: string, kind: string, body: string) =>
    `virtual_server ${key} {\n  lb_algo rr\n  lb_kind ${kind}\n${body}}\n`;
  const rs = (addr: string, port = '', method = '') =>
    `  real_server ${addr}${port ? ` ${port}` : ''} {\n${method ? `    lvs_method ${method}\n` : ''}    weight 1\n  }\n`;
  // The lines keepalived 2.2.7 prints for each (`keepalived -t -f FILE -l -D`, checked by hand).
  const fw = run(
    block(
      'fwmark 7',
      'DR',
      `  sorry_server 198.51.100.20 80\n${rs('198.51.100.11', '80')}${rs('198.51.100.12')}`,
    ),
  );
  assert.deepEqual(fw.lines, [
    'WARNING - fwmark virtual server FWM 7, real server [198.51.100.11]:none:80 has port specified - clearing',
    'WARNING - virtual server FWM 7, sorry server has port specified - clearing',
  ]);
  assert.equal(fw.exit, 5);
  const tun = run(block('fwmark 7', 'NAT', rs('198.51.100.11', '80', 'TUN') + rs('198.51.100.12', '8080')));
  assert.deepEqual(tun.lines, [
    'WARNING - fwmark virtual server FWM 7, real server [198.51.100.11]:none:80 has port specified - clearing',
  ]);
  const nat = run(
    block('fwmark 7', 'NAT', `  sorry_server 198.51.100.20 80\n${rs('198.51.100.11', '8080')}`),
  );
  assert.deepEqual(nat, { lines: [], exit: 0 });
  const addr = run(
    block(
      '198.51.100.100 80',
      'DR',
      `  protocol TCP\n  sorry_server 198.51.100.20 81\n${rs('198.51.100.11', '8080')}${rs('198.51.100.12', '80')}`,
    ),
  );
  assert.deepEqual(addr.lines, [
    "WARNING - virtual server [198.51.100.100]:tcp:80 and real server [198.51.100.11]:tcp:8080 ports don't match - resetting",
    "WARNING - virtual server [198.51.100.100]:tcp:80 and sorry server ports don't match - resetting",
  ]);
  assert.equal(addr.exit, 5);
  const group = run(
    `virtual_server_group G1 {\n  fwmark 7\n}\n${block('group G1', 'DR', `  sorry_server 198.51.100.20 80\n${rs('198.51.100.11', '80')}`)}`,
  );
  assert.deepEqual(group.lines, [
    'WARNING - fwmark virtual server [G1]:0, real server [198.51.100.11]:none:80 has port specified - port will be ignored',
    'WARNING - fwmark virtual server [G1]:0, sorry server has port specified - port will be ignored',
  ]);
  assert.equal(group.exit, 5);
  const ranges = run(
    `virtual_server_group G2 {\n  198.51.100.100 80\n  198.51.100.101-103 81\n}\n${block('group G2', 'DR', `  protocol TCP\n  sorry_server 198.51.100.20 80\n${rs('198.51.100.11', '80')}${rs('198.51.100.12')}`)}`,
  );
  assert.deepEqual(ranges.lines, [
    "virtual server [G2]:0:[198.51.100.101-198.51.100.103,81] and real server [198.51.100.11]:tcp:80 ports don't match",
    'WARNING - virtual server [G2]:0, sorry server has port specified - port will be ignored',
  ]);
  assert.equal(ranges.exit, 5);
});
