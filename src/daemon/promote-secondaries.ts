// promote_secondaries: while it runs, keepalived 2.2.7 sets net.ipv4.conf.IF.promote_secondaries=1 on the
// interface of every instance that asks for it (so that removing a VIP that is the primary address of its
// subnet keeps the other addresses), and puts back 0 on stop where it found 0. A reload sets it for the
// instances it adds; an interface no instance asks for any more keeps 1, at stop too (keepalived 2.2.7
// forgets it: test/daemon/promote-secondaries.test.ts compares). An instance with
// use_vmac does not ask (its VMAC gets the flag when it is made, vmac.ts; the configuration says so)
// (docs/config-meaning.md). /proc/sys/net is per network namespace: this process's.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../common/logger.js';
import type { KeepalivedConfig } from '../config/model.js';

const path = (ifname: string) => `/proc/sys/net/ipv4/conf/${ifname}/promote_secondaries`;

/** The interfaces whose flag the configuration asks for. */
export function promoteInterfaces(cfg: KeepalivedConfig): string[] {
  return cfg.vrrpInstances.flatMap((i) =>
    i.promoteSecondaries && i.interface && !i.useVmac ? [i.interface] : [],
  );
}

export class PromoteSecondaries {
  #ifnames: string[];
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
      if (this.#set.has(ifname)) continue;
      try {
        if (readFileSync(path(ifname), 'utf8').trim() === '1') continue;
        writeFileSync(path(ifname), '1');
        this.#set.add(ifname);
      } catch (e) {
        this.#log.error(`cannot set net.ipv4.conf.${ifname}.promote_secondaries=1: ${(e as Error).message}`);
      }
    }
  }

  /**
   * A reload's interfaces: sets the new ones; those no longer asked for are left as they are and not put
   * back at stop, as keepalived 2.2.7 does. Never throws.
   */
  update(ifnames: Iterable<string>): void {
    this.#ifnames = [...new Set(ifnames)];
    const keep = new Set(this.#ifnames);
    for (const ifname of [...this.#set]) if (!keep.has(ifname)) this.#set.delete(ifname);
    this.apply();
  }

  /** Puts back 0 where apply() found it. Idempotent, never throws. */
  restore(): void {
    for (const ifname of this.#set) this.#reset(ifname);
    this.#set.clear();
  }

  #reset(ifname: string): void {
    try {
      writeFileSync(path(ifname), '0');
    } catch {
      /* the interface is gone, and its setting with it */
    }
  }
}
