// Moves this test process (each node:test file runs in its own process) into a fresh network namespace, so
// that the servers and probes of the HTTP_GET/SSL_GET tests talk over that namespace's loopback only.
// setns(CLONE_NEWNET) on the main thread re-homes every socket created afterwards; leave() goes back and
// deletes the namespace. An nftables rule inside the namespace drops every SYN to port 9 (a black hole).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import { createNetns, deleteNetns } from '../../helpers/netns.js';

const CLONE_NEWNET = 0x40000000;
let setnsFn: ((fd: number, type: number) => number) | undefined;

function setns(fd: number): void {
  setnsFn ??= koffi.load('libc.so.6').func('int setns(int fd, int nstype)') as (
    fd: number,
    t: number,
  ) => number;
  if (setnsFn(fd, CLONE_NEWNET) !== 0) throw new Error('setns failed');
}

export interface TestNetns {
  name: string;
  /** A loopback port whose SYNs are silently dropped (nftables, inside the namespace only). */
  blackholePort: number;
  leave(): void;
}

export function enterTestNetns(label: string): TestNetns {
  const name = createNetns(label);
  execFileSync('ip', ['netns', 'exec', name, 'nft', '-f', '-'], {
    input:
      'table inet probe {\n chain in {\n  type filter hook input priority 0;\n  tcp dport 9 drop\n }\n}\n',
  });
  const home = openSync('/proc/self/ns/net', 'r');
  const there = openSync(`/run/netns/${name}`, 'r');
  try {
    setns(there);
  } finally {
    closeSync(there);
  }
  let left = false;
  return {
    name,
    blackholePort: 9,
    leave() {
      if (left) return;
      left = true;
      try {
        setns(home);
      } finally {
        closeSync(home);
        deleteNetns(name);
      }
    },
  };
}
