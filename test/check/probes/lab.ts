// The probe tests run their sockets inside a namespace of their own: the test process's main thread
// enters it with setns(2) (koffi), so every socket Node or koffi opens afterwards — and every child
// process spawned — lives there; leave() returns to the original namespace before it is deleted.
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import { libcLibrary } from '../../../src/net/libc.js';
import { createNetns, deleteNetns, ip, isRoot, nsExec } from '../../helpers/netns.js';

const CLONE_NEWNET = 0x40000000;

export interface NetnsLab {
  ns: string;
  /** `ip -n NS ARGS...` */
  ip(...args: string[]): string;
  /** Runs nft inside the namespace (never in the host's). */
  nft(script: string): void;
  leave(): void;
}

export function canUseNetns(): boolean {
  return isRoot();
}

export function enterLab(label: string): NetnsLab {
  const setns = libcLibrary().func('int setns(int, int)');
  const home = openSync('/proc/thread-self/ns/net', 'r');
  const ns = createNetns(label);
  const target = openSync(`/run/netns/${ns}`, 'r');
  const r = setns(target, CLONE_NEWNET) as number;
  closeSync(target);
  if (r !== 0) {
    closeSync(home);
    deleteNetns(ns);
    throw new Error(`setns failed: errno ${koffi.errno()}`);
  }
  let left = false;
  return {
    ns,
    ip: (...args) => ip('-n', ns, ...args),
    nft: (script) => {
      const res = nsExec(ns, 'nft', [script]);
      if (res.status !== 0) throw new Error(`nft failed: ${res.stderr}`);
    },
    leave: () => {
      if (left) return;
      left = true;
      setns(home, CLONE_NEWNET);
      closeSync(home);
      deleteNetns(ns);
    },
  };
}

/** Open file descriptors of this process (for leak checks). */
export function openFds(): number {
  return readdirCount('/proc/self/fd');
}

import { readdirSync } from 'node:fs';

function readdirCount(p: string): number {
  return readdirSync(p).length;
}
