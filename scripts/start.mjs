#!/usr/bin/env node
// `npm start`: checks the bundled example configuration the way `keepalived -t` would and prints the
// resolved model's outline. (The live namespace demo replaces this once the daemon lands.)
import { spawnSync } from 'node:child_process';

const file = 'examples/keepalived.conf';
console.log(`keepalived-ts -t -f ${file}`);
const test = spawnSync(process.execPath, ['bin/keepalived-ts', '-t', '-f', file], { encoding: 'utf8' });
process.stdout.write(test.stderr);
console.log(`exit code ${test.status} (0 clean, 4 cannot run, 5 errors but would run, 6 script security)`);
const dump = spawnSync(process.execPath, ['bin/keepalived-ts', '--dump-conf', '-f', file], {
  encoding: 'utf8',
});
const cfg = JSON.parse(dump.stdout);
for (const i of cfg.vrrpInstances)
  console.log(
    `vrrp_instance ${i.name}: VRID ${i.vrid} on ${i.interface}, v${i.version}, priority ${i.priority}, ` +
      `advert ${i.advertIntervalUs / 1e6}s, VIPs ${i.virtualIpaddresses.map((v) => `${v.address}/${v.prefixLength}`).join(' ')}`,
  );
for (const vs of cfg.virtualServers)
  console.log(
    `virtual_server ${vs.key.address}:${vs.key.port} ${vs.protocol} ${vs.lbAlgo}/${vs.lbKind}: ` +
      `${vs.realServers.map((r) => `${r.address}:${r.port} [${r.checkers.map((c) => c.kind).join(',')}]`).join(' ')}`,
  );
