// Effective priority from tracker weights (docs/keepalived-semantics.md, 'Priorities and trackers').
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  computePriority,
  type TrackerDef,
  type TrackerReading,
  trackerKey,
} from '../../src/vrrp/priority.js';

const script = (name: string, weight: number, reverse = false): TrackerDef => ({
  name,
  kind: 'script',
  weight,
  reverse,
});
// Readings are keyed by kind and name: here a value is a track_file's, up/down a vrrp_script's.
const readings = (entries: Array<[string, TrackerReading]>) =>
  new Map(entries.map(([n, r]) => [trackerKey('value' in r ? 'file' : 'script', n), r]));

test('positive weight adds while up, negative weight subtracts while down', () => {
  const defs = [script('a', 10), script('b', -30)];
  assert.deepEqual(computePriority(100, defs, readings([])), { effective: 110, trackerFault: false });
  assert.equal(computePriority(100, defs, readings([['a', { up: false }]])).effective, 100);
  assert.equal(computePriority(100, defs, readings([['b', { up: false }]])).effective, 80);
  assert.equal(
    computePriority(
      100,
      defs,
      readings([
        ['a', { up: false }],
        ['b', { up: false }],
      ]),
    ).effective,
    70,
  );
});

test('the sum is clamped to 1..254', () => {
  assert.equal(computePriority(250, [script('a', 50)], readings([])).effective, 254);
  assert.equal(computePriority(20, [script('a', -50)], readings([['a', { up: false }]])).effective, 1);
});

test('the owner (255) is never adjusted, but a weight-0 failure still faults it', () => {
  assert.equal(computePriority(255, [script('a', -50)], readings([['a', { up: false }]])).effective, 255);
  assert.equal(computePriority(255, [script('a', 50)], readings([])).effective, 255);
  assert.deepEqual(computePriority(255, [script('z', 0)], readings([['z', { up: false }]])), {
    effective: 255,
    trackerFault: true,
  });
});

test('a weight-0 tracker that fails means FAULT; reverse flips the sense', () => {
  assert.equal(computePriority(100, [script('z', 0)], readings([['z', { up: false }]])).trackerFault, true);
  assert.equal(computePriority(100, [script('z', 0)], readings([['z', { up: true }]])).trackerFault, false);
  assert.equal(
    computePriority(100, [script('z', 0, true)], readings([['z', { up: true }]])).trackerFault,
    true,
  );
  assert.equal(
    computePriority(100, [script('z', 0, true)], readings([['z', { up: false }]])).trackerFault,
    false,
  );
  // reverse on a weighted tracker negates its contribution (keepalived 2.2.7, checked against its dump):
  // weight 10 reverse is −10 while the script succeeds, weight −10 reverse is +10 while it fails.
  assert.equal(
    computePriority(100, [script('r', 10, true)], readings([['r', { up: false }]])).effective,
    100,
  );
  assert.equal(computePriority(100, [script('r', 10, true)], readings([['r', { up: true }]])).effective, 90);
  assert.equal(
    computePriority(100, [script('r', -10, true)], readings([['r', { up: false }]])).effective,
    110,
  );
  assert.equal(
    computePriority(100, [script('r', -10, true)], readings([['r', { up: true }]])).effective,
    100,
  );
});

test('track_file: value × weight, weight 0 faults on non-zero, below −253 faults', () => {
  const file = (weight: number, reverse = false): TrackerDef => ({
    name: 'f',
    kind: 'file',
    weight,
    reverse,
  });
  assert.equal(computePriority(100, [file(2)], readings([['f', { value: 15 }]])).effective, 130);
  assert.equal(computePriority(100, [file(2, true)], readings([['f', { value: 15 }]])).effective, 70);
  assert.equal(computePriority(100, [file(0)], readings([['f', { value: 3 }]])).trackerFault, true);
  assert.equal(computePriority(100, [file(0)], readings([['f', { value: 0 }]])).trackerFault, false);
  assert.equal(computePriority(100, [file(1)], readings([['f', { value: -254 }]])).trackerFault, true);
  assert.equal(computePriority(100, [file(1)], readings([['f', { value: -253 }]])).trackerFault, false);
});

test('initial state: up unless init_fail; sync-group members can ignore weights', () => {
  const initFail: TrackerDef = { ...script('s', -20), initialUp: false };
  assert.equal(computePriority(100, [initFail], readings([])).effective, 80);
  assert.equal(computePriority(100, [initFail], readings([]), true).effective, 100);
  assert.equal(
    computePriority(100, [script('z', 0)], readings([['z', { up: false }]]), true).trackerFault,
    true,
  );
});

test("a sync-group member ignores weights, except a tracked interface's (2.2.7 applies it though it says it ignores it)", () => {
  const iface = (name: string, weight: number) => ({
    name,
    kind: 'interface' as const,
    weight,
    reverse: false,
    weightInSyncGroup: true,
  });
  const r = new Map([['interface:eth3', { up: false }]]);
  assert.equal(computePriority(100, [iface('eth3', -5)], r, true).effective, 95);
  assert.equal(
    computePriority(100, [{ ...iface('eth3', -5), weightInSyncGroup: false }], r, true).effective,
    100,
  );
  // Down with a weight: no fault.
  assert.equal(computePriority(100, [iface('eth3', -5)], r, true).trackerFault, false);
});
