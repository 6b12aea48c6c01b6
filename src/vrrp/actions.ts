// Outputs of the VRRP state machine: a JSON-safe union. The daemon performs them in order; the simulator
// turns them into packets and timer events. Every action names the instance it comes from.
import type { IpFamily, VrrpVersion } from './advert.js';
import type { JsonValue, VirtualAddress } from './instance-params.js';
import type { VrrpTimerName } from './timers.js';

/** States (keepalived's INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98; RFC 3768 §6.4 has the first three). */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** What a notify reports: a state, or a keepalived pseudo-state (docs/keepalived-semantics.md). */
export type NotifyState =
  | 'MASTER'
  | 'BACKUP'
  | 'FAULT'
  | 'STOP'
  /** An instance removed by a reload, when it has `notify_deleted` (keepalived state 97). */
  | 'DELETED'
  | 'MASTER_RX_LOWER_PRI'
  | 'MASTER_PRIORITY'
  | 'BACKUP_PRIORITY';

/**
 * Counters the FSM owns. Names match stats.ts (RFC 6527 vrrpv3Statistics* without the prefix, plus
 * keepalived's become_master / release_master). Received-packet counters are counted by the packet layer
 * (stats.ts countRxResult); the daemon should not also call countTx for sends, because the FSM reports them.
 */
export type FsmCounterName =
  /** keepalived become_master; RFC 6527 MasterTransitions. */
  | 'BecomeMaster'
  /** keepalived release_master (MASTER → BACKUP/FAULT/STOP). */
  | 'ReleasedMaster'
  | 'SentAdvertisements'
  | 'SentPriZeroPackets';

export interface AdvertToSend {
  version: VrrpVersion;
  family: IpFamily;
  vrid: number;
  priority: number;
  advertIntervalCs: number;
  /** VIPs carried (excluded VIPs are not). */
  addresses: string[];
  /** Source address (the instance's primary address). */
  srcAddr: string;
  /** Unicast peers to send one copy each; empty = the multicast group. */
  unicastPeers: string[];
}

export type VrrpAction =
  | { type: 'sendAdvert'; instance: string; advert: AdvertToSend }
  /** Install addresses (VIPs + excluded VIPs) and the instance's virtual routes/rules. */
  | {
      type: 'addVips';
      instance: string;
      vips: VirtualAddress[];
      routes: JsonValue[];
      rules: JsonValue[];
    }
  | {
      type: 'removeVips';
      instance: string;
      vips: VirtualAddress[];
      routes: JsonValue[];
      rules: JsonValue[];
    }
  /** Gratuitous ARP (IPv4) / unsolicited NA (IPv6): `repeat` copies for each address, back to back. */
  | { type: 'sendGarp'; instance: string; family: IpFamily; addresses: string[]; repeat: number }
  | { type: 'armTimer'; instance: string; timer: VrrpTimerName; atUs: number }
  | { type: 'cancelTimer'; instance: string; timer: VrrpTimerName }
  /** keepalived notify: INSTANCE (priority = effective) or GROUP (priority 0). */
  | {
      type: 'notify';
      scope: 'INSTANCE' | 'GROUP';
      name: string;
      state: NotifyState;
      priority: number;
    }
  | { type: 'stat'; instance: string; counter: FsmCounterName }
  /** A state change, for logs and status; carries the reason keepalived logs. */
  | { type: 'stateChange'; instance: string; from: VrrpState; to: VrrpState; reason: string };

export type VrrpActionType = VrrpAction['type'];
