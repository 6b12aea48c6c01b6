// Start-up of the VRRP runtime on this host, before any instance exists: rtnetlink's request socket and its
// monitor, the use_vmac links, the interface table and the engine plan built against it. Failures come back
// as coded values (runtime-error.ts); everything opened so far is closed again.

import type { Logger } from '../common/logger.js';
import type { KeepalivedConfig } from '../config/model.js';
import type { NetError } from '../net/net-error.js';
import { Netlink, type NetlinkEvent, NetlinkMonitor } from '../net/netlink.js';
import { awaitingLinkLocal, startFaultLines } from './dynamic-interfaces.js';
import { buildEnginePlan } from './engine-plan/build.js';
import type { EnginePlan } from './engine-plan/types.js';
import { InterfaceTable } from './interface-table.js';
import { type RuntimeError, runtimeError } from './runtime-error.js';
import { Vmacs, vmacSpecs } from './vmac.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface VrrpHost {
  nl: Netlink;
  monitor: NetlinkMonitor;
  vmacs: Vmacs;
  table: InterfaceTable;
  plan: EnginePlan;
  /**
   * Where link and address events go from now on (until then they are applied to the table), and what a lost
   * event (monitor overflow) does.
   */
  follow(onEvent: (ev: NetlinkEvent) => void, onLost: (e: NetError) => void): void;
  /** Undoes the set-up (VMACs removed, sockets closed). */
  close(): Promise<void>;
}

export type VrrpHostResult = { ok: true; host: VrrpHost } | { ok: false; errors: RuntimeError[] };

export async function openVrrpHost(
  cfg: KeepalivedConfig,
  log: Logger,
  sourceWaitMs: number,
): Promise<VrrpHostResult> {
  const nlr = Netlink.open();
  if (!nlr.ok) return { ok: false, errors: [nlr.error] };
  const nl = nlr.value;
  // The monitor opens before the listing, so no link change falls between the two: events that arrive
  // while the listing runs are replayed onto the table it returns.
  const early: NetlinkEvent[] = [];
  let sink: (ev: NetlinkEvent) => void = (ev) => early.push(ev);
  let monitorError: (e: NetError) => void = (e) => log.error(`${e.message} (link events may have been lost)`);
  const mon = NetlinkMonitor.open(
    (ev) => sink(ev),
    (e) => monitorError(e),
  );
  if (!mon.ok) {
    nl.close();
    return { ok: false, errors: [mon.error] };
  }
  let vmacs: Vmacs | null = null;
  const close = async () => {
    await vmacs?.tearDown();
    mon.value.close();
    nl.close();
  };
  const fail = async (errors: RuntimeError[]): Promise<VrrpHostResult> => {
    await close();
    return { ok: false, errors };
  };
  // use_vmac links first: the listing below must include them (the instances run on them).
  const vm = await Vmacs.setUp(nl, vmacSpecs(cfg), log);
  if (!vm.ok) return fail([runtimeError(vm.code, vm.message, vm.instance)]);
  vmacs = vm.value;
  // An IPv6 link-local source is unusable while DAD runs (just after link up): wait for it, briefly.
  const deadline = Date.now() + sourceWaitMs;
  let table: InterfaceTable;
  let plan: EnginePlan;
  for (;;) {
    // Events from before this listing are in it; the ones that come while it runs are applied after it.
    early.length = 0;
    const t = await InterfaceTable.load(nl);
    if (!t.ok) return fail([t.error]);
    table = t.value;
    for (const ev of early) table.apply(ev);
    plan = buildEnginePlan(cfg, table);
    if (!awaitingLinkLocal(plan, table) || Date.now() >= deadline) break;
    await sleep(100);
  }
  if (plan.errors.length > 0) return fail(plan.errors);
  for (const line of startFaultLines(cfg, plan, table)) log.info(line);
  if (plan.engine.instances.length === 0)
    return fail([runtimeError('VRRP_NOTHING_TO_RUN', 'no VRRP instance to run')]);
  return {
    ok: true,
    host: {
      nl,
      monitor: mon.value,
      vmacs,
      table,
      plan,
      follow(onEvent, onLost) {
        sink = onEvent;
        monitorError = onLost;
      },
      close,
    },
  };
}
