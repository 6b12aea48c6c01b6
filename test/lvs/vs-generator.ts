// Seeded virtual_server configurations for the IPVS differential (test/lvs/ipvs-diff.test.ts): what operators
// write in blog posts and tickets — IPv4 and IPv6 address+port and fwmark services, a group now and then, TCP,
// UDP, SCTP or no protocol, every IPVS scheduler with its flags, NAT/DR/TUN, persistence with and without a
// granularity, weights (0, odd and out-of-range ones), inhibit_on_failure at both levels, sorry servers with
// sorry_server_inhibit and sorry_server_lvs_method, quorum and hysteresis, alpha and omega, virtualhost,
// uthreshold/lthreshold, TUN's tunnel options, flag-N/hashed, persistence_engine sip, ha_suspend, and real servers with and without checkers. The only checkers are MISC_CHECKs whose
// result is known at once in the guest (/bin/true up, /bin/false down, `sh -c 'exit N'` with misc_dynamic a
// weight of N-2), so the settled table depends on nothing but the configuration. Blog noise: `//`, `#` and
// `!` comments after values, odd numbers. No line lacks its parameter (that stops keepalived's parsing, and
// several seeds share one file).
//
// Addresses: each seed owns its services' keys, so one file can hold many seeds and a table line tells
// which seed it came from (seedOfService): IPv4 VIPs 198.51.100.<seed>, IPv6 VIPs 2001:db8:1::<seed> (the
// decimal digits written as hex), fwmarks seed×10+j. Real servers are 192.0.2.0/24 and 2001:db8:2::/64;
// nothing needs to answer (no checker connects anywhere).
import { rng } from '../helpers/rng.js';

/** Highest seed whose keys fit (the VIP's last IPv4 byte). */
export const MAX_SEED = 254;

const TAILS = ['', '', '', '', ' // comment', ' # c', ' ! note', ' // 注释'];

type Fam = 4 | 6;

/** The configuration text of `seeds` (one file), each seed's virtual servers in turn. */
export function vsConfig(seeds: readonly number[]): string {
  const out = ['global_defs {', '  router_id lvs_diff', '}'];
  for (const s of seeds) out.push(...seedBlocks(s));
  return `${out.join('\n')}\n`;
}

/** The virtual servers (and groups) of one seed. */
export function seedBlocks(seed: number): string[] {
  if (seed < 1 || seed > MAX_SEED) throw new Error(`seed ${seed} outside 1..${MAX_SEED}`);
  const r = rng(seed * 7919);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const tail = () => pick(TAILS);
  /** TUN's options (IPVS's tunnel type, port and checksum flags), mostly none. */
  const tunnel = () =>
    pick([
      '',
      '',
      '',
      ' type ipip',
      ' type gue port 6080',
      ' type gre',
      ' type gue port 6080 csum',
      ' type gre nocsum',
    ]);
  const out: string[] = [`# ---- seed ${seed}`];
  const ports = [80, 443, 53, 8080, 25, 3306, 5060].sort(() => r() - 0.5);
  const n = 1 + Math.floor(r() * 3);
  for (let j = 1; j <= n; j++) {
    const kind = pick(['v4', 'v4', 'v4', 'v6', 'fwm', 'fwm6', 'group']);
    const fam: Fam = kind === 'v6' || kind === 'fwm6' ? 6 : 4;
    const port = ports[j - 1]!;
    const lines: string[] = [];
    const kw = (k: string, v = '') => lines.push(`    ${k}${v === '' ? '' : ` ${v}`}${tail()}`);
    if (kind === 'group') {
      out.push(`virtual_server_group G${seed}_${j} {`);
      out.push(`    198.51.100.${seed} ${9000 + j}${tail()}`);
      if (r() < 0.5) out.push(`    fwmark ${seed * 10 + j}`);
      out.push('}');
      lines.push(`virtual_server group G${seed}_${j} {${tail()}`);
    } else if (kind === 'v4') lines.push(`virtual_server 198.51.100.${seed} ${port} {${tail()}`);
    else if (kind === 'v6') lines.push(`virtual_server 2001:db8:1::${seed} ${port} {${tail()}`);
    else lines.push(`virtual_server fwmark ${seed * 10 + j} {${tail()}`);
    // not 1 s: under emulation a MISC_CHECK spawn costs keepalived-ts's checker (node) tens of
    // milliseconds of the one guest CPU, and dozens of checkers a second starve it (the table then takes
    // minutes to settle); every check still resolves within a few seconds of the start
    kw('delay_loop', pick(['3', '5', '3']));
    if (kind === 'fwm6' && r() < 0.4) kw('ip_family', 'inet6');
    const algo = pick([
      'rr',
      'wrr',
      'lc',
      'wlc',
      'lblc',
      'lblcr',
      'sh',
      'dh',
      'sed',
      'nq',
      'mh',
      'fo',
      'ovf',
      '',
    ]);
    if (algo) kw(pick(['lb_algo', 'lb_algo', 'lvs_sched']), algo);
    if (algo === 'sh' || r() < 0.1) {
      if (r() < 0.5) kw('sh-port');
      if (r() < 0.5) kw('sh-fallback');
    }
    if (algo === 'mh') {
      if (r() < 0.5) kw('mh-port');
      if (r() < 0.5) kw('mh-fallback');
    }
    if (r() < 0.15) kw('ops');
    if (r() < 0.1) kw(pick(['flag-1', 'flag-2', 'flag-3', 'hashed']));
    const lbKind = pick(['NAT', 'NAT', 'DR', 'DR', 'TUN', '']);
    if (lbKind) kw(pick(['lb_kind', 'lb_kind', 'lvs_method']), lbKind === 'TUN' ? `TUN${tunnel()}` : lbKind);
    const proto = pick(['TCP', 'TCP', 'TCP', 'UDP', 'SCTP', 'tcp', '']);
    // an address service without protocol is UDP (with an error); one by fwmark ignores it (with a warning)
    if (proto && (kind.startsWith('fwm') ? r() < 0.3 : true)) kw('protocol', proto);
    if (r() < 0.45) {
      const t = pick(['50', '300', '360', '0', '1', '86400', '600', '']);
      kw('persistence_timeout', t);
    }
    if (r() < 0.3)
      kw(
        'persistence_granularity',
        fam === 6
          ? pick(['64', '48', '128'])
          : pick(['255.255.255.0', '255.255.0.0', '24', '255.255.255.255']),
      );
    if (r() < 0.2) kw('inhibit_on_failure');
    if (r() < 0.15) kw('alpha');
    if (r() < 0.1) kw('omega');
    if (r() < 0.15) kw('virtualhost', pick(['www.example.com', 'example.org']));
    if (r() < 0.08) kw('persistence_engine', 'sip');
    if (r() < 0.08) kw('ha_suspend');
    if (r() < 0.1) kw('weight', pick(['2', '5', '0']));
    let quorum = false;
    if (r() < 0.3) {
      quorum = true;
      kw('quorum', pick(['1', '2', '3', '5', '0', '10']));
      if (r() < 0.5) kw('hysteresis', pick(['0', '1', '2']));
      if (r() < 0.3) kw('quorum_up', '/bin/true');
      if (r() < 0.3) kw('quorum_down', '/bin/true');
    }
    if (quorum || r() < 0.25) {
      const sorryAddr = fam === 6 ? '2001:db8:2::99' : '192.0.2.99';
      kw('sorry_server', `${sorryAddr}${r() < 0.8 ? ` ${pick(['80', '8080', String(port)])}` : ''}`);
      if (r() < 0.4) kw('sorry_server_inhibit');
      if (r() < 0.2) {
        const m = pick(['NAT', 'DR', 'TUN']);
        kw('sorry_server_lvs_method', m === 'TUN' ? `TUN${tunnel()}` : m);
      }
    }
    const reals = Math.floor(r() * 4) + (r() < 0.1 ? 0 : 1);
    for (let k = 1; k <= reals; k++) {
      const rfam: Fam = r() < 0.05 ? (fam === 4 ? 6 : 4) : fam; // a slip now and then
      const addr = rfam === 6 ? `2001:db8:2::${10 + k}` : `192.0.2.${10 + k}`;
      const rport =
        kind.startsWith('fwm') && r() < 0.5 ? '' : ` ${pick([String(port), String(port), '8080', '80'])}`;
      lines.push(`    real_server ${addr}${rport} {${tail()}`);
      const rk = (k2: string, v = '') => lines.push(`        ${k2}${v === '' ? '' : ` ${v}`}${tail()}`);
      if (r() < 0.7) rk('weight', pick(['1', '2', '3', '0', '10', '100', '65535', '256']));
      if (r() < 0.2) rk('inhibit_on_failure');
      if (r() < 0.15) {
        const m = pick(['NAT', 'DR', 'TUN']);
        rk('lvs_method', m === 'TUN' ? `TUN${tunnel()}` : m);
      }
      if (r() < 0.1) rk('alpha');
      if (r() < 0.1) rk('uthreshold', pick(['100', '0', '5000']));
      if (r() < 0.1) rk('lthreshold', pick(['10', '0']));
      if (r() < 0.1) rk('virtualhost', 'rs.example.com');
      const check = pick(['', '', 'up', 'up', 'down', 'down', 'dyn']);
      if (check) {
        lines.push(`        MISC_CHECK {${tail()}`);
        if (check === 'up') lines.push(`            misc_path /bin/true${tail()}`);
        else if (check === 'down') lines.push(`            misc_path /bin/false${tail()}`);
        else {
          lines.push(`            misc_path "/bin/sh -c 'exit ${pick(['2', '3', '7', '1', '0'])}'"`);
          lines.push(`            misc_dynamic${tail()}`);
        }
        // generous: a probe under emulation on a loaded host can take seconds (the result, not the time, is compared)
        lines.push('            misc_timeout 30');
        lines.push(`            retry ${pick(['0', '1'])}`);
        lines.push('            delay_before_retry 1');
        lines.push('        }');
      }
      lines.push('    }');
    }
    lines.push('}');
    out.push(...lines);
  }
  return out;
}

/**
 * The seed a service line of `ipvsadm -Ln` belongs to (its key was made by seedBlocks), or undefined for a
 * line no seed makes.
 */
export function seedOfService(line: string): number | undefined {
  let m = /^FWM\s+(\d+)/.exec(line);
  if (m) return Math.floor(Number(m[1]) / 10);
  m = /^\S+\s+198\.51\.100\.(\d+):/.exec(line);
  if (m) return Number(m[1]);
  m = /^\S+\s+\[2001:db8:1::(\d+)\]:/.exec(line);
  if (m) return Number(m[1]);
  return undefined;
}
