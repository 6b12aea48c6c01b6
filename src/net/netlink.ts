// rtnetlink through the `netlink` package (pinned 0.3.0, prebuilt N-API binary; see
// /work/shared/notes/node-sockets.md): links, addresses, routes, rules, macvlan VMACs, and an event stream.
// Every request resolves to a NetResult — it never rejects — with stable KA_NETLINK_* codes.
//
// Package facts this wrapper relies on:
//  - Requests reject with `Error('Request rejected: EEXIST')` (errno name in the text only); we map the name.
//  - RtNetlinkSocket's own 'message' event drops nlmsg_type, so NEWADDR and DELADDR look alike; the
//    monitor listens one layer down (NetlinkSocket 'message': {type, data}) and parses with rt.parseMessage.
//  - Routes and rules: newRoute/delRoute/newRule/delRule exist and are used here.
//  - Macvlan: newLink exists but IFLA_LINKINFO is an opaque Buffer in its typings, so we encode the nested
//    {IFLA_INFO_KIND "macvlan", IFLA_INFO_DATA {IFLA_MACVLAN_MODE}} attributes ourselves (no `ip` spawn).
//  - newLink/newRoute/newRule send no NLM_F_CREATE by default; we add CREATE|EXCL (the kernel needs CREATE
//    for links and warns without it for routes).
import { createRtNetlink, FlagsNew, type RtNetlinkSocket, rt } from 'netlink';
import { type AddressFamily, formatIp, formatMac, parseIp, parseMac } from './inet.js';
import { fail, type NetError, type NetErrorCode, type NetResult, ok } from './net-error.js';

const AF_INET = 2;
const AF_INET6 = 10;
const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
const REQUEST_TIMEOUT_MS = 5000;

export interface LinkInfo {
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  carrier: boolean;
  /** "aa:bb:cc:dd:ee:ff", '' for links without one. */
  mac: string;
  mtu: number;
  /** IFLA_INFO_KIND: 'veth', 'macvlan', 'bridge'...; absent for plain devices. */
  linkKind?: string;
  /** IFLA_LINK: the parent of a macvlan/vlan/veth (index in the link's own namespace or its peer's). */
  parentIndex?: number;
}

export interface AddressInfo {
  index: number;
  family: AddressFamily;
  address: string;
  prefixLen: number;
  label?: string;
  /** RT_SCOPE: 0 global, 200 site, 253 link, 254 host. */
  scope: number;
  tentative: boolean;
  secondary: boolean;
}

export type AddressScope = 'global' | 'site' | 'link' | 'host' | number;

export interface AddressSpec {
  ifindex: number;
  address: string;
  prefixLen: number;
  /** IPv4 label (keepalived `label`), must start with the interface name. */
  label?: string;
  scope?: AddressScope;
  /** IPv4 broadcast address. */
  broadcast?: string;
  /** IPv6: skip duplicate address detection, so the address is usable at once (keepalived adds VIPs so). */
  nodad?: boolean;
  /** Do not create the prefix route (keepalived `noprefixroute`). */
  noprefixroute?: boolean;
}

export interface RouteSpec {
  family: AddressFamily;
  /** Destination prefix; omit for a default route. */
  dst?: string;
  dstLen?: number;
  gateway?: string;
  oif?: number;
  /** Routing table id; default main (254). */
  table?: number;
  metric?: number;
  scope?: AddressScope;
  prefsrc?: string;
  /** 'unicast' (default), 'blackhole', 'unreachable', 'prohibit', 'local'. */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';
}

export interface RuleSpec {
  family: AddressFamily;
  table: number;
  priority?: number;
  from?: string;
  fromLen?: number;
  to?: string;
  toLen?: number;
  fwmark?: number;
  iifname?: string;
  oifname?: string;
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru';

export interface MacvlanSpec {
  parentIndex: number;
  name: string;
  /** e.g. 00:00:5e:00:01:VRID for an IPv4 VMAC (RFC 5798 §7.3). */
  mac: string;
  /** keepalived's default is private. */
  mode?: MacvlanMode;
}

export type NetlinkEvent =
  | ({ kind: 'link'; action: 'new' | 'del' } & LinkInfo)
  | ({ kind: 'address'; action: 'add' | 'del' } & AddressInfo);

const scopeNumbers: Record<string, number> = { global: 0, site: 200, link: 253, host: 254 };
const macvlanModes: Record<MacvlanMode, number> = { private: 1, vepa: 2, bridge: 4, passthru: 8 };
const routeTypes = { unicast: 1, local: 2, blackhole: 6, unreachable: 7, prohibit: 8 } as const;

const netlinkCodes: Record<string, NetErrorCode> = {
  EEXIST: 'KA_NETLINK_EEXIST',
  ENOENT: 'KA_NETLINK_ENOENT',
  ESRCH: 'KA_NETLINK_ENOENT',
  EADDRNOTAVAIL: 'KA_NETLINK_EADDRNOTAVAIL',
  ENODEV: 'KA_NETLINK_ENODEV',
  EPERM: 'KA_NETLINK_EPERM',
  EACCES: 'KA_NETLINK_EPERM',
  EINVAL: 'KA_NETLINK_EINVAL',
  EOPNOTSUPP: 'KA_NETLINK_EOPNOTSUPP',
};

/** Turns whatever the package threw into a coded error value. */
export function netlinkError(op: string, e: unknown): NetError {
  const text = e instanceof Error ? e.message : String(e);
  if (/Timeout has been reached/.test(text))
    return { code: 'KA_NETLINK_TIMEOUT', message: `${op}: no answer` };
  const m = /Request rejected: (E[A-Z0-9]+|-?\d+)/.exec(text) ?? /\b(E[A-Z]{2,})\b/.exec(text);
  const errno = m?.[1];
  const code = (errno && netlinkCodes[errno]) || 'KA_NETLINK_OS';
  const hint =
    code === 'KA_NETLINK_EPERM' ? ' (changing links, addresses and routes needs CAP_NET_ADMIN)' : '';
  return errno
    ? { code, message: `${op} failed: ${errno}${hint}`, errno }
    : { code, message: `${op} failed: ${text}` };
}

function scopeNumber(s: AddressScope | undefined): number | undefined {
  if (s === undefined) return undefined;
  return typeof s === 'number' ? s : scopeNumbers[s];
}

function familyNumber(f: AddressFamily): number {
  return f === 4 ? AF_INET : AF_INET6;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** One netlink attribute: u16 length, u16 type, payload, padded to 4 bytes. */
function nlattr(type: number, payload: Uint8Array): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  b.set(payload, 4);
  return b;
}

const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_MACVLAN_MODE = 1;
const NLA_F_NESTED = 0x8000;

/** IFLA_LINKINFO payload for a macvlan in `mode`. */
export function macvlanLinkInfo(mode: MacvlanMode): Buffer {
  return Buffer.concat([
    nlattr(IFLA_INFO_KIND, Buffer.from('macvlan\0')),
    nlattr(IFLA_INFO_DATA | NLA_F_NESTED, nlattr(IFLA_MACVLAN_MODE, u32(macvlanModes[mode]))),
  ]);
}

/** IFLA_INFO_KIND out of an IFLA_LINKINFO payload (nested attributes), if present. */
export function linkKindOf(linkinfo: Uint8Array): string | undefined {
  const v = new DataView(linkinfo.buffer, linkinfo.byteOffset, linkinfo.byteLength);
  for (let off = 0; off + 4 <= linkinfo.length; ) {
    const len = v.getUint16(off, true);
    const type = v.getUint16(off + 2, true) & 0x3fff;
    if (len < 4 || off + len > linkinfo.length) return undefined;
    if (type === IFLA_INFO_KIND) {
      return Buffer.from(linkinfo.subarray(off + 4, off + len))
        .toString('latin1')
        .replace(/\0+$/, '');
    }
    off += (len + 3) & ~3;
  }
  return undefined;
}

export function linkInfoOf(m: rt.LinkMessage): LinkInfo {
  const flags = m.data.flags ?? {};
  const info: LinkInfo = {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    up: flags.up === true,
    carrier: flags.lowerUp === true,
    mac: m.attrs.address && m.attrs.address.length === 6 ? formatMac(m.attrs.address) : '',
    mtu: m.attrs.mtu ?? 0,
  };
  const kind = m.attrs.linkinfo ? linkKindOf(m.attrs.linkinfo) : undefined;
  if (kind) info.linkKind = kind;
  if (m.attrs.link && m.attrs.link.length >= 4) info.parentIndex = m.attrs.link.readUInt32LE(0);
  return info;
}

export function addressInfoOf(m: rt.AddressMessage): AddressInfo | undefined {
  const family = m.data.family === AF_INET ? 4 : m.data.family === AF_INET6 ? 6 : undefined;
  // IFA_LOCAL is the local address for IPv4 (IFA_ADDRESS is the peer on point-to-point links).
  const raw = m.attrs.local ?? m.attrs.address;
  if (!family || !raw) return undefined;
  const flags = m.attrs.flags ?? m.data.flags ?? {};
  const info: AddressInfo = {
    index: m.data.index ?? 0,
    family,
    address: formatIp(raw),
    prefixLen: m.data.prefixlen ?? 0,
    scope: m.data.scope ?? 0,
    tentative: flags.tentative === true,
    secondary: flags.secondary === true,
  };
  if (m.attrs.label !== undefined) info.label = m.attrs.label;
  return info;
}

/** Request side: one rtnetlink socket. */
export class Netlink {
  readonly #sock: RtNetlinkSocket;
  #closed = false;

  private constructor(sock: RtNetlinkSocket) {
    this.#sock = sock;
  }

  static open(): NetResult<Netlink> {
    try {
      const sock = createRtNetlink();
      // An 'error' event without a listener would throw from inside the package.
      sock.socket.on('error', () => {});
      return ok(new Netlink(sock));
    } catch (e) {
      return { ok: false, error: netlinkError('open rtnetlink socket', e) };
    }
  }

  async #run<T>(op: string, fn: () => Promise<T>): Promise<NetResult<T>> {
    if (this.#closed) return fail('KA_NETLINK_CLOSED', `${op}: netlink socket closed`);
    try {
      return ok(await fn());
    } catch (e) {
      return { ok: false, error: netlinkError(op, e) };
    }
  }

  #opts(flags = 0) {
    return { timeout: REQUEST_TIMEOUT_MS, flags };
  }

  listLinks(): Promise<NetResult<LinkInfo[]>> {
    return this.#run('list links', async () =>
      (await this.#sock.getLinks(undefined, undefined, this.#opts())).map(linkInfoOf),
    );
  }

  async linkByName(name: string): Promise<NetResult<LinkInfo>> {
    const r = await this.listLinks();
    if (!r.ok) return r;
    const l = r.value.find((x) => x.name === name);
    return l ? ok(l) : fail('KA_NETLINK_ENODEV', `no link named ${name}`, 'ENODEV');
  }

  setLinkUp(index: number, up: boolean): Promise<NetResult<void>> {
    return this.#run(`set link ${index} ${up ? 'up' : 'down'}`, async () => {
      await this.#sock.setLink(
        { index, flags: up ? { up: true } : {}, change: { up: true } },
        {},
        this.#opts(),
      );
    });
  }

  listAddresses(family?: AddressFamily): Promise<NetResult<AddressInfo[]>> {
    const data = family ? { family: familyNumber(family) } : undefined;
    return this.#run('list addresses', async () => {
      const msgs = await this.#sock.getAddresses(data, undefined, this.#opts());
      const out: AddressInfo[] = [];
      for (const m of msgs) {
        const a = addressInfoOf(m);
        if (a && (!family || a.family === family)) out.push(a);
      }
      return out;
    });
  }

  #addressMessage(s: AddressSpec): NetResult<{ data: rt.Address; attrs: rt.AddressAttrs }> {
    const p = parseIp(s.address);
    if (!p) return fail('KA_NETLINK_BAD_ADDRESS', `bad address ${s.address}`);
    const bytes = Buffer.from(p.bytes);
    const flags: rt.AddressFlags = {};
    if (s.nodad) flags.nodad = true;
    if (s.noprefixroute) flags.noprefixroute = true;
    const data: rt.Address = { family: familyNumber(p.family), prefixlen: s.prefixLen, index: s.ifindex };
    const scope = scopeNumber(s.scope);
    if (scope !== undefined) data.scope = scope;
    const attrs: rt.AddressAttrs = p.family === 4 ? { local: bytes, address: bytes } : { address: bytes };
    if (Object.keys(flags).length) attrs.flags = flags;
    if (s.label !== undefined) attrs.label = s.label;
    if (s.broadcast !== undefined) {
      const b = parseIp(s.broadcast);
      if (b?.family !== 4) return fail('KA_NETLINK_BAD_ADDRESS', `bad broadcast ${s.broadcast}`);
      attrs.broadcast = Buffer.from(b.bytes);
    }
    return ok({ data, attrs });
  }

  addAddress(s: AddressSpec): Promise<NetResult<void>> {
    const m = this.#addressMessage(s);
    if (!m.ok) return Promise.resolve(m);
    return this.#run(`add address ${s.address}/${s.prefixLen} on ${s.ifindex}`, async () => {
      await this.#sock.newAddress(m.value.data, m.value.attrs, this.#opts(CREATE_EXCL));
    });
  }

  deleteAddress(s: Pick<AddressSpec, 'ifindex' | 'address' | 'prefixLen'>): Promise<NetResult<void>> {
    const m = this.#addressMessage(s);
    if (!m.ok) return Promise.resolve(m);
    return this.#run(`delete address ${s.address}/${s.prefixLen} on ${s.ifindex}`, async () => {
      await this.#sock.delAddress(m.value.data, m.value.attrs, this.#opts());
    });
  }

  #routeMessage(s: RouteSpec): NetResult<{ data: rt.Route; attrs: rt.RouteAttrs }> {
    const table = s.table ?? 254; // RT_TABLE_MAIN
    const type = s.type ?? 'unicast';
    // Like `ip route`: a route via a gateway or a non-unicast route has universe scope, a local route
    // host scope, a direct unicast route link scope.
    const defaultScope = type === 'local' ? 254 : type !== 'unicast' || s.gateway ? 0 : 253;
    const data: rt.Route = {
      family: familyNumber(s.family),
      dstLen: s.dst ? (s.dstLen ?? (s.family === 4 ? 32 : 128)) : 0,
      // Table ids above 255 travel in RTA_TABLE with RT_TABLE_COMPAT in the header.
      table: table < 256 ? table : 252,
      protocol: 4, // RTPROT_STATIC, like `ip route add`
      scope: scopeNumber(s.scope) ?? defaultScope,
      type: routeTypes[type],
    };
    const attrs: rt.RouteAttrs = {};
    if (table >= 256) attrs.table = table;
    for (const [key, text] of [
      ['dst', s.dst],
      ['gateway', s.gateway],
      ['prefsrc', s.prefsrc],
    ] as const) {
      if (text === undefined) continue;
      const p = parseIp(text);
      if (!p || p.family !== s.family) return fail('KA_NETLINK_BAD_ADDRESS', `bad ${key} ${text}`);
      attrs[key] = Buffer.from(p.bytes);
    }
    if (s.oif !== undefined) attrs.oif = s.oif;
    if (s.metric !== undefined) attrs.priority = s.metric;
    return ok({ data, attrs });
  }

  addRoute(s: RouteSpec): Promise<NetResult<void>> {
    const m = this.#routeMessage(s);
    if (!m.ok) return Promise.resolve(m);
    return this.#run(`add route ${s.dst ?? 'default'}`, async () => {
      await this.#sock.newRoute(m.value.data, m.value.attrs, this.#opts(CREATE_EXCL));
    });
  }

  deleteRoute(s: RouteSpec): Promise<NetResult<void>> {
    const m = this.#routeMessage(s);
    if (!m.ok) return Promise.resolve(m);
    // The kernel matches on the given fields; scope NOWHERE means "any scope" for deletes.
    m.value.data.scope = 255;
    return this.#run(`delete route ${s.dst ?? 'default'}`, async () => {
      await this.#sock.delRoute(m.value.data, m.value.attrs, this.#opts());
    });
  }

  #ruleMessage(s: RuleSpec): NetResult<{ data: rt.Rule; attrs: rt.RuleAttrs }> {
    const data: rt.Rule = {
      family: familyNumber(s.family),
      table: s.table < 256 ? s.table : 252,
      action: 1, // FR_ACT_TO_TBL
      srcLen: s.from ? (s.fromLen ?? (s.family === 4 ? 32 : 128)) : 0,
      dstLen: s.to ? (s.toLen ?? (s.family === 4 ? 32 : 128)) : 0,
    };
    const attrs: rt.RuleAttrs = {};
    if (s.table >= 256) attrs.table = s.table;
    if (s.priority !== undefined) attrs.priority = s.priority;
    if (s.fwmark !== undefined) attrs.fwmark = s.fwmark;
    if (s.iifname !== undefined) attrs.iifname = s.iifname;
    if (s.oifname !== undefined) attrs.oifname = s.oifname;
    for (const [key, text] of [
      ['src', s.from],
      ['dst', s.to],
    ] as const) {
      if (text === undefined) continue;
      const p = parseIp(text);
      if (!p || p.family !== s.family) return fail('KA_NETLINK_BAD_ADDRESS', `bad rule address ${text}`);
      attrs[key] = Buffer.from(p.bytes);
    }
    return ok({ data, attrs });
  }

  addRule(s: RuleSpec): Promise<NetResult<void>> {
    const m = this.#ruleMessage(s);
    if (!m.ok) return Promise.resolve(m);
    return this.#run(`add rule to table ${s.table}`, async () => {
      await this.#sock.newRule(m.value.data, m.value.attrs, this.#opts(CREATE_EXCL));
    });
  }

  deleteRule(s: RuleSpec): Promise<NetResult<void>> {
    const m = this.#ruleMessage(s);
    if (!m.ok) return Promise.resolve(m);
    return this.#run(`delete rule to table ${s.table}`, async () => {
      await this.#sock.delRule(m.value.data, m.value.attrs, this.#opts());
    });
  }

  /** Creates a macvlan (VMAC) on a parent link with a fixed MAC; resolves to the new link's index. */
  async createMacvlan(s: MacvlanSpec): Promise<NetResult<number>> {
    const mac = parseMac(s.mac);
    if (!mac) return fail('KA_NETLINK_BAD_ADDRESS', `bad MAC ${s.mac}`);
    if (s.name.length === 0 || s.name.length > 15) {
      return fail('KA_NETLINK_EINVAL', `interface name "${s.name}" must be 1-15 characters`);
    }
    const created = await this.#run(`create macvlan ${s.name}`, async () => {
      await this.#sock.newLink(
        {},
        {
          ifname: s.name,
          address: Buffer.from(mac),
          link: u32(s.parentIndex),
          linkinfo: macvlanLinkInfo(s.mode ?? 'private'),
        },
        this.#opts(CREATE_EXCL),
      );
    });
    if (!created.ok) return created;
    const l = await this.linkByName(s.name);
    return l.ok ? ok(l.value.index) : l;
  }

  deleteLink(index: number): Promise<NetResult<void>> {
    return this.#run(`delete link ${index}`, async () => {
      await this.#sock.delLink({ index }, {}, this.#opts());
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.socket.close();
  }
}

export type NetlinkEventHandler = (e: NetlinkEvent) => void;

/**
 * Subscribes to link and IPv4/IPv6 address notifications. The socket does not keep the process alive. Events come from the kernel's multicast groups
 * in order. A kernel-side overflow (ENOBUFS) is reported through onError: events were lost, and the owner
 * should re-list links and addresses.
 */
export class NetlinkMonitor {
  readonly #sock: RtNetlinkSocket;
  #closed = false;

  private constructor(sock: RtNetlinkSocket) {
    this.#sock = sock;
  }

  static open(handler: NetlinkEventHandler, onError?: (e: NetError) => void): NetResult<NetlinkMonitor> {
    let sock: RtNetlinkSocket;
    try {
      sock = createRtNetlink();
      for (const g of ['LINK', 'IPV4_IFADDR', 'IPV6_IFADDR'] as const) sock.addMembership(g);
    } catch (e) {
      return { ok: false, error: netlinkError('open rtnetlink monitor', e) };
    }
    const mon = new NetlinkMonitor(sock);
    const report = (e: NetError) => {
      if (onError) onError(e);
    };
    sock.socket.on('error', (e) => report(netlinkError('netlink monitor', e)));
    sock.socket.on('message', (msgs) => {
      for (const raw of msgs) {
        if (mon.#closed) return;
        let ev: NetlinkEvent | undefined;
        try {
          ev = eventOf(raw.type, raw.data);
        } catch (e) {
          report({
            code: 'KA_NETLINK_OS',
            message: `unparsable netlink message ${raw.type}: ${(e as Error).message}`,
          });
          continue;
        }
        if (!ev) continue;
        try {
          handler(ev);
        } catch (userError) {
          // A bug in the handler must not stop the remaining messages of this batch; report it like any
          // uncaught callback error, on a clean stack.
          setImmediate(() => {
            throw userError;
          });
        }
      }
    });
    return ok(mon);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.socket.close();
  }
}

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;

/** nlmsg_type + payload → event; other message types are ignored. */
export function eventOf(type: number, data: Buffer): NetlinkEvent | undefined {
  if (type === RTM_NEWLINK || type === RTM_DELLINK) {
    const m = rt.parseMessage(type, data);
    if (m.kind !== 'link') return undefined;
    return { kind: 'link', action: type === RTM_NEWLINK ? 'new' : 'del', ...linkInfoOf(m) };
  }
  if (type === RTM_NEWADDR || type === RTM_DELADDR) {
    const m = rt.parseMessage(type, data);
    if (m.kind !== 'address') return undefined;
    const a = addressInfoOf(m);
    return a && { kind: 'address', action: type === RTM_NEWADDR ? 'add' : 'del', ...a };
  }
  return undefined;
}
