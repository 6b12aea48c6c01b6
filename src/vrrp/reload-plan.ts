// SIGHUP as a plan (docs/keepalived-semantics.md, 'Reload (SIGHUP)'): from the running instances (their
// parameters, socket and state), the new configuration's instances and sync groups, to the ordered list of
// steps that applies it. Pure: no I/O, no clock. The daemon (src/daemon/vrrp-reload.ts) performs the steps
// on the host and the engine; the simulator (src/sim) performs their engine part, so that a property test
// can reload random configurations under a running network.
//
// keepalived matches an old and a new instance by VRID, family, interface, unicast mode, multicast group;
// keepalived-ts also needs the same name (the engine keys instances by name) and, for IPv6, the same source
// (the socket is bound to it). A matched instance keeps its state and takes the new parameters; an unmatched
// running one is stopped (priority 0, VIPs removed, DELETED or FAULT notify) and forgotten — stops come
// first, so a VIP moving to another instance is removed before it is added again; an unmatched new one
// starts like at startup (a new sync group made only of new instances forms with them).
import type { VrrpState } from './actions.js';
import type { VrrpInstanceParams } from './instance-params.js';
import type { SyncGroupParams } from './sync-group.js';

/** The socket an instance's adverts use, as far as matching goes. */
export interface ReloadSocket {
  unicast: boolean;
  /** Multicast group ('' or any constant for unicast). */
  group: string;
}

export interface ReloadInstance {
  params: VrrpInstanceParams;
  socket: ReloadSocket;
}

export interface RunningInstance extends ReloadInstance {
  state: VrrpState;
}

export interface ReloadInput {
  /** The engine's instances now, in its order. */
  running: readonly RunningInstance[];
  /** Running instances whose (old) configuration has notify_deleted: stopped, they notify DELETED. */
  notifyDeleted: ReadonlySet<string>;
  /** The new configuration. */
  next: { instances: readonly ReloadInstance[]; syncGroups: readonly SyncGroupParams[] };
}

export type ReloadStep =
  /** Stop for good: priority 0, VIPs removed, notify; then close its socket and forget it. */
  | { step: 'stop'; instance: string; notifyDeleted: boolean }
  /** Keeps its state with new parameters (and socket options); `start`: it was stopped, start it again. */
  | { step: 'update'; instance: string; params: VrrpInstanceParams; start: boolean }
  /** Open its socket and add it to the engine (INIT); may fail on the host, then later steps skip it. */
  | { step: 'add'; instance: string; params: VrrpInstanceParams }
  /** A new sync group whose members are all new: forms before they start (if every one was added). */
  | { step: 'formSyncGroup'; group: SyncGroupParams }
  /** Other sync-group changes wait for a restart: warn if the engine's groups differ from these. */
  | { step: 'compareSyncGroups'; groups: readonly SyncGroupParams[] }
  /** Trackers and notify scripts take the new configuration; the engine hears every tracker's state. */
  | { step: 'trackers' }
  /** Interfaces newly tracked (or of new instances) start being followed; down ones reported. */
  | { step: 'followLinks' }
  /** A new instance starts (if it was added). */
  | { step: 'start'; instance: string };

/** True when a running instance can take the new definition in place. */
export function sameVirtualRouter(old: ReloadInstance, next: ReloadInstance): boolean {
  const p = next.params;
  const o = old.params;
  return (
    p.name === o.name &&
    p.vrid === o.vrid &&
    p.family === o.family &&
    p.interface === o.interface &&
    next.socket.unicast === old.socket.unicast &&
    next.socket.group === old.socket.group &&
    (p.family === 4 || p.primaryAddress === o.primaryAddress)
  );
}

/** The same sync groups (name, members, tracking weight), in any order. */
export function sameSyncGroups(a: readonly SyncGroupParams[], b: readonly SyncGroupParams[]): boolean {
  const key = (gs: readonly SyncGroupParams[]) =>
    gs
      .map((g) => JSON.stringify([g.name, g.members, g.trackingWeight ?? false]))
      .sort()
      .join('\n');
  return key(a) === key(b);
}

export function planReload(input: ReloadInput): ReloadStep[] {
  const fresh = new Map(input.next.instances.map((x) => [x.params.name, x]));
  const stops: ReloadStep[] = [];
  const updates: ReloadStep[] = [];
  const kept = new Set<string>();
  for (const old of input.running) {
    const name = old.params.name;
    const n = fresh.get(name);
    if (n !== undefined && sameVirtualRouter(old, n)) {
      kept.add(name);
      updates.push({ step: 'update', instance: name, params: n.params, start: old.state === 'STOP' });
    } else stops.push({ step: 'stop', instance: name, notifyDeleted: input.notifyDeleted.has(name) });
  }
  const added = input.next.instances.filter((x) => !kept.has(x.params.name));
  const addedNames = new Set(added.map((x) => x.params.name));
  return [
    ...stops,
    ...updates,
    ...added.map((x): ReloadStep => ({ step: 'add', instance: x.params.name, params: x.params })),
    ...input.next.syncGroups
      .filter((g) => g.members.every((m) => addedNames.has(m)))
      .map((group): ReloadStep => ({ step: 'formSyncGroup', group })),
    { step: 'compareSyncGroups', groups: input.next.syncGroups },
    { step: 'trackers' },
    { step: 'followLinks' },
    ...added.map((x): ReloadStep => ({ step: 'start', instance: x.params.name })),
  ];
}
