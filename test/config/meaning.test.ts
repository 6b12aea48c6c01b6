// Meaning, not only verdicts (issue 13): the reference keepalived 2.2.7 runs each configuration alone on a link
// in a namespace and writes what it understood to its data dump (SIGUSR1, /tmp/keepalived.data); keepalived-ts
// reads the same file (`--dump-conf` in the same namespace) and the two must agree on what each instance
// runs with: base and effective priority, preemption, the VIPs with their prefix lengths, the unicast peers,
// the tracked scripts with weight and reverse, and each vrrp_script's command. The effective priority on our
// side comes from the pure priority core (src/vrrp/priority.ts) with the scripts' known results.
// keepalived writes its dump to /tmp: a directory of this test is bind-mounted there, inside the mount
// namespace `ip netns exec` makes, so the host's /tmp is untouched.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { KeepalivedConfig } from '../../src/config/model.js';
import { computePriority, type TrackerDef, trackerKey } from '../../src/vrrp/priority.js';
import { CASES_DIR, OURS_BIN, REFERENCE_KEEPALIVED, referenceAvailable } from '../helpers/keepalived-ref.js';
import { isRoot, loneRouterNetns } from '../helpers/netns.js';
import { generatedConfig } from './meaning-generator.js';

const skip = !isRoot() ? 'needs root' : !referenceAvailable() ? 'keepalived not installed' : false;

/** What one instance runs with, as either implementation states it. */
interface InstanceMeaning {
  priority: number;
  accept: boolean;
  effective: number;
  preempt: boolean;
  vips: string[];
  peers: string[];
  tracked: string[];
}
interface Meaning {
  instances: Record<string, InstanceMeaning>;
  /** vrrp_script name → the command's first word and weight. */
  scripts: Record<string, string>;
}

/** Reads keepalived's data dump text into the fields compared. */
function parseKeepalivedDump(text: string): Meaning {
  const instances: Record<string, InstanceMeaning> = {};
  const scripts: Record<string, string> = {};
  let cur: InstanceMeaning | null = null;
  let list: string[] | null = null;
  let script: string | null = null;
  let section = '';
  for (const line of text.split('\n')) {
    const sec = /^------< (.+) >------$/.exec(line);
    if (sec) {
      section = sec[1]!;
      cur = null;
      list = null;
      continue;
    }
    if (section === 'VRRP Topology') {
      const m = /^ VRRP Instance = (.+)$/.exec(line);
      if (m) {
        cur = { priority: 0, accept: true, effective: 0, preempt: true, vips: [], peers: [], tracked: [] };
        instances[m[1]!] = cur;
        list = null;
        continue;
      }
      if (!cur) continue;
      const kv = /^ {3}(\S[^=]*?) = (.*)$/.exec(line);
      if (kv) {
        list = null;
        if (kv[1] === 'Priority') cur.priority = Number(kv[2]);
        else if (kv[1] === 'Effective priority') cur.effective = Number(kv[2]);
        else if (kv[1] === 'Preempt') cur.preempt = kv[2] === 'enabled';
        else if (kv[1] === 'Accept') cur.accept = kv[2] === 'enabled';
        continue;
      }
      if (/^ {3}Virtual IP \(\d+\):$/.test(line)) list = cur.vips;
      else if (/^ {3}Unicast Peer :$/.test(line)) list = cur.peers;
      else if (/^ {3}Tracked scripts :$/.test(line)) list = cur.tracked;
      else if (/^ {5}\S/.test(line) && list) {
        const words = line.trim().split(/\s+/);
        // VIP: ADDR[/LEN] dev …; peer: ADDR min_ttl …; tracked: NAME weight W [reverse].
        if (list === cur.vips)
          list.push(
            words[0]!.includes('/') ? words[0]! : `${words[0]}/${words[0]!.includes(':') ? 128 : 32}`,
          );
        else if (list === cur.peers) list.push(words[0]!);
        else list.push(line.trim());
      } else if (/^ {3}\S/.test(line)) list = null;
    } else if (section === 'VRRP Scripts') {
      const m = /^ VRRP Script = (.+)$/.exec(line);
      if (m) script = m[1]!;
      // Quoted words, except a file check's first word (`</dev/tcp/…`).
      const cmd = /^ {3}Command = '?([^' ]*)/.exec(line);
      if (cmd && script) scripts[script] = cmd[1]!;
      const w = /^ {3}Weight = (-?\d+)(.*)$/.exec(line);
      if (w && script) scripts[script] += ` weight ${w[1]}${w[2]!.includes('reverse') ? ' reverse' : ''}`;
    }
  }
  return { instances, scripts };
}

/** The same fields from our model; `scriptOk` is each script's known result (true for /usr/bin/true). */
function ourMeaning(cfg: KeepalivedConfig, scriptOk: (argv0: string) => boolean): Meaning {
  const instances: Record<string, InstanceMeaning> = {};
  const scripts: Record<string, string> = {};
  const byName = new Map(cfg.vrrpScripts.map((s) => [s.name, s]));
  for (const s of cfg.vrrpScripts)
    scripts[s.name] = `${s.script?.argv[0] ?? ''} weight ${s.weight}${s.reverse ? ' reverse' : ''}`;
  for (const i of cfg.vrrpInstances) {
    const priority = i.priority ?? 100;
    const defs: TrackerDef[] = [];
    const readings = new Map<string, { up: boolean }>();
    const tracked: string[] = [];
    for (const r of i.trackScripts) {
      const s = byName.get(r.name);
      if (!s) continue;
      const weight = r.weight ?? s.weight;
      defs.push({ name: r.name, kind: 'script', weight, reverse: r.reverse });
      readings.set(trackerKey('script', r.name), { up: scriptOk(s.script?.argv[0] ?? '') });
      tracked.push(`${r.name} weight ${weight}${r.reverse ? ' reverse' : ''}`);
    }
    // Tracked interfaces: the lone router's are up (a missing one makes both refuse the file). A sync-group
    // member's weight applies though 2.2.7 says it ignores it (docs/config-meaning.md).
    const readingsAll = new Map<string, { up: boolean }>(readings);
    for (const r of i.trackInterfaces) {
      defs.push({ name: r.name, kind: 'interface', weight: r.weight ?? 0, reverse: r.reverse });
      readingsAll.set(trackerKey('interface', r.name), { up: true });
    }
    const strict = i.strictMode ?? cfg.globalDefs.vrrpStrict;
    instances[i.name] = {
      priority,
      accept: i.accept ?? (!strict || priority === 255),
      effective: computePriority(priority, defs, readingsAll).effective,
      preempt: !i.nopreempt,
      vips: i.virtualIpaddresses.map((v) => `${v.address}/${v.prefixLength}`),
      peers: i.unicastPeers.map((p) => p.address),
      tracked,
    };
  }
  return { instances, scripts };
}

function run(
  cmd: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (e, out, err) =>
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : -1) : 0,
        out: String(out),
        err: String(err),
      }),
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(file: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes('------< Interfaces >------')) return true;
    await sleep(100);
  }
  return false;
}

/** The reference daemons' process groups still running: killed on any exit, interrupted runs included. */
const groups = new Set<number>();
process.on('exit', () => {
  for (const g of groups)
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone */
    }
});

/** Runs the reference keepalived on `conf` in `ns` until its scripts have run, and returns its data dump. */
async function referenceDump(ns: string, conf: string, dir: string): Promise<string> {
  writeFileSync(join(dir, 'keepalived.conf'), readFileSync(conf));
  const inner = [
    `mount --bind ${dir} /tmp`,
    `exec ${REFERENCE_KEEPALIVED} -n -l -f /tmp/keepalived.conf -p /tmp/k.pid -r /tmp/v.pid -c /tmp/c.pid`,
  ].join(' && ');
  // A process group of its own: whatever keepalived leaves (its VRRP and checker children, holding the
  // stderr pipe open and with it this test process) is killed with it below.
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', inner], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  if (child.pid) groups.add(child.pid);
  let log = '';
  child.stderr.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    // Scripts run at start and every interval (≥1 s): 2.5 s usually leaves them settled; on a loaded machine
    // a script may still be waiting for its first result (keepalived: "Init state = INIT", or an instance's
    // "Number of track scripts init" above 0), so the dump is taken again, up to 4 times a second apart.
    await sleep(2500);
    const vpid = Number(readFileSync(join(dir, 'v.pid'), 'utf8'));
    let text = '';
    for (let k = 0; k < 5; k++) {
      rmSync(join(dir, 'keepalived.data'), { force: true });
      process.kill(vpid, 'SIGUSR1');
      const ok = await waitFor(join(dir, 'keepalived.data'), 5000);
      assert.ok(ok, `keepalived wrote no data dump\n${log}`);
      text = readFileSync(join(dir, 'keepalived.data'), 'utf8');
      if (!/Init state = INIT\b|Number of track scripts init = [1-9]/.test(text)) break;
      await sleep(1000);
    }
    return text;
  } finally {
    const mpid = existsSync(join(dir, 'k.pid')) ? Number(readFileSync(join(dir, 'k.pid'), 'utf8')) : 0;
    try {
      if (mpid > 0) process.kill(mpid, 'SIGTERM');
      else child.kill('SIGTERM');
    } catch {
      /* already gone */
    }
    await Promise.race([exited, sleep(5000)]);
    try {
      if (child.pid) {
        groups.delete(child.pid);
        process.kill(-child.pid, 'SIGKILL');
      }
    } catch {
      /* the group is empty */
    }
    child.stderr.destroy();
  }
}

const CONFIGS = [
  'meaning-priority-prefix.conf',
  'meaning-blog-comments.conf',
  'meaning-strict-unicast.conf',
  'meaning-sync-weights.conf',
  'meaning-script-file-check.conf',
];

/**
 * Generated blog-style variants: each seed gives one configuration of GENERATED_INSTANCES instances, each
 * instance a variant (trailing comments, bad numbers, stray words on priority, state, nopreempt, advert_int,
 * VIP, track_script and unicast_peer lines), so one reference run judges many variants. KATS_MEANING_SEEDS
 * (comma-separated) replays or widens the run.
 */
const GENERATED_SEEDS = (process.env.KATS_MEANING_SEEDS ?? '1,2,3').split(',').map(Number);
const GENERATED_INSTANCES = 40;

/**
 * Documented departures (docs/config-meaning.md), applied to keepalived's side before comparing, so that each
 * is checked to still be there: if 2.2.7 stopped doing it, the comparison fails and the entry must go.
 */
const DEPARTURES: Record<string, { why: string; apply: (m: Meaning) => void }[]> = {
  'meaning-priority-prefix.conf': [
    {
      // Outside -t, 2.2.7 accepts a prefix length whose leading digits (none, for `abc`) parse in range, so
      // `192.0.2.12/abc` becomes a /0 VIP; its own -t says "using 32", and so do we, at all times.
      why: 'VIP prefix /abc is /0 in a running 2.2.7',
      apply: (m) => {
        const a = m.instances.A!;
        const k = a.vips.indexOf('192.0.2.12/0');
        assert.ok(k >= 0, 'the /abc departure is no longer seen in keepalived');
        a.vips[k] = '192.0.2.12/32';
      },
    },
  ],
};

describe('configuration meaning matches keepalived 2.2.7 (data dump)', { skip, concurrency: 3 }, () => {
  const cleanups: (() => void)[] = [];
  after(() => {
    for (const c of cleanups.splice(0)) c();
  });
  for (const name of [...CONFIGS, ...GENERATED_SEEDS.map((seed) => `generated seed ${seed}`)]) {
    test(name, async () => {
      const seed = /^generated seed (\d+)$/.exec(name)?.[1];
      let conf = join(CASES_DIR, name);
      if (seed !== undefined) {
        conf = join(mkdtempSync(join(tmpdir(), 'kats-meaning-gen-')), 'generated.conf');
        cleanups.push(() => rmSync(dirname(conf), { recursive: true, force: true }));
        writeFileSync(conf, generatedConfig(Number(seed), GENERATED_INSTANCES));
      }
      const dir = mkdtempSync(join(tmpdir(), 'kats-meaning-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      // The namespaces live only as long as this test (and the after hook, and the helper's exit hook, remove
      // them too if this never gets to its finally).
      const h = loneRouterNetns('mean', cleanups);
      let refText: string;
      let ours: Awaited<ReturnType<typeof run>>;
      try {
        [refText, ours] = await Promise.all([
          referenceDump(h.ns, conf, dir),
          run('ip', ['netns', 'exec', h.ns, process.execPath, OURS_BIN, '--dump-conf', '-f', conf]),
        ]);
      } finally {
        h.close();
      }
      const ref = parseKeepalivedDump(refText);
      for (const d of DEPARTURES[name] ?? []) d.apply(ref);
      const cfg = JSON.parse(ours.out) as KeepalivedConfig;
      const mine = ourMeaning(cfg, (argv0) => argv0 === '/usr/bin/true');
      assert.ok(Object.keys(ref.instances).length > 0, refText);
      // Instance by instance, so that a difference names its instance (and its configuration lines).
      const diffs: string[] = [];
      for (const k of new Set([...Object.keys(ref.instances), ...Object.keys(mine.instances)]))
        if (JSON.stringify(mine.instances[k]) !== JSON.stringify(ref.instances[k]))
          diffs.push(
            `${k}: keepalived ${JSON.stringify(ref.instances[k])}\n    ours ${JSON.stringify(mine.instances[k])}`,
          );
      assert.deepEqual(diffs, []);
      // keepalived lists only the scripts some instance tracks; ours keeps every valid one.
      for (const [s, v] of Object.entries(ref.scripts)) assert.equal(mine.scripts[s], v, s);
    });
  }
});

test('parseKeepalivedDump reads the fields compared', () => {
  const text = [
    '------< VRRP Topology >------',
    ' VRRP Instance = VI_1',
    '   Priority = 100',
    '   Effective priority = 95',
    '   Accept = disabled',
    '   Preempt = disabled',
    '   Virtual IP (2):',
    '     192.0.2.101 dev eth0 scope global',
    '     192.0.2.100/24 dev eth0 scope global',
    '   fd_in 13, fd_out 14',
    '   Tracked scripts :',
    '     chk weight 5 reverse',
    '------< VRRP Scripts >------',
    ' VRRP Script = chk',
    "   Command = '/usr/bin/true'",
    '   Weight = -20',
  ].join('\n');
  assert.deepEqual(parseKeepalivedDump(text), {
    instances: {
      VI_1: {
        priority: 100,
        accept: false,
        effective: 95,
        preempt: false,
        vips: ['192.0.2.101/32', '192.0.2.100/24'],
        peers: [],
        tracked: ['chk weight 5 reverse'],
      },
    },
    scripts: { chk: '/usr/bin/true weight -20' },
  });
});
