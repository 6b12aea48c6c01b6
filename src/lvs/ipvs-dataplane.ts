// The IPVS data plane: the same Dataplane contract, sending ipvs-msg.ts's requests over a generic netlink
// socket of this process's namespace. IPVS has no transactions: a change set is a sequence of requests,
// stopped at the first failure (the committed state is then resynchronised by the caller with start()).
// Detection: available() resolves the "IPVS" family; kernels without IPVS answer ENOENT.
import { createNetlink, type NetlinkSocket } from 'netlink';
import {
  applyChanges,
  type Change,
  canonical,
  type Dataplane,
  type DataplaneResult,
  type DataplaneState,
  EMPTY_STATE,
  planChanges,
  validateState,
} from './dataplane.js';
import { getFamilyMessage, IpvsCmd, type IpvsRequest, ipvsMessage, ipvsRequests } from './ipvs-msg.js';

const NETLINK_GENERIC = 16;
const GENL_ID_CTRL = 0x10;
const CTRL_ATTR_FAMILY_ID = 1;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;

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

export class IpvsDataplane implements Dataplane {
  #sock: NetlinkSocket | undefined;
  #family: number | undefined;
  #state: DataplaneState = EMPTY_STATE;
  #queue: Promise<unknown> = Promise.resolve();

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

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #send(reqs: readonly IpvsRequest[], ignore: string[] = []): Promise<DataplaneResult> {
    const a = await this.available();
    if (!a.ok || this.#family === undefined)
      return { ok: false, error: { code: 'LVS_KERNEL', message: a.reason ?? 'IPVS not available' } };
    const sock = this.#open();
    for (const r of reqs) {
      const msg = ipvsMessage(r.cmd, { familyId: this.#family, seq: 0 }, r.body);
      try {
        await sock.request(this.#family, msg.subarray(16), {
          flags: NLM_F_REQUEST | NLM_F_ACK,
          timeout: 2000,
        });
      } catch (e) {
        const m = (e as Error).message;
        if (ignore.some((x) => m.includes(x))) continue;
        return { ok: false, error: { code: 'LVS_KERNEL', message: `IPVS command ${r.cmd}: ${m}` } };
      }
    }
    return { ok: true };
  }

  start(state: DataplaneState): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const bad = validateState(state)[0];
      if (bad) return { ok: false, error: bad };
      const want = canonical(state);
      // Leftovers with the same keys (a crashed run) are deleted first; absent ones answer ESRCH.
      const dels = ipvsRequests(want.services, []);
      let r = await this.#send(dels, ['ESRCH', 'No such process']);
      if (!r.ok) return r;
      r = await this.#send(ipvsRequests([], want.services));
      if (r.ok) this.#state = want;
      return r;
    });
  }

  update(state: DataplaneState): Promise<DataplaneResult> {
    return this.apply(planChanges(this.#state, state));
  }

  apply(plan: readonly Change[]): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const next = applyChanges(this.#state, plan);
      const bad = validateState(next)[0];
      if (bad) return { ok: false, error: bad };
      const names = new Set(plan.map((c) => (c.op === 'add-service' ? c.service.name : c.name)));
      const before = this.#state.services.filter((s) => names.has(s.name));
      const after = next.services.filter((s) => names.has(s.name));
      const r = await this.#send(ipvsRequests(before, after));
      if (r.ok) this.#state = next;
      return r;
    });
  }

  stop(keep = false): Promise<DataplaneResult> {
    return this.#serial(async () => {
      const r = keep ? { ok: true as const } : await this.#send(ipvsRequests(this.#state.services, []));
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
