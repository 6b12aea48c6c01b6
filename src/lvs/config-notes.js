import { serviceFromConfig } from './from-config.js';
import { unsupported } from './nft-model.js';
/** Interfaces do not matter here: only what the nftables model can express. */
const ANY_INTERFACES = { ingress: ['any'], egress: 'any' };
/** `ipvs`: does this kernel have IPVS (asked only when some virtual server needs it). */
export function noteLvsNotRun(cfg, diag, ipvs) {
    if (cfg.virtualServers.length === 0)
        return;
    const pref = cfg.globalDefs.lvsDataplane;
    let onIpvs;
    const ipvsRuns = () => (onIpvs ??= pref !== 'nftables' && ipvs());
    if (pref === 'ipvs' && !ipvsRuns()) {
        diag.note('CONFIG_NOT_RUN', 'lvs_dataplane ipvs, but this kernel has no IPVS: no virtual server will be programmed');
        return;
    }
    for (const vs of cfg.virtualServers) {
        const made = serviceFromConfig(cfg, vs, undefined);
        const errors = made.ok ? unsupported({ services: [made.spec] }, ANY_INTERFACES) : made.errors;
        if (errors.length === 0 || (made.ok && ipvsRuns()))
            continue;
        for (const e of errors)
            diag.note('CONFIG_NOT_RUN', `virtual server is parsed but not run on this host: ${e.message}`, vs.pos);
    }
}
//# sourceMappingURL=config-notes.js.map