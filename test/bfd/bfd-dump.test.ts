// The BFD process's SIGUSR1 data dump (/tmp/keepalived_bfd.data) against keepalived 2.2.7's, line for line:
// the same configuration in two namespace pairs, keepalived 2.2.7 on one side and ours on the other, each
// with a keepalived 2.2.7 BFD peer answering one session (Up) while the others stay Down (nobody answers),
// one passive, one IPv6, one multihop. Masked: descriptors, thread addresses (whether a thread is set is
// compared), discriminators (random) and the last-seen time (docs/bfd.md, 'Dumps').
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { takeDump } from '../helpers/dump.js';
import { OURS_BIN, REFERENCE_KEEPALIVED, referenceAvailable } from '../helpers/keepalived-ref.js';
import { deleteNetns, ip, isRoot, linkedPair } from '../helpers/netns.js';

const skip = !isRoot()
  ? 'needs root'
  : !referenceAvailable()
    ? 'keepalived 2.2.7 not installed'
    : !existsSync(OURS_BIN)
      ? `${OURS_BIN} does not exist yet`
      : false;

const CONF = `global_defs {
  router_id bfddump
}
bfd_instance b1 {
  neighbor_ip 192.0.2.2
  min_rx 100
  min_tx 100
  multiplier 3
  weight 5 reverse
}
bfd_instance b2 {
  neighbor_ip 192.0.2.3
  source_ip 192.0.2.1
  min_rx 100
  min_tx 200
  idle_tx 2000
  ttl 200
  max_hops 10
  vrrp
}
bfd_instance b3 {
  neighbor_ip 2001:db8::3
  checker
  passive
  hoplimit 20
}
bfd_instance b4 {
  neighbor_ip 192.0.2.4
  multihop
  max_hops -1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_bfd {
    b1
    b2 weight -10
  }
}
`;

/** The peer: keepalived 2.2.7's BFD answering b1 only. */
const PEER = `bfd_instance back {
  neighbor_ip 192.0.2.1
  min_rx 100
  min_tx 100
  multiplier 3
}
`;

const dir = mkdtempSync(join(tmpdir(), 'kats-bfddump-'));
const children: ChildProcess[] = [];
const namespaces: string[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const ns of namespaces) deleteNetns(ns);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A daemon in `ns` with /tmp bound to `tmp` (`ip netns exec` gives it a mount namespace of its own). A
 * program under /tmp (a checkout cloned there) would be hidden by that mount: its directory is bound into
 * `tmp` at the same place first, and the whole tree mounted over /tmp.
 */
function startIn(ns: string, tmp: string, argv: string[]): ChildProcess {
  // The program (and node's script): the first two words; the rest are paths inside the new /tmp.
  const keep = [
    ...new Set(
      argv
        .slice(0, 2)
        .filter((a) => a.startsWith('/tmp/'))
        .map((a) => dirname(dirname(a))),
    ),
  ];
  const binds = keep.map(
    (d) => `mkdir -p '${tmp}${d.slice(4)}' && mount --bind '${d}' '${tmp}${d.slice(4)}' && `,
  );
  const inner = `${binds.join('')}mount ${keep.length > 0 ? '--rbind' : '--bind'} '${tmp}' /tmp && exec ${argv.map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', inner], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function normalise(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) =>
      l
        .replace(/^( fd_in = | {3}fd_out )-?\d+$/, '$1<fd>')
        .replace(/ 0x0x[0-9a-f]+$/, ' <thread>')
        .replace(/^( {3}(local|remote) discriminator = )0x[0-9a-f]+$/, (_m, p: string, w: string) =>
          // The remote one is 0 until the neighbour is heard: keep that distinction.
          l.endsWith('= 0x0') ? l : `${p}<${w} discr>`,
        )
        .replace(/^( {3}last seen = ).*$/, '$1<time>'),
    );
}

test("the BFD data dump is keepalived 2.2.7's, line for line (Up, Down, passive, IPv6, multihop)", {
  skip,
  timeout: 90_000,
}, async () => {
  const sides = (['ref', 'ours'] as const).map((name) => {
    const [ns, peer] = linkedPair(`bd${name[0]}`, `bd${name[0]}p`);
    namespaces.push(ns, peer);
    ip('-n', ns, '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad');
    const tmp = mkdtempSync(join(dir, `${name}-`));
    const peerTmp = mkdtempSync(join(dir, `${name}-peer-`));
    writeFileSync(join(tmp, 'keepalived.conf'), CONF);
    writeFileSync(join(peerTmp, 'keepalived.conf'), PEER);
    const pids = ['-p', '/tmp/k.pid', '-r', '/tmp/v.pid', '-c', '/tmp/c.pid', '-b', '/tmp/b.pid'];
    const args = ['-n', '-l', '-f', '/tmp/keepalived.conf', ...pids];
    startIn(peer, peerTmp, [REFERENCE_KEEPALIVED, ...args]);
    startIn(
      ns,
      tmp,
      name === 'ref' ? [REFERENCE_KEEPALIVED, ...args] : [process.execPath, OURS_BIN, ...args],
    );
    // keepalived's BFD process dumps on its own SIGUSR1; ours through the main process (as for VRRP).
    return { tmp, pidFile: join(tmp, name === 'ref' ? 'b.pid' : 'k.pid') };
  });
  let theirs: string[] = [];
  let mine: string[] = [];
  const end = Date.now() + 30_000;
  await sleep(2000);
  for (;;) {
    const [t, o] = await Promise.all(
      sides.map((s) => takeDump(s.pidFile, join(s.tmp, 'keepalived_bfd.data'))),
    );
    theirs = t == null ? [] : normalise(t);
    mine = o == null ? [] : normalise(o);
    const up = (l: string[]) => l.filter((x) => x === '   local state = Up').length === 1;
    if (up(theirs) && theirs.join('\n') === mine.join('\n')) break;
    if (Date.now() > end) break;
    await sleep(1000);
  }
  assert.ok(theirs.includes('   local state = Up'), `keepalived's b1 never came Up:\n${theirs.join('\n')}`);
  assert.ok(theirs.includes(' BFD Instance = b4'), theirs.join('\n'));
  assert.deepEqual(mine, theirs);
});
