// Retired elements (src/lvs/nft-retire.ts, docs/lvs.md "Elements outlive the rules that reached them"):
// a change that stops picking a slot or backend leaves the element in the kernel and a later transaction
// deletes it after the grace period. Pure: the models a transaction goes between. In a namespace: the
// kernel's elements across updates, a re-add within the grace period and an adopting restart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffScript, type NftModel, partialModel } from '../../src/lvs/nft-model.js';
import { type Retired, retire, splitDue } from '../../src/lvs/nft-retire.js';
import { isRoot } from '../helpers/netns.js';
import { outputsPerMode } from './lab.js';

const model = (slots: [string, string][], bk: [string, string][]): NftModel => {
  const m = partialModel([]);
  for (const [k, v] of slots) m.sets.get('slots')?.elems.set(k, v);
  for (const [k, v] of bk) m.sets.get('bk4')?.elems.set(k, v);
  return m;
};
const three = model(
  [
    ['0x2000', '0x100'],
    ['0x2001', '0x101'],
    ['0x2002', '0x102'],
  ],
  [
    ['0x100', '192.0.2.11 . 8080'],
    ['0x101', '192.0.2.12 . 8080'],
    ['0x102', '192.0.2.13 . 8080'],
  ],
);
const two = model(
  [
    ['0x2000', '0x100'],
    ['0x2001', '0x101'],
  ],
  [
    ['0x100', '192.0.2.11 . 8080'],
    ['0x101', '192.0.2.12 . 8080'],
  ],
);

describe('retired elements: the models of one transaction', () => {
  it('a server leaving: its slot and backend are not deleted by the change, but retired', () => {
    const r: Retired = new Map();
    const rt = retire(three, two, r, 1000, 500);
    assert.equal(diffScript(rt.from, rt.to), '');
    // Without retirement the same change deletes them.
    assert.match(diffScript(three, two), /delete element inet keepalived_ts slots \{ 0x2002 \}/);
    rt.commit(r);
    assert.deepEqual(
      [...r].map(([m, els]) => [m, [...els]]),
      [
        ['slots', [['0x2002', { value: '0x102', sinceMs: 1000 }]]],
        ['bk4', [['0x102', { value: '192.0.2.13 . 8080', sinceMs: 1000 }]]],
      ],
    );
    // The inputs are left as they were.
    assert.equal(two.sets.get('slots')?.elems.size, 2);
  });

  it('wanted again within the grace: kept as it is, or replaced when its value changed; no longer retired', () => {
    const r: Retired = new Map();
    retire(three, two, r, 1000, 500).commit(r);
    const same = retire(two, three, r, 1100, 500);
    assert.equal(diffScript(same.from, same.to), '', 'same values: nothing to send');
    const other = model(
      [
        ['0x2000', '0x100'],
        ['0x2001', '0x101'],
        ['0x2002', '0x103'],
      ],
      [
        ['0x100', '192.0.2.11 . 8080'],
        ['0x101', '192.0.2.12 . 8080'],
        ['0x103', '192.0.2.13 . 8080'],
      ],
    );
    const moved = retire(two, other, r, 1100, 500);
    assert.equal(
      diffScript(moved.from, moved.to),
      [
        'delete element inet keepalived_ts slots { 0x2002 }',
        'add element inet keepalived_ts slots { 0x2002 : 0x103 }',
        'add element inet keepalived_ts bk4 { 0x103 : 192.0.2.13 . 8080 }',
        '',
      ].join('\n'),
    );
    moved.commit(r);
    // The old backend stays retired (its mark is no longer used); the slot is live again.
    assert.deepEqual([...r.keys()], ['bk4']);
    assert.deepEqual([...(r.get('bk4')?.keys() ?? [])], ['0x102']);
  });

  it('due after the grace period, not before; grace 0 deletes in the change itself', () => {
    const r: Retired = new Map();
    retire(three, two, r, 1000, 500).commit(r);
    assert.equal(splitDue(r, 1499, 500).due.size, 0);
    const { due, rest } = splitDue(r, 1500, 500);
    assert.deepEqual(
      [...due].map(([m, els]) => [m, [...els.keys()]]),
      [
        ['slots', ['0x2002']],
        ['bk4', ['0x102']],
      ],
    );
    assert.equal(rest.size, 0);
    const none = retire(three, two, new Map(), 1000, 0);
    assert.match(diffScript(none.from, none.to), /delete element inet keepalived_ts bk4 \{ 0x102 \}/);
  });

  it('only the maps a pick reads are retired: a service match leaves with its chain', () => {
    const from = partialModel([]);
    from.sets.get('svc4')?.elems.set('198.51.100.100 . tcp . 80', 'goto vs1');
    const r: Retired = new Map();
    const rt = retire(from, partialModel([]), r, 0, 500);
    assert.match(diffScript(rt.from, rt.to), /delete element inet keepalived_ts svc4/);
    rt.commit(r);
    assert.equal(r.size, 0);
  });
});

describe('retired elements in the kernel', { skip: !isRoot() && 'needs root' }, () => {
  it('stay through the grace period and go after it; re-adds and adopting restarts keep the table whole', () => {
    const [out] = outputsPerMode('retire', './retire-main.ts', ['run']);
    const steps = new Map(
      (out as string)
        .trim()
        .split('\n')
        .map(
          (l) => JSON.parse(l) as { label: string; mod: number; slots: number; bk4: number; retired: number },
        )
        .map((s) => [s.label, { mod: s.mod, slots: s.slots, bk4: s.bk4, retired: s.retired }]),
    );
    const at = (label: string) => steps.get(label);
    assert.deepEqual(at('start 3'), { mod: 3, slots: 3, bk4: 3, retired: 0 });
    assert.deepEqual(at('update 2'), { mod: 2, slots: 3, bk4: 3, retired: 2 }, 'retired, not deleted');
    assert.deepEqual(at('update 2, grace over'), { mod: 2, slots: 2, bk4: 2, retired: 0 }, 'deleted after');
    assert.deepEqual(at('update 3'), { mod: 3, slots: 3, bk4: 3, retired: 0 });
    assert.deepEqual(at('update 2 again'), { mod: 2, slots: 3, bk4: 3, retired: 2 });
    // The server comes back with a new mark: its slot is live again, the old backend stays retired.
    assert.deepEqual(at('update 3 within the grace'), { mod: 3, slots: 3, bk4: 4, retired: 1 });
    assert.deepEqual(at('update 3, grace over'), { mod: 3, slots: 3, bk4: 3, retired: 0 });
    assert.deepEqual(at('adopting restart with 1'), { mod: 1, slots: 3, bk4: 3, retired: 4 });
    assert.deepEqual(at('adopting restart, grace over'), { mod: 1, slots: 1, bk4: 1, retired: 0 });
    assert.deepEqual(at('retireMs 0: restart with 3'), { mod: 3, slots: 3, bk4: 3, retired: 0 });
    assert.deepEqual(at('retireMs 0: update 2'), { mod: 2, slots: 2, bk4: 2, retired: 0 });
  });
});
