// A change too long for a netlink socket's default send buffer (10,000 real servers joining a pool at
// once) still goes as one raw batch: the sender raises the socket's buffer first (it failed with EMSGSIZE
// and fell back to libnftables before). Also a guard against applying a plan in quadratic time: that
// update took 13.8 s before (2 shared cores), well under a second after.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRoot } from '../helpers/netns.js';
import { outputsPerMode } from './lab.js';

describe('a raw batch of 10,000 elements', { skip: !isRoot() && 'needs root' }, () => {
  it('goes raw, whole', () => {
    const [out] = outputsPerMode('rawbig', './nft-raw-big-main.ts', ['run']);
    const r = JSON.parse((out as string).trim()) as {
      ok: boolean;
      route: { route: string; rawError?: string };
      mod: number;
      ms: number;
      logs: string[];
    };
    assert.ok(r.ok);
    assert.deepEqual(r.route, { route: 'raw' }, JSON.stringify(r.logs));
    assert.equal(r.mod, 10_000);
    // Generous for a loaded machine: the quadratic plan took 13.8 s here.
    assert.ok(r.ms < 6000, `${r.ms} ms`);
  });
});
