// keepalived's `use_vmac` (RFC 5798 §7.3 virtual MAC): one macvlan per instance on its interface, carrying the
// VRRP MAC 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6), named by the instance or `vrrp.VRID`.
// The instance then runs on that link: its adverts leave from it (unless `vmac_xmit_base`), its VIPs are put
// on it, its GARP/NA carry its MAC. Facts from keepalived (vrrp_vmac.c, vrrp_if_config.c) and from running the
// installed keepalived 2.2.7 in a namespace:
//  - macvlan mode *private*: frames one macvlan sends are never handed to a sibling macvlan on the same parent,
//    so the VMACs of two instances on one host do not hear each other's adverts or answer each other's ARP.
//  - IPv4 VMAC: arp_ignore=1 (answer ARP only for its own addresses), accept_local=1 (hear a peer whose
//    source is one of our addresses), rp_filter=0 (receive while it has no address), promote_secondaries=1;
//    IPv6 disabled on it (keepalived keeps it only for IPv6 excluded VIPs).
//  - IPv4 parent: arp_ignore=1 and arp_filter=1, so the parent does not answer ARP for the VIPs with its own
//    MAC; the previous values are put back when the last VMAC on that parent goes (keepalived's source means
//    to; the installed 2.2.7 leaves 1/1 behind after SIGTERM, seen in a namespace).
//  - Not done: 2.2.7 also adds an nftables rule duplicating the VMAC's IGMP reports onto the parent (switches
//    doing IGMP snooping; keepalived issue #1957); global_defs vmac_prefix / vmac_addr_prefix are ignored.
//  - addrgenmode none (no EUI-64 link-local from the VRRP MAC: RFC 5798 §7.4); an IPv6 VMAC gets the parent's
//    link-local instead (or unicast_src_ip, or one built from the parent's MAC), /64, so adverts come from a
//    non-VIP address. keepalived 2.2.7 adds it with preferred_lft 0 ("deprecated"); we add it without that.
//  - Sockets: multicast ones on the VMAC; unicast ones (and all with vmac_xmit_base) on the parent, as 2.2.7
//    does — a peer resolves our unicast source to the parent's MAC, so unicast adverts arrive on the parent.
//  - The VMAC is brought up at creation and stays up in every state; on stop it is deleted (its VIPs go with it).
//  - A link of that name from an earlier run is reused when it is a macvlan with the right MAC and parent, and
//    deleted and recreated when it is a macvlan that differs; a non-macvlan of that name is never touched.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../common/logger.js';
import type { KeepalivedConfig, VrrpInstanceConfig } from '../config/model.js';
import { parseMac } from '../net/inet.js';
import type { LinkInfo, Netlink } from '../net/netlink.js';
import type { IpFamily } from '../vrrp/advert.js';
import type { VmacErrorCode } from './runtime-error.js';

/** What one use_vmac instance needs on this host. */
export interface VmacSpec {
  instance: string;
  /** The VMAC's name: `use_vmac NAME`, or `vrrp.VRID`. */
  name: string;
  /** The instance's configured interface. */
  parent: string;
  family: IpFamily;
  vrid: number;
  /** "00:00:5e:00:01:33", or the MAC `use_vmac` gave. */
  mac: string;
  /** `vmac_xmit_base`: adverts go out of (and come in on) the parent; VIPs and GARP stay on the VMAC. */
  xmitBase: boolean;
  /** IPv6 source to put on an IPv6 VMAC when unicast_src_ip gives one. */
  source6?: string;
  /** IPv4 instance with IPv6 excluded VIPs: keep IPv6 on the VMAC. */
  keepIpv6: boolean;
}

export type VmacResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: VmacErrorCode; instance?: string; message: string };

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6. */
export function vmacAddress(family: IpFamily, vrid: number): string {
  return `00:00:5e:00:0${family === 6 ? 2 : 1}:${hex2(vrid)}`;
}

/** The longest interface name the kernel takes (IFNAMSIZ less its NUL). */
const IFNAME_MAX = 15;

/**
 * keepalived's default VMAC name, `PREFIX[TAG].VRID` (PREFIX: vmac_prefix, else `vrrp`): a name too long for
 * the kernel loses the end of its prefix, never the VRID.
 */
export function defaultVmacName(vrid: number, prefix = 'vrrp', tag = ''): string {
  const tail = `${tag}.${vrid}`;
  return `${prefix.slice(0, Math.max(0, IFNAME_MAX - tail.length))}${tail}`;
}

/**
 * A default name not yet `taken`, as keepalived 2.2.7 picks them (seen in a namespace, instances in config
 * order): `vrrp.VRID`; else for IPv6 `vrrp6.VRID`; else `vrrp1.VRID`, `vrrp2.VRID`, … (`vrrp` being the
 * vmac_prefix when one is set).
 */
function freeDefaultName(
  vrid: number,
  family: IpFamily,
  taken: ReadonlySet<string>,
  prefix?: string,
): string {
  const first = [
    defaultVmacName(vrid, prefix),
    ...(family === 6 ? [defaultVmacName(vrid, prefix, '6')] : []),
  ];
  for (const name of first) if (!taken.has(name)) return name;
  for (let n = 1; ; n++) {
    const name = defaultVmacName(vrid, prefix, String(n));
    if (!taken.has(name)) return name;
  }
}

function specOf(i: VrrpInstanceConfig, taken: ReadonlySet<string>, prefix?: string): VmacSpec | undefined {
  if (!i.useVmac || i.vrid === undefined || i.interface === undefined) return undefined;
  const family: IpFamily = i.family ?? i.virtualIpaddresses[0]?.family ?? 4;
  const spec: VmacSpec = {
    instance: i.name,
    name: i.useVmac.name ?? freeDefaultName(i.vrid, family, taken, prefix),
    parent: i.interface,
    family,
    vrid: i.vrid,
    mac: i.useVmac.mac ?? vmacAddress(family, i.vrid),
    xmitBase: i.vmacXmitBase,
    keepIpv6: family === 4 && i.virtualIpaddressesExcluded.some((v) => v.family === 6),
  };
  if (family === 6 && i.unicastSrcIp?.includes(':')) spec.source6 = i.unicastSrcIp;
  return spec;
}

/** Every use_vmac instance's VMAC, in configuration order (default names never collide with other VMACs). */
export function vmacSpecs(cfg: KeepalivedConfig): VmacSpec[] {
  const taken = new Set<string>();
  for (const i of cfg.vrrpInstances) if (i.useVmac?.name) taken.add(i.useVmac.name);
  const out: VmacSpec[] = [];
  for (const i of cfg.vrrpInstances) {
    const spec = specOf(i, taken, cfg.globalDefs.vmacPrefix);
    if (!spec) continue;
    taken.add(spec.name);
    out.push(spec);
  }
  return out;
}

/** EUI-64 link-local from a MAC (RFC 4291 appendix A), for a parent without a link-local of its own. */
export function eui64LinkLocal(mac: string): string | undefined {
  const b = parseMac(mac);
  if (b?.length !== 6) return undefined;
  const g = (x: number, y: number) => ((x << 8) | y).toString(16);
  return `fe80::${g(b[0]! ^ 0x02, b[1]!)}:${g(b[2]!, 0xff)}:${g(0xfe, b[3]!)}:${g(b[4]!, b[5]!)}`;
}

// ===== sysctls (per network namespace: /proc/sys/net follows the reading process's namespace) =====

function sysctlPath(family: IpFamily, ifname: string, key: string): string {
  return `/proc/sys/net/ipv${family}/conf/${ifname}/${key}`;
}

function readSysctl(family: IpFamily, ifname: string, key: string): string | undefined {
  try {
    return readFileSync(sysctlPath(family, ifname, key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(family: IpFamily, ifname: string, key: string, value: string): string | undefined {
  try {
    writeFileSync(sysctlPath(family, ifname, key), value);
    return undefined;
  } catch (e) {
    return `cannot set net.ipv${family}.conf.${ifname}.${key}=${value}: ${(e as Error).message}`;
  }
}

/** IN6_ADDR_GEN_MODE_NONE: the kernel makes no link-local on the link. */
const ADDR_GEN_MODE_NONE = '1';

interface ParentArp {
  refs: number;
  arpIgnore: string | undefined;
  arpFilter: string | undefined;
}

interface LiveVmac {
  spec: VmacSpec;
  index: number;
}

/** The VMACs this daemon set up; `tearDown()` removes them and restores the parents' ARP sysctls. */
export class Vmacs {
  readonly #nl: Netlink;
  readonly #log: Logger;
  readonly #live: LiveVmac[] = [];
  readonly #parents = new Map<string, ParentArp>();

  private constructor(nl: Netlink, log: Logger) {
    this.#nl = nl;
    this.#log = log;
  }

  /**
   * Creates (or reuses) the VMAC of every spec. Instances whose parent is missing are skipped (the engine plan
   * reports them). On a failure the VMACs made so far are removed again and the error comes back.
   */
  static async setUp(nl: Netlink, specs: VmacSpec[], log: Logger): Promise<VmacResult<Vmacs>> {
    const v = new Vmacs(nl, log);
    for (const spec of specs) {
      const r = await v.#one(spec);
      if (!r.ok) {
        await v.tearDown();
        return r;
      }
    }
    return { ok: true, value: v };
  }

  /**
   * Reload: creates the VMACs of `specs` not set up yet (instances the reload adds). Those it made before a
   * failure stay (their instances are simply not started); the error comes back.
   */
  async add(specs: VmacSpec[]): Promise<VmacResult<void>> {
    for (const spec of specs) {
      if (this.#live.some((x) => x.spec.name === spec.name && x.spec.instance === spec.instance)) continue;
      const r = await this.#one(spec);
      if (!r.ok) return r;
    }
    return { ok: true, value: undefined };
  }

  async #one(spec: VmacSpec): Promise<VmacResult<void>> {
    const fail = (code: VmacErrorCode, message: string): VmacResult<void> => ({
      ok: false,
      code,
      instance: spec.instance,
      message: `(${spec.instance}) ${message}`,
    });
    const links = await this.#nl.listLinks();
    if (!links.ok) return fail(links.error.code, links.error.message);
    const parent = links.value.find((l) => l.name === spec.parent);
    if (!parent) return { ok: true, value: undefined };
    if (this.#live.some((x) => x.spec.name === spec.name)) {
      return fail('KA_VMAC_NAME_TAKEN', `VMAC ${spec.name} is already used by another instance`);
    }
    const have = links.value.find((l) => l.name === spec.name);
    let index: number | undefined;
    if (have) {
      if (have.linkKind !== 'macvlan') {
        return fail('KA_VMAC_NAME_TAKEN', `${spec.name} exists and is not a macvlan: not touching it`);
      }
      if (have.mac === spec.mac && have.parentIndex === parent.index) {
        this.#log.info(`(${spec.instance}) reusing VMAC interface ${spec.name} from an earlier run`);
        index = have.index;
      } else {
        this.#log.info(
          `(${spec.instance}) removing old VMAC interface ${spec.name} (conflicting interface or MAC)`,
        );
        const d = await this.#nl.deleteLink(have.index);
        if (!d.ok) return fail(d.error.code, `cannot remove old VMAC ${spec.name}: ${d.error.message}`);
      }
    }
    if (index === undefined) {
      const c = await this.#nl.createMacvlan({
        name: spec.name,
        parentIndex: parent.index,
        mac: spec.mac,
        mode: 'private',
      });
      if (!c.ok)
        return fail(c.error.code, `unable to create VMAC interface ${spec.name}: ${c.error.message}`);
      index = c.value;
      this.#log.info(`(${spec.instance}) Success creating VMAC interface ${spec.name}`);
    }
    this.#live.push({ spec, index });

    const problems: (string | undefined)[] = [];
    // Before the link comes up, so the kernel never makes an EUI-64 link-local from the VRRP MAC.
    problems.push(writeSysctl(6, spec.name, 'addr_gen_mode', ADDR_GEN_MODE_NONE));
    if (spec.family === 4) {
      problems.push(writeSysctl(4, spec.name, 'arp_ignore', '1'));
      problems.push(writeSysctl(4, spec.name, 'accept_local', '1'));
      problems.push(writeSysctl(4, spec.name, 'rp_filter', '0'));
      problems.push(writeSysctl(4, spec.name, 'promote_secondaries', '1'));
      if (!spec.keepIpv6) problems.push(writeSysctl(6, spec.name, 'disable_ipv6', '1'));
      problems.push(...this.#holdParentArp(spec.parent));
    }
    for (const p of problems) if (p) this.#log.warn(`(${spec.instance}) ${p}`);

    const up = await this.#nl.setLinkUp(index, true);
    if (!up.ok) return fail(up.error.code, `cannot bring ${spec.name} up: ${up.error.message}`);

    if (spec.family === 6) {
      const ll = spec.source6 ?? (await this.#parentLinkLocal(parent));
      if (ll === undefined) return fail('KA_VMAC_NO_LINK_LOCAL', `no link-local address for ${spec.name}`);
      const a = await this.#nl.addAddress({ ifindex: index, address: ll, prefixLen: 64, nodad: true });
      if (!a.ok && a.error.code !== 'KA_NETLINK_EEXIST') {
        return fail(a.error.code, `adding link-local ${ll} to ${spec.name} failed: ${a.error.message}`);
      }
    }
    return { ok: true, value: undefined };
  }

  async #parentLinkLocal(parent: LinkInfo): Promise<string | undefined> {
    const addrs = await this.#nl.listAddresses(6);
    const own = addrs.ok
      ? addrs.value.find((a) => a.index === parent.index && /^fe[89ab]/i.test(a.address))?.address
      : undefined;
    return own ?? eui64LinkLocal(parent.mac);
  }

  /** Parent ARP sysctls, set once per parent and counted so the last VMAC puts the old values back. */
  #holdParentArp(parent: string): (string | undefined)[] {
    const held = this.#parents.get(parent);
    if (held) {
      held.refs++;
      return [];
    }
    this.#parents.set(parent, {
      refs: 1,
      arpIgnore: readSysctl(4, parent, 'arp_ignore'),
      arpFilter: readSysctl(4, parent, 'arp_filter'),
    });
    return [writeSysctl(4, parent, 'arp_ignore', '1'), writeSysctl(4, parent, 'arp_filter', '1')];
  }

  #releaseParentArp(parent: string): void {
    const held = this.#parents.get(parent);
    if (!held || --held.refs > 0) return;
    this.#parents.delete(parent);
    for (const [key, value] of [
      ['arp_ignore', held.arpIgnore],
      ['arp_filter', held.arpFilter],
    ] as const) {
      if (value === undefined) continue;
      const p = writeSysctl(4, parent, key, value);
      if (p) this.#log.warn(p);
    }
  }

  /** Deletes every VMAC set up here (newest first) and restores the parents' ARP sysctls. */
  async tearDown(): Promise<void> {
    for (const v of this.#live.splice(0).reverse()) {
      const r = await this.#nl.deleteLink(v.index);
      if (r.ok) this.#log.info(`(${v.spec.instance}) Success removing VMAC interface ${v.spec.name}`);
      else if (r.error.code !== 'KA_NETLINK_ENODEV') {
        this.#log.error(`(${v.spec.instance}) removing VMAC interface ${v.spec.name}: ${r.error.message}`);
      }
      if (v.spec.family === 4) this.#releaseParentArp(v.spec.parent);
    }
  }
}
