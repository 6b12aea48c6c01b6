// What a test file that runs processes in namespaces leaves behind — a scratch directory, the namespaces it
// made, the children it started — removed by one after() hook: children SIGKILLed if still running, the
// namespaces deleted, the directory removed.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { deleteNetns } from './netns.js';

export interface Scratch {
  dir: string;
  namespaces: string[];
  children: ChildProcess[];
}

export function scratch(prefix: string): Scratch {
  const s: Scratch = { dir: mkdtempSync(join(tmpdir(), prefix)), namespaces: [], children: [] };
  after(() => {
    for (const c of s.children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const n of s.namespaces.splice(0)) deleteNetns(n);
    rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}
