// What the parts of the VRRP runtime share (vrrp-runtime.ts builds it): the engine, the host adapters, the
// plan in force, and the one way to feed the engine an input. Each part (vrrp-actions.ts, vrrp-links.ts,
// vrrp-trackers.ts, vrrp-reload.ts, vrrp-takeover.ts) holds this instead of reaching into the runtime.

import type { Logger } from '../common/logger.js';
import type { NetlinkEvent } from '../net/netlink.js';
import type { DumpFlags } from '../notify/dumps.js';
import type { VrrpAction } from '../vrrp/actions.js';
import type { EngineEvent, VrrpEngine } from '../vrrp/engine.js';
import type { EnginePlan } from './engine-plan/types.js';
import type { InterfaceTable } from './interface-table.js';
import type { VipInstaller } from './vip-installer.js';
import type { VrrpSocketPool } from './vrrp-sockets.js';

export type RuntimeState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface VrrpContext {
  readonly log: Logger;
  readonly engine: VrrpEngine;
  readonly table: InterfaceTable;
  readonly pool: VrrpSocketPool;
  readonly vips: VipInstaller;
  /** The plan in force: its wiring map changes with reloads; the plan object itself may be replaced. */
  readonly plan: EnginePlan;
  readonly state: RuntimeState;
  /** Configuration flags the engine does not carry (use_vmac's interface, for the source follower). */
  dumpFlags(instance: string): DumpFlags | undefined;
  /** Feeds one input to the engine (at `atUs`, a packet's arrival), performs its actions, re-arms the timer. */
  handle(ev: EngineEvent, atUs?: number): void;
  /** Performs actions (the engine's outputs) with the log lines held until the writes are done. */
  perform(actions: VrrpAction[]): void;
  /** The engine's clock: now (or `atUs`), never before its previous input. */
  engineTime(atUs?: number): number;
  /** Arms the timer at the engine's next deadline. */
  rearm(): void;
}

/** Owner name of static_ipaddress / static_routes / static_rules in the installer (not an instance name). */
export const STATIC_OWNER = '(static)';

export type NetlinkSink = (ev: NetlinkEvent) => void;
