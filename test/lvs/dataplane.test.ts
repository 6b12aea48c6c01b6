import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  activePool,
  applyChanges,
  canonical,
  type DataplaneState,
  EMPTY_STATE,
  planChanges,
  type RealServerSpec,
  type ServiceSpec,
  validateState,
} from '../../src/lvs/dataplane.js';
import { nat, svc } from './fixtures.js';

const realArb: fc.Arbitrary<RealServerSpec> = fc.record({
  address: fc.constantFrom('192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14'),
  port: fc.constantFrom(80, 8080),
  weight: fc.constantFrom(0, 1, 2, 3, 100),
  method: fc.constantFrom('NAT' as const, 'DR' as const),
});

const serviceArb = (name: string): fc.Arbitrary<ServiceSpec> =>
  fc
    .record({
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      matches: fc.uniqueArray(
        fc.oneof(
          fc.record({
            kind: fc.constant('addr' as const),
            address: fc.constantFrom('198.51.100.100', '198.51.100.101'),
            port: fc.constantFrom(80, 443),
          }),
          fc.record({ kind: fc.constant('fwmark' as const), fwmark: fc.constantFrom(1, 2, 42) }),
        ),
        { minLength: 1, maxLength: 3, selector: (m) => JSON.stringify(m) },
      ),
      scheduler: fc.constantFrom('rr' as const, 'wrr' as const, 'sh' as const, 'wlc' as const),
      flags: fc.record({ hashPort: fc.boolean(), fallback: fc.boolean(), onePacket: fc.boolean() }),
      persistence: fc.option(
        fc.record({ timeoutS: fc.constantFrom(10, 360), prefixLen: fc.constantFrom(24, 32) }),
        { nil: undefined },
      ),
      reals: fc.uniqueArray(realArb, { maxLength: 4, selector: (r) => `${r.address}|${r.port}` }),
      sorry: fc.option(realArb, { nil: undefined }),
      sorryActive: fc.boolean(),
    })
    .map((r) => {
      const s: ServiceSpec = {
        name,
        family: 4,
        protocol: r.protocol,
        matches: r.matches,
        scheduler: r.scheduler,
        flags: r.flags,
        reals: r.reals,
        sorryActive: r.sorryActive,
      };
      if (r.persistence) s.persistence = r.persistence;
      if (r.sorry) s.sorry = r.sorry;
      return s;
    });

const stateArb: fc.Arbitrary<DataplaneState> = fc
  .subarray(['a', 'b', 'c', 'd'])
  .chain((names) => fc.tuple(...names.map(serviceArb)))
  .map((services) => ({ services }));

describe('lvs data-plane planner', () => {
  it('applying the plan to the old state yields the new state', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (a, b) => {
        assert.deepEqual(applyChanges(canonical(a), planChanges(a, b)), canonical(b));
      }),
      { numRuns: 400 },
    );
  });

  it('an unchanged state plans nothing, whatever the order of its parts', () => {
    fc.assert(
      fc.property(stateArb, (a) => {
        assert.deepEqual(planChanges(a, a), []);
        const shuffled: DataplaneState = {
          services: [...a.services]
            .reverse()
            .map((s) => ({ ...s, reals: [...s.reals].reverse(), matches: [...s.matches].reverse() })),
        };
        assert.deepEqual(planChanges(a, shuffled), []);
      }),
    );
  });

  it('is idempotent: after applying a plan, planning again gives nothing; applying twice changes nothing', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (a, b) => {
        const plan = planChanges(a, b);
        const once = applyChanges(canonical(a), plan);
        assert.deepEqual(planChanges(once, b), []);
        assert.deepEqual(applyChanges(once, plan), once);
      }),
    );
  });

  it('a plan is minimal: one weight change is one set-real', () => {
    const web = svc('web');
    const b: ServiceSpec = { ...web, reals: [web.reals[0]!, { ...web.reals[1]!, weight: 0 }] };
    assert.deepEqual(planChanges({ services: [web] }, { services: [b] }), [
      { op: 'set-real', name: 'web', real: { address: '192.0.2.12', port: 8080, weight: 0, method: 'NAT' } },
    ]);
    assert.deepEqual(planChanges(EMPTY_STATE, { services: [web] }).length, 1);
    assert.deepEqual(planChanges({ services: [web] }, EMPTY_STATE), [{ op: 'del-service', name: 'web' }]);
    // Protocol change replaces the service.
    const udp = { ...web, protocol: 'udp' as const };
    assert.deepEqual(
      planChanges({ services: [web] }, { services: [udp] }).map((c) => c.op),
      ['del-service', 'add-service'],
    );
    // Quorum lost: one set-sorry, the pool becomes the sorry server alone.
    const sorry = { address: '127.0.0.1', port: 80, weight: 1, method: 'NAT' as const };
    const down = { ...web, sorry, sorryActive: true };
    assert.deepEqual(
      planChanges({ services: [{ ...web, sorry }] }, { services: [down] }).map((c) => c.op),
      ['set-sorry'],
    );
    assert.deepEqual(activePool(down), [sorry]);
    assert.deepEqual(
      activePool(b).map((r) => r.address),
      ['192.0.2.11'],
    );
  });

  it('validation names duplicates and bad values', () => {
    const s = svc('x', {
      matches: [{ kind: 'addr', address: '2001:db8::1', port: 80 }],
      scheduler: 'rr',
      reals: [nat('192.0.2.11', 80, -1), nat('192.0.2.11', 80)],
    });
    const codes = validateState({ services: [s, s] }).map((e) => e.code);
    for (const c of ['LVS_BAD_ADDRESS', 'LVS_DUPLICATE_REAL', 'LVS_BAD_WEIGHT', 'LVS_DUPLICATE_SERVICE'])
      assert.ok(codes.includes(c as never), c);
    assert.deepEqual(validateState(EMPTY_STATE), []);
  });
});
