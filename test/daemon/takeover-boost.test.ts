// TakeoverBoost (src/daemon/takeover-boost.ts) on this test's own thread, read back from /proc: it raises the
// thread to SCHED_RR 1 and puts it back to SCHED_OTHER with its nice value; it stays out of the way when the
// process is real-time already (vrrp_rt_priority); leave() twice is harmless.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { test } from 'node:test';
import { BOOST_RT_PRIORITY, normalPriorityNow, TakeoverBoost } from '../../src/daemon/takeover-boost.js';
import { isRoot } from '../helpers/netns.js';

const skip = isRoot() ? false : 'needs CAP_SYS_NICE for real-time scheduling';

/** (nice, rt priority, policy) of the calling thread: proc(5) stat fields 19, 40 and 41. */
function sched(): { nice: number; rtPriority: number; policy: number } {
  const text = readFileSync('/proc/thread-self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { nice: Number(rest[19 - 3]), rtPriority: Number(rest[40 - 3]), policy: Number(rest[41 - 3]) };
}

test('enter raises to SCHED_RR 1, leave returns to SCHED_OTHER keeping the nice value', { skip }, () => {
  setPriority(0, 3);
  const refusals: string[] = [];
  const boost = new TakeoverBoost(false, (m) => refusals.push(m));
  try {
    assert.deepEqual(sched(), { nice: 3, rtPriority: 0, policy: 0 });
    assert.equal(boost.enter(), true);
    assert.equal(boost.enter(), false, 'raised already');
    assert.deepEqual(sched().policy, 2);
    assert.deepEqual(sched().rtPriority, BOOST_RT_PRIORITY);
    boost.leave();
    boost.leave();
    assert.deepEqual(sched(), { nice: 3, rtPriority: 0, policy: 0 });
    assert.equal(boost.enter(), true, 'again for the next takeover');
  } finally {
    boost.leave();
    setPriority(0, 0);
  }
  assert.deepEqual(refusals, []);
});

test('a real-time process is left alone', () => {
  const boost = new TakeoverBoost(true, () => assert.fail('nothing to refuse'));
  const before = sched();
  assert.equal(boost.enter(), false);
  boost.leave();
  assert.deepEqual(sched(), before);
});

test('normalPriorityNow puts a raised thread back before long work; the next enter raises it again', {
  skip,
}, () => {
  const boost = new TakeoverBoost(false, () => assert.fail('refused'));
  try {
    normalPriorityNow();
    assert.equal(sched().policy, 0, 'nothing raised: nothing to do');
    assert.equal(boost.enter(), true);
    assert.equal(sched().policy, 2);
    normalPriorityNow();
    assert.equal(sched().policy, 0);
    boost.leave(); // the phase's own end afterwards is harmless
    assert.equal(sched().policy, 0);
    assert.equal(boost.enter(), true);
  } finally {
    boost.leave();
  }
});
