// promote_secondaries: while it runs, keepalived 2.2.7 sets net.ipv4.conf.IF.promote_secondaries=1 on the
// interface of every instance that asks for it (so that removing a VIP that is the primary address of its
// subnet keeps the other addresses), and puts back 0 on stop where it found 0 (docs/config-meaning.md).
// /proc/sys/net is per network namespace: this process's.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../common/logger.js';

const path = (ifname: string) => `/proc/sys/net/ipv4/conf/${ifname}/promote_secondaries`;

export class PromoteSecondaries {
  readonly #ifnames: string[];
  readonly #log: Logger;
  /** The interfaces set from 0 to 1, to put back on close. */
  readonly #set = new Set<string>();

  constructor(log: Logger, ifnames: Iterable<string>) {
    this.#log = log;
    this.#ifnames = [...new Set(ifnames)];
  }

  /** Sets the flag on each interface where it is 0. Never throws. */
  apply(): void {
    for (const ifname of this.#ifnames) {
      try {
        if (readFileSync(path(ifname), 'utf8').trim() === '1') continue;
        writeFileSync(path(ifname), '1');
        this.#set.add(ifname);
      } catch (e) {
        this.#log.error(`cannot set net.ipv4.conf.${ifname}.promote_secondaries=1: ${(e as Error).message}`);
      }
    }
  }

  /** Puts back 0 where apply() found it. Idempotent, never throws. */
  restore(): void {
    for (const ifname of this.#set) {
      try {
        writeFileSync(path(ifname), '0');
      } catch {
        /* the interface is gone, and its setting with it */
      }
    }
    this.#set.clear();
  }
}
