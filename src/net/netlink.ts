// rtnetlink: links, addresses, routes, rules, macvlan VMACs (the event stream is netlink-monitor.ts). Every
// request resolves to a NetResult — it never rejects — with stable KA_NETLINK_* codes.
//
// All traffic goes through our own koffi socket (rtnl-writer.ts). The `netlink` package is used only for its
// pure-JS message formatters and parsers (rt.format*, rt.parseMessage): its native socket aborted the
// process when the kernel flagged an error on it (docs/netlink.md).
//  - Macvlan: IFLA_LINKINFO is an opaque Buffer in the package's typings, so we encode the nested
//    {IFLA_INFO_KIND "macvlan", IFLA_INFO_DATA {IFLA_MACVLAN_MODE}} attributes ourselves (no `ip` spawn).
//  - New links, routes and rules carry NLM_F_CREATE|EXCL (the kernel needs CREATE for links and warns
//    without it for routes).
import { AttrStream, FlagsNew, rt } from 'netlink';
import { type AddressFamily, parseIp, parseMac } from './inet.js';
import { fail, type NetResult, ok } from './net-error.js';
import {
  addressInfoOf,
  familyNumber,
  linkInfoOf,
  macvlanLinkInfo,
  netlinkError,
  routeTypes,
  scopeNumber,
  u32,
} from './netlink-messages.js';
import type {
  AddressInfo,
  AddressSpec,
  LinkInfo,
  MacvlanSpec,
  RouteSpec,
  RuleSpec,
} from './netlink-types.js';
import type { DatagramSink, PreparedWrite } from './prepared-write.js';
import { type NetlinkMessage, RtnlWriter } from './rtnl-writer.js';

export * from './netlink-messages.js';
export { type NetlinkEventHandler, NetlinkMonitor } from './netlink-monitor.js';
export type * from './netlink-types.js';

const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
const REQUEST_TIMEOUT_MS = 5000;

/**
 * A change request (address, route, rule) encoded and ready to write. Encoding runs the package's attribute
 * formatters, cold code on a takeover that comes once in hours (0.3–0.8 ms measured between the advert and
 * the address write), so the installer encodes a VIP's request ahead and writes the same bytes each time.
 */
export interface EncodedRequest {
  readonly type: rt.MessageType;
  readonly bufs: Uint8Array[];
  readonly flags: number;
  /** For error messages: `add address 192.0.2.100/24 on 3`. */
  readonly what: string;
}

/**
 * Request side, on a socket of our own that writes every request at once (rtnl-writer.ts), so a takeover's
 * VIPs and routes are in place before its GARPs leave. Dumps and link changes share it.
 */
export class Netlink {
  readonly #writer: RtnlWriter;
  #closed = false;

  private constructor(writer: RtnlWriter) {
    this.#writer = writer;
  }

  static open(): NetResult<Netlink> {
    const writer = RtnlWriter.open();
    return writer.ok ? ok(new Netlink(writer.value)) : writer;
  }

  /** A dump (`dump`) or a change answered with an ACK; the answer's messages parsed by the package. */
  async #query(
    what: string,
    type: rt.MessageType,
    out: AttrStream,
    flags: number,
    dump: boolean,
  ): Promise<NetResult<rt.Message[]>> {
    if (this.#closed) return fail('KA_NETLINK_CLOSED', `${what}: netlink socket closed`);
    const r = await this.#writer.query(type, flags, out.bufs, what, REQUEST_TIMEOUT_MS, dump);
    if (!r.ok) return r;
    const parsed: rt.Message[] = [];
    try {
      for (const m of r.value as NetlinkMessage[]) parsed.push(rt.parseMessage(m.type, m.data));
    } catch (e) {
      return { ok: false, error: netlinkError(what, e) };
    }
    return ok(parsed);
  }

  async listLinks(): Promise<NetResult<LinkInfo[]>> {
    const out = new AttrStream();
    rt.formatLinkMessage({ kind: 'link', data: {}, attrs: {} }, out);
    const r = await this.#query('list links', rt.MessageType.GETLINK, out, 0, true);
    if (!r.ok) return r;
    const links: LinkInfo[] = [];
    for (const m of r.value) if (m.kind === 'link') links.push(linkInfoOf(m));
    return ok(links);
  }

  async linkByName(name: string): Promise<NetResult<LinkInfo>> {
    const r = await this.listLinks();
    if (!r.ok) return r;
    const l = r.value.find((x) => x.name === name);
    return l ? ok(l) : fail('KA_NETLINK_ENODEV', `no link named ${name}`, 'ENODEV');
  }

  async setLinkUp(index: number, up: boolean): Promise<NetResult<void>> {
    const out = new AttrStream();
    const data: rt.Link = { index, flags: up ? { up: true } : {}, change: { up: true } };
    rt.formatLinkMessage({ kind: 'link', data, attrs: {} }, out);
    const r = await this.#query(
      `set link ${index} ${up ? 'up' : 'down'}`,
      rt.MessageType.SETLINK,
      out,
      0,
      false,
    );
    return r.ok ? ok(undefined) : r;
  }

  async listAddresses(family?: AddressFamily): Promise<NetResult<AddressInfo[]>> {
    const out = new AttrStream();
    rt.formatAddressMessage(
      { kind: 'address', data: family ? { family: familyNumber(family) } : {}, attrs: {} },
      out,
    );
    const r = await this.#query('list addresses', rt.MessageType.GETADDR, out, 0, true);
    if (!r.ok) return r;
    const addrs: AddressInfo[] = [];
    for (const m of r.value) {
      if (m.kind !== 'address') continue;
      const a = addressInfoOf(m);
      if (a && (!family || a.family === family)) addrs.push(a);
    }
    return ok(addrs);
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
    // IFA_CACHEINFO: a preferred lifetime of 0 is the kernel's "deprecated"; valid stays forever.
    if (s.preferredLft !== undefined && p.family === 6)
      attrs.cacheInfo = { ifaPrefered: s.preferredLft, ifaValid: 0xffffffff, cstamp: 0, tstamp: 0 };
    if (s.broadcast !== undefined) {
      const b = parseIp(s.broadcast);
      if (b?.family !== 4) return fail('KA_NETLINK_BAD_ADDRESS', `bad broadcast ${s.broadcast}`);
      attrs.broadcast = Buffer.from(b.bytes);
    }
    return ok({ data, attrs });
  }

  /** Encodes an RTM_NEWADDR (`add`) or RTM_DELADDR request for `s`, to write now or later with send(). */
  encodeAddress(add: boolean, s: AddressSpec): NetResult<EncodedRequest> {
    const m = this.#addressMessage(s);
    if (!m.ok) return m;
    const out = new AttrStream();
    rt.formatAddressMessage({ kind: 'address', data: m.value.data, attrs: m.value.attrs }, out);
    return ok({
      type: add ? rt.MessageType.NEWADDR : rt.MessageType.DELADDR,
      bufs: out.bufs,
      flags: add ? CREATE_EXCL : 0,
      what: `${add ? 'add' : 'delete'} address ${s.address}/${s.prefixLen} on ${s.ifindex}`,
    });
  }

  /** Writes an encoded request — applied by the time this returns — and resolves with its answer. */
  send(r: EncodedRequest): Promise<NetResult<void>> {
    return this.#write(r);
  }

  /** An encoded request as a prepared write (prepared-write.ts): written to a sink, it reaches no kernel. */
  prepare(r: EncodedRequest): PreparedWrite<Promise<NetResult<void>>> {
    return { write: (sink) => this.#write(r, sink) };
  }

  #write(r: EncodedRequest, sink?: DatagramSink): Promise<NetResult<void>> {
    if (this.#closed) return Promise.resolve(fail('KA_NETLINK_CLOSED', `${r.what}: netlink socket closed`));
    return this.#writer.write(r.type, r.flags, r.bufs, r.what, REQUEST_TIMEOUT_MS, sink);
  }

  addAddress(s: AddressSpec): Promise<NetResult<void>> {
    const r = this.encodeAddress(true, s);
    return r.ok ? this.send(r.value) : Promise.resolve(r);
  }

  deleteAddress(s: Pick<AddressSpec, 'ifindex' | 'address' | 'prefixLen'>): Promise<NetResult<void>> {
    const r = this.encodeAddress(false, s);
    return r.ok ? this.send(r.value) : Promise.resolve(r);
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
    const out = new AttrStream();
    rt.formatRouteMessage({ kind: 'route', ...m.value }, out);
    const what = `add route ${s.dst ?? 'default'}`;
    return this.send({ type: rt.MessageType.NEWROUTE, bufs: out.bufs, flags: CREATE_EXCL, what });
  }

  deleteRoute(s: RouteSpec): Promise<NetResult<void>> {
    const m = this.#routeMessage(s);
    if (!m.ok) return Promise.resolve(m);
    // The kernel matches on the given fields; scope NOWHERE means "any scope" for deletes.
    m.value.data.scope = 255;
    const out = new AttrStream();
    rt.formatRouteMessage({ kind: 'route', ...m.value }, out);
    const what = `delete route ${s.dst ?? 'default'}`;
    return this.send({ type: rt.MessageType.DELROUTE, bufs: out.bufs, flags: 0, what });
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
    const out = new AttrStream();
    rt.formatRuleMessage({ kind: 'rule', ...m.value }, out);
    const what = `add rule to table ${s.table}`;
    return this.send({ type: rt.MessageType.NEWRULE, bufs: out.bufs, flags: CREATE_EXCL, what });
  }

  deleteRule(s: RuleSpec): Promise<NetResult<void>> {
    const m = this.#ruleMessage(s);
    if (!m.ok) return Promise.resolve(m);
    const out = new AttrStream();
    rt.formatRuleMessage({ kind: 'rule', ...m.value }, out);
    const what = `delete rule to table ${s.table}`;
    return this.send({ type: rt.MessageType.DELRULE, bufs: out.bufs, flags: 0, what });
  }

  /** Creates a macvlan (VMAC) on a parent link with a fixed MAC; resolves to the new link's index. */
  async createMacvlan(s: MacvlanSpec): Promise<NetResult<number>> {
    const mac = parseMac(s.mac);
    if (!mac) return fail('KA_NETLINK_BAD_ADDRESS', `bad MAC ${s.mac}`);
    if (s.name.length === 0 || s.name.length > 15) {
      return fail('KA_NETLINK_EINVAL', `interface name "${s.name}" must be 1-15 characters`);
    }
    const out = new AttrStream();
    const attrs = {
      ifname: s.name,
      address: Buffer.from(mac),
      link: u32(s.parentIndex),
      linkinfo: macvlanLinkInfo(s.mode ?? 'private'),
    };
    rt.formatLinkMessage({ kind: 'link', data: {}, attrs }, out);
    const what = `create macvlan ${s.name}`;
    const created = await this.#query(what, rt.MessageType.NEWLINK, out, CREATE_EXCL, false);
    if (!created.ok) return created;
    const l = await this.linkByName(s.name);
    return l.ok ? ok(l.value.index) : l;
  }

  async deleteLink(index: number): Promise<NetResult<void>> {
    const out = new AttrStream();
    rt.formatLinkMessage({ kind: 'link', data: { index }, attrs: {} }, out);
    const r = await this.#query(`delete link ${index}`, rt.MessageType.DELLINK, out, 0, false);
    return r.ok ? ok(undefined) : r;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close();
  }
}
