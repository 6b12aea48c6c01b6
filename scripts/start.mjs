#!/usr/bin/env node
// `npm start` (after `npm run build`): the live failover demo, scripts/demo/failover-demo.ts, run through tsx
// (a devDependency, so present after `npm install`). The demo builds network namespaces and the routers open
// raw sockets, so it needs root; without it we say so and exit 1 before touching anything.
//
// Ctrl-C reaches the demo too (same process group): it cleans up and exits; we just wait for it and pass
// its exit code on.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  console.log(
    'npm start runs a live failover demo that needs root, because it creates network namespaces and the ' +
      'VRRP routers open raw sockets; run it as root (for example: sudo npm start).',
  );
  process.exit(1);
}

const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/demo/failover-demo.ts')], {
  cwd: root,
  stdio: 'inherit',
});
// The demo handles the signal itself; staying alive lets it finish cleaning up before we exit.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 130 : 1));
});
