// Semantic validation of virtual servers, as keepalived's checker process completes them:
// defaults with an error for a missing protocol (UDP), scheduler (wlc) and method (NAT).
import type { Diagnostics } from './diagnostics.js';
import type { Family, KeepalivedConfig, VirtualServer } from './model.js';
import { addressFamily } from './vs-family.js';

/**
 * A group virtual server's number among those of its group, in file order (keepalived 2.2.7 numbers them
 * when it links them to their groups and writes it as the port: `[G]:1` is the second one of group G).
 */
const groupSeq = new WeakMap<VirtualServer, number>();

export function vsLabel(vs: VirtualServer, protocol: string): string {
  const k = vs.key;
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}`;
  if (k.kind === 'group') return `[${k.group}]:${groupSeq.get(vs) ?? 0}`;
  return `[${k.address}]:${protocol}:${k.port ?? 0}`;
}

/**
 * True when a virtual server is matched by fwmark alone (a fwmark virtual server, or a group with fwmark
 * members and no address): keepalived then ignores its protocol (service type 0), with a warning.
 */
function byFwmarkOnly(cfg: KeepalivedConfig, vs: VirtualServer): boolean {
  const k = vs.key;
  if (k.kind === 'fwmark') return true;
  if (k.kind !== 'group') return false;
  const g = cfg.virtualServerGroups.find((x) => x.name === k.group);
  return !!g && g.entries.some((e) => e.kind === 'fwmark') && !g.entries.some((e) => e.kind !== 'fwmark');
}

/** Matched by address: an address virtual server, or a group with at least one address entry. */
function byAddress(cfg: KeepalivedConfig, vs: VirtualServer): boolean {
  const k = vs.key;
  if (k.kind === 'address') return true;
  if (k.kind !== 'group') return false;
  const g = cfg.virtualServerGroups.find((x) => x.name === k.group);
  return !!g && g.entries.some((e) => e.kind !== 'fwmark');
}

/** keepalived's name of a real server in its messages: `[addr]:proto:port` (`none` under a fwmark). */
function rsLabel(address: string, proto: string, port: number | undefined): string {
  return `[${address}]:${proto}:${port ?? 0}`;
}

/**
 * keepalived's port rules for servers a packet reaches unchanged (DR, TUN: the port cannot change): under
 * a fwmark a configured port is cleared, under an address it is reset to the virtual server's; each with
 * keepalived's unlocated warning (exit code 5). The data plane and the checker core apply the same rule
 * (docs/lvs.md, "fwmark services and protocols"); NAT servers keep their ports. A group only warns: that
 * the port will be ignored (fwmark entries), that it does not match an address entry's.
 */
function portRules(cfg: KeepalivedConfig, vs: VirtualServer, proto: string, diag: Diagnostics): void {
  const vsMethod = vs.lbKind ?? 'NAT';
  const k = vs.key;
  const sorry = vs.sorryServer;
  const sorryRouted = sorry !== undefined && (vs.sorryServerLvsMethod ?? vsMethod) !== 'NAT';
  const routed = vs.realServers.filter((rs) => (rs.lvsMethod ?? vsMethod) !== 'NAT');
  if (k.kind === 'fwmark') {
    for (const rs of routed)
      if (rs.port)
        diag.error(
          'CONFIG_VS_PORT',
          `WARNING - fwmark virtual server ${vsLabel(vs, '')}, real server ${rsLabel(rs.address, 'none', rs.port)} has port specified - clearing`,
        );
    if (sorryRouted && sorry.port)
      diag.error(
        'CONFIG_VS_PORT',
        `WARNING - virtual server ${vsLabel(vs, '')}, sorry server has port specified - clearing`,
      );
  } else if (k.kind === 'address') {
    const vport = k.port ?? 0;
    const label = vsLabel(vs, proto);
    for (const rs of routed)
      if (rs.port && rs.port !== vport)
        diag.error(
          'CONFIG_VS_PORT',
          `WARNING - virtual server ${label} and real server ${rsLabel(rs.address, proto, rs.port)} ports don't match - resetting`,
        );
    if (sorryRouted && sorry.port && sorry.port !== vport)
      diag.error(
        'CONFIG_VS_PORT',
        `WARNING - virtual server ${label} and sorry server ports don't match - resetting`,
      );
  } else {
    const g = cfg.virtualServerGroups.find((x) => x.name === k.group);
    if (!g) return;
    const label = `[${k.group}]:0`;
    const tag = byFwmarkOnly(cfg, vs) ? 'none' : proto;
    if (g.entries.some((e) => e.kind === 'fwmark')) {
      for (const rs of routed)
        if (rs.port)
          diag.error(
            'CONFIG_VS_PORT',
            `WARNING - fwmark virtual server ${label}, real server ${rsLabel(rs.address, tag, rs.port)} has port specified - port will be ignored`,
          );
      if (sorryRouted && sorry.port)
        diag.error(
          'CONFIG_VS_PORT',
          `WARNING - fwmark virtual server ${label}, sorry server has port specified - port will be ignored`,
        );
    }
    // Each address entry (range) against each server: nothing is changed, the mismatch is reported.
    for (const e of g.entries) {
      if (e.kind !== 'range' || !e.first) continue;
      const vport = e.port ?? 0;
      const where = `${e.last && e.last !== e.first ? `${e.first}-${e.last}` : e.first},${vport}`;
      for (const rs of routed)
        if (rs.port && rs.port !== vport)
          diag.error(
            'CONFIG_VS_PORT',
            `virtual server ${label}:[${where}] and real server ${rsLabel(rs.address, tag, rs.port)} ports don't match`,
          );
      if (sorryRouted && sorry.port && sorry.port !== vport)
        diag.error(
          'CONFIG_VS_PORT',
          `WARNING - virtual server ${label}, sorry server has port specified - port will be ignored`,
        );
    }
  }
}

/**
 * keepalived 2.2.7 links each group virtual server to its group before any other check (docs/lvs.md, "The
 * address family of a virtual server"): one whose group is not defined, or whose family (settled by its
 * servers, ip_family or persistence_granularity) is not the family of the group's addresses and fwmarks
 * with a family, is ignored; one still without a family takes the group's. keepalived only logs these
 * (`-t` prints nothing and exits 0), so ours says them in notes, with keepalived's words.
 */
function linkGroups(cfg: KeepalivedConfig, diag: Diagnostics): void {
  cfg.virtualServers = cfg.virtualServers.filter((vs) => {
    const k = vs.key;
    if (k.kind !== 'group') return true;
    const label = `[${k.group}]:0`;
    const g = cfg.virtualServerGroups.find((x) => x.name === k.group);
    if (!g) {
      diag.note(
        'CONFIG_VS_GROUP',
        `Virtual server group ${k.group} specified but not configured - ignoring virtual server ${label}`,
        vs.pos,
      );
      return false;
    }
    const fams = new Set<Family>();
    for (const e of g.entries)
      if (e.kind === 'range' && e.first) fams.add(addressFamily(e.first));
      else if (e.kind === 'fwmark' && e.family) fams.add(e.family);
    const groupFam = fams.size === 1 ? [...fams][0] : undefined;
    if (fams.size === 2 && vs.ipFamily !== undefined) {
      diag.note(
        'CONFIG_VSG_FAMILY',
        `${k.group}: virtual server group with IPv4 & IPv6 doesn't match virtual server ${label} - ignoring`,
        vs.pos,
      );
      return false;
    }
    if (groupFam !== undefined && vs.ipFamily !== undefined && vs.ipFamily !== groupFam) {
      diag.note(
        'CONFIG_VSG_FAMILY',
        `${k.group}: address family doesn't match virtual server ${label} - ignoring`,
        vs.pos,
      );
      return false;
    }
    if (groupFam !== undefined) vs.ipFamily = groupFam;
    else if (
      vs.ipFamily === undefined &&
      g.entries.some((e) => e.kind === 'fwmark' && e.family === undefined)
    )
      // Nothing decides: the group's fwmarks have no family, nor has the virtual server (IPv4 then).
      diag.note(
        'CONFIG_VSG_FAMILY',
        `${k.group}: Virtual server ${label} address family cannot be determined, defaulting to IPv4`,
        vs.pos,
      );
    return true;
  });
}

export function validateLvs(cfg: KeepalivedConfig, diag: Diagnostics): void {
  linkGroups(cfg, diag);
  const counts = new Map<string, number>();
  for (const vs of cfg.virtualServers)
    if (vs.key.kind === 'group') {
      const n = counts.get(vs.key.group) ?? 0;
      groupSeq.set(vs, n);
      counts.set(vs.key.group, n + 1);
    }
  // keepalived 2.2.7 ignores a virtual server without real servers (a sorry server alone does not count),
  // before any other of these checks, and says so unlocated; -t exits 5.
  cfg.virtualServers = cfg.virtualServers.filter((vs) => {
    if (vs.realServers.length > 0) return true;
    diag.error(
      'CONFIG_VS_NO_REAL',
      `Virtual server ${vsLabel(vs, vs.protocol?.toLowerCase() ?? 'none')} has no real servers - ignoring`,
    );
    return false;
  });
  for (const vs of cfg.virtualServers) {
    if (vs.protocol && byFwmarkOnly(cfg, vs)) {
      // keepalived's words, unlocated as keepalived prints them; then where the line is, on a note.
      diag.error(
        'CONFIG_VS_PROTOCOL',
        `Warning: Virtual server ${vsLabel(vs, '')}: protocol specified for fwmark - protocol will be ignored`,
      );
      diag.note(
        'CONFIG_VS_PROTOCOL_IGNORED',
        `protocol ${vs.protocol} of virtual server ${vsLabel(vs, '')} is ignored: a fwmark service forwards TCP, UDP and SCTP packets carrying its mark`,
        vs.protocolPos ?? vs.pos,
      );
    }
    // An address virtual server, or a group with an address entry (keepalived 2.2.7's check_data.c): no
    // protocol is UDP, and one-packet scheduling is for UDP only (IPVS would take it for TCP or SCTP too).
    if (byAddress(cfg, vs)) {
      if (!vs.protocol) {
        diag.error(
          'CONFIG_VS_PROTOCOL',
          `Virtual server ${vsLabel(vs, 'none')}: no protocol set - defaulting to UDP`,
        );
        vs.protocol = 'UDP';
      }
      if (vs.schedulerFlags.includes('ops') && vs.protocol.toUpperCase() !== 'UDP') {
        diag.error(
          'CONFIG_VS_OPS',
          `Virtual server ${vsLabel(vs, vs.protocol.toLowerCase())}: one packet scheduling requires UDP - resetting`,
        );
        vs.schedulerFlags = vs.schedulerFlags.filter((f) => f !== 'ops');
      }
    }
    const proto = (vs.protocol ?? 'tcp').toLowerCase();
    if (!vs.lbKind) {
      diag.error(
        'CONFIG_VS_METHOD',
        `Virtual server ${vsLabel(vs, proto)}: no forwarding method set, setting default NAT`,
      );
      vs.lbKind = 'NAT';
    }
    if (!vs.lbAlgo) {
      diag.error(
        'CONFIG_VS_SCHEDULER',
        `Virtual server ${vsLabel(vs, proto)}: no scheduler set, setting default 'wlc'`,
      );
      vs.lbAlgo = 'wlc';
    }
    // keepalived 2.2.7 (check_data.c): a quorum above the real servers' total configured weight could never
    // be met and is reduced to it; a hysteresis not below the quorum is set to quorum - 1 (unsigned: a quorum
    // reduced to 0 gets 4294967295, as 2.2.7's arithmetic gives)
    const weightSum = vs.realServers.reduce((n, rs) => n + (rs.weight ?? vs.weight ?? 1), 0);
    if (vs.quorum > weightSum) {
      diag.error(
        'CONFIG_VS_QUORUM',
        `Warning - quorum ${vs.quorum} for ${vsLabel(vs, proto)} exceeds total weight of real servers ${weightSum}, reducing quorum to ${weightSum}`,
      );
      vs.quorum = weightSum;
    }
    if (vs.hysteresis >= vs.quorum) {
      const h = (vs.quorum - 1) >>> 0;
      diag.error(
        'CONFIG_VS_QUORUM',
        `Virtual server ${vsLabel(vs, proto)}: hysteresis ${vs.hysteresis} >= quorum ${vs.quorum}; setting hysteresis to ${h}`,
      );
      vs.hysteresis = h;
    }
    if (vs.key.kind === 'address' && (vs.key.port ?? 0) === 0 && vs.persistenceTimeoutS === undefined) {
      diag.error(
        'CONFIG_VS_PORT',
        `Virtual server ${vsLabel(vs, proto)}: zero port only valid for persistent services - setting`,
      );
      vs.persistenceTimeoutS = 360;
    }
    portRules(cfg, vs, proto, diag);
    if (vs.key.kind === 'group' && vs.persistenceGranularity !== undefined)
      diag.note(
        'CONFIG_NOT_RUN',
        `persistence_granularity ${vs.persistenceGranularity} of virtual server ${vsLabel(vs, proto)} is not applied: keepalived 2.2.7 programs every member of a group with the full address mask (the group is persistent, per client address)`,
        vs.pos,
      );
    for (const rs of vs.realServers)
      if ((rs.lthreshold ?? 0) > (rs.uthreshold ?? 0))
        diag.note(
          'CONFIG_NOT_RUN',
          `real server ${rs.address} of virtual server ${vsLabel(vs, proto)}: lthreshold ${rs.lthreshold} is above uthreshold ${rs.uthreshold ?? 0} (0 = no limit), which IPVS refuses; as with keepalived 2.2.7 the server is checked but never enters the table`,
          rs.pos,
        );
  }
}
