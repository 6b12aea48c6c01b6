// `npm pack` and a global install of its tarball on a clean prefix: the package builds itself (prepack),
// carries what an operator needs (compiled code, the command, the systemd unit, the man pages) and nothing of
// the tests or sources, and the installed `keepalived-ts` runs with production dependencies only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const ROOT = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), `kats-pack-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

/** This environment without what an enclosing `npm test` sets (npm_config_*, npm_package_*, …). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

test('npm pack builds a tarball that installs into a clean prefix and runs', { timeout: 180_000 }, () => {
  // A copy of the checked-in project without dist/, so that the tarball's compiled code can only come from
  // prepack; node_modules is shared (typescript for the build).
  const src = join(work, 'src-tree');
  mkdirSync(src);
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md'])
    cpSync(join(ROOT, f), join(src, f));
  for (const d of ['src', 'bin', 'man', 'packaging', 'test', 'web', 'schema'])
    cpSync(join(ROOT, d), join(src, d), { recursive: true });
  mkdirSync(join(src, 'docs'));
  cpSync(join(ROOT, 'docs/operating.md'), join(src, 'docs/operating.md'));
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));

  const pack = run('npm', ['pack', '--pack-destination', work, '--json'], src);
  assert.equal(pack.status, 0, pack.out);
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info[0]!.files.map((f) => f.path);
  for (const need of [
    'bin/keepalived-ts',
    'dist/daemon/main.js',
    'dist/daemon/sd-notify.js',
    'packaging/keepalived-ts.service',
    'man/keepalived-ts.8',
    'man/keepalived-ts.conf.5',
    // The status listener's page and the /status schema (docs/operating.md, 'Watching it run').
    'dist/status/child.js',
    'web/index.html',
    'web/app.js',
    'web/style.css',
    'schema/status.schema.json',
    'package.json',
  ])
    assert.ok(files.includes(need), `${need} not in the tarball`);
  const stray = files.filter(
    (f) => /^(test|src|scripts|bench|node_modules)\//.test(f) || /\.(ts|map)$/.test(f),
  );
  assert.deepEqual(stray, [], 'tests, sources and maps stay out of the package');

  const prefix = join(work, 'prefix');
  const install = run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, info[0]!.filename),
    ],
    work,
  );
  assert.equal(install.status, 0, install.out);
  const pkg = join(prefix, 'lib/node_modules/keepalived-ts');
  // Production dependencies only: no compiler, test or lint tooling came along.
  const deps = readdirSync(join(pkg, 'node_modules'));
  assert.ok(
    deps.includes('koffi') && deps.includes('netlink') && deps.includes('prom-client'),
    deps.join(' '),
  );
  for (const dev of ['typescript', 'tsx', 'fast-check', '@biomejs'])
    assert.ok(!deps.includes(dev), `${dev} installed`);
  assert.ok(existsSync(join(prefix, 'share/man/man8/keepalived-ts.8')), 'man page linked into the prefix');

  const bin = join(prefix, 'bin/keepalived-ts');
  const version = run(bin, ['-v'], '/');
  assert.equal(version.status, 0, version.out);
  assert.match(version.out, /^keepalived-ts v0\.1\.0/);
  const good = join(work, 'good.conf');
  writeFileSync(
    good,
    'global_defs {\n  router_id pack_test\n}\nvrrp_script chk {\n  script "/bin/true"\n  interval 1\n}\n',
  );
  const ok = run(bin, ['-t', '-f', good], '/');
  assert.equal(ok.status, 0, ok.out);
  const bad = join(work, 'bad.conf');
  writeFileSync(bad, 'vrrp_instance VI_1 {\n  virtual_router_id 300\n}\n');
  const refused = run(bin, ['-t', '-f', bad], '/');
  assert.notEqual(refused.status, 0, refused.out);
  assert.match(refused.out, /virtual_router_id: number '300' outside range/);
  // koffi loads in the installed tree (the FFI the daemon's sockets and sd_notify use).
  const ffi = run(process.execPath, ['-e', "require('koffi').load('libc.so.6')"], pkg);
  assert.equal(ffi.status, 0, ffi.out);
});
