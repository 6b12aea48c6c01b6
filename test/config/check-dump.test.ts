// The checker's data dump (/tmp/keepalived_check.data) against keepalived 2.2.7's, whole (issues 13, 14):
// keepalived's checker needs IPVS, so its dump was recorded in a VM with IPVS (test/data/check-dump/README.md
// and record.sh say how) on a configuration with every checker type, an SSL block, a virtual server group
// and a track file; keepalived-ts runs the same configuration with `-C` in a namespace against the same
// servers (test/data/check-dump/servers.py), gets SIGUSR1 until its dump agrees or the time is up, and the two
// are compared. Masked: MISC_CHECK's "Last ran" time. Taken out: libnftnl's version (keepalived's build) and
// "Check latency" (ours alone).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { OURS_BIN, REPO_ROOT } from '../helpers/keepalived-ref.js';
import { createNetns, deleteNetns, ip, isRoot } from '../helpers/netns.js';

const DATA = join(REPO_ROOT, 'test', 'data', 'check-dump');
const hasPython = existsSync('/usr/bin/python3');
const skip = !isRoot()
  ? 'needs root'
  : !hasPython
    ? 'python3 not installed'
    : !existsSync('/usr/bin/openssl')
      ? 'openssl not installed'
      : false;

const dir = mkdtempSync(join(tmpdir(), 'kats-checkdump-'));
const children: ChildProcess[] = [];
const namespaces: string[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const n of namespaces) deleteNetns(n);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** keepalived's build's line ours does not write, and ours alone (src/check/dump.ts header). */
const THEIRS_ONLY = [/^ libnftnl version /];
const OURS_ONLY = [/^ {3}Check latency = /];

function normalise(text: string, ours: boolean): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !(ours ? OURS_ONLY : THEIRS_ONLY).some((re) => re.test(l)))
    .map((l) => l.replace(/^( {3}Last ran = ).*/, '$1(time)'));
}

function inNs(ns: string, tmp: string, argv: string[]): ChildProcess {
  const rel = relative('/tmp', REPO_ROOT);
  const keep = rel.startsWith('..')
    ? ''
    : `mkdir -p '${tmp}/${rel}' && mount --bind '${REPO_ROOT}' '${tmp}/${rel}' && `;
  const bind = keep ? `mount --rbind ${tmp} /tmp` : `mount --bind ${tmp} /tmp`;
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `${keep}${bind} && exec ${argv.join(' ')}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

test("the checker's data dump is keepalived 2.2.7's, whole", { skip }, async () => {
  const ns = createNetns('ckd');
  namespaces.push(ns);
  ip('-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'lo');
  const tmp = mkdtempSync(join(dir, 'ns-'));
  writeFileSync(join(tmp, 'keepalived.conf'), readFileSync(join(DATA, 'keepalived.conf')));
  writeFileSync(join(tmp, 'tf1'), '0\n');
  const www = join(tmp, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), 'hi\n');
  // The configuration's SSL block and the HTTPS server read these (as /tmp/cert.pem, /tmp/key.pem).
  execFileSync(
    'openssl',
    [
      ...[
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
      ],
      ...['-subj', '/CN=kats', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  const servers = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      '/usr/bin/python3',
      join(DATA, 'servers.py'),
      www,
      join(tmp, 'cert.pem'),
      join(tmp, 'key.pem'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(servers);
  await new Promise<void>((resolve, reject) => {
    servers.stdout?.once('data', () => resolve());
    servers.once('exit', (c) => reject(new Error(`servers.py exited ${c}`)));
  });
  let log = '';
  const ours = inNs(ns, tmp, [
    process.execPath,
    OURS_BIN,
    ...['-n', '-l', '-C', '-f', '/tmp/keepalived.conf', '-p', '/tmp/k.pid', '-c', '/tmp/c.pid'],
  ]);
  ours.stdout?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  ours.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const theirs = normalise(readFileSync(join(DATA, 'keepalived-2.2.7.check.data'), 'utf8'), false);
  const file = join(tmp, 'keepalived_check.data');
  let mine: string[] = [];
  const end = Date.now() + 20_000;
  await sleep(4000);
  while (Date.now() < end) {
    rmSync(file, { force: true });
    if (existsSync(join(tmp, 'k.pid')))
      process.kill(Number(readFileSync(join(tmp, 'k.pid'), 'utf8')), 'SIGUSR1');
    await sleep(700);
    if (existsSync(file) && statSync(file).size > 0) mine = normalise(readFileSync(file, 'utf8'), true);
    if (mine.join('\n') === theirs.join('\n')) break;
    await sleep(1000);
  }
  if (process.env.KATS_DUMP_OUT)
    writeFileSync(join(process.env.KATS_DUMP_OUT, 'check.ours'), `${mine.join('\n')}\n`);
  ours.kill('SIGTERM');
  await new Promise((r) => (ours.exitCode === null ? ours.once('exit', r) : r(null)));
  assert.ok(mine.length > 0, `no checker dump:\n${log}`);
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(mine.length, theirs.length) && diffs.length < 12; i++)
    if (mine[i] !== theirs[i])
      diffs.push(`line ${i + 1}:\n  keepalived: ${theirs[i]}\n  ours:       ${mine[i]}`);
  assert.deepEqual(diffs, []);
});
