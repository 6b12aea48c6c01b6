// A LAN of namespaces for the daemon tests that need more than one host (two routers, a real server, a mail
// exchanger…), and the one after() hook that stops what such a test file started: router logs printed when
// KATS_SHOW_LOGS is set, every router killed, then the test's own closers, child processes SIGKILLed, the
// labs closed and the routers' directories removed.
import type { ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { killAllRouters, type Router } from '../daemon/router.js';
import { ip, Lab } from './netns.js';

export class RouterLabs {
  readonly routers: Router[] = [];
  readonly procs: ChildProcess[] = [];
  /** Run after the routers are killed, in order (helpers, mail sinks, a browser). */
  readonly closers: (() => void | Promise<void>)[] = [];
  readonly #labs: Lab[] = [];

  /** `hook`: when to close — after the file (default) or afterEach for a lab per test. */
  constructor(hook: (fn: () => Promise<void>) => void = after) {
    hook(() => this.close());
  }

  /**
   * A lab `label` with one host per entry of `hosts`: its name → its eth0 address/prefix (e.g.
   * `{ r1: '192.0.2.1/24' }`), the address and further `ip addr add` words (`['2001:db8::1/64', 'nodad']`),
   * or null for none. Returns each host's namespace by name.
   */
  open<K extends string>(label: string, hosts: Record<K, string | string[] | null>): Record<K, string> {
    return this.openLab(label, hosts).ns;
  }

  /** open(), with the Lab itself (its bridge and ports). */
  openLab<K extends string>(
    label: string,
    hosts: Record<K, string | string[] | null>,
  ): { lab: Lab; ns: Record<K, string> } {
    const opened = openLan(label, hosts);
    this.#labs.push(opened.lab);
    return opened;
  }

  /** Routers the test started, for their logs and their directories. */
  add(...routers: Router[]): void {
    this.routers.push(...routers);
  }

  async close(): Promise<void> {
    if (process.env.KATS_SHOW_LOGS) for (const r of this.routers) console.log(r.log());
    killAllRouters();
    for (const c of this.closers.splice(0)) await c();
    for (const p of this.procs.splice(0)) p.kill('SIGKILL');
    for (const l of this.#labs.splice(0)) l.close();
    for (const r of this.routers.splice(0)) r.removeDir();
  }
}

/** A Lab as RouterLabs.openLab() makes it, for a file that closes it itself (a cleanupAfter list). */
export function openLan<K extends string>(
  label: string,
  hosts: Record<K, string | string[] | null>,
): { lab: Lab; ns: Record<K, string> } {
  const lab = new Lab(label);
  const ns = {} as Record<K, string>;
  for (const name of Object.keys(hosts) as K[]) {
    ns[name] = lab.addHost(name);
    const address = hosts[name];
    if (address === null) continue;
    const [addr, ...words] = typeof address === 'string' ? [address] : address;
    ip('-n', ns[name], 'addr', 'add', addr!, 'dev', 'eth0', ...words);
  }
  return { lab, ns };
}

/** Two routers on one LAN, the most common lab. */
export const TWO_ROUTERS = { r1: '192.0.2.1/24', r2: '192.0.2.2/24' } as const;
