// What `-t` and the daemon's start say about virtual servers this host's data plane cannot program: with no
// IPVS (or `lvs_dataplane nftables`) the nftables data plane runs them, and a few set-ups it cannot express
// (TUN, DR matched by both fwmark and address, mixed forwarding methods; docs/lvs.md) are
// named on their own `note:` line instead of being found only in the checker's log. No effect on the exit code: keepalived accepts them.
import type { Diagnostics } from '../config/diagnostics.js';
import type { KeepalivedConfig } from '../config/model.js';
import { protocolsOf } from './dataplane.js';
import { serviceFromConfig } from './from-config.js';
import { DR_FLOW_TIMEOUT_S, drFlowTimeoutS, isDr, unsupported } from './nft-model.js';

/** Interfaces do not matter here: only what the nftables model can express. */
const ANY_INTERFACES = { ingress: ['any'], egress: 'any' };

/** `ipvs`: does this kernel have IPVS (asked only when some virtual server needs it). */
export function noteLvsNotRun(cfg: KeepalivedConfig, diag: Diagnostics, ipvs: () => boolean): void {
  if (cfg.virtualServers.length === 0) return;
  const pref = cfg.globalDefs.lvsDataplane;
  let onIpvs: boolean | undefined;
  const ipvsRuns = () => (onIpvs ??= pref !== 'nftables' && ipvs());
  if (pref === 'ipvs' && !ipvsRuns()) {
    diag.note(
      'CONFIG_NOT_RUN',
      'lvs_dataplane ipvs, but this kernel has no IPVS: no virtual server will be programmed',
    );
    return;
  }
  for (const vs of cfg.virtualServers) {
    const made = serviceFromConfig(cfg, vs, undefined);
    const errors = made.ok ? unsupported({ services: [made.spec] }, ANY_INTERFACES) : made.errors;
    if (errors.length === 0 || (made.ok && ipvsRuns())) continue;
    for (const e of errors)
      diag.note('CONFIG_NOT_RUN', `virtual server is parsed but not run on this host: ${e.message}`, vs.pos);
  }
  if (cfg.globalDefs.lvsTimeouts && !ipvsRuns())
    for (const n of lvsTimeoutsNotes(cfg)) diag.note('CONFIG_NOT_RUN', n.message, n.pos);
}

/**
 * lvs_timeouts on nftables become conntrack timeout policies of NAT services and the idle timeout of
 * direct-routing flow entries (`tcp` for TCP, `udp` for UDP); a DR flow entry has no TCP state, so
 * `tcpfin` does not reach TCP DR services, which is said once per such virtual server (docs/lvs.md).
 */
export function lvsTimeoutsNotes(
  cfg: KeepalivedConfig,
): { message: string; pos: KeepalivedConfig['virtualServers'][number]['pos'] }[] {
  const t = cfg.globalDefs.lvsTimeouts;
  if (!t?.tcpfin) return [];
  const out: { message: string; pos: KeepalivedConfig['virtualServers'][number]['pos'] }[] = [];
  for (const vs of cfg.virtualServers) {
    const made = serviceFromConfig(cfg, vs, undefined);
    if (made.ok && isDr(made.spec) && protocolsOf(made.spec).includes('tcp'))
      out.push({
        message: `lvs_timeouts tcpfin does not apply to virtual server ${made.spec.name} on nftables: a direct-routing flow entry has no TCP state, its flows expire ${drFlowTimeoutS(made.spec, t, 'tcp') ?? DR_FLOW_TIMEOUT_S} s after their last packet`,
        pos: vs.pos,
      });
  }
  return out;
}
