// The no_accept firewall of vrrp_strict (and of instances without `accept`): while an instance that does not
// accept is MASTER, traffic to and from its VIPs is dropped, as keepalived 2.2.7 does with nftables — the same
// table, sets and chains (docs/config-strict-firewall.md). The ruleset is computed by a pure function from the
// addresses held; the adapter replaces the whole table in one `nft -f -` transaction per change, off the
// advert path (after the batch that changed it), and deletes the tables on stop.
import { spawn } from 'node:child_process';
import type { Logger } from '../common/logger.js';
import { type GlobalDefs, NFT_DEFAULT_TABLE } from '../config/model.js';
import { addressOn } from '../net/inet.js';

/** keepalived's nftables settings for VRRP (global_defs; docs/config-strict-firewall.md). */
export interface NftSettings {
  /** `nftables [NAME]`, or `keepalived` under vrrp_strict; null when neither is given. */
  table: string | null;
  /** `nftables_priority N`: the base chains' priority (default -1). */
  priority: number;
  /** `nftables_ifindex`: link-local IPv6 VIPs matched by interface index. */
  ifindex: boolean;
  /** `nftables_counters`: rules with counters. */
  counters: boolean;
}

export { NFT_DEFAULT_TABLE };

/** The settings global_defs gives; the firewall always needs a table, so a no_accept instance uses the default. */
export function nftSettings(g: GlobalDefs): NftSettings {
  return {
    table: g.nftablesTable ?? (g.vrrpStrict ? NFT_DEFAULT_TABLE : null),
    priority: g.nftablesPriority ?? -1,
    ifindex: g.nftablesIfindex,
    counters: g.nftablesCounters,
  };
}

export interface DroppedVip {
  address: string;
  /** The interface the VIP lives on (link-local IPv6 VIPs are matched with it). */
  ifname: string;
}

const isV6 = (a: string) => a.includes(':');
const isLinkLocal6 = (a: string) => /^fe[89ab][0-9a-f]:/i.test(a);

function elements(list: string[]): string {
  return list.length === 0 ? '' : `    elements = { ${list.join(', ')} }\n`;
}

/**
 * The nft script that makes table `table` (family ip and ip6) hold exactly `vips`: each table is created if
 * missing, deleted and defined again in the same transaction, so there is no moment without the rules. An
 * empty family's table is left out (keepalived creates it at the first VIP it drops). `priority` is the chain
 * priority (keepalived's nftables_priority, default -1: just before the filter hooks).
 */
export function strictRuleset(table: string, vips: readonly DroppedVip[], priority = -1): string {
  const v4 = [...new Set(vips.filter((v) => !isV6(v.address)).map((v) => v.address))];
  const v6 = [
    ...new Set(vips.filter((v) => isV6(v.address) && !isLinkLocal6(v.address)).map((v) => v.address)),
  ];
  const ll = [
    ...new Set(vips.filter((v) => isLinkLocal6(v.address)).map((v) => `${v.address} . "${v.ifname}"`)),
  ];
  let out = '';
  out += `table ip ${table} {}\ndelete table ip ${table}\n`;
  out += `table ip6 ${table} {}\ndelete table ip6 ${table}\n`;
  const hook = (h: string) => `    type filter hook ${h} priority ${priority}; policy accept;\n`;
  if (v4.length > 0) {
    out += `table ip ${table} {\n`;
    out += `  set vips {\n    type ipv4_addr\n${elements(v4)}  }\n`;
    out += `  chain out {\n${hook('output')}    ip saddr @vips drop\n  }\n`;
    out += `  chain in {\n${hook('input')}    ip daddr @vips drop\n  }\n`;
    out += '}\n';
  }
  if (v6.length + ll.length > 0) {
    out += `table ip6 ${table} {\n`;
    out += `  set vips {\n    type ipv6_addr\n${elements(v6)}  }\n`;
    out +=
      '  set neighbor-discovery {\n    type icmpv6_type\n    flags constant\n' +
      '    elements = { nd-neighbor-solicit, nd-neighbor-advert }\n  }\n';
    out += `  set vips_link_local {\n    type ipv6_addr . iface_index\n${elements(ll)}  }\n`;
    out +=
      `  chain out {\n${hook('output')}    icmpv6 type @neighbor-discovery accept\n` +
      '    ip6 saddr fe80::/10 goto out_link_local\n    ip6 saddr @vips drop\n  }\n';
    out +=
      `  chain in {\n${hook('input')}    icmpv6 type @neighbor-discovery accept\n` +
      '    ip6 daddr fe80::/10 goto in_link_local\n    ip6 daddr @vips drop\n  }\n';
    out += '  chain in_link_local {\n    ip6 daddr . iif @vips_link_local drop\n  }\n';
    out += '  chain out_link_local {\n    ip6 saddr . oif @vips_link_local drop\n  }\n';
    out += '}\n';
  }
  return out;
}

/** The nft script that removes both tables (at stop). */
export function strictRulesetRemoval(table: string): string {
  return `table ip ${table} {}\ndelete table ip ${table}\ntable ip6 ${table} {}\ndelete table ip6 ${table}\n`;
}

/** Runs `nft -f -` with `script`; resolves to null or the error text. */
function runNft(script: string): Promise<string | null> {
  return new Promise((resolve) => {
    let err = '';
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (e) {
      resolve((e as Error).message);
      return;
    }
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.once('error', (e) => resolve(e.message));
    child.once('exit', (code) => resolve(code === 0 ? null : err.trim() || `nft exited with ${code}`));
    child.stdin?.end(script);
  });
}

/**
 * Keeps the firewall in step with the instances' MASTER states. drop()/undrop() are called from the action
 * path and only record the change; the table is rewritten once the current batch is done, one `nft` at a
 * time (a change made while one runs is applied by the next).
 */
export class StrictFirewall {
  readonly #log: Logger;
  readonly #table: string;
  readonly #priority: number;
  /** instance → its dropped VIPs by `address%ifname` (keepalived's per-address `nftable_set`). */
  readonly #held = new Map<string, Map<string, DroppedVip>>();
  #running: Promise<void> | null = null;
  #dirty = false;
  #touched = false;

  /** Applies an nft script (`nft -f -`; a test gives its own). */
  readonly #nft: (script: string) => Promise<string | null>;

  constructor(log: Logger, table = NFT_DEFAULT_TABLE, priority = -1, nft = runNft) {
    this.#log = log;
    this.#table = table;
    this.#priority = priority;
    this.#nft = nft;
  }

  /** The firewall global_defs asks for (`nftables NAME`, `nftables_priority N`), fixed for the run. */
  static of(log: Logger, g: GlobalDefs): StrictFirewall {
    const s = nftSettings(g);
    return new StrictFirewall(log, s.table ?? NFT_DEFAULT_TABLE, s.priority);
  }

  /**
   * keepalived (under -D, as 2.2.7 logs it): "(VI_1) setting firewall drop rule". Adds `vips` to what is
   * dropped for `instance` (a reload of a master adds only the new ones; those it had stay).
   */
  drop(instance: string, vips: DroppedVip[]): void {
    this.#log.detail(`(${instance}) setting firewall drop rule`);
    const held = this.#held.get(instance) ?? new Map<string, DroppedVip>();
    this.#held.set(instance, held);
    for (const v of vips) held.set(addressOn(v.address, v.ifname), v);
    this.#schedule();
  }

  /**
   * keepalived (under -D): "(VI_1) removing firewall drop rule". Takes `vips` out of what is dropped for
   * `instance`: all of them when it leaves MASTER, those a reload removed otherwise — keepalived takes a
   * removed address out of the set.
   */
  undrop(instance: string, vips: DroppedVip[]): void {
    const held = this.#held.get(instance);
    if (!held) return;
    let changed = false;
    for (const v of vips) changed = held.delete(addressOn(v.address, v.ifname)) || changed;
    if (!changed) return;
    if (held.size === 0) this.#held.delete(instance);
    this.#log.detail(`(${instance}) removing firewall drop rule`);
    this.#schedule();
  }

  /** The VIPs (`address%ifname`) dropped for `instance`: the data dump's `nftable_set`. */
  dropped(instance: string): ReadonlySet<string> {
    return new Set(this.#held.get(instance)?.keys());
  }

  #schedule(): void {
    this.#dirty = true;
    if (this.#running) return;
    this.#running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      this.#touched = true;
      const vips = [...this.#held.values()].flatMap((m) => [...m.values()]);
      const err = await this.#nft(strictRuleset(this.#table, vips, this.#priority));
      if (err) this.#log.error(`cannot set the strict-mode firewall (nftables): ${err}`);
    }
    this.#running = null;
  }

  /** Waits for pending changes, then removes the tables if this run ever wrote them. */
  async close(): Promise<void> {
    this.#held.clear();
    if (this.#running) await this.#running;
    if (!this.#touched) return;
    const err = await this.#nft(strictRulesetRemoval(this.#table));
    if (err) this.#log.error(`cannot remove the strict-mode firewall (nftables): ${err}`);
  }
}
