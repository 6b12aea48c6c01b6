// The SIGUSR1 data dump against keepalived 2.2.7's, line for line (issue 13): the same configuration, each
// daemon alone on a link in a namespace of its own, both MASTER; then SIGUSR1 and the "VRRP Topology" sections
// compared. Lines keepalived writes that ours does not (listed in src/notify/dumps.ts and
// docs/notify-data-dump.md) are taken out of keepalived's text first; the time of the last transition is
// masked. Every other line must be the same, in the same order.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { OURS_BIN, REFERENCE_KEEPALIVED, REPO_ROOT, referenceAvailable } from '../helpers/keepalived-ref.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';

const skip = !isRoot() ? 'needs root' : !referenceAvailable() ? 'keepalived not installed' : false;

const dir = mkdtempSync(join(tmpdir(), 'kats-datadump-'));
const cleanups: (() => void)[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
  rmSync(dir, { recursive: true, force: true });
});

const CONF = `vrrp_script chk {
  script "/usr/bin/true"
  weight 5
}
vrrp_script rev {
  script "/usr/bin/false"
  weight -7 reverse
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass dumpme
  }
  unicast_peer {
    192.0.2.2
  }
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    192.0.2.102/24
  }
  track_script {
    chk
    rev
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 62
  priority 100
  nopreempt
  promote_secondaries
  advert_int 2
  virtual_ipaddress {
    192.0.2.110
  }
}
`;

/** keepalived lines ours does not write (src/notify/dumps.ts header). */
const NOT_WRITTEN = [
  /^ {3}Number of config faults = /,
  /^ {3}Number of interface and track script faults = /,
  /^ {3}Number of track scripts init = /,
  /^ {3}Read timeout = /,
  /^ {3}Master down timer = /,
  /^ {3}Multicast address /,
  /^ {3}Total priority = /,
  /^ {3}last [rt]x checksum = /,
  /^ {3}fd_in \d+, fd_out \d+$/,
  /^ {3}Unicast TTL = /,
  /^ {3}Check unicast src : /,
  /^ {3}Unicast checksum compatibility = /,
];

function topology(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf('------< VRRP Topology >------');
  assert.ok(start >= 0, text);
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^------< .* >------$/.test(l)) break;
    if (l === '') continue;
    out.push(
      l
        .replace(/^( {3}Last transition = ).*$/, '$1<time>')
        // keepalived writes each peer's TTL window; ours writes the address alone.
        .replace(/^( {5}\S+) min_ttl \d+ max_ttl \d+$/, '$1'),
    );
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForFile(file: string, ms: number): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(file)) {
      const t = readFileSync(file, 'utf8');
      if (t.includes('VRRP Topology')) return t;
    }
    await sleep(100);
  }
  throw new Error(`no dump at ${file}`);
}

/** Runs `argv` in `ns` with /tmp bound to `tmp` (keepalived writes its dump there) until both are MASTER. */
async function dumpFrom(
  ns: string,
  tmp: string,
  argv: string[],
  pidFile: string,
  dataFile: string,
): Promise<string> {
  // A checkout under /tmp (CI clones there) would vanish under the bound directory: bind it back in first.
  const rel = relative('/tmp', REPO_ROOT);
  const keep = rel.startsWith('..')
    ? ''
    : `mkdir -p '${tmp}/${rel}' && mount --bind '${REPO_ROOT}' '${tmp}/${rel}' && `;
  const bind = keep ? `mount --rbind ${tmp} /tmp` : `mount --bind ${tmp} /tmp`;
  const inner = `${keep}${bind} && exec ${argv.map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', inner], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = Date.now() + 15_000;
  while ((out.match(/Entering MASTER STATE/g) ?? []).length < 2 && Date.now() < end) await sleep(100);
  assert.equal((out.match(/Entering MASTER STATE/g) ?? []).length, 2, out);
  await sleep(1500); // a script round after the takeovers
  process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGUSR1');
  const text = await waitForFile(dataFile, 5000);
  child.kill('SIGTERM');
  await exited;
  return text;
}

test("the SIGUSR1 VRRP Topology section is keepalived 2.2.7's, line for line", { skip }, async () => {
  // Each daemon reads the file from its own /tmp (the bound directory), where it also writes its dump.
  const refTmp = mkdtempSync(join(dir, 'ref-'));
  const oursTmp = mkdtempSync(join(dir, 'ours-'));
  writeFileSync(join(refTmp, 'keepalived.conf'), CONF);
  writeFileSync(join(oursTmp, 'keepalived.conf'), CONF);
  const conf = '/tmp/keepalived.conf';
  const ra = loneRouterNetns('ddr', cleanups);
  const oa = loneRouterNetns('ddo', cleanups);
  const [ref, ours] = await Promise.all([
    dumpFrom(
      ra.ns,
      refTmp,
      [REFERENCE_KEEPALIVED, '-n', '-l', '-D', '-P', '-f', conf, '-p', '/tmp/k.pid', '-r', '/tmp/v.pid'],
      join(refTmp, 'v.pid'),
      join(refTmp, 'keepalived.data'),
    ),
    dumpFrom(
      oa.ns,
      oursTmp,
      [process.execPath, OURS_BIN, '-n', '-l', '-f', conf, '-p', '/tmp/k.pid', '-r', '/tmp/v.pid'],
      join(oursTmp, 'k.pid'),
      join(oursTmp, 'keepalived.data'),
    ),
  ]);
  const theirs = topology(ref).filter((l) => !NOT_WRITTEN.some((re) => re.test(l)));
  // Ours alone: "Master router" while MASTER (see dumps.ts).
  const mine = topology(ours).filter((l) => !/^ {3}Master router = /.test(l));
  assert.deepEqual(mine, theirs);
});
