// The daemon's VRRP sockets: one per (interface, family, multicast|unicast) — for IPv6 also per bound
// source — shared by the instances on it and demultiplexed by VRID. Every received packet goes through
// validateAdvert with the instance's receive policy and is counted (stats.ts); valid adverts go to `onAdvert`.
// Sending encodes the engine's AdvertToSend (encodeAdvert) and writes one copy per unicast peer or one to the
// group; for IPv4 VrrpSocket writes our own IP header (TOS 0xc0, TTL 255), for IPv6 the kernel checksums.
// VRRPv2 with auth_type AH runs on its own IP-protocol-51 socket and sends whole packets built here.
import { readFileSync } from 'node:fs';
import type { NetError, NetResult } from '../net/net-error.js';
import { fail, ok } from '../net/net-error.js';
import type { DatagramSink, PreparedWrite } from '../net/prepared-write.js';
import { VrrpSocket } from '../net/vrrp-socket.js';
import type { AdvertToSend } from '../vrrp/actions.js';
import type { RxMeta, VrrpAdvert } from '../vrrp/advert.js';
import { AuthType, advertToEncode } from '../vrrp/advert.js';
import { passAuthDataHex } from '../vrrp/auth.js';
import { encodeAdvert } from '../vrrp/packet.js';
import { isMulticastAddr, parseIpShared } from '../vrrp/packet-addr.js';
import { IPPROTO_AH } from '../vrrp/packet-ip.js';
import { type RxValidateResult, validateAdvert } from '../vrrp/rx-validate.js';
import { countRxResult, newRxStats, type VrrpStats } from '../vrrp/stats.js';
import { type InstanceWiring, socketKeyString } from './engine-plan/types.js';

const AH_LENGTH = 24;
const AH_SEQ_LAST = 0xfffffffd;

/** A validated advert for one instance, ready for the engine. */
export type AdvertHandler = (instance: string, advert: VrrpAdvert, meta: RxMeta) => void;
/** Every rejected packet, for the detail log. */
export type RejectHandler = (instance: string, result: Extract<RxValidateResult, { ok: false }>) => void;

/** An instance without a socket: waiting for its interface, or (IPv6) for its source to be bindable. */
interface Pending {
  w: InstanceWiring;
  srcAddr: string;
  key: string;
  /** The bind's failure, when the instance waits for its source (EADDRNOTAVAIL). */
  source?: NetError;
}

interface Slot {
  key: string;
  ifname: string;
  sock: VrrpSocket;
  unicast: boolean;
  /** (interface, family, IP protocol) shared with the sibling socket of the other mode, if any. */
  pairKey: string;
  byVrid: Map<number, InstanceWiring[]>;
  /** The receive buffer asked for: its instances' shares summed (#sizeRxBuf); 0 while the kernel's default. */
  rxBuf: number;
}

export class VrrpSocketPool {
  readonly stats = new Map<string, VrrpStats>();
  readonly #slots = new Map<string, Slot>();
  readonly #slotOf = new Map<string, Slot>();
  readonly #wiring = new Map<string, InstanceWiring>();
  /**
   * Instances whose interface does not exist (yet): dynamic_interfaces, or an interface deleted under a running
   * instance. Their socket opens when the interface appears (openOn); keepalived keeps such a sockpool entry
   * with fd -1 (docs/config-meaning.md, 'Interfaces that do not exist').
   * Also IPv6 instances whose source cannot be bound yet (not on the host, or tentative): their socket opens
   * when the address is usable (retry; docs/hostile-network.md, 'A source address missing at start').
   */
  readonly #pending = new Map<string, Pending>();
  /**
   * keepalived's one AH Sequence Number counter per instance, for sending and receiving: each advert sent
   * carries counter + 1; an AH advert is accepted only above the counter, which then takes its number. So a
   * backup that takes over continues its master's sequence and the other backups accept it (auth-ah.ts).
   */
  readonly #ahSeq = new Map<string, number>();
  /** The open sockets' descriptors, rebuilt when a socket opens or closes (kept as one array for poll(2)). */
  #fds: readonly number[] = [];
  /** Encoded adverts by instance, then destination (#encoded). */
  readonly #encodedAdverts = new Map<string, Map<string, { contentKey: string; bytes: Uint8Array }>>();
  readonly #onAdvert: AdvertHandler;
  readonly #onReject: RejectHandler;
  readonly #onError: (e: NetError) => void;
  readonly #followedMaster: (instance: string) => string | null;
  readonly #onUnknownVrid: (ifname: string, vrid: number) => void;
  readonly #onOldChecksum: (instance: string) => void;
  readonly #mtuOf: (ifname: string) => number | undefined;
  /**
   * Instances that heard a VRRPv3 unicast advert with keepalived 1.3.6's checksum and now send that form too
   * (2.2.7's automatic compatibility; docs/vrrp-adverts.md, 'Checksums'). Kept over a reload: the peer is the
   * same old keepalived, which would reject our adverts in the meantime.
   */
  readonly #oldChecksum = new Set<string>();

  /** `followedMaster`: the master an instance follows as BACKUP, for skip_check_adv_addr (rx-validate.ts). */
  constructor(
    onAdvert: AdvertHandler,
    onReject: RejectHandler,
    onError: (e: NetError) => void,
    followedMaster: (instance: string) => string | null = () => null,
    onUnknownVrid: (ifname: string, vrid: number) => void = () => {},
    onOldChecksum: (instance: string) => void = () => {},
    mtuOf: (ifname: string) => number | undefined = () => undefined,
  ) {
    this.#mtuOf = mtuOf;
    this.#onAdvert = onAdvert;
    this.#onReject = onReject;
    this.#onError = onError;
    this.#followedMaster = followedMaster;
    this.#onUnknownVrid = onUnknownVrid;
    this.#onOldChecksum = onOldChecksum;
  }

  /** The instance switched to the old unicast checksum on hearing it (the data dump's "auto"). */
  oldChecksumAuto(name: string): boolean {
    return this.#oldChecksum.has(name);
  }

  /**
   * Opens (or joins) the socket of an instance. `srcAddr` is the instance's advert source. On an interface that
   * does not exist the instance waits for it, socketless (openOn); so does an IPv6 instance whose source the
   * kernel will not bind yet (EADDRNOTAVAIL: not on the host, or still tentative), until retry() succeeds.
   */
  add(w: InstanceWiring, srcAddr: string): NetResult<void> {
    const s = w.socket;
    const pairKey = `${s.ifname}/${s.family}/${s.protocol}`;
    // IPv6 sockets are bound to their source address, so instances with different sources need their own.
    const key = socketKeyString(s) + (s.family === 6 ? `/${srcAddr}` : '');
    this.#pending.delete(w.name);
    let slot = this.#slots.get(key);
    if (!slot) {
      const opts: Parameters<typeof VrrpSocket.open>[0] = {
        ifname: s.ifname,
        family: s.family,
        unicast: s.unicast,
        group: s.group,
        srcAddr,
        protocol: s.protocol,
      };
      if (w.tx.unicastTtl !== undefined) opts.unicastTtl = w.tx.unicastTtl;
      const opened = VrrpSocket.open(opts);
      const waitFor = !opened.ok && waitingReason(opened.error, s.family);
      if (!opened.ok && waitFor) {
        this.#pending.set(w.name, {
          w,
          srcAddr,
          key,
          ...(waitFor === 'source' ? { source: opened.error } : {}),
        });
        this.#wiring.set(w.name, w);
        if (!this.stats.has(w.name)) this.stats.set(w.name, newRxStats());
        return ok(undefined);
      }
      if (!opened.ok) return opened;
      const created: Slot = {
        key,
        ifname: s.ifname,
        sock: opened.value,
        unicast: s.unicast,
        pairKey,
        byVrid: new Map(),
        rxBuf: 0,
      };
      const started = created.sock.onMessage(
        (payload, meta, hdr) => this.#receive(created, payload, meta, hdr),
        (e) => this.#onError(e),
      );
      if (!started.ok) {
        created.sock.close();
        return started;
      }
      this.#slots.set(key, created);
      this.#listFds();
      slot = created;
    }
    const list = slot.byVrid.get(w.rxPolicy.vrid) ?? [];
    list.push(w);
    slot.byVrid.set(w.rxPolicy.vrid, list);
    this.#slotOf.set(w.name, slot);
    this.#wiring.set(w.name, w);
    if (!this.stats.has(w.name)) this.stats.set(w.name, newRxStats());
    this.#sizeRxBuf(slot);
    return ok(undefined);
  }

  /**
   * Sizes a socket's receive buffer as 2.2.7 does: the sum of its instances' shares (kernel_rx_buf_size,
   * vrrp_rx_bufs_policy), none of them: left at the kernel's default. 2.2.7 sums over the instances before it
   * opens the socket and opens every socket afresh at a reload; here the socket stays open and is sized again
   * whenever an instance joins, leaves or changes, or the MTU it counts changes (resizeOn), so it ends at the
   * same size (docs/linux-sockets.md, 'Receive buffers').
   */
  #sizeRxBuf(slot: Slot): void {
    let sum = 0;
    for (const list of slot.byVrid.values())
      for (const w of list)
        sum += 'bytes' in w.rxBuf ? w.rxBuf.bytes : w.rxBuf.mtuTimes * (this.#mtuOf(w.rxBuf.ifname) ?? 0);
    if (sum === slot.rxBuf) return;
    // Back to nothing (a reload took the keywords away): the default a fresh socket would have had.
    const r = slot.sock.setReceiveBuffer(sum > 0 ? sum : defaultReceiveBuffer());
    if (!r.ok)
      this.#onError({ ...r.error, message: `vrrp set receive socket buffer size: ${r.error.message}` });
    slot.rxBuf = sum;
  }

  /** An interface's MTU may have changed: the sockets whose instances count it are sized again. */
  resizeOn(ifname: string): void {
    for (const slot of this.#slots.values())
      if (
        [...slot.byVrid.values()].some((l) => l.some((w) => 'ifname' in w.rxBuf && w.rxBuf.ifname === ifname))
      )
        this.#sizeRxBuf(slot);
  }

  /** The receive buffer an instance's socket asked for (0: the kernel's default), the dump's "Rx buf size". */
  rxBufOf(name: string): number {
    return this.#slotOf.get(name)?.rxBuf ?? 0;
  }

  /**
   * An interface appeared: the instances waiting for it get their sockets (counters and AH sequence kept).
   * Returns the failures (the instance keeps waiting) and the instances now waiting for their source instead
   * (waitingForSource; those already waiting for it are left to retry).
   */
  openOn(ifname: string): { errors: NetError[]; waiting: string[] } {
    const errors: NetError[] = [];
    const waiting: string[] = [];
    for (const [name, x] of [...this.#pending])
      if (x.w.socket.ifname === ifname && !x.source) {
        const r = this.add(x.w, x.srcAddr);
        if (!r.ok) {
          this.#pending.set(name, x);
          errors.push(r.error);
        } else if (this.#pending.has(name)) waiting.push(name);
      }
    return { errors, waiting };
  }

  /**
   * An instance waiting for its source address: the address its socket is to be bound to and the bind's
   * failure (undefined: it is not waiting for it).
   */
  waitingForSource(name: string): { address: string; error: NetError } | undefined {
    const x = this.#pending.get(name);
    return x?.source ? { address: x.srcAddr, error: x.source } : undefined;
  }

  /**
   * Tries again to open the socket of an instance waiting for its source (the address arrived or finished
   * DAD); true when it has its socket now. A failure other than the address's absence is returned.
   */
  retry(name: string): NetResult<boolean> {
    const x = this.#pending.get(name);
    if (!x?.source) return ok(!x);
    const r = this.add(x.w, x.srcAddr);
    if (!r.ok) {
      this.#pending.set(name, x);
      return r;
    }
    return ok(!this.#pending.has(name));
  }

  /**
   * An interface was deleted: its sockets close and their instances wait for it to come back (openOn), as
   * keepalived closes the sockets of a deleted interface.
   */
  closeOn(ifname: string): void {
    for (const slot of [...this.#slots.values()]) {
      if (slot.ifname !== ifname) continue;
      for (const list of slot.byVrid.values())
        for (const w of list) {
          this.#slotOf.delete(w.name);
          this.#encodedAdverts.delete(w.name);
          // An IPv6 socket's key ends with the source it is bound to.
          const srcAddr =
            w.socket.family === 6
              ? slot.key.slice(socketKeyString(w.socket).length + 1)
              : (slot.sock.srcAddr ?? '0.0.0.0');
          this.#pending.set(w.name, { w, srcAddr, key: slot.key });
        }
      slot.sock.close();
      this.#slots.delete(slot.key);
    }
    this.#listFds();
  }

  /** The socket of the other mode (multicast/unicast) on the same interface, family and protocol. */
  #siblingOf(slot: Slot): Slot | undefined {
    for (const s of this.#slots.values()) if (s !== slot && s.pairKey === slot.pairKey) return s;
    return undefined;
  }

  #receive(slot: Slot, payload: Uint8Array, meta: RxMeta, ipv4Header?: Uint8Array): void {
    const bytes = ipv4Header ? joinHeader(ipv4Header, payload) : payload;
    const vrid = vridOf(payload, ipv4Header);
    // A raw socket sees every VRRP packet the host receives on the interface. When a multicast and a unicast
    // socket share it, a packet of the other kind is the sibling's — when the sibling has that VRID; if only
    // this socket has it, the packet came to the wrong kind of destination and is counted here (DstAddrErrors).
    const dst = parseIpShared(meta.dstAddr, meta.family);
    const sibling =
      dst && isMulticastAddr(dst, meta.family) === slot.unicast ? this.#siblingOf(slot) : undefined;
    if (sibling && (vrid === null || sibling.byVrid.has(vrid))) return;
    const targets = vrid === null ? [...slot.byVrid.values()].flat() : (slot.byVrid.get(vrid) ?? []);
    // A VRID no instance here has: said once, by the socket of the packet's own kind (both sockets see it).
    if (vrid !== null && targets.length === 0 && !sibling) this.#onUnknownVrid(slot.ifname, vrid);
    for (const w of targets) {
      const ah = w.tx.authType === AuthType.ah;
      const policy = ah ? { ...w.rxPolicy, ahMinSeq: (this.#ahSeq.get(w.name) ?? 0) + 1 } : w.rxPolicy;
      const result = validateAdvert(bytes, meta, policy, this.#followedMaster(w.name));
      const stats = this.stats.get(w.name);
      if (stats) countRxResult(stats, result);
      if (result.ok) {
        if (ah && result.ahSeq !== null) this.#ahSeq.set(w.name, result.ahSeq);
        if (
          result.checksumForm === 'pseudo-header-group' &&
          w.tx.checksumForm !== 'pseudo-header-group' &&
          !this.#oldChecksum.has(w.name)
        ) {
          this.#oldChecksum.add(w.name);
          this.#encodedAdverts.delete(w.name);
          this.#onOldChecksum(w.name);
        }
        this.#onAdvert(w.name, result.advert, meta);
      } else this.#onReject(w.name, result);
    }
  }

  /** Reload: new receive policy and transmit options for an instance on the same socket and VRID. */
  update(w: InstanceWiring): boolean {
    const waiting = this.#pending.get(w.name);
    if (waiting) {
      if (waiting.w.rxPolicy.vrid !== w.rxPolicy.vrid) return false;
      this.#pending.set(w.name, { ...waiting, w });
      this.#wiring.set(w.name, w);
      return true;
    }
    const slot = this.#slotOf.get(w.name);
    const old = this.#wiring.get(w.name);
    if (!slot || !old || old.rxPolicy.vrid !== w.rxPolicy.vrid) return false;
    const list = slot.byVrid.get(w.rxPolicy.vrid) ?? [];
    slot.byVrid.set(
      w.rxPolicy.vrid,
      list.map((x) => (x.name === w.name ? w : x)),
    );
    this.#wiring.set(w.name, w);
    this.#encodedAdverts.delete(w.name); // auth and checksum form come from the wiring
    this.#sizeRxBuf(slot);
    return true;
  }

  /**
   * An IPv6 instance's advert source changed: its socket is bound to the old one, so it moves to a socket
   * bound to `srcAddr` (opened or shared), keeping its counters and AH sequence.
   */
  rebind(w: InstanceWiring, srcAddr: string): NetResult<void> {
    const stats = this.stats.get(w.name);
    const ahSeq = this.#ahSeq.get(w.name);
    this.remove(w.name);
    const r = this.add(w, srcAddr);
    if (!r.ok) return r;
    if (stats) this.stats.set(w.name, stats);
    if (ahSeq !== undefined) this.#ahSeq.set(w.name, ahSeq);
    return r;
  }

  /** Reload: an instance removed from the configuration; its socket closes when no other instance uses it. */
  remove(name: string): void {
    const slot = this.#slotOf.get(name);
    const w = this.#wiring.get(name);
    this.#pending.delete(name);
    this.#slotOf.delete(name);
    this.#wiring.delete(name);
    this.#ahSeq.delete(name);
    this.#encodedAdverts.delete(name);
    this.#oldChecksum.delete(name);
    this.stats.delete(name);
    if (!slot || !w) return;
    const vrid = w.rxPolicy.vrid;
    const list = (slot.byVrid.get(vrid) ?? []).filter((x) => x.name !== name);
    if (list.length > 0) slot.byVrid.set(vrid, list);
    else slot.byVrid.delete(vrid);
    if (slot.byVrid.size > 0) return this.#sizeRxBuf(slot);
    slot.sock.close();
    this.#slots.delete(slot.key);
    this.#listFds();
  }

  #listFds(): void {
    this.#fds = [...this.#slots.values()].map((s) => s.sock.fd);
  }

  /**
   * The socket an instance sends and receives on (for the data dump's fd_in/fd_out): -1 while it waits for its
   * interface, undefined when it has none.
   */
  fdOf(name: string): number | undefined {
    return this.#pending.has(name) ? -1 : this.#slotOf.get(name)?.sock.fd;
  }

  /** Which socket an instance is on (the same string for the instances sharing one), or undefined. */
  socketOf(name: string): string | undefined {
    return this.#pending.get(name)?.key ?? this.#slotOf.get(name)?.key;
  }

  /** The receiving sockets' file descriptors (the same array until one opens or closes). */
  fds(): readonly number[] {
    return this.#fds;
  }

  #advertOf(a: AdvertToSend, w: InstanceWiring): VrrpAdvert {
    const authDataHex = w.tx.authType === AuthType.pass ? passAuthDataHex(w.tx.authPassword) : '';
    return advertToEncode(a, { authType: w.tx.authType, authDataHex });
  }

  /** Puts one advert of `instance` on the wire (one copy per unicast peer). */
  send(instance: string, a: AdvertToSend): NetResult<void> {
    return this.#writeAdvert(instance, a, undefined);
  }

  /**
   * send() as a prepared write (prepared-write.ts): written to a sink it runs the same code and sends
   * nothing. What cannot be rehearsed without a change that only a real send may make writes nothing to a
   * sink: an AH advert (each takes a sequence number), or an IPv4 source the socket does not have yet.
   */
  prepareAdvert(instance: string, a: AdvertToSend): PreparedWrite {
    return { write: (sink) => this.#writeAdvert(instance, a, sink) };
  }

  #writeAdvert(instance: string, a: AdvertToSend, sink: DatagramSink | undefined): NetResult<void> {
    const slot = this.#slotOf.get(instance);
    const w = this.#wiring.get(instance);
    if (!slot || !w || (sink && w.tx.authType === AuthType.ah)) return ok(undefined);
    const advert = this.#advertOf(a, w);
    if (a.family === 4 && slot.sock.srcAddr !== a.srcAddr) {
      if (sink) return ok(undefined);
      const r = slot.sock.setIpv4Source(a.srcAddr);
      if (!r.ok) return r;
    }
    const targets = a.unicastPeers.length > 0 ? a.unicastPeers : [w.socket.group];
    // AH: one sequence number per advert, the same in the copy to every unicast peer (as keepalived) — a
    // number per copy would leave each peer's counter at a different place, and a peer that takes over
    // would then send numbers the others already passed.
    const seq = w.tx.authType === AuthType.ah ? this.#nextAhSeq(instance) : 0;
    let result: NetResult<void> = ok(undefined);
    for (const dst of targets) {
      const r =
        w.tx.authType === AuthType.ah
          ? this.#sendWithAh(slot, advert, w, seq, slot.unicast ? dst : undefined)
          : this.#sendPlain(slot, advert, a, w, dst, sink);
      if (!r.ok) result = r;
    }
    return result;
  }

  #sendPlain(
    slot: Slot,
    advert: VrrpAdvert,
    a: AdvertToSend,
    w: InstanceWiring,
    dst: string,
    sink: DatagramSink | undefined,
  ): NetResult<void> {
    const bytes = this.#encoded(w, a, advert, dst);
    if (!bytes.ok) return bytes;
    const p = slot.sock.prepare(bytes.value, slot.unicast ? dst : undefined);
    return p.ok ? p.value.write(sink) : p;
  }

  /**
   * The advert's bytes to `dst`, encoded once and reused while nothing in them changes — keepalived keeps one
   * built advert per instance the same way. Reuse keeps a master's sends cheap and lets a backup's takeover
   * advert be built before its deadline (a send() rehearsed through prepareAdvert), so the takeover does not pay for encoding.
   */
  #encoded(w: InstanceWiring, a: AdvertToSend, advert: VrrpAdvert, dst: string): NetResult<Uint8Array> {
    const contentKey = `${a.version}|${a.priority}|${a.advertIntervalCs}|${a.srcAddr}|${a.addresses.join(',')}`;
    let byDst = this.#encodedAdverts.get(w.name);
    if (!byDst) {
      byDst = new Map();
      this.#encodedAdverts.set(w.name, byDst);
    }
    const cached = byDst.get(dst);
    if (cached?.contentKey === contentKey) return ok(cached.bytes);
    try {
      const bytes = encodeAdvert(advert, {
        family: a.family,
        srcAddr: a.srcAddr,
        dstAddr: dst,
        checksumForm: this.#oldChecksum.has(w.name) ? 'pseudo-header-group' : w.tx.checksumForm,
        checksumGroup: w.tx.checksumGroup,
      });
      byDst.set(dst, { contentKey, bytes });
      return ok(bytes);
    } catch (e) {
      // Only a configuration the validator let through (e.g. an address of the wrong family) gets here.
      return fail('KA_SOCKET_BAD_ADDRESS', `cannot encode advert: ${(e as Error).message}`);
    }
  }

  /** VRRPv2 with IPsec AH: the whole IPv4 packet is ours to build, since the ICV covers its header. */
  /** The AH Sequence Number of the instance's next advert (keepalived stops just below 2^32, never wraps). */
  #nextAhSeq(instance: string): number {
    const last = this.#ahSeq.get(instance) ?? 0;
    const seq = last > AH_SEQ_LAST ? last : last + 1;
    this.#ahSeq.set(instance, seq);
    return seq;
  }

  #sendWithAh(
    slot: Slot,
    advert: VrrpAdvert,
    w: InstanceWiring,
    seq: number,
    peer: string | undefined,
  ): NetResult<void> {
    const hdr = slot.sock.planIpv4Header(peer);
    if (!hdr.ok) return hdr;
    let packet: Uint8Array;
    try {
      packet = encodeAdvert(advert, {
        family: 4,
        srcAddr: hdr.value.src,
        dstAddr: hdr.value.dst,
        withIpHeader: true,
        ipv4: { id: hdr.value.id, ttl: hdr.value.ttl },
        ah: { password: w.tx.authPassword, seq, zeroTtl: slot.unicast },
      });
    } catch (e) {
      return fail('KA_SOCKET_BAD_ADDRESS', `cannot encode advert: ${(e as Error).message}`);
    }
    return slot.sock.sendIpv4Packet(packet, peer);
  }

  close(): void {
    for (const s of this.#slots.values()) s.sock.close();
    this.#slots.clear();
    this.#listFds();
    this.#slotOf.clear();
    this.#pending.clear();
  }
}

let rmemDefault: number | undefined;

/**
 * What to ask for to get back a fresh socket's buffer, net.core.rmem_default (the kernel doubles what it is
 * asked for). Read once; 212992 is the kernel's own default.
 */
function defaultReceiveBuffer(): number {
  if (rmemDefault === undefined) {
    try {
      rmemDefault = Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim()) || 212992;
    } catch {
      rmemDefault = 212992;
    }
  }
  return Math.floor(rmemDefault / 2);
}

/**
 * Why an instance whose socket did not open waits instead of failing: no such interface (yet), or an IPv6
 * source the kernel refuses to bind for now — an address not on the host or still tentative (DAD running)
 * gives EADDRNOTAVAIL (docs/linux-sockets.md, 'Addresses'). IPv4 sockets are not bound to their source.
 */
function waitingReason(e: NetError, family: 4 | 6): 'interface' | 'source' | false {
  if (e.code === 'KA_SOCKET_ENODEV') return 'interface';
  if (e.code === 'KA_SOCKET_EADDRNOTAVAIL' && family === 6) return 'source';
  return false;
}

/** The IPv4 packet as the kernel delivered it (the socket hands header and payload over separately). */
function joinHeader(header: Uint8Array, payload: Uint8Array): Uint8Array {
  if (header.buffer === payload.buffer && header.byteOffset + header.length === payload.byteOffset) {
    return new Uint8Array(header.buffer, header.byteOffset, header.length + payload.length);
  }
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** The VRID byte, skipping an IPv4 AH header; null when the packet is too short to say. */
function vridOf(payload: Uint8Array, ipv4Header?: Uint8Array): number | null {
  const offset = ipv4Header && ipv4Header[9] === IPPROTO_AH ? AH_LENGTH : 0;
  return payload.length > offset + 1 ? payload[offset + 1]! : null;
}
