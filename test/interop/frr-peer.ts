// FRR 8.4 (zebra + vrrpd) as a VRRP peer inside a test namespace, set up as docs/frr-test-peer.md
// describes: a macvlan `vrrp4-VRID` / `vrrp6-VRID` (MAC 00:00:5e:00:01:VRID / 00:00:5e:00:02:VRID, mode bridge,
// addrgenmode random) on eth0 holding the VIP, which vrrpd keeps `protodown on` while Backup; arp_ignore=1 so a
// Backup does not answer ARP for the VIP through eth0; for IPv6 accept_dad=0 on the macvlan (else its link-local
// stays tentative while protodown and vrrpd sends from the VIP); every daemon file in one directory owned by
// `frr` (the daemons refuse to run as root). State comes from vrrpd's log (`[VRID N] [IPv4] Backup -> Master`,
// ms timestamps); VIP ownership from the macvlan (address present, link up, not protodown).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip } from '../helpers/netns.js';
import { sysctl } from './peers.js';

export const FRR_DIR = '/usr/lib/frr';
export const frrInstalled = (): boolean =>
  existsSync(join(FRR_DIR, 'vrrpd')) && existsSync(join(FRR_DIR, 'zebra')) && frrUser() !== null;

function frrUser(): { uid: number; gid: number } | null {
  const r = spawnSync('id', ['-u', 'frr'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'frr'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return null;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** FRR's names for the v4 state, mapped to keepalived's words. */
const STATE_WORD: Record<string, string> = { Master: 'MASTER', Backup: 'BACKUP', Initialize: 'INIT' };

export interface FrrTransition {
  to: string;
  /** FRR's own timestamp (log timestamp precision 3). */
  atMs: number;
}

export interface FrrOptions {
  version: 2 | 3;
  vrid: number;
  priority: number;
  advertIntMs: number;
  family: 4 | 6;
  vip: string;
  prefixLen: number;
}

/** FRR keeps a crash-log directory per daemon pid in /var/tmp/frr, left behind when the daemon is killed. */
function removeCrashDirs(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const daemon of ['zebra', 'vrrpd'])
    rmSync(`/var/tmp/frr/${daemon}.${pid}`, { recursive: true, force: true });
}

async function terminate(p: ChildProcess, timeoutMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

/** Every FRR daemon still running, SIGKILLed if the test process exits without stopping them. */
const liveDaemons = new Set<ChildProcess>();
/** Directories not yet removed, removed on exit too. */
const liveDirs = new Set<string>();
let exitHooked = false;

/**
 * `ip` argv running FRR's `daemon` in namespace `ns` with its configuration (`<daemon>.conf`), pid file,
 * zebra socket and vty socket in `dir`, no vty TCP port.
 */
export function frrDaemonArgv(ns: string, dir: string, daemon: string): string[] {
  return [
    'netns',
    'exec',
    ns,
    join(FRR_DIR, daemon),
    '-f',
    join(dir, `${daemon}.conf`),
    '-i',
    join(dir, `${daemon}.pid`),
    '-z',
    join(dir, 'zserv.api'),
    '--vty_socket',
    dir,
    '-P',
    '0',
  ];
}

export class FrrPeer {
  readonly name: string;
  readonly ns: string;
  readonly dir: string;
  readonly macvlan: string;
  readonly #procs: ChildProcess[] = [];
  #vrrpd: ChildProcess | null = null;
  readonly #vrid: number;
  readonly #family: 4 | 6;

  constructor(name: string, ns: string, o: FrrOptions) {
    this.name = name;
    this.ns = ns;
    this.#vrid = o.vrid;
    this.#family = o.family;
    this.macvlan = `vrrp${o.family}-${o.vrid}`;
    // RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
    const mac = `00:00:5e:00:0${o.family === 4 ? 1 : 2}:${o.vrid.toString(16).padStart(2, '0')}`;
    ip('-n', ns, 'link', 'add', this.macvlan, 'link', 'eth0', 'type', 'macvlan', 'mode', 'bridge');
    ip('-n', ns, 'link', 'set', this.macvlan, 'address', mac);
    // `addrgenmode random` fails at creation on this iproute2/kernel; it works before the link goes up.
    ip('-n', ns, 'link', 'set', 'dev', this.macvlan, 'addrgenmode', 'random');
    if (o.family === 6) {
      sysctl(ns, `net.ipv6.conf.${this.macvlan}.accept_dad`, '0');
      ip('-n', ns, 'addr', 'add', `${o.vip}/${o.prefixLen}`, 'dev', this.macvlan, 'nodad');
    } else {
      ip('-n', ns, 'addr', 'add', `${o.vip}/${o.prefixLen}`, 'dev', this.macvlan);
    }
    ip('-n', ns, 'link', 'set', this.macvlan, 'up');
    for (const dev of ['all', 'eth0', this.macvlan]) {
      sysctl(ns, `net.ipv4.conf.${dev}.arp_ignore`, '1');
      sysctl(ns, `net.ipv4.conf.${dev}.ignore_routes_with_linkdown`, '1');
    }
    this.dir = mkdtempSync(join(tmpdir(), `kats-frr-${name}-`));
    liveDirs.add(this.dir);
    // One config file per daemon, each naming its own log file: `log timestamp precision` only takes effect
    // for a log target set in the config (not for `--log file:` on the command line).
    const logConf = (daemon: string) => [
      `log file ${join(this.dir, `${daemon}.log`)}`,
      'log timestamp precision 3',
    ];
    writeFileSync(join(this.dir, 'zebra.conf'), [...logConf('zebra'), '!', ''].join('\n'));
    writeFileSync(
      join(this.dir, 'vrrpd.conf'),
      [
        ...logConf('vrrpd'),
        'interface eth0',
        ` vrrp ${o.vrid} version ${o.version}`,
        ` vrrp ${o.vrid} priority ${o.priority}`,
        ` vrrp ${o.vrid} advertisement-interval ${o.advertIntMs}`,
        ` vrrp ${o.vrid} ${o.family === 4 ? 'ip' : 'ipv6'} ${o.vip}`,
        '!',
        '',
      ].join('\n'),
    );
    const u = frrUser();
    if (!u) throw new Error('no frr user');
    chownSync(this.dir, u.uid, u.gid);
    chmodSync(this.dir, 0o755);
    for (const f of ['zebra.conf', 'vrrpd.conf']) chownSync(join(this.dir, f), u.uid, u.gid);
    this.#start('zebra');
  }

  #start(daemon: 'zebra' | 'vrrpd'): void {
    const argv = frrDaemonArgv(this.ns, this.dir, daemon);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const p of liveDaemons) {
          p.kill('SIGKILL');
          removeCrashDirs(p.pid);
        }
        for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
      });
    }
    const proc = spawn('ip', argv, { stdio: 'ignore' });
    liveDaemons.add(proc);
    proc.on('exit', () => liveDaemons.delete(proc));
    this.#procs.push(proc);
    if (daemon === 'vrrpd') this.#vrrpd = proc;
  }

  /** Starts vrrpd once zebra's API socket exists (vrrpd needs zebra for interfaces and protodown). */
  async startVrrpd(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(join(this.dir, 'zserv.api'))) {
      if (Date.now() > deadline)
        throw new Error(`${this.name}: zebra did not open its API socket\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#start('vrrpd');
  }

  log(): string {
    const f = join(this.dir, 'vrrpd.log');
    const z = join(this.dir, 'zebra.log');
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
    return `${read(z)}${read(f)}`
      .split('\n')
      .filter((l) => !/Refusing to start Virtual Router/.test(l))
      .map((l) => `  [${this.name}] ${l}`)
      .join('\n');
  }

  /** Transitions of our VRID and family so far, in order. */
  transitions(): FrrTransition[] {
    const f = join(this.dir, 'vrrpd.log');
    if (!existsSync(f)) return [];
    const re = new RegExp(
      `^(\\d{4})/(\\d\\d)/(\\d\\d) (\\d\\d):(\\d\\d):(\\d\\d)\\.(\\d{3}) .*\\[VRID ${this.#vrid}\\] \\[IPv${this.#family}\\] (\\w+) -> (\\w+)`,
    );
    const out: FrrTransition[] = [];
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = re.exec(line);
      if (!m) continue;
      const n = m.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
      // vrrpd stamps local time, as Date() reads it.
      const atMs = new Date(n[0], n[1] - 1, n[2], n[3], n[4], n[5], n[6]).getTime();
      out.push({ to: STATE_WORD[m[9]!] ?? m[9]!, atMs });
    }
    return out;
  }

  lastState(): string | null {
    return this.transitions().at(-1)?.to ?? null;
  }

  /** True when the VIP is usable here: on the macvlan, link up and not protodown. */
  holdsVip(vip: string): boolean {
    const r = spawnSync('ip', ['-n', this.ns, '-j', '-d', 'addr', 'show', 'dev', this.macvlan], {
      encoding: 'utf8',
    });
    try {
      const [link] = JSON.parse(r.stdout) as {
        operstate?: string;
        proto_down?: boolean;
        addr_info?: { local: string }[];
      }[];
      if (!link) return false;
      return (
        link.proto_down !== true &&
        link.operstate === 'UP' &&
        (link.addr_info ?? []).some((a) => a.local === vip)
      );
    } catch {
      return false;
    }
  }

  get running(): boolean {
    return this.#procs.some((p) => p.exitCode === null && p.signalCode === null);
  }

  /**
   * SIGTERM vrrpd only (a Master sends priority 0 and has zebra put its macvlan back to protodown), as when
   * the VRRP service alone stops; zebra keeps running, so that protodown is applied.
   */
  async stopVrrpd(timeoutMs = 3000): Promise<void> {
    if (this.#vrrpd) await terminate(this.#vrrpd, timeoutMs);
  }

  /** SIGTERM vrrpd, then zebra; SIGKILL whatever is left after `timeoutMs`. */
  async stop(timeoutMs = 3000): Promise<void> {
    for (const p of [...this.#procs].reverse()) await terminate(p, timeoutMs);
  }

  /** Removes the daemon directory and the crash-log directories FRR keeps in /var/tmp/frr for our pids. */
  removeDir(): void {
    for (const p of this.#procs) removeCrashDirs(p.pid);
    rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }
}
