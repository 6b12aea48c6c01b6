// keepalived's lvs_timeouts, lvs_flush and lvs_flush_on_stop / -I on the nftables data plane, in namespaces
// with real servers; conntrack entries are read with `conntrack -L` in the director (docs/lvs.md, "Start,
// stop and connection timeouts"); and the listing of a virtual_server_group's members (docs/lvs.md, "Listing").
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { formatList, parseConntrack } from '../../src/lvs/list.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import { isRoot, nsExec } from '../helpers/netns.js';
import { nat, svc } from './fixtures.js';
import { NatLab, nsFlusher, REALS, VIP } from './lab.js';

const web = svc('web', {
  matches: [{ kind: 'addr', address: VIP, port: 80 }],
  scheduler: 'rr',
  reals: REALS.map((address) => nat(address, 8080)),
});
const dns = svc('dns', {
  protocol: 'udp',
  matches: [{ kind: 'addr', address: VIP, port: 53 }],
  scheduler: 'rr',
  reals: REALS.map((address) => nat(address, 5353)),
});

/** One conntrack entry as `conntrack -L` prints it: remaining timeout (s), TCP state, mark. */
interface Entry {
  timeout: number;
  state: string;
  mark: number;
}

describe('lvs_timeouts, lvs_flush, lvs_flush_on_stop on nftables', {
  skip: !isRoot() && 'needs root',
}, () => {
  let lab: NatLab;
  before(async () => {
    lab = new NatLab('nfo');
    await Promise.all([lab.startServers(), lab.startUdpServers()]);
  });
  after(() => lab?.close());

  const conntrack = (...args: string[]): Entry[] => {
    const r = nsExec(lab.director, 'conntrack', ['-L', '--orig-dst', VIP, ...args]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const f = l.split(/\s+/);
        return {
          timeout: Number(f[2]),
          state: /^[A-Z_]+$/.test(f[3] ?? '') ? (f[3] as string) : '',
          mark: Number(/mark=(\d+)/.exec(l)?.[1]),
        };
      });
  };
  const table = () => nsExec(lab.director, 'nft', ['list', 'table', 'inet', 'keepalived_ts']);
  const dp = (o: ConstructorParameters<typeof NftDataplane>[1] = {}) =>
    new NftDataplane(cliRunner({ netns: lab.director }), { conntrack: nsFlusher(lab.director), ...o });

  /** A TCP connection from the client to `vip`:80 held open until the returned function is called. */
  async function holdTcp(vip = VIP): Promise<() => void> {
    const js = `const c = require('node:net').connect({ host: '${vip}', port: 80, localAddress: '198.51.100.10' }, () => console.log('up')); c.on('error', (e) => { console.log(e.code); process.exit(1); }); setTimeout(() => process.exit(0), 20000);`;
    const p = spawn('ip', ['netns', 'exec', lab.client, process.execPath, '-e', js], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(p.stdout, 'data')) as [Buffer];
    assert.equal(String(line).trim(), 'up');
    return () => p.kill('SIGKILL');
  }

  it('lvs_timeouts: our connections get the configured TCP established and UDP timeouts; a reload changes them', async () => {
    const d = dp({ timeouts: { tcp: 7200, tcpfin: 30, udp: 77 } });
    assert.deepEqual(await d.start({ services: [web, dns] }), { ok: true });
    const t = table();
    assert.match(
      t.stdout,
      /ct timeout to_tcp_7200_30 \{[^}]*policy = \{ established : 7200, fin_wait : 30 \}/s,
    );
    assert.match(t.stdout, /ct timeout to_udp_77 \{[^}]*policy = \{ unreplied : 77, replied : 77 \}/s);
    const release = await holdTcp();
    try {
      const tcp = conntrack('-p', 'tcp', '--state', 'ESTABLISHED');
      assert.equal(tcp.length, 1, JSON.stringify(tcp));
      // The kernel's default for ESTABLISHED is 432,000 s (5 days).
      assert.ok(tcp[0]!.timeout > 7100 && tcp[0]!.timeout <= 7200, `timeout ${tcp[0]!.timeout}`);
      assert.ok([...d.marks().values()].includes(tcp[0]!.mark));
    } finally {
      release();
    }
    assert.equal((await lab.udpRun(1, 53, 40101)).errors, 0);
    const udp = conntrack('-p', 'udp');
    assert.equal(udp.length, 1, JSON.stringify(udp));
    // Defaults: 30 s unreplied, 120 s replied.
    assert.ok(udp[0]!.timeout > 70 && udp[0]!.timeout <= 77, `timeout ${udp[0]!.timeout}`);
    // A reload with other timeouts: new objects, the old ones gone, new connections get the new policy.
    assert.deepEqual(await d.setTimeouts({ udp: 50 }), { ok: true });
    const t2 = table().stdout;
    assert.match(t2, /ct timeout to_udp_50 \{/);
    assert.doesNotMatch(t2, /to_udp_77|to_tcp_/);
    nsExec(lab.director, 'conntrack', ['-F']);
    assert.equal((await lab.udpRun(1, 53, 40106)).errors, 0);
    const udp2 = conntrack('-p', 'udp');
    assert.ok(udp2[0] && udp2[0].timeout > 43 && udp2[0].timeout <= 50, JSON.stringify(udp2));
    // A reload without lvs_timeouts: no policy left, the kernel's defaults again.
    assert.deepEqual(await d.setTimeouts(undefined), { ok: true });
    assert.doesNotMatch(table().stdout, /ct timeout/);
    assert.deepEqual(await d.stop(), { ok: true });
    nsExec(lab.director, 'conntrack', ['-F']);
  });

  it('lvs_timeouts on a kernel that refuses timeout policies: services programmed, one log line', async () => {
    const logs: string[] = [];
    // An nft that refuses any script with a ct timeout object stands in for such a kernel.
    const refusing = {
      route: 'cli' as const,
      run: (s: string) =>
        s.includes('ct timeout')
          ? Promise.resolve({
              ok: false as const,
              message: 'Could not process rule: No such file or directory',
            })
          : cliRunner({ netns: lab.director }).run(s),
      close() {},
    };
    const d = new NftDataplane(refusing, { timeouts: { udp: 77 }, log: (m) => logs.push(m) });
    assert.deepEqual(await d.start({ services: [dns] }), { ok: true });
    assert.doesNotMatch(table().stdout, /ct timeout/);
    assert.equal(logs.filter((l) => /lvs_timeouts not applied/.test(l)).length, 1, logs.join('\n'));
    assert.equal((await lab.udpRun(1, 53, 40102)).errors, 0);
    assert.deepEqual(await d.stop(), { ok: true });
    nsExec(lab.director, 'conntrack', ['-F']);
  });

  it("lvs_flush: an earlier run's table and connections go before programming; without it they stay", async () => {
    // The earlier run "crashes": its table and its UDP flow stay.
    const earlier = dp();
    assert.deepEqual(await earlier.start({ services: [dns] }), { ok: true });
    assert.equal((await lab.udpRun(1, 53, 40103)).errors, 0);
    const marks = [...earlier.marks().values()];
    assert.equal(conntrack('-p', 'udp').length, 1);
    nsExec(lab.director, 'nft', ['add', 'chain', 'inet', 'keepalived_ts', 'handmade']);
    // Without lvs_flush the table is replaced (a leftover chain goes) but connections stay.
    const plain = dp({ leftoverMarks: marks });
    assert.deepEqual(await plain.start({ services: [dns] }), { ok: true });
    assert.doesNotMatch(table().stdout, /handmade/);
    assert.equal(conntrack('-p', 'udp').length, 1, 'without lvs_flush the flow stays');
    const logs: string[] = [];
    const flushed = dp({ flushOnStart: true, leftoverMarks: marks, log: (m) => logs.push(m) });
    assert.deepEqual(await flushed.start({ services: [dns] }), { ok: true });
    assert.deepEqual(conntrack('-p', 'udp'), [], 'lvs_flush removed the earlier run’s flow');
    assert.match(logs.join('\n'), /lvs_flush: removed the tables of an earlier run and the connections/);
    // Only once: a resync (same process) does not flush again.
    assert.equal((await lab.udpRun(1, 53, 40104)).errors, 0);
    assert.deepEqual(await flushed.resync(), { ok: true });
    assert.equal(conntrack('-p', 'udp').length, 1);
    assert.deepEqual(await flushed.stop(), { ok: true });
  });

  it('stop: -I keeps the table and connections; otherwise both go (UDP connections, as IPVS drops them)', async () => {
    nsExec(lab.director, 'conntrack', ['-F']);
    const kept = dp();
    assert.deepEqual(await kept.start({ services: [web, dns] }), { ok: true });
    assert.equal((await lab.udpRun(1, 53, 40105)).errors, 0);
    assert.deepEqual(await kept.stop(true), { ok: true });
    assert.equal(table().status, 0, '-I leaves the table');
    assert.equal(conntrack('-p', 'udp').length, 1, '-I leaves the connections');
    const d = dp();
    assert.deepEqual(await d.start({ services: [web, dns] }), { ok: true });
    assert.deepEqual(await d.stop(), { ok: true });
    assert.notEqual(table().status, 0, 'the table is gone');
    assert.deepEqual(conntrack('-p', 'udp'), []);
    assert.deepEqual(d.lastFlushErrors, []);
  });

  it('--lvs-list of a virtual_server_group: each member block counts its own connections', async () => {
    const vip2 = '198.51.100.101';
    nsExec(lab.director, 'ip', ['addr', 'add', `${vip2}/32`, 'dev', 'c0']);
    const group: ServiceSpec = {
      ...web,
      name: 'G',
      matches: [...web.matches, { kind: 'addr', address: vip2, port: 80 }],
    };
    const d = dp();
    assert.deepEqual(await d.start({ services: [group] }), { ok: true });
    const release = await holdTcp(vip2);
    try {
      const ct = nsExec(lab.director, 'cat', ['/proc/net/nf_conntrack']);
      const blocks = formatList(d.committed(), d.marks(), parseConntrack(ct.stdout))
        .split('\n')
        .slice(3)
        .join('\n')
        .split(/\n(?=TCP)/);
      const active = (block: string) =>
        block
          .split('\n')
          .slice(1)
          .filter((l) => l.trim() !== '')
          .map((l) => Number(l.trim().split(/\s+/)[4]));
      assert.equal(blocks.length, 2);
      assert.match(blocks[0] as string, /^TCP {2}198\.51\.100\.100:80 rr/);
      assert.deepEqual(active(blocks[0] as string), [0, 0, 0]);
      assert.match(blocks[1] as string, /^TCP {2}198\.51\.100\.101:80 rr/);
      assert.deepEqual(active(blocks[1] as string).sort(), [0, 0, 1], blocks.join('\n'));
    } finally {
      release();
    }
    assert.deepEqual(await d.stop(), { ok: true });
  });
});
