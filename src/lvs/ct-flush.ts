// Deleting the conntrack entries of a removed real server, selected by the conntrack mark the nftables
// data plane gave its connections (ctnetlink "flush with filter": IPCTNL_MSG_CT_DELETE without a tuple,
// with CTA_MARK and CTA_MARK_MASK). Without this, a UDP flow keeps going to a failed server for as long
// as the client keeps sending (keepalived issues #1781, #2163); for TCP it gives IPVS's
// expire_nodest_conn=1 behaviour (the next packet is rescheduled and the new server resets it).
// The message encoding is pure; ConntrackFlusher sends it in the namespace of this process.
import { createNetlink, type NetlinkSocket } from 'netlink';
import { NETLINK_NETFILTER, NLM_F_ACK, NLM_F_REQUEST } from '../net/nlmsg.js';

const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_DELETE = 2;
const CTA_MARK = 8;
const CTA_MARK_MASK = 21;

/** Message type of a conntrack delete. */
export const CT_DELETE_TYPE = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;

/** The payload after nlmsghdr: nfgenmsg (family 0 = every family, version 0, res_id 0) + mark and mask. */
export function ctDeleteByMarkPayload(mark: number): Uint8Array {
  const b = new Uint8Array(4 + 8 + 8);
  const v = new DataView(b.buffer);
  // nfgenmsg: family, version, res_id (big endian) all 0.
  v.setUint16(4, 8, true);
  v.setUint16(6, CTA_MARK, true);
  v.setUint32(8, mark >>> 0, false);
  v.setUint16(12, 8, true);
  v.setUint16(14, CTA_MARK_MASK, true);
  v.setUint32(16, 0xffffffff, false);
  return b;
}

export interface ConntrackFlusher {
  /** Deletes every conntrack entry carrying one of `marks`; resolves with the errors, if any. */
  flush(marks: readonly number[]): Promise<string[]>;
  close(): void;
}

/** Flushes through a NETLINK_NETFILTER socket of this process's network namespace. */
export function netlinkFlusher(): ConntrackFlusher {
  let sock: NetlinkSocket | undefined;
  return {
    async flush(marks) {
      const errors: string[] = [];
      try {
        sock ??= createNetlink(NETLINK_NETFILTER);
        sock.socket.on('error', () => {});
      } catch (e) {
        return [`cannot open ctnetlink socket: ${(e as Error).message}`];
      }
      for (const m of marks) {
        try {
          await sock.request(CT_DELETE_TYPE, ctDeleteByMarkPayload(m), {
            flags: NLM_F_REQUEST | NLM_F_ACK,
            timeout: 2000,
          });
        } catch (e) {
          // ENOENT = nothing carried that mark: not an error.
          const msg = (e as Error).message;
          if (!/ENOENT|No such file/.test(msg)) errors.push(`flush conntrack mark ${m}: ${msg}`);
        }
      }
      return errors;
    },
    close() {
      sock?.socket.close();
      sock = undefined;
    },
  };
}
