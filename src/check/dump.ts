// The checker's part of the SIGUSR1 data dump (keepalived writes /tmp/keepalived_check.data). keepalived
// 2.2.7's checker cannot start without IPVS on these kernels, so its own layout could not be captured here:
// this is our layout, with keepalived's server names ([192.0.2.10]:tcp:80). Pure.
import type { RealServerStatus, VirtualServerView } from './core/index.js';

const ms = (us: number) => (us / 1000).toFixed(3);

export function formatCheckerData(status: RealServerStatus[], views: VirtualServerView[]): string {
  const out: string[] = ['------< Health checkers >------'];
  for (const v of views) {
    out.push(` VS = ${v.vs}`);
    out.push(`   Quorum = ${v.quorumUp ? 'up' : 'down'}, weight sum = ${v.weightSum}`);
    out.push(`   Sorry server = ${v.sorryActive ? 'active' : 'inactive'}`);
    for (const d of v.destinations)
      out.push(
        `   Destination = [${d.address}]:${d.port}, weight ${d.weight}${d.sorry ? ' (sorry server)' : ''}`,
      );
    for (const r of status.filter((s) => s.vs === v.vs)) {
      out.push(`   RS = ${r.rs}`);
      out.push(
        `     Alive = ${r.alive ? 'yes' : 'no'}, weight ${r.effectiveWeight} (configured ${r.configuredWeight})`,
      );
      const l = r.latency;
      if (l.count > 0)
        out.push(
          `     Check latency = last ${ms(l.lastUs)} ms, mean ${ms(l.ewmaUs)} ms, max ${ms(l.maxUs)} ms, ${l.count} checks`,
        );
      for (const c of r.checkers)
        out.push(
          `     Checker = ${c.kind}, ${c.up ? 'up' : 'down'}${c.hasRun ? '' : ' (not run yet)'}${c.suspended ? ', suspended' : ''}, retries ${c.retryIt}`,
        );
    }
  }
  return `${out.join('\n')}\n`;
}
