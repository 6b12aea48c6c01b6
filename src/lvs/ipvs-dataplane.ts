// The IPVS data plane: the same Dataplane contract, sending ipvs-msg.ts's requests over a generic netlink
// socket of this process's namespace. IPVS has no transactions: a change set is a sequence of requests,
// stopped at the first failure; the next start()/resync() reads the kernel's table back and repairs it.
// start() reconciles with what the kernel already has (services of ours left by an earlier run, found by
// their keys or in `leftovers`), so a restarted or respawned checker does not cut established connections.
// Detection: available() resolves the "IPVS" family; kernels without IPVS answer ENOENT. docs/lvs.md, "IPVS".
import { createNetlink, type NetlinkSocket } from 'netlink';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from '../net/nlmsg.js';
import {
  applyChanges,
  type Change,
  canonical,
  type Dataplane,
  type DataplaneResult,
  type DataplaneState,
  EMPTY_STATE,
  planChanges,
  type ServiceSpec,
  validateState,
} from './dataplane.js';
import {
  destKey,
  getFamilyMessage,
  IpvsCmd,
  type IpvsDestReply,
  type IpvsRequest,
  type IpvsService,
  type IpvsStats,
  type IpvsView,
  ipvsMessage,
  ipvsRequests,
  ipvsView,
  ipvsViewRequests,
  parseDestReply,
  parseServiceReply,
  parseServiceStats,
  serviceKey,
} from './ipvs-msg.js';

const NETLINK_GENERIC = 16;
const GENL_ID_CTRL = 0x10;
const CTRL_ATTR_FAMILY_ID = 1;

/** The family id from a CTRL_CMD_NEWFAMILY reply's payload (after nlmsghdr). */
export function familyIdFromReply(payload: Uint8Array): number | undefined {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let off = 4; // genlmsghdr
  while (off + 4 <= payload.length) {
    const len = v.getUint16(off, true);
    const type = v.getUint16(off + 2, true) & 0x3fff;
    if (len < 4) break;
    if (type === CTRL_ATTR_FAMILY_ID && len >= 6) return v.getUint16(off + 4, true);
    off += (len + 3) & ~3;
  }
  return undefined;
}

export interface IpvsOptions {
  /** keepalived's lvs_flush: the whole IPVS table is flushed before the first programming. */
  flushOnStart?: boolean;
  /** lvs_flush_on_stop: 'all' flushes the whole table on stop; 'vs' (or unset) deletes only ours. */
  flushOnStop?: 'all' | 'vs';
  /** lvs_timeouts, set at start (absent ones are left as the kernel has them). */
  timeouts?: { tcp?: number; tcpfin?: number; udp?: number };
  /** Services an earlier run of ours programmed (its state file): deleted at start if no longer wanted. */
  leftovers?: DataplaneState;
  log?: (msg: string) => void;
}

/** One IPVS service as read back from the kernel, with its destinations and their counters. */
export interface IpvsKernelService {
  svc: IpvsService;
  dests: IpvsDestReply[];
  /** The service's traffic counters (src/lvs/counters.ts). */
  stats?: IpvsStats;
}

export class IpvsDataplane implements Dataplane {
  #sock: NetlinkSocket | undefined;
  #family: number | undefined;
  #state: DataplaneState = EMPTY_STATE;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #o: IpvsOptions;

  constructor(o: IpvsOptions = {}) {
    this.#o = o;
  }

  #open(): NetlinkSocket {
    if (!this.#sock) {
      this.#sock = createNetlink(NETLINK_GENERIC);
      this.#sock.socket.on('error', () => {});
    }
    return this.#sock;
  }

  /** Resolves the IPVS family; false (with the reason) when the kernel has no IPVS. */
  async available(): Promise<{ ok: boolean; reason?: string }> {
    if (this.#family !== undefined) return { ok: true };
    try {
      const sock = this.#open();
      const [msgs] = await sock.request(GENL_ID_CTRL, getFamilyMessage(0).subarray(16), {
        flags: NLM_F_REQUEST | NLM_F_ACK,
        timeout: 2000,
      });
      const id = msgs[0] ? familyIdFromReply(new Uint8Array(msgs[0].data)) : undefined;
      if (id === undefined) return { ok: false, reason: 'no family id in the reply' };
      this.#family = id;
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `IPVS not available: ${(e as Error).message}` };
    }
  }

  committed(): DataplaneState {
    return this.#state;
  }

  /** One committed service by name (the sink's incremental path plans against it alone). */
  service(name: string): ServiceSpec | undefined {
    return this.#state.services.find((s) => s.name === name);
  }

  /** No conntrack marks: IPVS keeps its own connection table (counts come from dump()). */
  marks(): ReadonlyMap<string, number> {
    return new Map();
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #ready(): Promise<DataplaneResult> {
    const a = await this.available();
    if (!a.ok || this.#family === undefined)
      return { ok: false, error: { code: 'LVS_KERNEL', message: a.reason ?? 'IPVS not available' } };
    return { ok: true };
  }

  /**
   * Sends the requests in order, stopping at the first failure. A new entry that already exists or a deleted
   * one that is already gone counts as done (keepalived ignores EEXIST on add and ENOENT/ESRCH on delete the
   * same way): the kernel already is where the request wanted it.
   */
  async #send(reqs: readonly IpvsRequest[]): Promise<DataplaneResult> {
    const ready = await this.#ready();
    if (!ready.ok) return ready;
    const sock = this.#open();
    const family = this.#family as number;
    for (const r of reqs) {
      const msg = ipvsMessage(r.cmd, { familyId: family, seq: 0 }, r.body);
      try {
        await sock.request(family, msg.subarray(16), { flags: NLM_F_REQUEST | NLM_F_ACK, timeout: 5000 });
      } catch (e) {
        const m = (e as Error).message;
        const isNew = r.cmd === IpvsCmd.NEW_SERVICE || r.cmd === IpvsCmd.NEW_DEST;
        const isDel = r.cmd === IpvsCmd.DEL_SERVICE || r.cmd === IpvsCmd.DEL_DEST;
        if ((isNew && /EEXIST/.test(m)) || (isDel && /ENOENT|ESRCH/.test(m))) {
          this.#o.log?.(`IPVS ${describe(r)}: ${m}, already done`);
          continue;
        }
        return { ok: false, error: { code: 'LVS_KERNEL', message: `IPVS ${describe(r)}: ${m}` } };
      }
    }
    return { ok: true };
  }

  /** After a failed change set the kernel holds part of it: read it back and move it to `want`. */
  async #repair(failed: DataplaneResult, want: DataplaneState): Promise<DataplaneResult> {
    if (failed.ok) return failed;
    this.#o.log?.(`${failed.error.message}; reading the IPVS table back to repair it`);
    const r = await this.#reconcile(want);
    if (r.ok) this.#state = want;
    return failed;
  }

  async #dumpMsgs(cmd: number, service?: IpvsService): Promise<Uint8Array[]> {
    const family = this.#family as number;
    const msg = ipvsMessage(cmd, { familyId: family, seq: 0 }, service ? { service } : {});
    const [msgs] = await this.#open().request(family, msg.subarray(16), {
      flags: NLM_F_REQUEST | NLM_F_DUMP,
      timeout: 2000,
    });
    return msgs.map((m) => new Uint8Array(m.data));
  }

  /** Reads the kernel's whole IPVS table (every service, ours or not) with the connection counters. */
  dump(): Promise<IpvsKernelService[] | DataplaneResult> {
    return this.#serial(() => this.#dump());
  }

  async #dump(): Promise<IpvsKernelService[] | DataplaneResult> {
    const ready = await this.#ready();
    if (!ready.ok) return ready;
    try {
      const out: IpvsKernelService[] = [];
      for (const m of await this.#dumpMsgs(IpvsCmd.GET_SERVICE)) {
        const svc = parseServiceReply(m);
        if (!svc) continue;
        const dests: IpvsDestReply[] = [];
        for (const d of await this.#dumpMsgs(IpvsCmd.GET_DEST, svc)) {
          const dest = parseDestReply(d, svc.af);
          if (dest) dests.push(dest);
        }
        const stats = parseServiceStats(m);
        out.push({ svc, dests, ...(stats ? { stats } : {}) });
      }
      return out;
    } catch (e) {
      return { ok: false, error: { code: 'LVS_KERNEL', message: `IPVS dump: ${(e as Error).message}` } };
    }
  }

  /** The kernel's view of the services whose keys are in `keys`. */
  async #kernelView(keys: ReadonlySet<string>): Promise<IpvsView | DataplaneResult> {
    const all = await this.#dump();
    if (!Array.isArray(all)) return all;
    const view: IpvsView = new Map();
    for (const { svc, dests } of all) {
      const k = serviceKey(svc);
      if (keys.has(k)) view.set(k, { svc, dests: new Map(dests.map((d) => [destKey(d), d])) });
    }
    return view;
  }

  /** Moves the kernel's copy of our services (and of `extra` ones of ours) to `want`, whatever it holds now. */
  async #reconcile(want: DataplaneState, extra: DataplaneState = EMPTY_STATE): Promise<DataplaneResult> {
    const target = ipvsView(want.services);
    const keys = new Set([...target.keys(), ...ipvsView(extra.services).keys()]);
    const have = await this.#kernelView(keys);
    if (!(have instanceof Map)) return have;
    return this.#send(ipvsViewRequests(have, target));
  }

  start(state: DataplaneState): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const bad = validateState(state)[0];
      if (bad) return { ok: false, error: bad };
      const want = canonical(state);
      const ready = await this.#ready();
      if (!ready.ok) return ready;
      if (this.#o.flushOnStart) {
        const r = await this.#send([{ cmd: IpvsCmd.FLUSH, body: {} }]);
        if (!r.ok) return r;
      }
      const t = this.#o.timeouts;
      if (t) {
        const timeouts: { tcp?: number; tcpFin?: number; udp?: number } = {};
        if (t.tcp !== undefined) timeouts.tcp = t.tcp;
        if (t.tcpfin !== undefined) timeouts.tcpFin = t.tcpfin;
        if (t.udp !== undefined) timeouts.udp = t.udp;
        const r = await this.#send([{ cmd: IpvsCmd.SET_CONFIG, body: { timeouts } }]);
        if (!r.ok) return r;
      }
      const r = await this.#reconcile(want, this.#o.leftovers);
      if (r.ok) this.#state = want;
      return r;
    });
  }

  /** Restores the committed state in the kernel (entries changed or removed behind our back). */
  resync(): Promise<DataplaneResult> {
    return this.#serial(() => this.#reconcile(this.#state));
  }

  /** The plan is made when the change's turn comes, against the state committed by then. */
  update(state: DataplaneState): Promise<DataplaneResult> {
    return this.#serial(() => this.#apply(planChanges(this.#state, state)));
  }

  apply(plan: readonly Change[]): Promise<DataplaneResult> {
    return this.#serial(() => this.#apply(plan));
  }

  async #apply(plan: readonly Change[]): Promise<DataplaneResult> {
    const next = applyChanges(this.#state, plan);
    const bad = validateState(next)[0];
    if (bad) return { ok: false, error: bad };
    const names = new Set(plan.map((c) => (c.op === 'add-service' ? c.service.name : c.name)));
    const before = this.#state.services.filter((s) => names.has(s.name));
    const after = next.services.filter((s) => names.has(s.name));
    const reqs = ipvsRequests(before, after);
    const r = await this.#send(reqs);
    if (r.ok) this.#state = next;
    else {
      this.#o.log?.(`IPVS change set failed: ${reqs.map(describe).join(', ')}`);
      await this.#repair(r, next);
    }
    return r;
  }

  /**
   * Removes what we programmed (keepalived's default and `lvs_flush_on_stop VS`), flushes the whole table
   * (`lvs_flush_on_stop`), or leaves it (`keep`: -I).
   */
  stop(keep = false): Promise<DataplaneResult> {
    return this.#serial(async () => {
      let r: DataplaneResult = { ok: true };
      if (!keep)
        r =
          this.#o.flushOnStop === 'all'
            ? await this.#send([{ cmd: IpvsCmd.FLUSH, body: {} }])
            : await this.#send(ipvsRequests(this.#state.services, []));
      if (r.ok) this.#state = EMPTY_STATE;
      this.#sock?.socket.close();
      this.#sock = undefined;
      return r;
    });
  }

  /** keepalived's lvs_flush: removes every IPVS service, ours or not. */
  flushAll(): Promise<DataplaneResult> {
    return this.#serial(() => this.#send([{ cmd: IpvsCmd.FLUSH, body: {} }]));
  }
}

const CMD_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(IpvsCmd).map(([k, v]) => [v, k]),
) as Record<number, string>;

/** "NEW_DEST 192.0.2.11:80 in TCP 192.0.2.100:80" for error messages. */
function describe(r: IpvsRequest): string {
  const s = r.body.service;
  const svc = !s
    ? ''
    : s.fwmark !== undefined
      ? ` FWM ${s.fwmark}`
      : ` ${(s.protocol ?? '').toUpperCase()} ${s.af === 6 ? `[${s.address}]` : s.address}:${s.port}`;
  const d = r.body.dest;
  const dest = d ? ` ${d.af === 6 ? `[${d.address}]` : d.address}:${d.port} in` : '';
  return `${CMD_NAME[r.cmd] ?? r.cmd}${dest}${svc}`;
}
