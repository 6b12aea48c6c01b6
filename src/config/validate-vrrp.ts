// Semantic validation of the VRRP side, as keepalived "completes" each instance after parsing
// (vrrp_complete_instance and friends). It fixes the model the same way keepalived does — rounding,
// clearing incompatible options, dropping what cannot work — and says so.
import { US_PER_CS, US_PER_S } from '../common/units.js';
import type { Diagnostics } from './diagnostics.js';
import { DEFAULT_INTERFACE, type KeepalivedConfig, type VrrpInstanceConfig } from './model.js';

export interface HostFacts {
  /** Interface names present on this host (network namespace). */
  interfaces: Set<string>;
  /** An interface's MTU (for how many VIPs an advert carries); absent: 1500. */
  mtu?: (ifname: string) => number | undefined;
}

import { DEFAULT_MTU, moveExcessVips } from './vip-space.js';

function fmtSeconds(us: number, decimals: number): string {
  return (us / US_PER_S).toFixed(decimals);
}

/** Returns false when validation stopped early (a missing interface), as keepalived's does. */
export function validateVrrp(cfg: KeepalivedConfig, diag: Diagnostics, host: HostFacts | null): boolean {
  const g = cfg.globalDefs;
  let missingInterface = false;

  const checkIf = (
    name: string | undefined,
    message: string,
    pos: { file: string; line: number } | undefined,
  ) => {
    // dynamic_interfaces: keepalived waits for the interface to appear (the instance is in FAULT meanwhile).
    if (!host || name === undefined || g.dynamicInterfaces) return;
    if (!host.interfaces.has(name)) {
      diag.warn('CONFIG_BAD_IF', message, pos);
      missingInterface = true;
    }
  };

  for (const a of cfg.staticIpaddresses) {
    const text = `${a.address}${a.prefixLength !== (a.family === 4 ? 32 : 128) ? `/${a.prefixLength}` : ''}`;
    if (a.dev === undefined) {
      // keepalived puts a static address without `dev` on the default interface (default_interface, else
      // eth0); when that interface does not exist, the address is a fatal error (seen with 2.2.7).
      const dflt = g.defaultInterface ?? DEFAULT_INTERFACE;
      if (host && !g.dynamicInterfaces && !host.interfaces.has(dflt)) {
        diag.fatal(
          'CONFIG_BAD_IF',
          `Static address ${text} requires either an interface or default interface must exist`,
          a.pos,
        );
        missingInterface = true;
        continue;
      }
      a.dev = dflt;
    }
    checkIf(a.dev, `WARNING - interface ${a.dev} for ip address ${text} doesn't exist`, a.pos);
  }
  for (const r of cfg.staticRoutes) checkRoute(r);
  for (const r of cfg.staticRules) checkRule(r);

  function checkRoute(r: KeepalivedConfig['staticRoutes'][number]): void {
    if (r.dev !== undefined)
      checkIf(r.dev, `WARNING - interface ${r.dev} for VROUTE nexthop doesn't exist`, r.pos);
    else if (!r.noTrack) {
      const dest =
        r.destination === undefined || r.destination === 'default'
          ? r.family === 6
            ? '::/0'
            : '0.0.0.0/0'
          : r.destination;
      diag.warn(
        'CONFIG_ROUTE_UNTRACKED',
        `Warning - cannot track route ${dest} with no interface specified, not tracking`,
        r.pos,
      );
    }
    // r.dev is the first `dev`/`oif` (checked above); the next hops' other `dev`s must exist too.
    const hopDevs = r.ip.nexthops.flatMap((h) => (h.dev === undefined ? [] : [h.dev]));
    for (const ifname of r.ip.dev === undefined ? hopDevs.slice(1) : hopDevs)
      checkIf(ifname, `WARNING - interface ${ifname} for VROUTE nexthop doesn't exist`, r.pos);
  }

  // A rule's `iif` and `oif`, followed or not (no_track): keepalived 2.2.7 looks both up as it reads the line.
  // A missing one drops the rule there, before it is given a preference: no "Rule has no preference" line
  // for it, and its number goes to the next rule of its family.
  function checkRule(r: KeepalivedConfig['staticRules'][number]): void {
    const before = missingInterface;
    missingInterface = false;
    for (const ifname of [r.ip.iif, r.ip.oif])
      if (!missingInterface) checkIf(ifname, `WARNING - interface ${ifname} for rule doesn't exist`, r.pos);
    if (missingInterface) unnumber(r);
    missingInterface ||= before;
  }

  function unnumber(r: KeepalivedConfig['staticRules'][number]): void {
    const samePos = (a: { file: string; line: number } | undefined, b: { file: string; line: number }) =>
      a !== undefined && a.file === b.file && a.line === b.line;
    const k = diag.list.findIndex((d) => d.code === 'CONFIG_RULE_PREFERENCE' && samePos(d.pos, r.pos));
    if (k < 0) return;
    diag.list.splice(k, 1);
    const family = r.family ?? 4;
    const rules = [...cfg.staticRules, ...cfg.vrrpInstances.flatMap((i) => i.virtualRules)];
    for (const d of diag.list.slice(k)) {
      if (d.code !== 'CONFIG_RULE_PREFERENCE') continue;
      const later = rules.find((x) => samePos(d.pos, x.pos));
      if (!later || (later.family ?? 4) !== family || later.ip.priority === undefined) continue;
      const n = later.ip.priority + 1;
      d.message = d.message.replace(/setting to \d+/, `setting to ${n}`);
      later.ip.priority = n;
      later.words[later.words.length - 1] = String(n);
    }
  }

  // Interfaces are looked up while parsing in keepalived; a missing one ends VRRP validation there.
  for (const i of cfg.vrrpInstances) {
    if (i.interface !== undefined)
      checkIf(
        i.interface,
        `WARNING - interface ${i.interface} for vrrp_instance ${i.name} doesn't exist`,
        i.interfacePos,
      );
    for (const t of i.trackInterfaces) {
      if (t.name === i.interface) continue;
      checkIf(t.name, `(${i.name}) tracked interface ${t.name} doesn't exist`, t.pos);
    }
    for (const v of [...i.virtualIpaddresses, ...i.virtualIpaddressesExcluded])
      checkIf(v.dev, `WARNING - interface ${v.dev} for ip address ${v.address} doesn't exist`, v.pos);
    for (const r of i.virtualRoutes) checkRoute(r);
    for (const r of i.virtualRules) checkRule(r);
  }
  if (missingInterface) {
    diag.warn('CONFIG_BAD_IF', 'Non-existent interface specified in configuration');
    return false;
  }

  // Members of a sync group without sync_group_tracking_weight ignore tracking weights (first group wins).
  const syncWithoutWeights = new Set<string>();
  const grouped = new Set<string>();
  for (const g of cfg.syncGroups)
    for (const m of g.members) {
      if (grouped.has(m.name)) continue;
      grouped.add(m.name);
      if (!g.syncGroupTrackingWeight) syncWithoutWeights.add(m.name);
    }

  const kept: VrrpInstanceConfig[] = [];
  for (const i of cfg.vrrpInstances) {
    const name = `(${i.name})`;
    if (i.vrid === undefined) {
      diag.error('CONFIG_NO_VRID', `${name} the virtual router id must be set`);
      continue;
    }
    // keepalived 2.2.7 has no default for an instance's interface (default_interface does not apply; unicast
    // needs one too): its VRRP process stops on this, and so does ours (docs/config-meaning.md).
    if (i.interface === undefined) {
      diag.error('CONFIG_BAD_IF', `${name} Unknown interface!`);
      continue;
    }
    // A VMAC gets promote_secondaries when it is made; keepalived leaves the parent interface alone.
    if (i.promoteSecondaries && i.useVmac) {
      diag.error(
        'CONFIG_INVALID_VALUE',
        `${name} promote_secondaries is automatically set for vmacs - ignoring`,
      );
      i.promoteSecondaries = false;
    }
    // Family: IPv6 forces version 3 (keepalived 2.2.7 does so silently).
    const family = i.family ?? i.virtualIpaddresses[0]?.family ?? 4;
    i.family = family;
    let version = i.version ?? g.vrrpVersion;
    if (family === 6 && version === 2) version = 3;
    i.version = version;

    const strict = i.strictMode ?? g.vrrpStrict;
    const priority = i.priority ?? (i.state === 'MASTER' ? 255 : 100);
    i.priority = priority;

    // Advertisement interval.
    let adv = i.advertIntervalUs ?? US_PER_S;
    if (version === 2) {
      if (adv % US_PER_S !== 0) {
        diag.error(
          'CONFIG_ADVERT_INT',
          `${name} VRRPv2 advertisement interval ${fmtSeconds(adv, 6)}s must be an integer. rounding`,
        );
        adv = Math.max(US_PER_S, Math.round(adv / US_PER_S) * US_PER_S);
      }
      if (adv > 255 * US_PER_S) adv = 255 * US_PER_S;
    } else {
      if (adv > 4095 * US_PER_CS) {
        diag.error(
          'CONFIG_ADVERT_INT',
          `${name} VRRPv3 advertisement interval ${fmtSeconds(adv, 2)}s is out of range. Must be less than 40.96s. Setting to 40.95s`,
        );
        adv = 4095 * US_PER_CS;
      } else if (adv % US_PER_CS !== 0) {
        diag.error(
          'CONFIG_ADVERT_INT',
          `${name} VRRPv3 advertisement interval ${fmtSeconds(adv, 6)}s must be in units of 10ms - rounding`,
        );
        adv = Math.max(US_PER_CS, Math.round(adv / US_PER_CS) * US_PER_CS);
      }
    }
    i.advertIntervalUs = adv;

    // Authentication.
    if (i.auth) {
      if (version === 3) {
        diag.error('CONFIG_AUTH', `${name} VRRP version 3 does not support authentication. Ignoring.`);
        delete i.auth;
      } else if (strict) {
        diag.error('CONFIG_AUTH', `${name} Strict mode does not support authentication. Ignoring.`);
        delete i.auth;
      } else if (i.auth.password === undefined) {
        diag.error('CONFIG_AUTH', `${name} Authentication specified but no password given. Ignoring`);
        delete i.auth;
      } else if (i.auth.type === 'AH' && i.state === 'MASTER') {
        diag.error(
          'CONFIG_AUTH',
          `${name} Initial state master is incompatible with AH authentication - clearing`,
        );
        i.state = 'BACKUP';
      }
    }

    // VIPs past what an advert carries become excluded VIPs.
    const mtu = (i.interface !== undefined ? host?.mtu?.(i.interface) : undefined) ?? DEFAULT_MTU;
    moveExcessVips(i, version, family, mtu, diag);

    // Strict mode (vrrp_strict / strict_mode).
    if (strict) {
      // Either way: an explicit state that is not the owner's (2.2.7 then takes the owner's).
      if (i.state !== undefined && (i.state === 'MASTER') !== (priority === 255)) {
        diag.error('CONFIG_STRICT', `${name} State MASTER must match being address owner`);
        i.state = priority === 255 ? 'MASTER' : 'BACKUP';
      }
      if (
        (i.garpLowerPrioRepeat ?? g.vrrpGarpLowerPrioRepeat ?? 0) > 0 &&
        i.garpLowerPrioRepeat !== undefined
      ) {
        diag.error('CONFIG_STRICT', `${name} Strict mode requires no repeat garps. resetting`);
        i.garpLowerPrioRepeat = 0;
      }
      if (i.preemptDelayUs) {
        diag.error('CONFIG_STRICT', `${name} Strict mode does not support preempt_delay. Ignoring.`);
        delete i.preemptDelayUs;
      }
      // Unicast peers are kept: keepalived 2.2.7's check against them in strict mode never fires (it tests
      // the "unicast" flag before setting it), so a strict node beside it must send unicast too
      // (docs/config-meaning.md).
    }

    // A unicast keyword without a peer: 2.2.7 warns and uses multicast, unless unicast_fault_no_peer asks for
    // FAULT instead (the engine plan's configFault; docs/keepalived-semantics.md, 'Unicast').
    if (i.unicastConfigured && i.unicastPeers.length === 0 && !i.unicastFaultNoPeer)
      diag.warn(
        'CONFIG_DEPRECATED',
        `${name} A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.`,
      );

    // keepalived 2.2.7: an explicit `accept` on a strict VRRPv2 non-owner is reset (RFC 3768 has no accept
    // mode), so such a master drops traffic to its VIPs like any strict one (docs/config-meaning.md).
    if (i.accept === true && priority !== 255 && strict && version === 2) {
      diag.error(
        'CONFIG_STRICT',
        `${name} warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting`,
      );
      i.accept = false;
    }

    // Preemption. Without `state`, keepalived wants MASTER for the address owner, BACKUP otherwise.
    const wantsMaster = (i.state ?? (priority === 255 ? 'MASTER' : 'BACKUP')) === 'MASTER';
    if (i.nopreempt && priority === 255) {
      diag.error(
        'CONFIG_PREEMPT',
        `${name} nopreempt is incompatible with priority 255. resetting nopreempt`,
      );
      i.nopreempt = false;
    } else if (i.nopreempt && i.state === 'MASTER') {
      diag.error(
        'CONFIG_PREEMPT',
        `${name} Warning - nopreempt will not work with initial state MASTER - clearing`,
      );
      i.nopreempt = false;
    }
    if (i.preemptDelayUs !== undefined) {
      if (i.nopreempt) {
        diag.error('CONFIG_PREEMPT', `${name} preempt_delay is incompatible with nopreempt mode - resetting`);
        delete i.preemptDelayUs;
      } else if (wantsMaster) {
        diag.error(
          'CONFIG_PREEMPT',
          `${name} Warning - preempt delay will not work with initial state MASTER - clearing`,
        );
        delete i.preemptDelayUs;
      }
    }

    // VRRPv3 and strict mode need a VIP: 2.2.7 drops such an instance and its VRRP process stops.
    if (i.virtualIpaddresses.length === 0) {
      if (strict || version === 3) {
        diag.error('CONFIG_VIP_REQUIRED', `${name} No VIP specified; at least one is required`);
        continue;
      }
      diag.error('CONFIG_NO_VIP', `${name} No VIP specified; at least one is sensible`);
    }
    const syncNoWeights = syncWithoutWeights.has(i.name);
    if (syncNoWeights || priority === 255) ignoreWeights(cfg, i, diag, syncNoWeights);
    kept.push(i);
  }
  cfg.vrrpInstances = kept;

  // Duplicate VRID on one interface and family (unicast instances are told apart by their peers).
  const seen = new Map<string, VrrpInstanceConfig>();
  for (const i of kept) {
    if (i.unicastPeers.length > 0) continue;
    const key = `${i.vrid}/${i.family}/${i.interface ?? ''}`;
    const other = seen.get(key);
    if (other)
      diag.error(
        'CONFIG_DUPLICATE_VRID',
        `${other.name} and ${i.name} both use VRID ${i.vrid} with IPv${i.family} on interface ${i.interface ?? '(none)'}`,
      );
    else seen.set(key, i);
  }

  validateSyncGroups(cfg, diag);
  return true;
}

function validateSyncGroups(cfg: KeepalivedConfig, diag: Diagnostics): void {
  const owner = new Map<string, string>();
  const names = new Set(cfg.vrrpInstances.map((i) => i.name));
  const kept = [];
  for (const g of cfg.syncGroups) {
    if (g.members.length === 0) {
      diag.error('CONFIG_SYNC_GROUP', `Sync group ${g.name} has no virtual router(s). removing`);
      continue;
    }
    const members = [];
    for (const m of g.members) {
      if (!names.has(m.name)) {
        diag.error(
          'CONFIG_SYNC_GROUP',
          `Virtual router ${m.name} specified in sync group ${g.name} doesn't exist - ignoring`,
        );
        continue;
      }
      const prev = owner.get(m.name);
      if (prev !== undefined) {
        diag.error(
          'CONFIG_SYNC_GROUP',
          `Virtual router ${m.name} cannot exist in more than one sync group; ignoring ${g.name}`,
        );
        continue;
      }
      members.push(m);
    }
    if (members.length === 0) {
      diag.error(
        'CONFIG_SYNC_GROUP',
        `Sync group ${g.name}, no matching virtual router found in group declaration - removing`,
      );
      continue;
    }
    for (const m of members) owner.set(m.name, g.name);
    if (members.length === 1)
      diag.error(
        'CONFIG_SYNC_GROUP',
        `Sync group ${g.name} has only 1 virtual router(s) - this probably isn't what you want`,
      );
    g.members = members;
    kept.push(g);
  }
  cfg.syncGroups = kept;
}

/**
 * keepalived 2.2.7 (vrrp_complete_instance): a member of a sync group without sync_group_tracking_weight, or
 * else an address owner, ignores tracking weights — a weighted tracked interface is listed with weight 0 (sync group:
 * the weight still applies in 2.2.7, so it keeps it) or is dropped (owner), weighted tracked scripts are dropped, a
 * track_file with the default weight 1 gets weight 0 and one with another weight is dropped, and so is a weighted
 * track_bfd; each with
 * keepalived's message (docs/config-meaning.md).
 */
function ignoreWeights(cfg: KeepalivedConfig, i: VrrpInstanceConfig, diag: Diagnostics, sync: boolean): void {
  const name = `(${i.name})`;
  const why = sync ? 'SYNC group' : 'address_owner';
  i.trackInterfaces = i.trackInterfaces.filter((t) => {
    if (!t.weight) return true;
    diag.error(
      'CONFIG_IGNORED_WEIGHT',
      `${name} ignoring ${t.name} tracked interface ${sync ? 'weight ' : ''}due to ${sync ? 'SYNC group' : 'address owner'}`,
    );
    if (!sync) return false;
    // 2.2.7 zeroes the weight on the instance's list only; the interface's own record keeps it, and that is
    // the one that changes the priority: the weight applies, the interface never faults the instance.
    t.weightListedAsZero = true;
    return true;
  });
  i.trackScripts = i.trackScripts.filter((t) => {
    const weight = t.weight ?? cfg.vrrpScripts.find((s) => s.name === t.name)?.weight ?? 0;
    if (!weight) return true;
    diag.error(
      'CONFIG_IGNORED_WEIGHT',
      `${name} ignoring tracked script ${t.name} with weights due to ${why}`,
    );
    return false;
  });
  i.trackFiles = i.trackFiles.filter((t) => {
    const def = cfg.trackFiles.find((f) => f.name === t.name);
    const weight = t.weight ?? def?.weight ?? 1;
    const file = def?.file ?? t.name;
    if (weight === 1) {
      diag.error(
        'CONFIG_IGNORED_WEIGHT',
        `${name} ignoring weight from tracked file ${file} due to ${why}. specify weight 0`,
      );
      t.weight = 0;
      return true;
    }
    if (!weight) return true;
    diag.error(
      'CONFIG_IGNORED_WEIGHT',
      `${name} ignoring tracked file ${file} with weight ${weight} due to ${why}`,
    );
    return false;
  });
  // Weighted track_bfd entries are dropped (the block's weight when the entry gives none).
  i.trackBfds = i.trackBfds.filter((t) => {
    const weight = t.weight ?? cfg.bfdInstances.find((b) => b.name === t.name)?.weight ?? 0;
    if (!weight) return true;
    diag.error(
      'CONFIG_IGNORED_WEIGHT',
      `${name} ignoring tracked bfd ${t.name} with weight ${weight} due to ${why}`,
    );
    return false;
  });
}
