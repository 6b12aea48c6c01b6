import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataplaneState } from '../../src/lvs/dataplane.js';
import { type IpvsService, ipvsService } from '../../src/lvs/ipvs-msg.js';
import { formatList, memberKey, parseConntrack } from '../../src/lvs/list.js';
import { countsFromIpvs } from '../../src/lvs/lvs-list.js';
import { allocate, emptyAlloc } from '../../src/lvs/nft-model.js';
import { NO_FLAGS, nat, svc } from './fixtures.js';

const flags = NO_FLAGS;

describe('ipvsadm -Ln listing', () => {
  it('parses conntrack entries by mark: ESTABLISHED TCP active, the rest inactive', () => {
    const text = [
      'ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.10 dst=198.51.100.100 sport=40000 dport=80 src=192.0.2.11 dst=198.51.100.10 sport=8080 dport=40000 [ASSURED] mark=256 zone=0 use=2',
      'ipv4     2 tcp      6 117 TIME_WAIT src=198.51.100.10 dst=198.51.100.100 sport=40001 dport=80 src=192.0.2.11 dst=198.51.100.10 sport=8080 dport=40001 [ASSURED] mark=256 zone=0 use=2',
      'ipv4     2 udp      17 29 src=198.51.100.10 dst=198.51.100.100 sport=5000 dport=53 src=192.0.2.12 dst=198.51.100.10 sport=53 dport=5000 mark=257 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2 src=5.6.7.8 dst=1.2.3.4 sport=2 dport=1 mark=0 use=1',
      '',
    ].join('\n');
    const parsed = parseConntrack(text);
    assert.deepEqual(
      [...parsed].map(([m, c]) => [m, c.active, c.inactive]),
      [
        [256, 1, 1],
        [257, 0, 1],
      ],
    );
    // By the address and port the client addressed (the original direction's destination).
    assert.deepEqual(
      [...(parsed.get(256)?.byMember ?? [])],
      [[memberKey({ kind: 'addr', address: '198.51.100.100', port: 80 }), { active: 1, inactive: 1 }]],
    );
  });

  it("prints ipvsadm's exact layout, sorted as ipvsadm sorts", () => {
    const state: DataplaneState = {
      services: [
        {
          name: 'mail',
          family: 4,
          protocol: 'tcp',
          matches: [{ kind: 'fwmark', fwmark: 7 }],
          scheduler: 'sh',
          flags: { ...flags, hashPort: true, fallback: true },
          reals: [{ address: '192.0.2.21', port: 25, weight: 1, method: 'DR' }],
          sorryActive: false,
        },
        {
          name: 'web',
          family: 4,
          protocol: 'tcp',
          matches: [{ kind: 'addr', address: '198.51.100.100', port: 80 }],
          scheduler: 'wlc',
          flags,
          persistence: { timeoutS: 50, prefixLen: 24 },
          reals: [
            { address: '192.0.2.12', port: 8080, weight: 0, method: 'NAT' },
            { address: '192.0.2.11', port: 8080, weight: 3, method: 'NAT' },
          ],
          sorry: { address: '127.0.0.1', port: 80, weight: 1, method: 'NAT' },
          sorryActive: false,
        },
        {
          name: 'dns6',
          family: 6,
          protocol: 'udp',
          matches: [{ kind: 'addr', address: '2001:db8::53', port: 53 }],
          scheduler: 'rr',
          flags,
          reals: [],
          sorry: { address: '::1', port: 53, weight: 1, method: 'NAT' },
          sorryActive: true,
        },
      ],
    };
    const alloc = allocate(emptyAlloc(), state);
    const mark = alloc.marks.get('web|192.0.2.11|8080') as number;
    const out = formatList(state, alloc.marks, new Map([[mark, { active: 2, inactive: 5 }]]));
    assert.equal(
      out,
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  198.51.100.100:80 wlc persistent 50 mask 255.255.255.0',
        '  -> 192.0.2.11:8080              Masq    3      2          5         ',
        '  -> 192.0.2.12:8080              Masq    0      0          0         ',
        'UDP  [2001:db8::53]:53 rr',
        '  -> [::1]:53                     Masq    1      0          0         ',
        'FWM  7 sh (sh-fallback,sh-port)',
        // a DR server of a fwmark service: IPVS's port is 0 whatever the spec carries (memberPort)
        '  -> 192.0.2.21:0                 Route   1      0          0         ',
        '',
      ].join('\n'),
    );
  });

  it('lists a virtual_server_group as ipvsadm does: one block per member, each with its own counts', () => {
    const group: DataplaneState = {
      services: [
        {
          name: 'G1',
          family: 4,
          protocol: 'tcp',
          matches: [
            { kind: 'addr', address: '198.51.100.103', port: 80 },
            { kind: 'addr', address: '198.51.100.104', port: 80 },
            { kind: 'fwmark', fwmark: 9 },
          ],
          scheduler: 'lc',
          flags,
          reals: [
            { address: '192.0.2.11', port: 80, weight: 1, method: 'NAT' },
            { address: '192.0.2.12', port: 80, weight: 1, method: 'NAT' },
          ],
          sorryActive: false,
        },
      ],
    };
    const alloc = allocate(emptyAlloc(), group);
    const m11 = alloc.marks.get('G1|192.0.2.11|80') as number;
    const m12 = alloc.marks.get('G1|192.0.2.12|80') as number;
    const entry = (state: string, dst: string, dport: number, rs: string, mark: number, sport: number) =>
      `ipv4     2 tcp      6 100 ${state} src=198.51.100.10 dst=${dst} sport=${sport} dport=${dport} src=${rs} dst=198.51.100.10 sport=80 dport=${sport} [ASSURED] mark=${mark} zone=0 use=2`;
    const text = [
      entry('ESTABLISHED', '198.51.100.103', 80, '192.0.2.11', m11, 40000),
      entry('TIME_WAIT', '198.51.100.103', 80, '192.0.2.11', m11, 40001),
      entry('ESTABLISHED', '198.51.100.104', 80, '192.0.2.12', m12, 40002),
      // Marked by fwmark 9 (here: port 8443 of another address): no address member claims it.
      entry('ESTABLISHED', '198.51.100.110', 8443, '192.0.2.11', m11, 40003),
    ].join('\n');
    const body = formatList(group, alloc.marks, parseConntrack(text)).split('\n').slice(3).join('\n');
    assert.equal(
      body,
      [
        'TCP  198.51.100.103:80 lc',
        '  -> 192.0.2.11:80                Masq    1      1          1         ',
        '  -> 192.0.2.12:80                Masq    1      0          0         ',
        'TCP  198.51.100.104:80 lc',
        '  -> 192.0.2.11:80                Masq    1      0          0         ',
        '  -> 192.0.2.12:80                Masq    1      1          0         ',
        'FWM  9 lc',
        '  -> 192.0.2.11:80                Masq    1      1          0         ',
        '  -> 192.0.2.12:80                Masq    1      0          0         ',
        '',
      ].join('\n'),
    );
  });

  it('on IPVS each member block shows its own IPVS service counters (countsFromIpvs)', () => {
    const g = svc('G1', {
      matches: [
        { kind: 'addr', address: '198.51.100.103', port: 80 },
        { kind: 'fwmark', fwmark: 9 },
      ],
      scheduler: 'lc',
      reals: [nat('192.0.2.11', 80)],
    });
    const dest = (active: number, inactive: number) => ({
      af: 4 as const,
      address: '192.0.2.11',
      port: 80,
      method: 'NAT' as const,
      weight: 1,
      uThreshold: 0,
      lThreshold: 0,
      activeConns: active,
      inactConns: inactive,
      persistConns: 0,
    });
    const [addr, fwm] = g.matches.map((m) => ipvsService(g, m)) as [IpvsService, IpvsService];
    const { marks, counts } = countsFromIpvs({ services: [g] }, [
      { svc: addr, dests: [dest(3, 1)] },
      { svc: fwm, dests: [dest(0, 2)] },
    ]);
    const body = formatList({ services: [g] }, marks, counts)
      .split('\n')
      .slice(3)
      .join('\n');
    assert.equal(
      body,
      [
        'TCP  198.51.100.103:80 lc',
        '  -> 192.0.2.11:80                Masq    1      3          1         ',
        'FWM  9 lc',
        '  -> 192.0.2.11:80                Masq    1      0          2         ',
        '',
      ].join('\n'),
    );
  });
});
