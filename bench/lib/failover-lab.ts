// A LAN of network namespaces for failover demos and benchmarks: one bridge namespace, router namespaces
// (eth0 192.0.2.1, .2, …) and a client namespace (eth0 192.0.2.10), each joined to the bridge by a veth pair.
// Cutting a router's link sets its bridge-side port down, so the router sees carrier loss — the same event
// as a pulled cable. Namespace names are `<prefix>-<label>-<tag>` with a per-run tag; everything is
// registered with cleanup.ts and removed on any exit path.
// Addresses: 192.0.2.0/24 only (RFC 5737 documentation range).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { forgetNamespace, trackNamespace } from './cleanup.js';

export const LAN_PREFIX_LEN = 24;
export const CLIENT_ADDRESS = '192.0.2.10';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface LabHost {
  label: string;
  ns: string;
  address: string;
  /** The bridge-side veth end, in the bridge namespace. */
  port: string;
}

export class FailoverLab {
  readonly tag = randomBytes(3).toString('hex');
  readonly bridgeNs: string;
  readonly routers: LabHost[] = [];
  readonly client: LabHost;
  #closed = false;

  /** `prefix` names the run (e.g. `kats-demo`); `routerCount` routers get 192.0.2.1 … */
  constructor(prefix: string, routerCount: number) {
    this.bridgeNs = this.#netns(prefix, 'br');
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
    for (let k = 1; k <= routerCount; k++) this.routers.push(this.#host(prefix, `r${k}`, `192.0.2.${k}`));
    this.client = this.#host(prefix, 'client', CLIENT_ADDRESS);
  }

  #netns(prefix: string, label: string): string {
    const name = `${prefix}-${label}-${this.tag}`;
    ip('netns', 'add', name);
    trackNamespace(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  #host(prefix: string, label: string, address: string): LabHost {
    const ns = this.#netns(prefix, label);
    // The port lives in the bridge namespace only, so a short fixed name cannot collide with anything.
    const port = `p-${label}`;
    ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'addr', 'add', `${address}/${LAN_PREFIX_LEN}`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    return { label, ns, address, port };
  }

  router(label: string): LabHost {
    const h = this.routers.find((r) => r.label === label);
    if (!h) throw new Error(`no router ${label}`);
    return h;
  }

  /** Carrier loss on the router's eth0. */
  cut(host: LabHost): void {
    ip('-n', this.bridgeNs, 'link', 'set', host.port, 'down');
  }

  restore(host: LabHost): void {
    ip('-n', this.bridgeNs, 'link', 'set', host.port, 'up');
  }

  /** Addresses (without prefix) on eth0 of `host`. */
  addresses(host: LabHost): string[] {
    const r = spawnSync('ip', ['-n', host.ns, '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    const out: string[] = [];
    for (const line of (r.stdout ?? '').split('\n')) {
      const m = /\binet6? ([0-9a-f.:]+)\//.exec(line);
      if (m?.[1]) out.push(m[1]);
    }
    return out;
  }

  /** The routers currently holding `address`. */
  holders(address: string): LabHost[] {
    return this.routers.filter((r) => this.addresses(r).includes(address));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of [...this.routers, this.client, { ns: this.bridgeNs }]) {
      spawnSync('ip', ['netns', 'del', h.ns]);
      forgetNamespace(h.ns);
    }
  }
}
