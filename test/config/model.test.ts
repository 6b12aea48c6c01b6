// The typed model the parser builds from small configurations, and the defaults validation applies.
// Expected values follow keepalived.conf(5) and keepalived 2.2.7's behaviour
// (test/data/config-cases/SURVEY.md); where validation changes a value it must also say so (a diagnostic with
// a stable code).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostics } from '../../src/config/diagnostics.js';
import { loadConfig } from '../../src/config/load.js';
import type { KeepalivedConfig, VirtualServer } from '../../src/config/model.js';
import { validateConfig } from '../../src/config/validate.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kats-model-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Parsed {
  config: KeepalivedConfig;
  diag: Diagnostics;
  codes: string[];
}

function parse(text: string, validate = true): Parsed {
  const file = join(dir, `c${n++}.conf`);
  writeFileSync(file, text);
  const { config, diag } = loadConfig(file, { configId: 'test', env: {} });
  if (validate) validateConfig(config, diag, { host: null });
  return { config, diag, codes: diag.list.map((d) => d.code) };
}

/** The model without source positions, for comparing two spellings of the same configuration. */
function withoutPositions(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === 'pos' || k.endsWith('Pos') ? undefined : x)));
}

const instance = (body: string, name = 'VI_1') =>
  `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id 51\n${body}\n}\n`;

describe('vrrp_instance', () => {
  test('virtual_ipaddress options', () => {
    const { config, codes } = parse(
      instance(`  virtual_ipaddress {
    192.0.2.100/24 brd 192.0.2.255 dev eth1 scope link label eth1:vip -nodad no_track
    192.0.2.101
    192.0.2.102/32 scope 200 broadcast + dev eth2
  }`),
    );
    assert.deepEqual(codes, []);
    const [a, b, c] = config.vrrpInstances[0]!.virtualIpaddresses;
    assert.deepEqual(withoutPositions(a), {
      address: '192.0.2.100',
      family: 4,
      prefixLength: 24,
      broadcast: '192.0.2.255',
      dev: 'eth1',
      scope: 'link',
      label: 'eth1:vip',
      noDad: true,
      noTrack: true,
      useVmac: false,
      flags: [],
    });
    assert.equal(b!.prefixLength, 32);
    assert.equal(b!.noDad, false);
    assert.equal(b!.noTrack, false);
    assert.equal(b!.dev, undefined);
    assert.equal(c!.scope, '200');
    assert.equal(c!.broadcast, '+');
    assert.equal(c!.dev, 'eth2');
  });

  test('bad VIP options are errors at their line; the address itself is kept or dropped as keepalived does', () => {
    const { config, diag } = parse(
      instance(`  virtual_ipaddress {
    192.0.2.1 scope galaxy
    192.0.2.2 frobnicate
    192.0.2.300
  }`),
    );
    assert.deepEqual(
      diag.list.map((d) => `${d.code}@${d.pos?.line}`),
      ['CONFIG_INVALID_VALUE@5', 'CONFIG_UNKNOWN_KEYWORD@6', 'CONFIG_INVALID_ADDRESS@7'],
    );
    assert.deepEqual(
      config.vrrpInstances[0]!.virtualIpaddresses.map((v) => v.address),
      ['192.0.2.1', '192.0.2.2'],
    );
  });

  test('an IPv6 VIP is canonicalised and forces VRRP version 3', () => {
    const { config, codes } = parse(
      `global_defs {\n  vrrp_version 2\n}\n${instance('  virtual_ipaddress {\n    2001:DB8:0:0::10/64\n  }')}`,
    );
    assert.ok(!codes.includes('CONFIG_ADVERT_INT'));
    const i = config.vrrpInstances[0]!;
    assert.equal(i.family, 6);
    assert.equal(i.version, 3);
    assert.deepEqual(
      i.virtualIpaddresses.map((v) => [v.address, v.prefixLength]),
      [['2001:db8::10', 64]],
    );
  });

  test('a VIP of the other family is refused', () => {
    const { config, codes } = parse(instance('  virtual_ipaddress {\n    192.0.2.1\n    2001:db8::1\n  }'));
    assert.ok(codes.includes('CONFIG_VIP_FAMILY'));
    assert.equal(config.vrrpInstances[0]!.virtualIpaddresses.length, 1);
  });

  test('unicast peers with min_ttl / max_ttl', () => {
    const { config, diag } = parse(
      instance(`  unicast_src_ip 192.0.2.10
  unicast_peer {
    192.0.2.11 min_ttl 10 max_ttl 64
    192.0.2.12
    192.0.2.13 max_ttl 1
    192.0.2.14 min_ttl 300
  }
  virtual_ipaddress {
    192.0.2.100
  }`),
    );
    const i = config.vrrpInstances[0]!;
    assert.equal(i.unicastSrcIp, '192.0.2.10');
    assert.deepEqual(withoutPositions(i.unicastPeers.slice(0, 3)), [
      { address: '192.0.2.11', minTtl: 10, maxTtl: 64 },
      { address: '192.0.2.12' },
      { address: '192.0.2.13', maxTtl: 1 },
    ]);
    // A TTL outside 0..255 is keepalived's number error at its line; the peer is kept all the same.
    assert.deepEqual(
      diag.list.filter((d) => d.pos).map((d) => `${d.code}@${d.pos!.line}`),
      ['CONFIG_INVALID_NUMBER@9'],
    );
    assert.deepEqual(withoutPositions(i.unicastPeers[3]), { address: '192.0.2.14' });
  });

  test('a unicast peer of the other family is refused', () => {
    const { config, codes } = parse(
      instance('  unicast_src_ip 192.0.2.10\n  unicast_peer {\n    2001:db8::2\n  }'),
    );
    assert.ok(codes.includes('CONFIG_PEER_FAMILY'));
    assert.deepEqual(config.vrrpInstances[0]!.unicastPeers, []);
  });

  test('track_script: weights, reverse, and scripts that must be defined first', () => {
    const { config, diag } = parse(`vrrp_script chk_a {
  script "/bin/true"
  weight -20 reverse
}
vrrp_script chk_b {
  script "/bin/true"
}
${instance(`  track_script {
    chk_a weight 30 reverse
    chk_b
    chk_later
    chk_b weight 5
  }
  virtual_ipaddress {
    192.0.2.1
  }`)}vrrp_script chk_later {
  script "/bin/true"
}
`);
    assert.deepEqual(withoutPositions(config.vrrpScripts[0]), {
      name: 'chk_a',
      script: { argv: ['/bin/true'] },
      intervalUs: 1_000_000,
      weight: -20,
      reverse: true,
      rise: 1,
      fall: 1,
      initFail: false,
    });
    const refs = config.vrrpInstances[0]!.trackScripts;
    assert.deepEqual(withoutPositions(refs), [
      { name: 'chk_a', weight: 30, reverse: true },
      // Without a weight the entry takes the script's own weight and reverse, as keepalived does.
      { name: 'chk_b', reverse: false, weight: 0 },
    ]);
    assert.deepEqual(
      diag.list.filter((d) => d.pos).map((d) => `${d.code}@${d.pos!.line}`),
      ['CONFIG_TRACK_NOT_FOUND@14', 'CONFIG_DUPLICATE_TRACK@15'],
    );
  });

  const trackWeight = (w: string) =>
    parse(
      `vrrp_script s {\n  script "/bin/true"\n}\n${instance(`  track_script {\n    s weight ${w}\n  }`)}`,
    );

  test('a track_script weight past ±254 (or not a number) keeps the entry with the script weight, with an error', () => {
    for (const w of ['255', '-300', 'x']) {
      const { config, diag } = trackWeight(w);
      assert.ok(
        diag.list.some((d) => d.code === 'CONFIG_INVALID_VALUE' && d.pos?.line === 8),
        w,
      );
      assert.deepEqual(withoutPositions(config.vrrpInstances[0]!.trackScripts), [
        { name: 's', reverse: false, weight: 0 },
      ]);
    }
  });

  test('a track_script weight of ±254 is clamped to ±253 with an error (keepalived 2.2.7)', {}, () => {
    for (const [w, clamped] of [
      ['254', 253],
      ['-254', -253],
    ] as const) {
      const { config, diag } = trackWeight(w);
      assert.ok(
        diag.list.some((d) => d.pos?.line === 8),
        w,
      );
      assert.deepEqual(
        config.vrrpInstances[0]!.trackScripts.map((t) => t.weight),
        [clamped],
        w,
      );
    }
  });

  test('priority defaults: 255 for an initial MASTER, 100 otherwise', () => {
    const { config } = parse(
      instance('  state MASTER\n  virtual_ipaddress {\n    192.0.2.1\n  }', 'A') +
        instance('  state BACKUP\n  interface eth1\n  virtual_ipaddress {\n    192.0.2.2\n  }', 'B'),
    );
    assert.deepEqual(
      config.vrrpInstances.map((i) => [i.name, i.priority]),
      [
        ['A', 255],
        ['B', 100],
      ],
    );
  });
});

describe('advertisement interval validation', () => {
  const advert = (adv: string, version: 2 | 3) =>
    parse(instance(`  version ${version}\n  advert_int ${adv}\n  virtual_ipaddress {\n    192.0.2.1\n  }`));

  const cases: [string, 2 | 3, number, boolean][] = [
    // [advert_int, version, resulting µs, whether validation complains]
    ['1', 2, 1_000_000, false],
    ['3', 2, 3_000_000, false],
    ['1.5', 2, 2_000_000, true],
    ['2.4', 2, 2_000_000, true],
    ['0.3', 2, 1_000_000, true],
    ['0.5', 3, 500_000, false],
    ['0.01', 3, 10_000, false],
    ['0.015', 3, 20_000, true],
    ['40.95', 3, 40_950_000, false],
    ['41', 3, 40_950_000, true],
    ['255', 3, 40_950_000, true],
  ];
  for (const [adv, version, us, complains] of cases)
    test(`v${version} advert_int ${adv} → ${us} µs${complains ? ' with an error' : ''}`, () => {
      const { config, codes } = advert(adv, version);
      const i = config.vrrpInstances[0]!;
      assert.equal(i.version, version);
      assert.equal(i.advertIntervalUs, us);
      assert.equal(codes.includes('CONFIG_ADVERT_INT'), complains, codes.join(' '));
    });

  test('advert_int out of the keyword range is refused at parse time', () => {
    const { config, diag } = advert('256', 2);
    assert.ok(diag.list.some((d) => d.code === 'CONFIG_INVALID_VALUE' && d.pos?.line === 5));
    assert.equal(config.vrrpInstances[0]!.advertIntervalUs, 1_000_000);
  });
});

describe('virtual_server', () => {
  const vs = (body: string) =>
    `virtual_server 192.0.2.200 80 {\n${body}\n  real_server 192.0.2.1 80 {\n    TCP_CHECK {\n      connect_port 8080\n    }\n  }\n}\n`;

  // What keepalived 2.2.7 does with the old names (checked with `keepalived -t`): lb_algo and lb_kind
  // are silent aliases; nb_get_retry is accepted only in HTTP_GET/SSL_GET, with a deprecation warning,
  // and is an unknown keyword on a virtual server or in TCP_CHECK.
  test('lb_algo == lvs_sched, lb_kind == lvs_method', () => {
    const old = parse(vs('  lb_algo rr\n  lb_kind DR\n  retry 3\n  protocol TCP'));
    const cur = parse(vs('  lvs_sched rr\n  lvs_method DR\n  retry 3\n  protocol TCP'));
    assert.deepEqual(old.codes, []);
    assert.deepEqual(cur.codes, []);
    assert.deepEqual(
      withoutPositions(old.config.virtualServers),
      withoutPositions(cur.config.virtualServers),
    );
    const v = cur.config.virtualServers[0]!;
    assert.equal(v.lbAlgo, 'rr');
    assert.equal(v.lbKind, 'DR');
    assert.equal(v.retry, 3);
    assert.deepEqual(v.key, { kind: 'address', address: '192.0.2.200', family: 4, port: 80 });
  });

  test('the methods NAT, DR and TUN', () => {
    for (const m of ['NAT', 'DR', 'TUN']) {
      const { config, codes } = parse(vs(`  lb_algo rr\n  lb_kind ${m}\n  protocol TCP`));
      assert.deepEqual(codes, [], m);
      assert.equal(config.virtualServers[0]!.lbKind, m);
    }
  });

  test('other method names are errors and the default NAT applies (keepalived 2.2.7)', {}, () => {
    for (const m of ['MASQ', 'GATEWAY', 'IPIP', 'dr', 'nat']) {
      const { config, diag } = parse(vs(`  lb_algo rr\n  lb_kind ${m}\n  protocol TCP`));
      assert.ok(
        diag.list.some((d) => d.pos?.line === 3),
        `${m}: an error at the lb_kind line`,
      );
      assert.equal(config.virtualServers[0]!.lbKind, 'NAT', m);
      assert.equal(diag.exitCode(), 5, m);
    }
  });

  test('nb_get_retry in HTTP_GET is retry with a deprecation warning (keepalived 2.2.7)', {}, () => {
    const http = (kw: string) =>
      parse(
        `virtual_server 192.0.2.200 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 192.0.2.1 80 {\n    HTTP_GET {\n      url {\n        path /\n      }\n      ${kw} 2\n    }\n  }\n}\n`,
      );
    const old = http('nb_get_retry');
    const cur = http('retry');
    assert.equal(old.config.virtualServers[0]!.realServers[0]!.checkers[0]!.retry, 2);
    assert.deepEqual(withoutPositions(old.config), withoutPositions(cur.config));
    assert.deepEqual(cur.codes, []);
    assert.ok(old.diag.list.some((d) => d.severity === 'warning' && d.pos?.line === 10));
  });

  test('nb_get_retry on a virtual server or in TCP_CHECK is an unknown keyword (keepalived 2.2.7)', {}, () => {
    const onVs = parse(vs('  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  nb_get_retry 3'));
    assert.deepEqual(
      onVs.diag.list.map((d) => `${d.code}@${d.pos?.line}`),
      ['CONFIG_UNKNOWN_KEYWORD@5'],
    );
    const inTcp = parse(
      'virtual_server 192.0.2.200 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  real_server 192.0.2.1 80 {\n    TCP_CHECK {\n      nb_get_retry 3\n    }\n  }\n}\n',
    );
    assert.deepEqual(
      inTcp.diag.list.map((d) => `${d.code}@${d.pos?.line}`),
      ['CONFIG_UNKNOWN_KEYWORD@7'],
    );
  });

  test('defaults applied by validation, each with an error: protocol UDP, scheduler wlc, method NAT', () => {
    const { config, diag, codes } = parse(vs(''));
    const v = config.virtualServers[0]!;
    assert.equal(v.protocol, 'UDP');
    assert.equal(v.lbAlgo, 'wlc');
    assert.equal(v.lbKind, 'NAT');
    assert.deepEqual(codes.sort(), ['CONFIG_VS_METHOD', 'CONFIG_VS_PROTOCOL', 'CONFIG_VS_SCHEDULER']);
    assert.equal(diag.exitCode(), 5);
  });

  test('nothing is defaulted before validation', () => {
    const v = parse(vs(''), false).config.virtualServers[0]!;
    assert.equal(v.protocol, undefined);
    assert.equal(v.lbAlgo, undefined);
    assert.equal(v.lbKind, undefined);
  });

  test('checkers: HTTP_GET url/status_code/digest, TCP_CHECK, MISC_CHECK argv, DNS, SMTP, UDP', () => {
    const { config, codes } = parse(`virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 80 {
    weight 2
    HTTP_GET {
      url {
        path /health
        status_code 200 301-302
        digest 0123456789ABCDEF0123456789abcdef
      }
      connect_timeout 3
      retry 2
    }
    TCP_CHECK {
      connect_port 8080
      connect_ip 192.0.2.50
    }
    MISC_CHECK {
      misc_path "/usr/bin/check 'a b' c"
      misc_timeout 5
    }
    DNS_CHECK {
      type aaaa
      name example.org
    }
    SMTP_CHECK {
      helo_name mx.example
      host {
        connect_ip 192.0.2.9
        connect_port 25
      }
    }
    UDP_CHECK {
      connect_port 53
      payload 0a0B
      require_reply 0102
      min_reply_length 2
      max_reply_length 100
    }
  }
}
`);
    assert.deepEqual(codes, []);
    const rs = config.virtualServers[0]!.realServers[0]!;
    assert.equal(rs.weight, 2);
    assert.deepEqual(
      rs.checkers.map((c) => c.kind),
      ['HTTP_GET', 'TCP_CHECK', 'MISC_CHECK', 'DNS_CHECK', 'SMTP_CHECK', 'UDP_CHECK'],
    );
    const [http, tcp, misc, dns, smtp, udp] = rs.checkers;
    assert.deepEqual(withoutPositions(http!.urls), [
      {
        path: '/health',
        statusCodes: [
          { from: 200, to: 200 },
          { from: 301, to: 302 },
        ],
        digest: '0123456789abcdef0123456789abcdef',
        regexNoMatch: false,
      },
    ]);
    assert.equal(http!.connectTimeoutUs, 3_000_000);
    assert.equal(http!.retry, 2);
    assert.equal(tcp!.connectPort, 8080);
    assert.equal(tcp!.connectIp, '192.0.2.50');
    assert.deepEqual(misc!.miscPath?.argv, ['/usr/bin/check', 'a b', 'c']);
    assert.equal(misc!.miscTimeoutUs, 5_000_000);
    assert.equal(dns!.dnsType, 'AAAA');
    assert.equal(dns!.dnsName, 'example.org');
    assert.equal(smtp!.heloName, 'mx.example');
    assert.equal(smtp!.connectIp, '192.0.2.9');
    assert.equal(smtp!.connectPort, 25);
    assert.equal(udp!.connectPort, 53);
    assert.equal(udp!.payloadHex, '0a0b');
    assert.equal(udp!.requireReply, true);
    assert.equal(udp!.requireReplyHex, '0102');
    assert.equal(udp!.minReplyLength, 2);
    assert.equal(udp!.maxReplyLength, 100);
  });

  test('incomplete checkers are dropped at their closing brace', () => {
    const { config, diag } = parse(`virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 80 {
    HTTP_GET {
      connect_timeout 3
    }
    MISC_CHECK {
      misc_timeout 5
    }
  }
}
`);
    assert.deepEqual(config.virtualServers[0]!.realServers[0]!.checkers, []);
    assert.deepEqual(
      diag.list.map((d) => `${d.code}@${d.pos?.line}`),
      ['CONFIG_NO_URL@8', 'CONFIG_NO_MISC_PATH@11'],
    );
  });

  test('bad checker values are errors at their line', () => {
    const { diag } = parse(`virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 80 {
    HTTP_GET {
      url {
        path /
        status_code 99 200-100 abc
        digest nothex
      }
    }
    TCP_CHECK {
      connect_port 70000
    }
    UDP_CHECK {
      payload 0g
    }
  }
}
`);
    assert.deepEqual(
      diag.list.map((d) => `${d.code}@${d.pos?.line}`),
      [
        'CONFIG_INVALID_VALUE@9',
        'CONFIG_INVALID_VALUE@9',
        'CONFIG_INVALID_VALUE@9',
        'CONFIG_INVALID_VALUE@10',
        'CONFIG_INVALID_VALUE@14',
        'CONFIG_INVALID_VALUE@17',
      ],
    );
  });

  test('a real server of the other family is dropped, and a virtual server left without one too', () => {
    const { config, codes } = parse(
      'virtual_server 192.0.2.200 80 {\n  protocol TCP\n  real_server 2001:db8::1 80 {\n  }\n  real_server 192.0.2.1 80 {\n  }\n}\n' +
        'virtual_server 192.0.2.201 80 {\n  protocol TCP\n  real_server 2001:db8::1 80 {\n  }\n}\n',
    );
    assert.ok(codes.includes('CONFIG_RS_FAMILY'));
    // keepalived 2.2.7: "Virtual server [192.0.2.201]:tcp:80 has no real servers - ignoring".
    assert.ok(codes.includes('CONFIG_VS_NO_REAL'));
    assert.equal(config.virtualServers.length, 1);
    assert.deepEqual(
      config.virtualServers[0]!.realServers.map((r) => r.address),
      ['192.0.2.1'],
    );
  });

  test('virtual_server_group ranges and fwmark, used by a group virtual server', () => {
    // Parsed only: keepalived 2.2.7's validation removes a group that mixes IPv4, IPv6 and an fwmark
    // without a family (see the next test).
    const { config, diag } = parse(
      `virtual_server_group G1 {
  192.0.2.1-10 80
  2001:db8::1-ff 443
  198.51.100.5
  fwmark 7 inet6
  fwmark 8 inet
  192.0.2.20-10 80
  192.0.2.1-256 80
}
virtual_server group G1 {
  lb_algo rr
  lb_kind DR
}
virtual_server fwmark 5 {
  lb_algo wlc
  lb_kind NAT
}
`,
      false,
    );
    const g = config.virtualServerGroups[0]!;
    assert.equal(g.name, 'G1');
    assert.deepEqual(withoutPositions(g.entries), [
      { kind: 'range', first: '192.0.2.1', last: '192.0.2.10', family: 4, port: 80 },
      { kind: 'range', first: '2001:db8::1', last: '2001:db8::ff', family: 6, port: 443 },
      { kind: 'range', first: '198.51.100.5', last: '198.51.100.5', family: 4 },
      { kind: 'fwmark', fwmark: 7, family: 6 },
      { kind: 'fwmark', fwmark: 8, family: 4 },
    ]);
    assert.deepEqual(
      diag.list.map((d) => `${d.code}@${d.pos?.line}`),
      ['CONFIG_INVALID_ADDRESS@7', 'CONFIG_INVALID_ADDRESS@8'],
    );
    const keys = config.virtualServers.map((v: VirtualServer) => v.key);
    assert.deepEqual(keys, [
      { kind: 'group', group: 'G1' },
      { kind: 'fwmark', fwmark: 5 },
    ]);
  });

  test('an IPv6 group range whose first address ends in ::', {}, () => {
    const { config, codes } = parse('virtual_server_group G {\n  2001:db8::-ff 80\n}\n');
    assert.deepEqual(codes, []);
    const e = config.virtualServerGroups[0]!.entries[0]!;
    assert.equal(e.first, '2001:db8::');
    assert.equal(e.last, '2001:db8::ff');
  });

  test('a group mixing IPv4, IPv6 and an fwmark without a family is removed (keepalived 2.2.7)', {}, () => {
    const { config, diag } = parse(
      'virtual_server_group G1 {\n  192.0.2.1 80\n  2001:db8::1 80\n  fwmark 8\n}\n',
    );
    assert.ok(diag.list.some((d) => d.pos?.line === 5));
    assert.deepEqual(config.virtualServerGroups, []);
  });

  test('a group mixing IPv4 and IPv6 ranges alone is fine', () => {
    const { config, codes } = parse(
      'virtual_server_group G1 {\n  192.0.2.1-10 80\n  2001:db8::1-ff 443\n}\n',
    );
    assert.deepEqual(codes, []);
    assert.equal(config.virtualServerGroups[0]!.entries.length, 2);
  });

  test("a group virtual server whose family is not its group's is ignored, as keepalived 2.2.7", () => {
    const rs = (a: string) => `  real_server ${a} 80 {\n  }\n`;
    const vs = (g: string, body: string) =>
      `virtual_server group ${g} {\n  lb_algo rr\n  lb_kind NAT\n${body}}\n`;
    const { config, diag } = parse(
      'virtual_server_group G6 {\n  2001:db8::100 80\n}\n' +
        'virtual_server_group GM {\n  192.0.2.100 80\n  2001:db8::100 80\n}\n' +
        'virtual_server_group GF {\n  fwmark 3 inet6\n}\n' +
        vs('G6', rs('192.0.2.1')) +
        vs('GM', rs('192.0.2.1')) +
        vs('GF', '  ip_family inet\n' + rs('192.0.2.1')) +
        vs('G6', rs('2001:db8::1')) +
        vs('GM', '') +
        vs('NONE', rs('192.0.2.1')),
    );
    // keepalived only logs these: notes (no exit-code effect), in its words; then its later checks (the
    // G6 group has an address entry and no protocol: UDP, with keepalived's error).
    assert.deepEqual(
      diag.list.filter((d) => d.severity !== 'info').map((d) => d.code),
      ['CONFIG_VS_NO_REAL', 'CONFIG_VS_PROTOCOL'],
    );
    assert.deepEqual(
      diag.list.filter((d) => d.severity === 'info').map((d) => d.message),
      [
        "G6: address family doesn't match virtual server [G6]:0 - ignoring",
        "GM: virtual server group with IPv4 & IPv6 doesn't match virtual server [GM]:0 - ignoring",
        "GF: address family doesn't match virtual server [GF]:0 - ignoring",
        'Virtual server group NONE specified but not configured - ignoring virtual server [NONE]:0',
      ],
    );
    // The matching IPv6 one stays; a mixed group with no family settled stays too (keepalived lets an
    // all-tunnelled one through), but has no real servers here and goes with keepalived's later check.
    assert.deepEqual(
      config.virtualServers.map((v) => [v.key, v.ipFamily]),
      [[{ kind: 'group', group: 'G6' }, 6]],
    );
  });

  test('a group of fwmarks without a family: "address family cannot be determined", as keepalived 2.2.7 logs', () => {
    const { config, diag } = parse(
      'virtual_server_group GF {\n  fwmark 3\n  fwmark 4\n}\n' +
        'virtual_server_group G4 {\n  fwmark 5 inet\n}\n' +
        'virtual_server group GF {\n  lb_kind TUN\n  real_server 192.0.2.1 80 {\n  }\n}\n' +
        'virtual_server group G4 {\n  lb_kind TUN\n  real_server 192.0.2.1 80 {\n  }\n}\n',
    );
    assert.deepEqual(
      diag.list
        .filter((d) => d.code === 'CONFIG_VSG_FAMILY')
        .map((d) => [d.severity, d.message, d.pos?.line]),
      [['info', 'GF: Virtual server [GF]:0 address family cannot be determined, defaulting to IPv4', 8]],
    );
    assert.equal(config.virtualServers.length, 2);
  });

  test('persistence_granularity not fitting the family is refused at its line, as keepalived 2.2.7', () => {
    const vs = (key: string, lines: string) =>
      `virtual_server ${key} {\n  lb_algo rr\n  lb_kind NAT\n${lines}}\n`;
    const { config, diag } = parse(
      vs(
        '2001:db8::100 80',
        '  protocol TCP\n  persistence_granularity 255.255.255.0\n  real_server 2001:db8::1 80 {\n  }\n',
      ) +
        vs('fwmark 7', '  real_server 2001:db8::1 80 {\n  }\n  persistence_granularity 255.255.0.0\n') +
        vs(
          '192.0.2.100 80',
          '  protocol TCP\n  persistence_granularity 0x18\n  real_server 192.0.2.1 80 {\n  }\n',
        ) +
        vs('fwmark 8', '  persistence_granularity 64\n  real_server 2001:db8::2 80 {\n  }\n'),
    );
    assert.deepEqual(
      diag.list.map((d) => `${d.pos?.line}: ${d.message}`),
      [
        "5: invalid number '255.255.255.0'",
        '5: Invalid IPv6 persistence_granularity specified - 255.255.255.0',
        "14: invalid number '255.255.0.0'",
        '14: Invalid IPv6 persistence_granularity specified - 255.255.0.0',
      ],
    );
    // Refused: no granularity and no persistence. Accepted: the C library's numeric IPv4 form, in dotted
    // quads; a valid one settles the family and makes the service persistent (360 s), as keepalived does.
    assert.deepEqual(
      config.virtualServers.map((v) => [v.persistenceGranularity, v.persistenceTimeoutS, v.ipFamily]),
      [
        [undefined, undefined, undefined],
        [undefined, undefined, 6],
        ['0.0.0.24', 360, undefined],
        ['64', 360, 6],
      ],
    );
  });

  test('a real_server line without its brace opens that server; the next real_server line is inside it (keepalived 2.2.7)', () => {
    const { config, diag } = parse(
      'virtual_server 192.0.2.100 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n' +
        '  real_server 192.0.2.11 80\n  real_server 192.0.2.12 80 {\n    weight 2\n  }\n}\n',
    );
    assert.deepEqual(
      diag.list.map((d) => `${d.pos?.line}: ${d.message}`),
      [
        "6: Missing '{' at beginning of configuration block",
        "6: Unknown keyword 'real_server'",
        "6: Unexpected '{' - ignoring",
      ],
    );
    assert.deepEqual(
      config.virtualServers[0]!.realServers.map((r) => [r.address, r.port, r.weight]),
      [['192.0.2.11', 80, 2]],
    );
  });

  test('a protocol on a fwmark service is ignored with a warning', () => {
    const { codes } = parse(
      'virtual_server fwmark 5 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  real_server 192.0.2.1 {\n  }\n}\n',
    );
    // keepalived's warning, then our note locating the ignored keyword.
    assert.deepEqual(codes, ['CONFIG_VS_PROTOCOL', 'CONFIG_VS_PROTOCOL_IGNORED']);
  });
});

test('vrrp process keywords: nice, a clamped real-time priority, RLIMIT_RTTIME, no_swap, CPU ids', () => {
  const { config, codes } = parse(
    'global_defs {\n vrrp_priority -4\n vrrp_rt_priority 120\n vrrp_rlimit_rttime 30000\n vrrp_no_swap\n vrrp_cpu_affinity 0 0\n}\n',
    false,
  );
  assert.deepEqual(config.globalDefs.vrrpProcess, {
    nice: -4,
    rtPriority: 99,
    rlimitRttimeUs: 30000,
    noSwap: true,
    cpuAffinity: [0],
  });
  assert.deepEqual(codes, ['CONFIG_VALUE_CLAMPED']);
  assert.deepEqual(parse('global_defs {\n}\n', false).config.globalDefs.vrrpProcess, { noSwap: false });
});

test('checker process keywords: the same five, in their own model field', () => {
  const { config, codes } = parse(
    'global_defs {\n checker_priority 19\n checker_rt_priority 0\n checker_rlimit_rtime 40000\n checker_no_swap\n checker_cpu_affinity 0\n vrrp_priority -2\n}\n',
    false,
  );
  assert.deepEqual(config.globalDefs.checkerProcess, {
    nice: 19,
    rtPriority: 1,
    rlimitRttimeUs: 40000,
    noSwap: true,
    cpuAffinity: [0],
  });
  assert.deepEqual(config.globalDefs.vrrpProcess, { nice: -2, noSwap: false });
  assert.deepEqual(codes, ['CONFIG_VALUE_CLAMPED']);
  assert.equal(config.globalDefs.other.checker_priority, undefined, 'no longer carried');
});

test('real servers and checkers that carry nothing share one frozen `other`; arrays at their exact size', () => {
  const { config } = parse(
    'virtual_server 192.0.2.1 80 {\n  real_server 192.0.2.2 80 {\n    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n    }\n  }\n  real_server 192.0.2.3 80 {\n    TCP_CHECK {\n    }\n  }\n  real_server 192.0.2.4 80 {\n    snmp_name x\n    HTTP_GET {\n      tls_compliant\n      url {\n        path /\n      }\n    }\n  }\n}\n',
    false,
  );
  const [a, b, c] = config.virtualServers[0]!.realServers;
  assert.equal(a!.other, b!.other, 'shared');
  assert.equal(a!.checkers[0]!.other, b!.checkers[0]!.other, 'shared');
  assert.ok(Object.isFrozen(a!.other));
  assert.deepEqual(a!.other, {});
  // A block that carries a keyword has its own.
  assert.deepEqual(c!.other, { snmp_name: ['x'] });
  // tls_compliant is a typed field, not carried: that checker keeps the shared one.
  assert.equal(c!.checkers[0]!.tlsCompliant, true);
  assert.equal(c!.checkers[0]!.other, a!.checkers[0]!.other);
  assert.deepEqual(a!.other, {}, 'the shared one untouched');
  assert.deepEqual(a!.checkers[0]!.urls[0]!.statusCodes, [{ from: 200, to: 200 }]);
});

describe('blog-style configurations mean what keepalived 2.2.7 makes of them (issue 13)', () => {
  const vip = '  virtual_ipaddress {\n    192.0.2.1\n  }';
  // keepalived's VRRP process names the file (it reads a copy that does): `(FILE: Line N)`.
  const messages = (p: Parsed) =>
    p.diag.list.map((d) => p.diag.format(d).replace(/^\(\/[^:]*: Line /, '(FILE: Line '));

  test('an invalid priority is 100 with "Priority not valid!", even on a MASTER', () => {
    for (const v of ['0', '256', '300', 'abc', '-5', '1.5']) {
      const p = parse(instance(`  state MASTER\n  priority ${v}\n${vip}`));
      assert.equal(p.config.vrrpInstances[0]!.priority, 100, v);
      assert.ok(
        messages(p).includes(
          '(FILE: Line 5) (VI_1) Priority not valid! must be between 1 & 255. Using default 100',
        ),
        `${v}: ${messages(p).join(' | ')}`,
      );
    }
  });

  test('flags ignore trailing words; boolean-reading flags still check theirs', () => {
    const p = parse(
      instance(`  nopreempt // 非抢占\n  strict_mode // x\n  skip_check_adv_addr no\n${vip}`),
      false,
    );
    const i = p.config.vrrpInstances[0]!;
    assert.equal(i.nopreempt, true);
    assert.equal(i.strictMode, undefined);
    assert.deepEqual(p.codes, ['CONFIG_INVALID_VALUE']);
  });

  test("a vrrp_script's script ignores the words after the command", () => {
    const p = parse('vrrp_script chk {\n  script "/bin/echo a b" // 检测脚本\n}\n', false);
    assert.deepEqual(p.config.vrrpScripts[0]!.script?.argv, ['/bin/echo', 'a', 'b']);
    assert.equal(p.config.vrrpScripts[0]!.user, undefined);
    assert.deepEqual(p.codes, []);
  });

  test("a track_script entry with a stray word is dropped with keepalived's warning", () => {
    const p = parse(
      `vrrp_script chk {\n  script "/bin/true"\n}\n${instance(`  track_script {\n    chk // 注释\n  }\n${vip}`)}`,
      false,
    );
    assert.deepEqual(p.config.vrrpInstances[0]!.trackScripts, []);
    assert.ok(messages(p).includes('(FILE: Line 8) (VI_1) unknown track script option // - ignoring'));
  });

  test('vrrp_strict keeps unicast peers', () => {
    const p = parse(
      `global_defs {\n  vrrp_strict\n}\n${instance(`  unicast_peer {\n    192.0.2.2\n  }\n${vip}`)}`,
    );
    assert.deepEqual(
      p.config.vrrpInstances[0]!.unicastPeers.map((x) => x.address),
      ['192.0.2.2'],
    );
  });

  test("a VIP with /33 is kept as /32, with keepalived's message", () => {
    const p = parse(instance('  virtual_ipaddress {\n    192.0.2.101/33\n  }'));
    const v = p.config.vrrpInstances[0]!.virtualIpaddresses;
    assert.deepEqual(
      v.map((x) => `${x.address}/${x.prefixLength}`),
      ['192.0.2.101/32'],
    );
    assert.ok(
      messages(p).includes(
        '(FILE: Line 5) Invalid address prefix len 33 for address 192.0.2.101/33 - using 32',
      ),
    );
  });

  test("a missing } is reported with keepalived's words", () => {
    const p = parse(instance(vip).replace(/}\n$/, ''), false);
    assert.ok(messages(p).includes("There are 1 missing '}'s or extra '{'s"), messages(p).join(' | '));
  });
});

describe('vrrp_script interval and timeout (whole seconds in keepalived 2.2.7)', () => {
  const script = (body: string) => parse(`vrrp_script chk {\n  script "/bin/true"\n${body}\n}\n`, false);
  test("whole seconds; 0 becomes 1 with keepalived's message", () => {
    const p = script('  interval 3\n  timeout 0');
    assert.equal(p.config.vrrpScripts[0]!.intervalUs, 3_000_000);
    assert.equal(p.config.vrrpScripts[0]!.timeoutUs, 1_000_000);
    assert.deepEqual(p.codes, ['CONFIG_INVALID_VALUE']);
  });
  test("a fraction gets keepalived's two errors, is run as written (departure) and noted", () => {
    const p = script('  interval 0.5');
    assert.equal(p.config.vrrpScripts[0]!.intervalUs, 500_000);
    assert.deepEqual(p.codes, ['CONFIG_INVALID_NUMBER', 'CONFIG_INVALID_VALUE', 'CONFIG_DEPARTURE']);
    assert.equal(p.diag.exitCode(), 5);
  });
  test('garbage is reported and the default stays', () => {
    const p = script('  interval abc');
    assert.equal(p.config.vrrpScripts[0]!.intervalUs, 1_000_000);
  });
});

describe('notify scripts with a trailing comment', () => {
  test('`notify_master "/bin/true" // x` is dropped: keepalived reads `//` as the user', () => {
    const p = parse(
      instance(
        '  notify_master "/bin/true" // 通知\n  notify_backup "/bin/true" root\n  virtual_ipaddress {\n    192.0.2.1\n  }',
      ),
      false,
    );
    const i = p.config.vrrpInstances[0]!;
    assert.equal(i.notify.master, undefined);
    assert.deepEqual(i.notify.backup?.argv, ['/bin/true']);
    assert.equal(i.notify.backup?.user, 'root');
    assert.deepEqual(p.codes, ['CONFIG_SCRIPT_USER']);
    assert.equal(p.diag.exitCode(), 0);
  });
});

describe('rules without a preference (keepalived 2.2.7 numbers them per family)', () => {
  const host = { interfaces: new Set(['lo', 'eth0']) };
  const rules = (lines: string[]) =>
    instance(
      `  priority 100\n  virtual_ipaddress {\n    192.0.2.100\n  }\n  virtual_rules {\n${lines.map((l) => `    ${l}\n`).join('')}  }`,
    );
  const prefs = (d: Diagnostics) =>
    d.list
      .filter((x) => x.code === 'CONFIG_RULE_PREFERENCE' || x.code === 'CONFIG_BAD_IF')
      .map((x) => `${x.pos?.line ?? '-'} ${x.message}`);

  test('IPv4 and IPv6 rules count down from 16384 each', () => {
    const { config } = parse(
      rules(['from 2001:db8::1 table 100', 'from 192.0.2.100 table 100', 'from 2001:db8::2 table 100']),
    );
    assert.deepEqual(
      config.vrrpInstances[0]!.virtualRules.map((r) => r.ip.priority),
      [16384, 16384, 16383],
    );
  });

  test('a rule whose iif or oif (or dev) does not exist is dropped before it is numbered', () => {
    const file = join(dir, `c${n++}.conf`);
    writeFileSync(
      file,
      rules([
        'from 192.0.2.100 iif eth9 table 100',
        'from 192.0.2.101 table 100',
        'from 192.0.2.102 dev eth8 table 100',
        'from 2001:db8::1 table 100',
        'from 192.0.2.103 table 100',
      ]),
    );
    const { config, diag } = loadConfig(file, { configId: 'test', env: {} });
    validateConfig(config, diag, { host });
    // keepalived 2.2.7 -t on the same rules (its order differs: it reads the interfaces as it parses).
    assert.deepEqual(prefs(diag), [
      '10 Rule has no preference specified - setting to 16384. This is probably not what you want.',
      '12 Rule has no preference specified - setting to 16384. This is probably not what you want.',
      '13 Rule has no preference specified - setting to 16383. This is probably not what you want.',
      "9 WARNING - interface eth9 for rule doesn't exist",
      "11 WARNING - interface eth8 for rule doesn't exist",
      '- Non-existent interface specified in configuration',
    ]);
  });
});

describe('after a keyword misses its parameter (exit 2), keepalived 2.2.7 completes nothing after it', () => {
  const noReal = 'virtual_server 192.0.2.100 80 {\n  protocol TCP\n}\n';
  const noVrid = 'vrrp_instance VI_0 {\n  interface eth0\n  priority 100\n}\n';
  const messages = (d: Diagnostics) => d.list.map((x) => x.message.replace(/ at word position.*/, ''));

  test('a stop in a virtual server: neither its checks of virtual servers nor of instances', () => {
    const { diag } = parse(
      `${noVrid}${noReal}virtual_server 192.0.2.101 80 {\n  delay_loop\n  real_server 192.0.2.5 80 {\n  }\n}\n`,
    );
    assert.equal(diag.exitCode(), 2);
    assert.deepEqual(messages(diag), [
      '*** Configuration line starting `delay_loop` is missing a parameter after keyword `delay_loop`',
    ]);
  });

  test('a stop in an instance: after the checks of virtual servers, before those of instances', () => {
    const { diag } = parse(
      `${noReal}${noVrid}vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id\n}\n`,
    );
    assert.equal(diag.exitCode(), 2);
    assert.deepEqual(messages(diag), [
      '*** Configuration line starting `virtual_router_id` is missing a parameter after keyword `virtual_router_id`',
      'Virtual server [192.0.2.100]:tcp:80 has no real servers - ignoring',
    ]);
  });
});

test('where a message points: (Line N) in global_defs and at the top level, (FILE: Line N) elsewhere, FILE as given', () => {
  const file = join(dir, `c${n++}.conf`);
  writeFileSync(
    file,
    'bogus_top\nglobal_defs {\n  bogus_global\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  bogus_vrrp\n}\n' +
      'virtual_server 192.0.2.100 80 {\n  bogus_vs\n  real_server 192.0.2.5 80 {\n  }\n}\n',
  );
  const given = relative(process.cwd(), file);
  const { diag } = loadConfig(given, { configId: 'test', env: {} });
  // keepalived 2.2.7 -t on the same file (each of its passes repeats the top-level line; a set hides that).
  assert.deepEqual(
    diag.list.filter((d) => d.code === 'CONFIG_UNKNOWN_KEYWORD').map((d) => diag.format(d)),
    [
      "(Line 1) Unknown keyword 'bogus_top'",
      "(Line 3) Unknown keyword 'bogus_global'",
      `(${given}: Line 8) Unknown keyword 'bogus_vrrp'`,
      `(${given}: Line 11) Unknown keyword 'bogus_vs'`,
    ],
  );
});

test("an address owner without `state` wants MASTER; vrrp_strict flags an owner's `state BACKUP` (keepalived 2.2.7)", () => {
  const own = (extra: string, strict = false) =>
    parse(
      `${strict ? 'global_defs {\n  vrrp_strict\n}\n' : ''}${instance(`${extra}  priority 255\n  preempt_delay 5\n  virtual_ipaddress {\n    192.0.2.1\n  }`)}`,
    );
  const plain = own('');
  assert.deepEqual(
    plain.diag.list.map((d) => d.message),
    ['(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing'],
  );
  const strict = own('  state BACKUP\n', true);
  assert.ok(
    strict.diag.list.some((d) => d.message === '(VI_1) State MASTER must match being address owner'),
    strict.diag.list.map((d) => d.message).join(' | '),
  );
  assert.equal(strict.config.vrrpInstances[0]!.state, 'MASTER');
});

test('with an include: the main file bare in the first pass, an included file named by its absolute path (2.2.7: as the include wrote it)', () => {
  const sub = mkdtempSync(join(dir, 'inc-'));
  writeFileSync(join(sub, 'part.conf'), 'vrrp_instance VI_1 {\n  interface eth0\n  bogus_in_part\n}\n');
  const main = join(sub, 'main.conf');
  writeFileSync(main, 'global_defs {\n  bogus_global\n}\ninclude part.conf\n');
  const given = relative(process.cwd(), main);
  const { diag } = loadConfig(given, { configId: 'test', env: {} });
  assert.deepEqual(
    diag.list.filter((d) => d.code === 'CONFIG_UNKNOWN_KEYWORD').map((d) => diag.format(d)),
    [
      "(Line 2) Unknown keyword 'bogus_global'",
      `(${join(sub, 'part.conf')}: Line 3) Unknown keyword 'bogus_in_part'`,
    ],
  );
});
