// Cases the IPVS differential (test/lvs/ipvs-diff.test.ts, opt-in, keepalived 2.2.7 beside keepalived-ts
// in a VM) found, each fixed and held here without the VM: the configuration is parsed and turned into what
// IPVS is sent (ipvsView: the services and destinations of the kernel table) and what --lvs-list prints.
// Each case says what keepalived 2.2.7's table held for the same text (recorded in the VM).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { readHostFacts, validateConfig } from '../../src/config/validate.js';
import { desiredFromConfig, type LiveState } from '../../src/lvs/from-config.js';
import { IpvsCmd, type IpvsDest, ipvsMessage, ipvsView } from '../../src/lvs/ipvs-msg.js';
import { formatList } from '../../src/lvs/list.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kats-ipvs-diff-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Parsed and validated, as -t and the daemon's start see it. */
function load(text: string) {
  const file = join(dir, 'k.conf');
  writeFileSync(file, text);
  const r = loadConfig(file, { configId: 'test', env: {} });
  validateConfig(r.config, r.diag, { host: null });
  return r;
}

/** The kernel table as `ipvsadm -Ln` shows its structure: `service flags` → sorted `addr:port method weight u l`. */
function table(text: string, live: LiveState = new Map()): Record<string, string[]> {
  const { config } = load(text);
  const { state, errors } = desiredFromConfig(config, live);
  assert.deepEqual(errors, []);
  const out: Record<string, string[]> = {};
  for (const [k, { svc, dests }] of ipvsView(state.services))
    out[`${k} ${svc.scheduler} flags=${svc.flags}`] = [...dests.values()]
      .map((d) => `${d.address}:${d.port} ${d.method} ${d.weight} ${d.uThreshold} ${d.lThreshold}`)
      .sort();
  return out;
}

const messages = (text: string) =>
  load(text)
    .diag.list.filter((d) => d.severity !== 'info')
    .map((d) => d.message);

describe('differences the IPVS differential found (keepalived 2.2.7 is the reference)', () => {
  it('sh-port / sh-fallback count only under sh, mh-port / mh-fallback only under mh, as read at their line', () => {
    // seed 4 and 5: `lb_algo dh` + `sh-port` and `lb_algo lc` + `sh-port` were listed `(flag-2)` here and
    // without a flag by keepalived; `lb_algo mh` + `sh-fallback` was `(mh-fallback)` here, nothing there
    const text = `
virtual_server 198.51.100.4 80 {
  lb_algo lc
  sh-port
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
virtual_server 198.51.100.5 80 {
  lb_algo mh
  sh-fallback
  mh-port
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
virtual_server 198.51.100.6 80 {
  sh-port
  lb_algo sh
  sh-fallback
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
`;
    const { config } = load(text);
    assert.deepEqual(
      config.virtualServers.map((v) => v.schedulerFlags),
      [[], ['mh-port'], ['sh-fallback']],
    );
    // keepalived's words, at the line (the mh/sh cross-over is silent)
    assert.deepEqual(messages(text), [
      'sh-port only applies to sh scheduler - ignoring',
      'sh-port only applies to sh scheduler - ignoring',
    ]);
    const t = table(text);
    // SCHED1 0x8 = *-fallback, SCHED2 0x10 = *-port
    assert.deepEqual(Object.keys(t).sort(), [
      '4|tcp|198.51.100.4|80 lc flags=0',
      '4|tcp|198.51.100.5|80 mh flags=16',
      '4|tcp|198.51.100.6|80 sh flags=8',
    ]);
  });

  it('a group with an address entry: no protocol is UDP, and ops is reset unless UDP', () => {
    // seed 6: a TCP group with `ops` was listed `ops` here, without by keepalived (IPVS takes the flag)
    const text = `
virtual_server_group G {
  198.51.100.6 9002
}
virtual_server group G {
  lb_algo nq
  ops
  protocol TCP
  lb_kind NAT
  real_server 192.0.2.11 80 {
  }
}
virtual_server_group H {
  198.51.100.7 9002
  fwmark 71
}
virtual_server group H {
  lb_algo rr
  lb_kind NAT
  real_server 192.0.2.11 80 {
  }
}
virtual_server fwmark 81 {
  lb_algo rr
  ops
  lb_kind NAT
  real_server 192.0.2.11 80 {
  }
}
`;
    assert.deepEqual(messages(text), [
      'Virtual server [G]:0: one packet scheduling requires UDP - resetting',
      'Virtual server [H]:0: no protocol set - defaulting to UDP',
    ]);
    const { config } = load(text);
    assert.deepEqual(
      config.virtualServers.map((v) => [v.protocol, v.schedulerFlags]),
      [
        ['TCP', []],
        ['UDP', []],
        [undefined, ['ops']],
      ],
    );
    // a fwmark service keeps ops (IPVS one-packet scheduling of every protocol carrying the mark)
    assert.ok(Object.keys(table(text)).includes('4|fwm|81 rr flags=4'), JSON.stringify(table(text)));
  });

  it('uthreshold / lthreshold are programmed; lthreshold above uthreshold keeps the server out, as IPVS refuses it', () => {
    // seed 1: the thresholds were never sent here (ipvsadm -Ln --thresholds: 0 0), and the server with
    // `lthreshold 10` alone (IPVS: ERANGE, lower above upper) was in our table and not in keepalived's
    const text = `
virtual_server 198.51.100.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 80 {
    uthreshold 5000
    lthreshold 10
  }
  real_server 192.0.2.12 80 {
    uthreshold 100
  }
  real_server 192.0.2.13 80 {
    lthreshold 10
  }
}
`;
    assert.deepEqual(table(text), {
      '4|tcp|198.51.100.1|80 wrr flags=0': ['192.0.2.11:80 NAT 1 5000 10', '192.0.2.12:80 NAT 1 100 0'],
    });
    const notes = load(text).diag.list.filter((d) => d.severity === 'info');
    assert.match(
      notes.map((d) => d.message).join('\n'),
      /192\.0\.2\.13 .*lthreshold 10 is above uthreshold 0/,
    );
  });

  it("a DR or TUN server of a group takes each address entry's port, and 0 under its fwmark entries", () => {
    // seed 4 and 6: listed `192.0.2.11:0 Route` here under the address member, `192.0.2.11:9003 Route` by
    // keepalived (ipvs_group_cmd sets a non-NAT destination's port to the member's)
    const text = `
virtual_server_group G {
  198.51.100.4 9003
  198.51.100.5 9004
  fwmark 43
}
virtual_server group G {
  lb_algo mh
  lb_kind NAT
  protocol TCP
  sorry_server 192.0.2.99 80
  sorry_server_lvs_method TUN
  real_server 192.0.2.11 3306 {
    lvs_method DR
  }
  real_server 192.0.2.13 8080 {
  }
}
`;
    assert.deepEqual(table(text), {
      '4|tcp|198.51.100.4|9003 mh flags=0': ['192.0.2.11:9003 DR 1 0 0', '192.0.2.13:8080 NAT 1 0 0'],
      '4|tcp|198.51.100.5|9004 mh flags=0': ['192.0.2.11:9004 DR 1 0 0', '192.0.2.13:8080 NAT 1 0 0'],
      '4|fwm|43 mh flags=0': ['192.0.2.11:0 DR 1 0 0', '192.0.2.13:8080 NAT 1 0 0'],
    });
    // and the sorry server (TUN) the same way once active
    const live: LiveState = new Map([['group G/tcp', { reals: [], sorryActive: true }]]);
    assert.deepEqual(table(text, live)['4|tcp|198.51.100.5|9004 mh flags=0'], ['192.0.2.99:9004 TUN 1 0 0']);
    const { config } = load(text);
    const list = formatList(desiredFromConfig(config, new Map()).state, new Map(), new Map());
    assert.match(list, /TCP {2}198\.51\.100\.5:9004 mh\n {2}-> 192\.0\.2\.11:9004 +Route/);
    assert.match(list, /FWM {2}43 mh\n {2}-> 192\.0\.2\.11:0 +Route/);
  });

  it('quorum lost: inhibited servers stay at weight 0 beside the sorry server; sorry_server_inhibit lists it at 0 while out', () => {
    // seed 5: `quorum 10` with inhibit_on_failure servers up and sorry_server_inhibit: keepalived listed the
    // inhibited servers at weight 0 and the sorry server at 1; here the sorry server stood alone
    const text = `
virtual_server 198.51.100.5 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 10
  sorry_server 192.0.2.99 80
  sorry_server_inhibit
  real_server 192.0.2.11 80 {
    inhibit_on_failure
  }
  real_server 192.0.2.12 80 {
  }
}
`;
    // what the checker core hands over once quorum is lost (src/check/core: inhibited servers at weight 0)
    const lost: LiveState = new Map([
      ['198.51.100.5:80/tcp', { reals: [{ address: '192.0.2.11', port: 80, weight: 0 }], sorryActive: true }],
    ]);
    assert.deepEqual(table(text, lost), {
      '4|tcp|198.51.100.5|80 rr flags=0': ['192.0.2.11:80 NAT 0 0 0', '192.0.2.99:80 NAT 1 0 0'],
    });
    assert.deepEqual(table(text), {
      '4|tcp|198.51.100.5|80 rr flags=0': [
        '192.0.2.11:80 NAT 1 0 0',
        '192.0.2.12:80 NAT 1 0 0',
        '192.0.2.99:80 NAT 0 0 0',
      ],
    });
  });

  it('a MISC_CHECK run as root without script security: the checker\'s words, "check scripts"', (t) => {
    // every seed with a MISC_CHECK: keepalived 2.2.7's checker process says "check scripts are being
    // executed" (check_data.c); we printed its VRRP process's "scripts are being executed"
    const file = join(dir, 'misc.conf');
    writeFileSync(
      file,
      `global_defs {\n  script_user root\n}\nvirtual_server 198.51.100.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 192.0.2.11 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }\n}\n`,
    );
    const r = loadConfig(file, { configId: 'test', env: {} });
    validateConfig(r.config, r.diag, { host: readHostFacts() });
    const sec = r.diag.list.filter((d) => d.code === 'CONFIG_SCRIPT_SECURITY').map((d) => d.message);
    if (sec.length === 0) return t.skip('/bin/true is not found here');
    assert.deepEqual(sec, [
      'SECURITY VIOLATION - check scripts are being executed but script_security not enabled.',
    ]);
  });

  it("a group's persistence_granularity makes it persistent but every member keeps the full mask, as 2.2.7 programs it", () => {
    // seed 11: `persistence_granularity 255.255.0.0` in a group without persistence_timeout: keepalived
    // listed `UDP 198.51.100.11:9002 mh persistent 360` (no mask), we added `mask 255.255.0.0`
    const text = `
virtual_server_group G {
  198.51.100.11 9002
  fwmark 112
}
virtual_server group G {
  lb_algo mh
  lb_kind NAT
  protocol UDP
  persistence_granularity 255.255.0.0
  real_server 192.0.2.11 9002 {
  }
}
virtual_server 198.51.100.12 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  persistence_granularity 255.255.0.0
  real_server 192.0.2.11 80 {
  }
}
`;
    const { config } = load(text);
    const { state } = desiredFromConfig(config, new Map());
    const view = [...ipvsView(state.services).values()].map(({ svc }) => [
      svc.fwmark ?? svc.address,
      svc.timeoutS,
      svc.netmask.toString(16),
    ]);
    // the IPv4 netmask as a number (255.255.0.0)
    assert.deepEqual(
      view.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [
        [112, 360, 'ffffffff'],
        ['198.51.100.11', 360, 'ffffffff'],
        ['198.51.100.12', 360, 'ffff0000'],
      ],
    );
    const notes = load(text)
      .diag.list.filter((d) => d.severity === 'info')
      .map((d) => d.message);
    assert.match(
      notes.join('\n'),
      /persistence_granularity 255\.255\.0\.0 of virtual server \[G\]:0 is not applied/,
    );
  });

  it("a virtual server's inhibit_on_failure and alpha take no argument: set whatever follows; a real server's refuse a non-boolean", () => {
    // seed 22: `inhibit_on_failure // 注释` on the virtual server: keepalived inhibits (its failed servers
    // stay at weight 0); we refused the line, so they were removed
    const text = `
virtual_server 198.51.100.6 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  inhibit_on_failure // note
  alpha false
  real_server 192.0.2.11 80 {
    alpha // x
    inhibit_on_failure maybe
  }
  real_server 192.0.2.12 80 {
    inhibit_on_failure false
  }
}
`;
    const { config } = load(text);
    const vs = config.virtualServers[0]!;
    assert.deepEqual([vs.inhibitOnFailure, vs.alpha], [true, true]);
    assert.deepEqual(
      vs.realServers.map((r) => [r.alpha, r.inhibitOnFailure]),
      [
        [undefined, undefined],
        [undefined, false],
      ],
    );
    assert.deepEqual(messages(text), [
      'Invalid alpha parameter //',
      'Invalid inhibit_on_failure parameter maybe',
    ]);
  });

  it("TUN's tunnel options (type, GUE port, checksum) reach IPVS, for real and sorry servers, as keepalived sends them", () => {
    // generator's tunnel options: keepalived 2.2.7 programs `type gue port 6080 csum` (ipvsadm -Ln
    // --tun-info); we parsed the options and sent plain ipip
    const text = `
virtual_server 198.51.100.30 80 {
  lb_algo rr
  lb_kind TUN type gue port 6080 csum
  protocol TCP
  quorum 4
  sorry_server 192.0.2.99 80
  sorry_server_lvs_method TUN type gre nocsum
  real_server 192.0.2.11 80 {
  }
  real_server 192.0.2.12 80 {
    lvs_method TUN type gre csum
  }
  real_server 192.0.2.13 80 {
    lvs_method TUN type gre remcsum
  }
  real_server 192.0.2.14 80 {
    lvs_method DR
  }
}
`;
    // the remcsum line is refused (gre): that server keeps the virtual server's options
    assert.deepEqual(messages(text), ['gre tunnels do not support remote checksum option.']);
    const { config } = load(text);
    const dests = (live: LiveState) => {
      const { state } = desiredFromConfig(config, live);
      return [...ipvsView(state.services).values()][0]!.dests;
    };
    const tun = (d: IpvsDest | undefined) => d && [d.method, d.tunType, d.tunPort, d.tunFlags];
    const up = dests(new Map());
    assert.deepEqual(tun(up.get('192.0.2.11|80')), ['TUN', 1, 6080, 1]);
    assert.deepEqual(tun(up.get('192.0.2.12|80')), ['TUN', 2, 0, 1]);
    assert.deepEqual(tun(up.get('192.0.2.13|80')), ['TUN', 1, 6080, 1]);
    assert.deepEqual(tun(up.get('192.0.2.14|80')), ['DR', undefined, undefined, undefined]);
    const sorry = dests(new Map([['198.51.100.30:80/tcp', { reals: [], sorryActive: true }]]));
    assert.deepEqual(tun(sorry.get('192.0.2.99|80')), ['TUN', 2, 0, 0]);
    // on the wire: TUN_TYPE (13, u8), TUN_PORT (14, u16 network order; gue only), TUN_FLAGS (15, u16; not ipip)
    const svc = [...ipvsView(desiredFromConfig(config, new Map()).state.services).values()][0]!.svc;
    const msg = ipvsMessage(
      IpvsCmd.NEW_DEST,
      { familyId: 30, seq: 1 },
      { service: svc, dest: up.get('192.0.2.11|80')! },
    );
    const hex = Buffer.from(msg).toString('hex');
    assert.ok(hex.includes('05000d0001000000'), 'TUN_TYPE gue');
    assert.ok(hex.includes('06000e0017c00000'), 'TUN_PORT 6080');
    assert.ok(hex.includes('06000f0001000000'), 'TUN_FLAGS csum');
    const plain = ipvsMessage(
      IpvsCmd.NEW_DEST,
      { familyId: 30, seq: 1 },
      { service: svc, dest: up.get('192.0.2.14|80')! },
    );
    assert.ok(!Buffer.from(plain).toString('hex').includes('05000d00'), 'no tunnel attributes for DR');
  });

  it('a real server takes the lb_kind (and tunnel options) its virtual server has at its real_server line', () => {
    // keepalived 2.2.7's alloc_rs copies them: a later lb_kind does not reach earlier servers, unless none
    // was set before them (then they take the final one at the end of the block)
    const text = `
virtual_server 198.51.100.31 80 {
  lb_algo rr
  protocol TCP
  real_server 192.0.2.10 80 {
  }
  lb_kind TUN type gue port 6080
  real_server 192.0.2.11 80 {
  }
  lb_kind DR
  real_server 192.0.2.12 80 {
  }
}
`;
    const { config } = load(text);
    const { state } = desiredFromConfig(config, new Map());
    const d = [...ipvsView(state.services).values()][0]!.dests;
    assert.deepEqual([...d.values()].map((x) => [x.address, x.method, x.tunType]).sort(), [
      ['192.0.2.10', 'DR', undefined],
      ['192.0.2.11', 'TUN', 1],
      ['192.0.2.12', 'DR', undefined],
    ]);
  });

  it('words after the { of a top-level line are read in the second pass: their messages name the file', () => {
    // `virtual_server fwmark 61 { // 注释`: 2.2.7 says `(FILE: Line 1) Unknown keyword '//'` (its checker
    // reads the block); we said `(Line 1)`, as for the opening words themselves
    const text =
      'virtual_server 198.51.100.1 80 { // x\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 192.0.2.11 80 {\n  }\n}\nfoo bar\n';
    const { diag } = load(text);
    assert.deepEqual(
      diag.list
        .filter((d) => d.severity === 'error')
        .map((d) => diag.format(d).replace(/^\(\S*k\.conf:/, '(FILE:')),
      ["(FILE: Line 1) Unknown keyword '//'", "(Line 8) Unknown keyword 'foo'"],
    );
  });

  it("a bad persistence_timeout or virtual server weight: the number reader's line, then the keyword's", () => {
    const text =
      'virtual_server 198.51.100.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  weight 0\n  persistence_timeout 1.5\n  real_server 192.0.2.11 80 {\n  }\n}\n';
    assert.deepEqual(messages(text), [
      "number '0' outside range [1, 2147483647]",
      'Virtual server weight 0 is outside range 1-2147483647',
      "invalid number '1.5'",
      'persistence_timeout invalid',
    ]);
  });

  it('a tunnelled real server of the other family is programmed with its own family (it blocked every service)', () => {
    // seed 1 (second generator): an IPv6 UDP service with IPv4 TUN real servers; keepalived 2.2.7 lists
    // `192.0.2.11:80 Tunnel` under `[2001:db8:1::1]:80`; our data plane refused the state as a whole
    // ("192.0.2.11 is not IPv6") and programmed nothing at all
    const text = `
virtual_server 2001:db8:1::1 80 {
  lb_algo sh
  lb_kind TUN
  protocol UDP
  real_server 192.0.2.11 80 {
  }
  real_server 2001:db8:2::13 80 {
  }
}
virtual_server 198.51.100.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 80 {
  }
}
`;
    const { config } = load(text);
    const { state, errors } = desiredFromConfig(config, new Map());
    assert.deepEqual(errors, []);
    const view = ipvsView(state.services);
    const v6 = [...view.values()].find((v) => v.svc.af === 6)!;
    assert.deepEqual([...v6.dests.values()].map((d) => [d.address, d.af, d.method]).sort(), [
      ['192.0.2.11', 4, 'TUN'],
      ['2001:db8:2::13', 6, 'TUN'],
    ]);
    const list = formatList(state, new Map(), new Map());
    assert.match(list, /\n {2}-> 192\.0\.2\.11:80 +Tunnel/);
  });

  it('persistence_engine sip goes with a persistent service (PE_NAME), listed `pe sip` before `ops`', () => {
    // seeds 13, 17, 18 (second generator): keepalived listed `FWM  171 IPv6 wrr persistent 360 pe sip ops`
    const text = `
virtual_server 198.51.100.17 5060 {
  lb_algo wrr
  lb_kind NAT
  protocol UDP
  ops
  persistence_timeout 360
  persistence_engine sip
  real_server 192.0.2.11 5060 {
  }
}
virtual_server 198.51.100.18 5060 {
  lb_algo wrr
  lb_kind NAT
  protocol UDP
  persistence_engine sip
  real_server 192.0.2.11 5060 {
  }
}
`;
    const { config } = load(text);
    const { state } = desiredFromConfig(config, new Map());
    const svcs = [...ipvsView(state.services).values()].map((v) => [v.svc.address, v.svc.peName]);
    assert.deepEqual(svcs.sort(), [
      ['198.51.100.17', 'sip'],
      ['198.51.100.18', undefined],
    ]);
    assert.match(
      formatList(state, new Map(), new Map()),
      /UDP {2}198\.51\.100\.17:5060 wrr persistent 360 pe sip ops\n/,
    );
  });

  it('quorum above the total weight is reduced to it; hysteresis not below quorum is quorum - 1; bad values as 2.2.7 reads them', () => {
    // seed 25 (second generator): `quorum 0` (read as 1) with `hysteresis 2`: keepalived set hysteresis to
    // 0 and kept quorum up (its live server in the pool); we started with quorum down, the sorry server alone
    const text = `
virtual_server 198.51.100.25 80 {
  lb_algo dh
  lb_kind NAT
  protocol UDP
  quorum 0
  hysteresis 2
  sorry_server 192.0.2.99 8080
  real_server 192.0.2.12 8080 {
  }
}
virtual_server 198.51.100.26 80 {
  lb_algo rr
  lb_kind NAT
  protocol UDP
  quorum 10
  hysteresis -1
  real_server 192.0.2.12 80 {
    weight 3
  }
}
`;
    assert.deepEqual(messages(text), [
      "number '0' outside range [1, 4294967295]",
      'Quorum 0 must be in [1, 4294967295]. Setting to 1.',
      "negative number '-1'",
      'Hysteresis -1 must be in [0, 4294967295] - ignoring',
      'Virtual server [198.51.100.25]:udp:80: hysteresis 2 >= quorum 1; setting hysteresis to 0',
      'Warning - quorum 10 for [198.51.100.26]:udp:80 exceeds total weight of real servers 3, reducing quorum to 3',
    ]);
    const { config } = load(text);
    assert.deepEqual(
      config.virtualServers.map((v) => [v.quorum, v.hysteresis]),
      [
        [1, 0],
        [3, 0],
      ],
    );
  });

  it('a NAT sorry server without a port stays at port 0 under an address virtual server; a NAT real server takes the service port', () => {
    // seed 21 (second generator): `sorry_server 192.0.2.99` on a NAT UDP :25 service: keepalived listed
    // `192.0.2.99:0 Masq`, we `192.0.2.99:25`; a real server's port 0 is none (the service's port)
    const text = `
virtual_server 198.51.100.21 25 {
  lb_algo lblc
  lb_kind NAT
  protocol UDP
  sorry_server 192.0.2.99
  real_server 192.0.2.11 0 {
  }
}
`;
    const { config } = load(text);
    const lost: LiveState = new Map([['198.51.100.21:25/udp', { reals: [], sorryActive: true }]]);
    assert.deepEqual(table(text, lost), {
      '4|udp|198.51.100.21|25 lblc flags=0': ['192.0.2.99:0 NAT 1 0 0'],
    });
    assert.deepEqual(table(text), { '4|udp|198.51.100.21|25 lblc flags=0': ['192.0.2.11:25 NAT 1 0 0'] });
    assert.equal(config.virtualServers.length, 1);
  });
});
