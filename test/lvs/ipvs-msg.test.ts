import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getFamilyMessage,
  IpvsCmd,
  inetAddr,
  ipvsDest,
  ipvsMessage,
  ipvsRequests,
  ipvsService,
} from '../../src/lvs/ipvs-msg.js';
import { nat, svc as service } from './fixtures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => s.replace(/\s+/g, '');

const web = service('web', {
  matches: [{ kind: 'addr', address: '192.0.2.100', port: 80 }],
  scheduler: 'rr',
  reals: [nat('192.0.2.11', 8080)],
});
const svc = ipvsService(web, web.matches[0]!);
const hdr = { familyId: 0x25, seq: 1 };

// Reference vectors: docs/lvs.md, "IPVS generic netlink" (family id 0x25, seq 1, pid 0, no NLA_F_NESTED).
const NEW_SERVICE = unhex(`
  68000000 25000500 01000000 00000000  01010000  54000100
  06000100 02000000  06000200 06000000  14000300 c0000264 000000000000000000000000  06000400 00500000
  07000600 72720000  0c000700 00000000 ffffffff  08000800 00000000  08000900 ffffffff`);
const DEST_NEST = unhex(`
  48000200 06000b00 02000000  14000100 c000020b 000000000000000000000000  06000200 1f900000
  08000300 00000000  08000400 01000000  08000500 00000000  08000600 00000000`);

describe('IPVS generic netlink messages', () => {
  it('NEW_SERVICE for TCP 192.0.2.100:80 rr matches the reference bytes', () => {
    const m = ipvsMessage(IpvsCmd.NEW_SERVICE, hdr, { service: svc });
    assert.equal(m.length, 104);
    assert.equal(hex(m), NEW_SERVICE);
  });

  it('NEW_DEST adds the destination nest in keepalived order (176 bytes)', () => {
    const d = ipvsDest(4, web.reals[0]!);
    const m = ipvsMessage(IpvsCmd.NEW_DEST, hdr, { service: svc, dest: d });
    assert.equal(m.length, 176);
    const expected = `b0000000${NEW_SERVICE.slice(8, 32)}05${NEW_SERVICE.slice(34)}${DEST_NEST}`;
    assert.equal(hex(m), expected);
  });

  it('a fwmark service is AF + FWMARK, no protocol (IPVS serves every protocol carrying the mark): same bytes whatever protocol the spec says', () => {
    // 76 bytes: nlmsghdr, genlmsghdr, SERVICE nest { AF 2, FWMARK 7, SCHED "rr", FLAGS 0/~0, TIMEOUT 0, NETMASK ~0 }.
    const FWM_SERVICE = unhex(`
      4c000000 25000500 01000000 00000000  01010000  38000100
      06000100 02000000  08000500 07000000
      07000600 72720000  0c000700 00000000 ffffffff  08000800 00000000  08000900 ffffffff`);
    for (const protocol of ['udp', 'tcp', 'sctp'] as const) {
      const f = service('FWM 7', { protocol, matches: [{ kind: 'fwmark', fwmark: 7 }], scheduler: 'rr' });
      const m = ipvsMessage(IpvsCmd.NEW_SERVICE, hdr, { service: ipvsService(f, f.matches[0]!) });
      assert.equal(hex(m), FWM_SERVICE, protocol);
    }
  });

  it('persistence, granularity, fwmark, flags and IPv6 land in the right attributes', () => {
    const p = ipvsService(
      {
        ...web,
        scheduler: 'sh',
        flags: { hashPort: true, fallback: true, onePacket: false },
        persistence: { timeoutS: 300, prefixLen: 24 },
      },
      { kind: 'fwmark', fwmark: 42 },
    );
    const m = hex(ipvsMessage(IpvsCmd.NEW_SERVICE, hdr, { service: p }));
    assert.ok(m.includes('080005002a000000'), 'fwmark 42');
    assert.ok(m.includes('0700060073680000'), 'sched "sh"'); // len 7, "sh\0" + pad
    assert.ok(m.includes('0c000700' + '19000000' + 'ffffffff'), 'flags persistent|sched1|sched2');
    assert.ok(m.includes('08000800' + '2c010000'), 'timeout 300');
    assert.ok(m.includes('08000900' + 'ffffff00'), 'netmask 255.255.255.0 in network order');
    assert.ok(!m.includes('06000200'), 'no protocol attribute for a fwmark service');
    const v6 = ipvsService(
      { ...web, family: 6, persistence: { timeoutS: 60, prefixLen: 64 } },
      { kind: 'addr', address: '2001:db8::1', port: 443 },
    );
    const m6 = hex(ipvsMessage(IpvsCmd.NEW_SERVICE, hdr, { service: v6 }));
    assert.ok(m6.includes('060001000a000000'), 'AF_INET6');
    assert.ok(m6.includes(`14000300${'20010db8000000000000000000000001'}`));
    assert.ok(m6.includes('08000900' + '40000000'), 'v6 netmask is a prefix length');
    assert.equal(hex(inetAddr('2001:db8::1')), '20010db8000000000000000000000001');
  });

  it('nests may carry NLA_F_NESTED; timeouts are command attributes', () => {
    const m = ipvsMessage(IpvsCmd.NEW_SERVICE, { ...hdr, nestedFlag: true }, { service: svc });
    assert.equal(hex(m).slice(40, 48), '54000180');
    const t = hex(ipvsMessage(IpvsCmd.SET_CONFIG, hdr, { timeouts: { tcp: 900, tcpFin: 120, udp: 300 } }));
    assert.equal(
      t,
      `2c000000250005000100000000000000 0c010000 08000400 84030000 08000500 78000000 08000600 2c010000`.replace(
        /\s/g,
        '',
      ),
    );
    assert.equal(
      hex(getFamilyMessage(7)),
      '20000000100005000700000000000000030100000900020049505653' + '00000000',
    );
  });

  it('plans only the IPVS commands a change needs; an active sorry server replaces the pool', () => {
    const down = { ...web, reals: [{ ...web.reals[0]!, weight: 0 }] };
    assert.deepEqual(
      ipvsRequests([web], [down]).map((r) => r.cmd),
      [IpvsCmd.SET_DEST],
    );
    // quorum lost: the checker core hands over no live server but the inhibit_on_failure ones at weight 0
    const sorry = {
      ...web,
      reals: [],
      sorry: { address: '127.0.0.1', port: 80, weight: 1, method: 'NAT' as const },
      sorryActive: true,
    };
    assert.deepEqual(
      ipvsRequests([web], [sorry]).map((r) => [r.cmd, r.body.dest?.address]),
      [
        [IpvsCmd.DEL_DEST, '192.0.2.11'],
        [IpvsCmd.NEW_DEST, '127.0.0.1'],
      ],
    );
    // an inhibited server stays listed at weight 0 beside the active sorry server, as keepalived 2.2.7
    // leaves it (its quorum loss goes through the same call as a failure: EDITDEST to weight 0)
    assert.deepEqual(
      ipvsRequests([web], [{ ...sorry, reals: [{ ...web.reals[0]!, weight: 0 }] }]).map((r) => [
        r.cmd,
        r.body.dest?.address,
        r.body.dest?.weight,
      ]),
      [
        [IpvsCmd.NEW_DEST, '127.0.0.1', 1],
        [IpvsCmd.SET_DEST, '192.0.2.11', 0],
      ],
    );
    // sorry_server_inhibit: the sorry server is listed at weight 0 while the pool serves
    const inh = { ...web, sorry: { ...sorry.sorry, inhibit: true }, sorryActive: false };
    assert.deepEqual(
      ipvsRequests([web], [inh]).map((r) => [r.cmd, r.body.dest?.address, r.body.dest?.weight]),
      [[IpvsCmd.NEW_DEST, '127.0.0.1', 0]],
    );
    assert.deepEqual(
      ipvsRequests([], [web]).map((r) => r.cmd),
      [IpvsCmd.NEW_SERVICE, IpvsCmd.NEW_DEST],
    );
    assert.deepEqual(
      ipvsRequests([web], []).map((r) => r.cmd),
      [IpvsCmd.DEL_SERVICE],
    );
    assert.deepEqual(ipvsRequests([web], [web]), []);
  });
});
