// Configuration-layer benchmark: a generated keepalived.conf with 10,000 vrrp_instances (VRIDs spread
// over eth0..eth39, so no VRID repeats on an interface and family) and 1,000 virtual servers of 10
// real servers each with a TCP_CHECK. Measures:
//   1. ours, parse + validate in a fresh child process on the built JS (dist/), host checks off —
//      wall time of the two calls, the child's peak RSS (process.resourceUsage().maxRSS) and heap;
//   2. ours, `keepalived-ts -t -f FILE` (whole process, host checks on) in a namespace with eth0..eth39;
//   3. the reference `keepalived -t -f FILE` (Debian 2.2.7) in the same kind of namespace.
// Targets for (1): under 1 s and under 200 MB.
// Run: npm run build && node --import tsx bench/config.ts   (root is needed for 2 and 3)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createNetns, deleteNetns, isRoot } from '../test/helpers/netns.js';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const DIST = join(REPO_ROOT, 'dist');
const BIN = join(REPO_ROOT, 'bin', 'keepalived-ts');
const REFERENCE = '/usr/sbin/keepalived';
const GNU_TIME = '/usr/bin/time';

const INSTANCES = 10_000;
const INTERFACES = 40;
const VIRTUAL_SERVERS = 1_000;
const REAL_SERVERS_PER_VS = 10;
const OUR_RUNS = 5;

const TARGET_WALL_S = 1;
const TARGET_RSS_MB = 200;

/** The configuration text; every address comes from the documentation ranges. */
export function generateConfig(): string {
  const out: string[] = ['global_defs {', '  router_id bench', '}'];
  for (let k = 0; k < INSTANCES; k++) {
    const ifIndex = k % INTERFACES;
    const vrid = 1 + Math.floor(k / INTERFACES);
    out.push(
      `vrrp_instance VI_${k} {`,
      '  state BACKUP',
      `  interface eth${ifIndex}`,
      `  virtual_router_id ${vrid}`,
      `  priority ${50 + (k % 150)}`,
      '  advert_int 1',
      '  virtual_ipaddress {',
      `    192.0.2.${1 + (k % 250)}/24 dev eth${ifIndex}`,
      '  }',
      '}',
    );
  }
  for (let v = 0; v < VIRTUAL_SERVERS; v++) {
    out.push(
      `virtual_server 198.51.100.${1 + (v % 250)} ${1000 + v} {`,
      '  delay_loop 6',
      '  lb_algo wrr',
      '  lb_kind NAT',
      '  protocol TCP',
    );
    for (let r = 0; r < REAL_SERVERS_PER_VS; r++)
      out.push(
        `  real_server 192.0.2.${1 + ((v * REAL_SERVERS_PER_VS + r) % 250)} ${2000 + r} {`,
        '    weight 1',
        '    TCP_CHECK {',
        '      connect_timeout 3',
        '    }',
        '  }',
      );
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}

interface Measure {
  label: string;
  wallS: number;
  rssMB: number;
  heapMB?: number;
  exit: number | null;
  messages: number;
  note?: string;
}

/** The in-process measurement, run by a fresh `node` on the built JS so nothing else is in the heap. */
const CHILD_SCRIPT = `
const [load, validate] = await Promise.all([
  import(process.env.KATS_LOAD_URL), import(process.env.KATS_VALIDATE_URL)]);
const file = process.env.KATS_BENCH_FILE;
const t0 = performance.now();
const { config, diag } = load.loadConfig(file, { configId: 'bench', env: {} });
const t1 = performance.now();
validate.validateConfig(config, diag, { host: null });
const t2 = performance.now();
const heap = process.memoryUsage().heapUsed;
process.stdout.write(JSON.stringify({
  parseMs: t1 - t0, validateMs: t2 - t1, maxRssKB: process.resourceUsage().maxRSS, heapBytes: heap,
  instances: config.vrrpInstances.length, virtualServers: config.virtualServers.length,
  realServers: config.virtualServers.reduce((n, v) => n + v.realServers.length, 0),
  messages: diag.list.length, exit: diag.exitCode(),
}));
`;

interface ChildReport {
  parseMs: number;
  validateMs: number;
  maxRssKB: number;
  heapBytes: number;
  instances: number;
  virtualServers: number;
  realServers: number;
  messages: number;
  exit: number;
}

function measureOursInProcess(file: string): { best: Measure; runs: ChildReport[] } {
  const runs: ChildReport[] = [];
  for (let k = 0; k < OUR_RUNS; k++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT], {
      encoding: 'utf8',
      env: {
        ...process.env,
        KATS_BENCH_FILE: file,
        KATS_LOAD_URL: pathToFileURL(join(DIST, 'config', 'load.js')).href,
        KATS_VALIDATE_URL: pathToFileURL(join(DIST, 'config', 'validate.js')).href,
      },
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) throw new Error(`measurement child failed: ${r.stderr}`);
    runs.push(JSON.parse(r.stdout) as ChildReport);
  }
  const sorted = [...runs].sort((a, b) => a.parseMs + a.validateMs - (b.parseMs + b.validateMs));
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    runs,
    best: {
      label: `ours: parse+validate, host=null (median of ${OUR_RUNS})`,
      wallS: (median.parseMs + median.validateMs) / 1000,
      rssMB: Math.max(...runs.map((r) => r.maxRssKB)) / 1024,
      heapMB: median.heapBytes / 2 ** 20,
      exit: median.exit,
      messages: median.messages,
      note: `parse ${median.parseMs.toFixed(0)} ms + validate ${median.validateMs.toFixed(0)} ms`,
    },
  };
}

/** A namespace holding lo and eth0..eth39 (veths whose peers sit in a second, hidden namespace). */
function createBenchNamespace(): { ns: string; close: () => void } {
  const ns = createNetns('bench');
  const peers = createNetns('benchp');
  const batch: string[] = [];
  for (let k = 0; k < INTERFACES; k++) {
    batch.push(`link add eth${k} type veth peer name p${k} netns ${peers}`, `link set eth${k} up`);
  }
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: `${batch.join('\n')}\n` });
  return {
    ns,
    close: () => {
      deleteNetns(ns);
      deleteNetns(peers);
    },
  };
}

/** Runs a whole process under GNU time in the namespace: wall time and the largest process's peak RSS. */
function measureProcess(label: string, ns: string, argv: string[], timeoutMs: number): Measure {
  const t0 = performance.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, GNU_TIME, '-f', 'KATS_TIME %e %M', ...argv], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 << 20,
  });
  const wallS = (performance.now() - t0) / 1000;
  const m = /KATS_TIME ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  const stderrLines = (r.stderr ?? '').split('\n').filter((l) => l && !l.startsWith('KATS_TIME'));
  const exitMatch = /Command exited with non-zero status (\d+)/.exec(r.stderr ?? '');
  const timedOut = r.signal !== null && !m;
  return {
    label,
    wallS: m ? Number(m[1]) : wallS,
    rssMB: m ? Number(m[2]) / 1024 : Number.NaN,
    exit: timedOut ? null : exitMatch ? Number(exitMatch[1]) : (r.status ?? null),
    messages: stderrLines.filter((l) => !l.startsWith('Command exited')).length,
    ...(timedOut ? { note: `killed after ${timeoutMs / 1000} s` } : {}),
  };
}

function distIsCurrent(): boolean {
  const built = join(DIST, 'config', 'load.js');
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const srcDir = join(REPO_ROOT, 'src', 'config');
  const newest = (dir: string): number =>
    Math.max(
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  return newest(srcDir) <= builtAt;
}

function printTable(rows: Measure[]): void {
  const header = ['run', 'wall s', 'max RSS MB', 'heap used after MB', 'exit', 'messages', 'note'];
  const cells = rows.map((r) => [
    r.label,
    r.wallS.toFixed(3),
    Number.isNaN(r.rssMB) ? '-' : r.rssMB.toFixed(1),
    r.heapMB === undefined ? '-' : r.heapMB.toFixed(1),
    r.exit === null ? '-' : String(r.exit),
    String(r.messages),
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) console.log(line(c));
}

function main(): void {
  if (!distIsCurrent()) {
    console.log('dist/ is missing or older than src/config: building (npm run build)…');
    execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'kats-bench-config-'));
  try {
    const file = join(dir, 'keepalived.conf');
    const text = generateConfig();
    writeFileSync(file, text);
    const lines = text.split('\n').length - 1;
    console.log(
      `config: ${INSTANCES} vrrp_instances on eth0..eth${INTERFACES - 1}, ${VIRTUAL_SERVERS} virtual servers × ` +
        `${REAL_SERVERS_PER_VS} real servers with TCP_CHECK; ${lines} lines, ${(text.length / 2 ** 20).toFixed(1)} MB`,
    );
    const rows: Measure[] = [];
    const ours = measureOursInProcess(file);
    const r0 = ours.runs[0]!;
    if (r0.instances !== INSTANCES || r0.virtualServers !== VIRTUAL_SERVERS)
      console.log(`warning: model has ${r0.instances} instances, ${r0.virtualServers} virtual servers`);
    rows.push(ours.best);

    if (isRoot() && existsSync(GNU_TIME)) {
      const { ns, close } = createBenchNamespace();
      try {
        rows.push(
          measureProcess(
            'ours: keepalived-ts -t (whole process)',
            ns,
            [process.execPath, BIN, '-t', '-f', file],
            120_000,
          ),
        );
        if (existsSync(REFERENCE))
          rows.push(
            measureProcess('keepalived 2.2.7 -t (whole run)', ns, [REFERENCE, '-t', '-f', file], 600_000),
          );
        else console.log(`${REFERENCE} not installed: reference row skipped`);
      } finally {
        close();
      }
    } else console.log('not root or no GNU time: the namespace rows are skipped');

    printTable(rows);
    const b = ours.best;
    const verdict = b.wallS < TARGET_WALL_S && b.rssMB < TARGET_RSS_MB ? 'met' : 'MISSED';
    console.log(
      `target (ours, parse+validate): < ${TARGET_WALL_S} s and < ${TARGET_RSS_MB} MB RSS — ${verdict} ` +
        `(${b.wallS.toFixed(3)} s, ${b.rssMB.toFixed(1)} MB)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Runs when executed, not when imported (generateConfig is reusable).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
