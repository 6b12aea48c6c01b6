// Who was master of each virtual router, when: built from the `stateChange` actions the simulator sees, so
// invariants ("never two masters for longer than …") can be checked after a run over exact intervals.

export interface MasterInterval {
  router: string;
  fromUs: number;
  /** null while still master. */
  toUs: number | null;
}

export interface Overlap {
  fromUs: number;
  toUs: number;
  routers: string[];
}

export class MasterLog {
  #open = new Map<string, Map<string, number>>();
  #closed = new Map<string, MasterInterval[]>();

  begin(key: string, router: string, atUs: number): void {
    let m = this.#open.get(key);
    if (!m) {
      m = new Map();
      this.#open.set(key, m);
    }
    if (!m.has(router)) m.set(router, atUs);
  }

  end(key: string, router: string, atUs: number): void {
    const m = this.#open.get(key);
    const since = m?.get(router);
    if (m === undefined || since === undefined) return;
    m.delete(router);
    let list = this.#closed.get(key);
    if (!list) {
      list = [];
      this.#closed.set(key, list);
    }
    list.push({ router, fromUs: since, toUs: atUs });
  }

  /** A crash ends every mastership the router held. */
  endAllOf(router: string, atUs: number): void {
    for (const key of this.#open.keys()) this.end(key, router, atUs);
  }

  keys(): string[] {
    return [...new Set([...this.#open.keys(), ...this.#closed.keys()])].sort();
  }

  currentMasters(key: string): string[] {
    return [...(this.#open.get(key)?.keys() ?? [])].sort();
  }

  intervals(key: string): MasterInterval[] {
    const open = [...(this.#open.get(key)?.entries() ?? [])].map(([router, fromUs]) => ({
      router,
      fromUs,
      toUs: null,
    }));
    return [...(this.#closed.get(key) ?? []), ...open].sort((a, b) => a.fromUs - b.fromUs);
  }

  /** Periods (clipped to [0, untilUs]) during which two or more routers were master at once. */
  overlaps(key: string, untilUs: number): Overlap[] {
    const points: { t: number; d: number; router: string }[] = [];
    for (const iv of this.intervals(key)) {
      const to = iv.toUs ?? untilUs;
      if (to <= iv.fromUs) continue;
      points.push({ t: iv.fromUs, d: 1, router: iv.router }, { t: to, d: -1, router: iv.router });
    }
    // Ends before starts at the same instant: a hand-over at one microsecond is not an overlap.
    points.sort((a, b) => a.t - b.t || a.d - b.d);
    const active = new Set<string>();
    const out: Overlap[] = [];
    let start: number | null = null;
    let members = new Set<string>();
    for (const p of points) {
      if (p.d > 0) active.add(p.router);
      else active.delete(p.router);
      if (active.size >= 2 && start === null) {
        start = p.t;
        members = new Set(active);
      } else if (active.size >= 2) {
        for (const r of active) members.add(r);
      } else if (active.size < 2 && start !== null) {
        if (p.t > start) out.push({ fromUs: start, toUs: p.t, routers: [...members].sort() });
        start = null;
      }
    }
    return out;
  }
}
