import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { KeepalivedConfig } from '../../src/config/model.js';
import { protocolsOf, validateState } from '../../src/lvs/dataplane.js';
import { desiredFromConfig, vsName } from '../../src/lvs/from-config.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kats-lvs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string): KeepalivedConfig {
  const file = join(dir, 'k.conf');
  writeFileSync(file, text);
  return loadConfig(file, { configId: 'test', env: {} }).config;
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
