// An `ipvsadm -Ln` style listing of the committed data-plane state, so an operator's habit carries over.
// Pure: the connection counts come in as a map from conntrack mark (one per service × server, see
// nft-model.ts) to counts, parsed from conntrack's table by parseConntrack. Layout facts: docs/lvs.md.
import { isIPv4 } from 'node:net';
import { listedServers, } from './dataplane.js';
import { markKey } from './nft-model.js';
/**
 * Counts conntrack entries per mark from the text of /proc/net/nf_conntrack (or `conntrack -L -o extended`
 * output, same fields). IPVS's ActiveConn is TCP connections in ESTABLISHED; every other entry (TCP in
 * any other state, UDP, SCTP) counts as InActConn. Entries without a mark are ignored.
 */
export function parseConntrack(text) {
    const out = new Map();
    for (const line of text.split('\n')) {
        const m = /\bmark=(\d+)/.exec(line);
        if (!m)
            continue;
        const mark = Number(m[1]);
        if (mark === 0)
            continue;
        const c = out.get(mark) ?? { active: 0, inactive: 0 };
        if (/\btcp\s+6\s+\d+\s+ESTABLISHED\b/.test(line))
            c.active++;
        else
            c.inactive++;
        out.set(mark, c);
    }
    return out;
}
const PROTO_NUM = { tcp: 6, udp: 17, sctp: 132 };
function addrBytes(a) {
    if (isIPv4(a))
        return a.split('.').map(Number);
    const [head = '', tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return groups.flatMap((g) => {
        const n = Number.parseInt(g, 16);
        return [n >> 8, n & 0xff];
    });
}
function cmpAddr(a, b) {
    const x = addrBytes(a);
    const y = addrBytes(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++)
        if ((x[i] ?? 0) !== (y[i] ?? 0))
            return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
}
function addrPort(family, address, port) {
    return family === 4 ? `${address}:${port}` : `[${address}]:${port}`;
}
/** ipvsadm's forward names (a NAT destination on a local address stays "Masq" on Linux 6.1, checked). */
function forwardName(method) {
    if (method === 'NAT')
        return 'Masq';
    return method === 'DR' ? 'Route' : 'Tunnel';
}
function maskText(prefixLen) {
    const m = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
    return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join('.');
}
function schedFlags(s) {
    const f = [];
    const name = s.scheduler === 'sh' || s.scheduler === 'mh' ? s.scheduler : '';
    if (s.flags.fallback)
        f.push(name ? `${name}-fallback` : 'flag-1');
    if (s.flags.hashPort)
        f.push(name ? `${name}-port` : 'flag-2');
    return f.length > 0 ? ` (${f.join(',')})` : '';
}
function cmpEntries(a, b) {
    const fa = a.m.kind === 'fwmark' ? a.m.fwmark : 0;
    const fb = b.m.kind === 'fwmark' ? b.m.fwmark : 0;
    if (fa !== fb)
        return fa - fb;
    if (a.s.family !== b.s.family)
        return a.s.family - b.s.family;
    if (a.s.protocol !== b.s.protocol)
        return PROTO_NUM[a.s.protocol] - PROTO_NUM[b.s.protocol];
    if (a.m.kind === 'addr' && b.m.kind === 'addr')
        return cmpAddr(a.m.address, b.m.address) || a.m.port - b.m.port;
    return 0;
}
/**
 * The listing: banner, two title lines, then each service (one per address/fwmark; a group is shown as
 * its members, as keepalived programs them into IPVS) with its servers sorted by address and port.
 */
export function formatList(state, marks, counts, opts = {}) {
    const lines = [
        `IP Virtual Server version ${opts.version ?? '1.2.1'} (size=${opts.size ?? 4096})`,
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    ];
    const entries = state.services.flatMap((s) => s.matches.map((m) => ({ s, m })));
    entries.sort(cmpEntries);
    for (const { s, m } of entries) {
        let name;
        if (m.kind === 'fwmark')
            name = s.family === 6 ? `FWM  ${m.fwmark} IPv6` : `FWM  ${m.fwmark}`;
        else {
            // ipvsadm pads the protocol name to four characters: "TCP  a:p", "SCTP a:p"
            name = `${s.protocol.toUpperCase().padEnd(4)} ${addrPort(s.family, m.address, m.port)}`;
            if (s.family === 4)
                name = name.slice(0, 33);
        }
        let head = `${name} ${s.scheduler}${schedFlags(s)}`;
        if (s.persistence) {
            head += ` persistent ${s.persistence.timeoutS}`;
            const full = s.family === 4 ? 32 : 128;
            if (s.persistence.prefixLen !== full)
                head += ` mask ${s.family === 4 ? maskText(s.persistence.prefixLen) : s.persistence.prefixLen}`;
        }
        if (s.flags.onePacket)
            head += ' ops';
        lines.push(head);
        const servers = [...listedServers(s)].sort((a, b) => cmpAddr(a.address, b.address) || a.port - b.port);
        for (const r of servers) {
            let d = addrPort(s.family, r.address, r.port);
            if (s.family === 4)
                d = d.slice(0, 28);
            const mark = marks.get(markKey(s.name, r));
            const c = (mark !== undefined && counts.get(mark)) || { active: 0, inactive: 0 };
            lines.push(`  -> ${d.padEnd(28)} ${forwardName(r.method).padEnd(7)} ${String(r.weight).padEnd(6)} ${String(c.active).padEnd(10)} ${String(c.inactive).padEnd(10)}`);
        }
    }
    return `${lines.join('\n')}\n`;
}
//# sourceMappingURL=list.js.map