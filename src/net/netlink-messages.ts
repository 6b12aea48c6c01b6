// rtnetlink message pieces the `netlink` package (0.3.0) leaves to us: decoding its parsed messages into
// our plain types, the macvlan IFLA_LINKINFO attributes it types as an opaque Buffer, and its error text
// ("Request rejected: EEXIST") into stable codes. Pure functions.
import { rt } from 'netlink';
import { type AddressFamily, formatIp, formatMac } from './inet.js';
import type { NetError, NetErrorCode } from './net-error.js';
import type { AddressInfo, AddressScope, LinkInfo, MacvlanMode, NetlinkEvent } from './netlink-types.js';
import { NLA_F_NESTED } from './nlmsg.js';

export const AF_INET = 2;
export const AF_INET6 = 10;

const scopeNumbers: Record<string, number> = { global: 0, site: 200, link: 253, host: 254 };
const macvlanModes: Record<MacvlanMode, number> = { private: 1, vepa: 2, bridge: 4, passthru: 8 };
export const routeTypes = { unicast: 1, local: 2, blackhole: 6, unreachable: 7, prohibit: 8 } as const;

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
  return errno ? netlinkErrnoError(op, errno) : { code: 'KA_NETLINK_OS', message: `${op} failed: ${text}` };
}

/** A request the kernel refused with `errno` (its name: 'EEXIST'), as a coded error value. */
export function netlinkErrnoError(op: string, errno: string): NetError {
  const code = netlinkCodes[errno] ?? 'KA_NETLINK_OS';
  // EACCES is also what an IPv6 address add gets on a device whose IPv6 is disabled.
  const hint =
    errno === 'EACCES'
      ? ' (IPv6 disabled on the device, or no CAP_NET_ADMIN)'
      : code === 'KA_NETLINK_EPERM'
        ? ' (changing links, addresses and routes needs CAP_NET_ADMIN)'
        : '';
  return { code, message: `${op} failed: ${errno}${hint}`, errno };
}

export function scopeNumber(s: AddressScope | undefined): number | undefined {
  if (s === undefined) return undefined;
  return typeof s === 'number' ? s : scopeNumbers[s];
}

export function familyNumber(f: AddressFamily): number {
  return f === 4 ? AF_INET : AF_INET6;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** One netlink attribute: u16 length, u16 type, payload, padded to 4 bytes. */
export function nlattr(type: number, payload: Uint8Array): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  b.set(payload, 4);
  return b;
}

/** A string attribute: the text NUL-terminated, as the kernel reads names. */
export function nlattrString(type: number, s: string): Buffer {
  return nlattr(type, Buffer.from(`${s}\0`));
}

const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_MACVLAN_MODE = 1;

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
