// An interface the configuration names and the host lacks (a VIP on `eth0.1`, a tracked `eth9`): keepalived
// 2.2.7's VRRP process logs "Non-existent interface specified in configuration" and the daemon exits 2 (-t:
// 5); with `dynamic_interfaces` it runs and waits for the interface. Both daemons run side by side on the same
// files in a lo+eth0 namespace; the exit status (or still running after 3 s) must agree. Last, an instance
// whose own interface is created after start (dynamic_interfaces).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

import { OURS_BIN, REFERENCE_KEEPALIVED, referenceAvailable } from '../helpers/keepalived-ref.js';
import { createLoEth0Netns, ip, isRoot } from '../helpers/netns.js';

const skip = !isRoot() ? 'needs root' : !referenceAvailable() ? 'keepalived not installed' : false;

const instance = (inner: string) => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
${inner}
}
`;
const CASES: [string, string, number | 'runs'][] = [
  [
    'a VIP on a missing VLAN interface',
    instance('  virtual_ipaddress {\n    192.0.2.100 dev eth0.1\n  }'),
    2,
  ],
  [
    'a missing tracked interface',
    instance('  track_interface {\n    eth9\n  }\n  virtual_ipaddress {\n    192.0.2.100\n  }'),
    2,
  ],
  ['a missing instance interface', instance('').replace('eth0', 'eth9'), 2],
  [
    "a missing rule interface (a no_track rule's oif too)",
    instance(
      '  virtual_ipaddress {\n    192.0.2.100\n  }\n  virtual_rules {\n    from 192.0.2.100 oif eth7 table 200 no_track\n  }',
    ),
    2,
  ],
  [
    'dynamic_interfaces',
    `global_defs {\n  dynamic_interfaces\n}\n${instance('  track_interface {\n    eth9\n  }')}`,
    'runs',
  ],
];

describe('a non-existent interface stops the daemon as in keepalived 2.2.7', { skip, concurrency: 2 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-missing-if-'));
  const lab = skip ? null : createLoEth0Netns('mif');
  if (lab) ip('-n', lab.ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  after(() => {
    lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const [k, [name, text, expected]] of CASES.entries())
    test(name, () => {
      const conf = join(dir, `c${k}.conf`);
      writeFileSync(conf, text);
      // A daemon that must stop gets 10 s (start-up alone took over 3 s at load 12); one that must run, 3 s.
      const timeout = expected === 'runs' ? 3000 : 10_000;
      const run = (argv: string[]) => {
        const r = spawnSync('ip', ['netns', 'exec', lab!.ns, ...argv], { encoding: 'utf8', timeout });
        // Stopped by the timeout (SIGTERM, which both handle and exit 0 on): it was running.
        return {
          status: (r.error as { code?: string } | undefined)?.code === 'ETIMEDOUT' ? 'runs' : r.status,
          out: `${r.stdout}${r.stderr}`,
        };
      };
      const pids = (tag: string) => ['-p', join(dir, `${tag}${k}.pid`), '-r', join(dir, `${tag}v${k}.pid`)];
      const ref = run([
        REFERENCE_KEEPALIVED,
        '-n',
        '-l',
        '-f',
        conf,
        ...pids('r'),
        '-c',
        join(dir, `rc${k}.pid`),
      ]);
      const ours = run([process.execPath, OURS_BIN, '-n', '-l', '-f', conf, ...pids('o')]);
      assert.equal(ref.status, expected, ref.out);
      assert.equal(ours.status, expected, ours.out);
      const said = /Non-existent interface specified in configuration/;
      assert.equal(said.test(ours.out), said.test(ref.out), ours.out);
      // -t agrees too: 5 with the message, 0 under dynamic_interfaces.
      const t = (argv: string[]) =>
        spawnSync('ip', ['netns', 'exec', lab!.ns, ...argv, '-t', '-f', conf], { timeout: 10_000 }).status;
      assert.equal(t([process.execPath, OURS_BIN]), t([REFERENCE_KEEPALIVED, '-l']));
    });
});

// dynamic_interfaces with the instance's own interface missing: keepalived 2.2.7 logs that it will use the
// interface if created, keeps the instance in FAULT and runs it when the interface comes with an address.
// Each daemon in a lo+eth0 namespace of its own; eth9 (a veth) is created 2 s after start; the instance must
// then elect itself (its VIP appears on eth9) under both.
test('dynamic_interfaces: a missing instance interface waits in FAULT and runs once created, as keepalived', {
  skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kats-dynif-'));
  const conf = join(dir, 'keepalived.conf');
  writeFileSync(
    conf,
    'global_defs {\n  dynamic_interfaces\n}\nvrrp_instance VI_1 {\n  interface eth9\n  virtual_router_id 51\n' +
      '  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    198.51.100.100/24\n  }\n}\n',
  );
  const labs = [createLoEth0Netns('dyi0'), createLoEth0Netns('dyi1')];
  const daemons = [
    [REFERENCE_KEEPALIVED, '-c', join(dir, 'rc.pid')],
    [process.execPath, OURS_BIN],
  ].map((cmd, k) => {
    const argv = [...cmd, '-n', '-l', '-f', conf, '-p', join(dir, `${k}.pid`), '-r', join(dir, `${k}v.pid`)];
    const child = spawn('ip', ['netns', 'exec', labs[k]!.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = { child, log: '', exited: new Promise((r) => child.once('exit', r)) };
    child.stdout.on('data', (b: Buffer) => {
      d.log += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      d.log += b.toString();
    });
    return d;
  });
  const vipOn = (ns: string) =>
    spawnSync('ip', ['-n', ns, '-4', 'addr', 'show', 'dev', 'eth9'], { encoding: 'utf8' }).stdout.includes(
      '198.51.100.100/24',
    );
  try {
    await sleep(2000);
    const running = daemons.map((d) => d.child.exitCode === null);
    for (const lab of labs) {
      ip('-n', lab.ns, 'link', 'add', 'eth9', 'type', 'veth', 'peer', 'name', 'eth8');
      ip('-n', lab.ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth9');
      ip('-n', lab.ns, 'link', 'set', 'eth8', 'up');
      ip('-n', lab.ns, 'link', 'set', 'eth9', 'up');
    }
    // Three adverts' time and the skew, plus room for a loaded machine.
    const end = Date.now() + 12_000;
    while (Date.now() < end && !labs.every((l) => vipOn(l.ns))) await sleep(250);
    const elected = labs.map((l) => vipOn(l.ns));
    const lines = [
      "Configuration specifies interface eth9 which doesn't currently exist - will use if created",
      '(VI_1): entering FAULT state (interface eth9 down)',
    ];
    const said = daemons.map((d) => lines.map((l) => d.log.includes(l)));
    const logs = daemons.map((d) => d.log).join('\n-----\n');
    assert.deepEqual(running, [true, true], logs);
    assert.deepEqual(
      said,
      [
        [true, true],
        [true, true],
      ],
      logs,
    );
    assert.deepEqual(elected, [true, true], logs);
  } finally {
    for (const d of daemons) d.child.kill('SIGTERM');
    await Promise.all(daemons.map((d) => Promise.race([d.exited, sleep(5000)])));
    for (const lab of labs) lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
