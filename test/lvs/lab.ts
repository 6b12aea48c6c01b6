// LVS-NAT lab: a client namespace (198.51.100.10, .20 on eth0), a director namespace holding the VIP
// 198.51.100.100 on its client side and 192.0.2.1 on a bridge towards three real-server namespaces
// (192.0.2.11–13, default route via the director), each running a small HTTP server on 8080 that answers
// its own name. The director also runs a "sorry" HTTP server on 127.0.0.1:8081. Every namespace and
// process is removed by close().
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConntrackFlusher } from '../../src/lvs/ct-flush.js';
import type { ServiceSpec } from '../../src/lvs/dataplane.js';
import { NftDataplane } from '../../src/lvs/nft-dataplane.js';
import { cliFlowReader } from '../../src/lvs/nft-flows.js';
import { cliRunner } from '../../src/lvs/nft-runner.js';
import {
  createNetns,
  deleteNetns,
  ip,
  type Lab,
  nsExec,
  tsxInFreshNetns,
  tsxInNetns,
} from '../helpers/netns.js';
import { dr, NO_FLAGS } from './fixtures.js';

export const VIP = '198.51.100.100';
export const VIP6 = '2001:db8:1::100';
export const REALS6 = ['2001:db8:2::11', '2001:db8:2::12', '2001:db8:2::13'];
export const REALS = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];

export const serverJs = (name: string, host: string, port: number): string => `
const http = require('node:http');
const s = http.createServer((q, r) => { r.setHeader('connection', 'close'); r.end('${name}'); });
s.listen(${port}, '${host}', () => console.log('ready'));
`;

/** Runs `count` HTTP requests to the VIP from `from`, `concurrency` at a time; prints {names, errors}. */
export const clientJs = `
const http = require('node:http');
const [count, conc, from, port, ms, target, sport, portBase] = process.argv.slice(1).map((x, i) => (i === 2 || i === 5 ? x : Number(x)));
let nextPort = portBase;
const names = []; let errors = 0; const errs = [];
const deadline = ms > 0 ? Date.now() + ms : Infinity;
let started = 0;
// A fixed source port, reused by the next request at once: plain HTTP/1.0 over a socket that waits for the
// server's FIN and then resets, so the client keeps no TIME_WAIT for the port.
function onePort() {
  return new Promise((res) => {
    const net = require('node:net');
    let b = ''; let done = false;
    const fin = (err) => { if (done) return; done = true; if (err) { errors++; errs.push(err); } else names.push(b.split('\\r\\n\\r\\n').slice(1).join('')); res(); };
    const c = net.connect({ host: target, port, localAddress: from, localPort: sport, allowHalfOpen: true }, () => c.write('GET / HTTP/1.0\\r\\n\\r\\n'));
    c.setTimeout(3000, () => { c.destroy(); fin('timeout'); });
    c.on('data', (d) => (b += d));
    c.on('end', () => { fin(); c.resetAndDestroy(); });
    c.on('error', (e) => fin(e.code || e.message));
  });
}
function one() {
  if (sport) return onePort();
  return new Promise((res) => {
    const localPort = sport || (portBase ? nextPort++ : undefined);
    const q = http.get({ host: target, port, path: '/', localAddress: from, localPort, agent: false, timeout: 3000 }, (r) => {
      let b = ''; r.on('data', (d) => (b += d));
      // A fixed source port is reused at once: end with a reset, so the client keeps no TIME_WAIT.
      r.on('end', () => { names.push(b); res(); });
    });
    q.on('timeout', () => q.destroy(new Error('timeout')));
    q.on('error', (e) => { errors++; errs.push(e.code || e.message); res(); });
  });
}
async function worker() {
  while ((ms > 0 ? Date.now() < deadline : started < count)) { started++; await one(); }
}
Promise.all(Array.from({ length: conc }, worker)).then(() => console.log(JSON.stringify({ names, errors, errs: errs.slice(0, 5) })));
`;

export interface ClientResult {
  names: string[];
  errors: number;
  errs: string[];
}

/**
 * Sends `once` (one request) until one is answered without error, at most `tries` times `gapMs` apart: the
 * service has come up (VRRP took the VIP, the checker programmed the data plane). It does not fail: the
 * test's own requests that follow say whether it is up.
 */
export async function untilServed(once: () => Promise<ClientResult>, tries = 50, gapMs = 200): Promise<void> {
  for (let k = 0; k < tries && (await once()).errors > 0; k++) await new Promise((r) => setTimeout(r, gapMs));
}

/** Starts `node -e js` in `ns`; resolves at its first output (it is ready), rejects if it exits first. */
function startScript(procs: ChildProcess[], ns: string, js: string, what: string): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', js], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(p);
  return new Promise((resolve, reject) => {
    p.stdout?.once('data', () => resolve());
    p.once('exit', (c) => reject(new Error(`${what} exited ${c}`)));
  });
}

/** Starts `node -e serverJs` in `ns`; resolves once it listens. */
export function startServer(
  procs: ChildProcess[],
  ns: string,
  name: string,
  host: string,
  port: number,
): Promise<void> {
  return startScript(procs, ns, serverJs(name, host, port), `server ${name}`);
}

export interface ClientOpts {
  count?: number;
  concurrency?: number;
  from?: string;
  port?: number;
  durationMs?: number;
  /** Address to connect to (default the IPv4 VIP). */
  target?: string;
  /** A fixed client source port (requests one after the other reuse it). */
  sport?: number;
}

/**
 * Source ports of counted runs: handed out in sequence, so that no two connections of one test file share a
 * port. A port the kernel picks at bind time is random and can repeat one used a moment before (the client
 * keeps no TIME_WAIT: the server closes first), and a direct-routing director then sends that connection
 * where its flow entry points, as it must, which spoils a test counting the scheduler's choices.
 */
let nextClientPort = 20000 + Math.floor(Math.random() * 20000);

/** Runs the HTTP client in `ns` against the VIP. */
export function runClient(procs: ChildProcess[], ns: string, opts: ClientOpts): Promise<ClientResult> {
  const counted = !opts.sport && (opts.count ?? 0) > 0 && !((opts.durationMs ?? 0) > 0);
  let portBase = 0;
  if (counted) {
    if (nextClientPort + (opts.count ?? 0) > 60000) nextClientPort = 20000;
    portBase = nextClientPort;
    nextClientPort += opts.count ?? 0;
  }
  const args = [
    String(opts.count ?? 0),
    String(opts.concurrency ?? 1),
    opts.from ?? '198.51.100.10',
    String(opts.port ?? 80),
    String(opts.durationMs ?? 0),
    opts.target ?? VIP,
    String(opts.sport ?? 0),
    String(portBase),
  ];
  return jsonOfScript<ClientResult>(procs, ns, clientJs, args);
}

/** Runs a node script (`-e`) in `ns` and resolves with the JSON it prints last (rejects when there is none). */
export function jsonOfScript<T>(procs: ChildProcess[], ns: string, js: string, args: string[]): Promise<T> {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', js, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(p);
  let out = '';
  p.stdout?.setEncoding('utf8');
  p.stdout?.on('data', (d: string) => {
    out += d;
  });
  return new Promise<T>((resolve, reject) => {
    p.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim()) as T);
      } catch {
        reject(new Error(`client exited ${code}: ${out}`));
      }
    });
  });
}

/**
 * A real server of a DR LAN (dr.test.ts and the others): `addr/24` on eth0, the VIP on lo, and ARP for the VIP
 * left to the director (arp_ignore=1, arp_announce=2). With `v6`, the same for IPv6 (nodad): IPv6 has no
 * arp_ignore, but Linux answers neighbour solicitations only for addresses of the interface asked, so the VIP
 * on lo stays silent on eth0.
 */
export function drRealServer(
  lab: Lab,
  name: string,
  addr: string,
  v6?: { addr: string; vip: string },
  vip = VIP,
): string {
  const ns = lab.addHost(name);
  for (const k of ['all', 'eth0'])
    for (const kv of ['arp_ignore=1', 'arp_announce=2'])
      nsExec(ns, 'sysctl', ['-qw', `net.ipv4.conf.${k}.${kv}`]);
  ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
  ip('-n', ns, 'addr', 'add', `${vip}/32`, 'dev', 'lo');
  if (v6) {
    ip('-n', ns, 'addr', 'add', `${v6.addr}/64`, 'dev', 'eth0', 'nodad');
    ip('-n', ns, 'addr', 'add', `${v6.vip}/128`, 'dev', 'lo', 'nodad');
  }
  return ns;
}

/**
 * Resolves once no address in `namespaces` is tentative (IPv6 duplicate address detection done), at most
 * `timeoutMs`. Our addresses are added `nodad`, but each interface's link-local address goes through DAD
 * (1-2 s after the link comes up, longer when kworkers wait for a CPU), and a neighbour solicitation whose
 * packet's source is not an address of the outgoing interface — the director forwarding a client's packet,
 * a DR real server answering from the VIP on lo — is sent from that link-local address, or not at all
 * while it is tentative: such a first contact waited ~2 s here (measured: 2.04 s, 10 ms once DAD was done;
 * docs/lvs.md, "IPv6 first contact and DAD").
 */
export async function ipv6Settled(namespaces: readonly string[], timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = namespaces.filter(
      (ns) => ip('-n', ns, '-6', '-o', 'addr', 'show', 'tentative').trim() !== '',
    );
    if (left.length === 0) return;
    if (Date.now() > end)
      throw new Error(`IPv6 addresses still tentative after ${timeoutMs} ms in ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** dr.test.ts's real servers' addresses (IPv4, IPv6), on the client's and director's LAN. */
export const DR_RS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
export const DR_RS6 = ['2001:db8:1::11', '2001:db8:1::12', '2001:db8:1::13'];

/** A DR LAN's client (198.51.100.10) and director (198.51.100.1), IPv4 on eth0, as hosts of `lab`. */
export function drClientDirector(
  lab: Lab,
  clientName = 'cl',
  directorName = 'dir',
): { client: string; director: string } {
  const client = lab.addHost(clientName);
  ip('-n', client, 'addr', 'add', '198.51.100.10/24', 'dev', 'eth0');
  const director = lab.addHost(directorName);
  ip('-n', director, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0');
  return { client, director };
}

/**
 * The DR LAN's service `web`: TCP VIP:80, rr over the three DR_RS on port 80, no flags; `over` replaces
 * whole fields.
 */
export const drService = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  name: 'web',
  family: 4,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address: VIP, port: 80 }],
  scheduler: 'rr',
  flags: { ...NO_FLAGS },
  reals: DR_RS.map((a) => dr(a, 80)),
  sorryActive: false,
  ...over,
});

/**
 * The dual-stack DR LAN of dr.test.ts, dr-fwmark.test.ts and dr-traffic.test.ts: a client (198.51.100.10,
 * 2001:db8:1::10), a director (198.51.100.1, 2001:db8:1::1, the VIPs on eth0) and three real servers
 * (DR_RS, DR_RS6: hosts `${prefix}rs1..3`, in `reals`) each serving HTTP on port 80 with its name rs1..rs3.
 * Its IPv6 is usable once ipv6Settled(lab's hosts) has resolved.
 */
export async function drLan(
  lab: Lab,
  procs: ChildProcess[],
  prefix = '',
): Promise<{ client: string; director: string; reals: string[] }> {
  const { client, director } = drClientDirector(lab, `${prefix}cl`, `${prefix}dir`);
  ip('-n', client, 'addr', 'add', '2001:db8:1::10/64', 'dev', 'eth0', 'nodad');
  ip('-n', director, 'addr', 'add', `${VIP}/32`, 'dev', 'eth0');
  ip('-n', director, 'addr', 'add', '2001:db8:1::1/64', 'dev', 'eth0', 'nodad');
  ip('-n', director, 'addr', 'add', `${VIP6}/128`, 'dev', 'eth0', 'nodad');
  const reals = DR_RS.map((addr, i) =>
    drRealServer(lab, `${prefix}rs${i + 1}`, addr, { addr: DR_RS6[i]!, vip: VIP6 }),
  );
  await Promise.all(reals.map((ns, i) => startServer(procs, ns, `rs${i + 1}`, '::', 80)));
  return { client, director, reals };
}

/** The nftables data plane of a DR LAN's director: DR in and out on eth0, flows read in its namespace. */
export const drDataplane = (director: string): NftDataplane =>
  new NftDataplane(cliRunner({ netns: director }), {
    dr: { ingress: ['eth0'], egress: 'eth0' },
    flows: cliFlowReader(director),
  });

/**
 * Counts the packets from the VIPs (`ip saddr` / `ip6 saddr`, with `match` after) arriving on a director's
 * eth0, where DR replies must not come: installs the counters, returns their reader (one number a VIP).
 */
export function replyCounter(
  director: string,
  vips: { v4: string; v6?: string },
  match = '',
): () => number[] {
  const rules = [
    'add table netdev kats_cnt',
    'add chain netdev kats_cnt c { type filter hook ingress device "eth0" priority -500; policy accept; }',
    `add rule netdev kats_cnt c ip saddr ${vips.v4} ${match} counter`,
    ...(vips.v6 ? [`add rule netdev kats_cnt c ip6 saddr ${vips.v6} ${match} counter`] : []),
  ];
  const r = nsExec(director, 'nft', [rules.join('; ')]);
  if (r.status !== 0) throw new Error(`reply counter: ${r.stderr}`);
  return () =>
    [
      ...nsExec(director, 'nft', ['list', 'chain', 'netdev', 'kats_cnt', 'c']).stdout.matchAll(
        /counter packets (\d+)/g,
      ),
    ].map((m) => Number(m[1]));
}

const udpServerJs = (name: string, host: string, port: number): string => `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send('${name}', r.port, r.address));
s.bind(${port}, '${host}', () => console.log('ready'));
`;

/**
 * Sends `count` datagrams to `target`:port (default the VIP) from one fixed source port, one after the
 * other; prints the repliers.
 */
const udpClientJs = `
const s = require('node:dgram').createSocket('udp4');
const [count, port, sport] = process.argv.slice(1, 4).map(Number);
const target = process.argv[4] || '${VIP}';
const names = []; let errors = 0;
s.bind(sport, '198.51.100.10', async () => {
  for (let i = 0; i < count; i++) {
    await new Promise((res) => {
      const t = setTimeout(() => { errors++; s.removeAllListeners('message'); res(); }, 1000);
      s.once('message', (m) => { clearTimeout(t); names.push(String(m)); res(); });
      s.send('q', port, target);
    });
  }
  console.log(JSON.stringify({ names, errors, errs: [] }));
  s.close();
});
`;

/** Starts a UDP server in `ns` answering each datagram with `name`; resolves once it is bound. */
export function startUdpServer(
  procs: ChildProcess[],
  ns: string,
  name: string,
  host: string,
  port: number,
): Promise<void> {
  return startScript(procs, ns, udpServerJs(name, host, port), 'udp server');
}

/** Sends `count` datagrams from 198.51.100.10:`sport` in `ns` to `target`:`port`, one after the other. */
export function udpRun(
  procs: ChildProcess[],
  ns: string,
  o: { count: number; port: number; sport: number; target?: string },
): Promise<ClientResult> {
  return jsonOfScript<ClientResult>(procs, ns, udpClientJs, [
    String(o.count),
    String(o.port),
    String(o.sport),
    o.target ?? VIP,
  ]);
}

export class NatLab {
  client: string;
  director: string;
  reals: string[] = [];
  #procs: ChildProcess[] = [];
  #ns: string[] = [];

  /** `prefix` starts every namespace label, so concurrent test files' namespaces are told apart. */
  constructor(readonly prefix = 'lvs') {
    this.client = this.#add(`${prefix}cl`);
    this.director = this.#add(`${prefix}dir`);
    ip(
      '-n',
      this.client,
      'link',
      'add',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      'c0',
      'netns',
      this.director,
    );
    ip('-n', this.client, 'addr', 'add', '198.51.100.10/24', 'dev', 'eth0');
    ip('-n', this.client, 'addr', 'add', '198.51.100.20/24', 'dev', 'eth0');
    ip('-n', this.client, 'link', 'set', 'eth0', 'up');
    ip('-n', this.director, 'addr', 'add', '198.51.100.1/24', 'dev', 'c0');
    ip('-n', this.director, 'addr', 'add', `${VIP}/32`, 'dev', 'c0');
    ip('-n', this.director, 'link', 'set', 'c0', 'up');
    ip('-n', this.director, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.director, 'addr', 'add', '192.0.2.1/24', 'dev', 'br0');
    // IPv6 alongside: client 2001:db8:1::10, director 2001:db8:1::1 + VIP6, real servers 2001:db8:2::1x.
    ip('-n', this.client, 'addr', 'add', '2001:db8:1::10/64', 'dev', 'eth0', 'nodad');
    ip('-n', this.director, 'addr', 'add', '2001:db8:1::1/64', 'dev', 'c0', 'nodad');
    ip('-n', this.director, 'addr', 'add', `${VIP6}/128`, 'dev', 'c0', 'nodad');
    ip('-n', this.director, 'addr', 'add', '2001:db8:2::1/64', 'dev', 'br0', 'nodad');
    nsExec(this.director, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    ip('-n', this.director, 'link', 'set', 'br0', 'up');
    for (const k of [
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.route_localnet=1',
      'net.ipv4.conf.c0.route_localnet=1',
    ])
      nsExec(this.director, 'sysctl', ['-qw', k]);
    REALS.forEach((addr, i) => {
      const ns = this.#add(`${prefix}rs${i + 1}`);
      ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `r${i}`, 'netns', this.director);
      ip('-n', this.director, 'link', 'set', `r${i}`, 'master', 'br0', 'up');
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'route', 'add', 'default', 'via', '192.0.2.1');
      ip('-n', ns, 'addr', 'add', `${REALS6[i]}/64`, 'dev', 'eth0', 'nodad');
      ip('-n', ns, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1');
      this.reals.push(ns);
    });
  }

  #add(label: string): string {
    const ns = createNetns(label);
    this.#ns.push(ns);
    return ns;
  }

  /** Resolves once no IPv6 address of the lab is tentative (see ipv6Settled): before IPv6 traffic. */
  ipv6Settled(): Promise<void> {
    return ipv6Settled([this.client, this.director, ...this.reals]);
  }

  /** Starts the HTTP servers (rs1..rs3 on 8080, sorry on the director's 127.0.0.1:8081); resolves when all listen. */
  async startServers(): Promise<void> {
    const starts = this.reals.map((_ns, i) => this.startReal(i));
    starts.push(this.#server(this.director, 'sorry', '127.0.0.1', 8081));
    await Promise.all(starts);
  }

  readonly #realProcs = new Map<number, ChildProcess>();

  /** (Re)starts real server `i`'s HTTP server (rs{i+1} on 8080). */
  startReal(i: number): Promise<void> {
    const before = this.#procs.length;
    const started = this.#server(this.reals[i]!, `rs${i + 1}`, '::', 8080);
    this.#realProcs.set(i, this.#procs[before]!);
    return started;
  }

  /** Stops real server `i`'s HTTP server (its host stays: connections are refused). */
  async stopReal(i: number): Promise<void> {
    const p = this.#realProcs.get(i);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  /** UDP servers answering their name on `port` (default 5353) in each real server. */
  async startUdpServers(port = 5353): Promise<void> {
    await Promise.all(
      this.reals.map((ns, i) => startUdpServer(this.#procs, ns, `rs${i + 1}`, REALS[i]!, port)),
    );
  }

  /** Sends `count` datagrams to VIP:`port` from client source port `sport`. */
  udpRun(count: number, port: number, sport: number): Promise<ClientResult> {
    return udpRun(this.#procs, this.client, { count, port, sport });
  }

  #server(ns: string, name: string, host: string, port: number): Promise<void> {
    return startServer(this.#procs, ns, name, host, port);
  }

  /** Runs the client: `count` requests (or, with `durationMs`, as many as fit), `concurrency` in flight. */
  clientRun(opts: ClientOpts): Promise<ClientResult> {
    return runClient(this.#procs, this.client, opts);
  }

  close(): void {
    for (const p of this.#procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const ns of this.#ns) deleteNetns(ns);
  }
}

export function counts(names: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of names) c[n] = (c[n] ?? 0) + 1;
  return c;
}

const flusherMain = fileURLToPath(new URL('./ct-flush-main.ts', import.meta.url));

/** The real netlink conntrack flusher (src/lvs/ct-flush.ts), run inside namespace `ns`. */
export function nsFlusher(ns: string): ConntrackFlusher {
  return {
    async flush(marks) {
      const r = spawnSync('ip', tsxInNetns(ns, flusherMain, marks.map(String)), { encoding: 'utf8' });
      if (r.status !== 0) return [`flusher exited ${r.status}: ${r.stderr}`];
      return JSON.parse(r.stdout) as string[];
    },
    close() {},
  };
}

/**
 * The ruleset part of an `outputsPerMode` output, without the elements of the traffic counter set
 * (nft-model.ts COUNTER_SET): the packets fill it, and they differ between runs.
 */
export function rulesetOf(output: string): string {
  return output
    .slice(output.indexOf('table '))
    .replace(/(\tset ctr \{[^}]*?flags dynamic\n)\t\telements = \{[^}]*\}\n/, '$1');
}

/**
 * Runs `main` (a file of test/lvs) once per mode, each in a namespace of its own that is deleted after the
 * run, with the mode as its one argument; returns each run's output. The raw-batch tests compare the
 * raw path's ruleset with the libnftables path's this way.
 */
export function outputsPerMode(label: string, main: string, modes: string[]): string[] {
  return modes.map((mode) =>
    tsxInFreshNetns(label, fileURLToPath(new URL(main, import.meta.url)), [mode], { timeoutMs: 60_000 }),
  );
}

/** Marks every packet for the VIP with 9 in the director's mangle prerouting (the administrator's rule). */
export function markVip(director: string): void {
  const r = nsExec(director, 'nft', [
    [
      'add table inet kats_mangle',
      'add chain inet kats_mangle m { type filter hook prerouting priority mangle; policy accept; }',
      `add rule inet kats_mangle m ip daddr ${VIP} meta mark set 9`,
    ].join('; '),
  ]);
  if (r.status !== 0) throw new Error(`marking the VIP: ${r.stderr}`);
}
