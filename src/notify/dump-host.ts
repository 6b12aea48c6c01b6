// The host's facts the data dump prints (dump-sections.ts HostFacts), read when the dump is written: the
// interfaces from /sys/class/net and os.networkInterfaces(), the local name, script users from /etc/passwd.
import { accessSync, constants, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { monotonicUs } from '../common/clock.js';
import { resolveIdentity } from '../common/script-identity.js';
import type { GlobalDefs } from '../config/model.js';
import type { HostFacts, InterfaceFacts } from './dump-sections.js';

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
};

/** Whether the link is a virtual one (created by software: veth, macvlan, bridge …), not a device's. */
function isVirtual(sysPath: string): boolean {
  try {
    return realpathSync(sysPath).includes('/devices/virtual/');
  } catch {
    return false;
  }
}

/** Every interface of this namespace, in index order. */
export function readInterfaces(): InterfaceFacts[] {
  let names: string[] = [];
  try {
    names = readdirSync('/sys/class/net');
  } catch {
    return [];
  }
  const addrs = networkInterfaces();
  const out: InterfaceFacts[] = [];
  for (const name of names) {
    const base = `/sys/class/net/${name}`;
    const index = Number(read(`${base}/ifindex`));
    if (!Number.isInteger(index) || index <= 0) continue;
    const hwType = Number(read(`${base}/type`));
    const list = addrs[name] ?? [];
    const hasMac = hwType !== 772 && Number(read(`${base}/addr_len`)) > 0;
    const oper = read(`${base}/operstate`);
    out.push({
      name,
      index,
      ipv4: list.filter((a) => a.family === 'IPv4').map((a) => a.address),
      ipv6: list.filter((a) => a.family === 'IPv6').map((a) => a.address),
      mac: hasMac ? read(`${base}/address`) : null,
      macBroadcast: hasMac ? read(`${base}/broadcast`) : null,
      flags: Number.parseInt(read(`${base}/flags`) || '0', 16),
      running: oper === 'up' || (oper === 'unknown' && read(`${base}/carrier`) === '1'),
      mtu: Number(read(`${base}/mtu`)),
      hwType,
      ipv6Forwarding: read(`/proc/sys/net/ipv6/conf/${name}/forwarding`) === '1',
      rpFilter: Number(read(`/proc/sys/net/ipv4/conf/${name}/rp_filter`) || 0),
      promoteSecondaries: read(`/proc/sys/net/ipv4/conf/${name}/promote_secondaries`) === '1',
      arpIgnore: Number(read(`/proc/sys/net/ipv4/conf/${name}/arp_ignore`) || 0),
      arpFilter: Number(read(`/proc/sys/net/ipv4/conf/${name}/arp_filter`) || 0),
      changeableType: hwType !== 772 && isVirtual(base),
    });
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * An interface deleted while the daemon runs, as keepalived 2.2.7 keeps listing it (docs/config-meaning.md,
 * 'Interfaces that do not exist'): index 0, no addresses, no flags, its MAC, MTU and type as last known
 * (`last`: the facts an earlier dump read; else the link's own last netlink report), rp_filter 0.
 */
export function deletedFacts(
  link: { name: string; mac: string; mtu: number },
  last: InterfaceFacts | undefined,
): InterfaceFacts {
  const mac = last?.mac ?? (link.mac === '' ? null : link.mac);
  return {
    name: link.name,
    index: 0,
    ipv4: [],
    ipv6: [],
    mac,
    macBroadcast: last?.macBroadcast ?? (mac === null ? null : 'ff:ff:ff:ff:ff:ff'),
    flags: 0,
    running: false,
    mtu: last?.mtu ?? link.mtu,
    hwType: last?.hwType ?? (mac === null ? 0 : 1),
    ipv6Forwarding: false,
    rpFilter: 0,
    promoteSecondaries: last?.promoteSecondaries ?? false,
    arpIgnore: last?.arpIgnore ?? 0,
    arpFilter: last?.arpFilter ?? 0,
    changeableType: last?.changeableType ?? false,
  };
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * keepalived's command resolution: a bare name searched on the PATH; symbolic links resolved unless
 * use_symlink_paths; null when no executable file is found.
 */
export function resolveCommand(cmd: string, keepSymlinks: boolean): string | null {
  let path = cmd;
  if (!cmd.includes('/')) {
    const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
    for (const d of dirs.length ? dirs : PATH_DIRS) {
      try {
        accessSync(`${d}/${cmd}`, constants.X_OK);
        path = `${d}/${cmd}`;
        break;
      } catch {
        /* next */
      }
    }
  }
  try {
    accessSync(path, constants.X_OK);
    return keepSymlinks ? path : realpathSync(path);
  } catch {
    return null;
  }
}

export function readHostFacts(g: GlobalDefs): HostFacts {
  const global = g.scriptUser;
  return {
    hostname: hostname(),
    interfaces: readInterfaces(),
    scriptUidGid: (own) => {
      if (own === undefined && global === undefined && g.scriptUserInvalid) return null;
      const id = resolveIdentity(own, global);
      if (id === null) return '0:0';
      return 'error' in id ? null : `${id.uid}:${id.gid}`;
    },
    resolveCommand: (cmd) => resolveCommand(cmd, g.useSymlinkPaths),
    nowS: Date.now() / 1000,
    monoNowUs: monotonicUs(),
  };
}
