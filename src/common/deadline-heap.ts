// A binary min-heap of deadlines with positions kept in the items, so one item can be moved or removed in
// O(log n) without searching. Ties go to the lower `rank` when both items have one (the VRRP engine: instance
// order), else to insertion order (the `seq` each schedule assigns), which keeps every run from the same
// inputs identical. No JS timers: the caller asks for the earliest deadline and fires it. Used by the VRRP
// engine (src/vrrp/engine.ts) and the checker core (src/check/core/core.ts).

export interface HeapItem {
  /** When the item is due (µs, the caller's clock). */
  atUs: number;
  /** Insertion order, for ties; set by the heap. */
  seq: number;
  /** Where the item sits in the heap; -1 when it is not in it. */
  heapIndex: number;
  /** A fixed tie-break ahead of `seq`, when the caller's order must decide ties. */
  rank?: number;
}

export class DeadlineHeap<T extends HeapItem> {
  #items: T[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Puts the item in the heap at `atUs`, or moves it there if it is already in. */
  schedule(item: T, atUs: number): void {
    if (item.heapIndex >= 0) this.remove(item);
    item.atUs = atUs;
    item.seq = this.#seq++;
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.#items.pop()!;
    item.heapIndex = -1;
    if (i === this.#items.length) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Removes and returns the earliest item if it is due at `nowUs`. */
  popDue(nowUs: number): T | undefined {
    const top = this.#items[0];
    if (top === undefined || top.atUs > nowUs) return undefined;
    this.remove(top);
    return top;
  }

  clear(): void {
    for (const it of this.#items) it.heapIndex = -1;
    this.#items = [];
  }

  #less(a: T, b: T): boolean {
    if (a.atUs !== b.atUs) return a.atUs < b.atUs;
    if (a.rank !== undefined && b.rank !== undefined && a.rank !== b.rank) return a.rank < b.rank;
    return a.seq < b.seq;
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.#less(item, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#less(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.#less(child, item)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
