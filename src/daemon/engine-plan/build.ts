// The validated keepalived.conf model → what the daemon runs (EnginePlan, types.ts): the VRRP engine's
// parameters (one VrrpInstanceParams per vrrp_instance, instance.ts; one SyncGroupParams per vrrp_sync_group)
// and, beside them, the per-instance wiring the Linux runtime needs and the engine does not, the trackers the
// daemon runs (trackers.ts) and the configuration-wide parts (statics.ts). Pure: facts about the host come in
// through `HostAddressing`.
import { US_PER_S } from '../../common/units.js';
import type { KeepalivedConfig, NotifyScripts, SyncGroup } from '../../config/model.js';
import { vrrpMailPlan } from '../../notify/mail/vrrp-alerts.js';
import type { VrrpInstanceParams } from '../../vrrp/instance-params.js';
import type { SyncGroupParams } from '../../vrrp/sync-group.js';
import type { RuntimeError } from '../runtime-error.js';
import { vmacSpecs } from '../vmac.js';
import { notifyOf, planInstance } from './instance.js';
import { announcePacing, configuredVips, planFifos, planStatics } from './statics.js';
import { TrackerCatalog } from './trackers.js';
import type { EnginePlan, HostAddressing, InstanceWiring } from './types.js';

/**
 * Builds the engine parameters and runtime wiring. Call after validateConfig (which settles version,
 * family, priority and the advert interval the way keepalived's vrrp_complete_instance does).
 */
/** Each instance's sync group: the first that lists it (keepalived keeps an instance in one group). */
function groupsByMember(cfg: KeepalivedConfig): Map<string, SyncGroup> {
  const out = new Map<string, SyncGroup>();
  for (const g of cfg.syncGroups) for (const m of g.members) if (!out.has(m.name)) out.set(m.name, g);
  return out;
}

export function buildEnginePlan(cfg: KeepalivedConfig, host: HostAddressing): EnginePlan {
  const g = cfg.globalDefs;
  const warnings: string[] = [];
  const errors: RuntimeError[] = [];
  const trackers = new TrackerCatalog(cfg);
  const ctx = {
    globals: g,
    host,
    allVips: configuredVips(cfg),
    vmacs: new Map(vmacSpecs(cfg).map((v) => [v.instance, v])),
    trackers,
    warnings,
    groupOf: groupsByMember(cfg),
  };
  const instances: VrrpInstanceParams[] = [];
  const wiring = new Map<string, InstanceWiring>();
  for (const i of cfg.vrrpInstances) {
    const planned = planInstance(i, ctx);
    if ('error' in planned) {
      errors.push(planned.error);
      continue;
    }
    instances.push(planned.params);
    wiring.set(i.name, planned.wiring);
  }

  const syncGroups: SyncGroupParams[] = [];
  const groupNotify = new Map<string, NotifyScripts>();
  for (const sg of cfg.syncGroups) {
    const members = sg.members.map((m) => m.name).filter((n) => wiring.has(n));
    if (members.length === 0) continue;
    syncGroups.push({ name: sg.name, members, trackingWeight: sg.syncGroupTrackingWeight });
    groupNotify.set(sg.name, notifyOf(sg.notify));
  }

  const statics = planStatics(cfg, warnings);
  const out: EnginePlan = {
    engine: { instances, syncGroups },
    wiring,
    groupNotify,
    fifos: planFifos(g),
    statics,
    pacing: announcePacing(cfg),
    ...trackers.used(),
    startupDelayUs: Math.round(g.vrrpStartupDelayS * US_PER_S),
    mail: vrrpMailPlan(cfg),
    warnings,
    errors,
  };
  if (g.scriptUser) out.scriptUser = g.scriptUser;
  return out;
}
