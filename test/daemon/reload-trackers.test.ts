// SIGHUP reload and vrrp_scripts, on a running keepalived-ts beside a peer: an instance that starts tracking a
// script already failing learns it at once (not at the script's next change, which may never come); a script
// whose command changed is restarted with it; a new script starts and counts; a new track_file is read and watched.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RouterLabs, TWO_ROUTERS } from '../helpers/router-lab.js';
import { holds, needsRoot, Router, settle, waitUntil } from './router.js';

const skip = needsRoot();
const labs = new RouterLabs();

const VIP = { VI_1: '192.0.2.100', VI_2: '192.0.2.101' } as const;

/** Two instances; `tracks` lists each one's track_script entries (weight −150: 200 → 50, below the peer). */
function conf(
  priority: number,
  scripts: Record<string, string>,
  tracks: { VI_1?: string[]; VI_2?: string[] },
  trackFile?: string,
): string {
  const scriptBlocks = Object.entries(scripts).map(
    ([name, cmd]) => `vrrp_script ${name} {\n  script "${cmd}"\n  interval 0.1\n  rise 1\n  fall 1\n}`,
  );
  if (trackFile) scriptBlocks.push(`track_file tf {\n  file "${trackFile}"\n}`);
  const instance = (name: 'VI_1' | 'VI_2', vrid: number) => {
    const t = tracks[name] ?? [];
    const f = trackFile && name === 'VI_2' ? 'track_file {\n    tf weight -150\n  }' : '';
    return `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  version 3
  priority ${priority}
  advert_int 0.1
  ${t.length > 0 ? `track_script {\n${t.map((s) => `    ${s} weight -150`).join('\n')}\n  }` : ''}
  ${f}
  virtual_ipaddress { ${VIP[name]}/24 }
}`;
  };
  return [...scriptBlocks, instance('VI_1', 61), instance('VI_2', 62)].join('\n');
}

test('SIGHUP and vrrp_scripts: newly tracked failing script, changed command, new script', {
  skip,
  timeout: 40_000,
}, async () => {
  const { r1: ns1, r2: ns2 } = labs.open('drtr', TWO_ROUTERS);
  const failing = { chk_down: '/bin/false' };
  const r1 = new Router('r1', ns1, conf(200, failing, { VI_2: ['chk_down'] }));
  const r2 = new Router('r2', ns2, conf(100, {}, {}));
  labs.add(r1, r2);
  const masters = (vi1: Router, vi2: Router) => () =>
    vi1.lastState('VI_1') === 'MASTER' &&
    vi2.lastState('VI_2') === 'MASTER' &&
    (vi1 === r1 ? r2 : r1).lastState('VI_1') === 'BACKUP' &&
    (vi2 === r1 ? r2 : r1).lastState('VI_2') === 'BACKUP';
  // VI_2 tracks the failing script on r1 (200 − 150 = 50 < 100): r2 holds it; r1 holds VI_1.
  await settle([r1, r2], masters(r1, r2), 8000, 'r1 master of VI_1, r2 of VI_2');

  const reload = async (text: string) => {
    writeFileSync(r1.conf, text);
    const m = r1.mark();
    r1.proc.kill('SIGHUP');
    await r1.waitFor(/Reload finished/, 3000, m);
    return m;
  };

  // 1. VI_1 starts tracking the same, unchanged, failing script: it must drop to 50 at once.
  await reload(conf(200, failing, { VI_1: ['chk_down'], VI_2: ['chk_down'] }));
  await settle([r1, r2], masters(r2, r2), 5000, 'r2 master of both');
  await waitUntil(() => holds(ns2, VIP.VI_1) && !holds(ns1, VIP.VI_1), 2000, 'VI_1 VIP on r2');

  // 2. The script's command changes (same name): restarted with the new one, it succeeds, both come back.
  let m = await reload(conf(200, { chk_down: '/bin/true' }, { VI_1: ['chk_down'], VI_2: ['chk_down'] }));
  await r1.waitFor(/VRRP_Script\(chk_down\) succeeded/, 3000, m);
  await settle([r1, r2], masters(r1, r1), 5000, 'r1 master of both');
  await waitUntil(() => holds(ns1, VIP.VI_1) && holds(ns1, VIP.VI_2), 2000, 'both VIPs on r1');

  // 3. A new script, failing, tracked by VI_1 only: VI_1 goes to r2, VI_2 stays.
  m = await reload(
    conf(200, { chk_down: '/bin/true', chk_new: '/bin/false' }, { VI_1: ['chk_new'], VI_2: ['chk_down'] }),
  );
  await r1.waitFor(/VRRP_Script\(chk_new\) failed/, 3000, m);
  await settle([r1, r2], masters(r2, r1), 5000, 'r2 master of VI_1, r1 of VI_2');
  await waitUntil(() => holds(ns2, VIP.VI_1) && holds(ns1, VIP.VI_2), 2000, 'VIPs split');

  // 4. A new track_file holding 1, tracked by VI_2 with weight −150: read at the reload, VI_2 goes to r2.
  const valueFile = join(r1.dir, 'value');
  writeFileSync(valueFile, '1\n');
  await reload(
    conf(
      200,
      { chk_down: '/bin/true', chk_new: '/bin/false' },
      { VI_1: ['chk_new'], VI_2: ['chk_down'] },
      valueFile,
    ),
  );
  await settle([r1, r2], masters(r2, r2), 5000, 'r2 master of both');
  // …and it is watched: back to 0, VI_2 returns to r1.
  writeFileSync(valueFile, '0\n');
  await settle([r1, r2], masters(r2, r1), 5000, 'r1 master of VI_2 again');
});
