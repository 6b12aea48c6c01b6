// The command line of the built binary (bin/keepalived-ts runs dist/, so `npm run build` comes first):
// config-test exit codes, --dump-conf, -v, -h, --signum, and option errors. Config tests run inside a
// namespace whose only interfaces are lo and eth0, so interface checks do not depend on this host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLoEth0Netns, isRoot, nsExec } from '../helpers/netns.js';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'keepalived-ts');
const BUILT = join(REPO_ROOT, 'dist', 'daemon', 'main.js');
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** Whether /etc/passwd names `user` (2.2.7's default script user is keepalived_script). */
function hasUser(user: string): boolean {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((l) => l.split(':', 1)[0] === user);
  } catch {
    return false;
  }
}

const notBuilt = existsSync(BUILT) ? undefined : `${BUILT} is missing: run npm run build`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir = '';
let n = 0;
function conf(text: string): string {
  const f = join(dir, `k${n++}.conf`);
  writeFileSync(f, text);
  return f;
}

const GOOD = `vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.1/24
  }
}
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kats-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('keepalived-ts -t', {
  skip: notBuilt ?? (isRoot() ? undefined : 'needs root for a namespace'),
}, () => {
  let ns = '';
  let close = (): void => {};
  before(() => {
    ({ ns, close } = createLoEth0Netns('cli'));
  });
  after(() => close());

  const test_t = (file: string, extra: string[] = []) =>
    nsExec(ns, process.execPath, [BIN, '-t', '-f', file, ...extra]);

  test('a clean configuration exits 0 and prints nothing', () => {
    const r = test_t(conf(GOOD));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('an unknown keyword exits 5 and names the line', () => {
    const r = test_t(conf(GOOD.replace('  priority 100\n', '  priority 100\n  bogus_keyword 1\n')));
    assert.equal(r.status, 5, r.stderr);
    // In an instance keepalived names the file as given (its VRRP process reads a copy that does).
    assert.match(r.stderr, /^\(\S+\.conf: Line 6\) Unknown keyword 'bogus_keyword'$/m);
  });

  test('an interface this namespace lacks exits 5', () => {
    const r = test_t(conf(GOOD.replace('interface eth0', 'interface eth9')));
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /eth9/);
  });

  test('a keyword missing its parameter stops parsing: exit 2', () => {
    const r = test_t(conf(GOOD.replace('priority 100', 'priority')));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /\(\S+\.conf: Line 5\).*missing a parameter/);
  });

  test('a script run as root without enable_script_security exits 6', () => {
    const r = test_t(
      conf(GOOD.replace('  advert_int 1\n', '  advert_int 1\n  notify_master "/bin/true" root\n')),
    );
    assert.equal(r.status, 6, r.stderr);
    assert.match(r.stderr, /SECURITY VIOLATION/);
  });

  test('the same script with enable_script_security exits 0', () => {
    const r = test_t(
      conf(
        `global_defs {\n  enable_script_security\n}\n${GOOD.replace('  advert_int 1\n', '  advert_int 1\n  notify_master "/bin/true" root\n')}`,
      ),
    );
    assert.equal(r.status, 0, r.stderr);
  });

  test('enable_script_security with no script user on the host removes vrrp scripts (keepalived 2.2.7)', {
    skip: hasUser('keepalived_script') ? 'this host has a keepalived_script user' : undefined,
  }, () => {
    const file = conf(
      `global_defs {\n  enable_script_security\n}\nvrrp_script s {\n  script "/bin/true"\n}\n${GOOD.replace('  advert_int 1\n', '  advert_int 1\n  track_script {\n    s\n  }\n')}`,
    );
    const r = test_t(file);
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /^\(\S+\.conf: Line 6\) /m);
    assert.match(r.stderr, /^\(\S+\.conf: Line 14\) .*track script s not found/m);
  });

  test('-i selects @ID lines', () => {
    const file = conf(`@lb1 bogus_on_lb1\n@^lb2 bogus_not_on_lb2\n${GOOD}`);
    assert.equal(test_t(file, ['-i', 'lb2']).status, 0);
    const r = test_t(file, ['--config-id=lb1']);
    assert.equal(r.status, 5);
    assert.match(r.stderr, /bogus_on_lb1/);
    assert.match(r.stderr, /bogus_not_on_lb2/);
  });

  test('--config-test=FILE writes the report there instead of stderr', () => {
    const out = join(dir, 'report.txt');
    const r = nsExec(ns, process.execPath, [BIN, `--config-test=${out}`, '-f', conf(`bogus_top\n${GOOD}`)]);
    assert.equal(r.status, 5);
    assert.equal(r.stderr, '');
    assert.match(readFileSync(out, 'utf8'), /^\(Line 1\) Unknown keyword 'bogus_top'$/m);
  });
});

describe('keepalived-ts options', { skip: notBuilt }, () => {
  test('--dump-conf prints the model as JSON', () => {
    const r = run(['--dump-conf', '-f', conf(GOOD)]);
    const model = JSON.parse(r.stdout) as {
      vrrpInstances: {
        name: string;
        vrid: number;
        virtualIpaddresses: { address: string; prefixLength: number }[];
      }[];
    };
    assert.equal(model.vrrpInstances.length, 1);
    const i = model.vrrpInstances[0]!;
    assert.equal(i.name, 'VI_1');
    assert.equal(i.vrid, 51);
    assert.deepEqual(
      i.virtualIpaddresses.map((v) => [v.address, v.prefixLength]),
      [['192.0.2.1', 24]],
    );
  });

  test('-v prints the version and exits 0', () => {
    const r = run(['-v']);
    assert.equal(r.status, 0);
    assert.match(
      r.stdout + r.stderr,
      new RegExp(`keepalived-ts v${PACKAGE_VERSION.replaceAll('.', '\\.')}\\b`),
    );
  });

  test('-h and --help print the usage and exit 0', () => {
    for (const flag of ['-h', '--help']) {
      const r = run([flag]);
      assert.equal(r.status, 0, flag);
      assert.match(r.stdout, /^Usage: keepalived-ts/);
      for (const opt of ['--use-file', '--config-test', '--config-id', '--signum', '--dump-conf'])
        assert.ok(r.stdout.includes(opt), `${flag} mentions ${opt}`);
    }
  });

  test('--signum prints signal numbers', () => {
    for (const [name, num] of [
      ['STOP', 15],
      ['RELOAD', 1],
      ['DATA', 10],
      ['STATS', 12],
    ] as const) {
      const r = run([`--signum=${name}`]);
      assert.equal(r.status, 0, name);
      assert.equal(r.stdout, `${num}\n`, name);
    }
    assert.equal(run(['--signum', 'STOP']).stdout, '15\n');
  });

  test('an unknown --signum name exits 1', () => {
    const r = run(['--signum=NOPE']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /NOPE/);
  });

  test('unknown options exit 1 with a message and the usage', () => {
    for (const [args, message] of [
      [['--bogus'], /unrecognized option '--bogus'/],
      [['-Z'], /invalid option -- 'Z'/],
      [['-f'], /requires an argument -- 'f'/],
      [['--use-file'], /option '--use-file' requires an argument/],
      [['--help=x'], /doesn't allow an argument/],
      [['stray'], /unexpected argument 'stray'/],
    ] as const) {
      const r = run([...args]);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Usage: keepalived-ts/);
    }
  });
});
