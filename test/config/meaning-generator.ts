// Blog-style variants for the meaning and data-dump differentials (issue 13): one configuration of `count`
// vrrp_instances from a seed, each instance a variant (trailing comments, bad numbers, stray words on
// priority, state, nopreempt, advert_int, VIP, track_script and unicast_peer lines). With `lvs`, virtual
// servers follow, their real servers and checkers with the same noise (`//` and `#` comments, out-of-range
// and malformed numbers, missing and extra words, mixed-case keywords, UTF-8), and some files get CRLF line
// ends; the instances of a seed are the same with or without it. Seeded (mulberry32) so a failing variant is
// replayed from its seed.
import { rng } from '../helpers/rng.js';

export function generatedConfig(seed: number, count: number, o: { lvs?: boolean } = {}): string {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out = ['vrrp_script chk {', '  script "/usr/bin/true" // 检测脚本', '  weight -20 // w', '}'];
  for (let k = 1; k <= count; k++) {
    const vip = `192.0.2.${100 + k}`;
    out.push(`vrrp_instance G${k} {`);
    out.push(`  state ${pick(['BACKUP', 'MASTER // 主', 'BACKUP # b', 'MASTER'])}`);
    out.push('  interface eth0 // 网卡');
    out.push(`  virtual_router_id ${k}${pick(['', ' // id', ' ! x'])}`);
    out.push(
      `  priority ${pick(['100', '150 // 优先级', '0', '256', '300', 'abc', '-5', '1.5', '200 # c', '255', '100abc'])}`,
    );
    out.push(`  advert_int ${pick(['1', '1 // s', '2'])}`);
    const pre = pick(['', '  nopreempt // 非抢占', '  nopreempt', '  nopreempt false', '  preempt']);
    if (pre) out.push(pre);
    if (r() < 0.3)
      out.push('  unicast_peer {', `    192.0.2.2${pick(['', ' // peer', ' min_ttl 1', ' max_ttl'])}`, '  }');
    out.push('  virtual_ipaddress {');
    out.push(`    ${vip}${pick(['', '/24', '/24 // VIP', '/33', ' dev eth0 # c', '/0'])}`);
    out.push('  }');
    const track = pick([
      '',
      'chk',
      'chk // 注释',
      'chk weight 10 reverse',
      'chk weight 300',
      'chk reverse',
      'chk weight',
      'chk weight 5 sideways',
      'chk weight -7',
    ]);
    if (track) out.push('  track_script {', `    ${track}`, '  }');
    out.push('}');
  }
  if (!o.lvs) return `${out.join('\n')}\n`;
  const servers = 1 + Math.floor(r() * 3);
  for (let k = 1; k <= servers; k++) out.push(...virtualServer(k, r, pick));
  const eol = r() < 0.2 ? '\r\n' : '\n';
  return `${out.join(eol)}${eol}`;
}

/** `A-B`, `A,B,…` or a mix (`1-5,9`): the seeds a run covers, in order. */
export function seedList(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',').map((x) => x.trim())) {
    if (part === '') continue;
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (m) for (let s = Number(m[1]); s <= Number(m[2]); s++) out.push(s);
    else if (/^\d+$/.test(part)) out.push(Number(part));
    else throw new Error(`bad seed list '${spec}': use N, A-B or a comma-separated mix`);
  }
  return out;
}

/** Noise after a value: nothing mostly, else a `//` or `#` comment (UTF-8 sometimes). */
const TAILS = ['', '', '', ' // 注释', ' # c', ' //x', ' // 健康检查 weight 5', ' ! note'];

/** A keyword as a blog may spell it: mostly right, sometimes with a capital (keepalived's are case sensitive). */
function spelled(kw: string, r: () => number): string {
  return r() < 0.08 ? kw.charAt(0).toUpperCase() + kw.slice(1) : kw;
}

/** One virtual_server block (192.0.2.200+k, port 80 or 443) with one or two real servers and a checker each. */
function virtualServer(k: number, r: () => number, pick: <T>(xs: readonly T[]) => T): string[] {
  const out: string[] = [];
  const line = (indent: string, kw: string, values: readonly string[]) =>
    out.push(
      `${indent}${spelled(kw, r)}${(() => {
        const v = pick(values);
        return v === '' ? '' : ` ${v}`;
      })()}${pick(TAILS)}`,
    );
  const vip = `192.0.2.${200 + k}`;
  out.push(`virtual_server ${vip} ${pick(['80', '443', '80 // web', '8080'])} {`);
  line('    ', 'delay_loop', ['6', '6', '3', '0', 'abc', '6.5', '-1']);
  line('    ', 'lb_algo', ['rr', 'wrr', 'lc', 'RR', 'xyz', 'sh']);
  line('    ', 'lb_kind', ['NAT', 'DR', 'TUN', 'dr', 'nat', 'XYZ']);
  if (r() < 0.6) line('    ', 'persistence_timeout', ['50', '300', '0', 'abc', '-5']);
  line('    ', 'protocol', ['TCP', 'TCP', 'UDP', 'tcp', 'SCTP', 'xyz']);
  if (r() < 0.3) line('    ', 'sorry_server', ['192.0.2.99 80', '192.0.2.99', '192.0.2.99 80 extra']);
  const reals = 1 + Math.floor(r() * 2);
  for (let j = 1; j <= reals; j++) {
    out.push(
      `    real_server 192.0.2.${10 + 10 * k + j} ${pick(['80', '80 // RS', '8080', '70000', 'abc'])} {`,
    );
    line('        ', 'weight', ['1', '3', '0', '-1', 'abc', '100', '1.5']);
    if (r() < 0.3) line('        ', 'inhibit_on_failure', ['', 'true', 'false', 'maybe']);
    const checker = pick(['TCP_CHECK', 'HTTP_GET', 'MISC_CHECK', 'tcp_check', '']);
    if (checker === 'HTTP_GET') {
      out.push(`        HTTP_GET {${pick(TAILS)}`);
      out.push('            url {');
      line('              ', 'path', ['/', '/health', '/index.html']);
      if (r() < 0.7) line('              ', 'status_code', ['200', '200-299', '99', 'abc', '2xx']);
      out.push('            }');
      line('            ', 'connect_timeout', ['3', '10', '0', 'abc', '3.5']);
      if (r() < 0.5) line('            ', 'retry', ['3', '0', '-1', 'abc']);
      out.push('        }');
    } else if (checker === 'MISC_CHECK') {
      out.push('        MISC_CHECK {');
      line('            ', 'misc_path', ['"/usr/bin/true"', '/usr/bin/true', '"/usr/bin/false arg"']);
      if (r() < 0.6) line('            ', 'misc_timeout', ['5', '0', 'abc', '10']);
      out.push('        }');
    } else if (checker !== '') {
      out.push(`        ${checker} {${pick(TAILS)}`);
      line('            ', 'connect_timeout', ['3', '10', '0', 'abc', '3.5']);
      if (r() < 0.5) line('            ', 'connect_port', ['80', '8080', '70000', 'abc']);
      if (r() < 0.5) line('            ', 'delay_before_retry', ['3', '0', 'abc']);
      out.push('        }');
    }
    out.push('    }');
  }
  out.push('}');
  return out;
}
