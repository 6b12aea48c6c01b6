// Adopting an earlier run's tables (src/lvs/nft-adopt.ts): element messages decode back into the model's
// own text (checked against the raw encoder, whose bytes test/lvs/nft-raw.test.ts compares with nft's),
// table user data gives the layout comment, and an earlier run's ids and marks are recovered from the
// shared maps however they had been numbered. The namespace halves: test/lvs/bad-things.test.ts (every
// restart adopts, no request refused), test/lvs/dr-respawn.test.ts (DR connections survive), and below:
// restarts with lvs_timeouts set adopt too, the `ct timeout` objects read back and changed to the new values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RealServerSpec, ServiceSpec } from '../../src/lvs/dataplane.js';
import { decodeElems, type KernelTables, recoverAlloc, udataComment } from '../../src/lvs/nft-adopt.js';
import { allocate, type IdAlloc, isDr, markKey, renderModel } from '../../src/lvs/nft-model.js';
import { ELEM_LAYOUT, encodeBatch } from '../../src/lvs/nft-raw.js';
import { isRoot } from '../helpers/netns.js';
import { outputsPerMode } from './lab.js';

/** The NEWSETELEM payloads (after nlmsghdr) of a raw batch adding `elems` to map `set`. */
function elemPayloads(set: string, elems: [string, string][]): Buffer[] {
  const b = encodeBatch([{ op: 'addelem', set, elems }], 1)?.bytes;
  assert.ok(b, 'encodable');
  const out: Buffer[] = [];
  for (let off = 0; off < b.length; ) {
    const len = b.readUInt32LE(off);
    if ((b.readUInt16LE(off + 4) & 0xff) === 12) out.push(b.subarray(off + 16, off + len));
    off += len;
  }
  return out;
}

const real = (address: string, weight = 1, method: 'NAT' | 'DR' = 'NAT', port = 8080): RealServerSpec => ({
  address,
  port,
  weight,
  method,
});
const svc = (name: string, address: string, reals: RealServerSpec[], family: 4 | 6 = 4): ServiceSpec => ({
  name,
  family,
  protocol: 'tcp',
  matches: [{ kind: 'addr', address, port: 80 }],
  scheduler: 'rr',
  flags: { hashPort: false, fallback: false, onePacket: false },
  reals,
  sorryActive: false,
});

/** What the reader would return for the tables a run with `alloc` programmed for `services`. */
function kernelOf(services: ServiceSpec[], alloc: IdAlloc): KernelTables {
  const m = renderModel({ services }, alloc, { ingress: ['eth0'], egress: 'eth1' });
  const elems = new Map<string, Map<string, string>>();
  for (const [n, set] of m.sets) if (set.elems.size > 0) elems.set(n, new Map(set.elems));
  return { tables: new Map(), chains: new Map(), sets: new Map(), elems };
}

describe('adopting the tables of an earlier run', () => {
  it('decodes elements back into the text they were encoded from', () => {
    const cases: [string, [string, string][]][] = [
      [
        'svc4',
        [
          ['198.51.100.100 . tcp . 80', 'goto vs1'],
          ['198.51.100.101 . udp . 53', 'goto vs12'],
        ],
      ],
      ['svc6', [['2001:db8:1::100 . sctp . 443', 'goto vs3']]],
      [
        'slots',
        [
          ['0x2000', '0x100'],
          ['0x2001', '0x1ab'],
        ],
      ],
      ['bk4', [['0x100', '192.0.2.11 . 8080']]],
      [
        'bk6',
        [
          ['0x101', '2001:db8:2::11 . 8080'],
          ['0x102', '2001:db8::1:0:0:1 . 1'],
        ],
      ],
      ['dr/bk4', [['0x105', '198.51.100.11']]],
      ['dr/bk6', [['0x106', '2001:db8:2::13']]],
      ['dr/svc4', [['198.51.100.100 . tcp . 80', 'goto vs2']]],
    ];
    for (const [set, elems] of cases) {
      const got = decodeElems(elemPayloads(set, elems), ELEM_LAYOUT[set] as (typeof ELEM_LAYOUT)[string]);
      assert.deepEqual([...got], elems, set);
    }
  });

  it('reads the table comment from nftnl user data', () => {
    const c = 'keepalived-ts lvs layout 5';
    const ud = Buffer.concat([Buffer.from([0, c.length + 1]), Buffer.from(`${c}\0`)]);
    assert.equal(udataComment(ud), c);
    assert.equal(udataComment(Buffer.from([1, 2, 0x61, 0])), undefined);
  });

  it('recovers service ids and server marks, inhibited DR servers included, whatever their numbering', () => {
    const nat = svc('nat', '198.51.100.100', [real('192.0.2.11'), real('192.0.2.12'), real('192.0.2.13')]);
    const dr = svc('dr', '198.51.100.101', [
      real('198.51.100.11', 1, 'DR', 80),
      real('198.51.100.12', 0, 'DR', 80),
    ]);
    const v6 = svc('v6', '2001:db8:1::100', [real('2001:db8:2::11', 2)], 6);
    // DR by fwmark: its objects live in the `ip` table (fm4/…).
    const fw: ServiceSpec = {
      ...svc('FWM 7', '', [real('198.51.100.14', 1, 'DR', 0), real('198.51.100.15', 0, 'DR', 0)]),
      matches: [{ kind: 'fwmark', fwmark: 7 }],
    };
    // NAT by fwmark, servers without a port: their backends are in the address-only map (bka4).
    const fwn: ServiceSpec = {
      ...svc('FWM 8', '', [real('192.0.2.21', 1, 'NAT', 0), real('192.0.2.22', 1, 'NAT', 0)]),
      matches: [{ kind: 'fwmark', fwmark: 8 }],
    };
    // The earlier run had numbered things its own way (services and marks added and removed over time).
    const before: IdAlloc = { services: new Map(), marks: new Map(), nextService: 7, nextMark: 0x3f0 };
    const old = allocate(before, { services: [v6, fw, dr, nat, fwn] });
    const k = kernelOf([nat, dr, v6, fw, fwn], old);
    assert.equal(k.elems.get('bka4')?.size, 2);
    // This run: one NAT server gone, one added; everything else as it was.
    const nat2 = { ...nat, reals: [real('192.0.2.11'), real('192.0.2.13'), real('192.0.2.14')] };
    const got = recoverAlloc([nat2, dr, v6, fw, fwn], k, isDr);
    for (const s of ['nat', 'dr', 'v6', 'FWM 7', 'FWM 8'])
      assert.equal(got.services.get(s), old.services.get(s), s);
    for (const [s, r] of [
      ['nat', real('192.0.2.11')],
      ['nat', real('192.0.2.13')],
      ['dr', real('198.51.100.11', 1, 'DR', 80)],
      // Inhibited: in the backend map only, not in the slots.
      ['dr', real('198.51.100.12', 0, 'DR', 80)],
      ['v6', real('2001:db8:2::11')],
      ['FWM 7', real('198.51.100.14', 1, 'DR', 0)],
      ['FWM 7', real('198.51.100.15', 0, 'DR', 0)],
      ['FWM 8', real('192.0.2.21', 1, 'NAT', 0)],
      ['FWM 8', real('192.0.2.22', 1, 'NAT', 0)],
    ] as const)
      assert.equal(got.marks.get(markKey(s, r)), old.marks.get(markKey(s, r)), markKey(s, r));
    assert.equal(
      got.marks.get(markKey('nat', real('192.0.2.14'))),
      undefined,
      'a new server has no mark yet',
    );
    assert.equal(got.marks.get(markKey('nat', real('192.0.2.12'))), undefined, 'a gone server keeps none');
    // New ids come after every one seen, so they never meet a leftover object or flow entry.
    assert.ok(got.nextService > Math.max(...old.services.values()));
    assert.ok(got.nextMark > Math.max(...old.marks.values()));
  });

  it('gives a service whose matches point at different earlier services a new id', () => {
    const a = svc('a', '198.51.100.100', [real('192.0.2.11')]);
    const b = svc('b', '198.51.100.101', [real('192.0.2.12')]);
    const old = allocate(
      { services: new Map(), marks: new Map(), nextService: 1, nextMark: 0x100 },
      {
        services: [a, b],
      },
    );
    const k = kernelOf([a, b], old);
    const merged: ServiceSpec = { ...a, name: 'g', matches: [...a.matches, ...b.matches] };
    const got = recoverAlloc([merged], k, isDr);
    assert.equal(got.services.get('g'), undefined);
  });
});

interface Run {
  label: string;
  adopted: boolean;
  script: string[];
  flow: boolean;
  objects: string[];
  rules: string[];
}

describe('adopting with lvs_timeouts set (namespace)', { skip: !isRoot() && 'needs root' }, () => {
  it('adopts whatever the timeouts were, keeps the DR flow, and leaves exactly the policies asked for', () => {
    const [out] = outputsPerMode('adoptto', './nft-adopt-timeouts-main.ts', ['run']);
    const runs = new Map(
      (out as string)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Run)
        .map((r) => [r.label, r]),
    );
    const get = (l: string) => runs.get(l) as Run;
    assert.equal(get('first').adopted, false);
    const both = [
      'to_tcp_7200_30: established : 7200, fin_wait : 30',
      'to_udp_77: unreplied : 77, replied : 77',
    ];
    assert.deepEqual(get('first').objects, both);
    for (const l of ['same', 'changed', 'gone', 'altered']) {
      assert.equal(get(l).adopted, true, `${l}: adopted`);
      assert.equal(get(l).flow, true, `${l}: the established DR flow's entry is kept`);
    }
    // Same values: the objects stay as they are; only the (rewritten) service chains name them again.
    assert.deepEqual(get('same').objects, both);
    assert.deepEqual(
      get('same').script.filter((l) => !l.startsWith('add rule')),
      [],
      'nothing changed: no object sent, no set re-declared (the typeof-keyed traffic counter set included)',
    );
    assert.deepEqual(get('same').rules.sort(), ['to_tcp_7200_30', 'to_udp_77']);
    // Changed between runs: new objects, the service chains name them, the old ones are gone.
    assert.deepEqual(get('changed').objects, [
      'to_tcp_3600_0: established : 3600',
      'to_udp_50: unreplied : 50, replied : 50',
    ]);
    assert.deepEqual(get('changed').rules.sort(), ['to_tcp_3600_0', 'to_udp_50']);
    // Without lvs_timeouts: none left, no rule names one.
    assert.deepEqual(get('gone').objects, []);
    assert.deepEqual(get('gone').rules, []);
    // An object of the right name with other values (made by hand) is replaced, not trusted by its name.
    assert.deepEqual(get('altered').objects, ['to_udp_50: unreplied : 50, replied : 50']);
    assert.ok(get('altered').script.includes('delete ct timeout inet keepalived_ts to_udp_50'));
    assert.deepEqual(get('altered').rules, ['to_udp_50']);
  });
});
