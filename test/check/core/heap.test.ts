// The deadline heap against a plain list: schedule, move, remove and pop in any order give the earliest
// deadline first, ties in insertion order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DeadlineHeap, type HeapItem } from '../../../src/common/deadline-heap.js';

interface Item extends HeapItem {
  name: number;
}

test('the heap pops what a sorted list says, through moves and removals', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ op: fc.constantFrom('schedule', 'remove', 'pop'), item: fc.nat(15), at: fc.nat(50) }),
        { maxLength: 200, size: 'max' },
      ),
      (ops) => {
        const heap = new DeadlineHeap<Item>();
        const items: Item[] = Array.from({ length: 16 }, (_, name) => ({
          name,
          atUs: 0,
          seq: 0,
          heapIndex: -1,
        }));
        // The model: scheduled items with their deadline and insertion number.
        const model = new Map<number, { at: number; n: number }>();
        let n = 0;
        for (const { op, item, at } of ops) {
          if (op === 'schedule') {
            heap.schedule(items[item]!, at);
            model.set(item, { at, n: n++ });
          } else if (op === 'remove') {
            heap.remove(items[item]!);
            model.delete(item);
          } else {
            const want = [...model.entries()].sort((a, b) => a[1].at - b[1].at || a[1].n - b[1].n)[0];
            const got = heap.popDue(at);
            if (want === undefined || want[1].at > at) assert.equal(got, undefined);
            else {
              assert.equal(got?.name, want[0]);
              model.delete(want[0]);
            }
          }
          assert.equal(heap.size, model.size);
          for (const it of items) assert.equal(it.heapIndex >= 0, model.has(it.name));
        }
      },
    ),
    { numRuns: 300 },
  );
});
