// vrrp_strict's firewall (issue 13): a strict, non-owner MASTER drops traffic to its VIPs with keepalived's
// nftables table, and removes it on stop. A router namespace and a client namespace share a link; the client
// pings the VIP: no answer under vrrp_strict, an answer without it (so the check can fail). The ruleset the
// daemon installs is compared, as `nft list ruleset` prints it, with the one the reference keepalived 2.2.7
// installs for the same configuration in a lab of its own.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StrictFirewall, strictRuleset } from '../../src/daemon/strict-firewall.js';
import { OURS_BIN, REFERENCE_KEEPALIVED, referenceAvailable } from '../helpers/keepalived-ref.js';
import { createNetns, ip, isRoot, linkedPair } from '../helpers/netns.js';
import { quietLog } from '../helpers/quiet-log.js';
import { scratch } from '../helpers/scratch.js';

const hasNft = spawnSync('nft', ['--version']).status === 0;
const skip = !isRoot() ? 'needs root' : !hasNft ? 'nft not installed' : false;

const { dir, namespaces, children } = scratch('kats-strict-');

const conf = (strict: boolean) => `global_defs {
${strict ? '  vrrp_strict' : ''}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`;

/** Router and client namespaces on one link: router 192.0.2.1, client 192.0.2.2. */
function lab(label: string): { router: string; client: string } {
  const [router, client] = linkedPair(`${label}r`, `${label}c`);
  namespaces.push(router, client);
  return { router, client };
}

/** Starts a daemon in `ns` and resolves once its output matches `ready` (false on exit or after 15 s). */
function start(ns: string, argv: string[], ready: RegExp) {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const seen = new Promise<boolean>((resolve) => {
    const on = (b: Buffer) => {
      out += b.toString();
      if (ready.test(out)) resolve(true);
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    void exited.then(() => resolve(false));
    setTimeout(() => resolve(false), 15_000).unref();
  });
  return { child, seen, exited, output: () => out };
}

const ruleset = (ns: string) =>
  spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }).stdout;
const pings = (from: string, to: string) =>
  spawnSync('ip', ['netns', 'exec', from, 'ping', '-c', '1', '-W', '1', to]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs ours on the configuration until MASTER; returns the ruleset, whether the VIP answered, and after stop. */
async function runOurs(strict: boolean, label: string) {
  const { router, client } = lab(label);
  const file = join(dir, `${label}.conf`);
  writeFileSync(file, conf(strict));
  const pid = join(dir, `${label}.pid`);
  const d = start(
    router,
    [process.execPath, OURS_BIN, '-n', '-l', '-D', '-f', file, '-p', pid, '-r', `${pid}.v`],
    /Entering MASTER STATE/,
  );
  assert.ok(await d.seen, d.output());
  await sleep(300); // the table is written just after the takeover batch
  const rules = ruleset(router);
  const vipAnswers = pings(client, '192.0.2.100');
  const routerAnswers = pings(client, '192.0.2.1');
  process.kill(Number(readFileSync(pid, 'utf8')), 'SIGTERM');
  await d.exited;
  return { rules, vipAnswers, routerAnswers, rulesAfter: ruleset(router), log: d.output() };
}

describe('vrrp_strict firewall', { skip, concurrency: 3 }, () => {
  test("a strict MASTER drops traffic to its VIPs with keepalived's table, removed on stop", async () => {
    const strictRun = runOurs(true, 'sfs');
    const plainRun = runOurs(false, 'sfp');
    const [s, p] = await Promise.all([strictRun, plainRun]);
    assert.equal(s.routerAnswers, true, s.log);
    assert.equal(s.vipAnswers, false, `${s.rules}\n${s.log}`);
    assert.match(s.log, /no_accept\/strict specified, but no firewall configured - using nftables/);
    assert.match(s.log, /\(VI_1\) setting firewall drop rule/);
    assert.doesNotMatch(p.log, /using nftables/);
    assert.match(s.rules, /table ip keepalived \{/);
    assert.match(s.rules, /elements = \{ 192\.0\.2\.100 \}/);
    assert.equal(s.rulesAfter.trim(), '', s.rulesAfter);
    // Without vrrp_strict the VIP answers and no table is written.
    assert.equal(p.vipAnswers, true, p.log);
    assert.equal(p.rules.trim(), '');
  });

  test('the ruleset is the one keepalived 2.2.7 installs', {
    skip: referenceAvailable() ? false : 'keepalived not installed',
  }, async () => {
    const { router } = lab('sfk');
    const file = join(dir, 'ref.conf');
    writeFileSync(file, conf(true));
    const pidDir = mkdtempSync(join(dir, 'ref-'));
    const d = start(
      router,
      [
        REFERENCE_KEEPALIVED,
        '-n',
        '-l',
        '-D',
        '-P',
        '-f',
        file,
        '-p',
        join(pidDir, 'k.pid'),
        '-r',
        join(pidDir, 'v.pid'),
      ],
      /setting firewall drop rule/,
    );
    assert.ok(await d.seen, d.output());
    await sleep(300);
    const reference = ruleset(router);
    process.kill(Number(readFileSync(join(pidDir, 'k.pid'), 'utf8')), 'SIGTERM');
    await d.exited;
    // Ours, from the same addresses, applied in a namespace of its own and listed by nft the same way.
    const mine = createNetns('sfm');
    namespaces.push(mine);
    ip('-n', mine, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    const script = strictRuleset('keepalived', [{ address: '192.0.2.100', ifname: 'eth0' }]);
    const applied = spawnSync('ip', ['netns', 'exec', mine, 'nft', '-f', '-'], { input: script });
    assert.equal(applied.status, 0, String(applied.stderr));
    assert.equal(ruleset(mine), reference);
  });
});

// What the firewall holds, per instance and address (the data dump's nftable_set), through a master's reload.
test('the drop set is per address: a reload of a master adds the new VIPs and takes out the removed ones', async () => {
  const scripts: string[] = [];
  const fw = new StrictFirewall(quietLog, 'keepalived', -1, async (s) => {
    scripts.push(s);
    return null;
  });
  const v = (address: string) => ({ address, ifname: 'eth0' });
  fw.drop('VI_1', [v('192.0.2.100'), v('192.0.2.101')]);
  fw.drop('VI_2', [v('192.0.2.110')]);
  // Reload: 192.0.2.101 removed, 192.0.2.102 added (the engine's removeVips and addVips of the difference).
  fw.undrop('VI_1', [v('192.0.2.101')]);
  fw.drop('VI_1', [v('192.0.2.102')]);
  assert.deepEqual([...fw.dropped('VI_1')], ['192.0.2.100%eth0', '192.0.2.102%eth0']);
  // Leaving MASTER: all of them.
  fw.undrop('VI_2', [v('192.0.2.110')]);
  assert.deepEqual([...fw.dropped('VI_2')], []);
  // The table is rewritten once the batch is done, with what is held then.
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(scripts.length, 1);
  assert.match(scripts[0]!, /elements = \{ 192\.0\.2\.100, 192\.0\.2\.102 \}/);
  assert.doesNotMatch(scripts[0]!, /192\.0\.2\.110/);
});

test("the drop rule's lines are logged under -D only, as keepalived 2.2.7 logs them", () => {
  const lines: string[] = [];
  const log = {
    ...quietLog,
    info: (m: string) => lines.push(`info ${m}`),
    detail: (m: string) => lines.push(`detail ${m}`),
  };
  const fw = new StrictFirewall(log, 'keepalived', -1, async () => null);
  fw.drop('VI_1', [{ address: '192.0.2.100', ifname: 'eth0' }]);
  fw.undrop('VI_1', [{ address: '192.0.2.100', ifname: 'eth0' }]);
  assert.deepEqual(lines, [
    'detail (VI_1) setting firewall drop rule',
    'detail (VI_1) removing firewall drop rule',
  ]);
});
