// An interface the configuration names and the host lacks (a VIP on `eth0.1`, a tracked `eth9`): keepalived
// 2.2.7's VRRP process logs "Non-existent interface specified in configuration" and the daemon exits 2 (-t:
// 5); with `dynamic_interfaces` it runs and waits for the interface. Both daemons run side by side on the same
// files in a lo+eth0 namespace; the exit status (or still running after 3 s) must agree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
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
      const run = (argv: string[]) => {
        const r = spawnSync('ip', ['netns', 'exec', lab!.ns, ...argv], { encoding: 'utf8', timeout: 3000 });
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
