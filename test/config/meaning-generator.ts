// Blog-style variants for the meaning and data-dump differentials (issue 13): one configuration of `count`
// vrrp_instances from a seed, each instance a variant (trailing comments, bad numbers, stray words on
// priority, state, nopreempt, advert_int, VIP, track_script and unicast_peer lines). Seeded (mulberry32) so a
// failing variant is replayed from its seed.
import { rng } from '../helpers/rng.js';
export function generatedConfig(seed: number, count: number): string {
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
  return `${out.join('\n')}\n`;
}
