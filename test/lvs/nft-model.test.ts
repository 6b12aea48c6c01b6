import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type DataplaneState, planChanges, type ServiceSpec } from '../../src/lvs/dataplane.js';
import {
  allocate,
  diffScript,
  drTablesFor,
  emptyAlloc,
  fullScript,
  type NftModel,
  renderModel,
  renderService,
  SLOT_STRIDE,
} from '../../src/lvs/nft-model.js';
import {
  countWeights,
  foSlots,
  hashSlots,
  MAGLEV_TABLE_SIZE,
  maglevSlots,
  wrrSlots,
} from '../../src/lvs/schedulers.js';
import { svc } from './fixtures.js';

describe('scheduler slot tables', () => {
  it('count-driven shares: the loaded server gets fewer new connections, weights scale shares', () => {
    const even = countWeights('wlc', [
      { weight: 1, active: 0, inactive: 0 },
      { weight: 1, active: 0, inactive: 0 },
    ]);
    assert.equal(even[0], even[1]);
    const skew = countWeights('wlc', [
      { weight: 1, active: 10, inactive: 0 },
      { weight: 1, active: 2, inactive: 0 },
      { weight: 1, active: 2, inactive: 0 },
    ]);
    assert.equal(skew[0], 0);
    assert.equal(skew[1], skew[2]);
    const weighted = countWeights('wlc', [
      { weight: 3, active: 0, inactive: 0 },
      { weight: 1, active: 0, inactive: 0 },
    ]);
    assert.ok(Math.abs((weighted[0] as number) / (weighted[1] as number) - 3) < 0.2, String(weighted));
    // lc ignores weights; nq sends to idle servers first; ovf picks the heaviest not-overloaded one.
    const lc = countWeights('lc', [
      { weight: 3, active: 0, inactive: 0 },
      { weight: 1, active: 0, inactive: 0 },
    ]);
    assert.equal(lc[0], lc[1]);
    assert.deepEqual(
      countWeights('nq', [
        { weight: 1, active: 1, inactive: 0 },
        { weight: 1, active: 0, inactive: 0 },
      ]).map((x) => x > 0),
      [false, true],
    );
    assert.deepEqual(
      countWeights('ovf', [
        { weight: 5, active: 6, inactive: 0 },
        { weight: 4, active: 1, inactive: 0 },
        { weight: 2, active: 0, inactive: 0 },
      ]),
      [0, 1, 0],
    );
  });

  it('wrr follows IPVS interleaving and proportions', () => {
    assert.deepEqual(wrrSlots([3, 2, 1]), [0, 0, 1, 0, 1, 2]);
    assert.deepEqual(wrrSlots([4, 2]), [0, 0, 1]); // gcd-reduced to 2:1
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }), (w) => {
        const slots = wrrSlots(w);
        const g = w.reduce((a, b) => {
          let [x, y] = [a, b];
          while (y) [x, y] = [y, x % y];
          return x;
        });
        for (const [i, wi] of w.entries()) assert.equal(slots.filter((s) => s === i).length, wi / g);
      }),
    );
  });

  it('fo picks the first highest weight; sh fills 256 buckets by weight', () => {
    assert.deepEqual(foSlots([1, 5, 5, 2]), [1]);
    assert.deepEqual(foSlots([]), []);
    const t = hashSlots([2, 1]);
    assert.equal(t.length, 256);
    assert.deepEqual(t.slice(0, 6), [0, 0, 1, 0, 0, 1]);
  });

  it('maglev fills its prime table in weight proportion and moves few slots when a server leaves', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const t = maglevSlots(ids, [1, 1, 1, 1]);
    assert.equal(t.length, MAGLEV_TABLE_SIZE);
    for (let i = 0; i < 4; i++) {
      const n = t.filter((x) => x === i).length;
      assert.ok(Math.abs(n - MAGLEV_TABLE_SIZE / 4) < MAGLEV_TABLE_SIZE * 0.03, `server ${i}: ${n}`);
    }
    const w = maglevSlots(ids, [2, 1, 1, 1]);
    assert.ok(w.filter((x) => x === 0).length > 1.6 * w.filter((x) => x === 1).length);
    // Remove 'c': slots of the others mostly stay put.
    const u = maglevSlots(['a', 'b', 'd'], [1, 1, 1]);
    const name = (tab: number[], list: string[], i: number) => list[tab[i]!];
    let moved = 0;
    for (let i = 0; i < t.length; i++)
      if (name(t, ids, i) !== 'c' && name(t, ids, i) !== name(u, ['a', 'b', 'd'], i)) moved++;
    assert.ok(moved < t.length * 0.1, `moved ${moved}`);
  });
});

function model(state: DataplaneState) {
  return renderModel(state, allocate(emptyAlloc(), state));
}

/** Applies a diff script to a model as the kernel would, for the commands diffScript emits. */
function applyScript(m: NftModel, script: string): NftModel {
  const out: NftModel = {
    sets: new Map([...m.sets].map(([n, s]) => [n, { ...s, elems: new Map(s.elems) }])),
    chains: new Map([...m.chains].map(([n, c]) => [n, { ...c, rules: [...c.rules] }])),
  };
  const T = 'inet keepalived_ts';
  const handlers: [RegExp, (r: string[]) => void][] = [
    [
      new RegExp(`^add chain ${T} (\\S+)(?: \\{ (.*) \\})?$`),
      (r) => out.chains.set(r[1] as string, { decl: r[2] ?? '', rules: [] }),
    ],
    [
      new RegExp(`^add (map|set) ${T} (\\S+) (\\{.*\\})$`),
      (r) =>
        out.sets.set(r[2] as string, { kind: r[1] as 'map' | 'set', decl: r[3] as string, elems: new Map() }),
    ],
    [
      new RegExp(`^flush chain ${T} (\\S+)$`),
      (r) => {
        const c = out.chains.get(r[1] as string);
        assert.ok(c);
        c.rules = [];
      },
    ],
    [
      new RegExp(`^delete chain ${T} (\\S+)$`),
      (r) => {
        assert.equal(
          out.chains.get(r[1] as string)?.rules.length,
          0,
          `chain ${r[1]} deleted while not empty`,
        );
        out.chains.delete(r[1] as string);
      },
    ],
    [new RegExp(`^delete (?:map|set) ${T} (\\S+)$`), (r) => out.sets.delete(r[1] as string)],
    [
      new RegExp(`^add rule ${T} (\\S+) (.*)$`),
      (r) => out.chains.get(r[1] as string)?.rules.push(r[2] as string),
    ],
    [
      new RegExp(`^(add|delete) element ${T} (\\S+) \\{ (.*) \\}$`),
      (r) => {
        const set = out.sets.get(r[2] as string);
        assert.ok(set);
        for (const el of (r[3] as string).split(', ')) {
          const [k = '', v = ''] = el.split(' : ');
          if (r[1] === 'add') {
            assert.ok(!set.elems.has(k), `element ${k} added twice to ${r[2]}`);
            set.elems.set(k, v);
          } else {
            assert.ok(set.elems.has(k), `element ${k} deleted from ${r[2]} but absent`);
            set.elems.delete(k);
          }
        }
      },
    ],
  ];
  for (const line of script.split('\n').filter(Boolean)) {
    const h = handlers.find(([re]) => re.test(line));
    if (!h) assert.fail(`unexpected command ${line}`);
    h[1]([...(h[0].exec(line) as RegExpExecArray)]);
  }
  return out;
}

const DRI = { ingress: ['eth0'], egress: 'eth1' };

describe('nftables model and transactions', () => {
  it('renders the dispatch entry, the IPVS-ordered slots and the backend map', () => {
    const m = model({ services: [svc('web')] });
    assert.equal(m.sets.get('svc4')?.elems.get('198.51.100.100 . tcp . 80'), 'goto vs1');
    const slots = [...(m.sets.get('slots')?.elems.entries() ?? [])];
    assert.deepEqual(
      slots.map(([k]) => Number(k)),
      [0, 1, 2, 3].map((i) => SLOT_STRIDE + i),
    );
    assert.deepEqual(
      slots.map(([, v]) => v),
      ['0x100', '0x100', '0x100', '0x101'],
    );
    assert.deepEqual(m.chains.get('vs1g')?.rules, [`ct mark set numgen inc mod 4 offset ${SLOT_STRIDE}`]);
    assert.equal(m.sets.get('bk4')?.elems.get('0x101'), '192.0.2.12 . 8080');
    const full = fullScript(m);
    assert.match(full, /^add table inet keepalived_ts\ndelete table inet keepalived_ts\nadd table/);
  });

  it('a diff applied to the old objects gives the new ones; no change gives no script', () => {
    const arbSvc = (name: string) =>
      fc
        .record({
          scheduler: fc.constantFrom('rr' as const, 'wrr' as const, 'sh' as const, 'mh' as const),
          persistent: fc.boolean(),
          w: fc.array(fc.constantFrom(0, 1, 2, 5), { minLength: 0, maxLength: 3 }),
          sorryActive: fc.boolean(),
          port: fc.constantFrom(80, 443),
        })
        .map((r) =>
          svc(name, {
            scheduler: r.scheduler,
            matches: [{ kind: 'addr', address: '198.51.100.100', port: name === 'a' ? r.port : 8000 }],
            ...(r.persistent ? { persistence: { timeoutS: 60, prefixLen: 24 } } : {}),
            reals: r.w.map((weight, i) => ({
              address: `192.0.2.${11 + i}`,
              port: 8080,
              weight,
              method: 'NAT' as const,
            })),
            sorry: { address: '192.0.2.99', port: 80, weight: 1, method: 'NAT' },
            sorryActive: r.sorryActive,
          }),
        );
    const arbState = fc
      .tuple(fc.option(arbSvc('a')), fc.option(arbSvc('b')))
      .map(([a, b]) => ({ services: [a, b].filter((x): x is ServiceSpec => x !== null) }));
    fc.assert(
      fc.property(arbState, arbState, (s1, s2) => {
        const a1 = allocate(emptyAlloc(), s1);
        const m1 = renderModel(s1, a1);
        const m2 = renderModel(s2, allocate(a1, s2));
        assert.equal(diffScript(m1, m1), '');
        assert.deepEqual(applyScript(m1, diffScript(m1, m2)), m2);
      }),
      { numRuns: 80 },
    );
  });

  it('DR flow entries idle out as IPVS connections: lvs_timeouts tcp for TCP services, udp for UDP ones, else IPVS defaults', () => {
    const dr = (protocol: 'tcp' | 'udp'): ServiceSpec =>
      svc(protocol, {
        protocol,
        reals: [{ address: '198.51.100.11', port: 80, weight: 1, method: 'DR' }],
      });
    const rules = (s: ServiceSpec, t?: { tcp?: number; udp?: number }) => {
      const f = renderService(s, allocate(emptyAlloc(), { services: [s] }), DRI, undefined, t);
      return [...f.own.chains.values()].flatMap((c) => c.rules).join('\n');
    };
    const flowUpdate =
      / update @flows4 \{ ip saddr \. th sport \. ip daddr \. th dport( timeout \d+s)? : meta mark \}/;
    assert.equal(flowUpdate.exec(rules(dr('tcp'), { tcp: 120, udp: 40 }))?.[1], ' timeout 120s');
    assert.equal(flowUpdate.exec(rules(dr('udp'), { tcp: 120, udp: 40 }))?.[1], ' timeout 40s');
    // Not set for the protocol: IPVS's defaults, UDP 300 s, TCP the map's own 900 s.
    assert.equal(flowUpdate.exec(rules(dr('udp'), { tcp: 120 }))?.[1], ' timeout 300s');
    assert.equal(flowUpdate.exec(rules(dr('udp')))?.[1], ' timeout 300s');
    assert.equal(flowUpdate.exec(rules(dr('tcp'), { udp: 40 }))?.[1], undefined);
    assert.equal(flowUpdate.exec(rules(dr('tcp')))?.[1], undefined);
  });
  it('a DR service whose real servers are all removed stays a DR service (its table, its dispatch entry), not NAT', () => {
    const dr = (reals: ServiceSpec['reals']): ServiceSpec =>
      svc('d', {
        method: 'DR',
        reals,
        matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
      });
    const full = dr([{ address: '198.51.100.11', port: 80, weight: 1, method: 'DR' }]);
    const empty = dr([]);
    for (const s of [full, empty]) {
      assert.deepEqual([...drTablesFor([s])], ['netdev']);
      const m = renderModel({ services: [s] }, allocate(emptyAlloc(), { services: [s] }), DRI);
      assert.equal(m.sets.get('dr/svc4')?.elems.size, 1);
      assert.equal(m.sets.get('svc4')?.elems.size, 0);
    }
    // Without the configured method, an empty service can only be NAT (the earlier behaviour).
    const { method: _m, ...bare } = empty;
    assert.deepEqual([...drTablesFor([bare])], []);
    // A change of lb_kind alone is a set-service that carries the method.
    const plan = planChanges({ services: [empty] }, { services: [{ ...empty, method: 'NAT' }] });
    assert.deepEqual(plan, [
      {
        op: 'set-service',
        name: 'd',
        attrs: { scheduler: empty.scheduler, flags: empty.flags, method: 'NAT' },
      },
    ]);
  });

  it('a fwmark service serves TCP, UDP and SCTP whatever its protocol: NAT and DR rules per protocol, others left alone', () => {
    const fw = { matches: [{ kind: 'fwmark' as const, fwmark: 9 }], protocol: 'udp' as const };
    const rules = (s: ServiceSpec, t?: { tcp?: number; udp?: number }) => {
      const f = renderService(s, allocate(emptyAlloc(), { services: [s] }), DRI, undefined, t);
      return [...f.own.chains.values()].flatMap((c) => c.rules);
    };
    const nat = rules(svc('n', { ...fw, persistence: { timeoutS: 60, prefixLen: 32 } }), {
      tcp: 100,
      udp: 10,
    });
    assert.ok(nat.includes('meta l4proto != tcp meta l4proto != udp meta l4proto != sctp return'));
    for (const p of ['tcp', 'udp', 'sctp']) {
      assert.ok(nat.includes(`meta l4proto ${p} dnat ip to ct mark map @bk4`), `${p}: ${nat.join('\n')}`);
      assert.ok(nat.some((r) => r.startsWith(`meta l4proto ${p} ip saddr @p`) && r.includes(' dnat ip to ')));
    }
    // A server without a port (0) keeps the packet's port: the address-only map and its DNAT rule.
    assert.ok(nat.includes('dnat ip to ct mark map @bka4'), nat.join('\n'));
    assert.ok(nat.includes('meta l4proto tcp ct timeout set "to_tcp_100_0"'));
    assert.ok(nat.includes('meta l4proto udp ct timeout set "to_udp_10"'));
    // sh-port: the source port of whatever transport protocol.
    const sh = rules(
      svc('h', { ...fw, scheduler: 'sh', flags: { hashPort: true, fallback: false, onePacket: false } }),
    );
    assert.ok(
      sh.some((r) => /^ct mark set jhash ip saddr \. th sport mod 256 /.test(r)),
      sh.join('\n'),
    );
    // An address service keeps its one protocol.
    const one = rules(svc('a'));
    assert.ok(one.includes('meta l4proto tcp dnat ip to ct mark map @bk4'));
    assert.ok(!one.some((r) => r.includes('udp') || r.includes('!=')));
    // DR by fwmark: flows recorded per protocol with its idle timeout; the pick has no protocol match.
    const dr = rules(
      svc('d', { ...fw, reals: [{ address: '198.51.100.11', port: 0, weight: 1, method: 'DR' }] }),
      { tcp: 120 },
    );
    assert.ok(dr.includes('meta l4proto != tcp meta l4proto != udp meta l4proto != sctp return'));
    const slot = (p: string) =>
      dr.find((r) => r.startsWith(`meta l4proto ${p} meta mark set meta mark map @slots`)) ?? '';
    assert.match(slot('tcp'), /th dport timeout 120s : meta mark/);
    assert.match(slot('udp'), /th dport timeout 300s : meta mark/);
    assert.match(slot('sctp'), /th dport : meta mark/);
    assert.ok(dr.includes('meta mark set numgen inc mod 1 offset 8192'), dr.join('\n'));
  });
});
