import { spawn } from 'node:child_process';
import { clientJs, serverJs } from './test/lvs/lab.js';
const s = spawn(process.execPath, ['-e', serverJs('rsX', '127.0.0.1', 18080)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => s.stdout.once('data', r));
const c = spawn(process.execPath, ['-e', clientJs, '3', '1', '127.0.0.1', '18080', '0', '127.0.0.1', '40123'], { stdio: ['ignore', 'inherit', 'inherit'] });
setTimeout(() => { c.kill(); s.kill(); }, 8000);
c.on('exit', () => s.kill());
