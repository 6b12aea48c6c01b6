// The LVS-NAT set-up the daemon tests share (lvs-nat, lvs-reload-loop, lvs-checker-kill): a director in
// test/lvs/lab.ts's NatLab whose VIP VRRP holds, a virtual_server with lb_algo rr over the lab's three real
// servers checked by TCP_CHECK, and the lab torn down after the file's tests; and the DR tests' configuration
// (drDaemonConf, by address or fwmark) and fresh-port client (freshClient).
import type { ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { ip } from '../helpers/netns.js';
import { type ClientResult, jsonOfScript, NatLab, VIP } from '../lvs/lab.js';
import { killAllRouters } from './router.js';

export interface NatConfOptions {
  vrid: number;
  delayLoopS?: number;
  connectTimeoutS?: number;
  retry: number;
  delayBeforeRetryS?: number;
  /** `sorry_server ADDRESS PORT`. */
  sorry?: string;
}

/** The keepalived.conf: one VRRP instance holding the VIP on c0, one virtual server on VIP:80. */
export function natDaemonConf(o: NatConfOptions): string {
  const checker = [
    `      connect_timeout ${o.connectTimeoutS ?? 1}`,
    `      retry ${o.retry}`,
    ...(o.delayBeforeRetryS === undefined ? [] : [`      delay_before_retry ${o.delayBeforeRetryS}`]),
  ].join('\n');
  return `vrrp_instance VI_1 {
  interface c0
  virtual_router_id ${o.vrid}
  version 3
  priority 150
  advert_int 0.1
  virtual_ipaddress { ${VIP}/32 }
}
virtual_server ${VIP} 80 {
  delay_loop ${o.delayLoopS ?? 1}
  lb_algo rr
  lb_kind NAT
  protocol TCP
${o.sorry ? `  sorry_server ${o.sorry}\n` : ''}${[11, 12, 13]
  .map(
    (k) => `  real_server 192.0.2.${k} 8080 {
    weight 1
    TCP_CHECK {
${checker}
    }
  }`,
  )
  .join('\n')}
}
`;
}

/**
 * Registers the file's before/after hooks: the lab (real servers started, the VIP left for VRRP to set)
 * before, every router killed and the lab removed after. `.lab` is set once `before` has run.
 */
export function natDaemonLab(skip: string | false): { lab: NatLab } {
  const holder = { lab: undefined as unknown as NatLab };
  before(async () => {
    if (skip) return;
    holder.lab = new NatLab();
    ip('-n', holder.lab.director, 'addr', 'del', `${VIP}/32`, 'dev', 'c0');
    await holder.lab.startServers();
  });
  after(() => {
    killAllRouters();
    holder.lab?.close();
  });
  return holder;
}

/** The DR labs' VIP and real servers (test/daemon/lvs-dr-failover, test/lvs/dr-respawn). */
export const DR_VIP = '198.51.100.100';
export const DR_REALS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];

/**
 * One VRRP instance holding DR_VIP on eth0 (v3, 0.1 s) and an rr DR virtual server over DR_REALS,
 * TCP_CHECKed: DR_VIP port 80, or `virtual_server fwmark N` with `fwmark`.
 */
export function drDaemonConf(o: { vrid: number; priority: number; fwmark?: number }): string {
  // A fwmark virtual server's real servers have no port (keepalived clears one, with a warning): TCP_CHECK
  // is told the port to connect to. It has no `protocol` either: keepalived ignores one (with a warning)
  // and the service forwards TCP, UDP and SCTP (docs/lvs.md, "fwmark services and protocols").
  const fw = o.fwmark !== undefined;
  return `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id ${o.vrid}
  version 3
  priority ${o.priority}
  advert_int 0.1
  virtual_ipaddress { ${DR_VIP}/32 }
}
virtual_server ${fw ? `fwmark ${o.fwmark}` : `${DR_VIP} 80`} {
  delay_loop 1
  lb_algo rr
  lb_kind DR
${fw ? '' : '  protocol TCP\n'}${DR_REALS.map(
  (a) => `  real_server ${a}${fw ? '' : ' 80'} {
    weight 1
    TCP_CHECK {
${fw ? '      connect_port 80\n' : ''}      connect_timeout 1
      retry 0
    }
  }`,
).join('\n')}
}
`;
}

const freshJs = `
const net = require('node:net');
const [vip, base, n] = process.argv.slice(1);
const names = []; const errs = [];
(async () => {
  for (let i = 0; i < Number(n); i++)
    await new Promise((res) => {
      let b = '';
      const c = net.connect({ host: vip, port: 80, localAddress: '198.51.100.10', localPort: Number(base) + i }, () =>
        c.write('GET / HTTP/1.0\\r\\n\\r\\n'));
      c.setTimeout(3000, () => { c.destroy(); errs.push('timeout'); res(); });
      c.on('data', (d) => (b += d));
      c.on('end', () => { names.push(b.split('\\r\\n\\r\\n').slice(1).join('')); c.end(); res(); });
      c.on('error', (e) => { errs.push(e.code || e.message); res(); });
    });
  console.log(JSON.stringify({ names, errors: errs.length, errs: errs.slice(0, 5) }));
})();
`;

/**
 * Requests from client source ports never used before (from `firstPort` up, below the ephemeral range),
 * one after the other: each is a new flow for a DR director, so rr over them is exact. A port reused
 * within a flow's lifetime would follow its earlier DR flow-map entry (as in IPVS) instead.
 */
export function freshClient(
  firstPort: number,
): (procs: ChildProcess[], ns: string, vip: string, n: number) => Promise<ClientResult> {
  let nextPort = firstPort;
  return (procs, ns, vip, n) => {
    const base = nextPort;
    nextPort += n;
    return jsonOfScript<ClientResult>(procs, ns, freshJs, [vip, String(base), String(n)]);
  };
}
