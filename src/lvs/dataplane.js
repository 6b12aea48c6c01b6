// The LVS data-plane interface: a pure, typed description of what the kernel should do with virtual
// services (desired state), and a pure planner that turns "committed state + desired state" into the
// smallest list of changes. Back ends (nftables, IPVS) consume the state or the plan; nothing here does
// I/O. The checker core decides which real servers are live and whether the sorry server is active;
// this module only describes the result. See docs/lvs.md.
import { isIP } from 'node:net';
export const SCHEDULERS = [
    'rr',
    'wrr',
    'lc',
    'wlc',
    'lblc',
    'lblcr',
    'dh',
    'sh',
    'sed',
    'nq',
    'fo',
    'ovf',
    'mh',
    'twos',
];
export const EMPTY_STATE = { services: [] };
// ---------------------------------------------------------------------------------------------------
// Keys and canonical form
export function matchKey(m) {
    return m.kind === 'fwmark' ? `fwmark:${m.fwmark}` : `${m.address}|${m.port}`;
}
export function realKey(r) {
    return `${r.address}|${r.port}`;
}
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
/** The canonical form: services by name, matches and real servers by key. Order carries no meaning. */
export function canonical(state) {
    return {
        services: [...state.services].map(canonicalService).sort((a, b) => cmp(a.name, b.name)),
    };
}
function canonicalService(s) {
    const out = {
        name: s.name,
        family: s.family,
        protocol: s.protocol,
        matches: [...s.matches].sort((a, b) => cmp(matchKey(a), matchKey(b))).map((m) => ({ ...m })),
        scheduler: s.scheduler,
        flags: { ...s.flags },
        reals: [...s.reals].sort((a, b) => cmp(realKey(a), realKey(b))).map((r) => ({ ...r })),
        sorryActive: s.sorryActive,
    };
    if (s.persistence)
        out.persistence = { ...s.persistence };
    if (s.sorry)
        out.sorry = { ...s.sorry };
    return out;
}
/** The servers that take new connections, in canonical order, with their weights (> 0). */
export function activePool(s) {
    if (s.sorryActive)
        return s.sorry && s.sorry.weight > 0 ? [s.sorry] : s.sorry ? [{ ...s.sorry, weight: 1 }] : [];
    return [...s.reals].filter((r) => r.weight > 0).sort((a, b) => cmp(realKey(a), realKey(b)));
}
/** The servers an `ipvsadm -L` listing shows: the sorry server alone while active, else all real servers. */
export function listedServers(s) {
    if (s.sorryActive && s.sorry)
        return [s.sorry];
    return [...s.reals].sort((a, b) => cmp(realKey(a), realKey(b)));
}
/** Largest weight IPVS accepts (keepalived's IPVS_WEIGHT_MAX is INT32_MAX). */
export const WEIGHT_MAX = 2147483647;
function checkEndpoint(fam, r, what) {
    const e = [];
    if (isIP(r.address) !== fam)
        e.push({ code: 'LVS_BAD_ADDRESS', message: `${what}: ${r.address} is not IPv${fam}` });
    if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)
        e.push({ code: 'LVS_BAD_PORT', message: `${what}: bad port ${r.port}` });
    return e;
}
/** Every reason the state cannot be programmed as given (empty = valid). */
export function validateState(state) {
    const errs = [];
    const names = new Set();
    const matches = new Map();
    for (const s of state.services) {
        if (names.has(s.name))
            errs.push({ code: 'LVS_DUPLICATE_SERVICE', message: `service ${s.name} twice` });
        names.add(s.name);
        if (s.matches.length === 0)
            errs.push({ code: 'LVS_NO_MATCH', message: `service ${s.name} matches nothing` });
        for (const m of s.matches) {
            if (m.kind === 'addr')
                errs.push(...checkEndpoint(s.family, m, `service ${s.name}`));
            else if (!Number.isInteger(m.fwmark) || m.fwmark < 1 || m.fwmark > 0xffffffff)
                errs.push({ code: 'LVS_BAD_PORT', message: `service ${s.name}: bad fwmark ${m.fwmark}` });
            // fwmarks are per family; addresses per protocol.
            const k = m.kind === 'fwmark' ? `${s.family}|${matchKey(m)}` : `${s.protocol}|${matchKey(m)}`;
            const other = matches.get(k);
            if (other !== undefined)
                errs.push({ code: 'LVS_DUPLICATE_MATCH', message: `${matchKey(m)} in ${other} and ${s.name}` });
            matches.set(k, s.name);
        }
        const reals = new Set();
        for (const r of s.reals) {
            errs.push(...checkEndpoint(s.family, r, `service ${s.name} real server`));
            if (reals.has(realKey(r)))
                errs.push({ code: 'LVS_DUPLICATE_REAL', message: `service ${s.name}: ${realKey(r)} twice` });
            reals.add(realKey(r));
            if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > WEIGHT_MAX)
                errs.push({ code: 'LVS_BAD_WEIGHT', message: `service ${s.name}: weight ${r.weight}` });
        }
        if (s.sorry)
            errs.push(...checkEndpoint(s.family, s.sorry, `service ${s.name} sorry server`));
        const p = s.persistence;
        if (p && (!(p.timeoutS >= 1) || p.prefixLen < 0 || p.prefixLen > (s.family === 4 ? 32 : 128)))
            errs.push({ code: 'LVS_BAD_PERSISTENCE', message: `service ${s.name}: bad persistence` });
    }
    return errs;
}
function sameFlags(a, b) {
    return a.hashPort === b.hashPort && a.fallback === b.fallback && a.onePacket === b.onePacket;
}
function samePersistence(a, b) {
    if (!a || !b)
        return a === b;
    return a.timeoutS === b.timeoutS && a.prefixLen === b.prefixLen;
}
function sameReal(a, b) {
    if (!a || !b)
        return a === b;
    return a.address === b.address && a.port === b.port && a.weight === b.weight && a.method === b.method;
}
function attrsOf(s) {
    const a = { scheduler: s.scheduler, flags: { ...s.flags } };
    if (s.persistence)
        a.persistence = { ...s.persistence };
    return a;
}
/**
 * The minimal change list taking `from` to `to`. Deletions of services come first (they free matches
 * another service may take), then additions and edits. A service whose family or protocol changes is
 * replaced (deleted and added), as IPVS identifies services by them.
 */
export function planChanges(from, to) {
    const dels = [];
    const rest = [];
    const old = new Map(from.services.map((s) => [s.name, s]));
    const neu = new Map(to.services.map((s) => [s.name, s]));
    for (const [name, o] of old) {
        const n = neu.get(name);
        if (!n || n.family !== o.family || n.protocol !== o.protocol)
            dels.push({ op: 'del-service', name });
    }
    // Matches that move between services: the losing service drops them before the gaining one adds them.
    const matchDels = [];
    for (const n of neu.values()) {
        const o = old.get(n.name);
        if (o === n)
            continue;
        if (!o || o.family !== n.family || o.protocol !== n.protocol) {
            rest.push({ op: 'add-service', service: canonicalService(n) });
            continue;
        }
        const name = n.name;
        if (o.scheduler !== n.scheduler ||
            !sameFlags(o.flags, n.flags) ||
            !samePersistence(o.persistence, n.persistence))
            rest.push({ op: 'set-service', name, attrs: attrsOf(n) });
        const om = new Map(o.matches.map((m) => [matchKey(m), m]));
        const nm = new Map(n.matches.map((m) => [matchKey(m), m]));
        for (const [k, m] of om)
            if (!nm.has(k))
                matchDels.push({ op: 'del-match', name, match: { ...m } });
        for (const [k, m] of nm)
            if (!om.has(k))
                rest.push({ op: 'add-match', name, match: { ...m } });
        const or = new Map(o.reals.map((r) => [realKey(r), r]));
        const nr = new Map(n.reals.map((r) => [realKey(r), r]));
        for (const [k, r] of or)
            if (!nr.has(k))
                rest.push({ op: 'del-real', name, address: r.address, port: r.port });
        for (const [k, r] of nr) {
            const was = or.get(k);
            if (!was)
                rest.push({ op: 'add-real', name, real: { ...r } });
            else if (!sameReal(was, r))
                rest.push({ op: 'set-real', name, real: { ...r } });
        }
        if (!sameReal(o.sorry, n.sorry) || o.sorryActive !== n.sorryActive) {
            const c = { op: 'set-sorry', name, active: n.sorryActive };
            if (n.sorry)
                c.sorry = { ...n.sorry };
            rest.push(c);
        }
    }
    return [...dels, ...matchDels, ...rest];
}
/** The services a plan touches (by name). */
export function touchedServices(plan) {
    return new Set(plan.map((c) => (c.op === 'add-service' ? c.service.name : c.name)));
}
/**
 * Applies a plan to a canonical state (pure). Services the plan does not name are kept as they are (by
 * reference), so the cost follows the plan, not the state. Changes naming unknown services are ignored.
 */
export function applyChanges(state, plan) {
    const svcs = new Map(state.services.map((s) => [s.name, s]));
    const copied = new Set();
    let renamed = false;
    for (const c of plan) {
        if (c.op === 'add-service') {
            if (!svcs.has(c.service.name))
                renamed = true;
            svcs.set(c.service.name, canonicalService(c.service));
            copied.add(c.service.name);
            continue;
        }
        if (c.op === 'del-service') {
            if (svcs.delete(c.name))
                renamed = true;
            continue;
        }
        let s = svcs.get(c.name);
        if (!s)
            continue;
        if (!copied.has(c.name)) {
            s = canonicalService(s);
            svcs.set(c.name, s);
            copied.add(c.name);
        }
        switch (c.op) {
            case 'set-service':
                s.scheduler = c.attrs.scheduler;
                s.flags = { ...c.attrs.flags };
                if (c.attrs.persistence)
                    s.persistence = { ...c.attrs.persistence };
                else
                    delete s.persistence;
                break;
            case 'add-match':
                if (!s.matches.some((m) => matchKey(m) === matchKey(c.match)))
                    s.matches.push({ ...c.match });
                break;
            case 'del-match':
                s.matches = s.matches.filter((m) => matchKey(m) !== matchKey(c.match));
                break;
            case 'add-real':
            case 'set-real':
                s.reals = s.reals.filter((r) => realKey(r) !== realKey(c.real));
                s.reals.push({ ...c.real });
                break;
            case 'del-real':
                s.reals = s.reals.filter((r) => realKey(r) !== realKey(c));
                break;
            case 'set-sorry':
                if (c.sorry)
                    s.sorry = { ...c.sorry };
                else
                    delete s.sorry;
                s.sorryActive = c.active;
                break;
        }
    }
    for (const n of copied) {
        const s = svcs.get(n);
        if (s)
            svcs.set(n, canonicalService(s));
    }
    let services = [...svcs.values()];
    if (renamed)
        services = services.sort((a, b) => cmp(a.name, b.name));
    return { services };
}
//# sourceMappingURL=dataplane.js.map