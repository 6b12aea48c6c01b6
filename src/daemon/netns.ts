// `-s NAME` / `net_namespace NAME`: keepalived enters the named network namespace (/run/netns/NAME, as
// `ip netns` names them) before it opens a socket. keepalived-ts does not enter one itself yet — a Node
// process has several threads and setns() moves only one — so it runs only when it already is in that
// namespace (`ip netns exec NAME keepalived-ts …`) and otherwise refuses to start with one line: it never runs
// in the wrong namespace, where its VIPs would land on the host's interfaces. docs/config-namespaces.md.
import { statSync } from 'node:fs';

export const NETNS_DIR = '/run/netns';

export type NamespaceCheck =
  | { ok: true; name: string | null; notes: string[] }
  | { ok: false; error: string; notes: string[] };

/** Same file (device and inode): how `ip netns identify` recognises a namespace. */
function sameFile(a: string, b: string): boolean | null {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return null;
  }
}

/**
 * Which namespace to run in (-s overrides the configuration, as keepalived logs) and whether this process is
 * in it. `selfNs` and `dir` are parameters for the tests.
 */
export function checkNamespace(
  fromCli: string | undefined,
  fromConfig: string | undefined,
  selfNs = '/proc/self/ns/net',
  dir = NETNS_DIR,
): NamespaceCheck {
  const notes: string[] = [];
  if (fromCli !== undefined && fromConfig !== undefined && fromCli !== fromConfig)
    notes.push(`Overriding config net_namespace '${fromConfig}' with command line namespace '${fromCli}'`);
  const name = fromCli ?? fromConfig;
  if (name === undefined) return { ok: true, name: null, notes };
  if (name === '' || name.includes('/'))
    return { ok: false, error: `Unable to set network namespace ${name} - exiting (invalid name)`, notes };
  const same = sameFile(`${dir}/${name}`, selfNs);
  if (same === null)
    return {
      ok: false,
      error: `Unable to set network namespace ${name} - exiting (${dir}/${name} does not exist)`,
      notes,
    };
  if (!same)
    return {
      ok: false,
      error:
        `Unable to set network namespace ${name} - exiting: keepalived-ts does not enter a namespace itself yet; ` +
        `start it inside: ip netns exec ${name} keepalived-ts …`,
      notes,
    };
  notes.push(`Running in network namespace ${name}`);
  return { ok: true, name, notes };
}

/** keepalived writes its pid files under a directory per namespace; ours live beside, under our name. */
export function namespacePidFiles(name: string): {
  main: string;
  vrrp: string;
  checkers: string;
  bfd: string;
} {
  return {
    main: `/run/keepalived-ts/${name}/keepalived.pid`,
    vrrp: `/run/keepalived-ts/${name}/vrrp.pid`,
    checkers: `/run/keepalived-ts/${name}/checkers.pid`,
    bfd: `/run/keepalived-ts/${name}/bfd.pid`,
  };
}
