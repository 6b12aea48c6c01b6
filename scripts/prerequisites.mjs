// What the test suite needs besides Node and npm packages: Debian packages for the network tests and the
// reference implementations they compare against. `npm test` runs this first. As root with apt-get, a
// missing package is installed (keepalived and frr only as tools: their services are stopped); otherwise
// one line per missing tool says which tests will skip. Exported for the runner; runnable alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** tool → how to find it, its Debian package, and what skips without it. */
export const PREREQUISITES = [
  {
    tool: 'ip',
    path: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'],
    pkg: 'iproute2',
    skips: 'every network-namespace test',
  },
  {
    tool: 'nft',
    path: ['/usr/sbin/nft'],
    pkg: 'nftables',
    skips: 'virtual server (LVS) and vrrp_strict firewall tests',
  },
  {
    tool: 'tcpdump',
    path: ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'],
    pkg: 'tcpdump',
    skips: 'wire captures (interop, failover timing)',
  },
  {
    tool: 'keepalived',
    path: ['/usr/sbin/keepalived'],
    pkg: 'keepalived',
    skips: 'comparisons with keepalived 2.2.7',
  },
  { tool: 'vrrpd', path: ['/usr/lib/frr/vrrpd'], pkg: 'frr', skips: 'interop with FRR vrrpd' },
  {
    tool: 'ping',
    path: ['/usr/bin/ping', '/bin/ping'],
    pkg: 'iputils-ping',
    skips: 'PING_CHECK reference checks',
  },
  { tool: 'setpriv', path: ['/usr/bin/setpriv'], pkg: 'util-linux', skips: 'script and capability tests' },
  { tool: 'python3', path: ['/usr/bin/python3'], pkg: 'python3', skips: 'crafted-packet tests' },
  { tool: 'openssl', path: ['/usr/bin/openssl'], pkg: 'openssl', skips: 'regenerating TLS fixtures' },
  { tool: 'ps', path: ['/usr/bin/ps', '/bin/ps'], pkg: 'procps', skips: 'process tracking tests' },
  {
    tool: 'qemu-system-x86_64',
    path: ['/usr/bin/qemu-system-x86_64'],
    pkg: 'qemu-system-x86',
    skips: 'the IPVS back end against keepalived 2.2.7 in a VM (test/lvs/ipvs-vm.test.ts)',
  },
  { tool: 'busybox', path: ['/bin/busybox'], pkg: 'busybox-static', skips: 'the IPVS VM test' },
  { tool: 'ipvsadm', path: ['/usr/sbin/ipvsadm'], pkg: 'ipvsadm', skips: 'the IPVS VM test' },
  { tool: 'curl', path: ['/usr/bin/curl'], pkg: 'curl', skips: 'the IPVS VM test' },
  {
    tool: 'conntrack',
    path: ['/usr/sbin/conntrack'],
    pkg: 'conntrack',
    skips: 'lvs_timeouts / lvs_flush on nftables (test/lvs/nft-ops.test.ts)',
  },
  {
    tool: 'chromium',
    path: ['/usr/bin/chromium'],
    pkg: 'chromium',
    skips: 'the status page in a browser (test/ops/status-page.test.ts)',
  },
];

const have = (p) => p.path.some((x) => existsSync(x));

export function ensurePrerequisites() {
  let missing = PREREQUISITES.filter((p) => !have(p));
  if (missing.length === 0) return [];
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = existsSync('/usr/bin/apt-get');
  if (root && apt) {
    const pkgs = [...new Set(missing.map((p) => p.pkg))];
    console.log(`installing test prerequisites: ${pkgs.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
      stdio: 'inherit',
      env,
    });
    // The reference implementations are tools for the tests, not services of this machine.
    spawnSync('systemctl', ['stop', 'keepalived', 'frr'], { stdio: 'ignore' });
    spawnSync('systemctl', ['disable', 'keepalived', 'frr'], { stdio: 'ignore' });
    spawnSync('pkill', ['-x', 'keepalived'], { stdio: 'ignore' });
    missing = PREREQUISITES.filter((p) => !have(p));
  }
  for (const p of missing)
    console.log(
      `missing ${p.tool} (Debian package ${p.pkg}${root ? '' : '; not root, so not installed'}): ${p.skips} will skip`,
    );
  return missing;
}

if (import.meta.url === `file://${process.argv[1]}`) ensurePrerequisites();
