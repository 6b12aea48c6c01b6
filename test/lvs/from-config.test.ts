import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/check/core/resolve.js';
import { formatCheckerData } from '../../src/check/dump.js';
import { loadConfig } from '../../src/config/load.js';
import type { KeepalivedConfig } from '../../src/config/model.js';
import { protocolsOf, type ServiceSpec, validateState } from '../../src/lvs/dataplane.js';
import { desiredFromConfig, vsName } from '../../src/lvs/from-config.js';
import { ipvsService } from '../../src/lvs/ipvs-msg.js';
import { formatList } from '../../src/lvs/list.js';
import { allocate, emptyAlloc, renderService } from '../../src/lvs/nft-model.js';
import { TEST_HOST } from '../helpers/host-facts.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kats-lvs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function loadWithDiag(text: string): ReturnType<typeof loadConfig> {
  const file = join(dir, 'k.conf');
  writeFileSync(file, text);
  return loadConfig(file, { configId: 'test', env: {} });
}
function load(text: string): KeepalivedConfig {
  return loadWithDiag(text).config;
}

const CONF = `
virtual_server 198.51.100.100 80 {
  delay_loop 6
  lb_algo rr
  lb_kind NAT
  persistence_timeout 50
  persistence_granularity 255.255.255.0
  protocol TCP
  sorry_server 127.0.0.1 80
  real_server 192.0.2.11 8080 {
    weight 3
    TCP_CHECK { connect_timeout 3 }
  }
  real_server 192.0.2.12 8080 {
    TCP_CHECK { connect_timeout 3 }
  }
}
virtual_server_group web {
  198.51.100.10-12 443
  fwmark 7
}
virtual_server group web {
  lb_algo sh
  sh-port
  lb_kind DR
  real_server 192.0.2.21 443 { }
}
`;

describe('desired state from the configuration and checker verdicts', () => {
  it("maps keepalived's keywords and defaults", () => {
    const cfg = load(CONF);
    const { state, errors } = desiredFromConfig(cfg, new Map());
    assert.deepEqual(errors, []);
    assert.deepEqual(validateState(state), []);
    const [web, grp] = state.services;
    assert.ok(web && grp);
    assert.equal(web.name, '198.51.100.100:80/tcp');
    assert.equal(web.scheduler, 'rr');
    assert.deepEqual(web.persistence, { timeoutS: 50, prefixLen: 24 });
    assert.deepEqual(
      web.reals.map((r) => [r.address, r.port, r.weight, r.method]),
      [
        ['192.0.2.11', 8080, 3, 'NAT'],
        ['192.0.2.12', 8080, 1, 'NAT'],
      ],
    );
    assert.deepEqual(web.sorry, { address: '127.0.0.1', port: 80, weight: 1, method: 'NAT' });
    assert.equal(web.sorryActive, false);
    assert.equal(grp.scheduler, 'sh');
    assert.equal(grp.flags.hashPort, true);
    assert.deepEqual(
      grp.matches.map((m) => (m.kind === 'fwmark' ? `fwm ${m.fwmark}` : `${m.address}:${m.port}`)),
      ['198.51.100.10:443', '198.51.100.11:443', '198.51.100.12:443', 'fwm 7'],
    );
    assert.equal(grp.reals[0]?.method, 'DR');
  });

  it('takes weights, removals and the sorry switch from the checker verdicts', () => {
    const cfg = load(CONF);
    const vs = cfg.virtualServers[0];
    assert.ok(vs);
    const live = new Map([
      [vsName(vs), { reals: [{ address: '192.0.2.12', port: 8080, weight: 0 }], sorryActive: true }],
    ]);
    const web = desiredFromConfig(cfg, live).state.services[0];
    assert.deepEqual(
      web?.reals.map((r) => [r.address, r.weight]),
      [['192.0.2.12', 0]],
    );
    assert.equal(web?.sorryActive, true);
  });
  it("a service carries its virtual server's lb_kind, so a DR one whose real servers are all removed stays DR; a NAT fwmark real server without a port gets port 0 (the packet's own)", () => {
    const cfg = load(CONF);
    const group = cfg.virtualServers[1];
    assert.ok(group);
    const none = desiredFromConfig(cfg, new Map([[vsName(group), { reals: [], sorryActive: false }]]));
    const web = none.state.services.find((s) => s.name === vsName(group));
    assert.deepEqual(web?.reals, []);
    assert.equal(web?.method, 'DR');
    assert.equal(none.state.services.find((s) => s.name !== vsName(group))?.method, 'NAT');
    const nat = desiredFromConfig(
      load(
        'virtual_server fwmark 9 {\n  lb_algo rr\n  lb_kind NAT\n  real_server 192.0.2.11 {\n  }\n  real_server 192.0.2.12 8080 {\n  }\n}\n',
      ),
      new Map(),
    ).state.services[0];
    assert.deepEqual(
      nat?.reals.map((r) => [r.address, r.port]),
      [
        ['192.0.2.11', 0],
        ['192.0.2.12', 8080],
      ],
    );
  });
  it('a fwmark virtual server is the same service with or without `protocol` (keepalived ignores it there); it serves every protocol', () => {
    const fw = (proto: string) =>
      load(
        `virtual_server fwmark 7 {\n  lb_algo rr\n  lb_kind DR\n${proto}  real_server 198.51.100.11 {\n  }\n}\n`,
      );
    const [a, b] = [fw(''), fw('  protocol TCP\n')].map((c) => {
      const vs = c.virtualServers[0];
      assert.ok(vs);
      return { name: vsName(vs), svc: desiredFromConfig(c, new Map()).state.services[0] };
    });
    assert.equal(a?.name, 'FWM 7/v4');
    assert.equal(b?.name, a?.name);
    assert.ok(a?.svc && b?.svc);
    assert.deepEqual(protocolsOf(a.svc), ['tcp', 'udp', 'sctp']);
    assert.deepEqual(protocolsOf(b.svc), ['tcp', 'udp', 'sctp']);
    // The very same service: a reload adding or removing the keyword changes nothing.
    assert.deepEqual(a.svc, b.svc);
  });
});

/** One virtual server block: `body` lines inside it, `key` after `virtual_server`. */
const vsBlock = (key: string, ...body: string[]) =>
  `virtual_server ${key} {\n${body.map((l) => `  ${l}\n`).join('')}}\n`;
const rs = (addr: string, ...body: string[]) =>
  `real_server ${addr} {\n${body.map((l) => `    ${l}\n`).join('')}  }`;

describe("a virtual server's address family, as keepalived 2.2.7 settles it (docs/lvs.md)", () => {
  /** Errors as `line: text` (the line keepalived names too). */
  const errorsOf = (d: ReturnType<typeof loadConfig>['diag']) =>
    d.list.filter((x) => x.severity === 'error').map((x) => `${x.pos?.line ?? '-'}: ${x.message}`);

  it("a fwmark virtual server without a family takes its IPv6 real servers' family: model, data plane, name, list and check dump", () => {
    const { config, diag } = loadWithDiag(
      vsBlock('fwmark 7', 'lb_algo rr', 'lb_kind NAT', rs('2001:db8::11 80'), rs('2001:db8::12 80')),
    );
    assert.deepEqual(errorsOf(diag), []);
    const vs = config.virtualServers[0];
    assert.ok(vs);
    assert.equal(vs.ipFamily, 6);
    assert.equal(vsName(vs), 'FWM 7/v6');
    const { state, errors } = desiredFromConfig(config, new Map());
    assert.deepEqual(errors, []);
    assert.deepEqual(validateState(state), []);
    const svc = state.services[0];
    assert.equal(svc?.family, 6);
    assert.deepEqual(
      svc?.reals.map((r) => r.address),
      ['2001:db8::11', '2001:db8::12'],
    );
    assert.match(formatList(state, new Map(), new Map()), /^FWM {2}7 IPv6 rr$/m);
    const dump = formatCheckerData([], [], { config, host: TEST_HOST });
    assert.match(dump, / VS FWMARK = 7\n(?:.*\n)*? {3}Address family = inet6\n/);
  });

  it("mixed families under a fwmark: the first real server settles it, a later one of the other family is skipped with keepalived's words at its closing brace, and never reaches the data plane", () => {
    for (const [first, second, fam] of [
      ['198.51.100.11 80', '2001:db8::12 80', 4],
      ['2001:db8::11 80', '198.51.100.12 80', 6],
    ] as const) {
      const text = vsBlock(
        'fwmark 7',
        'lb_algo rr',
        'lb_kind NAT',
        rs(first, 'weight 1'),
        rs(second, 'weight 1'),
      );
      const { config, diag } = loadWithDiag(text);
      const skipped = second.split(' ')[0];
      // real_server blocks: lines 4-6 and 7-9; keepalived names the second one's `}` (line 9).
      assert.deepEqual(errorsOf(diag), [
        `9: Address family of virtual server and real server ${skipped} don't match - skipping real server.`,
      ]);
      const vs = config.virtualServers[0];
      assert.ok(vs);
      assert.equal(vs.ipFamily, fam);
      assert.deepEqual(
        vs.realServers.map((r) => r.address),
        [first.split(' ')[0]],
      );
      // Neither the checkers nor the data plane get the skipped server.
      assert.deepEqual(
        resolveConfig(config, { shareProbes: true }).virtualServers[0]?.realServers.map((r) => r.address),
        [first.split(' ')[0]],
      );
      const { state, errors } = desiredFromConfig(config, new Map());
      assert.deepEqual(errors, []);
      assert.deepEqual(validateState(state), []);
      assert.equal(state.services[0]?.family, fam);
      assert.equal(state.services[0]?.name, `FWM 7/v${fam}`);
      assert.deepEqual(
        state.services[0]?.reals.map((r) => r.address),
        [first.split(' ')[0]],
      );
    }
  });

  it('tunnelled servers may differ (kept); when they agree they give the family, when they mix it is IPv4', () => {
    const mixed = load(
      vsBlock('fwmark 9', 'lb_algo rr', 'lb_kind TUN', rs('2001:db8::13'), rs('198.51.100.14')),
    );
    assert.equal(mixed.virtualServers[0]?.ipFamily, 4);
    assert.equal(mixed.virtualServers[0]?.realServers.length, 2);
    const six = load(
      vsBlock('fwmark 9', 'lb_algo rr', 'lb_kind TUN', rs('2001:db8::13'), rs('2001:db8::14')),
    );
    assert.equal(six.virtualServers[0]?.ipFamily, 6);
    // A DR real server settles the family; a TUN one of the other family beside it stays.
    const dr = load(
      vsBlock(
        'fwmark 9',
        'lb_algo rr',
        'lb_kind TUN',
        rs('198.51.100.14'),
        rs('2001:db8::13', 'lvs_method DR'),
      ),
    );
    assert.equal(dr.virtualServers[0]?.ipFamily, 6);
    assert.equal(dr.virtualServers[0]?.realServers.length, 2);
  });

  it("a sorry server of the other family is skipped at the virtual server's closing brace, also when it came first", () => {
    const { config, diag } = loadWithDiag(
      vsBlock('fwmark 12', 'lb_algo rr', 'lb_kind DR', 'sorry_server 2001:db8::20', rs('198.51.100.15')),
    );
    assert.deepEqual(errorsOf(diag), [
      "7: Address family of virtual server and sorry server 2001:db8::20 don't match - skipping sorry server.",
    ]);
    assert.equal(config.virtualServers[0]?.sorryServer, undefined);
    assert.equal(config.virtualServers[0]?.ipFamily, 4);
    // The sorry server's method is the virtual server's when its line is read: a later `lb_kind TUN`
    // does not exempt it.
    const late = loadWithDiag(
      vsBlock(
        'fwmark 7',
        'lb_algo rr',
        'sorry_server 2001:db8::20',
        'lb_kind TUN',
        rs('198.51.100.15', 'lvs_method DR'),
      ),
    );
    assert.deepEqual(errorsOf(late.diag), [
      "8: Address family of virtual server and sorry server 2001:db8::20 don't match - skipping sorry server.",
    ]);
    const tun = load(
      vsBlock(
        'fwmark 7',
        'lb_algo rr',
        'lb_kind TUN',
        'sorry_server 2001:db8::20',
        rs('198.51.100.15', 'lvs_method DR'),
      ),
    );
    assert.equal(tun.virtualServers[0]?.sorryServer?.address, '2001:db8::20');
    // A sorry server alone settles it.
    const alone = load(vsBlock('fwmark 12', 'lb_algo rr', 'lb_kind DR', 'sorry_server 2001:db8::20'));
    assert.equal(alone.virtualServers[0]?.ipFamily, 6);
  });

  it('ip_family after a server of the other family is refused; persistence_granularity settles the family first', () => {
    const { config, diag } = loadWithDiag(
      vsBlock('fwmark 10', 'lb_algo rr', 'lb_kind NAT', rs('2001:db8::13'), 'ip_family inet'),
    );
    assert.deepEqual(errorsOf(diag), [
      '6: Virtual server specified family inet conflicts with server family',
    ]);
    assert.equal(config.virtualServers[0]?.ipFamily, 6);
    const g = loadWithDiag(
      vsBlock(
        'fwmark 11',
        'lb_algo rr',
        'lb_kind NAT',
        'persistence_granularity 255.255.255.0',
        rs('2001:db8::13'),
      ),
    );
    assert.deepEqual(errorsOf(g.diag), [
      "6: Address family of virtual server and real server 2001:db8::13 don't match - skipping real server.",
    ]);
    assert.equal(g.config.virtualServers[0]?.ipFamily, 4);
  });

  it("a group's fwmark entries without a family take the real servers' family; a real server of the other family is skipped", () => {
    const { config, diag } = loadWithDiag(
      `virtual_server_group G {\n  fwmark 13\n}\n${vsBlock('group G', 'lb_algo rr', 'lb_kind NAT', rs('2001:db8::13'), rs('198.51.100.15'))}`,
    );
    assert.deepEqual(errorsOf(diag), [
      "10: Address family of virtual server and real server 198.51.100.15 don't match - skipping real server.",
    ]);
    const { state, errors } = desiredFromConfig(config, new Map());
    assert.deepEqual(errors, []);
    assert.deepEqual(validateState(state), []);
    assert.equal(state.services[0]?.family, 6);
    assert.deepEqual(
      state.services[0]?.reals.map((r) => r.address),
      ['2001:db8::13'],
    );
  });
});

describe('persistence_granularity: any IPv4 netmask keepalived 2.2.7 accepts is applied as it is', () => {
  it('`24` (0.0.0.24) and 255.0.255.0: the client address and-ed with that mask, in nft, IPVS and the listing', () => {
    const vs = (addr: string, g: string) =>
      `virtual_server ${addr} 80 {\n  lb_kind NAT\n  protocol TCP\n  persistence_granularity ${g}\n  real_server 192.0.2.11 80 {\n  }\n}\n`;
    const { state, errors } = desiredFromConfig(
      load(
        vs('198.51.100.100', '24') +
          vs('198.51.100.101', '255.0.255.0') +
          vs('198.51.100.102', '255.255.0.0'),
      ),
      new Map(),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(validateState(state), []);
    assert.deepEqual(
      state.services.map((s) => s.persistence),
      [
        { timeoutS: 360, prefixLen: 32, mask: 24 },
        { timeoutS: 360, prefixLen: 32, mask: 0xff00ff00 },
        { timeoutS: 360, prefixLen: 16 },
      ],
    );
    const [odd, holes, plain] = state.services;
    assert.ok(odd && holes && plain);
    const rulesOf = (s: ServiceSpec) => {
      const f = renderService(s, allocate(emptyAlloc(), { services: [s] }), undefined);
      return [...f.own.chains.values()].flatMap((c) => c.rules).join('\n');
    };
    assert.match(rulesOf(odd), /ip saddr & 0\.0\.0\.24 /);
    assert.match(rulesOf(holes), /ip saddr & 255\.0\.255\.0 /);
    assert.match(rulesOf(plain), /ip saddr & 255\.255\.0\.0 /);
    const m = odd.matches[0]!;
    assert.equal(ipvsService(odd, m).netmask, 24);
    assert.equal(ipvsService(holes, m).netmask, 0xff00ff00);
    assert.match(formatList(state, new Map(), new Map()), /persistent 360 mask 0\.0\.0\.24$/m);
    assert.match(formatList(state, new Map(), new Map()), /persistent 360 mask 255\.0\.255\.0$/m);
  });
});
