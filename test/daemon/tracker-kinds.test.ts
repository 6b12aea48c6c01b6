// Tracker names are per kind (keepalived keeps one list per kind): a daemon whose instance tracks a track_file
// and a vrrp_script both called `chk` moves its priority by each one's own reading (docs/bfd.md 'VRRP:
// track_bfd' says the same of a bfd_instance).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { vrrpInstanceConf } from './conf.js';
import { cleanupAfter, jsonDumpLine, loneRouter, needsRoot, untilDumped } from './router.js';

const skip = needsRoot();
const cleanups = cleanupAfter();

test('a track_file and a vrrp_script of one name are two trackers in the daemon', {
  skip,
  timeout: 30_000,
}, async () => {
  const { r } = loneRouter(
    'dtk',
    'tk',
    (dir) => {
      writeFileSync(join(dir, 'flag'), '');
      return `
global_defs {
  ${jsonDumpLine(dir)}
}
track_file chk {
  file ${join(dir, 'value')}
  weight 10
  init_file 2
}
vrrp_script chk {
  script "/usr/bin/test -e ${join(dir, 'flag')}"
  interval 1
  weight -30
}
${vrrpInstanceConf({ extra: 'track_file { chk }\n  track_script { chk }' })}`;
    },
    cleanups,
  );
  const flag = join(r.dir, 'flag');
  const priority = (want: number, what: string) =>
    untilDumped(r, (i) => i.data.effective_priority === want, 5000, what);
  await r.waitFor(/\(VI_1\) Entering MASTER STATE/, 8000);
  await priority(120, 'file 2 × 10, script OK');
  rmSync(flag);
  await priority(90, 'the script fails: −30, the file still counts');
  writeFileSync(join(r.dir, 'value'), '0\n');
  await priority(70, 'the file reads 0, the script still fails');
  writeFileSync(flag, '');
  await priority(100, 'the script recovers');
});
