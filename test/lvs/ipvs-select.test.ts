// Choosing the data plane (src/lvs/ipvs-select.ts), the IPVS reply parsers and the reconciliation of a
// kernel table read back (src/lvs/ipvs-msg.ts), and the global_defs keywords that drive them. Pure: the
// kernel behaviour itself is checked in the qemu VM (ipvs-vm.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import {
  addrFromInet,
  destKey,
  IpvsCmd,
  inetAddr,
  ipvsDest,
  ipvsMessage,
  ipvsService,
  ipvsView,
  ipvsViewRequests,
  parseDestReply,
  parseServiceReply,
} from '../../src/lvs/ipvs-msg.js';
import { selectDataplane } from '../../src/lvs/ipvs-select.js';
import { NO_FLAGS, nat, svc } from './fixtures.js';

function probes(ipvsAfterLoad: boolean[], loads: boolean) {
  const calls = { ipvs: 0, load: 0 };
  return {
    calls,
    p: {
      ipvs: async () => {
        const ok = ipvsAfterLoad[calls.ipvs++] ?? false;
        return ok ? { ok } : { ok, reason: 'ENOENT' };
      },
      loadModule: () => {
        calls.load++;
        return loads;
      },
    },
  };
}

describe('choosing the data plane', () => {
  it('auto: IPVS when the family resolves, without loading anything', async () => {
    const { p, calls } = probes([true], true);
    const s = await selectDataplane('auto', p);
    assert.equal(s.kind, 'ipvs');
    assert.equal(calls.load, 0);
  });
  it('auto: IPVS after modprobe ip_vs, and the reason says so', async () => {
    const { p } = probes([false, true], true);
    const s = await selectDataplane('auto', p);
    assert.equal(s.kind, 'ipvs');
    assert.match(s.reason, /after loading ip_vs/);
  });
  it('auto: nftables when the kernel has no IPVS, with the kernel answer', async () => {
    const { p, calls } = probes([false, false], false);
    const s = await selectDataplane('auto', p);
    assert.deepEqual(s, { kind: 'nftables', reason: 'the kernel has no IPVS (ENOENT)' });
    assert.equal(calls.ipvs, 1); // the module did not load: no second question
  });
  it('nftables forced: IPVS is not even asked', async () => {
    const { p, calls } = probes([true], true);
    assert.deepEqual(await selectDataplane('nftables', p), {
      kind: 'nftables',
      reason: 'lvs_dataplane nftables',
    });
    assert.equal(calls.ipvs + calls.load, 0);
  });
  it('ipvs forced on a kernel without it: none (no silent fallback)', async () => {
    const { p } = probes([false, false], false);
    const s = await selectDataplane('ipvs', p);
    assert.equal(s.kind, 'none');
    assert.match(s.reason, /lvs_dataplane ipvs, but the kernel has no IPVS: ENOENT/);
  });
  it('ipvs forced on a kernel with it', async () => {
    const { p } = probes([true], false);
    assert.equal((await selectDataplane('ipvs', p)).kind, 'ipvs');
  });
});

describe('global_defs keywords for the LVS data plane', () => {
  const g = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'kats-lvs-kw-'));
    try {
      const f = join(dir, 'keepalived.conf');
      writeFileSync(f, `global_defs {\n${text}\n}\n`);
      return loadConfig(f);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  it('lvs_dataplane, lvs_timeouts, lvs_flush_on_stop are typed', () => {
    const { config, diag } = g('lvs_dataplane ipvs\nlvs_timeouts tcp 1000 udp 200\nlvs_flush_on_stop VS');
    assert.equal(diag.exitCode(), 0);
    assert.equal(config.globalDefs.lvsDataplane, 'ipvs');
    assert.deepEqual(config.globalDefs.lvsTimeouts, { tcp: 1000, udp: 200 });
    assert.equal(config.globalDefs.lvsFlushOnStop, 'vs');
    assert.equal(g('lvs_flush_on_stop').config.globalDefs.lvsFlushOnStop, 'all');
    assert.equal(g('').config.globalDefs.lvsDataplane, 'auto');
  });
  it('bad values are located errors', () => {
    for (const bad of ['lvs_dataplane xdp', 'lvs_timeouts', 'lvs_timeouts tcp x', 'lvs_timeouts sctp 5'])
      assert.notEqual(g(bad).diag.exitCode(), 0, bad);
  });
});

const web = svc('web', {
  family: 6,
  protocol: 'udp',
  matches: [{ kind: 'addr', address: '2001:db8:1::100', port: 53 }],
  scheduler: 'mh',
  flags: { ...NO_FLAGS, hashPort: true },
  persistence: { timeoutS: 30, prefixLen: 64 },
  reals: [nat('2001:db8:2::11', 53, 4)],
});

describe('IPVS replies and reconciliation', () => {
  it('addresses print as node:net does (IPv6 compressed at the longest zero run)', () => {
    for (const a of ['192.0.2.1', '2001:db8::1', '2001:db8:1::100', '::1', '2001:db8:0:1:0:0:0:1', '::'])
      assert.equal(
        addrFromInet(inetAddr(a), a.includes(':') ? 6 : 4),
        a === '2001:db8:0:1:0:0:0:1' ? '2001:db8:0:1::1' : a,
      );
  });
  it('a service and a destination read back as they were sent (same attribute layout as replies)', () => {
    const svc = ipvsService(web, web.matches[0]!);
    const m = ipvsMessage(IpvsCmd.NEW_SERVICE, { familyId: 0x20, seq: 1 }, { service: svc });
    assert.deepEqual(parseServiceReply(m.subarray(16)), svc);
    const d = ipvsDest(6, web.reals[0]!);
    const md = ipvsMessage(IpvsCmd.NEW_DEST, { familyId: 0x20, seq: 1 }, { service: svc, dest: d });
    assert.deepEqual(parseDestReply(md.subarray(16), 6), {
      ...d,
      activeConns: 0,
      inactConns: 0,
      persistConns: 0,
    });
  });
  it('a kernel table that drifted is moved back with the fewest requests', () => {
    const want = ipvsView([web]);
    const have = ipvsView([
      {
        ...web,
        scheduler: 'rr',
        reals: [
          { ...web.reals[0]!, weight: 1 },
          { ...web.reals[0]!, port: 54 },
        ],
      },
    ]);
    const reqs = ipvsViewRequests(have, want);
    assert.deepEqual(
      reqs.map((r) => [r.cmd, r.body.dest ? destKey(r.body.dest) : r.body.service?.scheduler]),
      [
        [IpvsCmd.SET_SERVICE, 'mh'],
        [IpvsCmd.DEL_DEST, '2001:db8:2::11|54'],
        [IpvsCmd.SET_DEST, '2001:db8:2::11|53'],
      ],
    );
    assert.deepEqual(ipvsViewRequests(want, ipvsView([web])), []);
  });
});
