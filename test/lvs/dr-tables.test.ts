// The direct-routing tables exist only while a DR service needs them (docs/lvs.md, "Forwarding"): the
// netdev table with the first DR service matched by address, `ip`/`ip6 keepalived_ts_drm` with the first
// fwmark DR service of that family, each deleted with the last; restarts adopt what is there, creating
// and deleting DR tables as the services need, and keep a DR flow entry. Run in a namespace of its own
// (dr-tables-main.ts, libnftables and the netlink table reader, as the checker process has them).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRoot } from '../helpers/netns.js';
import { outputsPerMode } from './lab.js';

interface Step {
  label: string;
  tables?: string[];
  adopted?: boolean;
  flow?: boolean;
  extra?: string[];
}

describe('direct-routing tables follow the DR services', { skip: !isRoot() && 'needs root' }, () => {
  it('are created with the first DR service of theirs and deleted with the last, at runtime and at restarts', () => {
    const [out] = outputsPerMode('drtab', './dr-tables-main.ts', ['run']);
    const steps = new Map(
      (out as string)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Step)
        .map((s) => [s.label, s]),
    );
    const tables = (label: string) => steps.get(label)?.tables;
    const inet = 'inet keepalived_ts';
    const dr = 'netdev keepalived_ts_dr';
    const ip = 'ip keepalived_ts_drm';
    const ip6 = 'ip6 keepalived_ts_drm';
    assert.deepEqual(tables('nat only'), [inet], 'no DR service: no DR table');
    assert.deepEqual(tables('+dr'), [inet, dr]);
    assert.deepEqual(tables('+fw'), [inet, ip, dr]);
    assert.deepEqual(tables('+fw6'), [inet, ip, ip6, dr]);
    // Made step by step, the tables are what a start makes: an adopting resync finds nothing to change
    // but the regular chains it always rewrites.
    assert.deepEqual(steps.get('resync')?.extra, []);
    assert.deepEqual(tables('-fw6'), [inet, ip, dr]);
    assert.deepEqual(tables('-fw'), [inet, dr]);
    for (const [label, want] of [
      ['restart: dr', [inet, dr]],
      ['restart: dr, fw', [inet, ip, dr]],
      ['restart: fw', [inet, ip]],
      ['restart over unused DR tables', [inet]],
    ] as const) {
      assert.deepEqual(tables(label), want, label);
      assert.equal(steps.get(label)?.adopted, true, `${label}: adopted`);
    }
    assert.equal(steps.get('restart: dr')?.flow, true, 'the DR flow entry is kept');
    assert.equal(steps.get('restart: dr, fw')?.flow, true, 'creating another DR table keeps it too');
    assert.deepEqual(tables('-fw (last DR service)'), [inet]);
    assert.deepEqual(tables('stopped'), []);
  });
});
