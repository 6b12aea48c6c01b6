// Shared pieces of the interop tests: one VRRP instance configuration that both keepalived-ts and the
// reference keepalived (Debian 2.2.7) read, host preparation in a Lab, starting either implementation as a
// Router, and a teardown that stops daemons gracefully, then SIGKILLs whatever is still running inside the
// test's own namespaces (keepalived's VRRP child outlives a SIGKILLed parent for a moment) before the
// namespaces go.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { holds, Router } from '../daemon/router.js';
import { ip, isRoot, Lab } from '../helpers/netns.js';
import { tcpdumpInstalled } from './capture.js';

export const REFERENCE = '/usr/sbin/keepalived';
export const referenceInstalled = (): boolean => existsSync(REFERENCE);

/** A further need of an interop test: whether it is met here, and what the skip says when not. */
export type Need = readonly [met: () => boolean, missing: string];
export const TCPDUMP: Need = [tcpdumpInstalled, 'tcpdump not installed'];

/** Why an interop test cannot run here — it needs root and the reference keepalived, then `also` — or false. */
export function interopSkip(...also: Need[]): string | false {
  if (!isRoot()) return 'needs root';
  if (!referenceInstalled()) return 'reference keepalived not installed';
  for (const [met, missing] of also) if (!met()) return missing;
  return false;
}

export type Impl = 'ts' | 'ka';
export const implName = (i: Impl) => (i === 'ts' ? 'keepalived-ts' : 'keepalived');

/** Why a test of `impl` alone in a namespace cannot run here (root; the reference for 'ka'), or false. */
export function implSkip(impl: Impl): string | false {
  if (!isRoot()) return 'needs root for network namespaces';
  return impl === 'ka' && !referenceInstalled() ? 'the reference keepalived is not installed' : false;
}

export interface InstanceSpec {
  version: 2 | 3;
  family: 4 | 6;
  unicast: boolean;
  vrid: number;
  /** Seconds, as written in the config (v2 whole seconds, v3 centisecond steps). */
  advertIntS: number;
  /** v2 only: `authentication { auth_type PASS|AH auth_pass … }`. */
  auth?: { type: 'PASS' | 'AH'; pass: string };
}

/** Host k's own address on the LAN (k ≥ 1): 192.0.2.k or 2001:db8::k. */
export const hostAddr = (family: 4 | 6, k: number) => (family === 4 ? `192.0.2.${k}` : `2001:db8::${k}`);
export const vipOf = (family: 4 | 6) => (family === 4 ? '192.0.2.100' : '2001:db8::100');
const prefixOf = (family: 4 | 6) => (family === 4 ? 24 : 64);

/** A keepalived.conf both implementations accept; `peers` are the other hosts' addresses (unicast only). */
export function instanceConf(
  spec: InstanceSpec,
  priority: number,
  self: string,
  peers: string[],
  name = 'VI_1',
): string {
  const unicast = spec.unicast
    ? `  unicast_src_ip ${self}\n  unicast_peer {\n${peers.map((p) => `    ${p}\n`).join('')}  }\n`
    : '';
  const auth =
    spec.auth === undefined
      ? ''
      : `  authentication {\n    auth_type ${spec.auth.type}\n    auth_pass ${spec.auth.pass}\n  }\n`;
  return `
vrrp_instance ${name} {
  state BACKUP
  interface eth0
  virtual_router_id ${spec.vrid}
  version ${spec.version}
  priority ${priority}
  advert_int ${spec.advertIntS}
${unicast}${auth}  virtual_ipaddress {
    ${vipOf(spec.family)}/${prefixOf(spec.family)}
  }
}
`;
}

/**
 * Adds host `label` to the lab with address number k. IPv6: DAD is switched off on eth0 (and the link bounced
 * so the link-local address is regenerated without it), so neither implementation waits ~1.5 s for its
 * link-local source, at start or after a link cut flushes the addresses.
 */
export function addHost(lab: Lab, label: string, family: 4 | 6, k: number): string {
  const ns = lab.addHost(label);
  if (family === 6) {
    sysctl(ns, 'net.ipv6.conf.eth0.accept_dad', '0');
    sysctl(ns, 'net.ipv6.conf.eth0.accept_ra', '0');
    ip('-n', ns, 'link', 'set', 'eth0', 'down');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'addr', 'add', `${hostAddr(6, k)}/64`, 'dev', 'eth0', 'nodad');
  } else {
    ip('-n', ns, 'addr', 'add', `${hostAddr(4, k)}/24`, 'dev', 'eth0');
  }
  return ns;
}

/**
 * One ping between every pair of hosts, so that each has the others' link-layer addresses before any daemon
 * starts. A node taking over in unicast mode otherwise resolves its peers first (an ARP or ND exchange before
 * its first advert), and on a loaded test machine that exchange's softirq work can wait behind other tests'
 * long enough for a bystander's Master_Down to run out: the scenarios judge VRRP, which on a real LAN finds
 * its peers resolved or resolves them in well under a millisecond.
 */
export function resolveNeighbours(nss: string[], addrs: string[], family: 4 | 6): void {
  for (let a = 0; a < nss.length; a++)
    for (let b = a + 1; b < nss.length; b++) {
      const ping = ['ping', `-${family}`, '-c1', '-W5', addrs[b]!];
      const r = spawnSync('ip', ['netns', 'exec', nss[a]!, ...ping], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${nss[a]} cannot ping ${addrs[b]}: ${r.stdout}${r.stderr}`);
    }
}

export function sysctl(ns: string, key: string, value: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`], { stdio: 'ignore' });
}

/** Starts keepalived-ts (`-n -l -D`) or the reference keepalived (`-n -l -D --vrrp`, pid files in its dir). */
export function startPeer(
  impl: Impl,
  name: string,
  ns: string,
  conf: string | ((dir: string) => string),
): Router {
  if (impl === 'ts') return new Router(name, ns, conf);
  return new Router(name, ns, conf, { command: referenceCommand });
}

/**
 * argv for the reference keepalived with its pid files in the router's directory: the VRRP child only, or
 * with `bfd` every child the configuration asks for (and the BFD child's pid file).
 */
export function referenceCommand(
  { conf: file, dir }: { conf: string; dir: string },
  o: { bfd?: boolean } = {},
): string[] {
  return [
    REFERENCE,
    ...(o.bfd ? [] : ['--vrrp']),
    ...daemonArgs({ conf: file, dir }),
    ...(o.bfd ? ['-b', join(dir, 'k_bfd.pid')] : []),
  ];
}

/**
 * The flags either implementation starts with here: in the foreground, logging to the console with detail,
 * the configuration `conf`, and its pid files in `dir`.
 */
export function daemonArgs({ conf: file, dir }: { conf: string; dir: string }): string[] {
  return [
    '-n',
    '-l',
    '-D',
    '-f',
    file,
    '-p',
    join(dir, 'k.pid'),
    '-r',
    join(dir, 'k_vrrp.pid'),
    '-c',
    join(dir, 'k_check.pid'),
  ];
}

/** The namespaces (of `nss`) whose eth0 holds `address`. */
export function holders(nss: string[], address: string): string[] {
  return nss.filter((ns) => holds(ns, address));
}

/** SIGKILLs every process still inside `ns` (only namespaces this test created are passed here). */
export function killProcessesIn(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (r.stdout ?? '').split('\n').map(Number)) {
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone (or a zombie awaiting its reaper)
      }
    }
  }
}

/** Graceful stop of every running router (bounded), then a sweep of the lab's namespaces, then the lab. */
export async function teardown(lab: Lab | null, routers: Router[]): Promise<void> {
  await Promise.all(routers.filter((r) => r.running).map((r) => r.stop('SIGTERM', 2000)));
  if (lab) {
    for (const ns of [...lab.hosts.values(), lab.bridgeNs]) killProcessesIn(ns);
    lab.close();
  }
  if (process.env.KATS_SHOW_LOGS) for (const r of routers) console.log(r.log());
  for (const r of routers) r.removeDir();
}

/** The lab and routers of the test running, torn down (teardown) after each test of the file. */
export class LabPerTest {
  lab: Lab | null = null;
  routers: Router[] = [];

  constructor() {
    afterEach(async () => {
      await teardown(this.lab, this.routers);
      this.lab = null;
      this.routers = [];
    });
  }

  open(name: string): Lab {
    this.lab = new Lab(name);
    return this.lab;
  }
}

/**
 * Polls `cond` every 10 ms until true. Unlike router.ts's waitUntil, the failure message is built at the
 * deadline, so it shows the logs and addresses as they were when the wait gave up.
 */
export async function pollUntil(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Milliseconds from `t0` to a log line (the daemon's own ms stamp when it has one, else arrival time). */
export function msSince(t0: number, line: { stampMs: number | null; rxMs: number }): number {
  return (line.stampMs ?? line.rxMs) - t0;
}
