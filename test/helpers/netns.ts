// Network-namespace lab for tests: every namespace and host-side link this module creates carries a
// per-run unique prefix, is recorded, and is removed by cleanup() — which tests call in `after()` and which
// also runs on process exit and on SIGINT/SIGTERM, so a failing or interrupted test leaves nothing behind.
// Addresses used by tests must come from 192.0.2.0/24, 198.51.100.0/24 or 2001:db8::/32 only.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

const created = new Set<string>();
let hooksInstalled = false;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs `ip ARGS...`, throwing with stderr on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command inside namespace `ns`; returns status, stdout and stderr, never throws. */
export function nsExec(ns: string, cmd: string, args: string[], timeoutMs = 20_000) {
  // A large buffer: /proc/net/nf_conntrack after a few seconds of load is past spawnSync's 1 MiB default, which
  // ends the read with ENOBUFS and a null status.
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  const stderr = (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '');
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr };
}

/** The `ip` arguments that run a TypeScript file (through tsx) with this node inside namespace `ns`. */
export function tsxInNetns(ns: string, file: string, args: readonly string[] = []): string[] {
  return ['netns', 'exec', ns, process.execPath, '--import', 'tsx', file, ...args];
}

/**
 * Runs a TypeScript file in a namespace of its own (`label`), deleted after the run; returns its stdout and
 * throws with its stderr when it fails.
 */
export function tsxInFreshNetns(
  label: string,
  file: string,
  args: readonly string[],
  o: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): string {
  const ns = createNetns(label);
  try {
    const r = spawnSync('ip', tsxInNetns(ns, file, args), {
      encoding: 'utf8',
      timeout: o.timeoutMs,
      ...(o.env ? { env: o.env } : {}),
    });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  } finally {
    deleteNetns(ns);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupAll();
      process.exit(130);
    });
  }
}

/** A short unique tag for this run: namespace names are limited, interface names to 15 characters. */
export function uniqueTag(): string {
  return `${process.pid.toString(36).slice(-3)}${randomBytes(2).toString('hex')}`;
}

/** Creates a namespace named `kats-<label>-<tag>` with `lo` up and returns its name. */
export function createNetns(label: string): string {
  installHooks();
  const name = `kats-${label}-${uniqueTag()}`;
  ip('netns', 'add', name);
  created.add(name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/**
 * Deletes one namespace (and with it every interface inside it). A deletion that did not happen (the `ip`
 * process could not start on a loaded machine, the name still listed) is tried again, and a namespace that
 * still stays is kept on the list, so that the exit hook tries once more rather than forgetting it.
 */
export function deleteNetns(name: string): void {
  for (let k = 0; k < 3; k++) {
    spawnSync('ip', ['netns', 'del', name]);
    if (!existsSync(`/run/netns/${name}`)) {
      created.delete(name);
      return;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  process.stderr.write(`netns helper: could not delete namespace ${name}\n`);
}

function cleanupAll(): void {
  for (const n of [...created]) deleteNetns(n);
}

/**
 * A LAN segment: a bridge in its own namespace, plus one veth per host whose inside end is named `ifname`
 * (default eth0). Deleting the bridge namespace removes all the peer ends, so the link is cut.
 */
export class Lab {
  readonly bridgeNs: string;
  readonly hosts = new Map<string, string>();
  #closed = false;

  constructor(label: string) {
    this.bridgeNs = createNetns(`${label}br`);
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
  }

  /** Adds a host namespace with `ifname` on the bridge; returns the namespace name. */
  addHost(hostLabel: string, ifname = 'eth0'): string {
    const ns = createNetns(hostLabel);
    const port = `p${this.hosts.size}${uniqueTag()}`.slice(0, 15);
    ip('-n', ns, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', port, 'netns', this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'link', 'set', ifname, 'up');
    this.hosts.set(hostLabel, ns);
    return ns;
  }

  /** Name of the bridge-side port of a host, for cutting its link: `ip -n bridgeNs link set PORT down`. */
  portOf(hostLabel: string, ifname = 'eth0'): string {
    const ns = this.hosts.get(hostLabel);
    if (!ns) throw new Error(`no host ${hostLabel}`);
    const out = ip('-n', ns, '-o', 'link', 'show', ifname);
    const m = /@if(\d+)/.exec(out);
    if (!m) throw new Error(`cannot find peer of ${ifname} in ${ns}`);
    const peerIndex = m[1];
    const list = ip('-n', this.bridgeNs, '-o', 'link', 'show');
    const line = list.split('\n').find((l) => l.startsWith(`${peerIndex}: `));
    const pm = line && /^\d+: ([^@:]+)/.exec(line);
    if (!pm?.[1]) throw new Error(`peer ${peerIndex} not in ${this.bridgeNs}`);
    return pm[1];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ns of this.hosts.values()) deleteNetns(ns);
    deleteNetns(this.bridgeNs);
  }
}

/** A namespace whose only interfaces are `lo` and `eth0` (a veth whose peer stays in a hidden namespace). */
export function createLoEth0Netns(label: string): { ns: string; close: () => void } {
  const ns = createNetns(label);
  const peerNs = createNetns(`${label}p`);
  ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p', 'netns', peerNs);
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', peerNs, 'link', 'set', 'eth0p', 'up');
  return {
    ns,
    close: () => {
      deleteNetns(ns);
      deleteNetns(peerNs);
    },
  };
}

/**
 * A router alone on its link: a lo+eth0 namespace (createLoEth0Netns) with 192.0.2.1/24 on eth0. Its removal
 * goes onto `cleanups`, which the test's after hook runs.
 */
export function loneRouterNetns(label: string, cleanups: (() => void)[]): { ns: string; close: () => void } {
  const h = createLoEth0Netns(label);
  cleanups.push(h.close);
  ip('-n', h.ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  return h;
}

/**
 * Two namespaces on one link (a veth named eth0 on both sides, up): the first 192.0.2.1/24, the second
 * 192.0.2.2/24. The caller deletes both (deleteNetns, or its scratch list).
 */
export function linkedPair(labelA: string, labelB: string): [string, string] {
  const a = createNetns(labelA);
  const b = createNetns(labelB);
  ip('-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b);
  for (const [ns, n] of [
    [a, 1],
    [b, 2],
  ] as const) {
    ip('-n', ns, 'addr', 'add', `192.0.2.${n}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }
  return [a, b];
}
